//! Fleet-wide limits: atomic counters over a sliding window.

use std::time::Duration;

use async_trait::async_trait;
use preflight_core::{FleetLimits, StoreError, Timestamp};

use super::rows::millis;
use super::{AuditStore, Backend, on_pool};
use crate::error::AuditError;

#[async_trait]
impl FleetLimits for AuditStore {
    async fn try_acquire(
        &self,
        key: &str,
        max: u64,
        window: Duration,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        Ok(self.acquire(key, max, window, now).await?)
    }
}

impl AuditStore {
    async fn acquire(
        &self,
        key: &str,
        max: u64,
        window: Duration,
        now: Timestamp,
    ) -> Result<bool, AuditError> {
        if max == 0 {
            return Ok(false);
        }
        let at = millis(now);
        let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        let since = at.saturating_sub(window_ms);
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        Ok(on_pool!(&self.inner.backend, pool => {
            let mut tx = pool.begin_with(BEGIN).await?;
            // Locks the key's row: callers on one key, in any process, take turns.
            sqlx::query(
                "INSERT INTO fleet_keys (key, touched) VALUES ($1, $2) \
                 ON CONFLICT (key) DO UPDATE SET touched = excluded.touched",
            )
            .bind(key)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM fleet_uses WHERE key = $1 AND at_ms <= $2")
                .bind(key)
                .bind(since)
                .execute(&mut *tx)
                .await?;
            let used: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM fleet_uses WHERE key = $1")
                .bind(key)
                .fetch_one(&mut *tx)
                .await?;
            let admitted = used < max;
            if admitted {
                sqlx::query("INSERT INTO fleet_uses (key, at_ms) VALUES ($1, $2)")
                    .bind(key)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            admitted
        }))
    }
}
