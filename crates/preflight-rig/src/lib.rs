#![doc = include_str!("../README.md")]

use std::future::Future;
use std::sync::Arc;

use preflight_core::{Action, Decision, Gate, Gated, Permit};
use rig_core::completion::ToolDefinition;
use rig_core::serde_json::{self, Value};
use rig_core::tool::{
    DynamicTool, ErasedTool, IntoToolOutput, Tool, ToolContext, ToolExecutionError, ToolOutput,
};
use rig_core::wasm_compat::WasmBoxedFuture;

/// Who proposes the calls a [`Guard`] verifies, and where: copied into every [`Action`].
#[derive(Debug, Clone, Default)]
struct Identity {
    agent: Option<String>,
    on_behalf_of: Option<String>,
    session: Option<String>,
    task: Option<String>,
    cwd: Option<String>,
}

/// Puts a [`Gate`] in front of rig tools: every call is verified, escalations wait for the
/// gate's approver, every step is recorded in the gate's audit sink, and the tool's body runs
/// only inside the permit the gate hands out.
///
/// Cheap to clone; clones share the gate (and so its permits, approver and audit sink).
#[derive(Debug, Clone)]
pub struct Guard {
    gate: Gate,
    identity: Arc<Identity>,
}

impl Guard {
    /// A guard that verifies calls through `gate`.
    pub fn new(gate: Gate) -> Self {
        Self {
            gate,
            identity: Arc::new(Identity::default()),
        }
    }

    /// The id of the agent whose calls these are (`agent.id` of each action): the policy's
    /// envelope for that agent applies.
    pub fn with_agent(mut self, id: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.identity).agent = Some(id.into());
        self
    }

    /// The person the agent acts for (`agent.on_behalf_of`).
    pub fn on_behalf_of(mut self, who: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.identity).on_behalf_of = Some(who.into());
        self
    }

    /// The session or conversation the calls belong to (`agent.session`).
    pub fn with_session(mut self, session: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.identity).session = Some(session.into());
        self
    }

    /// The task the agent was given (`task`), shown to approvers and kept in the audit trail.
    pub fn with_task(mut self, task: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.identity).task = Some(task.into());
        self
    }

    /// The directory the tools run in (`context.cwd`): relative paths in shell commands and
    /// file tools are resolved against it, and a policy's `{project}` names it.
    pub fn with_cwd(mut self, cwd: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.identity).cwd = Some(cwd.into());
        self
    }

    /// The gate.
    pub fn gate(&self) -> &Gate {
        &self.gate
    }

    /// The action a call of `tool` with `args` is verified as: the tool's name, its JSON
    /// arguments as given by the model, and this guard's agent, session, task and directory.
    pub fn action(&self, tool: &str, args: Value) -> Action {
        let identity = &*self.identity;
        let mut action = Action::new(tool, args);
        action.agent.id.clone_from(&identity.agent);
        action.agent.on_behalf_of.clone_from(&identity.on_behalf_of);
        action.agent.session.clone_from(&identity.session);
        action.task.clone_from(&identity.task);
        action.context.cwd.clone_from(&identity.cwd);
        action
    }

    /// Verifies a call of `tool` with `args` and, when the gate allows it, runs `body` with the
    /// permit and records its outcome.
    ///
    /// A refusal (deny, an escalation a person denied or nobody could answer) comes back as a
    /// [`ToolExecutionError::refused`] whose text, shown to the model, says why and what it
    /// could do instead. An error of the gate itself (the audit record could not be written,
    /// the action is malformed) comes back as an error too: `body` never runs without a permit.
    ///
    /// This is the whole integration for a hand-written tool loop; [`Guarded`] and
    /// [`Guard::dynamic`] call it for rig's tools.
    pub async fn run<F, Fut, O>(
        &self,
        tool: &str,
        args: Value,
        body: F,
    ) -> Result<O, ToolExecutionError>
    where
        F: FnOnce(Permit) -> Fut,
        Fut: Future<Output = Result<O, ToolExecutionError>>,
    {
        let action = self.action(tool, args);
        // Kept to redeem the permit against: the body runs for exactly the verified action.
        let verified = action.clone();
        let gated = self
            .gate
            .run(action, |permit| async move {
                permit.redeem(&verified).map_err(|error| {
                    ToolExecutionError::refused(format!("preflight refused this call: {error}"))
                        .with_code("preflight.permit")
                })?;
                body(permit).await
            })
            .await;
        match gated {
            Ok(Gated::Ran { output, .. }) => output,
            Ok(Gated::Refused(checked)) => Err(refusal(
                checked.decision,
                &checked.message,
                checked.verdict.suggestion.as_deref(),
            )),
            Err(error) => Err(ToolExecutionError::other(format!(
                "preflight could not verify this call, so it was not run: {error}"
            ))
            .with_code("preflight.error")),
        }
    }

    /// `tool`, guarded: a rig [`Tool`] with the same name, description and parameters whose
    /// every call goes through [`Guard::run`].
    pub fn tool<T: Tool>(&self, tool: T) -> Guarded<T> {
        Guarded {
            inner: tool,
            guard: self.clone(),
        }
    }

    /// A rig [`DynamicTool`], guarded: the same definition, every call through [`Guard::run`].
    pub fn dynamic(&self, tool: DynamicTool) -> DynamicTool {
        let ToolDefinition {
            name,
            description,
            parameters,
        } = tool.definition();
        let callback = dynamic_callback(self.clone(), name.to_string(), tool);
        DynamicTool::new_with_context(name, description, parameters, callback)
    }

    /// Any rig tool (typed or erased), guarded, as a [`DynamicTool`], so that tools of
    /// different types can be guarded into one list (a rig `ToolSet`, an agent's
    /// `dynamic_tools`).
    ///
    /// Fails when the tool's name is empty, as rig requires a name.
    pub fn erase<T>(&self, tool: T) -> Result<DynamicTool, rig_core::message::EmptyToolName>
    where
        T: ErasedTool + 'static,
    {
        let name = rig_core::message::ToolName::new(tool.name())?;
        let description = tool.description();
        let parameters = tool.parameters();
        let callback = erased_callback(self.clone(), name.to_string(), Arc::new(tool));
        Ok(DynamicTool::new_with_context(
            name,
            description,
            parameters,
            callback,
        ))
    }

    /// Every tool of a set, guarded: give the result to `ToolSet::from_dynamic_tools` or an
    /// agent builder's `dynamic_tools`.
    pub fn tools(&self, tools: impl IntoIterator<Item = DynamicTool>) -> Vec<DynamicTool> {
        tools.into_iter().map(|tool| self.dynamic(tool)).collect()
    }
}

/// The text the model reads when a call is refused: what was decided, why, and the policy's
/// suggestion, so that it can propose a narrower action.
fn refusal(decision: Decision, message: &str, suggestion: Option<&str>) -> ToolExecutionError {
    let mut text = format!("preflight refused this call: {message}");
    if let Some(suggestion) = suggestion {
        text.push_str("\nsuggestion: ");
        text.push_str(suggestion);
    }
    ToolExecutionError::refused(text).with_code(format!("preflight.{decision}"))
}

/// The callback of a guarded [`DynamicTool`]. A named function, so that the closure's
/// higher-ranked signature is spelled out.
fn dynamic_callback(
    guard: Guard,
    name: String,
    inner: DynamicTool,
) -> impl for<'a> Fn(
    &'a mut ToolContext,
    Value,
) -> WasmBoxedFuture<'a, Result<ToolOutput, ToolExecutionError>>
+ Send
+ Sync
+ 'static {
    move |context, args| {
        let guard = guard.clone();
        let name = name.clone();
        let inner = inner.clone();
        Box::pin(async move {
            let body_args = args.clone();
            guard
                .run(&name, args, move |_permit| async move {
                    inner.execute_with(context, body_args).await
                })
                .await
        })
    }
}

/// The callback of an erased tool turned into a guarded [`DynamicTool`].
fn erased_callback<T: ErasedTool + 'static>(
    guard: Guard,
    name: String,
    inner: Arc<T>,
) -> impl for<'a> Fn(
    &'a mut ToolContext,
    Value,
) -> WasmBoxedFuture<'a, Result<ToolOutput, ToolExecutionError>>
+ Send
+ Sync
+ 'static {
    move |context, args| {
        let guard = guard.clone();
        let name = name.clone();
        let inner = Arc::clone(&inner);
        Box::pin(async move {
            let raw = args.to_string();
            guard
                .run(&name, args, move |_permit| async move {
                    inner.execute(raw, context).await.into_result()
                })
                .await
        })
    }
}

/// A rig [`Tool`] behind a [`Guard`]: same name, description and parameters; every call is
/// verified first, and the inner tool runs only with a permit. Made by [`Guard::tool`].
#[derive(Debug, Clone)]
pub struct Guarded<T> {
    inner: T,
    guard: Guard,
}

impl<T> Guarded<T> {
    /// The inner tool.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// The guard.
    pub fn guard(&self) -> &Guard {
        &self.guard
    }
}

impl<T: Tool> Tool for Guarded<T> {
    const NAME: &'static str = T::NAME;
    // The raw JSON, because it is what is verified; it is read into the inner tool's
    // arguments before verification.
    type Args = Value;
    // Converted inside the permit, because the outcome is recorded after the body returned and
    // the inner tool's own output type need not be `Send`.
    type Output = ToolOutput;
    type Error = ToolExecutionError;

    fn description(&self) -> String {
        self.inner.description()
    }

    fn parameters(&self) -> Value {
        self.inner.parameters()
    }

    async fn call(
        &self,
        context: &mut ToolContext,
        args: Self::Args,
    ) -> Result<Self::Output, Self::Error> {
        // Arguments the tool cannot read are refused before anything is proposed: nothing
        // could run anyway, and the model is told what was wrong with them.
        let typed: T::Args = serde_json::from_value(args.clone()).map_err(|error| {
            ToolExecutionError::invalid_args(format!("failed to parse tool arguments: {error}"))
        })?;
        let inner = &self.inner;
        self.guard
            .run(T::NAME, args, move |_permit| async move {
                let output = inner
                    .call(context, typed)
                    .await
                    .map_err(|error| inner.map_error(error))?;
                output.into_tool_output()
            })
            .await
    }
}
