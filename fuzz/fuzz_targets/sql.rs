#![no_main]
//! SQL inspection must never panic, for any dialect, and keeps its documented contract:
//!
//! - a string it cannot parse, or nested too deeply to analyse, is one opaque effect, with a
//!   note;
//! - every effect names the database of the URL and carries the URL host's environment;
//! - a statement that writes (`INSERT`, `UPDATE`, `DELETE`, `MERGE`, `TRUNCATE`, `DROP`,
//!   `ALTER TABLE`, `CREATE TABLE`, `GRANT`, `REVOKE`) never yields only reads;
//! - `UPDATE` or `DELETE` without `WHERE`, and `TRUNCATE`, are unbounded.
//!
//! The first byte picks the connection URL (byte % 5), the rest is the SQL.

use libfuzzer_sys::fuzz_target;
use preflight_inspect::{EnvironmentMarkers, Environments, inspect_sql, sql_target};
use sqlparser::ast::Statement;
use sqlparser::dialect::{
    Dialect, GenericDialect, MsSqlDialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect,
};
use sqlparser::parser::Parser;

const URLS: [&str; 5] = [
    "postgres://app@db.prod.internal/app",
    "mysql://db/app",
    "sqlite:///data/app.db",
    "mssql://db/app",
    "unknown://db/app",
];

/// The dialect `inspect_sql` picks for `URLS[index]`.
fn dialect(index: usize) -> Box<dyn Dialect> {
    match index {
        0 => Box::new(PostgreSqlDialect {}),
        1 => Box::new(MySqlDialect {}),
        2 => Box::new(SQLiteDialect {}),
        3 => Box::new(MsSqlDialect {}),
        _ => Box::new(GenericDialect {}),
    }
}

fn writes(statement: &Statement) -> bool {
    matches!(
        statement,
        Statement::Insert(_)
            | Statement::Update(_)
            | Statement::Delete(_)
            | Statement::Merge(_)
            | Statement::Truncate(_)
            | Statement::Drop { .. }
            | Statement::AlterTable(_)
            | Statement::CreateTable(_)
            | Statement::Grant(_)
            | Statement::Revoke(_)
    )
}

fn unbounded(statement: &Statement) -> bool {
    match statement {
        Statement::Update(update) => update.selection.is_none(),
        Statement::Delete(delete) => delete.selection.is_none(),
        Statement::Truncate(_) => true,
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(sql) = std::str::from_utf8(rest) else {
        return;
    };
    let index = usize::from(selector) % URLS.len();
    let url = URLS[index];
    let envs = Environments::from_markers([(
        "prod",
        EnvironmentMarkers {
            db_hosts: vec!["db.prod.internal".into()],
            ..EnvironmentMarkers::default()
        },
    )]);
    let inspection = inspect_sql(url, sql, &envs);

    let (any_table, environment) = sql_target(url, None, &envs);
    let database = any_table.trim_end_matches('*');
    for effect in &inspection.effects {
        assert!(
            effect.resource.starts_with(database),
            "{} is not on {database}",
            effect.resource
        );
        assert_eq!(effect.environment, environment, "{}", effect.resource);
    }

    let unparsed = inspection
        .notes
        .iter()
        .any(|n| n.starts_with("SQL parse error") || n.starts_with("SQL too deeply nested"));
    if unparsed {
        assert_eq!(inspection.effects.len(), 1, "{:?}", inspection.effects);
        assert!(inspection.is_opaque());
        return;
    }
    // It parsed inside `inspect_sql`, so it parses here: check what each statement yields.
    let Ok(statements) = Parser::parse_sql(dialect(index).as_ref(), sql) else {
        panic!("inspect_sql parsed what sqlparser rejects");
    };
    if statements.iter().any(writes) {
        assert!(
            inspection.is_mutating(),
            "a writing statement yields only reads: {:?}",
            inspection.effects
        );
    }
    if statements.iter().any(unbounded) {
        assert!(
            inspection.blast_radius.unbounded,
            "an unbounded write is bounded: {:?}",
            inspection.effects
        );
    }
});
