//! CEL conditions: compiled once at load, evaluated against an action and one effect.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;

use cel::{Context, Program, Value};
use preflight_core::{Action, Effect};
use serde::Serialize;

/// A compiled CEL condition.
#[derive(Debug)]
pub(crate) struct Condition {
    program: Program,
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
                Ok(Self { program })
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
