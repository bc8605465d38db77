//! `preflight init`: a starter policy from what the machine and the project already name.
//!
//! It reads AWS profiles (`~/.aws/config`, `~/.aws/credentials`), kube contexts (the
//! kubeconfig), Terraform workspaces and `.env` variable names, guesses which of them are
//! production, and writes a commented policy. An existing policy is never overwritten
//! silently: without `--force`, init prints how the new text differs and leaves the file.

mod classify;
mod render;
mod sources;

use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;

use crate::error::{CliError, EXIT_DENY, EXIT_OK};

use self::classify::{Class, Entry, MarkerKind, classify};
use self::sources::{Found, Locations, discover};

/// The options of `preflight init`.
#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    /// The home directory holding `.aws/` and `.kube/` (default: `$HOME`).
    #[arg(long, value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// The project directory, searched for Terraform workspaces and `.env` files (default:
    /// the current directory).
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Where to write the policy (default: `.preflight/policy.toml` in the project).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace an existing policy, keeping it as `FILE.bak`.
    #[arg(long)]
    pub force: bool,
}

/// Runs `preflight init`: exits 0 when the policy was written or is up to date, 1 when an
/// existing policy differs and was left as it is.
pub fn run(args: &InitArgs) -> Result<u8, CliError> {
    let project = match &args.project {
        Some(dir) => dir.clone(),
        None => {
            std::env::current_dir().map_err(|e| CliError::io("finding the current directory", e))?
        }
    };
    if !project.is_dir() {
        return Err(CliError::Input(format!(
            "the project directory {} does not exist or is not a directory",
            project.display()
        )));
    }
    let home = args.home.clone().or_else(|| {
        std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
    });
    let locations = locate(project.clone(), home);
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| project.join(".preflight").join("policy.toml"));

    let found = discover(&locations);
    for warning in &found.warnings {
        eprintln!("preflight init: warning: {warning}");
    }
    if locations.home.is_none() {
        eprintln!(
            "preflight init: warning: HOME is not set and --home was not given; AWS profiles \
             and kube contexts were not read"
        );
    }
    let entries = classify(&found);
    let text = render::render(&entries, &found.env_variables);

    let mut report = summary(&found, &entries);
    let code = write_policy(&output, &text, args.force, &mut report)?;
    print(&report)?;
    Ok(code)
}

/// Where each source is: `$AWS_CONFIG_FILE`, `$AWS_SHARED_CREDENTIALS_FILE` and the first
/// file of `$KUBECONFIG` when set (as the tools themselves read them), else under `home`.
fn locate(project: PathBuf, home: Option<PathBuf>) -> Locations {
    let variable = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let under_home = |path: &str| home.as_ref().map(|h| h.join(path));
    let kubeconfig = variable("KUBECONFIG")
        .and_then(|list| std::env::split_paths(&list).find(|p| !p.as_os_str().is_empty()))
        .or_else(|| under_home(".kube/config"));
    Locations {
        aws_config: variable("AWS_CONFIG_FILE")
            .map(PathBuf::from)
            .or_else(|| under_home(".aws/config")),
        aws_credentials: variable("AWS_SHARED_CREDENTIALS_FILE")
            .map(PathBuf::from)
            .or_else(|| under_home(".aws/credentials")),
        kubeconfig,
        project,
        home,
    }
}

/// Writes `text` to `output` unless a different file is there; with `force`, the file there
/// is first copied to `FILE.bak`. Appends what happened to `report`.
fn write_policy(
    output: &Path,
    text: &str,
    force: bool,
    report: &mut String,
) -> Result<u8, CliError> {
    let shown = output.display();
    if let Some(parent) = output.parent().filter(|p| p.exists() && !p.is_dir()) {
        return Err(CliError::Io {
            context: format!("the output directory {}", parent.display()),
            message: "it is a file, not a directory".into(),
        });
    }
    let existing = match std::fs::read(output) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(CliError::io(format!("reading the existing {shown}"), e)),
    };
    match existing {
        Some(bytes) if bytes == text.as_bytes() => {
            report.push_str(&format!("{shown} is up to date; nothing written\n"));
            Ok(EXIT_OK)
        }
        Some(bytes) if !force => {
            let old = String::from_utf8_lossy(&bytes);
            let diff = similar::TextDiff::from_lines(old.as_ref(), text)
                .unified_diff()
                .context_radius(3)
                .header(&format!("{shown}"), &format!("{shown} (preflight init)"))
                .to_string();
            report.push_str(&diff);
            if !diff.ends_with('\n') {
                report.push('\n');
            }
            report.push_str(&format!(
                "{shown} exists and differs (diff above); it was left unchanged. Run again with \
                 --force to replace it (the current file is kept as {}).\n",
                backup_path(output).display()
            ));
            Ok(EXIT_DENY)
        }
        Some(bytes) => {
            let backup = backup_path(output);
            std::fs::write(&backup, &bytes)
                .map_err(|e| CliError::io(format!("writing the backup {}", backup.display()), e))?;
            replace(output, text)?;
            report.push_str(&format!(
                "wrote {shown} (the previous file is kept as {})\n",
                backup.display()
            ));
            Ok(EXIT_OK)
        }
        None => {
            if let Some(parent) = output.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| {
                    CliError::io(
                        format!("creating the output directory {}", parent.display()),
                        e,
                    )
                })?;
            }
            replace(output, text)?;
            report.push_str(&format!(
                "wrote {shown}\nnext: review every guess, then run `preflight policy lint --policy {shown}`\n"
            ));
            Ok(EXIT_OK)
        }
    }
}

fn backup_path(output: &Path) -> PathBuf {
    let mut name = output.as_os_str().to_owned();
    name.push(".bak");
    PathBuf::from(name)
}

/// Writes through a temporary file beside `output` and renames it, so that an interrupted
/// run never leaves half a policy.
fn replace(output: &Path, text: &str) -> Result<(), CliError> {
    let mut temporary = output.as_os_str().to_owned();
    temporary.push(".preflight-init.tmp");
    let temporary = PathBuf::from(temporary);
    let written =
        std::fs::write(&temporary, text).and_then(|()| std::fs::rename(&temporary, output));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(CliError::io(format!("writing {}", output.display()), e));
    }
    Ok(())
}

/// What was found, what was guessed production, what is left to classify.
fn summary(found: &Found, entries: &[Entry]) -> String {
    let mut out = String::from("preflight init found:\n");
    let list = |kind: MarkerKind| -> Vec<String> {
        entries
            .iter()
            .filter(|e| e.kind == kind)
            .map(|e| format!("{} ({})", e.value, e.class))
            .collect()
    };
    for kind in MarkerKind::ALL {
        let items = list(kind);
        let text = if items.is_empty() {
            "none".to_string()
        } else {
            items.join(", ")
        };
        out.push_str(&format!("  {}s: {text}\n", kind.label()));
    }
    let names: Vec<&str> = found.env_variables.keys().map(String::as_str).collect();
    out.push_str(&format!(
        "  .env variable names: {}\n",
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    ));
    let of_class = |class: Class| -> Vec<String> {
        entries
            .iter()
            .filter(|e| e.class == class)
            .map(|e| format!("{} {}", e.kind.label(), e.value))
            .collect()
    };
    let production = of_class(Class::Production);
    out.push_str(&format!(
        "guessed production: {}\n",
        if production.is_empty() {
            "nothing".to_string()
        } else {
            production.join(", ")
        }
    ));
    let unclassified = of_class(Class::Unclassified);
    if !unclassified.is_empty() {
        out.push_str(&format!(
            "not classified (classify them in the policy): {}\n",
            unclassified.join(", ")
        ));
    }
    out
}

fn print(text: &str) -> Result<(), CliError> {
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map_err(|e| CliError::io("writing standard output", e))
}
