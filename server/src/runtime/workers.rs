//! Background workers, each a loop that ends when the server shuts down:
//! - the DLQ retrier ([`crate::service::dlq_retry`]) writes due dead letters again, with backoff, until
//!   they succeed or the database refuses them for good;
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

use crate::{
    domain::auth::Revocation, live::bus::BusEvent, runtime::state::AppState, service::dlq_retry,
    service::reconcile,
};

const DLQ_POLL: Duration = Duration::from_secs(1);
/// Longest pause between health sweeps. Short thresholds (tests, demos) sweep more often, so a
/// call is seen in every state it passes through.
const HEALTH_SWEEP: Duration = Duration::from_secs(5);
/// How often the users' token versions are read: the longest a live socket outlives a session
/// ended on another instance or from the command line (requests are checked every time).
const SESSION_WATCH: Duration = Duration::from_secs(2);
/// How often the sign-in limiters forget keys whose allowance has refilled.
const LIMITER_PURGE: Duration = Duration::from_secs(60);

pub fn spawn_all(state: &AppState) {
    // Entries may wait on an outage from before a restart: probe at once.
    let last_probe = Arc::new(Mutex::new(None::<std::time::Instant>));
    tokio::spawn(every(DLQ_POLL, state.shutdown.clone(), {
        let state = state.clone();
        move || {
            let state = state.clone();
            let last_probe = Arc::clone(&last_probe);
            async move {
                if let Err(error) = dlq_retry::drain(&state, &last_probe).await {
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
    let versions = Arc::new(Mutex::new(Watched::default()));
    tokio::spawn(every(SESSION_WATCH, state.shutdown.clone(), {
        let state = state.clone();
        move || {
            let state = state.clone();
            let versions = Arc::clone(&versions);
            async move { watch_sessions(&state, &versions).await }
        }
    }));
    let (limits, requests) = (
        std::sync::Arc::clone(&state.sign_in_limits),
        std::sync::Arc::clone(&state.request_limits),
    );
    tokio::spawn(every(LIMITER_PURGE, state.shutdown.clone(), move || {
        limits.purge();
        requests.purge();
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

/// What the last pass read: every user's token version (`None` before the first read), and
/// when it looked at API tokens.
#[derive(Default)]
struct Watched {
    versions: Option<HashMap<i64, i64>>,
    api_tokens_at: Option<i64>,
}

/// How far back each pass looks for revoked API tokens beyond the last: another instance's
/// clock may run behind ours. Closing a token's sockets twice is harmless.
const CLOCK_SLACK_SECS: i64 = 30;

/// Tells the live sockets of every user whose token version moved, who was added or who was
/// removed since the last pass, and of every API token revoked or expired since; each socket
/// holding an older version or an ended token ends.
async fn watch_sessions(state: &AppState, watched: &Mutex<Watched>) {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let since = watched
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .api_tokens_at
        .unwrap_or(now)
        - CLOCK_SLACK_SECS;
    let (versions, ended) = match tokio::try_join!(
        state.storage.token_versions(),
        state.storage.api_tokens_ended(since, now)
    ) {
        Ok(read) => read,
        Err(error) => {
            warn!(%error, "cannot read the users' token versions and API tokens");
            return;
        }
    };
    let mut watched = watched.lock().unwrap_or_else(PoisonError::into_inner);
    for gone in ended {
        state.api_tokens.forget_id(gone);
        state.revocations.revoke(Revocation::ApiToken(gone));
    }
    watched.api_tokens_at = Some(now);
    let now = versions;
    let last = &mut watched.versions;
    if let Some(before) = last.as_ref() {
        // A user added since the last pass may already have signed in, and moved on since.
        for (&user, &version) in &now {
            if before.get(&user) != Some(&version) {
                state.revocations.revoke(Revocation::User {
                    user,
                    version: Some(version),
                });
            }
        }
        for &user in before.keys().filter(|user| !now.contains_key(user)) {
            state.revocations.revoke(Revocation::User {
                user,
                version: None,
            });
        }
    }
    *last = Some(now);
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
