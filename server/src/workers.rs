//! Background workers, each a loop that ends when the server shuts down:
//! - the DLQ retrier writes due dead letters again, with backoff, until they succeed or turn
//!   into final failures;
//! - the health sweeper re-classifies live calls and publishes each health change.

use std::time::Duration;

use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::{ingest::WriteOutcome, live::bus::BusEvent, state::AppState};

const DLQ_POLL: Duration = Duration::from_secs(1);
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
    tokio::spawn(every(HEALTH_SWEEP, state.shutdown.clone(), {
        let state = state.clone();
        move || {
            let state = state.clone();
            async move { sweep_health(&state) }
        }
    }));
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

/// One retry pass over due dead letters. Returns how many left the queue.
pub async fn retry_due_dead_letters(state: &AppState) -> Result<usize, crate::dlq::DlqError> {
    let due = state.dlq.due(OffsetDateTime::now_utc(), DLQ_BATCH).await?;
    if due.is_empty() {
        return Ok(0);
    }
    let mut resolved = 0;
    for entry in &due {
        match state
            .ingestor
            .write_now(std::slice::from_ref(&entry.event.0))
            .await
        {
            Ok(outcomes) => match outcomes.first() {
                Some(WriteOutcome::Rejected(error)) => {
                    // Written nowhere and never will be as it is: keep it, as a final failure.
                    state.dlq.mark_final(entry.id, &error.to_string()).await?;
                }
                _ => {
                    state.dlq.resolve(entry.id).await?;
                    resolved += 1;
                }
            },
            Err(error) => state.dlq.record_failure(entry.id, &error).await?,
        }
    }
    state.bus.publish(BusEvent::DlqChanged {
        depth: state.dlq.depth().await?,
    });
    Ok(resolved)
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
