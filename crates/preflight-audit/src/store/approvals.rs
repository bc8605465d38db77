//! The approval queue: escalated actions any console instance can decide.

use async_trait::async_trait;
use preflight_core::{
    Approval, ApprovalDecision, ApprovalRequest, ApprovalStatus, ApprovalStore, QueueChange,
    QueuedApproval, StoreError, Timestamp,
};
use tokio::sync::broadcast;

use super::feed::NOTIFY_CHANNEL;
use super::rows::millis;
use super::{AuditStore, Backend, on_pool};
use crate::error::AuditError;

#[derive(sqlx::FromRow)]
pub(super) struct ApprovalRow {
    id: String,
    expires_at: i64,
    status: String,
    request: String,
    approval: Option<String>,
}

pub(super) const APPROVAL_COLUMNS: &str =
    "SELECT id, expires_at, status, request, approval FROM approvals";

pub(super) fn status_name(status: ApprovalStatus) -> &'static str {
    match status {
        ApprovalStatus::Pending => "pending",
        ApprovalStatus::Approved => "approved",
        ApprovalStatus::Denied => "denied",
        ApprovalStatus::Expired => "expired",
    }
}

pub(super) fn to_queued(row: &ApprovalRow, now: Timestamp) -> Result<QueuedApproval, AuditError> {
    let unreadable = |message: String| AuditError::Unreadable {
        row: row.id.clone(),
        message,
    };
    let request: ApprovalRequest =
        serde_json::from_str(&row.request).map_err(|e| unreadable(e.to_string()))?;
    let approval = row
        .approval
        .as_deref()
        .map(serde_json::from_str::<Approval>)
        .transpose()
        .map_err(|e| unreadable(e.to_string()))?;
    let mut status = match row.status.as_str() {
        "pending" => ApprovalStatus::Pending,
        "approved" => ApprovalStatus::Approved,
        "denied" => ApprovalStatus::Denied,
        "expired" => ApprovalStatus::Expired,
        other => return Err(unreadable(format!("unknown status `{other}`"))),
    };
    if status == ApprovalStatus::Pending && millis(now) >= row.expires_at {
        status = ApprovalStatus::Expired;
    }
    Ok(QueuedApproval {
        request,
        status,
        approval,
    })
}

pub(super) fn change_payload(change: &QueueChange) -> String {
    serde_json::to_string(change).unwrap_or_default()
}

pub(super) fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_unique_violation())
}

/// Announces a queue change inside the transaction that makes it: NOTIFY on PostgreSQL
/// (delivered on commit), a row in `approval_changes` on SQLite (polled).
macro_rules! announce_in {
    ($tx:expr, $is_postgres:expr, $change:expr) => {{
        let change: &QueueChange = $change;
        if $is_postgres {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(NOTIFY_CHANNEL)
                .bind(change_payload(change))
                .execute(&mut *$tx)
                .await
                .map(|_| ())
        } else {
            let (kind, id) = match change {
                QueueChange::Enqueued { id } => ("enqueued", id),
                QueueChange::Decided { id } => ("decided", id),
            };
            sqlx::query("INSERT INTO approval_changes (kind, id) VALUES ($1, $2)")
                .bind(kind)
                .bind(id.as_str())
                .execute(&mut *$tx)
                .await
                .map(|_| ())
        }
    }};
}

impl AuditStore {
    async fn get_row(&self, id: &str) -> Result<Option<ApprovalRow>, AuditError> {
        Ok(on_pool!(&self.inner.backend, pool => {
            sqlx::query_as(&format!("{APPROVAL_COLUMNS} WHERE id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
        }))
    }

    async fn enqueue_request(&self, request: &ApprovalRequest) -> Result<(), AuditError> {
        let body = serde_json::to_string(request).map_err(|e| AuditError::Unreadable {
            row: request.id.clone(),
            message: e.to_string(),
        })?;
        let change = QueueChange::Enqueued {
            id: request.id.clone(),
        };
        let result: Result<(), sqlx::Error> = on_pool!(&self.inner.backend, pool => {
            async {
                let mut tx = pool.begin_with(BEGIN).await?;
                sqlx::query(
                    "INSERT INTO approvals (id, proposal_id, requested_at, expires_at, status, \
                     request) VALUES ($1, $2, $3, $4, 'pending', $5)",
                )
                .bind(&request.id)
                .bind(&request.proposal_id)
                .bind(millis(request.requested_at))
                .bind(millis(request.expires_at))
                .bind(&body)
                .execute(&mut *tx)
                .await?;
                announce_in!(tx, IS_POSTGRES, &change)?;
                tx.commit().await
            }.await
        });
        match result {
            Ok(()) => {
                self.announce_local().await;
                Ok(())
            }
            Err(error) if is_unique_violation(&error) => Err(AuditError::Conflict(format!(
                "request {} is already queued",
                request.id
            ))),
            Err(error) => Err(error.into()),
        }
    }

    async fn decide_request(&self, approval: &Approval) -> Result<QueuedApproval, AuditError> {
        let now = Timestamp::now();
        let Some(row) = self.get_row(&approval.request_id).await? else {
            return Err(AuditError::Conflict(format!(
                "no request {}",
                approval.request_id
            )));
        };
        let current = to_queued(&row, now)?;
        if current.status != ApprovalStatus::Pending {
            return Err(AuditError::Conflict(format!(
                "request {} is already {}",
                approval.request_id,
                status_name(current.status)
            )));
        }
        approval
            .binds_to(&current.request)
            .map_err(AuditError::Conflict)?;
        let status = match approval.decision {
            ApprovalDecision::Approved => ApprovalStatus::Approved,
            ApprovalDecision::Denied => ApprovalStatus::Denied,
        };
        let body = serde_json::to_string(approval).map_err(|e| AuditError::Unreadable {
            row: approval.request_id.clone(),
            message: e.to_string(),
        })?;
        let change = QueueChange::Decided {
            id: approval.request_id.clone(),
        };
        let updated: u64 = on_pool!(&self.inner.backend, pool => {
            let mut tx = pool.begin_with(BEGIN).await?;
            // Only a pending, unexpired request changes: of racing decisions one wins.
            let done = sqlx::query(
                "UPDATE approvals SET status = $1, approval = $2, decided_at = $3 \
                 WHERE id = $4 AND status = 'pending' AND expires_at > $5",
            )
            .bind(status_name(status))
            .bind(&body)
            .bind(millis(approval.decided_at))
            .bind(&approval.request_id)
            .bind(millis(now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if done == 1 {
                announce_in!(tx, IS_POSTGRES, &change)?;
            }
            tx.commit().await?;
            done
        });
        if updated != 1 {
            return Err(AuditError::Conflict(format!(
                "request {} was decided by someone else or expired",
                approval.request_id
            )));
        }
        self.announce_local().await;
        Ok(QueuedApproval {
            request: current.request,
            status,
            approval: Some(approval.clone()),
        })
    }
}

impl AuditStore {
    async fn announce_local(&self) {
        self.inner.poke.notify_one();
    }
}

#[async_trait]
impl ApprovalStore for AuditStore {
    async fn enqueue(&self, request: &ApprovalRequest) -> Result<(), StoreError> {
        Ok(self.enqueue_request(request).await?)
    }

    async fn get(&self, id: &str) -> Result<Option<QueuedApproval>, StoreError> {
        let now = Timestamp::now();
        let row = self.get_row(id).await?;
        Ok(row.map(|r| to_queued(&r, now)).transpose()?)
    }

    async fn pending(&self, now: Timestamp) -> Result<Vec<QueuedApproval>, StoreError> {
        let rows: Vec<ApprovalRow> = on_pool!(&self.inner.backend, pool => {
            sqlx::query_as(&format!(
                "{APPROVAL_COLUMNS} WHERE status = 'pending' AND expires_at > $1 \
                 ORDER BY requested_at, id"
            ))
            .bind(millis(now))
            .fetch_all(pool)
            .await
            .map_err(AuditError::from)?
        });
        Ok(rows
            .iter()
            .map(|r| to_queued(r, now))
            .collect::<Result<_, _>>()?)
    }

    async fn history(&self, limit: usize) -> Result<Vec<QueuedApproval>, StoreError> {
        let now = Timestamp::now();
        let rows: Vec<ApprovalRow> = on_pool!(&self.inner.backend, pool => {
            sqlx::query_as(&format!(
                "{APPROVAL_COLUMNS} WHERE status <> 'pending' OR expires_at <= $1 \
                 ORDER BY COALESCE(decided_at, expires_at) DESC, id LIMIT $2"
            ))
            .bind(millis(now))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(pool)
            .await
            .map_err(AuditError::from)?
        });
        Ok(rows
            .iter()
            .map(|r| to_queued(r, now))
            .collect::<Result<_, _>>()?)
    }

    async fn decide(&self, approval: &Approval) -> Result<QueuedApproval, StoreError> {
        Ok(self.decide_request(approval).await?)
    }

    fn subscribe(&self) -> broadcast::Receiver<QueueChange> {
        self.inner.changes.subscribe()
    }
}
