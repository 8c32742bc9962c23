//! Retrying the dead-letter queue: one pass over the due entries, for the retrier
//! ([`crate::runtime::workers`], every second) and for reconciliation alike. While entries wait on an
//! outage the retrier tries one of them every few seconds; once one goes through, every entry
//! waiting on the outage is due at once.

use std::{
    sync::{Mutex, PoisonError},
    time::Duration,
};

use app::dto::admin::FailureKind;
use time::OffsetDateTime;

use crate::{
    dlq::{DeadLetter, DlqError},
    ingest::WriteOutcome,
    live::bus::BusEvent,
    runtime::state::AppState,
};

/// How often, while entries wait on an outage, one of them is tried ahead of its backoff: the
/// longest the queue waits to start draining after the database is back.
const OUTAGE_PROBE: Duration = Duration::from_secs(5);
/// Full passes run back to back while draining, before the retrier yields to the next tick.
const DLQ_PASSES_PER_TICK: usize = 10;
/// Dead letters retried per pass; the rest wait for the next pass.
const DLQ_BATCH: i64 = 100;

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
pub async fn drain(
    state: &AppState,
    last_probe: &Mutex<Option<std::time::Instant>>,
) -> Result<(), DlqError> {
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
pub async fn retry_due_dead_letters(state: &AppState) -> Result<Vec<Retried>, DlqError> {
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

async fn retry_one(state: &AppState, letter: &DeadLetter) -> Result<RetryResult, DlqError> {
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
