//! Records as rows: the columns read, the filters as SQL, and rows back into records.

use preflight_core::{AuditEvent, Timestamp, to_hex};
use sqlx::QueryBuilder;

use crate::error::AuditError;
use crate::record::{Filter, StoredRecord};
use crate::verify::RawRow;

/// Rows read per round trip when walking or exporting the trail.
pub(super) const PAGE: i64 = 2_000;

/// The columns of a record, from `audit_records` as `r`.
pub(super) const SELECT_RECORDS: &str = "SELECT r.seq, r.at_ms, r.proposal_id, r.digest, r.agent, r.tool, \
     r.kind, r.decision, r.body, r.prev_hash, r.hash";

/// Adds `filter`'s conditions on `audit_records` as `r` (the same test as [`Filter::matches`]).
pub(super) fn push_filters<'a, Db: sqlx::Database>(q: &mut QueryBuilder<'a, Db>, filter: &'a Filter)
where
    String: sqlx::Encode<'a, Db> + sqlx::Type<Db>,
    &'a str: sqlx::Encode<'a, Db> + sqlx::Type<Db>,
    i64: sqlx::Encode<'a, Db> + sqlx::Type<Db>,
{
    if let Some(agent) = &filter.agent {
        q.push(" AND r.agent = ").push_bind(agent.as_str());
    }
    if let Some(tool) = &filter.tool {
        q.push(" AND r.tool = ").push_bind(tool.as_str());
    }
    if let Some(decision) = filter.decision {
        q.push(" AND r.decision = ").push_bind(decision.as_str());
    }
    if let Some(kind) = &filter.kind {
        q.push(" AND r.kind = ").push_bind(kind.as_str());
    }
    if let Some(proposal) = &filter.proposal_id {
        q.push(" AND r.proposal_id = ").push_bind(proposal.as_str());
    }
    if let Some(since) = filter.since {
        q.push(" AND r.at_ms >= ").push_bind(millis(since));
    }
    if let Some(until) = filter.until {
        q.push(" AND r.at_ms < ").push_bind(millis(until));
    }
    if let Some(after) = filter.after_seq {
        q.push(" AND r.seq > ")
            .push_bind(i64::try_from(after).unwrap_or(i64::MAX));
    }
}

pub(super) fn to_record(row: &RawRow) -> Result<StoredRecord, AuditError> {
    let unreadable = |message: String| AuditError::Unreadable {
        row: row.seq.to_string(),
        message,
    };
    let event: AuditEvent =
        serde_json::from_str(&row.body).map_err(|e| unreadable(e.to_string()))?;
    Ok(StoredRecord {
        seq: u64::try_from(row.seq).map_err(|e| unreadable(e.to_string()))?,
        hash: to_hex(&row.hash),
        prev_hash: to_hex(&row.prev_hash),
        decision: crate::record::decision_of(&event.kind),
        event,
    })
}

pub(super) fn millis(at: Timestamp) -> i64 {
    i64::try_from(at.as_millis()).unwrap_or(i64::MAX)
}
