//! The dead-letter queue: events whose write failed, kept durably with their error, why it
//! failed, a retry count and the time of the next retry. [`crate::runtime::workers`] retries due entries.
//! Whose fault a failure was ([`FailureKind`], read by [`crate::storage::failure`]) decides what
//! a failed retry costs:
//! - an **outage** (the database away, busy or full) costs nothing: the entry is retried with
//!   capped exponential backoff for as long as the outage lasts, and brought forward as soon as
//!   the database answers again ([`DeadLetterQueue::rearm_outages`]);
//! - a **refusal** of the event spends an attempt; after `max_attempts` the entry stays as a
//!   final failure until an admin retries or discards it.
//!
//! Nothing leaves the queue except by a successful write or a discard.
//!
//! Two homes, one interface: embedded mode keeps it in its own SQLite file ([`sqlite`]), so it
//! survives restarts and does not share the fate of the call store it is a fallback for; Redis
//! mode keeps it in Redis ([`redis`]), shared by every instance.

mod redis;
mod sqlite;

use std::{collections::HashSet, path::Path, sync::Arc};

use app::dto::{admin::FailureKind, ingest::CallEvent};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use time::{Duration, OffsetDateTime};

/// Retry policy: after refusals, `max_attempts` retries at most, the n-th after
/// `base_delay * 2^(n-1)`; through an outage, the wait doubles from `base_delay` up to
/// `max_outage_delay` and no attempt is spent.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: i64,
    pub base_delay: Duration,
    pub max_outage_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::seconds(5),
            max_outage_delay: Duration::minutes(5),
        }
    }
}

impl RetryPolicy {
    pub(crate) fn delay_after(&self, attempts: i64) -> Duration {
        let exponent = u32::try_from(attempts.clamp(0, 16)).unwrap_or(16);
        self.base_delay * 2_i32.pow(exponent)
    }

    /// The wait after another failure through an outage: twice the last wait, within
    /// `base_delay ..= max_outage_delay`.
    fn outage_delay(&self, entry: &DeadLetter) -> Duration {
        let last = match (entry.kind, entry.next_retry_at) {
            (FailureKind::Outage, Some(next)) => next - entry.updated_at,
            _ => Duration::ZERO,
        };
        let cap = self.max_outage_delay.max(self.base_delay);
        Duration::clamp(last * 2, self.base_delay, cap)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DlqError {
    #[error("dead-letter queue storage failed: {0}")]
    Database(#[from] sqlx::Error),
    #[error("dead-letter queue in Redis failed: {0}")]
    Redis(#[from] ::redis::RedisError),
    #[error("a dead-letter entry in Redis is unreadable: {0}")]
    Corrupt(#[from] serde_json::Error),
    #[error("dead-letter queue migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// One queued event, as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct DeadLetter {
    pub id: i64,
    pub call_id: String,
    pub user_id: String,
    pub event: Json<CallEvent>,
    pub error: String,
    /// Whose fault the last failure was.
    #[sqlx(try_from = "String")]
    #[serde(default)]
    pub kind: FailureKind,
    /// Retries done so far that the database refused.
    pub attempts: i64,
    pub max_attempts: i64,
    /// `None` once it is a final failure.
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_retry_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl DeadLetter {
    pub fn is_final(&self) -> bool {
        self.next_retry_at.is_none()
    }
}

/// The queue, wherever it lives. Every operation is the same on both.
#[derive(Clone, Debug)]
pub struct DeadLetterQueue {
    store: Store,
    /// Held for a whole retry pass, so this process's retrier and a reconciliation run never
    /// retry the same entry at once (between instances, Redis claims see to that).
    retrying: Arc<tokio::sync::Mutex<()>>,
}

#[derive(Clone, Debug)]
enum Store {
    Sqlite(sqlite::SqliteDlq),
    Redis(redis::RedisDlq),
}

/// Calls the same method on whichever queue this is.
macro_rules! both {
    ($self:ident, $queue:ident => $call:expr) => {
        match &$self.store {
            Store::Sqlite($queue) => $call,
            Store::Redis($queue) => $call,
        }
    };
}

impl DeadLetterQueue {
    /// The embedded queue in `path` (created when needed).
    pub async fn open_file(path: &Path, policy: RetryPolicy) -> Result<Self, DlqError> {
        Ok(Self::new(Store::Sqlite(
            sqlite::SqliteDlq::open(path, policy).await?,
        )))
    }

    /// The queue shared by every instance in Redis, under `prefix`, its index of final failures
    /// brought up to date.
    pub async fn redis(
        conn: ::redis::aio::ConnectionManager,
        prefix: &str,
        policy: RetryPolicy,
    ) -> Result<Self, DlqError> {
        let queue = redis::RedisDlq::new(conn, prefix, policy);
        queue.index_finals().await?;
        Ok(Self::new(Store::Redis(queue)))
    }

    fn new(store: Store) -> Self {
        Self {
            store,
            retrying: Arc::default(),
        }
    }

    /// This process's turn at a retry pass; see `retrying`.
    pub async fn retry_turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.retrying.lock().await
    }

    pub fn policy(&self) -> RetryPolicy {
        both!(self, queue => queue.policy)
    }

    /// Queues `events` after a failed write, all or none.
    pub async fn push(
        &self,
        events: &[CallEvent],
        error: &str,
        kind: FailureKind,
    ) -> Result<(), DlqError> {
        both!(self, queue => queue.push(events, error, kind).await)
    }

    pub async fn depth(&self) -> Result<i64, DlqError> {
        both!(self, queue => queue.depth().await)
    }

    /// How many entries are final failures (out of automatic retries).
    pub async fn final_failures(&self) -> Result<i64, DlqError> {
        both!(self, queue => queue.final_failures().await)
    }

    /// Oldest first.
    pub async fn list(&self, limit: i64) -> Result<Vec<DeadLetter>, DlqError> {
        self.page(None, limit).await
    }

    /// Oldest first, from just after the entry `after` (the last of the previous page).
    pub async fn page(&self, after: Option<i64>, limit: i64) -> Result<Vec<DeadLetter>, DlqError> {
        both!(self, queue => queue.page(after.unwrap_or(i64::MIN), limit).await)
    }

    pub async fn get(&self, id: i64) -> Result<Option<DeadLetter>, DlqError> {
        both!(self, queue => queue.get(id).await)
    }

    /// Entries whose retry time has come, oldest first. In Redis this also claims them, so
    /// two instances never retry the same entry at once.
    pub async fn due(&self, now: OffsetDateTime, limit: i64) -> Result<Vec<DeadLetter>, DlqError> {
        both!(self, queue => queue.due(now, limit).await)
    }

    /// Entries a retrier claimed before `claimed_before` and never settled (its instance died
    /// mid-retry), put back in line due now. The embedded queue has no claims: one process
    /// retries it, under [`Self::retry_turn`].
    pub async fn rearm_abandoned(
        &self,
        claimed_before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Vec<DeadLetter>, DlqError> {
        match &self.store {
            Store::Sqlite(_) => Ok(Vec::new()),
            Store::Redis(queue) => queue.rearm_abandoned(claimed_before, now).await,
        }
    }

    /// The event was written: it leaves the queue.
    pub async fn resolve(&self, id: i64) -> Result<(), DlqError> {
        both!(self, queue => queue.remove(id).await.map(drop))
    }

    /// A retry failed. A refusal is counted, and the next retry scheduled or the entry made
    /// final; an outage only puts the next retry further off (never past the policy's cap).
    pub async fn record_failure(
        &self,
        id: i64,
        error: &str,
        kind: FailureKind,
    ) -> Result<(), DlqError> {
        let now = OffsetDateTime::now_utc();
        let Some(mut entry) = self.get(id).await? else {
            return Ok(());
        };
        let policy = self.policy();
        entry.next_retry_at = match kind {
            FailureKind::Outage => Some(now + policy.outage_delay(&entry)),
            FailureKind::Refusal => {
                // An admin's retry of a final failure is one more try, not a new round.
                entry.attempts = (entry.attempts + 1).min(entry.max_attempts);
                (entry.attempts < entry.max_attempts)
                    .then(|| now + policy.delay_after(entry.attempts))
            }
        };
        entry.kind = kind;
        entry.error = error.to_owned();
        entry.updated_at = now;
        both!(self, queue => queue.save(&entry).await).map(drop)
    }

    /// The database answers again: every entry waiting on an outage is due now rather than
    /// at the end of its backoff. Returns how many were brought forward.
    pub async fn rearm_outages(&self, now: OffsetDateTime) -> Result<u64, DlqError> {
        both!(self, queue => queue.rearm_outages(now).await)
    }

    /// The entry waiting on an outage that is due next, made due now: one real retry tells
    /// whether the database is back (a ping can succeed while writes still fail). Returns
    /// whether there was one.
    pub async fn probe_outage(&self, now: OffsetDateTime) -> Result<bool, DlqError> {
        both!(self, queue => queue.probe_outage(now).await)
    }

    /// Which of `call_ids` have an event still being retried (not a final failure):
    /// reconciliation leaves those calls to the retry rather than close them as stale.
    pub async fn retrying_calls(&self, call_ids: &[&str]) -> Result<HashSet<String>, DlqError> {
        if call_ids.is_empty() {
            return Ok(HashSet::new());
        }
        both!(self, queue => queue.retrying_calls(call_ids).await)
    }

    /// The event can never be written as it is (e.g. it names another tenant's call): no more
    /// automatic retries; it stays for an admin to see.
    pub async fn mark_final(&self, id: i64, error: &str) -> Result<(), DlqError> {
        let Some(mut entry) = self.get(id).await? else {
            return Ok(());
        };
        entry.attempts = entry.max_attempts;
        entry.kind = FailureKind::Refusal;
        entry.next_retry_at = None;
        entry.error = error.to_owned();
        entry.updated_at = OffsetDateTime::now_utc();
        both!(self, queue => queue.save(&entry).await).map(drop)
    }

    /// An admin asks for a retry now, final failures included. Returns whether the entry exists.
    pub async fn retry_now(&self, id: i64) -> Result<bool, DlqError> {
        let Some(mut entry) = self.get(id).await? else {
            return Ok(false);
        };
        let now = OffsetDateTime::now_utc();
        entry.next_retry_at = Some(now);
        entry.updated_at = now;
        // Written or discarded meanwhile: it stays gone, and it was there when asked for.
        both!(self, queue => queue.save(&entry).await)?;
        Ok(true)
    }

    /// Every entry retried now, by pages of ids (the queue may be deep: never every entry in
    /// memory at once); returns how many.
    pub async fn retry_all_now(&self) -> Result<u64, DlqError> {
        const PAGE: i64 = 10_000;
        let mut count = 0;
        let mut after = i64::MIN;
        loop {
            let ids = both!(self, queue => queue.ids(after, PAGE).await)?;
            for id in &ids {
                count += u64::from(self.retry_now(*id).await?);
            }
            match ids.last() {
                Some(last) if ids.len() as i64 == PAGE => after = *last,
                _ => return Ok(count),
            }
        }
    }

    /// An admin gives up on an entry. Returns whether it existed.
    pub async fn discard(&self, id: i64) -> Result<bool, DlqError> {
        both!(self, queue => queue.remove(id).await)
    }
}

/// A new entry for `event`, first retry after the policy's base delay.
fn new_entry(
    id: i64,
    event: &CallEvent,
    error: &str,
    kind: FailureKind,
    policy: RetryPolicy,
    now: OffsetDateTime,
) -> DeadLetter {
    DeadLetter {
        id,
        call_id: event.call_id.clone(),
        user_id: event.user_id.clone(),
        event: Json(event.clone()),
        error: error.to_owned(),
        kind,
        attempts: 0,
        max_attempts: policy.max_attempts,
        next_retry_at: Some(now + policy.delay_after(0)),
        created_at: now,
        updated_at: now,
    }
}
