//! `preflight hook <host>`: read the payload, decide within the host's timeout, answer.

use std::io::Write;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use preflight_core::{Action, Approver, Decision};
use tokio::time::Instant;

use super::{HookDecision, Host, Reply, reason_text};
use crate::approve::{CODE_TTL, CodeApprover, Escalation};
use crate::config::{ApproverKind, Settings};
use crate::engine::{Decided, Engine};
use crate::error::CliError;

/// What an allow becomes in the host's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum AllowMeans {
    /// No opinion: the host's own permission rules still apply.
    #[default]
    Defer,
    /// An explicit approval: the host skips its own prompt.
    Allow,
}

/// How long before the host's timeout the hook answers by itself.
pub const HOST_MARGIN: Duration = Duration::from_millis(1_500);
/// Time kept after an approval wait to record the decision and answer.
const ANSWER_RESERVE: Duration = Duration::from_millis(1_000);

/// How long the hook may take: its own bound (verification, a person's time when one is
/// asked, a margin for the audit store), and never more than the host's timeout less
/// [`HOST_MARGIN`].
pub fn time_budget(settings: &Settings, host_timeout: Option<f64>) -> Result<Duration, CliError> {
    let mut bound = Duration::from_millis(settings.timeout_ms.saturating_add(2_000));
    if settings.approver != ApproverKind::None {
        bound += Duration::from_secs(settings.approval_timeout_secs);
    }
    let Some(seconds) = host_timeout else {
        return Ok(bound);
    };
    let host = Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|host| *host > HOST_MARGIN)
        .ok_or_else(|| {
            CliError::Config(format!(
                "--host-timeout {seconds}: must be more than {} seconds",
                HOST_MARGIN.as_secs_f64()
            ))
        })?;
    Ok(bound.min(host - HOST_MARGIN))
}

/// Runs the hook for `host` on standard input and writes its answer; returns the exit code.
/// Every failure, and running out of time, is the host's block.
pub async fn hook(
    settings: &Settings,
    host: Host,
    host_timeout: Option<f64>,
    allow_means: AllowMeans,
) -> Result<u8, CliError> {
    let reply = match time_budget(settings, host_timeout) {
        Err(error) => host.block(&error.to_string()),
        Ok(budget) => {
            let deadline = Instant::now() + budget;
            watchdog(host, deadline.into_std() + WATCHDOG_GRACE, budget);
            let decided = tokio::time::timeout_at(deadline, async {
                // Read on this thread: the watchdog answers if standard input never closes,
                // and a read here costs no thread started for it.
                let read = crate::oversized::read(std::io::stdin().lock())
                    .map_err(|e| CliError::io("reading the hook payload", e))?;
                let bytes = match read {
                    Ok(bytes) => bytes,
                    Err(input) => {
                        let source = format!("hook {}", host.name());
                        let refusal = crate::oversized::refuse(
                            settings,
                            &input,
                            &source,
                            "the hook payload",
                            Some(settings.agent.as_deref().unwrap_or(host.default_agent())),
                        );
                        return Err(refusal.await);
                    }
                };
                let text = String::from_utf8(bytes)
                    .map_err(|_| CliError::Input("hook payload: not UTF-8".into()))?;
                answer_text(settings, host, &text, deadline, allow_means).await
            })
            .await;
            match decided {
                Ok(Ok(reply)) => reply,
                Ok(Err(error)) => host.block(&error.to_string()),
                Err(_) => host.block(
                    &CliError::Timeout(u64::try_from(budget.as_millis()).unwrap_or(u64::MAX))
                        .to_string(),
                ),
            }
        }
    };
    emit(&reply)?;
    Ok(reply.exit)
}

/// How long after the budget the watchdog answers, if the hook's own timeout has not: well
/// inside [`HOST_MARGIN`].
const WATCHDOG_GRACE: Duration = Duration::from_millis(500);

/// Whether the process has answered: the first answer, the decision's or the watchdog's, is
/// the only one written.
static ANSWERED: std::sync::Mutex<bool> = std::sync::Mutex::new(false);

/// Answers with the host's block at `at` and exits, unless the hook answered first. The
/// runtime's timeout fires only when the decision yields; a decision stuck computing (or a
/// blocking call) would otherwise leave the host to give up, and a host that gives up may run
/// the call.
fn watchdog(host: Host, at: std::time::Instant, budget: Duration) {
    let spawned = std::thread::Builder::new()
        .name("hook-watchdog".into())
        .spawn(move || {
            std::thread::sleep(at.saturating_duration_since(std::time::Instant::now()));
            let millis = u64::try_from(budget.as_millis()).unwrap_or(u64::MAX);
            let reply = host.block(&CliError::Timeout(millis).to_string());
            let mut answered = ANSWERED.lock().unwrap_or_else(|e| e.into_inner());
            if !*answered {
                *answered = true;
                let _ = write_reply(&reply);
                // Exits holding the lock: no later answer can follow this one.
                std::process::exit(i32::from(reply.exit));
            }
        });
    if let Err(error) = spawned {
        // The runtime's own timeout still applies.
        tracing::warn!(%error, "the hook's watchdog did not start");
    }
}

/// Writes `reply`, unless the watchdog already answered.
fn emit(reply: &Reply) -> Result<(), CliError> {
    let mut answered = ANSWERED.lock().unwrap_or_else(|e| e.into_inner());
    if *answered {
        return Ok(());
    }
    *answered = true;
    write_reply(reply)
}

/// Writes `reply` to standard output and standard error.
fn write_reply(reply: &Reply) -> Result<(), CliError> {
    if let Some(message) = &reply.stderr {
        eprintln!("{message}");
    }
    if let Some(value) = &reply.stdout {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{value}").map_err(|e| CliError::io("writing standard output", e))?;
        out.flush()
            .map_err(|e| CliError::io("writing standard output", e))?;
    }
    Ok(())
}

/// Decides the payload `text` and puts the decision in the host's words. With an audit store,
/// an escalation goes to the code approver: it uses an approval given with a code for this
/// exact call, or issues a code (and with `--approver console` waits for a person until
/// shortly before `deadline`).
async fn answer_text(
    settings: &Settings,
    host: Host,
    text: &str,
    deadline: Instant,
    allow_means: AllowMeans,
) -> Result<Reply, CliError> {
    let action = host.parse(text, settings.agent.as_deref())?;
    let approver: OnceLock<CodeApprover> = OnceLock::new();
    let wait = settings.approver == ApproverKind::Console;
    let approver_deadline = deadline.checked_sub(ANSWER_RESERVE).unwrap_or(deadline);
    let make = |store: &preflight_audit::AuditStore| -> Arc<dyn Approver> {
        let code = CodeApprover::new(Arc::new(store.clone()), approver_deadline, wait);
        let _ = approver.set(code.clone());
        Arc::new(code)
    };
    // One decision per process: the store opens one connection and writes the decision in
    // one durable commit, with none of the background tasks a long-lived process needs (the
    // console approver, which waits for announcements, keeps them).
    let mut settings = settings.clone();
    settings.audit_one_shot = !wait;
    let engine = Engine::build_with(&settings, false, Some(&make)).await?;
    let decided = engine.decide(action.clone()).await?;
    let escalation = approver
        .get()
        .map(CodeApprover::outcome)
        .unwrap_or_default();
    Ok(host.answer(&hook_decision(&decided, &escalation, allow_means), &action))
}

/// What the hook answers for `decided`.
pub fn hook_decision(
    decided: &Decided,
    escalation: &Escalation,
    allow_means: AllowMeans,
) -> HookDecision {
    let suggestion = decided.suggestion.as_deref();
    match (decided.decision, escalation) {
        // A person approved this exact call: let it through.
        (Decision::Allow, Escalation::Decided) => {
            HookDecision::Allow(reason_text("approved by a person", None))
        }
        (Decision::Allow, _) => match allow_means {
            AllowMeans::Defer => HookDecision::NoOpinion,
            AllowMeans::Allow => HookDecision::Allow(reason_text(&decided.message, suggestion)),
        },
        (Decision::Escalate, _) => HookDecision::Ask(reason_text(&decided.message, suggestion)),
        (Decision::Deny | Decision::Abstain, Escalation::AwaitingCode(code)) => {
            HookDecision::Ask(format!(
                "{} — a person can approve this exact call once with `preflight approve {code}` \
                 (valid {} minutes); then retry it",
                reason_text(&decided.verdict.summary(), suggestion),
                CODE_TTL.as_secs() / 60
            ))
        }
        (Decision::Deny | Decision::Abstain, _) => {
            HookDecision::Deny(reason_text(&decided.message, suggestion))
        }
    }
}

/// Decides one payload through `gate` (for `preflight serve`): the same mapping and answers
/// as the command, without approval codes.
pub async fn answer_with_gate(
    gate: &preflight_core::Gate,
    host: Host,
    text: &str,
    agent: Option<&str>,
    allow_means: AllowMeans,
) -> Reply {
    let action: Action = match host.parse(text, agent) {
        Ok(action) => action,
        Err(error) => return host.block(&error.to_string()),
    };
    match gate.check(action.clone()).await {
        Ok(checked) => host.answer(
            &hook_decision(
                &crate::engine::decided(checked),
                &Escalation::NotAsked,
                allow_means,
            ),
            &action,
        ),
        Err(error) => host.block(&error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Overrides;

    fn settings(approver: Option<&str>) -> Settings {
        Settings::load(&Overrides {
            approver: approver.map(String::from),
            ..Overrides::default()
        })
        .unwrap()
    }

    #[test]
    fn the_budget_ends_before_the_hosts_timeout() {
        let console = settings(Some("console"));
        assert_eq!(
            time_budget(&console, Some(20.0)).unwrap(),
            Duration::from_millis(18_500)
        );
        // Without a host timeout: verification, a margin and the approval wait.
        assert_eq!(
            time_budget(&console, None).unwrap(),
            Duration::from_secs(612)
        );
        // Never more than the hook's own bound.
        assert_eq!(
            time_budget(&settings(None), Some(600.0)).unwrap(),
            Duration::from_secs(12)
        );
        assert!(time_budget(&console, Some(1.0)).is_err());
        assert!(time_budget(&console, Some(f64::NAN)).is_err());
    }
}
