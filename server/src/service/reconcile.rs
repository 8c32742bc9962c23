//! Reconciliation: the job that makes the database, Redis and the live registry agree and
//! drains the DLQ. It runs on a schedule ([`crate::runtime::workers`]), for an admin, or for a script
//! holding the internal key — one run at a time across instances
//! ([`crate::storage::operations`] keeps the claim).
//!
//! A run, in order:
//! 1. **DLQ**: entries an instance claimed and never settled are put back in line, then every
//!    due entry is retried — first, because a queued event may be a call's end or its last
//!    heartbeat.
//! 2. **Database repairs**, in one transaction through the ingest write path, so the hourly
//!    rollup, the registry, Redis keys and the bus follow as after any write: calls whose
//!    heartbeats went stale are ended with outcome `stale` at their last sign of life — unless
//!    the DLQ still retries an event of theirs (a final failure holds no call open) — and calls
//!    live in Redis (`call_ctx:*`) but missing from the database are written from what Redis
//!    holds, through ingest's own validation. All of them commit or none do: a run failing
//!    here changed nothing.
//! 3. **Live state**: registry entries and Redis keys of calls the database has already ended
//!    are removed, and every instance is told; calls the database has active but the registry
//!    lacks are added. Each removal stands alone, and doing it twice changes nothing.
//!
//! The run's row records the counts per repair, the calls touched (at most [`TOUCHED_LIMIT`])
//! and, when a step failed, its error; the run is announced when it starts and when it ends.

use std::{collections::HashSet, time::Duration};

use app::dto::{
    admin::{ReconciliationSummary, ReconciliationTrigger, Repair, RepairedItem, RunStatus},
    ingest::{CallEvent, EventType, Outcome},
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::{
    dlq::DlqError,
    ingest::{WriteOutcome, validate::validate},
    live::{
        bus::{BusEvent, CallChange},
        redis::LiveKeys,
    },
    runtime::state::AppState,
    service::dlq_retry::{self, RetryResult},
    service::figures::reconciliation_summary,
    storage::{
        StorageError,
        operations::{NewRun, RunClaim, RunResult},
        record::utc,
    },
};

/// A run holds its claim this long without renewing it; a holder that died blocks the next
/// run at most this long.
pub const RUN_LEASE: time::Duration = time::Duration::minutes(1);
const LEASE_RENEWAL: Duration = Duration::from_secs(15);
/// A dead letter claimed for a retry this long ago and never settled belongs to an instance
/// that died mid-retry (a retry takes milliseconds).
pub const DLQ_CLAIM_LEASE: time::Duration = time::Duration::minutes(5);
/// Calls and messages a run lists by name; the counts cover them all.
pub const TOUCHED_LIMIT: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Dlq(#[from] DlqError),
    #[error("Redis: {0}")]
    Redis(#[from] redis::RedisError),
}

/// What a trigger got: the run doing the work.
#[derive(Debug)]
pub struct Started {
    pub run_id: String,
    /// Another run was going; it is the one named.
    pub already_running: bool,
    /// The new run, ending with its record (`None` when one was already running).
    pub finished: Option<JoinHandle<ReconciliationSummary>>,
}

/// Starts a run in the background, unless one is going anywhere (then names that one).
pub async fn start(
    state: &AppState,
    trigger: ReconciliationTrigger,
    triggered_by: Option<&str>,
) -> Result<Started, ReconcileError> {
    let id = uuid::Uuid::new_v4().to_string();
    let now = OffsetDateTime::now_utc();
    let run = NewRun {
        id: &id,
        trigger: trigger.as_str(),
        triggered_by,
        started_at: utc(now),
        lease_until: utc(now + RUN_LEASE),
    };
    let (claim, abandoned) = state.storage.claim_reconciliation(&run).await?;
    for abandoned in abandoned {
        warn!(run = %abandoned, "reconciliation run abandoned by its instance; marked failed");
        if let Some(row) = state.storage.reconciliation(&abandoned).await? {
            state
                .announce(BusEvent::ReconciliationRun(reconciliation_summary(row)))
                .await;
        }
    }
    match claim {
        RunClaim::AlreadyRunning(holder) => Ok(Started {
            run_id: holder.id,
            already_running: true,
            finished: None,
        }),
        RunClaim::Started => {
            let summary = ReconciliationSummary {
                id: id.clone(),
                trigger,
                triggered_by: triggered_by.map(str::to_owned),
                status: RunStatus::Running,
                started_at: run.started_at.assume_utc(),
                finished_at: None,
                stale_closed: 0,
                backfilled: 0,
                live_cleared: 0,
                dlq_retried: 0,
                dlq_rearmed: 0,
                error: None,
            };
            let finished = tokio::spawn(run_to_end(state.clone(), summary));
            Ok(Started {
                run_id: id,
                already_running: false,
                finished: Some(finished),
            })
        }
    }
}

/// The scheduler's turn: runs (and waits for) a scheduled run when the last one started at
/// least `interval` ago.
pub async fn run_if_due(state: &AppState, interval: Duration) -> Result<(), ReconcileError> {
    let last = state
        .storage
        .last_reconciliation_of(Some(ReconciliationTrigger::Schedule.as_str()))
        .await?;
    let now = OffsetDateTime::now_utc();
    let due = last.is_none_or(|run| now - run.started_at.assume_utc() >= interval);
    if !due {
        return Ok(());
    }
    let started = start(state, ReconciliationTrigger::Schedule, None).await?;
    if let Some(finished) = started.finished
        && let Err(error) = finished.await
    {
        warn!(%error, "scheduled reconciliation run panicked");
    }
    Ok(())
}

/// What a run did, as its row keeps it (`touched`).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Touched {
    #[serde(default)]
    pub items: Vec<RepairedItem>,
    /// More were touched than listed.
    #[serde(default)]
    pub truncated: bool,
}

#[derive(Debug, Default)]
struct Report {
    counts: Counts,
    touched: Touched,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    stale_closed: i64,
    backfilled: i64,
    live_cleared: i64,
    dlq_retried: i64,
    dlq_rearmed: i64,
}

impl Report {
    fn touch(
        &mut self,
        repair: Repair,
        call_id: &str,
        user_id: Option<&str>,
        message_id: Option<i64>,
        note: Option<String>,
    ) {
        let counter = match repair {
            Repair::StaleClosed => Some(&mut self.counts.stale_closed),
            Repair::StaleDeferred => None,
            Repair::Backfilled => Some(&mut self.counts.backfilled),
            Repair::LiveCleared => Some(&mut self.counts.live_cleared),
            Repair::DlqRetried => Some(&mut self.counts.dlq_retried),
            Repair::DlqRearmed => Some(&mut self.counts.dlq_rearmed),
            Repair::BackfillRefused => None,
        };
        if let Some(counter) = counter {
            *counter += 1;
        }
        if self.touched.items.len() < TOUCHED_LIMIT {
            self.touched.items.push(RepairedItem {
                repair,
                call_id: call_id.to_owned(),
                user_id: user_id.map(str::to_owned),
                message_id,
                note,
            });
        } else {
            self.touched.truncated = true;
        }
    }
}

async fn run_to_end(state: AppState, mut summary: ReconciliationSummary) -> ReconciliationSummary {
    state
        .announce(BusEvent::ReconciliationRun(summary.clone()))
        .await;
    let lease = tokio::spawn(keep_lease(state.clone(), summary.id.clone()));
    let mut report = Report::default();
    let outcome = repair(&state, &mut report).await;
    lease.abort();

    let counts = report.counts;
    summary.status = if outcome.is_ok() {
        RunStatus::Succeeded
    } else {
        RunStatus::Failed
    };
    summary.finished_at = Some(OffsetDateTime::now_utc());
    summary.stale_closed = counts.stale_closed;
    summary.backfilled = counts.backfilled;
    summary.live_cleared = counts.live_cleared;
    summary.dlq_retried = counts.dlq_retried;
    summary.dlq_rearmed = counts.dlq_rearmed;
    summary.error = outcome.err().map(|error| error.to_string());
    let result = RunResult {
        status: summary.status.as_str(),
        finished_at: summary.finished_at.map(utc),
        stale_closed: counts.stale_closed,
        backfilled: counts.backfilled,
        live_cleared: counts.live_cleared,
        dlq_retried: counts.dlq_retried,
        dlq_rearmed: counts.dlq_rearmed,
        touched: serde_json::to_string(&report.touched).unwrap_or_else(|_| "{}".to_owned()),
        error: summary.error.clone(),
    };
    match state
        .storage
        .finish_reconciliation(&summary.id, &result)
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            warn!(run = %summary.id, "reconciliation run outlived its lease; another instance marked it abandoned")
        }
        // The row stays `running` until its lease lapses; the next claim then marks it failed.
        Err(error) => {
            warn!(run = %summary.id, %error, "cannot record the end of a reconciliation run")
        }
    }
    info!(
        run = %summary.id,
        status = summary.status.as_str(),
        stale_closed = counts.stale_closed,
        backfilled = counts.backfilled,
        live_cleared = counts.live_cleared,
        dlq_retried = counts.dlq_retried,
        dlq_rearmed = counts.dlq_rearmed,
        error = summary.error.as_deref().unwrap_or(""),
        "reconciliation run finished"
    );
    state
        .announce(BusEvent::ReconciliationRun(summary.clone()))
        .await;
    summary
}

/// Renews the run's lease until aborted.
async fn keep_lease(state: AppState, id: String) {
    loop {
        tokio::time::sleep(LEASE_RENEWAL).await;
        let until = utc(OffsetDateTime::now_utc() + RUN_LEASE);
        if let Err(error) = state.storage.renew_reconciliation(&id, until).await {
            warn!(run = %id, %error, "cannot renew the reconciliation lease");
        }
    }
}

/// Why an event of the repair transaction is in it.
enum Purpose<'a> {
    CloseStale,
    /// The first event of a backfilled call (the others only complete it).
    Backfill {
        first: bool,
        keys: &'a LiveKeys,
    },
}

async fn repair(state: &AppState, report: &mut Report) -> Result<(), ReconcileError> {
    let now = OffsetDateTime::now_utc();

    // 1. The DLQ.
    for letter in state
        .dlq
        .rearm_abandoned(now - DLQ_CLAIM_LEASE, now)
        .await?
    {
        report.touch(
            Repair::DlqRearmed,
            &letter.call_id,
            Some(&letter.user_id),
            Some(letter.id),
            None,
        );
    }
    for retried in dlq_retry::retry_due_dead_letters(state).await? {
        let note = match retried.result {
            RetryResult::Written => "written".to_owned(),
            RetryResult::Failed(error) => format!("failed again: {error}"),
            RetryResult::Outage(error) => format!("waiting for the database: {error}"),
            RetryResult::Refused(error) => format!("refused for good: {error}"),
        };
        let letter = &retried.letter;
        report.touch(
            Repair::DlqRetried,
            &letter.call_id,
            Some(&letter.user_id),
            Some(letter.id),
            Some(note),
        );
    }

    // 2. Database repairs, one transaction.
    let stale_after = state.registry.thresholds().stale;
    let mut stale = state.storage.active_calls().await?;
    stale.retain(|call| now - call.last_seen().assume_utc() >= stale_after);
    let ids: Vec<&str> = stale.iter().map(|call| call.id.as_str()).collect();
    let retrying = state.dlq.retrying_calls(&ids).await?;
    let mut events = Vec::new();
    let mut purposes = Vec::new();
    for call in &stale {
        if retrying.contains(&call.id) {
            let note = "the DLQ still retries an event of this call".to_owned();
            report.touch(
                Repair::StaleDeferred,
                &call.id,
                Some(&call.user_id),
                None,
                Some(note),
            );
            continue;
        }
        events.push(CallEvent {
            outcome: Some(Outcome::Stale),
            end_reason: Some("heartbeats_stopped".to_owned()),
            ..CallEvent::new(
                EventType::CallEnded,
                &call.user_id,
                &call.id,
                call.last_seen().assume_utc(),
            )
        });
        purposes.push(Purpose::CloseStale);
    }
    let live_keys = match &state.redis {
        Some(redis) => redis.live_keys().await?,
        None => Vec::new(),
    };
    let ids: Vec<&str> = live_keys.iter().map(|keys| keys.call_id.as_str()).collect();
    let stored = state.storage.calls(&ids).await?;
    for keys in &live_keys {
        if stored.contains_key(&keys.call_id) || keys.context.is_empty() {
            continue;
        }
        match backfill(keys, now) {
            Ok(backfill) => {
                for (index, event) in backfill.into_iter().enumerate() {
                    events.push(event);
                    purposes.push(Purpose::Backfill {
                        first: index == 0,
                        keys,
                    });
                }
            }
            Err(reason) => report.touch(
                Repair::BackfillRefused,
                &keys.call_id,
                keys.context.get("user_id").map(String::as_str),
                None,
                Some(reason),
            ),
        }
    }
    if !events.is_empty() {
        let outcomes = state.ingestor.write_repairs(&events).await?;
        for ((event, purpose), outcome) in events.iter().zip(&purposes).zip(outcomes) {
            let refused = match outcome {
                WriteOutcome::Rejected(error) => Some(error.to_string()),
                _ => None,
            };
            let user = Some(event.user_id.as_str());
            match (purpose, refused) {
                (Purpose::CloseStale, None) => {
                    let note = format!("last sign of life {}", rfc3339(event.at));
                    report.touch(Repair::StaleClosed, &event.call_id, user, None, Some(note));
                }
                (Purpose::Backfill { first: true, keys }, None) => {
                    report.touch(Repair::Backfilled, &keys.call_id, user, None, None);
                }
                (Purpose::Backfill { keys, .. }, Some(error)) => {
                    report.touch(
                        Repair::BackfillRefused,
                        &keys.call_id,
                        user,
                        None,
                        Some(error),
                    );
                }
                (Purpose::CloseStale, Some(error)) => {
                    warn!(call_id = %event.call_id, %error, "stale call could not be closed");
                }
                (Purpose::Backfill { first: false, .. }, None) => {}
            }
        }
    }

    // 3. Live state: drop what the database says has ended, add what it says is live.
    let registered = state.registry.ids();
    let registered_refs: Vec<&str> = registered.iter().map(String::as_str).collect();
    let mut ended = state.storage.calls(&registered_refs).await?;
    ended.retain(|_, row| !row.is_active());
    for keys in &live_keys {
        if let Some(row) = stored.get(&keys.call_id).filter(|row| !row.is_active()) {
            ended.insert(row.id.clone(), row.clone());
        }
    }
    let registered: HashSet<String> = registered.into_iter().collect();
    for call in state.storage.active_calls().await? {
        if !registered.contains(&call.id) {
            state.registry.track(&call, now);
        }
    }
    if !ended.is_empty() {
        let ids: Vec<&str> = ended.keys().map(String::as_str).collect();
        if let Some(redis) = &state.redis {
            redis.clear_live_keys(&ids).await?;
        }
        let mut ended: Vec<_> = ended.into_values().collect();
        ended.sort_by(|a, b| a.id.cmp(&b.id));
        for row in ended {
            state.registry.track(&row, now);
            report.touch(Repair::LiveCleared, &row.id, Some(&row.user_id), None, None);
            // Every instance drops it from its registry and its clients' live lists.
            state
                .announce(BusEvent::Call {
                    change: CallChange::Ended,
                    call: Box::new(row),
                })
                .await;
        }
    }

    Ok(())
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// The events that write a call Redis knows and the database does not: its start (from
/// `call_ctx`) and its last heartbeat, as a producer would have sent them, through ingest's
/// validation. `Err` says why they cannot be written.
fn backfill(keys: &LiveKeys, now: OffsetDateTime) -> Result<Vec<CallEvent>, String> {
    let context = &keys.context;
    let user_id = context
        .get("user_id")
        .filter(|id| !id.is_empty())
        .ok_or("call_ctx has no user_id")?;
    let started_at = context
        .get("started_at")
        .and_then(|raw| parse_time(raw))
        .ok_or("call_ctx has no readable started_at")?;
    let mut call = Map::new();
    for (field, name) in [
        ("phone_number", "phoneNumber"),
        ("direction", "direction"),
        ("agent_config_id", "agentConfigId"),
        ("livekit_room_name", "livekitRoomName"),
    ] {
        if let Some(value) = context.get(field).filter(|value| !value.is_empty()) {
            call.insert(name.to_owned(), Value::from(value.as_str()));
        }
    }
    let mut events = vec![json!({
        "type": "call_started", "user_id": user_id, "call_id": keys.call_id,
        "at": rfc3339(started_at), "call": call,
    })];
    if let Some(beat) = keys
        .last_heartbeat
        .and_then(|seconds| OffsetDateTime::from_unix_timestamp(seconds).ok())
    {
        events.push(json!({
            "type": "heartbeat", "user_id": user_id, "call_id": keys.call_id,
            "at": rfc3339(beat.max(started_at)),
        }));
    }
    events
        .into_iter()
        .map(|event| validate(event, now).map_err(|rejection| rejection.message))
        .collect()
}

/// Unix seconds (as the seed-002 keys hold times) or RFC 3339.
fn parse_time(raw: &str) -> Option<OffsetDateTime> {
    let raw = raw.trim();
    match raw.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() => {
            OffsetDateTime::from_unix_timestamp_nanos((seconds * 1e9) as i128).ok()
        }
        _ => OffsetDateTime::parse(raw, &Rfc3339).ok(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn keys(context: &[(&str, &str)], last_heartbeat: Option<i64>) -> LiveKeys {
        LiveKeys {
            call_id: "call-1".to_owned(),
            context: context
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                .collect::<HashMap<_, _>>(),
            last_heartbeat,
        }
    }

    #[test]
    fn a_context_becomes_a_start_and_a_heartbeat() {
        let now = OffsetDateTime::now_utc();
        let started = now.unix_timestamp() - 30;
        let events = backfill(
            &keys(
                &[
                    ("user_id", "acme"),
                    ("started_at", &started.to_string()),
                    ("phone_number", "+12025550100"),
                    ("direction", "inbound"),
                ],
                Some(started + 20),
            ),
            now,
        )
        .unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].event_type, EventType::CallStarted);
        assert_eq!(events[0].at.unix_timestamp(), started);
        let fields = events[0].call.as_ref().unwrap();
        assert_eq!(fields.phone_number.as_deref(), Some("+12025550100"));
        assert_eq!(events[1].event_type, EventType::Heartbeat);
        assert_eq!(events[1].at.unix_timestamp(), started + 20);
    }

    #[test]
    fn a_context_without_tenant_or_start_is_refused_with_the_reason() {
        let now = OffsetDateTime::now_utc();
        let no_tenant = backfill(&keys(&[("started_at", "1700000000")], None), now);
        assert!(no_tenant.unwrap_err().contains("user_id"));
        let no_start = backfill(&keys(&[("user_id", "acme")], None), now);
        assert!(no_start.unwrap_err().contains("started_at"));
        let bad_direction = backfill(
            &keys(
                &[
                    ("user_id", "acme"),
                    ("started_at", "2026-11-21T10:00:00Z"),
                    ("direction", "sideways"),
                ],
                None,
            ),
            now,
        );
        assert!(bad_direction.unwrap_err().contains("direction"));
    }
}
