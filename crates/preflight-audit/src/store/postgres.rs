//! The PostgreSQL backend: connecting, and the writer's batch.

#![cfg(feature = "postgres")]

use preflight_core::Timestamp;
use sqlx::QueryBuilder;

use super::Backend;
use super::backend::{ConnectOptions, Connected};
use super::rows::millis;
use super::writer::{Job, Writing, chain, push_checkpoints};
use crate::error::AuditError;
use crate::record::Hash;

/// Connects to the PostgreSQL database named by `url`.
pub(crate) async fn connect(
    url: &str,
    options: &ConnectOptions<'_>,
    invalid: impl Fn(String) -> AuditError,
) -> Result<Connected, AuditError> {
    // A database that does not exist cannot be connected to: nothing is ever created here.
    let max_connections = if options.one_shot {
        1
    } else {
        options.max_connections
    };
    use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
    use std::str::FromStr as _;
    let connect_options = PgConnectOptions::from_str(url).map_err(|e| invalid(e.to_string()))?;
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .connect_with(connect_options)
        .await?;
    POSTGRES_MIGRATOR.run(&pool).await?;
    Ok(Connected {
        backend: Backend::Postgres(pool.clone()),
        keyed: Backend::Postgres(pool),
        wal: None,
    })
}

#[cfg(feature = "postgres")]
pub(super) static POSTGRES_MIGRATOR: sqlx::migrate::Migrator =
    sqlx::migrate!("./migrations/postgres");

#[cfg(feature = "postgres")]
pub(super) async fn write_batch_postgres(
    connection: &mut sqlx::PgConnection,
    batch: &[Job],
    writing: &Writing,
) -> Result<(i64, Hash), AuditError> {
    use sqlx::Connection as _;
    let signing_key = writing.signing_key.as_ref();
    let now = millis(Timestamp::now());
    let mut tx = connection.begin().await?;
    // Locks the head row: writers in every process sharing the database take turns here.
    let (head_seq, head_hash): (i64, Vec<u8>) =
        sqlx::query_as("UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash")
            .fetch_one(&mut *tx)
            .await?;
    let chain = chain(batch, head_seq, &head_hash, writing)?;
    // One statement for any number of rows, one array per column.
    let rows = &chain.rows;
    sqlx::query(
        "INSERT INTO audit_records (seq, at_ms, proposal_id, digest, agent, tool, kind, \
         decision, body, prev_hash, hash) SELECT * FROM UNNEST($1::bigint[], $2::bigint[], \
         $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], \
         $10::bytea[], $11::bytea[])",
    )
    .bind(rows.iter().map(|c| c.seq).collect::<Vec<_>>())
    .bind(rows.iter().map(|c| c.record.at_ms).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|c| &*c.record.proposal_id)
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|c| c.record.digest.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|c| c.record.agent.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|c| &*c.record.tool).collect::<Vec<_>>())
    .bind(rows.iter().map(|c| c.record.kind).collect::<Vec<_>>())
    .bind(rows.iter().map(|c| c.record.decision).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|c| c.record.body.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|c| c.prev.as_slice()).collect::<Vec<_>>())
    .bind(rows.iter().map(|c| c.hash.as_slice()).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?;
    let mut q: QueryBuilder<'_, sqlx::Postgres> = QueryBuilder::new("");
    if push_checkpoints(&mut q, &chain, signing_key, now) {
        q.build().execute(&mut *tx).await?;
    }
    sqlx::query("UPDATE audit_head SET seq = $1, hash = $2, signature = $3 WHERE id = 1")
        .bind(chain.head_seq)
        .bind(chain.head_hash.as_slice())
        .bind(chain.head_signature.as_deref())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok((chain.head_seq, chain.head_hash))
}
