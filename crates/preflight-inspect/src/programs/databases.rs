//! Database clients: `psql`, `mysql`/`mariadb`, `sqlite3`.
//!
//! Statements given on the line (`-c`, `-e`, a here-document, a piped literal) are inspected
//! as SQL against the database the options name; a script file, statements only known at run
//! time, and client meta-commands that run programs or write files (`\!`, `\o`, `\copy`,
//! `system`, `.shell`, `.output`) make the call opaque against that database.

use preflight_core::Operation;

use super::spec::{Spec, Style, flag, optional, value};
use super::{Call, Program, Unaccounted};
use crate::effects::{attr, opaque};
use crate::sql;

pub(super) const PROGRAMS: &[Program] = &[
    Program {
        names: &["psql", "mysql", "mariadb", "sqlite3", "pgcli", "mycli"],
        model: client,
    },
    Program {
        names: &[
            "dropdb",
            "createdb",
            "pg_dump",
            "pg_dumpall",
            "pg_restore",
            "dropuser",
            "createuser",
            "vacuumdb",
            "reindexdb",
            "clusterdb",
            "pg_isready",
        ],
        model: pg_tool,
    },
];

/// `pg_dump`, `pg_dumpall`, `pg_restore`: letters whose meaning differs between them
/// (`-t`, `-e`) are left out, and so unaccounted for.
pub(super) const PG_DUMP: Spec = Spec {
    opts: &[
        value("host", "h", &["host"]),
        value("dbname", "d", &["dbname"]),
        value("file", "f", &["file"]),
        value(
            "value",
            "pUFjZETnNSLI",
            &[
                "port",
                "username",
                "format",
                "jobs",
                "compress",
                "encoding",
                "exclude-table",
                "trigger",
                "schema",
                "exclude-schema",
                "superuser",
                "use-list",
                "index",
                "table",
                "role",
                "lock-wait-timeout",
                "exclude-table-data",
                "section",
                "extension",
            ],
        ),
        flag("clean", "c", &["clean"]),
        flag(
            "flag",
            "CasvxOwWgr1",
            &[
                "create",
                "data-only",
                "schema-only",
                "verbose",
                "no-privileges",
                "no-owner",
                "no-password",
                "password",
                "globals-only",
                "roles-only",
                "single-transaction",
                "if-exists",
                "inserts",
                "column-inserts",
                "no-comments",
                "no-publications",
                "no-subscriptions",
                "exit-on-error",
                "tablespaces-only",
            ],
        ),
    ],
    style: Style::Gnu,
};

/// `dropdb`, `createdb`, `dropuser`, `createuser`, `vacuumdb`, `reindexdb`, `clusterdb`,
/// `pg_isready`: the options they share with one meaning.
pub(super) const PG_ADMIN: Spec = Spec {
    opts: &[
        value("host", "h", &["host"]),
        value("dbname", "", &["dbname", "maintenance-db"]),
        value(
            "value",
            "pUtjOTE",
            &[
                "port", "username", "table", "timeout", "jobs", "owner", "template", "encoding",
            ],
        ),
        flag(
            "flag",
            "wWeqvfaz",
            &[
                "no-password",
                "password",
                "echo",
                "quiet",
                "verbose",
                "force",
                "all",
                "analyze",
                "full",
                "if-exists",
                "interactive",
            ],
        ),
    ],
    style: Style::Gnu,
};

/// PostgreSQL's command-line tools: each acts on a database the options name.
fn pg_tool(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    let spec = if call.name.starts_with("pg_dump") || call.name == "pg_restore" {
        PG_DUMP
    } else {
        PG_ADMIN
    };
    let parsed = spec.scan(call.args)?;
    let host = parsed
        .last("host")
        .map(|w| {
            if w.dynamic {
                "*".to_string()
            } else {
                w.text.clone()
            }
        })
        .or_else(|| call.run.env.get("PGHOST").cloned())
        .unwrap_or_else(|| "_".into());
    let program = call.name.to_string();
    let named = parsed.operands.first().map(|w| w.text.clone());
    let database = parsed
        .last("dbname")
        .map(|w| w.text.clone())
        .or_else(|| {
            if program == "pg_restore" {
                None
            } else {
                named.clone()
            }
        })
        .or_else(|| call.run.env.get("PGDATABASE").cloned())
        .unwrap_or_else(|| "_".into());
    let url = if database.contains("://") {
        database.clone()
    } else {
        format!("postgres://{host}/{database}")
    };
    let (resource, environment) = sql::sql_target(&url, None, call.walker.envs);
    let (operation, unbounded) = match program.as_str() {
        "dropdb" => (Operation::Delete, true),
        "createdb" => (Operation::Create, false),
        "dropuser" | "createuser" => (Operation::PermissionChange, false),
        "pg_restore" if parsed.has("clean") => (Operation::Delete, true),
        "pg_restore" | "vacuumdb" | "reindexdb" | "clusterdb" => (Operation::Update, false),
        _ => (Operation::Read, false),
    };
    let mut effect = preflight_core::Effect::new(operation, resource);
    effect.environment = environment;
    effect.unbounded = unbounded;
    attr(&mut effect, "command", program.clone());
    call.push(effect);
    if let Some(file) = parsed.last("file").cloned() {
        let operation = if program == "pg_restore" {
            Operation::Read
        } else {
            Operation::Update
        };
        call.push_file(operation, &file, false, false);
    }
    if program == "pg_restore" {
        if let Some(input) = parsed.operands.first().cloned() {
            call.push_file(Operation::Read, &input, false, false);
        }
    }
    Ok(())
}

pub(super) const PSQL: Spec = Spec {
    opts: &[
        value("command", "c", &["command"]),
        value("dbname", "d", &["dbname"]),
        value("file", "f", &["file"]),
        value("host", "h", &["host"]),
        value("port", "p", &["port"]),
        value("user", "U", &["username"]),
        value("writes", "oL", &["output", "log-file"]),
        value(
            "value",
            "vFRPT",
            &[
                "set",
                "variable",
                "field-separator",
                "record-separator",
                "pset",
                "table-attr",
            ],
        ),
        flag(
            "flag",
            "wWXqtA1eEabnsSxHlV0z",
            &[
                "no-password",
                "password",
                "no-psqlrc",
                "quiet",
                "tuples-only",
                "no-align",
                "single-transaction",
                "echo-queries",
                "echo-hidden",
                "echo-all",
                "echo-errors",
                "no-readline",
                "single-step",
                "single-line",
                "expanded",
                "html",
                "list",
                "version",
                "csv",
                "field-separator-zero",
                "record-separator-zero",
                "help",
            ],
        ),
    ],
    style: Style::Gnu,
};

const MYSQL: Spec = Spec {
    opts: &[
        value("command", "e", &["execute"]),
        value("host", "h", &["host"]),
        value("dbname", "D", &["database"]),
        value("user", "u", &["user"]),
        optional("password", "p", &["password"]),
        value("port", "P", &["port"]),
        value(
            "value",
            "S",
            &[
                "socket",
                "protocol",
                "default-character-set",
                "ssl-mode",
                "ssl-ca",
                "ssl-cert",
                "ssl-key",
                "connect-timeout",
            ],
        ),
        value(
            "defaults",
            "",
            &["defaults-file", "defaults-extra-file", "init-command"],
        ),
        flag(
            "flag",
            "BNsvtrAEfnqVX",
            &[
                "batch",
                "skip-column-names",
                "silent",
                "verbose",
                "table",
                "raw",
                "no-auto-rehash",
                "vertical",
                "force",
                "unbuffered",
                "quick",
                "version",
                "xml",
                "html",
                "compress",
                "column-names",
                "help",
            ],
        ),
    ],
    style: Style::Gnu,
};

fn client(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    let program = call.name.to_string();
    if program == "sqlite3" {
        return sqlite(call);
    }
    let spec = if program.starts_with("psql") || program == "pgcli" {
        PSQL
    } else {
        MYSQL
    };
    let parsed = spec.scan(call.args)?;
    if parsed.has("defaults") {
        return Err(Unaccounted("options read from a file".into()));
    }
    for file in parsed.values("writes").cloned().collect::<Vec<_>>() {
        call.push_file(Operation::Update, &file, false, false);
    }
    let mut url: Option<String> = None;
    let mut host = parsed
        .last("host")
        .map(|w| w.text.clone())
        .or_else(|| call.run.env.get("PGHOST").cloned());
    let mut db = call.run.env.get("PGDATABASE").cloned();
    if let Some(name) = parsed.last("dbname") {
        if name.text.contains("://") || name.text.contains('=') {
            url = Some(name.text.clone());
        } else {
            db = Some(name.text.clone());
        }
    }
    for operand in &parsed.operands {
        if operand.text.contains("://") {
            url = Some(operand.text.clone());
        } else if db.is_none() {
            db = Some(operand.text.clone());
        }
    }
    if parsed.last("host").is_some_and(|h| h.dynamic) {
        host = Some("*".into());
    }
    let scheme = if spec.opts.len() == PSQL.opts.len()
        && program != "mysql"
        && program != "mariadb"
        && program != "mycli"
    {
        "postgres"
    } else {
        "mysql"
    };
    let url = url.unwrap_or_else(|| {
        format!(
            "{scheme}://{}/{}",
            host.unwrap_or_else(|| "_".into()),
            db.unwrap_or_else(|| "_".into())
        )
    });
    let mut statements: Vec<(String, bool)> = parsed
        .values("command")
        .map(|w| (w.text.clone(), w.dynamic))
        .collect();
    if statements.is_empty() && !parsed.has("file") {
        if let Some(text) = call.run.stdin.text.clone() {
            statements.push((text, false));
        } else if call.run.stdin.piped {
            statements.push((String::new(), true));
        }
    }
    for file in parsed.values("file").cloned().collect::<Vec<_>>() {
        call.push_file(Operation::Read, &file, false, false);
        statements.push((String::new(), true));
    }
    run_statements(call, &url, &statements, statements.is_empty());
    Ok(())
}

/// Inspects each statement; unknown ones, meta-commands and an interactive session are
/// opaque against the database.
fn run_statements(
    call: &mut Call<'_, '_>,
    url: &str,
    statements: &[(String, bool)],
    interactive: bool,
) {
    let meta = |text: &str| {
        text.contains('\\')
            || text.lines().any(|l| {
                let l = l.trim_start().to_ascii_lowercase();
                l.starts_with('.') || l.starts_with("system") || l.starts_with("source")
            })
    };
    let unreadable = interactive || statements.iter().any(|(t, dynamic)| *dynamic || meta(t));
    if unreadable {
        let (resource, environment) = sql::sql_target(url, None, call.walker.envs);
        let mut effect = opaque(Operation::Execute, resource);
        effect.environment = environment;
        attr(&mut effect, "command", call.name.to_string());
        call.push(effect);
    }
    for (text, dynamic) in statements {
        if *dynamic || meta(text) {
            continue;
        }
        let inspection = sql::inspect_sql(url, text, call.walker.envs);
        call.walker.notes.extend(inspection.notes);
        for effect in inspection.effects {
            call.push(effect);
        }
    }
}

fn sqlite(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    let args = call.args.to_vec();
    let mut operands = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let text = args[i].text.as_str();
        i += 1;
        if args[i - 1].may_be_option() {
            return Err(Unaccounted(format!("`{text}` may be an option")));
        }
        if !text.starts_with('-') {
            operands.push(args[i - 1].clone());
            continue;
        }
        match text.trim_start_matches('-') {
            "bail" | "batch" | "csv" | "header" | "noheader" | "json" | "line" | "list" | "box"
            | "table" | "markdown" | "column" | "html" | "readonly" | "echo" | "version"
            | "help" | "quote" | "ascii" | "safe" => {}
            "separator" | "newline" | "nullvalue" | "vfs" | "mmap" | "pagecache" | "lookaside"
            | "heap" => i += 1,
            _ => return Err(Unaccounted(format!("sqlite3 option `{text}`"))),
        }
    }
    let mut operands = operands.into_iter();
    let Some(db) = operands.next() else {
        return Err(Unaccounted("no database file".into()));
    };
    // The database file is opened for writing (created if missing).
    call.push_file(Operation::Update, &db, false, false);
    let url = format!("sqlite:///{}", call.path(&db).trim_start_matches('/'));
    let mut statements: Vec<(String, bool)> =
        operands.map(|w| (w.text.clone(), w.dynamic)).collect();
    if statements.is_empty() {
        if let Some(text) = call.run.stdin.text.clone() {
            statements.push((text, false));
        } else if call.run.stdin.piped {
            statements.push((String::new(), true));
        }
    }
    let interactive = statements.is_empty();
    run_statements(call, &url, &statements, interactive);
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::programs::tests::{effects_of, is_opaque};

    #[test]
    fn postgres_tools() {
        let e = effects_of("dropdb -h db.prod.internal production");
        assert!(
            e.iter()
                .any(|e| e.operation == preflight_core::Operation::Delete
                    && e.environment.as_deref() == Some("prod")),
            "{e:?}"
        );
        let e = effects_of("pg_dump production -f /home/alice/backup.sql");
        assert!(
            e.iter()
                .any(|e| e.resource == "file:///home/alice/backup.sql"),
            "{e:?}"
        );
    }

    #[test]
    fn clients() {
        let e = effects_of("psql -h db.prod.internal -c 'DROP TABLE users'");
        assert!(
            e.iter()
                .any(|e| e.operation == preflight_core::Operation::Delete
                    && e.environment.as_deref() == Some("prod")),
            "{e:?}"
        );
        let e = effects_of("psql -h db.prod.internal -c '\\! rm -rf /'");
        assert!(
            e.iter()
                .any(|e| e.opaque && e.resource.starts_with("sql://")),
            "{e:?}"
        );
        let e = effects_of("psql --frob");
        assert!(is_opaque(&e, "cmd://psql"), "{e:?}");
    }
}
