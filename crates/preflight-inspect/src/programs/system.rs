//! System administration and remote access: services, power, disks, processes, `ssh`,
//! `scp`, `rsync`, `dd`, `mkfs`, `crontab`.

use preflight_core::{Effect, Operation};

use super::spec::{Spec, Style, flag, value};
use super::{Call, Program, Unaccounted, Word, remote_path};
use crate::effects::{attr, opaque, tag};

pub(super) const PROGRAMS: &[Program] = &[
    Program {
        names: &["systemctl", "service"],
        model: service,
    },
    Program {
        names: &["shutdown", "reboot", "halt", "poweroff", "init", "telinit"],
        model: power,
    },
    Program {
        names: &["ssh", "mosh"],
        model: ssh,
    },
    Program {
        names: &["scp", "rsync", "sftp"],
        model: copy_remote,
    },
    Program {
        names: &["dd"],
        model: dd,
    },
    Program {
        names: &[
            "mkfs",
            "mke2fs",
            "mkswap",
            "wipefs",
            "fdisk",
            "sfdisk",
            "parted",
            "sgdisk",
            "blkdiscard",
        ],
        model: disk,
    },
    Program {
        names: &["kill", "pkill", "killall"],
        model: signal,
    },
    Program {
        names: &["crontab"],
        model: crontab,
    },
];

fn service(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    let words: Vec<String> = call
        .args
        .iter()
        .filter(|w| !w.text.starts_with('-'))
        .map(|w| w.text.clone())
        .collect();
    if call.args.iter().any(Word::may_be_option) {
        return Err(Unaccounted("an argument only known at run time".into()));
    }
    let verb = if call.name == "service" {
        words.get(1).cloned().unwrap_or_default()
    } else {
        words.first().cloned().unwrap_or_default()
    };
    call.subcommand(&verb);
    const READS: &[&str] = &[
        "status",
        "show",
        "cat",
        "list-units",
        "list-unit-files",
        "is-active",
        "is-enabled",
        "is-failed",
        "list-timers",
        "list-sockets",
        "list-dependencies",
        "help",
        "",
    ];
    if READS.contains(&verb.as_str()) {
        return Ok(());
    }
    let stops = [
        "stop",
        "restart",
        "disable",
        "mask",
        "kill",
        "isolate",
        "poweroff",
        "reboot",
        "halt",
        "try-restart",
        "reload-or-restart",
        "emergency",
        "rescue",
    ]
    .contains(&verb.as_str());
    if stops {
        attr(&mut call.exec, "downtime", "true");
    }
    let mut effect = Effect::new(
        Operation::Update,
        format!(
            "service://{}",
            words
                .get(if call.name == "service" { 0 } else { 1 })
                .map_or("*", String::as_str)
        ),
    );
    attr(&mut effect, "command", call.name.to_string());
    attr(&mut effect, "subcommand", verb);
    if stops {
        attr(&mut effect, "downtime", "true");
    }
    call.push(effect);
    Ok(())
}

fn power(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    attr(&mut call.exec, "downtime", "true");
    Ok(())
}

fn ssh(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    const SPEC: Spec = Spec {
        opts: &[
            flag("flag", "46AaCfGgKkMNnqsTtVvXxY", &[]),
            value("value", "BbcDEeFIiJLlmOopQRSWw", &[]),
        ],
        style: Style::Posix,
    };
    let parsed = SPEC.scan(call.args)?;
    let host = parsed
        .operands
        .first()
        .map(|w| w.text.clone())
        .unwrap_or_else(|| "*".into());
    let host = host.rsplit('@').next().unwrap_or(&host).to_string();
    let mut effect = opaque(Operation::Execute, format!("ssh://{host}"));
    attr(&mut effect, "host", host);
    attr(&mut effect, "command", call.name.to_string());
    call.push(effect);
    for file in parsed.values("value").cloned().collect::<Vec<_>>() {
        if file.text.contains('/') {
            call.push_file(Operation::Read, &file, false, false);
        }
    }
    Ok(())
}

fn copy_remote(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    let args = call.args.to_vec();
    if args.iter().any(|w| {
        w.text.starts_with("-e")
            || w.text.starts_with("--rsh")
            || w.text.starts_with("--rsync-path")
            || w.text == "-S"
            || w.text.starts_with("-o")
    }) {
        return Err(Unaccounted("a remote shell command".into()));
    }
    let delete = args
        .iter()
        .any(|w| w.text.starts_with("--delete") || w.text.starts_with("--remove-source"));
    let recursive = args.iter().any(|w| {
        let t = w.text.as_str();
        t == "--recursive"
            || t == "--archive"
            || (t.starts_with('-') && !t.starts_with("--") && t.contains(['r', 'a']))
    });
    let operands: Vec<Word> = args
        .iter()
        .filter(|w| !w.text.starts_with('-'))
        .cloned()
        .collect();
    let Some((dest, sources)) = operands.split_last() else {
        return Ok(());
    };
    for source in sources {
        match remote_path(&source.text) {
            Some((host, path)) => remote(call, Operation::Read, &host, &path),
            None => {
                call.push_file(Operation::Read, source, recursive, false);
                if delete {
                    call.push_file(Operation::Delete, source, recursive, false);
                }
            }
        }
    }
    match remote_path(&dest.text) {
        Some((host, path)) => remote(call, Operation::NetworkSend, &host, &path),
        None => {
            let operation = if delete {
                Operation::Delete
            } else {
                Operation::Update
            };
            call.push_file(operation, dest, true, delete);
            if delete {
                call.push_file(Operation::Update, dest, true, true);
            }
        }
    }
    Ok(())
}

fn remote(call: &mut Call<'_, '_>, operation: Operation, host: &str, path: &str) {
    let mut effect = Effect::new(
        operation,
        format!("ssh://{host}/{}", path.trim_start_matches('/')),
    );
    attr(&mut effect, "host", host.to_string());
    call.push(effect);
}

fn dd(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    for word in call.args.iter().cloned() {
        let Some((key, value)) = word.text.split_once('=') else {
            if word.text == "--help" || word.text == "--version" {
                continue;
            }
            return Err(Unaccounted(format!("dd operand `{}`", word.text)));
        };
        match key {
            "if" => call.push_file(Operation::Read, &word.with_text(value), false, false),
            "of" => call.push_file(Operation::Update, &word.with_text(value), false, false),
            "bs" | "ibs" | "obs" | "cbs" | "count" | "skip" | "seek" | "iseek" | "oseek"
            | "conv" | "iflag" | "oflag" | "status" => {}
            _ => return Err(Unaccounted(format!("dd operand `{key}`"))),
        }
    }
    Ok(())
}

fn disk(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    for word in call
        .args
        .to_vec()
        .iter()
        .filter(|w| !w.text.starts_with('-'))
    {
        if word.text.starts_with("/dev/") || word.dynamic {
            let mut effect = call.file(Operation::Update, word, false, true);
            tag(&mut effect, "raw_disk_write");
            call.push(effect);
        }
    }
    tag(&mut call.exec, "raw_disk_write");
    Ok(())
}

fn signal(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    let _ = call;
    Ok(())
}

fn crontab(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    let args = call.args.to_vec();
    if args
        .iter()
        .all(|w| w.text == "-l" || w.text.starts_with("-u"))
    {
        return Ok(());
    }
    Err(Unaccounted(
        "`crontab` installs or removes scheduled commands".into(),
    ))
}
