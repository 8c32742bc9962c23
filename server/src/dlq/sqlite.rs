//! The embedded dead-letter queue: a SQLite file of its own (`data/dlq.db`), WAL journal and
//! `synchronous = FULL`, so a queued event survives a crash or a power cut.

use std::{collections::HashSet, path::Path, str::FromStr, time::Duration as StdDuration};

use app::dto::{admin::FailureKind, ingest::CallEvent};
use sqlx::{
    SqlitePool,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};
use time::OffsetDateTime;

use super::{DeadLetter, DlqError, RetryPolicy, new_entry};

#[derive(Clone, Debug)]
pub(super) struct SqliteDlq {
    pool: SqlitePool,
    pub(super) policy: RetryPolicy,
}

impl SqliteDlq {
    pub(super) async fn open(path: &Path, policy: RetryPolicy) -> Result<Self, DlqError> {
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            crate::secrets::create_private_dir(folder).map_err(sqlx::Error::Io)?;
        }
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(StdDuration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        sqlx::migrate!("../migrations/dlq").run(&pool).await?;
        Ok(Self { pool, policy })
    }

    pub(super) async fn push(
        &self,
        events: &[CallEvent],
        error: &str,
        kind: FailureKind,
    ) -> Result<(), DlqError> {
        let now = OffsetDateTime::now_utc();
        let mut tx = self.pool.begin().await?;
        for event in events {
            let entry = new_entry(0, event, error, kind, self.policy, now);
            sqlx::query(
                "INSERT INTO dead_letters (call_id, user_id, event, error, kind, attempts, max_attempts, next_retry_at, created_at, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&entry.call_id)
            .bind(&entry.user_id)
            .bind(&entry.event)
            .bind(&entry.error)
            .bind(entry.kind.as_str())
            .bind(entry.attempts)
            .bind(entry.max_attempts)
            .bind(entry.next_retry_at)
            .bind(entry.created_at)
            .bind(entry.updated_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn depth(&self) -> Result<i64, DlqError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM dead_letters")
            .fetch_one(&self.pool)
            .await?)
    }

    pub(super) async fn final_failures(&self) -> Result<i64, DlqError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM dead_letters WHERE next_retry_at IS NULL")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    pub(super) async fn ids(&self, after: i64, limit: i64) -> Result<Vec<i64>, DlqError> {
        Ok(
            sqlx::query_scalar("SELECT id FROM dead_letters WHERE id > ? ORDER BY id LIMIT ?")
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    pub(super) async fn page(&self, after: i64, limit: i64) -> Result<Vec<DeadLetter>, DlqError> {
        Ok(
            sqlx::query_as("SELECT * FROM dead_letters WHERE id > ? ORDER BY id LIMIT ?")
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    pub(super) async fn get(&self, id: i64) -> Result<Option<DeadLetter>, DlqError> {
        Ok(sqlx::query_as("SELECT * FROM dead_letters WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub(super) async fn due(
        &self,
        now: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<DeadLetter>, DlqError> {
        Ok(sqlx::query_as(
            "SELECT * FROM dead_letters WHERE next_retry_at IS NOT NULL AND next_retry_at <= ? \
             ORDER BY next_retry_at, id LIMIT ?",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Writes back an entry's retry state; returns whether it still exists.
    pub(super) async fn save(&self, entry: &DeadLetter) -> Result<bool, DlqError> {
        let done = sqlx::query("UPDATE dead_letters SET attempts = ?, error = ?, kind = ?, next_retry_at = ?, updated_at = ? WHERE id = ?")
            .bind(entry.attempts)
            .bind(&entry.error)
            .bind(entry.kind.as_str())
            .bind(entry.next_retry_at)
            .bind(entry.updated_at)
            .bind(entry.id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub(super) async fn rearm_outages(&self, now: OffsetDateTime) -> Result<u64, DlqError> {
        let done = sqlx::query(
            "UPDATE dead_letters SET next_retry_at = ?, updated_at = ? \
             WHERE kind = 'outage' AND next_retry_at > ?",
        )
        .bind(now)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    pub(super) async fn probe_outage(&self, now: OffsetDateTime) -> Result<bool, DlqError> {
        let done = sqlx::query(
            "UPDATE dead_letters SET next_retry_at = ? WHERE id = \
             (SELECT id FROM dead_letters WHERE kind = 'outage' AND next_retry_at > ? \
              ORDER BY next_retry_at LIMIT 1)",
        )
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub(super) async fn retrying_calls(
        &self,
        call_ids: &[&str],
    ) -> Result<HashSet<String>, DlqError> {
        let ids = serde_json::to_string(call_ids)?;
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT call_id FROM dead_letters \
             WHERE next_retry_at IS NOT NULL AND call_id IN (SELECT value FROM json_each(?))",
        )
        .bind(ids)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .collect())
    }

    /// Deletes an entry; returns whether it existed.
    pub(super) async fn remove(&self, id: i64) -> Result<bool, DlqError> {
        let done = sqlx::query("DELETE FROM dead_letters WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
