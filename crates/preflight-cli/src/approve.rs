//! Approval from the terminal: one-time codes for escalated hook calls.
//!
//! When the hook blocks an escalated call, it queues an approval request in the audit store
//! under an id derived from a short random code, and puts the code in the reason. `preflight
//! approve CODE` approves that request (so does the web console, which lists it). When the
//! agent retries the identical call (same digest) before the request expires, the hook's
//! approver finds the approval, uses it up, and the gate records it in the audit trail like
//! any other person's decision. A used approval is marked by a second request, `<id>-used`,
//! whose insertion succeeds once: that makes it single use across processes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use preflight_core::{
    Approval, ApprovalDecision, ApprovalError, ApprovalRequest, ApprovalStatus, ApprovalStore,
    Approver, StoreError, Timestamp, async_trait,
};
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use crate::error::CliError;

/// Letters and digits that cannot be mistaken for one another (no 0/O, 1/I/L).
const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// The length of a code: 31^8, about 8.5e11 codes.
pub const CODE_LENGTH: usize = 8;
/// How long a code, and the approval given with it, stays valid.
pub const CODE_TTL: Duration = Duration::from_secs(600);
/// How many decided requests are searched for an approval of a retried call.
const SEARCH_DEPTH: usize = 256;
/// How often a waiting hook looks for a person's decision.
const POLL: Duration = Duration::from_millis(250);
const ID_PREFIX: &str = "code-";
const USED_SUFFIX: &str = "-used";

/// A new code from the operating system's random source.
pub fn new_code() -> Result<String, CliError> {
    let mut code = String::with_capacity(CODE_LENGTH);
    // Rejection sampling keeps every letter equally likely.
    let limit = u8::MAX - (u8::MAX % ALPHABET.len() as u8);
    while code.len() < CODE_LENGTH {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes)
            .map_err(|e| CliError::Config(format!("no randomness available: {e}")))?;
        for byte in bytes {
            if byte < limit && code.len() < CODE_LENGTH {
                code.push(char::from(ALPHABET[usize::from(byte) % ALPHABET.len()]));
            }
        }
    }
    Ok(code)
}

/// The code as typed, upper-cased and without separators; `None` when it cannot be a code.
pub fn normalize(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let valid = code.len() == CODE_LENGTH && code.bytes().all(|b| ALPHABET.contains(&b));
    valid.then_some(code)
}

/// The approval request's id for `code`: a hash, so that the store does not hold the code.
fn request_id(code: &str) -> String {
    let digest = Sha256::digest(code.as_bytes());
    format!(
        "{ID_PREFIX}{}",
        &preflight_core::to_hex(digest.as_slice())[..32]
    )
}

/// What the hook's approver did with an escalation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Escalation {
    /// The approver was not asked (the verifier did not escalate).
    #[default]
    NotAsked,
    /// A code was issued and the request waits for `preflight approve CODE`.
    AwaitingCode(String),
    /// A person decided, or an earlier approval was used.
    Decided,
}

/// The hook's approver: uses an approval given with a code for the identical call, else
/// issues a code and, when `wait` is set, waits for a decision until `deadline`.
#[derive(Debug, Clone)]
pub struct CodeApprover {
    store: Arc<dyn ApprovalStore>,
    deadline: Instant,
    wait: bool,
    outcome: Arc<Mutex<Escalation>>,
}

impl CodeApprover {
    /// An approver on `store`; `wait` for a person until `deadline` (else answer at once).
    pub fn new(store: Arc<dyn ApprovalStore>, deadline: Instant, wait: bool) -> Self {
        Self {
            store,
            deadline,
            wait,
            outcome: Arc::new(Mutex::new(Escalation::NotAsked)),
        }
    }

    /// What happened to the escalation, once the gate has answered.
    pub fn outcome(&self) -> Escalation {
        self.outcome
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set(&self, outcome: Escalation) {
        *self.outcome.lock().unwrap_or_else(|p| p.into_inner()) = outcome;
    }

    /// Finds an approved, unexpired, unused code request for `request`'s digest and uses it.
    async fn redeem(&self, request: &ApprovalRequest) -> Result<Option<Approval>, StoreError> {
        let now = Timestamp::now();
        for queued in self.store.history(SEARCH_DEPTH).await? {
            let granted = &queued.request;
            let is_grant = granted.id.starts_with(ID_PREFIX)
                && !granted.id.ends_with(USED_SUFFIX)
                && queued.status == ApprovalStatus::Approved
                && granted.digest == request.digest
                && !granted.is_expired(now);
            if !is_grant {
                continue;
            }
            let Some(approval) = &queued.approval else {
                continue;
            };
            if self.use_up(granted).await? {
                return Ok(Some(approved(request, approval)));
            }
        }
        Ok(None)
    }

    /// Marks `granted` used; `false` when it already was.
    async fn use_up(&self, granted: &ApprovalRequest) -> Result<bool, StoreError> {
        let now = Timestamp::now();
        let marker = ApprovalRequest {
            id: format!("{}{USED_SUFFIX}", granted.id),
            requested_at: now,
            // Expired at once: never pending in the console.
            expires_at: now,
            ..granted.clone()
        };
        match self.store.enqueue(&marker).await {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict(_)) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Queues a request under a new code.
    async fn issue(&self, request: &ApprovalRequest) -> Result<(String, String), ApprovalError> {
        let code = new_code().map_err(|e| ApprovalError::Unavailable(e.to_string()))?;
        let now = Timestamp::now();
        let queued = ApprovalRequest {
            id: request_id(&code),
            requested_at: now,
            expires_at: now.plus(CODE_TTL),
            ..request.clone()
        };
        self.store.enqueue(&queued).await?;
        Ok((code, queued.id))
    }

    /// Waits for a decision on the code's request until the deadline.
    async fn wait_for(
        &self,
        id: &str,
        request: &ApprovalRequest,
    ) -> Result<Approval, ApprovalError> {
        loop {
            if let Some(queued) = self.store.get(id).await? {
                match (queued.status, &queued.approval) {
                    (ApprovalStatus::Approved, Some(approval))
                        if self.use_up(&queued.request).await? =>
                    {
                        return Ok(approved(request, approval));
                    }
                    (ApprovalStatus::Denied, Some(approval)) => {
                        let mut denial = approval.clone();
                        denial.request_id = request.id.clone();
                        return Ok(denial);
                    }
                    _ => {}
                }
            }
            if Instant::now() + POLL >= self.deadline {
                return Err(ApprovalError::Expired);
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

/// The approval of `request` carried over from `given` (a decision on a code's request).
fn approved(request: &ApprovalRequest, given: &Approval) -> Approval {
    Approval::new(
        request,
        ApprovalDecision::Approved,
        format!("{} (approval code)", given.approver),
    )
    .with_comment(format!(
        "approved with a one-time code for request {}",
        given.request_id
    ))
}

#[async_trait]
impl Approver for CodeApprover {
    fn name(&self) -> std::borrow::Cow<'_, str> {
        std::borrow::Cow::Borrowed("approval code")
    }

    async fn request(&self, request: &ApprovalRequest) -> Result<Approval, ApprovalError> {
        if let Some(approval) = self.redeem(request).await? {
            self.set(Escalation::Decided);
            return Ok(approval);
        }
        let (code, id) = self.issue(request).await?;
        self.set(Escalation::AwaitingCode(code.clone()));
        if self.wait {
            let answer = self.wait_for(&id, request).await;
            if answer.is_ok() {
                self.set(Escalation::Decided);
            }
            return answer;
        }
        Err(ApprovalError::Unavailable(format!(
            "waiting for `preflight approve {code}`"
        )))
    }
}

/// `preflight approve CODE`: approves the call the code was issued for. Returns the line to
/// print; a wrong, used or expired code is an error saying which.
pub async fn approve(store: &dyn ApprovalStore, typed: &str) -> Result<String, CliError> {
    let code = normalize(typed).ok_or_else(|| {
        CliError::Input(format!(
            "`{typed}` is not an approval code: expected {CODE_LENGTH} letters and digits, as \
             printed in the hook's reason"
        ))
    })?;
    let id = request_id(&code);
    let queued = store
        .get(&id)
        .await
        .map_err(|e| CliError::Audit(e.to_string()))?
        .ok_or_else(|| {
            CliError::Input(format!(
                "no call waits for approval code {code}: check the code and the --audit store"
            ))
        })?;
    match queued.status {
        ApprovalStatus::Pending => {}
        ApprovalStatus::Expired => {
            return Err(CliError::Input(format!(
                "approval code {code} has expired; retry the call for a new one"
            )));
        }
        ApprovalStatus::Approved | ApprovalStatus::Denied => {
            return Err(CliError::Input(format!(
                "approval code {code} was already used ({})",
                if queued.status == ApprovalStatus::Approved {
                    "approved"
                } else {
                    "denied"
                }
            )));
        }
    }
    let who = std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "terminal".into());
    let approval = Approval::new(&queued.request, ApprovalDecision::Approved, who)
        .with_comment("approved with `preflight approve`");
    store
        .decide(&approval)
        .await
        .map_err(|e| CliError::Input(format!("approval code {code}: {e}")))?;
    let minutes = queued
        .request
        .expires_at
        .as_millis()
        .saturating_sub(Timestamp::now().as_millis())
        / 60_000;
    Ok(format!(
        "approved: {} {}; the agent may retry this exact call once within {minutes} minutes",
        queued.request.action.tool,
        preview(&queued.request.action.input)
    ))
}

fn preview(input: &serde_json::Value) -> String {
    let text = input
        .get("command")
        .and_then(serde_json::Value::as_str)
        .map(String::from)
        .unwrap_or_else(|| input.to_string());
    let mut short: String = text.chars().take(80).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_use_the_alphabet_and_differ() {
        let a = new_code().unwrap();
        let b = new_code().unwrap();
        assert_eq!(a.len(), CODE_LENGTH);
        assert!(a.bytes().all(|c| ALPHABET.contains(&c)), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn typed_codes_are_normalized() {
        assert_eq!(normalize("abcd-efgh").as_deref(), Some("ABCDEFGH"));
        assert_eq!(normalize("ABCD EFGH").as_deref(), Some("ABCDEFGH"));
        assert_eq!(normalize("ABCDEFG"), None);
        assert_eq!(normalize("ABCDEFG0"), None, "0 is not in the alphabet");
        assert_ne!(request_id("ABCDEFGH"), request_id("ABCDEFGJ"));
    }
}
