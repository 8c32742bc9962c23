//! Background workers, each a loop that ends when the server shuts down:
//! - the DLQ retrier writes due dead letters again, with backoff, until they succeed or turn
//!   into final failures;
//! - the health sweeper re-classifies live calls and publishes each health change;
//! - the reconciliation scheduler starts a run when the last scheduled one is an interval old.

use std::time::Duration;

use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::{
    dlq::DeadLetter, ingest::WriteOutcome, live::bus::BusEvent, reconcile, state::AppState,
};

const DLQ_POLL: Duration = Duration::from_secs(1);
/// Longest pause between health sweeps. Short thresholds (tests, demos) sweep more often, so a
/// call is seen in every state it passes through.
const HEALTH_SWEEP: Duration = Duration::from_secs(5);
/// Dead letters retried per pass; the rest wait for the next pass.
const DLQ_BATCH: i64 = 100;

pub fn spawn_all(state: &AppState) {
    tokio::spawn(every(DLQ_POLL, state.shutdown.clone(), {
        let state = state.clone();
        move || {
            let state = state.clone();
            async move {
                if let Err(error) = retry_due_dead_letters(&state).await {
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
    /// The write failed again; the entry waits for its next retry or is now final.
    Failed(String),
    /// It can never be written as it is; kept as a final failure.
    Refused(String),
}

/// One retry pass over due dead letters.
pub async fn retry_due_dead_letters(
    state: &AppState,
) -> Result<Vec<Retried>, crate::dlq::DlqError> {
    let _turn = state.dlq.retry_turn().await;
    let due = state.dlq.due(OffsetDateTime::now_utc(), DLQ_BATCH).await?;
    if due.is_empty() {
        return Ok(Vec::new());
    }
    let mut retried = Vec::with_capacity(due.len());
    for letter in due {
        let result = match state
            .ingestor
            .write_now(std::slice::from_ref(&letter.event.0))
            .await
        {
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
            Err(error) => {
                state.dlq.record_failure(letter.id, &error).await?;
                RetryResult::Failed(error)
            }
        };
        retried.push(Retried { letter, result });
    }
    let depth = state.dlq.depth().await?;
    state.announce(BusEvent::DlqChanged { depth }).await;
    Ok(retried)
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
