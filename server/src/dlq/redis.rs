//! The dead-letter queue in Redis, shared by every instance:
//! - `switchboard:dlq:seq` — the id counter;
//! - `switchboard:dlq:entries` — hash of id → entry (JSON);
//! - `switchboard:dlq:due` — sorted set of ids by next retry time (final failures are absent);
//! - `switchboard:dlq:claimed` — sorted set of ids a retrier took, by when it took them;
//! - `switchboard:dlq:final` — set of the ids out of automatic retries, kept with each save so
//!   the count is one `SCARD`, however deep the queue.
//!
//! Saving an entry back (a retry's result, an admin's "retry now") is one script that writes only
//! an entry still in `entries`, so a discard that lands between a retrier's read and its save
//! stays a discard.
//!
//! A retrier claims a due entry by moving it from `due` to `claimed` (`ZREM` answers 1 to one
//! claimer only) and settles it by removing it or saving its next retry time. An instance that
//! dies in between leaves the entry in `entries` (visible, retryable by an admin, never lost)
//! and in `claimed`, where reconciliation finds it and puts it back in line
//! ([`RedisDlq::rearm_abandoned`]).

use std::{
    collections::HashSet,
    sync::{Arc, LazyLock},
};

use redis::aio::ConnectionManager;
use time::OffsetDateTime;

use app::dto::{admin::FailureKind, ingest::CallEvent};

use super::{DeadLetter, DlqError, RetryPolicy, new_entry};

#[derive(Clone)]
pub(super) struct RedisDlq {
    conn: ConnectionManager,
    sequence: String,
    entries: String,
    due: String,
    claimed: String,
    finals: String,
    pub(super) policy: RetryPolicy,
}

impl std::fmt::Debug for RedisDlq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisDlq")
            .field("entries", &self.entries)
            .finish_non_exhaustive()
    }
}

/// Saves entry `ARGV[1]` (JSON `ARGV[2]`, next retry score `ARGV[3]`, empty when final) only
/// if it is still there. KEYS: entries, due, claimed, final. Answers 1 when saved.
static SAVE_IF_PRESENT: LazyLock<Arc<redis::Script>> = LazyLock::new(|| {
    Arc::new(redis::Script::new(
        r"
        if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
        redis.call('ZREM', KEYS[3], ARGV[1])
        redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
        if ARGV[3] == '' then
            redis.call('ZREM', KEYS[2], ARGV[1])
            redis.call('SADD', KEYS[4], ARGV[1])
        else
            redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
            redis.call('SREM', KEYS[4], ARGV[1])
        end
        return 1
        ",
    ))
});

/// Entries read at once when every entry must be looked at.
const CHUNK: usize = 1_000;

fn score(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

impl RedisDlq {
    pub(super) fn new(conn: ConnectionManager, prefix: &str, policy: RetryPolicy) -> Self {
        Self {
            conn,
            sequence: format!("{prefix}switchboard:dlq:seq"),
            entries: format!("{prefix}switchboard:dlq:entries"),
            due: format!("{prefix}switchboard:dlq:due"),
            claimed: format!("{prefix}switchboard:dlq:claimed"),
            finals: format!("{prefix}switchboard:dlq:final"),
            policy,
        }
    }

    pub(super) async fn push(
        &self,
        events: &[CallEvent],
        error: &str,
        kind: FailureKind,
    ) -> Result<(), DlqError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn.clone();
        let count = i64::try_from(events.len()).unwrap_or(i64::MAX);
        let last: i64 = redis::cmd("INCRBY")
            .arg(&self.sequence)
            .arg(count)
            .query_async(&mut conn)
            .await?;
        let now = OffsetDateTime::now_utc();
        let mut pipe = redis::pipe();
        pipe.atomic();
        for (offset, event) in (0..).zip(events) {
            let entry = new_entry(
                last - count + 1 + offset,
                event,
                error,
                kind,
                self.policy,
                now,
            );
            self.stage_save(&mut pipe, &entry)?;
        }
        pipe.query_async::<()>(&mut conn).await?;
        Ok(())
    }

    fn stage_save(&self, pipe: &mut redis::Pipeline, entry: &DeadLetter) -> Result<(), DlqError> {
        // Saved means settled: whoever claimed it is done with it.
        pipe.cmd("ZREM").arg(&self.claimed).arg(entry.id).ignore();
        pipe.cmd("HSET")
            .arg(&self.entries)
            .arg(entry.id)
            .arg(serde_json::to_string(entry)?)
            .ignore();
        match entry.next_retry_at {
            Some(next) => pipe
                .cmd("ZADD")
                .arg(&self.due)
                .arg(score(next))
                .arg(entry.id)
                .ignore()
                .cmd("SREM")
                .arg(&self.finals)
                .arg(entry.id)
                .ignore(),
            None => pipe
                .cmd("ZREM")
                .arg(&self.due)
                .arg(entry.id)
                .ignore()
                .cmd("SADD")
                .arg(&self.finals)
                .arg(entry.id)
                .ignore(),
        };
        Ok(())
    }

    /// Puts the final failures saved before `final` was kept (by an older version) into it.
    /// Once per start; entries are read a chunk at a time.
    pub(super) async fn index_finals(&self) -> Result<(), DlqError> {
        for chunk in self.ids(i64::MIN, i64::MAX).await?.chunks(CHUNK) {
            let finals: Vec<i64> = self
                .entries(chunk)
                .await?
                .iter()
                .filter(|entry| entry.is_final())
                .map(|entry| entry.id)
                .collect();
            if !finals.is_empty() {
                redis::cmd("SADD")
                    .arg(&self.finals)
                    .arg(&finals)
                    .query_async::<()>(&mut self.conn.clone())
                    .await?;
            }
        }
        Ok(())
    }

    pub(super) async fn depth(&self) -> Result<i64, DlqError> {
        Ok(redis::cmd("HLEN")
            .arg(&self.entries)
            .query_async(&mut self.conn.clone())
            .await?)
    }

    /// Ids after `after`, ascending, at most `limit`. Only ids are read whole (`HKEYS`).
    pub(super) async fn ids(&self, after: i64, limit: i64) -> Result<Vec<i64>, DlqError> {
        let mut ids: Vec<i64> = redis::cmd("HKEYS")
            .arg(&self.entries)
            .query_async(&mut self.conn.clone())
            .await?;
        ids.retain(|id| *id > after);
        ids.sort_unstable();
        ids.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(ids)
    }

    /// The entries of `ids` still there, in that order.
    async fn entries(&self, ids: &[i64]) -> Result<Vec<DeadLetter>, DlqError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let found: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(&self.entries)
            .arg(ids)
            .query_async(&mut self.conn.clone())
            .await?;
        // An entry resolved since its id was read is simply no longer there.
        Ok(found
            .into_iter()
            .flatten()
            .map(|json| serde_json::from_str(&json))
            .collect::<Result<Vec<DeadLetter>, _>>()?)
    }

    pub(super) async fn page(&self, after: i64, limit: i64) -> Result<Vec<DeadLetter>, DlqError> {
        self.entries(&self.ids(after, limit).await?).await
    }

    pub(super) async fn final_failures(&self) -> Result<i64, DlqError> {
        Ok(redis::cmd("SCARD")
            .arg(&self.finals)
            .query_async(&mut self.conn.clone())
            .await?)
    }

    pub(super) async fn get(&self, id: i64) -> Result<Option<DeadLetter>, DlqError> {
        let json: Option<String> = redis::cmd("HGET")
            .arg(&self.entries)
            .arg(id)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(json.map(|json| serde_json::from_str(&json)).transpose()?)
    }

    pub(super) async fn due(
        &self,
        now: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<DeadLetter>, DlqError> {
        let mut conn = self.conn.clone();
        let ids: Vec<i64> = redis::cmd("ZRANGEBYSCORE")
            .arg(&self.due)
            .arg("-inf")
            .arg(score(now))
            .arg("LIMIT")
            .arg(0)
            .arg(limit)
            .query_async(&mut conn)
            .await?;
        let mut claimed = Vec::new();
        for id in ids {
            let won: i64 = redis::cmd("ZREM")
                .arg(&self.due)
                .arg(id)
                .query_async(&mut conn)
                .await?;
            if won == 0 {
                continue;
            }
            redis::cmd("ZADD")
                .arg(&self.claimed)
                .arg(score(now))
                .arg(id)
                .query_async::<()>(&mut conn)
                .await?;
            if let Some(entry) = self.get(id).await? {
                claimed.push(entry);
            }
        }
        Ok(claimed)
    }

    /// Puts entries claimed before `claimed_before` and never settled back in line, due now.
    /// Returns them.
    pub(super) async fn rearm_abandoned(
        &self,
        claimed_before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Vec<DeadLetter>, DlqError> {
        let mut conn = self.conn.clone();
        let ids: Vec<i64> = redis::cmd("ZRANGEBYSCORE")
            .arg(&self.claimed)
            .arg("-inf")
            .arg(score(claimed_before))
            .query_async(&mut conn)
            .await?;
        let mut rearmed = Vec::new();
        for id in ids {
            // Taking it out of `claimed` is the claim on re-arming it: one instance wins.
            let won: i64 = redis::cmd("ZREM")
                .arg(&self.claimed)
                .arg(id)
                .query_async(&mut conn)
                .await?;
            let Some(mut entry) = self.get(id).await?.filter(|_| won == 1) else {
                continue;
            };
            if entry.is_final() {
                continue;
            }
            entry.next_retry_at = Some(now);
            entry.updated_at = now;
            if self.save(&entry).await? {
                rearmed.push(entry);
            }
        }
        Ok(rearmed)
    }

    /// Writes back an entry still in the queue; returns whether it was.
    pub(super) async fn save(&self, entry: &DeadLetter) -> Result<bool, DlqError> {
        let next = entry.next_retry_at.map(score);
        let saved: i64 = SAVE_IF_PRESENT
            .key(&self.entries)
            .key(&self.due)
            .key(&self.claimed)
            .key(&self.finals)
            .arg(entry.id)
            .arg(serde_json::to_string(entry)?)
            .arg(next.map(|next| next.to_string()).unwrap_or_default())
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(saved == 1)
    }

    /// Ids in `due` whose retry time is after `now`, soonest first; the first `limit` of them.
    async fn waiting(
        &self,
        now: OffsetDateTime,
        limit: Option<usize>,
    ) -> Result<Vec<i64>, DlqError> {
        let mut query = redis::cmd("ZRANGEBYSCORE");
        query
            .arg(&self.due)
            .arg(format!("({}", score(now)))
            .arg("+inf");
        if let Some(limit) = limit {
            query.arg("LIMIT").arg(0).arg(limit);
        }
        Ok(query.query_async(&mut self.conn.clone()).await?)
    }

    pub(super) async fn rearm_outages(&self, now: OffsetDateTime) -> Result<u64, DlqError> {
        let waiting = self.waiting(now, None).await?;
        let mut rearmed = 0;
        for chunk in waiting.chunks(CHUNK) {
            for entry in self.entries(chunk).await? {
                if entry.kind == FailureKind::Outage && !entry.is_final() {
                    rearmed += u64::from(self.due_now(entry.id, now).await?);
                }
            }
        }
        Ok(rearmed)
    }

    /// Moves an entry still waiting in `due` to the front (`ZADD XX`): its saved state is left
    /// alone, so a retrier settling it meanwhile is never overwritten, and an entry another
    /// instance has claimed (out of `due`) is not put back. Returns whether it moved.
    async fn due_now(&self, id: i64, now: OffsetDateTime) -> Result<bool, DlqError> {
        let moved: i64 = redis::cmd("ZADD")
            .arg(&self.due)
            .arg("XX")
            .arg("CH")
            .arg(score(now))
            .arg(id)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(moved == 1)
    }

    /// Looks at the next few entries in line only: refusals there are due within seconds anyway.
    pub(super) async fn probe_outage(&self, now: OffsetDateTime) -> Result<bool, DlqError> {
        let entries = self.entries(&self.waiting(now, Some(20)).await?).await?;
        match entries
            .into_iter()
            .find(|entry| entry.kind == FailureKind::Outage)
        {
            Some(entry) => self.due_now(entry.id, now).await,
            None => Ok(false),
        }
    }

    /// Reads every entry, a chunk at a time: the Redis queue keeps no index by call, and this
    /// runs once per reconciliation, only when it has calls to close.
    pub(super) async fn retrying_calls(
        &self,
        call_ids: &[&str],
    ) -> Result<HashSet<String>, DlqError> {
        let wanted: HashSet<&str> = call_ids.iter().copied().collect();
        let mut retrying = HashSet::new();
        for chunk in self.ids(i64::MIN, i64::MAX).await?.chunks(CHUNK) {
            for entry in self.entries(chunk).await? {
                if !entry.is_final() && wanted.contains(entry.call_id.as_str()) {
                    retrying.insert(entry.call_id);
                }
            }
        }
        Ok(retrying)
    }

    pub(super) async fn remove(&self, id: i64) -> Result<bool, DlqError> {
        let (removed, _, _, _): (i64, i64, i64, i64) = redis::pipe()
            .atomic()
            .cmd("HDEL")
            .arg(&self.entries)
            .arg(id)
            .cmd("ZREM")
            .arg(&self.due)
            .arg(id)
            .cmd("ZREM")
            .arg(&self.claimed)
            .arg(id)
            .cmd("SREM")
            .arg(&self.finals)
            .arg(id)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(removed == 1)
    }
}
