//! Building the verifier, the gate and the stores from the settings, and deciding one action.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use preflight_approval::{ConsoleApprover, TerminalApprover};
use preflight_audit::AuditStore;
use preflight_core::compose::verify_within;
use preflight_core::{
    Action, Approver, Checked, Decision, Effect, FailClosed, Gate, Inspection, Inspector, Proposal,
    Verdict, Verifier,
};
use preflight_rules::{Policy, PolicyVerifier};
use serde::Serialize;

use crate::config::{ApproverKind, Settings, Verifiers};
use crate::error::CliError;

/// Inspection through a loaded policy's inspector (with the policy's environments).
#[derive(Debug, Clone)]
pub struct PolicyInspector(pub Arc<Policy>);

impl Inspector for PolicyInspector {
    fn inspect(&self, action: &Action) -> Inspection {
        self.0.inspect(action)
    }
}

/// Loads the policy: a file, or `builtin:NAME` for a pack shipped with preflight.
pub fn load_policy(path: &std::path::Path) -> Result<Arc<Policy>, CliError> {
    Policy::load(&path.to_string_lossy())
        .map(Arc::new)
        .map_err(|e| CliError::Policy(e.to_string()))
}

/// Opens the audit store at `url`.
pub async fn open_audit(url: &str) -> Result<AuditStore, CliError> {
    AuditStore::open(url)
        .await
        .map_err(|e| CliError::Audit(format!("{url}: {e}")))
}

/// Tree heads are witnessed every this many records (and when the store closes).
const WITNESS_EVERY: u64 = 1_000;

/// Opens the audit store at `url` with the settings' signing key and witness; `read_only`:
/// the trail must exist (verify, tail, export never create one).
pub async fn open_audit_with(
    settings: &Settings,
    url: &str,
    read_only: bool,
) -> Result<AuditStore, CliError> {
    let audit_error = |e: preflight_audit::AuditError| CliError::Audit(format!("{url}: {e}"));
    let mut builder = AuditStore::builder(url);
    if let Some(path) = &settings.audit_signing_key {
        builder = builder.with_signing_key(read_key_file(path)?, WITNESS_EVERY);
    }
    if let Some(witness) = witness_for(settings, url) {
        builder = builder.with_witness(witness, WITNESS_EVERY);
    }
    if settings.audit_one_shot {
        builder = builder.one_shot();
    }
    if read_only {
        builder = builder.must_exist();
    }
    builder.build().await.map_err(audit_error)
}

/// The witness file: the one named, else beside a SQLite trail (`<file>.heads`) when the trail
/// is signed or the file already exists.
pub fn witness_for(settings: &Settings, url: &str) -> Option<PathBuf> {
    if let Some(path) = &settings.audit_witness {
        return Some(path.clone());
    }
    let file = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let file = file.split('?').next().unwrap_or(file);
    let heads = PathBuf::from(format!("{file}.heads"));
    (settings.audit_signing_key.is_some() || heads.exists()).then_some(heads)
}

/// Reads an ed25519 signing key: 64 hex digits (its seed), as `preflight audit keygen` writes.
pub fn read_key_file(path: &std::path::Path) -> Result<preflight_audit::SigningKey, CliError> {
    let bytes = read_hex_key(path)?;
    Ok(preflight_audit::SigningKey::from_bytes(&bytes))
}

/// Reads an ed25519 public key: 64 hex digits, as `preflight audit keygen` writes to `.pub`.
pub fn read_public_key_file(
    path: &std::path::Path,
) -> Result<preflight_audit::VerifyingKey, CliError> {
    let bytes = read_hex_key(path)?;
    preflight_audit::VerifyingKey::from_bytes(&bytes).map_err(|e| {
        CliError::Config(format!(
            "{}: not an ed25519 public key: {e}",
            path.display()
        ))
    })
}

fn read_hex_key(path: &std::path::Path) -> Result<[u8; 32], CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::io(format!("reading {}", path.display()), e))?;
    let text = text.trim();
    let bytes: Option<Vec<u8>> = (text.len() == 64 && text.is_ascii())
        .then(|| {
            (0..64)
                .step_by(2)
                .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
                .collect()
        })
        .flatten();
    bytes
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| {
            CliError::Config(format!(
                "{}: expected 64 hexadecimal digits",
                path.display()
            ))
        })
}

/// The audit store used where one is required and none is configured: a SQLite file in the
/// user's state directory (`$XDG_STATE_HOME/preflight/audit.db` or
/// `~/.local/state/preflight/audit.db`).
pub fn default_audit_url() -> Result<String, CliError> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .ok_or_else(|| {
            CliError::Config("no audit store: pass --audit URL or set PREFLIGHT_AUDIT".into())
        })?;
    let dir = state.join("preflight");
    std::fs::create_dir_all(&dir)
        .map_err(|e| CliError::io(format!("creating {}", dir.display()), e))?;
    Ok(format!("sqlite://{}", dir.join("audit.db").display()))
}

/// Makes the gate's approver from the open audit store.
pub type MakeApprover<'a> = dyn Fn(&AuditStore) -> Arc<dyn Approver> + Sync + 'a;

/// The verifier, the gate (when there is an audit store) and what the output needs.
#[derive(Debug, Clone)]
pub struct Engine {
    /// The loaded policy, when the rules verifier runs.
    pub policy: Option<Arc<Policy>>,
    /// The verifier (rules, LLM, or both stacked).
    pub verifier: Arc<dyn Verifier>,
    /// The gate, when an audit store is open: decisions are recorded, escalations go to the
    /// approver.
    pub gate: Option<Gate>,
    /// The audit store, when open.
    pub audit: Option<AuditStore>,
    /// The verification deadline.
    pub deadline: Duration,
    /// What a verifier failure becomes.
    pub on_failure: FailClosed,
    /// How many proposals reached the judge, when the rules run first and the judge after.
    pub judge_stats: Option<Arc<preflight_llm::JudgeStats>>,
}

/// What was decided about one action.
#[derive(Debug, Clone, Serialize)]
pub struct Decided {
    /// The final decision (never abstain).
    pub decision: Decision,
    /// The rule ids that decided.
    pub rules: Vec<String>,
    /// A one-line reason.
    pub message: String,
    /// A safer alternative, when the verifier suggests one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
    /// What inspection derived.
    pub effects: Vec<Effect>,
    /// The derived blast radius.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blast_radius: Option<preflight_core::BlastRadius>,
    /// The audit trail's key for this action, when it was recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proposal_id: Option<String>,
    /// The full verdict, with every verifier's reasons.
    pub verdict: Verdict,
}

impl Engine {
    /// Builds the verifier from the settings; opens the audit store when `with_gate` and one is
    /// configured (or `require_audit`, with the default store).
    pub async fn build(settings: &Settings, require_audit: bool) -> Result<Self, CliError> {
        Self::build_with(settings, require_audit, None).await
    }

    /// Like [`Engine::build`], with the approver made by `approver` from the open audit store
    /// in place of the configured one.
    pub async fn build_with(
        settings: &Settings,
        require_audit: bool,
        approver: Option<&MakeApprover<'_>>,
    ) -> Result<Self, CliError> {
        let policy_path = match settings.verifiers {
            Verifiers::Rules | Verifiers::Both => Some(settings.require_policy()?.to_path_buf()),
            Verifiers::Llm => settings.policy.clone(),
        };
        let url = match (&settings.audit, require_audit) {
            (Some(url), _) => Some(url.clone()),
            (None, true) => Some(default_audit_url()?),
            (None, false) => None,
        };
        let (policy, store) = match &url {
            // The policy is compiled on a thread of its own while the audit store opens: each
            // takes about as long as the other, and a hook waits for both.
            Some(url) => {
                let loading =
                    policy_path.map(|path| std::thread::spawn(move || load_policy(&path)));
                let opened = open_audit_with(settings, url, false).await;
                let policy = loading
                    .map(|thread| {
                        thread.join().map_err(|_| {
                            CliError::Policy(
                                "the policy could not be loaded: its loader failed".into(),
                            )
                        })?
                    })
                    .transpose()?;
                (policy, Some(opened?))
            }
            None => (
                policy_path.map(|path| load_policy(&path)).transpose()?,
                None,
            ),
        };
        let on_failure = if settings.escalate_on_failure {
            FailClosed::Escalate
        } else {
            FailClosed::Deny
        };
        let mut judge_stats = None;
        let verifier: Arc<dyn Verifier> = match settings.verifiers {
            Verifiers::Rules => Arc::new(rules_verifier(&policy)?),
            Verifiers::Llm => Arc::new(llm_verifier(settings)?),
            Verifiers::Both => {
                // The judge sees only what the rules leave open, and by default only tightens.
                let mut both = preflight_llm::RulesThenJudge::new(
                    rules_verifier(&policy)?,
                    llm_verifier(settings)?,
                )
                .may_loosen(settings.llm.may_loosen.unwrap_or(false))
                .on_failure(on_failure);
                if let Some(policy) = &policy {
                    both = both.with_inspector(Arc::new(PolicyInspector(Arc::clone(policy))));
                }
                judge_stats = Some(both.stats());
                Arc::new(both)
            }
        };
        let deadline = Duration::from_millis(settings.timeout_ms);
        let (gate, audit) = match store {
            None => (None, None),
            Some(store) => {
                let mut builder = Gate::builder(Arc::clone(&verifier))
                    .with_audit(store.clone())
                    .with_deadline(deadline)
                    .on_failure(on_failure)
                    .with_approval_ttl(Duration::from_secs(settings.approval_timeout_secs));
                if let Some(policy) = &policy {
                    builder = builder.with_inspector(PolicyInspector(Arc::clone(policy)));
                }
                builder = match (approver, settings.approver) {
                    (Some(make), _) => builder.with_approver(make(&store)),
                    (None, ApproverKind::None) => builder,
                    (None, ApproverKind::Terminal) => {
                        builder.with_approver(TerminalApprover::new())
                    }
                    (None, ApproverKind::Console) => builder.with_approver(ConsoleApprover::new(
                        Arc::new(store.clone()) as Arc<dyn preflight_core::ApprovalStore>,
                    )),
                };
                let gate = builder.build().map_err(|e| CliError::Gate(e.to_string()))?;
                (Some(gate), Some(store))
            }
        };
        if settings.approver != ApproverKind::None && gate.is_none() {
            return Err(CliError::Config(format!(
                "the {:?} approver needs an audit store: pass --audit URL",
                settings.approver
            )));
        }
        Ok(Self {
            policy,
            verifier,
            gate,
            audit,
            deadline,
            on_failure,
            judge_stats,
        })
    }

    /// Inspects `action` with the policy's inspector, when there is a policy.
    pub fn inspect(&self, action: &Action) -> Option<Inspection> {
        self.policy.as_ref().map(|p| p.inspect(action))
    }

    /// Decides `action`: through the gate (recorded, escalations to the approver) when there
    /// is one, else by the verifier alone. Never returns abstain: an abstention is the
    /// fail-closed deny.
    pub async fn decide(&self, action: Action) -> Result<Decided, CliError> {
        action
            .validate()
            .map_err(|e| CliError::Input(e.to_string()))?;
        match &self.gate {
            Some(gate) => {
                let checked = gate
                    .check(action)
                    .await
                    .map_err(|e| CliError::Gate(e.to_string()))?;
                Ok(decided(checked))
            }
            None => {
                let inspection = self.inspect(&action);
                let proposal = Proposal {
                    digest: action.digest(),
                    action: Arc::new(action),
                    inspection: inspection.clone(),
                };
                let mut verdict = verify_within(
                    self.verifier.as_ref(),
                    &proposal,
                    self.deadline,
                    self.on_failure,
                )
                .await;
                if verdict.decision == Decision::Abstain {
                    verdict.decision = self.on_failure.decision();
                }
                Ok(Decided {
                    decision: verdict.decision,
                    rules: deciding_rules(&verdict),
                    message: verdict.summary(),
                    suggestion: verdict.suggestion.clone(),
                    effects: inspection
                        .as_ref()
                        .map(|i| i.effects.clone())
                        .unwrap_or_default(),
                    blast_radius: inspection.map(|i| i.blast_radius),
                    proposal_id: None,
                    verdict,
                })
            }
        }
    }
}

/// What the gate decided, for output.
pub fn decided(checked: Checked) -> Decided {
    let message = if checked.message.is_empty() {
        checked.verdict.summary()
    } else {
        checked.message.clone()
    };
    Decided {
        decision: checked.decision,
        rules: deciding_rules(&checked.verdict),
        message,
        suggestion: checked.verdict.suggestion.clone(),
        effects: checked
            .inspection
            .as_ref()
            .map(|i| i.effects.clone())
            .unwrap_or_default(),
        blast_radius: checked.inspection.as_ref().map(|i| i.blast_radius.clone()),
        proposal_id: Some(checked.proposal_id.to_string()),
        verdict: Arc::unwrap_or_clone(checked.verdict),
    }
}

fn deciding_rules(verdict: &Verdict) -> Vec<String> {
    verdict
        .deciding_rules()
        .into_iter()
        .map(String::from)
        .collect()
}

fn rules_verifier(policy: &Option<Arc<Policy>>) -> Result<PolicyVerifier, CliError> {
    policy
        .as_ref()
        .map(|p| PolicyVerifier::new(Arc::clone(p)))
        .ok_or_else(|| CliError::Config("the rules verifier needs a policy".into()))
}

fn llm_verifier(settings: &Settings) -> Result<preflight_llm::LlmVerifier, CliError> {
    let llm = &settings.llm;
    let invalid = |e: preflight_llm::LlmError| CliError::Config(format!("[llm]: {e}"));
    let mut builder = preflight_llm::LlmVerifierBuilder::new()
        .deadline(Duration::from_millis(settings.timeout_ms));
    if let Some(envelope) = &llm.envelope {
        builder = builder.envelope(envelope.clone());
    } else if let Some(path) = &settings.policy {
        builder = builder.envelope(policy_text(path)?);
    }
    if let Some(provider) = &llm.provider {
        builder = builder.provider(provider.parse().map_err(invalid)?);
    }
    if let Some(base_url) = &llm.base_url {
        builder = builder.base_url(base_url.clone());
    }
    if let Some(model) = &llm.model {
        builder = builder.model(model.clone());
    }
    if let Some(mode) = &llm.structured_output {
        builder = builder.structured_output(mode.parse().map_err(invalid)?);
    }
    if let Some(threshold) = llm.confidence_threshold {
        builder = builder.confidence_threshold(threshold);
    }
    if llm.samples.is_some() || llm.agreement.is_some() {
        builder = builder.self_consistency(llm.samples.unwrap_or(1), llm.agreement.unwrap_or(1.0));
    }
    if let Some(max_tokens) = llm.max_tokens {
        builder = builder.max_tokens(max_tokens);
    }
    builder
        .from_env()
        .and_then(preflight_llm::LlmVerifierBuilder::build)
        .map_err(|e| CliError::Verifier(e.to_string()))
}

/// The text of the policy named `path`: a file, or a built-in pack.
pub fn policy_text(path: &std::path::Path) -> Result<String, CliError> {
    let name = path.to_string_lossy();
    if let Some(pack) = name.strip_prefix(preflight_rules::packs::PREFIX) {
        return preflight_rules::packs::builtin(pack)
            .map(|(_, text)| text.to_string())
            .ok_or_else(|| {
                CliError::Policy(format!(
                    "{name}: no such built-in policy; the built-in policies are {}",
                    preflight_rules::packs::names()
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            });
    }
    std::fs::read_to_string(path)
        .map_err(|e| CliError::io(format!("reading {}", path.display()), e))
}

/// The largest action (or hook payload) accepted, in bytes: past it the input is refused, and
/// only counted and hashed as it is read, so that memory stays bounded whatever is sent.
pub const MAX_INPUT_BYTES: u64 = 1 << 20;

/// Reads `reader` as text; past [`MAX_INPUT_BYTES`] it is [`CliError::Oversized`], naming
/// the limit and carrying what the audit trail keeps of it.
pub fn read_bounded(reader: impl std::io::Read, what: &str) -> Result<String, CliError> {
    let bytes = crate::oversized::read(reader)
        .map_err(|e| CliError::io(format!("reading {what}"), e))?
        .map_err(|input| CliError::Oversized {
            what: what.to_string(),
            input,
        })?;
    String::from_utf8(bytes).map_err(|_| CliError::Input(format!("{what} is not UTF-8")))
}

/// Reads an action from a file, or standard input for `-`; errors name the field at fault.
pub fn read_action(source: &str) -> Result<Action, CliError> {
    let text = if source == "-" {
        read_bounded(std::io::stdin().lock(), "standard input")?
    } else {
        let file = std::fs::File::open(source)
            .map_err(|e| CliError::io(format!("reading {source}"), e))?;
        read_bounded(file, source)?
    };
    if text.trim().is_empty() {
        return Err(CliError::Input(format!(
            "{source}: no action given (empty input)"
        )));
    }
    Action::from_json(&text).map_err(|e| {
        let position = e
            .line
            .map(|l| format!(" (line {l}, column {})", e.column.unwrap_or(0)))
            .unwrap_or_default();
        CliError::Input(format!("{source}: {e}{position}"))
    })
}

/// Converts a serializable value to JSON text, or a fail-closed error.
pub fn to_json<T: Serialize>(value: &T, pretty: bool) -> Result<String, CliError> {
    let result = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    };
    result.map_err(|e| CliError::io("writing JSON", e))
}
