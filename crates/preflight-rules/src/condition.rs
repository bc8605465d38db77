//! CEL conditions: compiled once at load, evaluated against an action and one effect.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;

use cel::common::ast::Expr;
use cel::common::value::CelVal;
use cel::parser::Expression;
use cel::{Context, Program, Value};
use preflight_core::{Action, Effect};
use serde::Serialize;

/// A compiled CEL condition.
#[derive(Debug)]
pub(crate) struct Condition {
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
    /// Compiles `source`; a parse error (or a panic inside the parser) is an error.
    pub(crate) fn compile(source: &str) -> Result<Self, String> {
        if source.trim().is_empty() {
            return Err("empty condition".into());
        }
        let compiled = std::panic::catch_unwind(AssertUnwindSafe(|| Program::compile(source)));
        match compiled {
            Ok(Ok(program)) => {
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
            Ok(Err(errors)) => Err(format!(
                "invalid condition: {}",
                one_line(&errors.to_string())
            )),
            Err(_) => Err("invalid condition: the parser failed".into()),
        }
    }

    /// Evaluates the condition; an error or a non-boolean answer is an `Err`.
    pub(crate) fn evaluate(
        &self,
        action: &Action,
        effect: &Effect,
        environment: Option<&str>,
    ) -> Result<bool, String> {
        if let Some(answer) = self.fast.as_ref().and_then(|f| f.evaluate(&action.input)) {
            return answer;
        }
        self.interpret(action, effect, environment)
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
            assert!(c.fast.is_some(), "{source} has no fast path");
            for input in &inputs {
                let action = Action::from_value(json!({"tool": "t", "input": input})).unwrap();
                let fast = c.evaluate(&action, &effect, None);
                let slow = c.interpret(&action, &effect, None);
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
        assert!(
            Condition::compile("size(input.list) > 2")
                .unwrap()
                .fast
                .is_none()
        );
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
