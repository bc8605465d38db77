//! SQL: every statement of a string, parsed with `sqlparser` in the dialect of the connection
//! URL's scheme.

use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::panic::{AssertUnwindSafe, catch_unwind};

use preflight_core::{Effect, Inspection, Operation};
use sqlparser::ast::{
    BinaryOperator, Expr, FromTable, ObjectName, Query, SetExpr, Statement, TableFactor,
    TableObject, UnaryOperator, Value, Visit, Visitor, visit_expressions, visit_relations,
    visit_statements,
};
use sqlparser::dialect::{
    BigQueryDialect, ClickHouseDialect, Dialect, DuckDbDialect, GenericDialect, MsSqlDialect,
    MySqlDialect, PostgreSqlDialect, RedshiftSqlDialect, SQLiteDialect, SnowflakeDialect,
};
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use crate::effects::{attr, clip, opaque, tag};
use crate::{Environments, derive_blast_radius};

/// The dialect for a connection URL's scheme; generic when unknown.
fn dialect(url: &str) -> Box<dyn Dialect> {
    let scheme = url.split("://").next().unwrap_or("").to_ascii_lowercase();
    let scheme = scheme.split('+').next().unwrap_or("");
    match scheme {
        "postgres" | "postgresql" | "pg" | "cockroachdb" => Box::new(PostgreSqlDialect {}),
        "mysql" | "mariadb" => Box::new(MySqlDialect {}),
        "sqlite" | "sqlite3" | "file" => Box::new(SQLiteDialect {}),
        "mssql" | "sqlserver" => Box::new(MsSqlDialect {}),
        "snowflake" => Box::new(SnowflakeDialect {}),
        "bigquery" => Box::new(BigQueryDialect {}),
        "clickhouse" => Box::new(ClickHouseDialect {}),
        "duckdb" => Box::new(DuckDbDialect {}),
        "redshift" => Box::new(RedshiftSqlDialect {}),
        _ => Box::new(GenericDialect {}),
    }
}

/// The `sql://<host>/<database>/<table>` resource of `table` (`*` when unknown) on the
/// database of `url`, and the environment of its host. An unknown host or database is `_`.
pub fn sql_target(url: &str, table: Option<&str>, envs: &Environments) -> (String, Option<String>) {
    let (host, database) = match url::Url::parse(url) {
        Ok(parsed) => {
            let host = parsed
                .host_str()
                .filter(|h| !h.is_empty())
                .unwrap_or("_")
                .to_ascii_lowercase();
            let path = parsed.path().trim_start_matches('/');
            let database = if path.is_empty() {
                "_".to_string()
            } else {
                path.to_string()
            };
            (host, database)
        }
        Err(_) => ("_".to_string(), "_".to_string()),
    };
    let environment = envs.of_db_host(&host);
    (
        format!("sql://{host}/{database}/{}", table.unwrap_or("*")),
        environment,
    )
}

/// The table name of an object name: its last part, unquoted and lowercased.
fn table_name(name: &ObjectName) -> String {
    let text = name.to_string();
    let last = text.rsplit('.').next().unwrap_or(&text);
    last.trim_matches(|c| c == '"' || c == '`' || c == '[' || c == ']')
        .to_ascii_lowercase()
}

/// The deepest SQL analysed: a bound on how far the parser could nest its syntax tree, which
/// is walked, printed and dropped recursively. Deeper SQL is opaque.
pub(crate) const MAX_SQL_DEPTH: usize = 1000;

/// Inspects a SQL string against the database of `url`. One effect per table a statement
/// touches; `SELECT` → read, `INSERT` → create, `UPDATE` → update, `DELETE` → delete,
/// `DROP`/`TRUNCATE` → delete (tag `ddl`), `ALTER` → update (`ddl`), `CREATE` → create
/// (`ddl`), `GRANT`/`REVOKE` → permission change. `UPDATE`/`DELETE` without `WHERE` or with
/// a tautology, and `TRUNCATE`, are unbounded. DML inside CTEs counts. A string that does not
/// parse, or whose syntax tree could nest deeper than 1 000 levels, is one opaque effect on
/// `sql://<host>/<db>/*`.
pub fn inspect_sql(url: &str, text: &str, envs: &Environments) -> Inspection {
    let dialect = dialect(url);
    let mut notes = Vec::new();
    let mut effects = Vec::new();
    let parsed = catch_unwind(AssertUnwindSafe(|| parse(dialect.as_ref(), text)))
        .unwrap_or_else(|_| Err("SQL parse error: the SQL parser failed".into()));
    match parsed {
        Ok(statements) => {
            for statement in &statements {
                statement_effects(statement, url, envs, &mut effects, &mut notes);
            }
            if statements.is_empty() {
                notes.push("empty SQL".into());
            }
        }
        Err(note) => {
            notes.push(note);
            let (resource, environment) = sql_target(url, None, envs);
            let mut effect = opaque(Operation::Execute, resource);
            effect.environment = environment;
            effect.evidence = Some(clip(text));
            effects.push(effect);
        }
    }
    Inspection {
        blast_radius: derive_blast_radius(&effects),
        effects,
        notes,
    }
}

/// Parses `text`, unless its tokens could nest deeper than [`MAX_SQL_DEPTH`]: the parser
/// bounds its own recursion, but builds chains (`a OR b OR …`, `… UNION …`, `INT[][]…`) in
/// a loop, as deep as they are long. The error is the note to give.
fn parse(dialect: &dyn Dialect, text: &str) -> Result<Vec<Statement>, String> {
    let parse_error = |error: ParserError| format!("SQL parse error: {error}");
    let tokens = Tokenizer::new(dialect, text)
        .tokenize_with_location()
        .map_err(|e| parse_error(e.into()))?;
    if nesting_bound(&tokens) > MAX_SQL_DEPTH {
        return Err(format!(
            "SQL too deeply nested: more than {MAX_SQL_DEPTH} levels are not analysed"
        ));
    }
    Parser::new(dialect)
        .with_tokens_with_locations(tokens)
        .parse_statements()
        .map_err(parse_error)
}

/// An upper bound on the depth of the syntax tree the parser could build from `tokens`,
/// computed without recursion; it stops counting past [`MAX_SQL_DEPTH`].
///
/// Every level of a tree the parser builds consumes at least one token, and a chain of
/// operators ends at a comma or a semicolon outside brackets, so the bound is, summed over the
/// open brackets, the tokens since the last comma of each. Chains that do span commas are
/// counted whole: set operations (`SELECT a, b UNION SELECT a, b …`), and anything after a
/// `<` (type parameters, `STRUCT<a INT, b INT>`). An opening bracket counts as four tokens:
/// a bracketed level (`INT[][]…`) takes more stack to walk than an operator.
fn nesting_bound(tokens: &[TokenWithSpan]) -> usize {
    const BRACKET_COST: usize = 4;
    #[derive(Default)]
    struct Level {
        /// The bound of the enclosing levels where this one opened.
        base: usize,
        /// Tokens since the last comma.
        run: usize,
        /// Set operations.
        set_operations: usize,
        /// A `<` was seen: commas no longer end a chain.
        angle: bool,
    }
    let mut levels = vec![Level::default()];
    let mut deepest = 0;
    for token in tokens {
        let token = &token.token;
        if matches!(token, Token::Whitespace(_)) {
            continue;
        }
        if matches!(token, Token::RParen | Token::RBracket | Token::RBrace) && levels.len() > 1 {
            levels.pop();
        }
        let Some(level) = levels.last_mut() else {
            break;
        };
        match token {
            Token::SemiColon => {
                *level = Level {
                    base: level.base,
                    ..Level::default()
                }
            }
            Token::Comma if !level.angle => level.run = 0,
            Token::Lt | Token::ShiftLeft => {
                level.angle = true;
                level.run += 1;
            }
            Token::Word(word)
                if matches!(
                    word.keyword,
                    Keyword::UNION | Keyword::EXCEPT | Keyword::INTERSECT | Keyword::MINUS
                ) =>
            {
                level.set_operations += 1;
                level.run += 1;
            }
            Token::LParen | Token::LBracket | Token::LBrace => level.run += BRACKET_COST,
            _ => level.run += 1,
        }
        let depth = level.base + level.run + level.set_operations;
        deepest = deepest.max(depth);
        if deepest > MAX_SQL_DEPTH {
            break;
        }
        if matches!(token, Token::LParen | Token::LBracket | Token::LBrace) {
            levels.push(Level {
                base: depth,
                ..Level::default()
            });
        }
    }
    deepest
}

struct Emit<'a> {
    url: &'a str,
    envs: &'a Environments,
    evidence: String,
}

impl Emit<'_> {
    fn effect(&self, operation: Operation, table: Option<&str>, statement: &str) -> Effect {
        let (resource, environment) = sql_target(self.url, table, self.envs);
        let mut effect = Effect::new(operation, resource);
        effect.environment = environment;
        attr(&mut effect, "statement", statement);
        effect.evidence = Some(self.evidence.clone());
        effect
    }
}

fn statement_effects(
    top: &Statement,
    url: &str,
    envs: &Environments,
    effects: &mut Vec<Effect>,
    notes: &mut Vec<String>,
) {
    let emit = Emit {
        url,
        envs,
        evidence: clip(&top.to_string()),
    };
    // `EXPLAIN` without `ANALYZE` runs nothing; `EXPLAIN (ANALYZE)` runs the statement.
    if let Statement::Explain {
        analyze: false,
        statement,
        options,
        ..
    } = top
        && !options.iter().flatten().any(|o| {
            o.name.value.eq_ignore_ascii_case("analyze")
                && !o.arg.as_ref().is_some_and(|a| {
                    let a = a.to_string().to_ascii_lowercase();
                    a == "false" || a == "off" || a == "0"
                })
        })
    {
        let mut tables = BTreeSet::new();
        let _ = visit_relations(statement.as_ref(), |r| {
            tables.insert(table_name(r));
            ControlFlow::<()>::Continue(())
        });
        for table in tables {
            effects.push(emit.effect(Operation::Read, Some(&table), "explain"));
        }
        return;
    }
    // Functions may act: `pg_terminate_backend`, `lo_import`, `set_config`, `nextval`. Only
    // those known to compute a value leave a query a read.
    let mut acting: BTreeSet<String> = BTreeSet::new();
    let _ = visit_expressions(top, |expr| {
        if let Expr::Function(function) = expr {
            let name = function.name.to_string().to_ascii_lowercase();
            let bare = name.rsplit('.').next().unwrap_or(&name).trim_matches('"');
            if !PURE_FUNCTIONS.contains(&bare) {
                acting.insert(name);
            }
        }
        ControlFlow::<()>::Continue(())
    });
    for name in acting {
        let mut effect = emit.effect(Operation::Execute, None, "function");
        effect.opaque = true;
        attr(&mut effect, "function", name);
        effects.push(effect);
    }
    let mut written: BTreeSet<String> = BTreeSet::new();
    let mut own: Vec<Effect> = Vec::new();
    // `SELECT … INTO new_table` creates a table.
    let mut into = IntoTargets::default();
    let _ = top.visit(&mut into);
    for table in into.0 {
        written.insert(table.clone());
        let mut effect = emit.effect(Operation::Create, Some(&table), "select_into");
        tag(&mut effect, "ddl");
        own.push(effect);
    }
    let _ = visit_statements(top, |statement| {
        classify(statement, &emit, &mut own, &mut written, notes);
        ControlFlow::<()>::Continue(())
    });
    let mut read: BTreeSet<String> = BTreeSet::new();
    let _ = visit_relations(top, |r| {
        let name = table_name(r);
        if !written.contains(&name) {
            read.insert(name);
        }
        ControlFlow::<()>::Continue(())
    });
    let reads_anything = matches!(top, Statement::Query(_));
    for table in &read {
        effects.push(emit.effect(Operation::Read, Some(table), "select"));
    }
    if read.is_empty() && own.is_empty() && reads_anything {
        effects.push(emit.effect(Operation::Read, None, "select"));
    }
    effects.extend(own);
}

/// Functions that only compute a value from their arguments (and the clock).
const PURE_FUNCTIONS: &[&str] = &[
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "coalesce",
    "nullif",
    "greatest",
    "least",
    "lower",
    "upper",
    "length",
    "char_length",
    "character_length",
    "octet_length",
    "substring",
    "substr",
    "trim",
    "ltrim",
    "rtrim",
    "btrim",
    "concat",
    "concat_ws",
    "replace",
    "position",
    "strpos",
    "left",
    "right",
    "lpad",
    "rpad",
    "split_part",
    "regexp_replace",
    "regexp_matches",
    "to_char",
    "to_date",
    "to_timestamp",
    "to_number",
    "date_trunc",
    "date_part",
    "extract",
    "now",
    "current_date",
    "current_timestamp",
    "localtimestamp",
    "age",
    "abs",
    "round",
    "ceil",
    "ceiling",
    "floor",
    "trunc",
    "mod",
    "power",
    "sqrt",
    "exp",
    "ln",
    "log",
    "random",
    "cast",
    "array_agg",
    "string_agg",
    "json_agg",
    "jsonb_agg",
    "json_build_object",
    "jsonb_build_object",
    "row_number",
    "rank",
    "dense_rank",
    "lag",
    "lead",
    "first_value",
    "last_value",
    "bool_and",
    "bool_or",
    "every",
    "ifnull",
    "iif",
    "datetime",
    "date",
    "time",
    "strftime",
    "julianday",
    "typeof",
    "instr",
    "printf",
    "format",
    "md5",
    "encode",
    "decode",
    "generate_series",
    "unnest",
    "exists",
    "any",
    "all",
    "array_length",
    "cardinality",
    "stddev",
    "variance",
    "percentile_cont",
    "percentile_disc",
    "mode",
    "group_concat",
    "date_format",
    "str_to_date",
    "unix_timestamp",
    "from_unixtime",
    "if",
    "isnull",
    "version",
    "current_user",
    "session_user",
    "current_schema",
    "current_database",
];

/// The tables `SELECT … INTO` creates.
#[derive(Default)]
struct IntoTargets(Vec<String>);

impl Visitor for IntoTargets {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if let SetExpr::Select(select) = query.body.as_ref() {
            if let Some(into) = &select.into {
                for target in &into.targets {
                    self.0.push(
                        target
                            .to_string()
                            .to_ascii_lowercase()
                            .trim_matches('"')
                            .to_string(),
                    );
                }
            }
        }
        ControlFlow::Continue(())
    }
}

fn classify(
    statement: &Statement,
    emit: &Emit<'_>,
    out: &mut Vec<Effect>,
    written: &mut BTreeSet<String>,
    notes: &mut Vec<String>,
) {
    let mut push =
        |operation: Operation, table: Option<String>, kind: &str, ddl: bool, unbounded: bool| {
            if let Some(t) = &table {
                written.insert(t.clone());
            }
            let mut effect = emit.effect(operation, table.as_deref(), kind);
            if ddl {
                tag(&mut effect, "ddl");
            }
            effect.unbounded = unbounded;
            out.push(effect);
        };
    match statement {
        Statement::Query(_) => {}
        Statement::Insert(insert) => {
            let table = match &insert.table {
                TableObject::TableName(name) => Some(table_name(name)),
                _ => None,
            };
            push(Operation::Create, table, "insert", false, false);
        }
        Statement::Update(update) => {
            let unbounded = is_unbounded(update.selection.as_ref());
            let table = match &update.table.relation {
                TableFactor::Table { name, .. } => Some(table_name(name)),
                _ => None,
            };
            push(Operation::Update, table, "update", false, unbounded);
        }
        Statement::Delete(delete) => {
            let unbounded = is_unbounded(delete.selection.as_ref());
            let mut tables: Vec<String> = delete.tables.iter().map(table_name).collect();
            if tables.is_empty() {
                let from = match &delete.from {
                    FromTable::WithFromKeyword(t) | FromTable::WithoutKeyword(t) => t,
                };
                for item in from {
                    if let TableFactor::Table { name, .. } = &item.relation {
                        tables.push(table_name(name));
                    }
                }
            }
            if tables.is_empty() {
                push(Operation::Delete, None, "delete", false, unbounded);
            }
            for table in tables {
                push(Operation::Delete, Some(table), "delete", false, unbounded);
            }
        }
        Statement::Merge(merge) => {
            let table = match &merge.table {
                TableFactor::Table { name, .. } => Some(table_name(name)),
                _ => None,
            };
            push(Operation::Update, table, "merge", false, false);
        }
        Statement::Truncate(truncate) => {
            for target in &truncate.table_names {
                push(
                    Operation::Delete,
                    Some(table_name(&target.name)),
                    "truncate",
                    true,
                    true,
                );
            }
        }
        Statement::Drop {
            object_type, names, ..
        } => {
            let kind = object_type.to_string().to_ascii_lowercase();
            let whole = matches!(kind.as_str(), "schema" | "database");
            for name in names {
                let table = if whole { None } else { Some(table_name(name)) };
                let mut effect_kind = String::from("drop");
                if !kind.is_empty() {
                    effect_kind = format!("drop_{}", kind.replace(' ', "_"));
                }
                push(Operation::Delete, table, &effect_kind, true, whole);
            }
        }
        Statement::AlterTable(alter) => {
            push(
                Operation::Update,
                Some(table_name(&alter.name)),
                "alter",
                true,
                false,
            );
        }
        Statement::CreateTable(create) => {
            push(
                Operation::Create,
                Some(table_name(&create.name)),
                "create",
                true,
                false,
            );
        }
        Statement::Explain { .. } => {}
        other => {
            let text = other.to_string();
            let keyword = text
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_uppercase();
            match keyword.as_str() {
                "CREATE" => push(Operation::Create, None, "create", true, false),
                "ALTER" => push(Operation::Update, None, "alter", true, false),
                "DROP" => push(Operation::Delete, None, "drop", true, true),
                "GRANT" | "REVOKE" => push(
                    Operation::PermissionChange,
                    None,
                    &keyword.to_ascii_lowercase(),
                    false,
                    false,
                ),
                "SET" | "SHOW" | "BEGIN" | "START" | "COMMIT" | "ROLLBACK" | "SAVEPOINT"
                | "RELEASE" | "USE" | "DESCRIBE" | "DESC" | "PREPARE" | "DEALLOCATE" | "LISTEN"
                | "UNLISTEN" | "NOTIFY" | "DISCARD" | "RESET" | "FETCH" | "CLOSE" | "ANALYZE"
                | "VACUUM" => {}
                _ => {
                    notes.push(format!("SQL statement not analysed: {}", clip(&text)));
                    let (resource, environment) = sql_target(emit.url, None, emit.envs);
                    let mut effect = opaque(Operation::Execute, resource);
                    effect.environment = environment;
                    attr(&mut effect, "statement", keyword.to_ascii_lowercase());
                    effect.evidence = Some(emit.evidence.clone());
                    out.push(effect);
                }
            }
        }
    }
}

/// A `WHERE` that bounds nothing: absent, or always true.
fn is_unbounded(selection: Option<&Expr>) -> bool {
    match selection {
        None => true,
        Some(expr) => constant(expr) == Some(Const::Bool(true)),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Const {
    Bool(bool),
    Number(f64),
    Text(String),
    Null,
}

/// Evaluates an expression that does not depend on any row; `None` when it does.
fn constant(expr: &Expr) -> Option<Const> {
    match expr {
        Expr::Nested(inner) => constant(inner),
        Expr::Value(value) => match &value.value {
            Value::Boolean(b) => Some(Const::Bool(*b)),
            Value::Number(n, _) => n.parse().ok().map(Const::Number),
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => {
                Some(Const::Text(s.clone()))
            }
            Value::Null => Some(Const::Null),
            _ => None,
        },
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr,
        } => match constant(expr)? {
            Const::Bool(b) => Some(Const::Bool(!b)),
            _ => None,
        },
        Expr::IsNull(inner) => constant(inner).map(|c| Const::Bool(c == Const::Null)),
        Expr::IsNotNull(inner) => {
            // A column compared with itself is not constant, but a literal is.
            constant(inner).map(|c| Const::Bool(c != Const::Null))
        }
        Expr::IsTrue(inner) => constant(inner).map(|c| Const::Bool(truthy(&c))),
        Expr::BinaryOp { left, op, right } => {
            match op {
                BinaryOperator::Or => {
                    let l = constant(left);
                    let r = constant(right);
                    if l.as_ref().is_some_and(truthy) || r.as_ref().is_some_and(truthy) {
                        return Some(Const::Bool(true));
                    }
                    match (l, r) {
                        (Some(a), Some(b)) => Some(Const::Bool(truthy(&a) || truthy(&b))),
                        _ => None,
                    }
                }
                BinaryOperator::And => {
                    let (a, b) = (constant(left)?, constant(right)?);
                    Some(Const::Bool(truthy(&a) && truthy(&b)))
                }
                BinaryOperator::Eq
                | BinaryOperator::NotEq
                | BinaryOperator::Lt
                | BinaryOperator::LtEq
                | BinaryOperator::Gt
                | BinaryOperator::GtEq => {
                    // `col = col` holds for every non-null row.
                    if is_plain_column(left) && left == right {
                        return Some(Const::Bool(matches!(
                            op,
                            BinaryOperator::Eq | BinaryOperator::LtEq | BinaryOperator::GtEq
                        )));
                    }
                    let (a, b) = (constant(left)?, constant(right)?);
                    let ordering = match (&a, &b) {
                        (Const::Number(x), Const::Number(y)) => x.partial_cmp(y)?,
                        (Const::Text(x), Const::Text(y)) => x.cmp(y),
                        (Const::Bool(x), Const::Bool(y)) => x.cmp(y),
                        (Const::Number(x), Const::Text(y)) | (Const::Text(y), Const::Number(x)) => {
                            let y: f64 = y.parse().ok()?;
                            x.partial_cmp(&y)?
                        }
                        _ => return None,
                    };
                    use std::cmp::Ordering::*;
                    Some(Const::Bool(match op {
                        BinaryOperator::Eq => ordering == Equal,
                        BinaryOperator::NotEq => ordering != Equal,
                        BinaryOperator::Lt => ordering == Less,
                        BinaryOperator::LtEq => ordering != Greater,
                        BinaryOperator::Gt => ordering == Greater,
                        _ => ordering != Less,
                    }))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

fn is_plain_column(expr: &Expr) -> bool {
    matches!(expr, Expr::Identifier(_) | Expr::CompoundIdentifier(_))
}

fn truthy(value: &Const) -> bool {
    match value {
        Const::Bool(b) => *b,
        Const::Number(n) => *n != 0.0,
        Const::Text(t) => t.parse::<f64>().is_ok_and(|n| n != 0.0),
        Const::Null => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "postgres://app@db.prod.internal/app";

    fn inspect(sql: &str) -> Inspection {
        inspect_sql(URL, sql, &Environments::default())
    }

    /// One opaque effect on the whole database, with a note: never an allow.
    fn assert_opaque(inspection: &Inspection, note: &str) {
        assert_eq!(inspection.effects.len(), 1, "{:?}", inspection.effects);
        assert!(inspection.is_opaque());
        assert_eq!(
            inspection.effects[0].resource,
            "sql://db.prod.internal/app/*"
        );
        assert!(
            inspection.notes.iter().any(|n| n.starts_with(note)),
            "{:?}",
            inspection.notes
        );
    }

    fn repeat(head: &str, unit: &str, count: usize, tail: &str) -> String {
        let mut text = String::from(head);
        for _ in 0..count {
            text.push_str(unit);
        }
        text.push_str(tail);
        text
    }

    // Found by fuzzing: chains the parser builds in a loop overflowed the stack of whatever
    // walked them next (the tautology check, printing, dropping), aborting the process.
    #[test]
    fn deep_nesting_is_opaque_not_a_crash() {
        let deep = [
            repeat("SELECT ", "(", 100_000, "1") + &")".repeat(100_000),
            repeat("DELETE FROM t WHERE 1=1", " OR 1=1", 100_000, ""),
            repeat("DELETE FROM t WHERE 1=1", " OR 1=1", 100_000, " OR"),
            repeat("SELECT 1", " UNION SELECT 1, 2", 60_000, ""),
            repeat("CREATE TABLE t (a INT", "[]", 60_000, ")"),
            repeat("SELECT x", "[1]", 60_000, ""),
            repeat("SELECT 1", "+1", 100_000, ""),
            repeat("SELECT * FROM t WHERE ", "NOT ", 100_000, "true"),
        ];
        for sql in &deep {
            assert_opaque(&inspect(sql), "SQL too deeply nested");
        }
    }

    #[test]
    fn the_deepest_sql_analysed_does_not_overflow_a_small_stack() {
        let shapes = [
            repeat(
                "DELETE FROM t WHERE 1=1",
                " OR 1=1",
                MAX_SQL_DEPTH / 4 - 2,
                "",
            ),
            repeat("SELECT 1", " UNION SELECT 1", MAX_SQL_DEPTH / 4 - 1, ""),
            repeat("CREATE TABLE t (a INT", "[]", MAX_SQL_DEPTH / 5 - 4, ")"),
            repeat("SELECT 1", "+1", MAX_SQL_DEPTH / 2 - 1, ""),
            repeat("SELECT 1", "::int", MAX_SQL_DEPTH / 2 - 1, ""),
            repeat("SELECT x", "[1]", MAX_SQL_DEPTH / 6 - 1, ""),
            repeat("SELECT x", " -> 'a'", MAX_SQL_DEPTH / 2 - 1, ""),
            repeat("SELECT x", " IS NULL", MAX_SQL_DEPTH / 2 - 1, ""),
            repeat("SELECT x", " AT TIME ZONE 'UTC'", MAX_SQL_DEPTH / 4 - 1, ""),
            repeat("SELECT x::int", "[]", MAX_SQL_DEPTH / 5 - 2, ""),
            repeat(
                "UPDATE t SET a = 1 WHERE a = 1",
                " AND a = 1",
                MAX_SQL_DEPTH / 4 - 3,
                "",
            ),
            repeat("SELECT x", ".f()", MAX_SQL_DEPTH / 12 - 1, ""),
        ];
        for sql in shapes {
            // The stack of a Tokio worker thread. An unoptimised build needs up to about 1 MiB
            // for the deepest of these (an array type 196 levels deep).
            let inspection = std::thread::Builder::new()
                .stack_size(2 * 1024 * 1024)
                .spawn(move || inspect(&sql))
                .map(|handle| handle.join());
            let Ok(Ok(inspection)) = inspection else {
                panic!("inspection failed");
            };
            // Analysed, not refused for its depth (a call of an unknown function, `.f()`, is
            // opaque for what the function may do).
            assert!(
                !inspection.notes.iter().any(|n| n.contains("nested")),
                "{:?}",
                inspection.notes
            );
        }
    }

    #[test]
    fn long_lists_are_not_deep() {
        let ids: Vec<String> = (0..50_000).map(|i| i.to_string()).collect();
        let select = format!("SELECT * FROM t WHERE id IN ({})", ids.join(", "));
        let rows: Vec<String> = (0..10_000).map(|i| format!("({i}, 'x', {i})")).collect();
        let insert = format!("INSERT INTO t VALUES {}", rows.join(", "));
        let columns: Vec<String> = (0..5_000).map(|i| format!("c{i}")).collect();
        let wide = format!("SELECT {} FROM t", columns.join(", "));
        for sql in [select, insert, wide] {
            let inspection = inspect(&sql);
            assert!(!inspection.is_opaque(), "{:?}", inspection.notes);
            assert!(inspection.notes.is_empty(), "{:?}", inspection.notes);
        }
    }

    #[test]
    fn the_bound_counts_chains_across_commas() {
        let bound = |sql: &str| {
            let dialect = PostgreSqlDialect {};
            let tokens = Tokenizer::new(&dialect, sql)
                .tokenize_with_location()
                .unwrap_or_default();
            nesting_bound(&tokens)
        };
        assert!(bound("SELECT a, b, c FROM t") <= 5);
        assert!(bound("SELECT (1), (2), (3)") <= 8);
        // Set operations and type parameters span commas.
        assert!(bound(&repeat("SELECT 1", " UNION SELECT a, b", 100, "")) >= 100);
        assert!(
            bound(&repeat(
                "SELECT 1",
                " + CAST(x AS STRUCT<a INT, b INT>)",
                100,
                ""
            )) >= 100
        );
        assert!(bound(&repeat("SELECT a", ", a", 10_000, "")) <= 3);
    }
}
