//! Writing the starter policy: TOML with a comment on every section and every entry.
//!
//! The text depends on nothing but what was found (no date, no absolute path of the project),
//! so that running `init` again on an unchanged machine produces the same file.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::classify::{Class, Entry, MarkerKind};

/// The pack every starter policy builds on.
pub const PACK: &str = "builtin:coding-agent";

/// The rule ids the starter policy defines.
pub const PRODUCTION_CHANGES_RULE: &str = "local.production-changes";
/// See [`PRODUCTION_CHANGES_RULE`].
pub const PRODUCTION_OPAQUE_RULE: &str = "local.production-opaque";
/// See [`PRODUCTION_CHANGES_RULE`].
pub const UNCLASSIFIED_CHANGES_RULE: &str = "local.unclassified-changes";

const RULER: &str =
    "# ---------------------------------------------------------------------------------------";

const HEADER: &str = r#"
# A scope policy for this project, written by `preflight init`. Read it, fix what it guessed,
# and keep it in version control.
#
# preflight judges every action an agent proposes (a shell command, a file edit, a cloud or
# database call) before it runs. It first works out the action's effects: what is read,
# created, updated, deleted or run, on which resource, in which environment. Every rule that
# matches an effect gives its answer, and the strictest answer wins:
#
#     deny  >  escalate (a person decides)  >  allow
#
# Deny always wins: an allow, here or in a pack this file extends, never undoes a deny or
# an escalate. An effect no rule matches gets the policy's default, which is deny unless a
# policy says otherwise.
#
# `extends`, the first line, builds on the built-in pack for coding agents: its rules and the
# rules of this file are judged together, so this file can add rules and make the pack
# stricter, but cannot loosen a deny of the pack. Other packs and files can be listed too
# (`extends = ["builtin:NAME", "relative/path.toml"]`).
#
# Check this file:             preflight policy lint --policy .preflight/policy.toml
# Run the tests it holds:      preflight policy test --policy .preflight/policy.toml
# Why an action gets a verdict: preflight policy explain --policy .preflight/policy.toml --action FILE
# Every field of the format:   preflight policy schema
#
# Running `preflight init` again shows how its new result differs from this file, and
# replaces the file only with --force (keeping this one as policy.toml.bak).
"#;

const ENVIRONMENTS_INTRO: &str = r#"
# Environments
#
# An environment is recognised from the resource an effect touches, never from what the agent
# says about it:
#
#   aws_profiles, aws_accounts  aws://PROFILE-OR-ACCOUNT/service/…  (`--profile`, AWS_PROFILE)
#   kube_contexts               k8s://CONTEXT/namespace/kind/name   (`--context`)
#   terraform_workspaces        terraform://WORKSPACE/address       (TF_WORKSPACE, a plan's workspace)
#   db_hosts                    sql://HOST/database/table           (DATABASE_URL, psql URLs)
#   hosts                       https://HOST/…
#   path_prefixes               file:///PREFIX/…
#
# Rules name environments in `environments = [...]`. An effect whose environment is not
# recognised is in `unknown`; that includes a command naming no profile, context or workspace
# (`kubectl delete pod x` uses whatever context is current, so preflight cannot tell which
# one it is), and a destructive change in `unknown` is escalated.
#
# The entries below were found on this machine. Those whose name has a part prod, prd,
# production or live (in any case) were GUESSED to be production; staging and dev were
# guessed the same way; a profile or context that reaches the same account or cluster as
# another takes the stricter of the two. Check every guess: move an entry to the environment
# it really belongs to. init does not guess db_hosts, hosts or path_prefixes; add them.
"#;

const RULES_INTRO: &str = r#"
# Rules
#
# A rule matches effects by what it lists, all of which must hold:
#   operations   read, create, update, delete, execute, permission_change, network_send
#   resources    glob patterns over resource URIs ("k8s://**", "file:///home/me/app/**");
#                except_resources takes some back out
#   environments names declared above, or "unknown"
#   tags         "secret", "force_push", "destroy", … (see docs/effects.md)
# and answers with `effect`: allow, escalate or deny; `reason` is shown to the agent and
# to whoever approves, `suggestion` offers a safer way.
"#;

const ALLOW_MORE: &str = r#"
# To allow more, add an allow rule. It takes effect only where no rule denies or escalates
# the same effect, for example:
#
# [[rule]]
# id = "local.staging-deploys"
# effect = "allow"
# operations = ["create", "update"]
# resources = ["k8s://**"]
# environments = ["staging"]
# reason = "deploying to staging"
#
# and pin down what you expect with tests (`[[test]]`, run by `preflight policy test`), such
# as those at the end of this file.
"#;

/// The starter policy for `entries` and the `.env` variable names found.
pub fn render(entries: &[Entry], env_variables: &BTreeMap<String, Vec<String>>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "extends = [{}]", quote(PACK));
    out.push_str(HEADER);

    out.push('\n');
    out.push_str(RULER);
    out.push_str(ENVIRONMENTS_INTRO);
    let has = |class: Class| entries.iter().any(|e| e.class == class);
    for class in Class::ALL {
        // `production` is always declared: the rules below name it.
        if class != Class::Production && !has(class) {
            continue;
        }
        out.push('\n');
        out.push_str(environment_comment(class));
        let _ = writeln!(out, "[environments.{}]", class.environment());
        for kind in MarkerKind::ALL {
            let of_kind: Vec<&Entry> = entries
                .iter()
                .filter(|e| e.class == class && e.kind == kind)
                .collect();
            if of_kind.is_empty() {
                continue;
            }
            let _ = writeln!(out, "{} = [", kind.field());
            for entry in of_kind {
                let verdict = match class {
                    Class::Production => "GUESSED production".to_string(),
                    Class::Unclassified => "unclassified".to_string(),
                    other => format!("guessed {other}"),
                };
                out.push_str(&wrapped(
                    "    # ",
                    &format!("{verdict}: {}. Found in {}.", entry.why, entry.origin),
                ));
                let _ = writeln!(out, "    {},", quote(&entry.value));
            }
            out.push_str("]\n");
        }
    }

    out.push('\n');
    out.push_str(RULER);
    out.push_str(RULES_INTRO);
    let _ = write!(
        out,
        r#"
# Nothing in production is changed by an agent: a person makes production changes.
[[rule]]
id = "{PRODUCTION_CHANGES_RULE}"
effect = "deny"
operations = ["create", "update", "delete", "permission_change"]
environments = ["production"]
reason = "nothing in production is changed by an agent"
suggestion = "prepare the change (a plan, a pull request) for a person to apply"

# What preflight cannot read (a script, an unknown program) is not run against production
# without a person.
[[rule]]
id = "{PRODUCTION_OPAQUE_RULE}"
effect = "escalate"
opaque = true
environments = ["production"]
reason = "preflight cannot tell what this does to production"
"#
    );
    if has(Class::Unclassified) {
        let _ = write!(
            out,
            r#"
# Until they are classified, changes in the unclassified entries are asked about, as they
# would be in an unknown environment.
[[rule]]
id = "{UNCLASSIFIED_CHANGES_RULE}"
effect = "escalate"
operations = ["create", "update", "delete", "permission_change"]
environments = ["unclassified"]
reason = "this environment is not classified yet"
suggestion = "classify it in the policy's [environments]"
"#
        );
    }
    out.push_str(ALLOW_MORE);
    out.push_str(&production_tests(entries));

    out.push('\n');
    out.push_str(RULER);
    out.push_str(&secrets_section(env_variables));
    out
}

/// Tests that hold whatever the pack says, since deny wins: a delete through the first
/// production AWS profile or account and kube context found is denied.
fn production_tests(entries: &[Entry]) -> String {
    let first = |kind: MarkerKind| {
        entries
            .iter()
            .find(|e| e.class == Class::Production && e.kind == kind)
    };
    let mut out = String::from(
        "\n# Tests: a change in production is denied, whatever else the policy says.\n",
    );
    let aws = first(MarkerKind::AwsProfile)
        .map(|e| ("profile", e))
        .or_else(|| first(MarkerKind::AwsAccount).map(|e| ("account", e)));
    if let Some((field, entry)) = aws {
        let _ = write!(
            out,
            r#"
[[test]]
name = {}
expect = "deny"
rules = ["{PRODUCTION_CHANGES_RULE}"]
action = {{ tool = "aws.api", input = {{ {field} = {}, service = "ec2", operation = "TerminateInstances", params = {{ InstanceIds = ["i-0123456789abcdef0"] }} }} }}
"#,
            quote(&format!(
                "terminating an instance through {field} {}",
                entry.value
            )),
            quote(&entry.value),
        );
    }
    let kube = first(MarkerKind::KubeContext);
    if aws.is_none() && kube.is_none() {
        return String::new();
    }
    if let Some(entry) = kube {
        let _ = write!(
            out,
            r#"
[[test]]
name = {}
expect = "deny"
rules = ["{PRODUCTION_CHANGES_RULE}"]
action = {{ tool = "Bash", input = {{ command = {} }} }}
"#,
            quote(&format!("deleting a deployment in context {}", entry.value)),
            quote(&format!(
                "kubectl --context {} delete deployment web",
                shell_word(&entry.value)
            )),
        );
    }
    out
}

/// A word the shell reads back as `text`.
fn shell_word(text: &str) -> String {
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.:/@".contains(c))
    {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

fn environment_comment(class: Class) -> &'static str {
    match class {
        Class::Production => {
            "# Production: the rules below deny every change here and ask a person about anything\n\
             # preflight cannot read. Add whatever else identifies production.\n"
        }
        Class::Staging => "# Staging, pre-production, QA.\n",
        Class::Dev => "# Development: local clusters, sandboxes.\n",
        Class::Unclassified => {
            "# Found, but nothing says which environment these are. Move each to production,\n\
             # staging or dev (or an environment of your own). Until then, changes here are\n\
             # escalated by the rule `local.unclassified-changes` below.\n"
        }
    }
}

fn secrets_section(env_variables: &BTreeMap<String, Vec<String>>) -> String {
    let mut out = String::from(
        "\n# Secrets\n\
         #\n\
         # Inspection tags every effect on a secret file `secret`: .env and .env.* files, ~/.aws,\n\
         # ~/.ssh, *.pem, id_rsa*. The policy format has no list of secret variable names; a\n\
         # rule matching `tags = [\"secret\"]` decides what happens to those files.\n",
    );
    if env_variables.is_empty() {
        out.push_str("#\n# No .env files were found in the project.\n");
        return out;
    }
    out.push_str(
        "#\n\
         # The project's .env files define these variables (names only; their values were not\n\
         # copied here). A command that reads or sends them goes through those files:\n\
         #\n",
    );
    let width = env_variables.keys().map(String::len).max().unwrap_or(0);
    for (name, files) in env_variables {
        let _ = writeln!(
            out,
            "{}",
            comment(&format!("#   {name:<width$}  ({})", files.join(", ")))
        );
    }
    out.push_str(
        "#\n\
         # To refuse every access to them, whatever the pack decides:\n\
         #\n\
         # [[rule]]\n\
         # id = \"local.secrets\"\n\
         # effect = \"deny\"\n\
         # tags = [\"secret\"]\n\
         # reason = \"secrets are never read, copied or sent\"\n",
    );
    out
}

/// A TOML basic string.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `text` as comment lines starting with `prefix`, wrapped at about 95 columns.
fn wrapped(prefix: &str, text: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in comment(text).split(' ').filter(|w| !w.is_empty()) {
        if !line.is_empty() && prefix.len() + line.len() + 1 + word.len() > 95 {
            let _ = writeln!(out, "{prefix}{line}");
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    let _ = writeln!(out, "{prefix}{line}");
    out
}

/// Text safe inside a `#` comment: names read from files may hold line breaks.
fn comment(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: MarkerKind, value: &str, class: Class) -> Entry {
        Entry {
            kind,
            value: value.into(),
            class,
            why: "because".into(),
            origin: "somewhere".into(),
        }
    }

    #[test]
    fn strings_are_escaped_and_comments_stay_on_one_line() {
        let entries = [entry(
            MarkerKind::KubeContext,
            "odd\"name\\with\nbreak",
            Class::Unclassified,
        )];
        let mut vars = BTreeMap::new();
        vars.insert("X\nY".to_string(), vec![".env".to_string()]);
        let text = render(&entries, &vars);
        let value: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(
            value["environments"]["unclassified"]["kube_contexts"][0].as_str(),
            Some("odd\"name\\with\nbreak")
        );
        assert!(!text.contains("X\nY"));
    }

    /// Everything but `extends` is the policy format the rules crate loads today.
    #[test]
    fn the_rest_of_the_policy_loads() {
        let entries = [
            entry(MarkerKind::AwsProfile, "prod-admin", Class::Production),
            entry(MarkerKind::AwsAccount, "111111111111", Class::Production),
            entry(MarkerKind::KubeContext, "kind-dev", Class::Dev),
            entry(MarkerKind::KubeContext, "prod's cluster", Class::Production),
            entry(MarkerKind::TerraformWorkspace, "qa", Class::Staging),
            entry(MarkerKind::AwsProfile, "default", Class::Unclassified),
        ];
        let text = render(&entries, &BTreeMap::new());
        let without_extends = text.replacen("extends = [\"builtin:coding-agent\"]\n", "", 1);
        assert_ne!(text, without_extends);
        let policy = preflight_rules::Policy::from_str(&without_extends, "starter.toml").unwrap();
        let environments = &policy.file().environments;
        assert_eq!(
            environments
                .of_resource("aws://prod-admin/s3/bucket")
                .as_deref(),
            Some("production")
        );
        assert_eq!(
            environments
                .of_resource("aws://111111111111/ec2/i-1")
                .as_deref(),
            Some("production")
        );
        assert_eq!(
            environments
                .of_resource("k8s://kind-dev/default/pod/x")
                .as_deref(),
            Some("dev")
        );
        assert_eq!(
            environments
                .of_resource("terraform://qa/aws_instance.web")
                .as_deref(),
            Some("staging")
        );
        assert_eq!(
            environments.of_resource("aws://default/s3/b").as_deref(),
            Some("unclassified")
        );
        let report = preflight_rules::run_policy_tests(&policy);
        assert_eq!(report.results.len(), 2, "{report:?}");
        assert_eq!(report.failed, 0, "{report:?}");
        let errors: Vec<String> = preflight_rules::lint_str(&without_extends, "starter.toml")
            .into_iter()
            .filter(|f| f.severity == preflight_rules::Severity::Error)
            .map(|f| f.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        let ids: Vec<&str> = policy.rule_ids().collect();
        assert_eq!(
            ids,
            [
                PRODUCTION_CHANGES_RULE,
                PRODUCTION_OPAQUE_RULE,
                UNCLASSIFIED_CHANGES_RULE
            ]
        );
        // The whole starter, on the built-in pack it extends.
        let whole = preflight_rules::Policy::from_str(&text, "starter.toml").unwrap();
        assert!(whole.rule_ids().any(|id| id == "coding.programs"));
        assert!(whole.rule_ids().any(|id| id == PRODUCTION_CHANGES_RULE));
        let report = preflight_rules::run_policy_tests(&whole);
        assert_eq!(report.failed, 0, "{report:?}");
        let mut action = preflight_core::Action::new(
            "Bash",
            serde_json::json!({"command": "aws s3 cp a.txt s3://bucket/a.txt --profile prod-admin"}),
        );
        action.context.cwd = Some("/work/app".into());
        let verdict = whole.evaluate(&action, &whole.inspect(&action));
        assert_eq!(
            verdict.decision,
            preflight_core::Decision::Deny,
            "{verdict:?}"
        );
        let mut dev = action.clone();
        dev.input = serde_json::json!({"command": "cargo test"});
        let verdict = whole.evaluate(&dev, &whole.inspect(&dev));
        assert_eq!(
            verdict.decision,
            preflight_core::Decision::Allow,
            "{verdict:?}"
        );
    }

    #[test]
    fn production_is_declared_even_when_nothing_was_found() {
        let text = render(&[], &BTreeMap::new());
        assert!(text.starts_with("extends = [\"builtin:coding-agent\"]\n"));
        let value: toml::Table = toml::from_str(&text).unwrap();
        assert!(value["environments"].get("production").is_some());
        assert!(value["environments"].get("unclassified").is_none());
        assert!(!text.contains(UNCLASSIFIED_CHANGES_RULE));
        assert!(text.contains("No .env files"));
    }
}
