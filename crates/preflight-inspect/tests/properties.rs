//! Laws of inspection, checked on generated inputs.

mod common;

use std::collections::BTreeSet;

use common::envelope_environments;
use preflight_core::{Action, Inspector, Operation};
use preflight_inspect::{
    ActionInspector, ShellContext, inspect_shell, inspect_sql, normalize_path,
};
use proptest::prelude::*;
use serde_json::Value;

fn path_strategy() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("..".to_string()),
            Just(".".to_string()),
            Just(String::new()),
            Just("~".to_string()),
            Just("**".to_string()),
            "[a-z~.]{1,6}",
            "[^/\u{0}]{0,4}",
        ],
        0..10,
    )
    .prop_flat_map(|segments| {
        (Just(segments.join("/")), any::<bool>()).prop_map(|(joined, absolute)| {
            if absolute {
                format!("/{joined}")
            } else {
                joined
            }
        })
    })
}

fn context_dir() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some("/workspace/app".to_string())),
        Just(Some("/".to_string())),
        path_strategy().prop_map(Some),
    ]
}

/// A small grammar of shell commands with file effects.
fn command_strategy() -> impl Strategy<Value = String> {
    let program = prop_oneof![
        Just("rm -rf"),
        Just("rm"),
        Just("cat"),
        Just("chmod -R 755"),
        Just("touch"),
        Just("cp -r"),
        Just("mv"),
        Just("tee"),
    ];
    let path = prop_oneof![
        Just("/etc".to_string()),
        Just("build".to_string()),
        Just("~/notes".to_string()),
        Just("../x/y".to_string()),
        Just("/tmp/a b".to_string()),
        "[a-z]{1,5}(/[a-z]{1,5}){0,2}",
    ];
    (program, prop::collection::vec(path, 1..4)).prop_map(|(program, paths)| {
        let quoted: Vec<String> = paths.iter().map(|p| format!("\"{p}\"")).collect();
        format!("{program} {}", quoted.join(" "))
    })
}

/// The (operation, resource) pairs of non-execute effects.
fn touched(command: &str) -> BTreeSet<(Operation, String)> {
    let context = ShellContext::new(Some("/workspace/app"), Some("/home/alice"));
    inspect_shell(command, &context, &envelope_environments())
        .effects
        .into_iter()
        .filter(|e| e.operation != Operation::Execute)
        .map(|e| (e.operation, e.resource))
        .collect()
}

fn json_strategy() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
        Just(Value::String(
            "rm -rf / ; DROP TABLE x; mutation { deleteAll }".into()
        )),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("command".to_string()),
                    Just("sql".to_string()),
                    Just("database_url".to_string()),
                    Just("url".to_string()),
                    Just("method".to_string()),
                    Just("body".to_string()),
                    Just("plan".to_string()),
                    Just("resource_changes".to_string()),
                    Just("params".to_string()),
                    Just("service".to_string()),
                    Just("operation".to_string()),
                    Just("file_path".to_string()),
                    Just("path".to_string()),
                    "[a-z_]{1,8}",
                ],
                inner,
                0..6,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A command with options, in its plain spelling and in spellings bash and the program read
/// the same way.
fn spellings_strategy() -> impl Strategy<Value = (String, Vec<String>)> {
    let path = prop_oneof![
        Just("/home/alice/.bashrc".to_string()),
        Just("/etc/hosts".to_string()),
        Just("build".to_string()),
        "[a-z]{1,5}(/[a-z]{1,5}){0,2}",
    ];
    (0usize..5, path, any::<bool>()).prop_map(|(which, path, flip)| {
        let (plain, mut forms): (String, Vec<String>) = match which {
            0 => (
                format!("rm -r -f {path}"),
                vec![
                    format!("rm -rf {path}"),
                    format!("rm -fr {path}"),
                    format!("rm --recursive --force {path}"),
                    format!("rm --recur --forc {path}"),
                    format!("rm {path} -rf"),
                    format!("rm -rf -- {path}"),
                ],
            ),
            1 => (
                format!("sort -o {path} x"),
                vec![
                    format!("sort -o{path} x"),
                    format!("sort --output={path} x"),
                    format!("sort --output {path} x"),
                    format!("sort x -o {path}"),
                    format!("sort -ro {path} x"),
                ],
            ),
            2 => (
                format!("cp -r src {path}"),
                vec![
                    format!("cp -R src {path}"),
                    format!("cp --recursive src {path}"),
                    format!("cp -t {path} -r src"),
                    format!("cp --target-directory={path} -r src"),
                ],
            ),
            3 => (
                format!("chmod -R 700 {path}"),
                vec![
                    format!("chmod --recursive 700 {path}"),
                    format!("chmod 700 -R {path}"),
                    format!("chmod -R -- 700 {path}"),
                ],
            ),
            _ => (
                format!("tee -a {path}"),
                vec![format!("tee --append {path}"), format!("tee --app {path}")],
            ),
        };
        let program = plain.split(' ').next().unwrap_or_default().to_string();
        let rest = plain[program.len()..].to_string();
        // Replaces the path where it is a whole word, never inside another one (a path `o`
        // is not the `o` of `sort -o`).
        let with_path = |replacement: &str| {
            plain
                .split(' ')
                .map(|word| if word == path { replacement } else { word })
                .collect::<Vec<_>>()
                .join(" ")
        };
        forms.extend([
            format!("'{program}'{rest}"),
            format!("\\{program}{rest}"),
            format!("/usr/bin/{program}{rest}"),
            format!("P={path}; {}", with_path("$P")),
            with_path(&format!("{{{path},{path}}}")),
            format!("env -- {plain}"),
            format!("nice -n 3 {plain}"),
            format!("sh -c \"{plain}\""),
            format!("bash <<'EOF'\n{plain}\nEOF"),
            format!("echo x | xargs -I@ {plain}"),
        ]);
        if flip {
            forms.reverse();
        }
        (plain, forms)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_spelling_reveals_what_the_plain_one_does((plain, forms) in spellings_strategy()) {
        let expected = touched(&plain);
        prop_assert!(!expected.is_empty(), "`{plain}` derived nothing");
        let context = ShellContext::new(Some("/workspace/app"), Some("/home/alice"));
        for form in forms {
            let inspection = inspect_shell(&form, &context, &envelope_environments());
            let opaque = inspection.effects.iter().any(|e| e.opaque);
            let revealed = touched(&form);
            prop_assert!(
                opaque || expected.is_subset(&revealed),
                "`{form}` hides {:?} that `{plain}` shows",
                expected.difference(&revealed).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn path_normalisation_is_idempotent_and_never_climbs(
        path in path_strategy(),
        cwd in context_dir(),
        home in context_dir(),
    ) {
        let once = normalize_path(&path, cwd.as_deref(), home.as_deref());
        prop_assert!(once.starts_with('/'), "{once}");
        prop_assert!(!once.split('/').any(|s| s == ".." || s == "."), "{once}");
        prop_assert!(once == "/" || !once.ends_with('/'), "{once}");
        prop_assert!(!once.contains("//"), "{once}");
        let twice = normalize_path(&once, cwd.as_deref(), home.as_deref());
        prop_assert_eq!(&once, &twice);
        // Normalising is independent of the context once a path is absolute.
        prop_assert_eq!(normalize_path(&once, None, None), once);
    }

    #[test]
    fn shell_inspection_never_panics(command in ".{0,200}") {
        let context = ShellContext::new(Some("/workspace/app"), Some("/home/alice"));
        let inspection = inspect_shell(&command, &context, &envelope_environments());
        for effect in &inspection.effects {
            prop_assert!(effect.resource.contains("://"), "{}", effect.resource);
        }
    }

    #[test]
    fn shell_inspection_never_panics_on_shell_like_text(
        command in "[a-z ;|&<>()$`'\"\\\\{}*~./=-]{0,120}"
    ) {
        let context = ShellContext::new(None, None);
        let _ = inspect_shell(&command, &context, &envelope_environments());
    }

    #[test]
    fn sql_inspection_never_panics(sql in ".{0,200}", scheme in "(postgres|mysql|sqlite|mssql|x)") {
        let url = format!("{scheme}://db.prod.internal/app");
        let inspection = inspect_sql(&url, &sql, &envelope_environments());
        // Whatever it says, it names the database it was given.
        for effect in &inspection.effects {
            prop_assert!(effect.resource.starts_with("sql://db.prod.internal/"), "{}", effect.resource);
        }
    }

    #[test]
    fn action_inspection_never_panics_and_is_deterministic(
        tool in prop_oneof![
            Just("Bash"), Just("sql.execute"), Just("http.request"), Just("aws.api"),
            Just("terraform.apply"), Just("Read"), Just("Write"), Just("Edit"),
            Just("mcp__filesystem__write_file"), Just("mcp__x__y"), Just("email.send"),
        ],
        input in json_strategy(),
    ) {
        let inspector = ActionInspector::new(envelope_environments());
        let action = Action::new(tool, input).with_cwd("/workspace/app");
        let first = inspector.inspect(&action);
        let second = inspector.inspect(&action);
        prop_assert_eq!(&first, &second);
        for effect in &first.effects {
            prop_assert!(effect.resource.contains("://"), "{}", effect.resource);
        }
        // Only an empty command line or an empty plan may have no effect at all.
        if first.effects.is_empty() {
            // The command line: the input itself when it is a string, else its `command` or
            // `cmd` (as the inspector reads a shell tool's input).
            let command = action.input.as_str().or_else(|| {
                action.input.get("command").or_else(|| action.input.get("cmd")).and_then(Value::as_str)
            });
            let empty_command = command.is_some_and(|c| c.lines().all(|l| l.trim().is_empty() || l.trim().starts_with('#')));
            let empty_plan = action.tool == "terraform.apply";
            prop_assert!(
                empty_command || empty_plan || !first.notes.is_empty(),
                "no effect and no note for {:?}",
                action
            );
        }
    }

    #[test]
    fn wrappers_never_hide_effects(command in command_strategy()) {
        let plain = touched(&command);
        prop_assert!(!plain.is_empty(), "`{command}` derived nothing");
        for wrapped in [
            format!("env FOO=1 {command}"),
            format!("command {command}"),
            format!("nohup {command}"),
            format!("timeout 5 {command}"),
            format!("sudo {command}"),
            format!("bash -c '{command}'"),
            format!("true && {command}"),
            format!("({command})"),
            format!("echo start; {command} | cat"),
        ] {
            let revealed = touched(&wrapped);
            prop_assert!(plain.is_subset(&revealed), "`{wrapped}` hides {:?}", plain.difference(&revealed).collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_where_clause_bounds_and_its_absence_does_not(
        table in "t_[a-z]{1,8}",
        column in "c_[a-z]{1,8}",
        value in 0i64..1000,
    ) {
        let envs = envelope_environments();
        let url = "postgres://db.dev.internal/app";
        for (sql, unbounded) in [
            (format!("DELETE FROM {table} WHERE {column} = {value}"), false),
            (format!("DELETE FROM {table}"), true),
            (format!("DELETE FROM {table} WHERE {value} = {value}"), true),
            (format!("DELETE FROM {table} WHERE 1=1 OR {column} = {value}"), true),
            (format!("UPDATE {table} SET {column} = {value} WHERE {column} > {value}"), false),
            (format!("UPDATE {table} SET {column} = {value}"), true),
        ] {
            let inspection = inspect_sql(url, &sql, &envs);
            prop_assert!(inspection.notes.is_empty(), "{}: {:?}", sql, inspection.notes);
            prop_assert_eq!(inspection.blast_radius.unbounded, unbounded, "{}", sql);
        }
    }
}

/// A shell tool's input may be the command line itself; an empty one does nothing and needs no
/// note (found by `action_inspection_never_panics_and_is_deterministic`, whose check read only
/// an object's `command`).
#[test]
fn an_empty_command_given_as_a_string_has_no_effect() {
    let inspector = ActionInspector::new(envelope_environments());
    for input in [
        Value::from(""),
        Value::from("  # nothing"),
        serde_json::json!({"cmd": ""}),
    ] {
        let action = Action::new("Bash", input.clone()).with_cwd("/workspace/app");
        let inspection = inspector.inspect(&action);
        assert!(
            inspection.effects.is_empty(),
            "{input}: {:?}",
            inspection.effects
        );
    }
    let action = Action::new("Bash", Value::from("rm -rf build")).with_cwd("/workspace/app");
    assert!(!inspector.inspect(&action).effects.is_empty());
}
