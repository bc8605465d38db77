//! The change feed behind `subscribe()`: LISTEN on PostgreSQL, polling on SQLite.

use std::sync::Arc;
use std::time::Duration;

use preflight_core::QueueChange;
use tokio::sync::{Notify, broadcast, oneshot};

use super::Backend;
use crate::error::AuditError;

/// The PostgreSQL channel queue changes are announced on.
pub const NOTIFY_CHANNEL: &str = "preflight_approvals";

/// Feeds `subscribe()`: LISTEN on PostgreSQL, polling `approval_changes` on SQLite.
pub(super) async fn start_change_feed(
    backend: &Backend,
    changes: broadcast::Sender<QueueChange>,
    mut shutdown: oneshot::Receiver<()>,
    poke: Arc<Notify>,
    interval: Duration,
) -> Result<(), AuditError> {
    match backend {
        #[cfg(feature = "sqlite")]
        Backend::Sqlite(pool) => {
            let pool = pool.clone();
            let mut last: i64 =
                sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM approval_changes")
                    .fetch_one(&pool)
                    .await?;
            let mut pruned_at = last;
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = &mut shutdown => break,
                        () = poke.notified() => {}
                        () = tokio::time::sleep(interval) => {}
                    }
                    let rows: Result<Vec<(i64, String, String)>, _> = sqlx::query_as(
                        "SELECT seq, kind, id FROM approval_changes WHERE seq > $1 ORDER BY seq",
                    )
                    .bind(last)
                    .fetch_all(&pool)
                    .await;
                    let Ok(rows) = rows else { continue };
                    if last - pruned_at > 10_000 {
                        // Keep the change log short; no instance lags this far behind.
                        pruned_at = last;
                        let _ = sqlx::query("DELETE FROM approval_changes WHERE seq < $1")
                            .bind(last - 100_000)
                            .execute(&pool)
                            .await;
                    }
                    for (seq, kind, id) in rows {
                        last = seq;
                        let change = if kind == "decided" {
                            QueueChange::Decided { id }
                        } else {
                            QueueChange::Enqueued { id }
                        };
                        let _ = changes.send(change);
                    }
                }
            });
            Ok(())
        }
        #[cfg(feature = "postgres")]
        Backend::Postgres(pool) => {
            let _ = (poke, interval);
            let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
            listener.listen(NOTIFY_CHANNEL).await?;
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = &mut shutdown => break,
                        received = listener.recv() => match received {
                            Ok(notification) => {
                                if let Ok(change) =
                                    serde_json::from_str::<QueueChange>(notification.payload())
                                {
                                    let _ = changes.send(change);
                                }
                            }
                            Err(error) => {
                                tracing::warn!(%error, "approval queue listener failed; retrying");
                                tokio::time::sleep(Duration::from_millis(500)).await;
                            }
                        }
                    }
                }
            });
            Ok(())
        }
    }
}
