//! CEL conditions: compiled once (at load, or for the shipped packs when first needed),
//! evaluated against an action and one effect.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::OnceLock;

use cel::common::ast::{EntryExpr, Expr};
use cel::common::value::CelVal;
use cel::parser::Expression;
use cel::{Context, ParseErrors, Program, Value};
use preflight_core::{Action, Effect};
use serde::Serialize;

/// The longest condition compiled, in bytes: the CEL parser's time and memory grow quickly
/// with its input (a 200 KB condition took it minutes, a 1.5 MB one more than 2 GB).
pub(crate) const MAX_CONDITION_BYTES: usize = 4096;
/// The most brackets nested in a condition. The CEL parser recurses through eight grammar
/// rules per bracket, with large stack frames, and its time grows quickly with the depth.
pub(crate) const MAX_CONDITION_BRACKETS: usize = 8;
/// The most conditional operators (`a ? b : c`) in a condition: the parser recurses on each.
pub(crate) const MAX_CONDITION_CONDITIONALS: usize = 16;
/// The deepest parsed condition, which the interpreter walks recursively (`1 + 1 + …` is as
/// deep as it is long).
pub(crate) const MAX_CONDITION_DEPTH: usize = 32;

/// A CEL condition, compiled.
#[derive(Debug)]
pub(crate) struct Condition {
    source: Box<str>,
    /// Set at load, or on first use for a deferred condition; an error is kept and every
    /// evaluation then fails (which counts as a match for deny and escalate rules).
    compiled: OnceLock<Result<Compiled, String>>,
}

#[derive(Debug)]
struct Compiled {
    program: Program,
    /// A native evaluation of the common shape `input.a.b <op> number` (and `&&` of such),
    /// used when the input's value has the literal's type; the interpreter otherwise.
    fast: Option<Fast>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Cmp {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "_<_" => Cmp::Lt,
            "_<=_" => Cmp::Le,
            "_>_" => Cmp::Gt,
            "_>=_" => Cmp::Ge,
            "_==_" => Cmp::Eq,
            "_!=_" => Cmp::Ne,
            _ => return None,
        })
    }

    fn flip(self) -> Self {
        match self {
            Cmp::Lt => Cmp::Gt,
            Cmp::Le => Cmp::Ge,
            Cmp::Gt => Cmp::Lt,
            Cmp::Ge => Cmp::Le,
            other => other,
        }
    }

    fn apply<T: PartialOrd>(self, a: T, b: T) -> bool {
        match self {
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
            Cmp::Gt => a > b,
            Cmp::Ge => a >= b,
            Cmp::Eq => a == b,
            Cmp::Ne => a != b,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Literal {
    Int(i128),
    Float(f64),
}

#[derive(Debug)]
enum Fast {
    Compare {
        path: Vec<String>,
        cmp: Cmp,
        literal: Literal,
    },
    And(Box<Fast>, Box<Fast>),
}

fn literal(expr: &Expression) -> Option<Literal> {
    match &expr.expr {
        Expr::Literal(CelVal::Int(i)) => Some(Literal::Int(i128::from(*i))),
        Expr::Literal(CelVal::UInt(u)) => Some(Literal::Int(i128::from(*u))),
        Expr::Literal(CelVal::Double(f)) => Some(Literal::Float(*f)),
        _ => None,
    }
}

fn input_path(expr: &Expression) -> Option<Vec<String>> {
    match &expr.expr {
        Expr::Select(select) if !select.test => {
            let mut path = match &select.operand.expr {
                Expr::Ident(name) if name == "input" => Vec::new(),
                _ => input_path(&select.operand)?,
            };
            path.push(select.field.clone());
            Some(path)
        }
        _ => None,
    }
}

fn fast(expr: &Expression) -> Option<Fast> {
    let Expr::Call(call) = &expr.expr else {
        return None;
    };
    if call.target.is_some() || call.args.len() != 2 {
        return None;
    }
    let (a, b) = (call.args.first()?, call.args.get(1)?);
    if call.func_name == "_&&_" {
        return Some(Fast::And(Box::new(fast(a)?), Box::new(fast(b)?)));
    }
    let cmp = Cmp::parse(&call.func_name)?;
    if let (Some(path), Some(literal)) = (input_path(a), literal(b)) {
        return Some(Fast::Compare { path, cmp, literal });
    }
    let (path, literal) = (input_path(b)?, literal(a)?);
    Some(Fast::Compare {
        path,
        cmp: cmp.flip(),
        literal,
    })
}

impl Fast {
    /// `None` when the input does not have the shape the fast path handles exactly.
    fn evaluate(&self, input: &serde_json::Value) -> Option<Result<bool, String>> {
        match self {
            Fast::Compare { path, cmp, literal } => {
                let mut value = input;
                for key in path {
                    value = match value.as_object() {
                        Some(object) => match object.get(key) {
                            Some(v) => v,
                            None => {
                                return Some(Err(format!("condition failed: no such key: {key}")));
                            }
                        },
                        None => return None,
                    };
                }
                let number = value.as_number()?;
                match literal {
                    Literal::Int(l) => {
                        let v = number
                            .as_i64()
                            .map(i128::from)
                            .or_else(|| number.as_u64().map(i128::from))?;
                        Some(Ok(cmp.apply(v, *l)))
                    }
                    Literal::Float(l) => {
                        if number.is_f64() {
                            Some(Ok(cmp.apply(number.as_f64()?, *l)))
                        } else {
                            None
                        }
                    }
                }
            }
            Fast::And(a, b) => {
                // As the interpreter does: left to right, an error on the left propagates.
                match a.evaluate(input)? {
                    Ok(true) => b.evaluate(input),
                    other => Some(other),
                }
            }
        }
    }
}

impl Condition {
    /// Compiles `source`; a parse error (or a panic inside the parser), or a condition past
    /// one of the limits above (length, brackets, conditional operators, depth), is an error.
    pub(crate) fn compile(source: &str) -> Result<Self, String> {
        let compiled = Compiled::new(source)?;
        Ok(Self {
            source: source.into(),
            compiled: OnceLock::from(Ok(compiled)),
        })
    }

    /// A condition compiled when it is first evaluated: only for the shipped packs, whose
    /// conditions their tests compile. The CEL parser's first use costs more than a hook's
    /// whole decision, and most decisions never reach a rule with a condition.
    pub(crate) fn deferred(source: &str) -> Self {
        Self {
            source: source.into(),
            compiled: OnceLock::new(),
        }
    }

    /// Evaluates the condition; an error or a non-boolean answer is an `Err`.
    pub(crate) fn evaluate(
        &self,
        action: &Action,
        effect: &Effect,
        environment: Option<&str>,
    ) -> Result<bool, String> {
        let compiled = self
            .compiled
            .get_or_init(|| Compiled::new(&self.source))
            .as_ref()
            .map_err(Clone::clone)?;
        if let Some(answer) = compiled
            .fast
            .as_ref()
            .and_then(|f| f.evaluate(&action.input))
        {
            return answer;
        }
        compiled.interpret(action, effect, environment)
    }
}

impl Compiled {
    fn new(source: &str) -> Result<Self, String> {
        if source.trim().is_empty() {
            return Err("empty condition".into());
        }
        if source.len() > MAX_CONDITION_BYTES {
            return Err(format!(
                "invalid condition: longer than {MAX_CONDITION_BYTES} bytes"
            ));
        }
        let (brackets, conditionals) = nesting(source);
        if brackets > MAX_CONDITION_BRACKETS {
            return Err(format!(
                "invalid condition: brackets nested deeper than {MAX_CONDITION_BRACKETS} levels"
            ));
        }
        if conditionals > MAX_CONDITION_CONDITIONALS {
            return Err(format!(
                "invalid condition: more than {MAX_CONDITION_CONDITIONALS} conditional \
                 operators (`?:`)"
            ));
        }
        let compiled = std::panic::catch_unwind(AssertUnwindSafe(|| Program::compile(source)));
        match compiled {
            Ok(Ok(program)) => {
                if deeper_than(program.expression(), MAX_CONDITION_DEPTH) {
                    return Err(format!(
                        "invalid condition: nested deeper than {MAX_CONDITION_DEPTH} levels"
                    ));
                }
                let references = program.references();
                let unknown: Vec<&str> = references
                    .variables()
                    .into_iter()
                    .filter(|v| !matches!(*v, "action" | "input" | "effect"))
                    .collect();
                if let Some(name) = unknown.first() {
                    return Err(format!(
                        "invalid condition: unknown variable `{name}`; use action, input or effect"
                    ));
                }
                let fast = fast(program.expression());
                Ok(Self { program, fast })
            }
            Ok(Err(errors)) => Err(format!("invalid condition: {}", describe(&errors))),
            Err(_) => Err("invalid condition: the parser failed".into()),
        }
    }

    /// Evaluates with the CEL interpreter.
    fn interpret(
        &self,
        action: &Action,
        effect: &Effect,
        environment: Option<&str>,
    ) -> Result<bool, String> {
        let resolver = Resolver {
            action,
            effect,
            environment,
        };
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
            ROOT.with(|root| {
                let mut context = root.new_inner_scope();
                context.set_variable_resolver(&resolver);
                self.program.execute(&context)
            })
        }));
        match result {
            Ok(Ok(Value::Bool(answer))) => Ok(answer),
            Ok(Ok(other)) => Err(format!("condition gave {other:?}, not a boolean")),
            Ok(Err(error)) => Err(format!("condition failed: {error}")),
            Err(_) => Err("condition evaluation failed".into()),
        }
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The parser's errors as `line:column: message`, on one line. (Their `Display` points at
/// the column with a padded caret, and panics past column 65 535.)
fn describe(errors: &ParseErrors) -> String {
    let described: Vec<String> = errors
        .errors
        .iter()
        .map(|e| format!("{}:{}: {}", e.pos.0, e.pos.1, one_line(&e.msg)))
        .collect();
    described.join("; ")
}

/// How deeply `(`, `[` and `{` nest in `source`, and how many `?` it has, outside string
/// literals (quoted with `'` or `"`, tripled or not, raw after `r`).
fn nesting(source: &str) -> (usize, usize) {
    let bytes = source.as_bytes();
    let (mut depth, mut deepest, mut conditionals) = (0usize, 0usize, 0usize);
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        match byte {
            b'(' | b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'?' => conditionals += 1,
            b'\'' | b'"' => {
                let raw = i
                    .checked_sub(1)
                    .and_then(|p| bytes.get(p))
                    .is_some_and(|b| matches!(b, b'r' | b'R'));
                let tripled = |at: usize| {
                    bytes.get(at) == Some(&byte)
                        && bytes.get(at + 1) == Some(&byte)
                        && bytes.get(at + 2) == Some(&byte)
                };
                let quote = if tripled(i) { 3 } else { 1 };
                i += quote;
                loop {
                    match bytes.get(i) {
                        // Unterminated: the parser says so.
                        None => return (deepest, conditionals),
                        Some(b'\\') if !raw => i += 2,
                        Some(&b) if b == byte && (quote == 1 || tripled(i)) => {
                            i += quote;
                            break;
                        }
                        Some(_) => i += 1,
                    }
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    (deepest, conditionals)
}

/// Whether `expr` nests deeper than `budget` levels. Looks no deeper than that.
fn deeper_than(expr: &Expression, budget: usize) -> bool {
    let Some(budget) = budget.checked_sub(1) else {
        return true;
    };
    let deeper = |e: &Expression| deeper_than(e, budget);
    match &expr.expr {
        Expr::Call(call) => {
            call.target.as_deref().is_some_and(deeper) || call.args.iter().any(deeper)
        }
        Expr::Comprehension(c) => [
            &c.iter_range,
            &c.accu_init,
            &c.loop_cond,
            &c.loop_step,
            &c.result,
        ]
        .into_iter()
        .any(deeper),
        Expr::List(list) => list.elements.iter().any(deeper),
        Expr::Map(map) => map.entries.iter().any(|entry| match &entry.expr {
            EntryExpr::MapEntry(e) => deeper(&e.key) || deeper(&e.value),
            EntryExpr::StructField(f) => deeper(&f.value),
        }),
        Expr::Struct(s) => s.entries.iter().any(|entry| match &entry.expr {
            EntryExpr::MapEntry(e) => deeper(&e.key) || deeper(&e.value),
            EntryExpr::StructField(f) => deeper(&f.value),
        }),
        Expr::Select(select) => deeper(&select.operand),
        Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => false,
    }
}

thread_local! {
    // The standard functions, registered once per thread rather than once per evaluation.
    static ROOT: Context<'static> = Context::default();
}

struct Resolver<'a> {
    action: &'a Action,
    effect: &'a Effect,
    environment: Option<&'a str>,
}

#[derive(Serialize)]
struct EffectView<'a> {
    operation: &'static str,
    resource: &'a str,
    environment: Option<&'a str>,
    recursive: bool,
    forced: bool,
    unbounded: bool,
    opaque: bool,
    tags: &'a [String],
    attributes: &'a BTreeMap<String, String>,
}

#[derive(Serialize)]
struct ActionView<'a> {
    tool: &'a str,
    agent: Option<&'a str>,
    on_behalf_of: Option<&'a str>,
    confidence: Option<f64>,
    declared_environment: Option<&'a str>,
    task: Option<&'a str>,
}

impl cel::context::VariableResolver for Resolver<'_> {
    fn resolve(&self, variable: &str) -> Option<Value> {
        match variable {
            "input" => cel::to_value(&self.action.input).ok(),
            "effect" => cel::to_value(EffectView {
                operation: self.effect.operation.as_str(),
                resource: &self.effect.resource,
                environment: self.environment,
                recursive: self.effect.recursive,
                forced: self.effect.forced,
                unbounded: self.effect.unbounded,
                opaque: self.effect.opaque,
                tags: &self.effect.tags,
                attributes: &self.effect.attributes,
            })
            .ok(),
            "action" => cel::to_value(ActionView {
                tool: &self.action.tool,
                agent: self.action.agent.id.as_deref(),
                on_behalf_of: self.action.agent.on_behalf_of.as_deref(),
                confidence: self.action.confidence,
                declared_environment: self.action.declared.environment.as_deref(),
                task: self.action.task.as_deref(),
            })
            .ok(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use preflight_core::Operation;
    use serde_json::json;

    fn action() -> Action {
        Action::from_value(json!({"tool": "pay", "input": {"amount": 50}})).unwrap()
    }

    #[test]
    fn evaluates_over_input_and_effect() {
        let effect = Effect::new(Operation::Delete, "file:///tmp/x");
        let c = Condition::compile("input.amount <= 100 && effect.operation == 'delete'").unwrap();
        assert_eq!(c.evaluate(&action(), &effect, None), Ok(true));
        let c = Condition::compile("input.amount > 100").unwrap();
        assert_eq!(c.evaluate(&action(), &effect, None), Ok(false));
        let c = Condition::compile("!effect.recursive && size(effect.tags) == 0").unwrap();
        assert_eq!(c.evaluate(&action(), &effect, None), Ok(true));
    }

    #[test]
    fn the_fast_path_agrees_with_the_interpreter() {
        let effect = Effect::new(Operation::Read, "x");
        let sources = [
            "input.amount <= 100",
            "100 > input.amount",
            "input.a.b == 3",
            "input.amount >= 7 && input.a.b != 3",
            "input.f < 2.5",
            "input.missing > 1 && input.amount < 0",
        ];
        let inputs = [
            json!({"amount": 50, "a": {"b": 3}, "f": 1.5}),
            json!({"amount": 500, "a": {"b": 4}, "f": 2.5}),
            json!({"amount": -3, "a": {"b": 3}, "f": 3.0}),
            json!({"amount": 100, "a": {}, "f": 1}),
            json!({"amount": "many", "a": 1}),
            json!({}),
        ];
        for source in sources {
            let c = Condition::compile(source).unwrap();
            let compiled = c.compiled.get().unwrap().as_ref().unwrap();
            assert!(compiled.fast.is_some(), "{source} has no fast path");
            for input in &inputs {
                let action = Action::from_value(json!({"tool": "t", "input": input})).unwrap();
                let fast = c.evaluate(&action, &effect, None);
                let slow = compiled.interpret(&action, &effect, None);
                assert_eq!(
                    fast.is_ok(),
                    slow.is_ok(),
                    "{source} on {input}: {fast:?} vs {slow:?}"
                );
                if let (Ok(a), Ok(b)) = (&fast, &slow) {
                    assert_eq!(a, b, "{source} on {input}");
                }
            }
        }
        let sized = Condition::compile("size(input.list) > 2").unwrap();
        assert!(
            sized
                .compiled
                .get()
                .unwrap()
                .as_ref()
                .unwrap()
                .fast
                .is_none()
        );
    }

    // Found by fuzzing. Deep or long conditions made the parser panic (its error display
    // past column 65 535), take minutes or gigabytes, or the interpreter overflow the stack
    // when the rule was checked.
    #[test]
    fn deep_and_long_conditions_are_refused_at_load() {
        let nested = |open: &str, inner: &str, close: &str, n: usize| {
            format!("{}{inner}{}", open.repeat(n), close.repeat(n))
        };
        let cases = [
            (nested("(", "true", ")", 100_000), "longer than"),
            (nested("(", "true", ")", 1_000), "brackets nested deeper"),
            (
                nested("[", "", "]", 1_000) + " == 1",
                "brackets nested deeper",
            ),
            (nested("([", "", "])", 1_000), "brackets nested deeper"),
            (
                "true ? true : ".repeat(100) + "true",
                "conditional operators",
            ),
            (vec!["1"; 1_000].join(" + ") + " == 1", "nested deeper than"),
            (
                format!("input{} == 1", "[0]".repeat(1_000)),
                "nested deeper than",
            ),
            (
                format!("input{} == 1", ".a".repeat(1_000)),
                "nested deeper than",
            ),
            (vec!["input.a > 1"; 100_000].join(" && "), "longer than"),
        ];
        for (source, error) in cases {
            let started = std::time::Instant::now();
            let compiled = Condition::compile(&source);
            let Err(message) = compiled else {
                panic!("{}… compiled", &source[..40]);
            };
            assert!(message.contains(error), "{message}");
            assert!(started.elapsed().as_secs() < 5, "{}…", &source[..40]);
        }
    }

    #[test]
    fn the_deepest_conditions_compile_and_evaluate() {
        let effect = Effect::new(Operation::Read, "x");
        let nested = |n: usize| format!("{}true{}", "(".repeat(n), ")".repeat(n));
        let conditionals = |n: usize| format!("{}true", "true ? true : ".repeat(n));
        let sum = |n: usize| format!("{} == {n}", vec!["1"; n].join(" + "));
        for (source, depth) in [
            (nested(MAX_CONDITION_BRACKETS), MAX_CONDITION_BRACKETS),
            (
                conditionals(MAX_CONDITION_CONDITIONALS),
                MAX_CONDITION_CONDITIONALS,
            ),
            (sum(MAX_CONDITION_DEPTH - 1), MAX_CONDITION_DEPTH - 1),
        ] {
            let c = Condition::compile(&source).unwrap();
            assert_eq!(c.evaluate(&action(), &effect, None), Ok(true), "{depth}");
        }
        assert!(Condition::compile(&nested(MAX_CONDITION_BRACKETS + 1)).is_err());
        assert!(Condition::compile(&conditionals(MAX_CONDITION_CONDITIONALS + 1)).is_err());
        assert!(Condition::compile(&sum(MAX_CONDITION_DEPTH)).is_err());
        // Brackets inside strings do not count.
        let text = "((([[[{{{???".repeat(20);
        for quoted in [
            format!("'{text}' != 'x'"),
            format!("\"{text}\" != 'x'"),
            format!("'''{text}''' != 'x'"),
            format!("r'\\' + '{text}' != 'x'"),
            format!("'\\'{text}' != 'x'"),
        ] {
            let c = Condition::compile(&quoted).unwrap();
            assert_eq!(c.evaluate(&action(), &effect, None), Ok(true), "{quoted}");
        }
    }

    #[test]
    fn parse_errors_name_line_and_column() {
        let Err(message) = Condition::compile("input.amount <= ") else {
            panic!("compiled");
        };
        assert!(message.starts_with("invalid condition: 1:"), "{message}");
        assert!(!message.contains('\n'), "{message}");
    }

    #[test]
    fn a_deferred_condition_compiles_when_first_evaluated_and_keeps_its_error() {
        let effect = Effect::new(Operation::Delete, "file:///x");
        let action = action();
        let good = Condition::deferred("effect.operation == 'delete'");
        assert!(good.compiled.get().is_none());
        assert_eq!(good.evaluate(&action, &effect, None), Ok(true));
        assert!(good.compiled.get().is_some());
        let bad = Condition::deferred("effect.operation ==");
        for _ in 0..2 {
            let error = bad.evaluate(&action, &effect, None).unwrap_err();
            assert!(error.contains("invalid condition"), "{error}");
        }
    }

    #[test]
    fn errors_are_errors() {
        assert!(Condition::compile("input.amount <=").is_err());
        assert!(Condition::compile("secret.thing == 1").is_err());
        let effect = Effect::new(Operation::Read, "x");
        let c = Condition::compile("input.missing > 1").unwrap();
        assert!(c.evaluate(&action(), &effect, None).is_err());
        let c = Condition::compile("input.amount").unwrap();
        assert!(c.evaluate(&action(), &effect, None).is_err());
    }
}
