//! The client side of live push: what a client knows of its rooms ([`LiveFeed`]), kept in step
//! by the `/ws` messages of [`crate::dto::live`] — snapshots replace a room's state, pushes are
//! applied in order, replays and duplicates change nothing, a gap asks for a reconnect. The same
//! code runs in the browser ([`super::client`]) and in the server's tests.

use std::collections::BTreeMap;

use crate::dto::{
    calls::HeartbeatHealth,
    dashboard::{ActiveCall, CallSummary},
    live::{
        Cursor, InitialState, LiveCalls, OpsState, Push, RECENT_CALLS, Room, RoomState,
        ServerMessage,
    },
};

/// Why a client must reconnect (with its cursors) to get back in step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FeedGap {
    /// A push skipped numbers: something between was lost.
    Missing { room: Room, expected: u64, got: u64 },
    /// A push of a numbering the client has no state for.
    UnknownEpoch { room: Room },
}

/// What a client knows of its rooms: each room's state and cursor, kept up to date by
/// [`LiveFeed::receive`]. The same code runs in the browser and in the server's tests.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveFeed {
    rooms: BTreeMap<Room, (Cursor, RoomState)>,
    /// Some stream is switched off: its pushes are not sent, so numbers skip on purpose.
    partial: bool,
}

impl LiveFeed {
    /// The cursors to reconnect with.
    pub fn cursors(&self) -> Vec<Cursor> {
        self.rooms
            .values()
            .map(|(cursor, _)| cursor.clone())
            .collect()
    }

    pub fn state(&self, room: &Room) -> Option<&RoomState> {
        self.rooms.get(room).map(|(_, state)| state)
    }

    /// The calls state of whichever calls room the client is in.
    pub fn calls(&self) -> Option<&InitialState> {
        self.rooms.values().find_map(|(_, state)| match state {
            RoomState::Calls(calls) => Some(calls),
            RoomState::Ops(_) | RoomState::Call(_) => None,
        })
    }

    /// The page of the call whose room the client is in.
    pub fn call(&self) -> Option<&crate::dto::call_detail::CallDetailResponse> {
        self.rooms.values().find_map(|(_, state)| match state {
            RoomState::Call(call) => Some(call.as_ref()),
            RoomState::Calls(_) | RoomState::Ops(_) => None,
        })
    }

    pub fn ops(&self) -> Option<&OpsState> {
        match self.state(&Room::Ops) {
            Some(RoomState::Ops(ops)) => Some(ops),
            _ => None,
        }
    }

    /// Forgets rooms the server no longer puts the client in, and the stream switches of the
    /// last connection (a new connection receives every stream): after a `hello`.
    fn keep_rooms(&mut self, rooms: &[Room]) {
        self.rooms.retain(|room, _| rooms.contains(room));
        self.partial = false;
    }

    /// Applies one message. `Ok(true)` when the state changed; a push already applied is
    /// skipped. `Err` when the client is out of step and must reconnect.
    pub fn receive(&mut self, message: &ServerMessage) -> Result<bool, FeedGap> {
        match message {
            ServerMessage::Snapshot {
                room,
                epoch,
                seq,
                state,
            } => {
                let cursor = Cursor {
                    room: room.clone(),
                    epoch: *epoch,
                    seq: *seq,
                };
                self.rooms.insert(room.clone(), (cursor, state.clone()));
                Ok(true)
            }
            ServerMessage::Resumed { room, epoch, .. } => match self.rooms.get(room) {
                Some((cursor, _)) if cursor.epoch == *epoch => Ok(false),
                _ => Err(FeedGap::UnknownEpoch { room: room.clone() }),
            },
            ServerMessage::Push {
                room,
                epoch,
                seq,
                push,
            } => {
                let Some((cursor, state)) = self.rooms.get_mut(room) else {
                    return Err(FeedGap::UnknownEpoch { room: room.clone() });
                };
                if cursor.epoch != *epoch {
                    return Err(FeedGap::UnknownEpoch { room: room.clone() });
                }
                if *seq <= cursor.seq {
                    return Ok(false);
                }
                if *seq != cursor.seq + 1 && !self.partial {
                    return Err(FeedGap::Missing {
                        room: room.clone(),
                        expected: cursor.seq + 1,
                        got: *seq,
                    });
                }
                cursor.seq = *seq;
                state.apply(push);
                Ok(true)
            }
            ServerMessage::Streams { streams } => {
                self.partial = self
                    .rooms
                    .keys()
                    .flat_map(|room| room.streams())
                    .any(|stream| !streams.contains(stream));
                Ok(false)
            }
            ServerMessage::Hello { rooms, .. } => {
                self.keep_rooms(rooms);
                Ok(false)
            }
            ServerMessage::Error { .. } | ServerMessage::Pong { .. } => Ok(false),
        }
    }
}

impl RoomState {
    /// Applies a push to this state. Pushes carry whole rows and whole lists, so applying one
    /// twice, or one the state already reflects, leaves the state as it was.
    pub fn apply(&mut self, push: &Push) {
        match (self, push) {
            (Self::Calls(state), Push::CallEvent(event)) => {
                state.timestamp = event.timestamp;
                apply_call(state, &event.call);
            }
            (Self::Calls(state), Push::MetricsUpdate(update)) => {
                state.timestamp = update.timestamp;
                state.metrics = update.metrics.clone();
                state.outcome_distribution = update.metrics.outcome_counts.clone();
                state.periods = update.periods.clone();
            }
            (Self::Calls(state), Push::ActiveCallsUpdate(update)) => {
                state.timestamp = update.timestamp;
                state.active_calls = update.active_calls.clone();
            }
            (Self::Ops(state), Push::HeartbeatHealth(change)) => {
                state.timestamp = change.timestamp;
                if let Some(call) = state
                    .live
                    .active_calls
                    .iter_mut()
                    .find(|live| live.call.id == change.call_id)
                {
                    call.health = change.to;
                }
                state.live.warning_count = count_health(&state.live, HeartbeatHealth::Warning);
                state.live.stale_count = count_health(&state.live, HeartbeatHealth::Stale);
            }
            (Self::Ops(state), Push::LiveCallsUpdate(update)) => {
                state.timestamp = update.timestamp;
                state.live = update.live.clone();
            }
            (Self::Ops(state), Push::DlqUpdate(update)) => {
                state.timestamp = update.timestamp;
                state.dlq = update.dlq;
            }
            (Self::Ops(state), Push::ReconciliationUpdate(update)) => {
                state.timestamp = update.timestamp;
                state.last_reconciliation = Some(update.run.clone());
            }
            (Self::Call(state), Push::CallDetail(update)) => state.apply(update),
            // A push of another room's kind changes nothing here.
            _ => {}
        }
    }
}

fn count_health(live: &LiveCalls, health: HeartbeatHealth) -> usize {
    live.active_calls
        .iter()
        .filter(|call| call.health == health)
        .count()
}

/// A call row's new state in the active and recent lists, ordered as the server orders them.
fn apply_call(state: &mut InitialState, call: &CallSummary) {
    state.active_calls.retain(|active| active.id != call.id);
    if call.is_active() {
        let active = ActiveCall {
            id: call.id.clone(),
            user_id: call.user_id.clone(),
            phone_number: call.phone_number.clone(),
            direction: call.direction.clone(),
            started_at: call.started_at,
            duration: (state.timestamp - call.started_at).whole_seconds().max(0),
            livekit_room_name: call.livekit_room_name.clone(),
            agent_config_id: call.agent_config_id.clone(),
        };
        let at = state.active_calls.partition_point(|other| {
            (other.started_at, &other.id) < (active.started_at, &active.id)
        });
        state.active_calls.insert(at, active);
    }
    state.recent_calls.retain(|recent| recent.id != call.id);
    let at = state
        .recent_calls
        .partition_point(|other| (other.started_at, &other.id) > (call.started_at, &call.id));
    state.recent_calls.insert(at, call.clone());
    state.recent_calls.truncate(RECENT_CALLS);
}

/// What the connection badge shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnectionState {
    /// Before the first connection is up (and for good, without JavaScript).
    Connecting,
    Live,
    /// The link dropped; retrying with backoff.
    Reconnecting {
        attempt: u32,
    },
    /// Several retries failed or the browser is offline; still retrying. `since` is a local
    /// wall-clock time (`HH:MM:SS`) of when the link was lost.
    Offline {
        since: String,
    },
}

impl ConnectionState {
    /// Stable machine-readable name, used as `data-state` on the badge.
    pub fn key(&self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Live => "live",
            Self::Reconnecting { .. } => "reconnecting",
            Self::Offline { .. } => "offline",
        }
    }

    /// The text next to the badge's icon.
    pub fn label(&self) -> String {
        match self {
            Self::Connecting => "Connecting…".to_owned(),
            Self::Live => "Live".to_owned(),
            Self::Reconnecting { attempt } => format!("Reconnecting (try {attempt})…"),
            Self::Offline { since } => format!("Offline since {since}"),
        }
    }
}
#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::dto::live::{
        CallEventPayload, CallEventType,
        samples::{call, metrics},
    };

    fn snapshot(seq: u64, recent: Vec<CallSummary>) -> ServerMessage {
        ServerMessage::Snapshot {
            room: Room::Tenant("acme".into()),
            epoch: 1,
            seq,
            state: RoomState::Calls(InitialState {
                active_calls: Vec::new(),
                metrics: metrics(),
                recent_calls: recent,
                outcome_distribution: BTreeMap::new(),
                periods: Vec::new(),
                timestamp: datetime!(2026-11-21 13:00 UTC),
            }),
        }
    }

    fn push(seq: u64, kind: CallEventType, call: CallSummary) -> ServerMessage {
        ServerMessage::Push {
            room: Room::Tenant("acme".into()),
            epoch: 1,
            seq,
            push: Push::CallEvent(Box::new(CallEventPayload {
                kind,
                call,
                timestamp: datetime!(2026-11-21 13:00 UTC),
            })),
        }
    }

    fn ids<'a>(calls: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
        calls.collect()
    }

    #[test]
    fn call_events_move_calls_between_lists_and_replays_change_nothing() {
        let mut feed = LiveFeed::default();
        feed.receive(&snapshot(5, vec![call("old", 1, "ended")]))
            .unwrap();
        let started = push(6, CallEventType::CallStarted, call("new", 30, "active"));
        assert_eq!(feed.receive(&started), Ok(true));
        let calls = feed.calls().unwrap();
        assert_eq!(
            ids(calls.active_calls.iter().map(|c| c.id.as_str())),
            ["new"]
        );
        assert_eq!(calls.active_calls[0].duration, 30 * 60);
        assert_eq!(
            ids(calls.recent_calls.iter().map(|c| c.id.as_str())),
            ["new", "old"]
        );
        let before = feed.clone();
        assert_eq!(feed.receive(&started), Ok(false), "a replay is skipped");
        assert_eq!(feed, before);

        let ended = push(7, CallEventType::CallEnded, call("new", 30, "ended"));
        feed.receive(&ended).unwrap();
        let calls = feed.calls().unwrap();
        assert!(calls.active_calls.is_empty());
        assert_eq!(calls.recent_calls[0].status.as_deref(), Some("ended"));
        assert_eq!(calls.recent_calls.len(), 2, "upserted, not doubled");
        assert_eq!(
            feed.cursors(),
            [Cursor {
                room: Room::Tenant("acme".into()),
                epoch: 1,
                seq: 7
            }]
        );
    }

    #[test]
    fn recent_calls_stay_the_newest_page_in_server_order() {
        let mut feed = LiveFeed::default();
        let page: Vec<_> = (0..RECENT_CALLS as u8)
            .rev()
            .map(|n| call(&format!("c{n:02}"), 10 + n, "ended"))
            .collect();
        feed.receive(&snapshot(0, page)).unwrap();
        // Older than the whole page: stays out. Newer: pushes the oldest out.
        feed.receive(&push(
            1,
            CallEventType::CallEnded,
            call("ancient", 0, "ended"),
        ))
        .unwrap();
        feed.receive(&push(
            2,
            CallEventType::CallStarted,
            call("fresh", 59, "active"),
        ))
        .unwrap();
        let recent = &feed.calls().unwrap().recent_calls;
        assert_eq!(recent.len(), RECENT_CALLS);
        assert_eq!(recent[0].id, "fresh");
        assert!(recent.iter().all(|c| c.id != "ancient" && c.id != "c00"));
    }

    #[test]
    fn a_hole_or_a_foreign_epoch_asks_for_a_reconnect() {
        let mut feed = LiveFeed::default();
        feed.receive(&snapshot(5, Vec::new())).unwrap();
        assert_eq!(
            feed.receive(&push(8, CallEventType::CallStarted, call("x", 1, "active"))),
            Err(FeedGap::Missing {
                room: Room::Tenant("acme".into()),
                expected: 6,
                got: 8
            })
        );
        let foreign = ServerMessage::Resumed {
            room: Room::Tenant("acme".into()),
            epoch: 2,
            replayed: 0,
        };
        assert!(matches!(
            feed.receive(&foreign),
            Err(FeedGap::UnknownEpoch { .. })
        ));
    }
}
