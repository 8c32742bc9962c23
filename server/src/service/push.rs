//! Live push's loops: the hub fed from the bus, figures recomputed per room and pushed, and
//! the snapshots and figures a subscriber starts from — the parts of push that read storage.

use std::sync::Arc;

use app::dto::{
    dashboard::{ActiveCall, Metrics},
    live::{
        ActiveCallsUpdate, DlqUpdate, LiveCallsUpdate, MetricsUpdate, Push, Room, RoomState, Stream,
    },
};
use time::OffsetDateTime;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::{
    live::hub::Dirty,
    runtime::state::AppState,
    service::figures::{self, FiguresError},
};

/// A room's whole state for a subscriber that starts at push `seq` (its snapshot, or Socket.IO's
/// `initial_state`): it reflects at least every push up to `seq`. Subscribers arriving together
/// share one computation.
pub async fn room_state(
    state: &AppState,
    room: &Room,
    seq: u64,
) -> Result<Arc<RoomState>, FiguresError> {
    let cell = state.hub.snapshot_cell(room, seq);
    cell.get_or_try_init(|| async {
        state.hub.count_snapshot();
        compute_room_state(state, room).await.map(Arc::new)
    })
    .await
    .cloned()
}

/// A room's whole state now.
async fn compute_room_state(state: &AppState, room: &Room) -> Result<RoomState, FiguresError> {
    let now = OffsetDateTime::now_utc();
    Ok(match room {
        Room::Tenant(tenant) => {
            RoomState::Calls(figures::initial_state(&state.storage, Some(tenant), now).await?)
        }
        Room::AllTenants => {
            RoomState::Calls(figures::initial_state(&state.storage, None, now).await?)
        }
        Room::Ops => RoomState::Ops(
            figures::ops_state(&state.storage, &state.registry, &state.dlq, now).await?,
        ),
        // Who may watch the call was settled when the socket was opened.
        Room::Call(id) => RoomState::Call(Box::new(
            figures::call_detail(&state.storage, None, id)
                .await?
                .ok_or_else(|| FiguresError::NoCall(id.clone()))?,
        )),
    })
}

/// Feeds the hub from the bus until shutdown.
pub async fn run_fanout(state: AppState) {
    let mut bus = state.bus.subscribe();
    loop {
        let event = tokio::select! {
            () = state.shutdown.cancelled() => return,
            event = bus.recv() => event,
        };
        match event {
            Ok(event) => state.hub.on_event(event),
            Err(RecvError::Lagged(missed)) => {
                warn!(missed, "live hub fell behind the bus; every client resyncs");
                state.hub.reset();
            }
            Err(RecvError::Closed) => return,
        }
    }
}

/// How many coalescer ticks per push interval: a room's figures go out within a tenth of an
/// interval of a change, then at most once per interval — and rooms are not all pushed in the
/// same instant, which would stall everything else once per interval.
const TICKS_PER_INTERVAL: u32 = 10;

/// Recomputes the figures of rooms whose data changed — once per room for all its subscribers,
/// at most once per push interval, and for all tenants' rooms together in a few statements — and
/// pushes them.
pub async fn run_coalescer(state: AppState, shutdown: CancellationToken) {
    let tick =
        (state.config.push.interval / TICKS_PER_INTERVAL).max(std::time::Duration::from_millis(5));
    let mut ticks = tokio::time::interval(tick);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut hour = OffsetDateTime::now_utc().hour();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let now_hour = OffsetDateTime::now_utc().hour();
        if now_hour != hour {
            hour = now_hour;
            state.hub.mark_all_metrics();
        }
        let work = state.hub.take_dirty();
        if work.is_empty() {
            continue;
        }
        if let Err(error) = push_figures(&state, &work).await {
            warn!(%error, "cannot compute live figures; retrying next tick");
            for (room, dirty) in work {
                state.hub.mark(std::slice::from_ref(&room), |again| {
                    again.metrics |= dirty.metrics;
                    again.active_calls |= dirty.active_calls;
                    again.live_calls |= dirty.live_calls;
                    again.dlq |= dirty.dlq;
                });
            }
        }
    }
}

async fn push_figures(state: &AppState, work: &[(Room, Dirty)]) -> Result<(), FiguresError> {
    let now = OffsetDateTime::now_utc();
    let tenants = |wanted: fn(&Dirty) -> bool| -> Vec<String> {
        work.iter()
            .filter_map(|(room, dirty)| match room {
                Room::Tenant(tenant) if wanted(dirty) => Some(tenant.clone()),
                _ => None,
            })
            .collect()
    };
    let (metrics_of, active_of) = (tenants(|d| d.metrics), tenants(|d| d.active_calls));
    let (mut metrics, mut active) = tokio::try_join!(
        async {
            if metrics_of.is_empty() {
                return Ok(Default::default());
            }
            figures::metric_periods_of(&state.storage, &metrics_of, now).await
        },
        async {
            if active_of.is_empty() {
                return Ok(Default::default());
            }
            figures::active_calls_of(&state.storage, &active_of, now).await
        },
    )?;
    for (room, dirty) in work {
        let rooms = std::slice::from_ref(room);
        if let Room::Tenant(tenant) = room {
            let metrics = metrics
                .remove(tenant)
                .and_then(|periods| metrics_push(periods, now));
            let active = active
                .remove(tenant)
                .map(|calls| active_calls_push(calls, now));
            for push in metrics.into_iter().chain(active) {
                state.hub.publish(rooms, &push);
            }
            continue;
        }
        let streams = [
            (dirty.metrics, Stream::Metrics),
            (dirty.active_calls, Stream::ActiveCalls),
            (dirty.live_calls, Stream::Health),
            (dirty.dlq, Stream::Dlq),
        ];
        for (_, stream) in streams.into_iter().filter(|(dirty, _)| *dirty) {
            if let Some(push) = current_figures(state, room, stream).await? {
                state.hub.publish(rooms, &push);
            }
        }
    }
    Ok(())
}

/// `metrics_update` from the periods' figures (the seed's `metrics` is the 24-hour one).
fn metrics_push(periods: Vec<Metrics>, now: OffsetDateTime) -> Option<Push> {
    let metrics = periods
        .iter()
        .find(|metrics| metrics.period_hours == app::dto::dashboard::DEFAULT_HOURS)
        .cloned()?;
    Some(Push::MetricsUpdate(MetricsUpdate {
        metrics,
        periods,
        timestamp: now,
    }))
}

fn active_calls_push(active_calls: Vec<ActiveCall>, now: OffsetDateTime) -> Push {
    Push::ActiveCallsUpdate(ActiveCallsUpdate {
        count: active_calls.len(),
        active_calls,
        timestamp: now,
    })
}

/// The figures of `stream` in `room` as a client switching the stream on gets them: taken from
/// the room's shared snapshot ([`room_state`]), so any number of switches cost at most one
/// computation per room per push (and per second). `None` for streams of single
/// events.
pub async fn shared_figures(
    state: &AppState,
    room: &Room,
    stream: Stream,
) -> Result<Option<Push>, FiguresError> {
    let seq = state.hub.seq(room);
    let shared = room_state(state, room, seq).await?;
    Ok(match (&*shared, stream) {
        (RoomState::Calls(calls), Stream::Metrics) => {
            metrics_push(calls.periods.clone(), calls.timestamp)
        }
        (RoomState::Calls(calls), Stream::ActiveCalls) => Some(active_calls_push(
            calls.active_calls.clone(),
            calls.timestamp,
        )),
        (RoomState::Ops(ops), Stream::Health) => Some(Push::LiveCallsUpdate(LiveCallsUpdate {
            live: ops.live.clone(),
            timestamp: ops.timestamp,
        })),
        (RoomState::Ops(ops), Stream::Dlq) => Some(Push::DlqUpdate(DlqUpdate {
            dlq: ops.dlq,
            timestamp: ops.timestamp,
        })),
        _ => None,
    })
}

/// The current figures of `stream` in `room` as a push: what the coalescer sends when they
/// changed, and what a client gets at once when it switches the stream on. `None` for streams
/// of single events (calls, health changes, reconciliation runs, audit entries).
pub async fn current_figures(
    state: &AppState,
    room: &Room,
    stream: Stream,
) -> Result<Option<Push>, FiguresError> {
    let now = OffsetDateTime::now_utc();
    let tenant = match room {
        Room::Tenant(tenant) => Some(tenant.as_str()),
        Room::AllTenants | Room::Ops => None,
        // A call's page gets its call only, never a tenant's (let alone every tenant's) figures.
        Room::Call(_) => return Ok(None),
    };
    Ok(match stream {
        Stream::Metrics => metrics_push(
            figures::metric_periods(&state.storage, tenant, now).await?,
            now,
        ),
        Stream::ActiveCalls => Some(active_calls_push(
            figures::active_calls(&state.storage, tenant, now).await?,
            now,
        )),
        Stream::Health => Some(Push::LiveCallsUpdate(LiveCallsUpdate {
            live: figures::live_calls(&state.storage, &state.registry, None, now).await?,
            timestamp: now,
        })),
        Stream::Dlq => Some(Push::DlqUpdate(DlqUpdate {
            dlq: figures::dlq_summary(&state.dlq).await?,
            timestamp: now,
        })),
        Stream::Calls | Stream::Reconciliation | Stream::Audit | Stream::Call => None,
    })
}
