//! Cloud and cluster CLIs: `aws`, `kubectl`, `helm`, `terraform`, `docker`.
//!
//! The analysers of `aws.rs`, `kubectl.rs` and `terraform.rs` decide what a call does; this
//! module holds each CLI's options with their arity, so that a value option the analyser does
//! not know can never shift the verb (`kubectl --cache-dir get … delete …`), reads the last of
//! two opposite options (`--dry-run --no-dry-run`), and makes anything it does not know
//! opaque.

use std::collections::BTreeMap;

use preflight_core::{Effect, Operation};

use super::{Call, Program, Unaccounted, Word};
use crate::effects::{attr, opaque};
use crate::{Environments, aws, kubectl, terraform};

pub(super) const PROGRAMS: &[Program] = &[
    Program {
        names: &["aws"],
        model: aws_cli,
    },
    Program {
        names: &["kubectl", "oc", "k"],
        model: kubectl_cli,
    },
    Program {
        names: &["helm"],
        model: helm_cli,
    },
    Program {
        names: &["terraform", "tofu", "terragrunt"],
        model: terraform_cli,
    },
    Program {
        names: &["docker", "podman"],
        model: docker,
    },
];

type Analyser = fn(&[String], &BTreeMap<String, String>, &Environments) -> Vec<Effect>;

fn delegate(call: &mut Call<'_, '_>, args: &[String], analyser: Analyser) {
    let effects = analyser(args, &call.run.env, call.walker.envs);
    for effect in effects {
        call.push(effect);
    }
}

fn texts(args: &[Word]) -> Result<Vec<String>, Unaccounted> {
    if let Some(word) = args.iter().find(|w| w.may_be_option()) {
        return Err(Unaccounted(format!(
            "`{}` is only known at run time",
            word.text
        )));
    }
    Ok(args.iter().map(|w| w.text.clone()).collect())
}

const AWS_GLOBAL_FLAG: &[&str] = &[
    "--debug",
    "--no-verify-ssl",
    "--no-paginate",
    "--no-sign-request",
    "--no-cli-pager",
    "--no-cli-auto-prompt",
    "--cli-auto-prompt",
    "--version",
    "--help",
];

fn aws_cli(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    let args = texts(call.args)?;
    // Global options before the service must be known: a value one would shift it.
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        if !arg.starts_with('-') {
            break;
        }
        let name = arg.split('=').next().unwrap_or(arg);
        if aws::GLOBAL_WITH_VALUE.contains(&name) {
            i += if arg.contains('=') { 1 } else { 2 };
        } else if AWS_GLOBAL_FLAG.contains(&name) {
            i += 1;
        } else {
            return Err(Unaccounted(format!("unknown aws option `{arg}`")));
        }
    }
    let service = args.get(i).cloned().unwrap_or_default();
    call.subcommand(&service);
    if service == "configure"
        && !matches!(
            args.get(i + 1).map(String::as_str),
            Some("list" | "get" | "list-profiles")
        )
    {
        return Err(Unaccounted("`aws configure` writes credentials".into()));
    }
    if args.iter().any(|a| {
        a.starts_with("--cli-input-") || a.starts_with("file://") || a.starts_with("fileb://")
    }) {
        return Err(Unaccounted("parameters read from a file".into()));
    }
    // `--dry-run --no-dry-run`: the last one wins; the analyser sees only the outcome.
    let dry = args
        .iter()
        .rev()
        .find(|a| *a == "--dry-run" || *a == "--no-dry-run")
        .is_some_and(|a| a == "--dry-run");
    let s3_dry = service == "s3" && args.iter().any(|a| a == "--dryrun");
    let mut normalized: Vec<String> = args
        .iter()
        .filter(|a| *a != "--dry-run" && *a != "--no-dry-run" && *a != "--dryrun")
        .cloned()
        .collect();
    if dry {
        normalized.push("--dry-run".into());
    }
    let effects = aws::inspect_aws_cli(&normalized, &call.run.env, call.walker.envs);
    for mut effect in effects {
        if s3_dry {
            effect.operation = Operation::Read;
            attr(&mut effect, "dry_run", "true");
        }
        call.push(effect);
    }
    Ok(())
}

const KUBE_VALUE: &[&str] = &[
    // Global.
    "--context",
    "--cluster",
    "--user",
    "-n",
    "--namespace",
    "--kubeconfig",
    "-s",
    "--server",
    "--token",
    "--as",
    "--as-group",
    "--as-uid",
    "--cache-dir",
    "--certificate-authority",
    "--client-certificate",
    "--client-key",
    "--password",
    "--username",
    "--profile",
    "--profile-output",
    "--request-timeout",
    "--tls-server-name",
    "-v",
    "--v",
    "--vmodule",
    "--log-dir",
    "--log-file",
    "--log-file-max-size",
    "--log-flush-frequency",
    "--stderrthreshold",
    // Commands.
    "-f",
    "--filename",
    "-k",
    "--kustomize",
    "-l",
    "--selector",
    "--field-selector",
    "-o",
    "--output",
    "--replicas",
    "--current-replicas",
    "--resource-version",
    "--timeout",
    "--grace-period",
    "--cascade",
    "--dry-run",
    "--image",
    "--port",
    "--type",
    "-c",
    "--container",
    "--since",
    "--since-time",
    "--tail",
    "--limit-bytes",
    "--max-log-requests",
    "--pod-running-timeout",
    "--sort-by",
    "--template",
    "--field-manager",
    "--overrides",
    "--restart",
    "--serviceaccount",
    "--name",
    "--target-port",
    "--protocol",
    "--external-ip",
    "--cluster-ip",
    "--chunk-size",
    "-L",
    "--label-columns",
    "--raw",
    "--subresource",
    "--for",
    "-p",
    "--patch",
    "--patch-file",
    "--min",
    "--max",
    "--cpu-percent",
    "--to-revision",
    "--revision",
    "--env",
    "--labels",
    "--validate",
    "--prune-allowlist",
    "--selector",
    "--output-watch-events",
    "--image-pull-policy",
    "--requests",
    "--limits",
    "--schedule",
    "--from",
    "--from-literal",
    "--from-file",
    "--from-env-file",
    "--docker-server",
    "--docker-username",
    "--docker-password",
    "--docker-email",
    "--cert",
    "--key",
    "--role",
    "--clusterrole",
    "--verb",
    "--resource",
    "--serviceaccount",
    "--group",
    "--user",
    "--show-kind",
    "--local-port",
    "--address",
    "--copy-to",
    "--share-processes",
    "--target",
    "--pod-selector",
    "--skip-wait-for-delete-timeout",
    "--delete-local-data",
];
const KUBE_FLAG: &[&str] = &[
    "--insecure-skip-tls-verify",
    "--match-server-version",
    "--warnings-as-errors",
    "--disable-compression",
    "--alsologtostderr",
    "--logtostderr",
    "--one-output",
    "--skip-headers",
    "--skip-log-headers",
    "--add-dir-header",
    "-A",
    "--all-namespaces",
    "--all",
    "--force",
    "--now",
    "--wait",
    "--ignore-not-found",
    "-w",
    "--watch",
    "--watch-only",
    "-i",
    "--stdin",
    "-t",
    "--tty",
    "-q",
    "--quiet",
    "-R",
    "--recursive",
    "--overwrite",
    "--record",
    "--show-labels",
    "--no-headers",
    "--server-side",
    "--force-conflicts",
    "--prune",
    "--local",
    "--previous",
    "--follow",
    "--timestamps",
    "--prefix",
    "--ignore-errors",
    "--all-containers",
    "--show-managed-fields",
    "--allow-missing-template-keys",
    "--ignore-daemonsets",
    "--delete-emptydir-data",
    "--disable-eviction",
    "--rm",
    "--expose",
    "--keep-annotations",
    "--list",
    "-h",
    "--help",
    "--version",
    "--client",
    "--short",
    "--insecure-skip-tls-verify-backend",
];

fn kubectl_cli(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    let args = texts(call.args)?;
    let verb = args
        .iter()
        .enumerate()
        .find(|(_, a)| !a.starts_with('-'))
        .map(|(i, a)| (i, a.clone()));
    let logs = verb.as_ref().is_some_and(|(_, v)| v == "logs");
    let mut normalized = Vec::with_capacity(args.len());
    let mut positional = 0usize;
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "--" {
            normalized.extend(args[i - 1..].iter().cloned());
            break;
        }
        if !arg.starts_with('-') || arg == "-" {
            positional += 1;
            normalized.push(arg.clone());
            continue;
        }
        let cluster = !arg.starts_with("--") && arg.len() > 2 && !arg.contains('=');
        if cluster
            && arg[1..]
                .chars()
                .all(|c| KUBE_FLAG.contains(&format!("-{c}").as_str()))
        {
            // `-it`: a cluster of short flags.
            normalized.extend(arg[1..].chars().map(|c| format!("-{c}")));
            continue;
        }
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None if cluster => {
                // `-nprod`: the letter after the dash, then its value (a character, not a
                // byte: the word may be any text).
                let split = arg.char_indices().nth(2).map_or(arg.len(), |(at, _)| at);
                let (name, value) = arg.split_at(split);
                (name.to_string(), Some(value.to_string()))
            }
            None => (arg.clone(), None),
        };
        let flag_here = logs && ["-f", "-p"].contains(&name.as_str());
        if KUBE_FLAG.contains(&name.as_str()) || flag_here {
            if inline
                .as_deref()
                .is_some_and(|v| v != "true" && v != "false")
            {
                return Err(Unaccounted(format!("`{arg}` is a flag")));
            }
            if flag_here {
                continue;
            }
            normalized.push(arg.clone());
        } else if KUBE_VALUE.contains(&name.as_str()) {
            let value = match inline {
                Some(v) => v,
                None => {
                    let v = args
                        .get(i)
                        .ok_or_else(|| Unaccounted(format!("`{name}` needs a value")))?
                        .clone();
                    i += 1;
                    v
                }
            };
            normalized.push(format!("{name}={value}"));
        } else {
            return Err(Unaccounted(format!("unknown kubectl option `{name}`")));
        }
    }
    let _ = positional;
    if let Some((_, v)) = &verb {
        call.subcommand(v);
        if ["plugin", "edit"].contains(&v.as_str()) {
            return Err(Unaccounted(format!("`kubectl {v}` runs a program")));
        }
        if [
            "exec",
            "attach",
            "debug",
            "cp",
            "proxy",
            "port-forward",
            "run",
        ]
        .contains(&v.as_str())
        {
            call.opaque_exec("code run inside the cluster");
        }
    }
    // `delete k1,k2,… n1 n2 …` is a product: past a bound it is one unbounded effect.
    let objects: Vec<&String> = normalized
        .iter()
        .filter(|a| !a.starts_with('-'))
        .skip(1)
        .collect();
    let kinds = objects.first().map_or(1, |k| k.split(',').count());
    if kinds.saturating_mul(objects.len().max(1)) > 256 {
        let mut effect = opaque(Operation::Delete, "k8s://**");
        effect.unbounded = true;
        attr(&mut effect, "command", "kubectl");
        call.push(effect);
        return Ok(());
    }
    delegate(call, &normalized, kubectl::inspect_kubectl);
    Ok(())
}

fn helm_cli(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    let args = texts(call.args)?;
    if args
        .iter()
        .any(|a| a.starts_with("--post-renderer") || a == "plugin")
    {
        return Err(Unaccounted(
            "a post-renderer or plugin runs a program".into(),
        ));
    }
    const GLOBAL_VALUE: &[&str] = &[
        "--kube-context",
        "--kubeconfig",
        "-n",
        "--namespace",
        "--registry-config",
        "--repository-cache",
        "--repository-config",
        "--burst-limit",
        "--qps",
        "--kube-apiserver",
        "--kube-as-group",
        "--kube-as-user",
        "--kube-ca-file",
        "--kube-tls-server-name",
        "--kube-token",
    ];
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        if !arg.starts_with('-') {
            break;
        }
        let name = arg.split('=').next().unwrap_or(arg);
        if GLOBAL_VALUE.contains(&name) {
            i += if arg.contains('=') { 1 } else { 2 };
        } else if ["--debug", "--kube-insecure-skip-tls-verify", "-h", "--help"].contains(&name) {
            i += 1;
        } else {
            return Err(Unaccounted(format!("unknown helm option `{arg}`")));
        }
    }
    if let Some(verb) = args.get(i) {
        call.subcommand(verb);
    }
    delegate(call, &args, kubectl::inspect_helm);
    Ok(())
}

fn terraform_cli(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    let args = texts(call.args)?;
    let mut i = 0;
    let mut rest: Vec<String> = Vec::new();
    while let Some(arg) = args.get(i) {
        if !arg.starts_with('-') {
            break;
        }
        if !(arg.starts_with("-chdir=")
            || ["-help", "-version", "--help", "--version", "-v"].contains(&arg.as_str()))
        {
            return Err(Unaccounted(format!("unknown terraform option `{arg}`")));
        }
        i += 1;
    }
    rest.extend(args[i..].iter().cloned());
    let verb = rest.first().cloned().unwrap_or_default();
    call.subcommand(&verb);
    if ["console", "login", "logout"].contains(&verb.as_str()) {
        return Err(Unaccounted(format!("`terraform {verb}`")));
    }
    if !["version", "-version", "fmt", "-help", "--help", ""].contains(&verb.as_str()) {
        // Terraform keeps a checkpoint file in the home, runs its providers, which are
        // programs of their own, and reads the state wherever it is kept.
        let home = Word::literal("~/.terraform.d");
        call.push_file(Operation::Update, &home, true, false);
        let workspace = call
            .run
            .env
            .get("TF_WORKSPACE")
            .cloned()
            .unwrap_or_else(|| "_".into());
        let mut state = Effect::new(Operation::Read, format!("terraform://{workspace}/*"));
        state.environment = call.walker.envs.of_terraform_workspace(&workspace);
        attr(&mut state, "command", call.name.to_string());
        call.push(state);
        for (i, arg) in rest.iter().enumerate() {
            let out = match arg
                .strip_prefix("-out=")
                .or_else(|| arg.strip_prefix("--out="))
            {
                Some(file) => Some(file.to_string()),
                None if arg == "-out" => rest.get(i + 1).cloned(),
                None => None,
            };
            if let Some(out) = out {
                call.push_file(Operation::Update, &Word::literal(&out), false, false);
            }
        }
        if verb == "init" || verb == "get" || verb == "providers" {
            call.push_file(Operation::Update, &Word::literal(".terraform"), true, false);
            call.push_file(
                Operation::Update,
                &Word::literal(".terraform.lock.hcl"),
                false,
                false,
            );
        }
    }
    delegate(call, &rest, terraform::inspect_terraform_cli);
    Ok(())
}

fn docker(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    let args = texts(call.args)?;
    let words: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let Some(&sub) = words.first() else {
        return Ok(());
    };
    if args.first().is_some_and(|a| a.starts_with('-'))
        && !["--version", "-v", "--help"].contains(&args[0].as_str())
    {
        return Err(Unaccounted(format!("docker option `{}`", args[0])));
    }
    call.subcommand(sub);
    let second = words.get(1).copied().unwrap_or("");
    let read = matches!(
        sub,
        "ps" | "images"
            | "logs"
            | "inspect"
            | "version"
            | "info"
            | "stats"
            | "top"
            | "port"
            | "diff"
            | "history"
            | "events"
            | "search"
    ) || (matches!(
        sub,
        "image" | "container" | "network" | "volume" | "context" | "compose"
    ) && matches!(second, "ls" | "list" | "inspect" | "ps" | "logs" | "config"));
    if read {
        // Asks the daemon.
        let mut effect = Effect::new(Operation::Read, "docker://local/daemon");
        attr(&mut effect, "command", call.name.to_string());
        call.push(effect);
        return Ok(());
    }
    let names: Vec<String> = words.iter().skip(1).map(|s| s.to_string()).collect();
    let target = |kind: &str| {
        format!(
            "docker://local/{kind}/{}",
            names.last().map_or("*", String::as_str)
        )
    };
    match sub {
        "pull" => {
            let mut effect = Effect::new(Operation::Read, format!("docker://registry/{second}"));
            attr(&mut effect, "command", call.name.to_string());
            call.push(effect);
        }
        "push" => {
            let mut effect = Effect::new(
                Operation::NetworkSend,
                format!("docker://registry/{second}"),
            );
            attr(&mut effect, "command", call.name.to_string());
            call.push(effect);
        }
        "build" => {
            call.project_code("build");
            let mut effect = Effect::new(Operation::Create, "docker://local/image/*");
            attr(&mut effect, "command", call.name.to_string());
            call.push(effect);
        }
        "rm" | "rmi" | "kill" | "stop" | "prune" => {
            let mut effect = Effect::new(Operation::Delete, target(sub));
            effect.forced = args.iter().any(|a| a == "-f" || a == "--force");
            effect.unbounded = sub == "prune";
            attr(&mut effect, "command", call.name.to_string());
            call.push(effect);
        }
        "system" | "volume" | "network" | "image" | "container" | "builder"
            if matches!(second, "prune" | "rm" | "remove") =>
        {
            let mut effect = Effect::new(Operation::Delete, format!("docker://local/{sub}/*"));
            effect.unbounded = second == "prune";
            attr(&mut effect, "command", call.name.to_string());
            call.push(effect);
        }
        _ => {
            return Err(Unaccounted(format!(
                "`{} {sub}` runs code in a container",
                call.name
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::programs::tests::{effects_of, has, is_opaque};

    #[test]
    fn a_short_option_followed_by_any_character_is_read_whole() {
        // Found by fuzzing: a two-byte character after the dash split inside a character.
        let e = effects_of("kubectl -\u{71c}ontext staging delete pod web");
        assert!(is_opaque(&e, "cmd://kubectl"), "{e:?}");
    }

    #[test]
    fn value_options_never_shift_the_verb() {
        let e =
            effects_of("kubectl --cache-dir get --context prod-cluster delete namespace payments");
        assert!(
            !e.iter()
                .any(|e| e.operation == preflight_core::Operation::Read
                    && e.resource.starts_with("k8s://")),
            "{e:?}"
        );
        let e = effects_of("kubectl --frobnicate x get pods");
        assert!(is_opaque(&e, "cmd://kubectl"), "{e:?}");
        let e = effects_of("kubectl --context prod-cluster delete namespace payments");
        assert!(
            e.iter()
                .any(|e| e.operation == preflight_core::Operation::Delete),
            "{e:?}"
        );
    }

    #[test]
    fn the_last_dry_run_wins() {
        let e = effects_of(
            "aws ec2 terminate-instances --profile prod --instance-ids i-1 --dry-run --no-dry-run",
        );
        assert!(
            e.iter()
                .any(|e| e.operation == preflight_core::Operation::Delete),
            "{e:?}"
        );
        let e = effects_of("aws s3 rm s3://bucket/old.log --dryrun");
        assert!(
            !e.iter()
                .any(|e| e.operation == preflight_core::Operation::Delete),
            "{e:?}"
        );
        let e = effects_of("aws --profile prod ec2 describe-instances");
        assert!(
            has(&e, "read aws://prod/ec2/instance/* env=prod")
                || e.iter()
                    .any(|e| e.operation == preflight_core::Operation::Read
                        && e.resource.starts_with("aws://")),
            "{e:?}"
        );
    }
}
