//! Records as stored: the serialized body, the derived columns, the chain hash, and the
//! OpenTelemetry-style export.

use std::sync::Arc;

use preflight_core::{ApprovalDecision, AuditEvent, AuditKind, Decision, Timestamp};
use serde::Serialize;
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};

/// A SHA-256 chain hash.
pub type Hash = [u8; 32];

/// The hash the first record links to.
pub const GENESIS: Hash = [0u8; 32];

/// A record ready to be chained: its serialized body and the columns derived from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Prepared {
    pub at_ms: i64,
    pub proposal_id: Arc<str>,
    pub digest: String,
    pub agent: Option<Arc<str>>,
    pub tool: Arc<str>,
    pub kind: &'static str,
    pub decision: Option<&'static str>,
    pub body: String,
}

impl Prepared {
    /// Serializes `event` and derives the indexed columns.
    pub fn new(event: &AuditEvent) -> Result<Self, String> {
        // The chain hashes the stored text itself, so any stable serialization will do; the
        // derived one avoids building a JSON tree per record.
        let body = serde_json::to_string(event).map_err(|e| e.to_string())?;
        Ok(Self {
            at_ms: i64::try_from(event.at.as_millis()).map_err(|_| "time out of range")?,
            proposal_id: event.proposal_id.clone(),
            digest: event.digest.to_hex(),
            agent: event.agent.clone(),
            tool: event.tool.clone(),
            kind: event.kind.type_name(),
            decision: decision_of(&event.kind).map(Decision::as_str),
            body,
        })
    }
}

/// The decision a record states, if it states one: the verdict of `verified`, the decision of
/// `refused`, allow for `permitted`, and a person's answer for `approval_decided`.
pub fn decision_of(kind: &AuditKind) -> Option<Decision> {
    match kind {
        AuditKind::Verified { verdict } => Some(verdict.decision),
        AuditKind::Refused { decision, .. } => Some(*decision),
        AuditKind::Permitted { .. } => Some(Decision::Allow),
        AuditKind::ApprovalDecided { approval } => Some(match approval.decision {
            ApprovalDecision::Approved => Decision::Allow,
            ApprovalDecision::Denied => Decision::Deny,
        }),
        AuditKind::Proposed { .. }
        | AuditKind::ApprovalRequested { .. }
        | AuditKind::Completed { .. } => None,
    }
}

/// The chain hash of a record: SHA-256 over the previous record's hash, the record's sequence
/// number (8 bytes, big endian) and its JSON body as stored.
pub fn chain_hash(prev: &Hash, seq: u64, body: &str) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(prev);
    hasher.update(seq.to_be_bytes());
    hasher.update(body.as_bytes());
    hasher.finalize().into()
}

/// The message a checkpoint signs.
pub(crate) fn checkpoint_message(seq: u64, hash: &Hash) -> Vec<u8> {
    let mut message = b"preflight-audit checkpoint v1\n".to_vec();
    message.extend_from_slice(&seq.to_be_bytes());
    message.extend_from_slice(hash);
    message
}

pub(crate) fn to_hash(bytes: &[u8]) -> Option<Hash> {
    bytes.try_into().ok()
}

/// One record of the trail, as read back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredRecord {
    /// Its position in the chain, from 1.
    pub seq: u64,
    /// Its chain hash, 64 hex digits.
    pub hash: String,
    /// The previous record's chain hash, 64 hex digits.
    pub prev_hash: String,
    /// The decision it states, if any (see [`decision_of`]).
    pub decision: Option<Decision>,
    /// The record.
    pub event: AuditEvent,
}

impl StoredRecord {
    /// The record as one OpenTelemetry-style log record (the field names of the OpenTelemetry
    /// log data model, with `gen_ai.*` semantic-convention attributes where they apply).
    pub fn to_otel(&self) -> Value {
        let event = &self.event;
        let mut attributes = Map::new();
        attributes.insert("preflight.audit.seq".into(), json!(self.seq));
        attributes.insert("preflight.audit.hash".into(), json!(self.hash));
        attributes.insert("preflight.audit.prev_hash".into(), json!(self.prev_hash));
        attributes.insert("preflight.proposal.id".into(), json!(event.proposal_id));
        attributes.insert(
            "preflight.action.digest".into(),
            json!(event.digest.to_hex()),
        );
        attributes.insert("gen_ai.tool.name".into(), json!(event.tool));
        if let Some(agent) = &event.agent {
            attributes.insert("gen_ai.agent.id".into(), json!(agent));
        }
        if let Some(decision) = self.decision {
            attributes.insert("preflight.decision".into(), json!(decision.as_str()));
        }
        let body = serde_json::to_value(&event.kind).unwrap_or(Value::Null);
        json!({
            "time_unix_nano": (u128::from(event.at.as_millis()) * 1_000_000).to_string(),
            "severity_text": severity(&event.kind),
            "severity_number": severity_number(&event.kind),
            "event_name": format!("preflight.{}", event.kind.type_name()),
            "attributes": attributes,
            "body": body,
        })
    }
}

fn severity(kind: &AuditKind) -> &'static str {
    match severity_number(kind) {
        17 => "ERROR",
        13 => "WARN",
        _ => "INFO",
    }
}

fn severity_number(kind: &AuditKind) -> u8 {
    match kind {
        AuditKind::Completed { outcome } if !outcome.success => 17,
        AuditKind::Refused { .. } => 13,
        AuditKind::ApprovalDecided { approval }
            if approval.decision == ApprovalDecision::Denied =>
        {
            13
        }
        _ => 9,
    }
}

/// Which records to read: every condition given must hold. Records come oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only records of this agent.
    pub agent: Option<String>,
    /// Only records of this tool.
    pub tool: Option<String>,
    /// Only records stating this decision (see [`decision_of`]).
    pub decision: Option<Decision>,
    /// Only records of this type (`proposed`, `verified`, `refused`, …).
    pub kind: Option<String>,
    /// Only records of this proposal.
    pub proposal_id: Option<String>,
    /// Only records at or after this time.
    pub since: Option<Timestamp>,
    /// Only records before this time.
    pub until: Option<Timestamp>,
    /// Only records after this sequence number (for paging).
    pub after_seq: Option<u64>,
    /// At most this many records.
    pub limit: Option<usize>,
}

impl Filter {
    /// Every record.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only records of `agent`.
    pub fn with_agent(mut self, agent: impl Into<String>) -> Self {
        self.agent = Some(agent.into());
        self
    }

    /// Only records of `tool`.
    pub fn with_tool(mut self, tool: impl Into<String>) -> Self {
        self.tool = Some(tool.into());
        self
    }

    /// Only records stating `decision`.
    pub fn with_decision(mut self, decision: Decision) -> Self {
        self.decision = Some(decision);
        self
    }

    /// Only records of this type.
    pub fn with_kind(mut self, kind: impl Into<String>) -> Self {
        self.kind = Some(kind.into());
        self
    }

    /// Only records of this proposal.
    pub fn with_proposal(mut self, proposal_id: impl Into<String>) -> Self {
        self.proposal_id = Some(proposal_id.into());
        self
    }

    /// Only records at or after `since`.
    pub fn since(mut self, since: Timestamp) -> Self {
        self.since = Some(since);
        self
    }

    /// Only records before `until`.
    pub fn until(mut self, until: Timestamp) -> Self {
        self.until = Some(until);
        self
    }

    /// At most `limit` records.
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Whether `record` passes the filter (the same test the database applies).
    pub fn matches(&self, record: &StoredRecord) -> bool {
        let event = &record.event;
        self.agent
            .as_ref()
            .is_none_or(|a| event.agent.as_deref() == Some(a.as_str()))
            && self.tool.as_ref().is_none_or(|t| *event.tool == **t)
            && self.decision.is_none_or(|d| record.decision == Some(d))
            && self
                .kind
                .as_ref()
                .is_none_or(|k| event.kind.type_name() == k)
            && self
                .proposal_id
                .as_ref()
                .is_none_or(|p| *event.proposal_id == **p)
            && self.since.is_none_or(|s| event.at >= s)
            && self.until.is_none_or(|u| event.at < u)
            && self.after_seq.is_none_or(|s| record.seq > s)
    }
}
