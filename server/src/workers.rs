//! Background workers, each a loop that ends when the server shuts down:
//! - the DLQ retrier writes due dead letters again, with backoff, until they succeed or the
//!   database refuses them for good; while entries wait on an outage it tries one of them every
//!   few seconds, and once one goes through every entry waiting on the outage is due at once;
//! - the health sweeper re-classifies live calls and publishes each health change;
//! - the reconciliation scheduler starts a run when the last scheduled one is an interval old;
//! - the session watch tells this instance's live sockets of sessions ended elsewhere (another
//!   instance, the command line), by the users' token versions;
//! - the sign-in limiters forget addresses and emails whose allowance has refilled.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use app::dto::admin::FailureKind;

use crate::{
    auth::Revocation, dlq::DeadLetter, ingest::WriteOutcome, live::bus::BusEvent, reconcile,
    state::AppState,
};

const DLQ_POLL: Duration = Duration::from_secs(1);
/// How often, while entries wait on an outage, one of them is tried ahead of its backoff: the
/// longest the queue waits to start draining after the database is back.
const OUTAGE_PROBE: Duration = Duration::from_secs(5);
/// Full passes run back to back while draining, before the retrier yields to the next tick.
const DLQ_PASSES_PER_TICK: usize = 10;
/// Longest pause between health sweeps. Short thresholds (tests, demos) sweep more often, so a
/// call is seen in every state it passes through.
const HEALTH_SWEEP: Duration = Duration::from_secs(5);
/// How often the users' token versions are read: the longest a live socket outlives a session
/// ended on another instance or from the command line (requests are checked every time).
const SESSION_WATCH: Duration = Duration::from_secs(2);
/// How often the sign-in limiters forget keys whose allowance has refilled.
const LIMITER_PURGE: Duration = Duration::from_secs(60);
/// Dead letters retried per pass; the rest wait for the next pass.
const DLQ_BATCH: i64 = 100;

pub fn spawn_all(state: &AppState) {
    // Entries may wait on an outage from before a restart: probe at once.
    let last_probe = Arc::new(Mutex::new(None::<std::time::Instant>));
    tokio::spawn(every(DLQ_POLL, state.shutdown.clone(), {
        let state = state.clone();
        move || {
            let state = state.clone();
            let last_probe = Arc::clone(&last_probe);
            async move {
                if let Err(error) = drain_dead_letters(&state, &last_probe).await {
                    warn!(%error, "dead-letter retry pass failed");
                }
            }
        }
    }));
    let sweep = std::time::Duration::try_from(state.config.heartbeat.warning / 4)
        .unwrap_or(HEALTH_SWEEP)
        .clamp(Duration::from_millis(250), HEALTH_SWEEP);
    tokio::spawn(every(sweep, state.shutdown.clone(), {
        let state = state.clone();
        move || {
            let state = state.clone();
            async move { sweep_health(&state) }
        }
    }));
    let versions = Arc::new(Mutex::new(None));
    tokio::spawn(every(SESSION_WATCH, state.shutdown.clone(), {
        let state = state.clone();
        move || {
            let state = state.clone();
            let versions = Arc::clone(&versions);
            async move { watch_sessions(&state, &versions).await }
        }
    }));
    let limits = std::sync::Arc::clone(&state.sign_in_limits);
    tokio::spawn(every(LIMITER_PURGE, state.shutdown.clone(), move || {
        limits.purge();
        std::future::ready(())
    }));
    let interval = state.config.reconcile_interval;
    if !interval.is_zero() {
        // Checking often and running only when due keeps the cadence across restarts and
        // instances: whichever instance looks first after the interval runs it.
        let check = (interval / 10).clamp(Duration::from_secs(1), Duration::from_secs(60));
        tokio::spawn(every(check, state.shutdown.clone(), {
            let state = state.clone();
            move || {
                let state = state.clone();
                async move {
                    if let Err(error) = reconcile::run_if_due(&state, interval).await {
                        warn!(%error, "scheduled reconciliation could not start");
                    }
                }
            }
        }));
    }
}

async fn every<F, Fut>(period: Duration, shutdown: CancellationToken, mut pass: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => pass().await,
        }
    }
}

/// Every user's token version as last read: `None` before the first read.
type TokenVersions = Mutex<Option<HashMap<i64, i64>>>;

/// Tells the live sockets of every user whose token version moved, who was added or who was
/// removed since the last pass; each socket holding an older version ends.
async fn watch_sessions(state: &AppState, last: &TokenVersions) {
    let now = match state.storage.token_versions().await {
        Ok(now) => now,
        Err(error) => {
            warn!(%error, "cannot read the users' token versions");
            return;
        }
    };
    let mut last = last.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(before) = last.as_ref() {
        // A user added since the last pass may already have signed in, and moved on since.
        for (&user, &version) in &now {
            if before.get(&user) != Some(&version) {
                state.revocations.revoke(Revocation {
                    user,
                    version: Some(version),
                });
            }
        }
        for &user in before.keys().filter(|user| !now.contains_key(user)) {
            state.revocations.revoke(Revocation {
                user,
                version: None,
            });
        }
    }
    *last = Some(now);
}

/// What became of one retried dead letter.
#[derive(Debug, Clone, PartialEq)]
pub struct Retried {
    pub letter: DeadLetter,
    pub result: RetryResult,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryResult {
    /// Stored: it left the queue.
    Written,
    /// The database refused it again; the entry waits for its next retry or is now final.
    Failed(String),
    /// The database is still away: the entry waits for it, no attempt spent.
    Outage(String),
    /// It can never be written as it is; kept as a final failure.
    Refused(String),
}

/// The retrier's tick: a probe of the outage when one is due, then passes until the due
/// entries are done (at most [`DLQ_PASSES_PER_TICK`]).
async fn drain_dead_letters(
    state: &AppState,
    last_probe: &Mutex<Option<std::time::Instant>>,
) -> Result<(), crate::dlq::DlqError> {
    let probe_due = {
        let mut last = last_probe.lock().unwrap_or_else(PoisonError::into_inner);
        let due = last.is_none_or(|at| at.elapsed() >= OUTAGE_PROBE);
        if due {
            *last = Some(std::time::Instant::now());
        }
        due
    };
    if probe_due {
        state.dlq.probe_outage(OffsetDateTime::now_utc()).await?;
    }
    for _ in 0..DLQ_PASSES_PER_TICK {
        let retried = retry_due_dead_letters(state).await?;
        let stalled = retried
            .iter()
            .any(|retried| retried.result != RetryResult::Written);
        if stalled || retried.len() < usize::try_from(DLQ_BATCH).unwrap_or(usize::MAX) {
            break;
        }
    }
    Ok(())
}

/// One retry pass over due dead letters. The first outage ends the pass's tries: the rest of
/// its entries wait for the database without each waiting out a connection timeout. A write
/// that goes through after an outage makes every entry waiting on it due at once.
pub async fn retry_due_dead_letters(
    state: &AppState,
) -> Result<Vec<Retried>, crate::dlq::DlqError> {
    let _turn = state.dlq.retry_turn().await;
    let due = state.dlq.due(OffsetDateTime::now_utc(), DLQ_BATCH).await?;
    if due.is_empty() {
        return Ok(Vec::new());
    }
    let mut retried = Vec::with_capacity(due.len());
    let mut outage: Option<String> = None;
    let mut recovered = false;
    for letter in due {
        let result = match &outage {
            Some(error) => {
                state
                    .dlq
                    .record_failure(letter.id, error, FailureKind::Outage)
                    .await?;
                RetryResult::Outage(error.clone())
            }
            None => retry_one(state, &letter).await?,
        };
        match &result {
            RetryResult::Outage(error) => outage = Some(error.clone()),
            RetryResult::Written if letter.kind == FailureKind::Outage => recovered = true,
            _ => {}
        }
        retried.push(Retried { letter, result });
    }
    if recovered && outage.is_none() {
        state.dlq.rearm_outages(OffsetDateTime::now_utc()).await?;
    }
    let depth = state.dlq.depth().await?;
    state.announce(BusEvent::DlqChanged { depth }).await;
    Ok(retried)
}

async fn retry_one(
    state: &AppState,
    letter: &DeadLetter,
) -> Result<RetryResult, crate::dlq::DlqError> {
    let written = state
        .ingestor
        .write_now(std::slice::from_ref(&letter.event.0))
        .await;
    Ok(match written {
        Ok(outcomes) => match outcomes.first() {
            Some(WriteOutcome::Rejected(error)) => {
                // Written nowhere and never will be as it is: keep it, as a final failure.
                state.dlq.mark_final(letter.id, &error.to_string()).await?;
                RetryResult::Refused(error.to_string())
            }
            _ => {
                state.dlq.resolve(letter.id).await?;
                RetryResult::Written
            }
        },
        Err(failure) => {
            state
                .dlq
                .record_failure(letter.id, &failure.error, failure.kind)
                .await?;
            match failure.kind {
                FailureKind::Outage => RetryResult::Outage(failure.error),
                FailureKind::Refusal => RetryResult::Failed(failure.error),
            }
        }
    })
}

fn sweep_health(state: &AppState) {
    for (call, from, to) in state.registry.sweep(OffsetDateTime::now_utc()) {
        state.bus.publish(BusEvent::HealthChanged {
            call_id: call.id,
            user_id: call.user_id,
            from,
            to,
        });
    }
}
