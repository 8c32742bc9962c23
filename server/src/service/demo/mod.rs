//! `switchboard serve --demo`: a built-in simulator so a newcomer sees a living dashboard.
//!
//! On first start it names five tenants and their agents and writes three weeks of history
//! (shaped by business hours, so charts have shape); then, for as long as the server runs, it
//! keeps a few dozen calls going with heartbeats every 10 s. About one call in thirty stops
//! sending heartbeats and never ends (it turns stale, for reconciliation to close), and unless
//! configured otherwise 2% of writes fail on purpose and recover through the DLQ.
//!
//! Everything goes through the same [`crate::ingest::Ingestor`] as HTTP ingest.

use std::time::Duration;

use app::dto::{
    call_detail::EventSource,
    calls::HeartbeatHealth,
    ingest::{CallEvent, CallFields, Direction, EventType, Outcome},
};
use rand::{Rng, seq::IndexedRandom};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

mod conversation;

use crate::{
    domain::users::{self, NewUser, Role, UserError},
    runtime::state::AppState,
    storage::{Incoming, StorageError},
};

/// An agent: (`agentConfigId`, display name).
type DemoAgent = (&'static str, &'static str);
/// A tenant: (id, business name, agents).
type DemoTenant = (&'static str, &'static str, [DemoAgent; 2]);

pub const TENANTS: [DemoTenant; 5] = [
    (
        "acme-dental",
        "Acme Dental",
        [
            ("acme-front-desk", "Front desk"),
            ("acme-after-hours", "After hours"),
        ],
    ),
    (
        "bluebird-realty",
        "Bluebird Realty",
        [
            ("bluebird-leads", "Lead intake"),
            ("bluebird-showings", "Showings"),
        ],
    ),
    (
        "northwind-clinic",
        "Northwind Clinic",
        [
            ("northwind-booking", "Booking"),
            ("northwind-triage", "Nurse triage"),
        ],
    ),
    (
        "harbor-legal",
        "Harbor Legal",
        [
            ("harbor-intake", "Client intake"),
            ("harbor-billing", "Billing"),
        ],
    ),
    (
        "sunrise-auto",
        "Sunrise Auto",
        [
            ("sunrise-service", "Service desk"),
            ("sunrise-sales", "Sales"),
        ],
    ),
];

/// Calls kept going at once.
const TARGET_LIVE_CALLS: usize = 36;
const HEARTBEAT_EVERY_SECS: i64 = 10;
const HISTORY_DAYS: i64 = 21;
const SEEDED_MARKER: &str = "demo-seeded";
/// The password of every demo user. Demo data only: shown on the console by design.
pub const DEMO_PASSWORD: &str = "switchboard-demo";

/// The demo's dashboard users: (email, role, tenant).
pub fn demo_users() -> Vec<(String, Role, Option<&'static str>)> {
    // One of each role: the platform's three, and an owner per tenant plus a member of the first.
    let mut users = vec![
        (format!("admin@{DEMO_DOMAIN}"), Role::Admin, None),
        (format!("operator@{DEMO_DOMAIN}"), Role::Operator, None),
        (format!("viewer@{DEMO_DOMAIN}"), Role::Viewer, None),
        (
            format!("analyst@{DEMO_DOMAIN}"),
            Role::Member,
            Some(TENANTS[0].0),
        ),
    ];
    users.extend(TENANTS.iter().map(|(tenant, _, _)| {
        (
            format!("{tenant}@{DEMO_DOMAIN}"),
            Role::Owner,
            Some(*tenant),
        )
    }));
    users
}
/// How often the demo reports on the console.
const SUMMARY_EVERY: Duration = Duration::from_secs(15);

pub fn spawn(state: AppState) {
    tokio::spawn(async move {
        if let Err(error) = seed(&state).await {
            warn!(%error, "demo: seeding failed; live traffic continues");
        }
        live_traffic(state.clone(), state.shutdown.clone()).await;
    });
}

/// The demo users' email domain.
pub const DEMO_DOMAIN: &str = "demo.switchboard.test";
/// The mark a database the demo wrote carries ([`crate::storage::Storage::mark`]).
pub const DEMO_MARK: &str = "demo";

/// Tenants, agents, users and (on the first start) history. Safe to run again.
pub async fn seed(state: &AppState) -> Result<(), StorageError> {
    // First, so that a database the demo only began to write is the demo's too.
    state.storage.mark(DEMO_MARK).await?;
    for (tenant, name, agents) in TENANTS {
        state.storage.set_tenant_name(tenant, name).await?;
        for (agent, agent_name) in agents {
            state.storage.set_agent(agent, tenant, agent_name).await?;
        }
    }
    for (email, role, tenant) in demo_users() {
        let user = NewUser {
            email: email.clone(),
            role,
            tenant: tenant.map(str::to_owned),
        };
        match users::add_user(&state.storage, &user, DEMO_PASSWORD, demo_actor()).await {
            Ok(_) | Err(UserError::EmailTaken(_)) => {}
            Err(UserError::Storage(error)) => return Err(error),
            Err(error) => warn!(%error, email, "demo: user not created"),
        }
        info!(
            "demo user: {email} / {DEMO_PASSWORD} ({})",
            tenant.unwrap_or("admin, every tenant")
        );
    }
    let marker = state.config.data_dir.join(SEEDED_MARKER);
    if marker.exists() {
        return Ok(());
    }
    let (events, calls) = history(OffsetDateTime::now_utc());
    for chunk in Incoming::all(events, EventSource::Demo).chunks(1_000) {
        state.storage.write_batch(chunk).await?;
    }
    std::fs::write(&marker, format!("{calls} calls seeded\n")).map_err(sqlx::Error::Io)?;
    info!(calls, days = HISTORY_DAYS, "demo: history written");
    Ok(())
}

/// Three weeks of finished calls before `now`, and how many calls that is.
fn history(now: OffsetDateTime) -> (Vec<CallEvent>, usize) {
    let mut rng = rand::rng();
    let mut events = Vec::new();
    let mut calls = 0;
    for hours_ago in (1..HISTORY_DAYS * 24).rev() {
        let hour_start = now - time::Duration::hours(hours_ago);
        let local_hour = hour_start.hour();
        // Busy 9-17, quiet at night, slower at weekends.
        let base = match local_hour {
            9..=16 => 9.0,
            7..=8 | 17..=19 => 4.0,
            _ => 0.6,
        };
        let weekend = matches!(
            hour_start.weekday(),
            time::Weekday::Saturday | time::Weekday::Sunday
        );
        for (tenant, _, agents) in TENANTS {
            let expected: f64 =
                base * if weekend { 0.35 } else { 1.0 } * rng.random_range(0.6..1.4);
            for _ in 0..expected.round() as usize {
                let start = hour_start + time::Duration::seconds(rng.random_range(0..3600));
                let duration = rng.random_range(15..420);
                let (agent, _) = agents.choose(&mut rng).copied().unwrap_or(agents[0]);
                let id = format!("demo-{}", random_id(&mut rng));
                events.push(started(tenant, agent, &id, start, &mut rng));
                let outcome = pick_outcome(&mut rng);
                if outcome == Outcome::Completed {
                    let turns = conversation::script(&mut rng);
                    let gap = duration / i64::try_from(turns.len() + 1).unwrap_or(1);
                    for (turn, n) in turns.into_iter().zip(1..) {
                        let at = start + time::Duration::seconds(gap * n);
                        events.push(conversation::turn_event(tenant, &id, at, turn));
                    }
                }
                let end = start + time::Duration::seconds(duration);
                events.push(ended(tenant, &id, end, Some(duration), outcome, &mut rng));
                calls += 1;
            }
        }
    }
    (events, calls)
}

struct LiveCall {
    tenant: &'static str,
    id: String,
    started_at: OffsetDateTime,
    ends_at: OffsetDateTime,
    next_heartbeat: OffsetDateTime,
    /// What is left to say, in reverse (the next turn is the last).
    turns: Vec<app::dto::ingest::Turn>,
    next_turn: OffsetDateTime,
    /// Stopped sending heartbeats: the platform lost it.
    lost: bool,
}

async fn live_traffic(state: AppState, shutdown: CancellationToken) {
    let mut live: Vec<LiveCall> = Vec::new();
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    let mut summary = std::time::Instant::now();
    let mut ended_since_summary = 0;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let now = OffsetDateTime::now_utc();
        let mut events = Vec::new();
        {
            let mut rng = rand::rng();
            // Top up towards the target, a few calls per second.
            let running = live.iter().filter(|call| !call.lost).count();
            let starts = if running < TARGET_LIVE_CALLS {
                rng.random_range(0..=3)
            } else {
                usize::from(rng.random_bool(0.2))
            };
            for _ in 0..starts {
                let (tenant, _, agents) = TENANTS.choose(&mut rng).copied().unwrap_or(TENANTS[0]);
                let (agent, _) = agents.choose(&mut rng).copied().unwrap_or(agents[0]);
                let id = format!("live-{}", random_id(&mut rng));
                events.push(started(tenant, agent, &id, now, &mut rng));
                let mut turns = conversation::script(&mut rng);
                turns.reverse();
                live.push(LiveCall {
                    tenant,
                    id,
                    started_at: now,
                    ends_at: now + time::Duration::seconds(rng.random_range(20..360)),
                    next_heartbeat: now + time::Duration::seconds(HEARTBEAT_EVERY_SECS),
                    turns,
                    next_turn: now + time::Duration::seconds(rng.random_range(1..4)),
                    lost: rng.random_bool(1.0 / 30.0),
                });
            }
            for call in live.iter_mut().filter(|call| !call.lost) {
                if call.ends_at <= now {
                    let outcome = pick_outcome(&mut rng);
                    let seconds = (now - call.started_at).whole_seconds();
                    events.push(ended(
                        call.tenant,
                        &call.id,
                        now,
                        Some(seconds),
                        outcome,
                        &mut rng,
                    ));
                    continue;
                }
                if call.next_heartbeat <= now {
                    events.push(heartbeat(call.tenant, &call.id, now));
                    call.next_heartbeat = now + time::Duration::seconds(HEARTBEAT_EVERY_SECS);
                }
                if call.next_turn <= now
                    && let Some(turn) = call.turns.pop()
                {
                    events.push(conversation::turn_event(call.tenant, &call.id, now, turn));
                    call.next_turn = now + time::Duration::seconds(rng.random_range(3..9));
                }
            }
        }
        // Lost calls are forgotten after ten minutes: by then they are long stale.
        live.retain(|call| {
            if call.lost {
                now - call.ends_at < time::Duration::minutes(10)
            } else {
                call.ends_at > now
            }
        });
        let ended_now = events
            .iter()
            .filter(|event| event.event_type == EventType::CallEnded)
            .count();
        if !events.is_empty() {
            state.ingestor.submit(events, EventSource::Demo).await;
        }
        ended_since_summary += ended_now;
        if summary.elapsed() >= SUMMARY_EVERY {
            summarise(&state, ended_since_summary).await;
            ended_since_summary = 0;
            summary = std::time::Instant::now();
        }
    }
}

/// One console line, so the person who ran the command sees calls come and go.
async fn summarise(state: &AppState, ended: usize) {
    let live = state.registry.snapshot(None, OffsetDateTime::now_utc());
    let count = |health| live.iter().filter(|(_, h)| *h == health).count();
    let dlq = state.dlq.depth().await.unwrap_or_default();
    info!(
        "demo: {} live calls ({} healthy, {} warning, {} stale), {ended} ended in the last {} s, DLQ depth {dlq}",
        live.len(),
        count(HeartbeatHealth::Healthy),
        count(HeartbeatHealth::Warning),
        count(HeartbeatHealth::Stale),
        SUMMARY_EVERY.as_secs(),
    );
}

fn random_id(rng: &mut impl Rng) -> String {
    format!("{:012x}", rng.random::<u64>() & 0xffff_ffff_ffff)
}

fn pick_outcome(rng: &mut impl Rng) -> Outcome {
    let weights = [
        (Outcome::Completed, 70),
        (Outcome::NoAnswer, 10),
        (Outcome::Voicemail, 8),
        (Outcome::Transferred, 6),
        (Outcome::Busy, 3),
        (Outcome::Failed, 3),
    ];
    weights
        .choose_weighted(rng, |(_, weight)| *weight)
        .map_or(Outcome::Completed, |(outcome, _)| *outcome)
}

fn started(
    tenant: &str,
    agent: &str,
    id: &str,
    at: OffsetDateTime,
    rng: &mut impl Rng,
) -> CallEvent {
    let phone = format!("+1{}", rng.random_range(2_000_000_000_u64..9_999_999_999));
    let direction = if rng.random_bool(0.7) {
        Direction::Inbound
    } else {
        Direction::Outbound
    };
    CallEvent {
        call: Some(CallFields {
            phone_number: Some(phone),
            direction: Some(direction),
            agent_config_id: Some(agent.to_owned()),
            livekit_room_name: Some(format!("room-{id}")),
            ..CallFields::default()
        }),
        ..CallEvent::new(EventType::CallStarted, tenant, id, at)
    }
}

fn ended(
    tenant: &str,
    id: &str,
    at: OffsetDateTime,
    duration: Option<i64>,
    outcome: Outcome,
    rng: &mut impl Rng,
) -> CallEvent {
    CallEvent {
        outcome: Some(outcome),
        duration,
        end_reason: Some(conversation::end_reason(outcome, rng).to_owned()),
        cost: duration.map(conversation::cost),
        ..CallEvent::new(EventType::CallEnded, tenant, id, at)
    }
}

fn heartbeat(tenant: &str, id: &str, at: OffsetDateTime) -> CallEvent {
    CallEvent::new(EventType::Heartbeat, tenant, id, at)
}

/// The simulator, as the audit log names it when it adds the demo users.
fn demo_actor() -> crate::domain::audit::Actor {
    crate::domain::audit::Actor {
        name: "demo".to_owned(),
        role: "system".to_owned(),
        tenant: None,
    }
}
