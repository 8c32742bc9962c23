//! The live hub: the one place where bus events become pushes, for both transports.
//!
//! # Layout
//! - **Rooms** ([`Room`]): one per tenant, one for every tenant together, the ops room, and one
//!   per call whose page is open (`/ws` only). A connection's rooms follow from its caller and
//!   the tenant or call it asked for ([`rooms_for`]), decided at the handshake; transports never
//!   pick rooms or tenants themselves. A room gets only the pushes and figures of its own
//!   streams ([`Room::streams`]).
//! - **Once**: each bus event is turned into its [`Push`] once, its payload serialized once
//!   ([`Frame::data`], shared by every room and transport); each room adds only its numbering and
//!   the `/ws` frame text ([`Frame::text`]).
//! - **Numbering and history**: each room numbers its pushes within a random epoch and keeps the
//!   last few ([`PushSettings::history`], at most [`PushSettings::resume_window`] old; a call's
//!   room far fewer, [`CALL_ROOM_HISTORY_BYTES`]), so a reconnecting client resumes where it left
//!   off or is told to take a snapshot.
//! - **Backpressure**: every subscriber has one bounded queue. Fan-out never waits: a queue that is
//!   full marks its subscriber as lagged and the hub forgets it; the transport then starts it over
//!   (`/ws`: fresh snapshots; Socket.IO: a fresh `initial_state` once it reads again). Nobody else
//!   is slowed down, and memory stays bounded.
//! - **Coalescing**: events only mark a room's figures dirty; [`crate::service::push::run_coalescer`] recomputes them
//!   at most once per [`PushSettings::interval`] per room — never per socket, and for all tenant
//!   rooms in a few statements — and pushes them.
//! - **Snapshots** are shared by subscribers that start at the same push ([`crate::service::push::room_state`]).
//!
//! The rooms live under one mutex held only for bookkeeping and non-blocking sends, never across
//! an `.await`.

mod events;
mod snapshots;
mod subscription;

use std::{
    collections::{HashMap, VecDeque},
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering},
    },
    time::Instant,
};

use app::dto::{
    auth::{Permission, Role},
    live::{Cursor, Push, Room, RoomState, Stream},
};
use axum::extract::ws::Utf8Bytes;
use serde::Serialize;
use serde_json::value::RawValue;
use tokio::sync::mpsc;
use tracing::{debug, warn};

pub use self::subscription::{Next, Start, StreamSwitch, Subscription};
use crate::domain::auth::Scope;

/// How live push batches, buffers and remembers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushSettings {
    /// Coalescing interval of figure updates (metrics, active calls, live calls, DLQ).
    pub interval: std::time::Duration,
    /// Pushes queued for one connection; a connection further behind is resynced (`/ws`) or
    /// dropped (Socket.IO) rather than buffered without bound. More than the largest burst a
    /// commit can publish (two writers × 1,000 events), so a healthy client never trips it.
    pub queue: usize,
    /// Pushes a room remembers for reconnecting clients, at most this many…
    pub history: usize,
    /// …and this many bytes (pushes carry what the page shows, not a call's metadata, so a
    /// push is a few hundred bytes; a figures push a few KiB; a call's room keeps far less,
    /// [`CALL_ROOM_HISTORY_BYTES`])…
    pub history_bytes: usize,
    /// …and for how long; also how long a room outlives its last subscriber.
    pub resume_window: std::time::Duration,
}

impl Default for PushSettings {
    fn default() -> Self {
        Self {
            interval: std::time::Duration::from_secs(1),
            queue: 4096,
            history: 2048,
            history_bytes: 2 * 1024 * 1024,
            resume_window: std::time::Duration::from_secs(120),
        }
    }
}

/// What a call's room remembers for reconnecting pages: its pushes carry a write's turns and log
/// entries (KiBs, not the few hundred bytes of a calls room's), and there is a room per call
/// watched, so each keeps at most this much — a page that missed more takes a fresh snapshot.
/// With at most `SWITCHBOARD_MAX_CONNECTIONS` sockets each watching one call, the call rooms hold
/// at most that many times this.
pub const CALL_ROOM_HISTORY_BYTES: usize = 128 * 1024;

/// The rooms a caller's connection joins: its tenant's (or every tenant's), plus the ops room for
/// the roles that read operations.
pub fn rooms_for(role: Role, scope: &Scope) -> Vec<Room> {
    let calls = match scope {
        Scope::Tenant(tenant) => Room::Tenant(tenant.clone()),
        Scope::AllTenants => Room::AllTenants,
    };
    if role.allows(Permission::ReadOps) {
        vec![calls, Room::Ops]
    } else {
        vec![calls]
    }
}

/// The streams `role` may receive, as bits: in a room it joins, a stream it may not read (the
/// audit log, for all but admins) is never sent to it, replayed or offered.
fn streams_for(role: Role) -> u8 {
    Stream::ALL
        .into_iter()
        .filter(|stream| role.allows(stream.permission()))
        .fold(0, |bits, stream| bits | stream_bit(stream))
}

/// One push in one room, ready for either transport.
#[derive(Debug)]
pub struct Frame {
    pub room: Room,
    pub epoch: u32,
    pub seq: u64,
    pub stream: Stream,
    /// The Socket.IO event name.
    pub event: &'static str,
    /// The payload, serialized once and shared by every room and transport.
    pub data: Arc<RawValue>,
    /// The whole `/ws` message ([`app::dto::live::ServerMessage::Push`]).
    pub text: Utf8Bytes,
    at: Instant,
}

impl Frame {
    /// What the frame holds: its `/ws` message and its Socket.IO payload.
    fn bytes(&self) -> usize {
        self.text.len() + self.data.get().len()
    }
}

/// The `/ws` shape of a push, written around the already serialized payload.
#[derive(Serialize)]
struct WirePush<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    room: &'a Room,
    epoch: u32,
    seq: u64,
    event: &'static str,
    data: &'a RawValue,
}

/// Counters for tests and health.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HubStats {
    pub rooms: usize,
    pub subscribers: usize,
    /// Subscribers dropped for falling behind, since start.
    pub lagged: u64,
    /// Room states computed for snapshots, since start.
    pub snapshots: u64,
}

/// What a subscriber shares with the hub.
#[derive(Debug)]
struct Subscriber {
    id: u64,
    /// Bit set of the [`Stream`]s its caller may receive.
    allowed: u8,
    /// Bit set of [`Stream`]s it receives (of those allowed).
    streams: AtomicU8,
    lagged: AtomicBool,
}

impl Subscriber {
    fn wants(&self, stream: Stream) -> bool {
        self.streams.load(Ordering::Relaxed) & stream_bit(stream) != 0
    }
}

fn stream_bit(stream: Stream) -> u8 {
    1 << (stream as u8)
}

/// A subscriber's place in one room: the room holds the only senders of its queue, so once the
/// hub forgets it everywhere the queue ends.
struct Member {
    subscriber: Arc<Subscriber>,
    queue: mpsc::Sender<Arc<Frame>>,
}

/// Figures of a room that changed since they were last pushed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dirty {
    pub metrics: bool,
    pub active_calls: bool,
    pub live_calls: bool,
    pub dlq: bool,
}

impl Dirty {
    fn any(self) -> bool {
        self.metrics || self.active_calls || self.live_calls || self.dlq
    }
}

struct RoomEntry {
    epoch: u32,
    seq: u64,
    history: VecDeque<Arc<Frame>>,
    /// What `history` holds, in bytes of its frames.
    history_bytes: usize,
    members: Vec<Member>,
    dirty: Dirty,
    /// When its figures were last taken for a push: the next may not come sooner than one
    /// interval later.
    figures_at: Option<Instant>,
    /// The last snapshot computed, for subscribers arriving before anything more is pushed.
    snapshot: Option<SharedSnapshot>,
    /// Since when the room has had no members; it is forgotten a resume window later.
    idle_since: Option<Instant>,
}

impl RoomEntry {
    /// A room with a random phase of figure pushes within `interval`, so that busy rooms do not
    /// all come due on the same tick.
    fn new(interval: std::time::Duration) -> Self {
        let phase = interval.mul_f64(rand::random::<f64>());
        Self {
            epoch: rand::random(),
            seq: 0,
            history: VecDeque::new(),
            history_bytes: 0,
            members: Vec::new(),
            dirty: Dirty::default(),
            figures_at: Instant::now().checked_sub(phase),
            snapshot: None,
            idle_since: None,
        }
    }

    /// Whether every push after `seq` is still in the history.
    fn covers(&self, seq: u64) -> bool {
        seq == self.seq
            || self
                .history
                .front()
                .is_some_and(|first| first.seq <= seq + 1)
    }

    fn wants(&self, stream: Stream) -> bool {
        self.members
            .iter()
            .any(|member| member.subscriber.wants(stream))
    }
}

struct Inner {
    rooms: Mutex<HashMap<Room, RoomEntry>>,
    settings: PushSettings,
    next_id: AtomicU64,
    lagged: AtomicU64,
    snapshots: AtomicU64,
}

/// The hub; cheap to clone.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").field("stats", &self.stats()).finish()
    }
}

impl Hub {
    pub fn new(settings: PushSettings) -> Self {
        Self {
            inner: Arc::new(Inner {
                rooms: Mutex::default(),
                settings,
                next_id: AtomicU64::new(1),
                lagged: AtomicU64::new(0),
                snapshots: AtomicU64::new(0),
            }),
        }
    }

    fn rooms(&self) -> std::sync::MutexGuard<'_, HashMap<Room, RoomEntry>> {
        // A poisoned lock only means another thread panicked mid-update of plain data.
        self.inner
            .rooms
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub fn stats(&self) -> HubStats {
        let rooms = self.rooms();
        let subscribers: std::collections::HashSet<u64> = rooms
            .values()
            .flat_map(|room| room.members.iter().map(|member| member.subscriber.id))
            .collect();
        HubStats {
            rooms: rooms.len(),
            subscribers: subscribers.len(),
            lagged: self.inner.lagged.load(Ordering::Relaxed),
            snapshots: self.inner.snapshots.load(Ordering::Relaxed),
        }
    }

    /// Joins `rooms`, resuming each from the client's cursor when the room still has what came
    /// after it. Every push after the returned starts arrives through the subscription.
    /// A caller of `role` receives the streams it may read ([`streams_for`]).
    pub fn subscribe(&self, role: Role, rooms: &[Room], cursors: &[Cursor]) -> Subscription {
        let allowed = streams_for(role);
        self.subscribe_with(rooms, cursors, allowed, allowed)
    }

    fn subscribe_with(
        &self,
        rooms: &[Room],
        cursors: &[Cursor],
        allowed: u8,
        streams: u8,
    ) -> Subscription {
        let (queue, receiver) = mpsc::channel(self.inner.settings.queue.max(1));
        let subscriber = Arc::new(Subscriber {
            id: self.inner.next_id.fetch_add(1, Ordering::Relaxed),
            allowed,
            streams: AtomicU8::new(streams & allowed),
            lagged: AtomicBool::new(false),
        });
        let mut entries = self.rooms();
        let starts = rooms
            .iter()
            .map(|room| {
                let entry = entries
                    .entry(room.clone())
                    .or_insert_with(|| RoomEntry::new(self.inner.settings.interval));
                entry.idle_since = None;
                entry.members.push(Member {
                    subscriber: Arc::clone(&subscriber),
                    queue: queue.clone(),
                });
                match cursors.iter().find(|cursor| cursor.room == *room) {
                    Some(cursor)
                        if cursor.epoch == entry.epoch
                            && cursor.seq <= entry.seq
                            && entry.covers(cursor.seq) =>
                    {
                        Start::Replay {
                            room: room.clone(),
                            epoch: entry.epoch,
                            frames: entry
                                .history
                                .iter()
                                .filter(|frame| {
                                    frame.seq > cursor.seq && subscriber.wants(frame.stream)
                                })
                                .cloned()
                                .collect(),
                        }
                    }
                    _ => Start::Snapshot {
                        room: room.clone(),
                        epoch: entry.epoch,
                        seq: entry.seq,
                    },
                }
            })
            .collect();
        Subscription {
            hub: self.clone(),
            subscriber,
            rooms: rooms.to_vec(),
            receiver,
            starts,
        }
    }

    fn leave(&self, id: u64, rooms: &[Room]) {
        let mut entries = self.rooms();
        for room in rooms {
            if let Some(entry) = entries.get_mut(room) {
                entry.members.retain(|member| member.subscriber.id != id);
                if entry.members.is_empty() && entry.idle_since.is_none() {
                    entry.idle_since = Some(Instant::now());
                }
            }
        }
    }

    /// Whether `room` has a subscriber (or may still get one back).
    pub fn has_room(&self, room: &Room) -> bool {
        self.rooms().contains_key(room)
    }

    /// Pushes `push` into each of `rooms` that has a subscriber (or may still get one back).
    /// The payload is serialized once, and only when someone is there to receive it.
    pub fn publish(&self, rooms: &[Room], push: &Push) {
        let mut entries = self.rooms();
        if !rooms.iter().any(|room| entries.contains_key(room)) {
            return;
        }
        let data = match push.data_json().and_then(RawValue::from_string) {
            Ok(data) => Arc::<RawValue>::from(data),
            Err(error) => return warn!(%error, event = push.event(), "cannot encode a push"),
        };
        let stream = push.stream();
        for room in rooms {
            let Some(entry) = entries.get_mut(room) else {
                continue;
            };
            entry.seq += 1;
            let wire = WirePush {
                kind: "push",
                room,
                epoch: entry.epoch,
                seq: entry.seq,
                event: push.event(),
                data: &data,
            };
            let text = match serde_json::to_string(&wire) {
                Ok(text) => Utf8Bytes::from(text),
                Err(error) => return warn!(%error, "cannot encode a push frame"),
            };
            let frame = Arc::new(Frame {
                room: room.clone(),
                epoch: entry.epoch,
                seq: entry.seq,
                stream,
                event: push.event(),
                data: Arc::clone(&data),
                text,
                at: Instant::now(),
            });
            self.remember(entry, &frame);
            entry.members.retain(|member| {
                if member.subscriber.lagged.load(Ordering::Relaxed) {
                    return false;
                }
                if !member.subscriber.wants(stream) {
                    return true;
                }
                match member.queue.try_send(Arc::clone(&frame)) {
                    Ok(()) => true,
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        // Never wait for a slow client: drop it here, and its transport resyncs it.
                        member.subscriber.lagged.store(true, Ordering::Relaxed);
                        self.inner.lagged.fetch_add(1, Ordering::Relaxed);
                        debug!(subscriber = member.subscriber.id, %room, "subscriber fell behind");
                        false
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => false,
                }
            });
            if entry.members.is_empty() && entry.idle_since.is_none() {
                entry.idle_since = Some(Instant::now());
            }
        }
    }

    fn remember(&self, entry: &mut RoomEntry, frame: &Arc<Frame>) {
        let settings = &self.inner.settings;
        let (count, bytes) = match frame.room {
            Room::Call(_) => (settings.history, CALL_ROOM_HISTORY_BYTES),
            _ => (settings.history, settings.history_bytes),
        };
        entry.history.push_back(Arc::clone(frame));
        entry.history_bytes += frame.bytes();
        while entry.history.len() > count
            || entry.history_bytes > bytes
            || entry
                .history
                .front()
                .is_some_and(|first| first.at.elapsed() > settings.resume_window)
        {
            if let Some(first) = entry.history.pop_front() {
                entry.history_bytes -= first.bytes();
            }
        }
    }

    pub fn mark(&self, rooms: &[Room], change: impl Fn(&mut Dirty)) {
        let mut entries = self.rooms();
        for room in rooms {
            if let Some(entry) = entries.get_mut(room) {
                change(&mut entry.dirty);
            }
        }
    }

    /// History was lost (the hub missed bus events): every room starts a new epoch and every
    /// subscriber starts over from snapshots.
    pub fn reset(&self) {
        let mut entries = self.rooms();
        for entry in entries.values_mut() {
            entry.epoch = rand::random();
            entry.history.clear();
            entry.history_bytes = 0;
            for member in entry.members.drain(..) {
                member.subscriber.lagged.store(true, Ordering::Relaxed);
            }
            entry.idle_since = Some(Instant::now());
        }
    }

    /// Takes the dirty figures of rooms someone watches and whose last figures went out at least
    /// an interval ago; forgets rooms idle past the resume window.
    pub fn take_dirty(&self) -> Vec<(Room, Dirty)> {
        let PushSettings {
            resume_window,
            interval,
            ..
        } = self.inner.settings;
        let mut entries = self.rooms();
        entries.retain(|_, entry| {
            entry
                .idle_since
                .is_none_or(|idle| idle.elapsed() <= resume_window)
        });
        entries
            .iter_mut()
            .filter(|(_, entry)| entry.figures_at.is_none_or(|at| at.elapsed() >= interval))
            .filter_map(|(room, entry)| {
                // Only what somebody receives is worth computing. The rest stays dirty: a
                // socket that resumes after changes it missed must get figures computed after
                // them, not be left with the ones from before it went away.
                let wanted =
                    |stream: Stream| room.streams().contains(&stream) && entry.wants(stream);
                let taken = Dirty {
                    metrics: entry.dirty.metrics && wanted(Stream::Metrics),
                    active_calls: entry.dirty.active_calls && wanted(Stream::ActiveCalls),
                    live_calls: entry.dirty.live_calls && wanted(Stream::Health),
                    dlq: entry.dirty.dlq && wanted(Stream::Dlq),
                };
                if !taken.any() {
                    return None;
                }
                entry.dirty.metrics &= !taken.metrics;
                entry.dirty.active_calls &= !taken.active_calls;
                entry.dirty.live_calls &= !taken.live_calls;
                entry.dirty.dlq &= !taken.dlq;
                entry.figures_at = Some(Instant::now());
                Some((room.clone(), taken))
            })
            .collect()
    }

    /// Marks every calls room's metrics dirty (the hour turned: periods moved on).
    pub fn mark_all_metrics(&self) {
        let mut entries = self.rooms();
        for (room, entry) in entries.iter_mut() {
            if room.streams().contains(&Stream::Metrics) {
                entry.dirty.metrics = true;
            }
        }
    }
}

/// How long a room's snapshot may be handed to further subscribers (while the room has pushed
/// nothing since).
const SNAPSHOT_REUSE: std::time::Duration = std::time::Duration::from_secs(1);

/// A room's state as computed for subscribers starting at `seq`; concurrent ones share it.
struct SharedSnapshot {
    seq: u64,
    epoch: u32,
    at: Instant,
    state: Arc<tokio::sync::OnceCell<Arc<RoomState>>>,
}

impl Hub {
    /// The number of the last push in `room` (0 when it has none).
    pub fn seq(&self, room: &Room) -> u64 {
        self.rooms().get(room).map_or(0, |entry| entry.seq)
    }

    /// Counts a room state computed for a snapshot ([`HubStats::snapshots`]).
    pub fn count_snapshot(&self) {
        self.inner.snapshots.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use app::dto::live::{DlqSummary, DlqUpdate, ServerMessage};
    use time::OffsetDateTime;

    use super::*;

    fn settings(queue: usize, history: usize) -> PushSettings {
        PushSettings {
            queue,
            history,
            ..PushSettings::default()
        }
    }

    fn dlq(depth: i64) -> Push {
        Push::DlqUpdate(DlqUpdate {
            dlq: DlqSummary {
                depth,
                final_failures: 0,
            },
            timestamp: OffsetDateTime::UNIX_EPOCH,
        })
    }

    async fn next_frame(subscription: &mut Subscription) -> Arc<Frame> {
        match subscription.next().await {
            Next::Frame(frame) => frame,
            Next::Lagged => panic!("unexpectedly lagged"),
        }
    }

    #[tokio::test]
    async fn the_wire_frame_is_the_typed_push() {
        let hub = Hub::new(settings(8, 8));
        let mut subscription = hub.subscribe(Role::Admin, &[Room::Ops], &[]);
        hub.publish(&[Room::Ops], &dlq(3));
        let frame = next_frame(&mut subscription).await;
        let Start::Snapshot { epoch, seq: 0, .. } = &subscription.take_starts()[0] else {
            panic!("a new subscriber starts from a snapshot");
        };
        assert_eq!(
            serde_json::from_str::<ServerMessage>(&frame.text).unwrap(),
            ServerMessage::Push {
                room: Room::Ops,
                epoch: *epoch,
                seq: 1,
                push: dlq(3),
            }
        );
        assert_eq!(frame.data.get(), dlq(3).data_json().unwrap());
    }

    #[tokio::test]
    async fn figures_nobody_watched_stay_dirty_for_whoever_comes_back() {
        let hub = Hub::new(PushSettings {
            interval: std::time::Duration::ZERO,
            ..settings(8, 8)
        });
        let room = Room::Tenant("acme".into());
        let watching = hub.subscribe(Role::Admin, std::slice::from_ref(&room), &[]);
        drop(watching);
        // A change while nobody is in the room (a socket between disconnect and resume).
        hub.mark(std::slice::from_ref(&room), |dirty| dirty.metrics = true);
        assert!(hub.take_dirty().is_empty(), "nobody to compute them for");
        // Back: the figures it missed are computed for it.
        let _back = hub.subscribe(Role::Admin, std::slice::from_ref(&room), &[]);
        let taken = hub.take_dirty();
        assert_eq!(taken.len(), 1);
        assert!(taken[0].1.metrics, "{taken:?}");
        assert!(hub.take_dirty().is_empty(), "and only once");
    }

    #[tokio::test]
    async fn a_call_room_gets_no_figures_of_any_tenant() {
        let hub = Hub::new(PushSettings {
            interval: std::time::Duration::ZERO,
            ..settings(8, 8)
        });
        let room = Room::Call("c1".into());
        let _page = hub.subscribe(Role::Member, std::slice::from_ref(&room), &[]);
        hub.mark_all_metrics();
        hub.mark(std::slice::from_ref(&room), |dirty| {
            dirty.metrics = true;
            dirty.active_calls = true;
        });
        assert!(
            hub.take_dirty().is_empty(),
            "a call's page is sent its call only"
        );
    }

    #[tokio::test]
    async fn rooms_nobody_joined_cost_nothing() {
        let hub = Hub::new(settings(8, 8));
        hub.publish(&[Room::Tenant("acme".into())], &dlq(1));
        assert_eq!(hub.stats().rooms, 0);
    }

    #[tokio::test]
    async fn a_covered_cursor_replays_and_an_old_one_gets_a_snapshot() {
        let hub = Hub::new(settings(8, 3));
        let room = Room::Tenant("acme".into());
        let first = hub.subscribe(Role::Admin, std::slice::from_ref(&room), &[]);
        for depth in 1..=5 {
            hub.publish(std::slice::from_ref(&room), &dlq(depth));
        }
        let epoch = match &hub
            .subscribe(Role::Admin, std::slice::from_ref(&room), &[])
            .starts[0]
        {
            Start::Snapshot { epoch, seq: 5, .. } => *epoch,
            other => panic!("{other:?}"),
        };
        let cursor = |epoch, seq| Cursor {
            room: room.clone(),
            epoch,
            seq,
        };
        // History holds 3..=5: from 2 on is covered, from 1 is not.
        match &hub
            .subscribe(
                Role::Admin,
                std::slice::from_ref(&room),
                &[cursor(epoch, 2)],
            )
            .starts[0]
        {
            Start::Replay { frames, .. } => {
                assert_eq!(frames.iter().map(|f| f.seq).collect::<Vec<_>>(), [3, 4, 5]);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            hub.subscribe(
                Role::Admin,
                std::slice::from_ref(&room),
                &[cursor(epoch, 1)]
            )
            .starts[0],
            Start::Snapshot { seq: 5, .. }
        ));
        assert!(matches!(
            hub.subscribe(
                Role::Admin,
                std::slice::from_ref(&room),
                &[cursor(epoch.wrapping_add(1), 5)]
            )
            .starts[0],
            Start::Snapshot { seq: 5, .. }
        ));
        drop(first);
    }

    #[tokio::test]
    async fn history_is_bounded_in_bytes_as_well_as_count() {
        let one = {
            let hub = Hub::new(settings(8, 100));
            let room = Room::Tenant("acme".into());
            let _member = hub.subscribe(Role::Admin, std::slice::from_ref(&room), &[]);
            hub.publish(std::slice::from_ref(&room), &dlq(1));
            let rooms = hub.rooms();
            rooms[&room].history_bytes
        };
        // Room for three frames' bytes, though the count would allow a hundred.
        let hub = Hub::new(PushSettings {
            history_bytes: 3 * one + one / 2,
            ..settings(8, 100)
        });
        let room = Room::Tenant("acme".into());
        let _member = hub.subscribe(Role::Admin, std::slice::from_ref(&room), &[]);
        for depth in 1..=10 {
            hub.publish(std::slice::from_ref(&room), &dlq(depth));
        }
        let rooms = hub.rooms();
        let entry = &rooms[&room];
        assert_eq!(entry.history.len(), 3);
        assert!(entry.history_bytes <= 3 * one + one / 2);
        let held: usize = entry.history.iter().map(|frame| frame.bytes()).sum();
        assert_eq!(held, entry.history_bytes);
    }

    #[tokio::test]
    async fn a_full_queue_drops_only_its_subscriber() {
        let hub = Hub::new(settings(2, 8));
        let mut slow = hub.subscribe(Role::Admin, &[Room::Ops], &[]);
        let mut fast = hub.subscribe(Role::Admin, &[Room::Ops], &[]);
        for depth in 1..=5 {
            hub.publish(&[Room::Ops], &dlq(depth));
            assert_eq!(next_frame(&mut fast).await.seq, depth as u64);
        }
        assert!(matches!(slow.next().await, Next::Lagged));
        assert_eq!(
            hub.stats(),
            HubStats {
                rooms: 1,
                subscribers: 1,
                lagged: 1,
                snapshots: 0,
            }
        );
    }

    #[tokio::test]
    async fn unsubscribed_streams_are_not_sent() {
        let hub = Hub::new(settings(8, 8));
        let mut subscription = hub.subscribe(Role::Admin, &[Room::Ops], &[]);
        let switch = subscription.switch();
        assert!(switch.set(Stream::Dlq, false));
        assert_eq!(
            switch.streams(),
            [Stream::Health, Stream::Reconciliation, Stream::Audit]
        );
        hub.publish(&[Room::Ops], &dlq(1));
        assert!(!switch.set(Stream::Dlq, true));
        hub.publish(&[Room::Ops], &dlq(2));
        assert_eq!(next_frame(&mut subscription).await.seq, 2);
        assert_eq!(
            switch.streams(),
            [
                Stream::Health,
                Stream::Dlq,
                Stream::Reconciliation,
                Stream::Audit
            ]
        );
        assert!(!switch.offers(Stream::Calls));
    }

    #[tokio::test]
    async fn a_stream_the_role_may_not_read_is_never_sent_replayed_or_offered() {
        let hub = Hub::new(settings(8, 8));
        let audit = |id| {
            Push::AuditEntry(Box::new(app::dto::admin::AuditEntry {
                id,
                at: OffsetDateTime::UNIX_EPOCH,
                actor: "admin@example.test".into(),
                role: "admin".into(),
                tenant_id: None,
                action: "user.add".into(),
                target: Some("new@example.test".into()),
                result: "ok".into(),
                client_addr: None,
                detail: None,
            }))
        };
        let mut admin = hub.subscribe(Role::Admin, &[Room::Ops], &[]);
        let Start::Snapshot { epoch, .. } = admin.take_starts().remove(0) else {
            panic!("snapshot expected");
        };
        let mut viewer = hub.subscribe(Role::Viewer, &[Room::Ops], &[]);
        let switch = viewer.switch();
        assert!(!switch.offers(Stream::Audit));
        assert!(!switch.set(Stream::Audit, true), "was off");
        assert!(!switch.wants(Stream::Audit), "and stays off");
        hub.publish(&[Room::Ops], &audit(1));
        hub.publish(&[Room::Ops], &dlq(2));
        assert_eq!(next_frame(&mut admin).await.seq, 1);
        assert_eq!(
            next_frame(&mut viewer).await.seq,
            2,
            "the audit entry skipped"
        );
        // Resuming from before both: only the DLQ push is replayed to a viewer.
        let resume = Cursor {
            room: Room::Ops,
            epoch,
            seq: 0,
        };
        let mut again = hub.subscribe(Role::Viewer, &[Room::Ops], &[resume]);
        let Start::Replay { frames, .. } = again.take_starts().remove(0) else {
            panic!("replay expected");
        };
        let seqs: Vec<u64> = frames.iter().map(|frame| frame.seq).collect();
        assert_eq!(seqs, [2]);
    }

    #[tokio::test]
    async fn losing_bus_events_restarts_every_room() {
        let hub = Hub::new(settings(8, 8));
        let mut subscription = hub.subscribe(Role::Admin, &[Room::Ops], &[]);
        let Start::Snapshot { epoch, .. } = subscription.take_starts().remove(0) else {
            panic!("snapshot expected");
        };
        hub.reset();
        assert!(matches!(subscription.next().await, Next::Lagged));
        let again = hub.subscribe(
            Role::Admin,
            &[Room::Ops],
            &[Cursor {
                room: Room::Ops,
                epoch,
                seq: 0,
            }],
        );
        assert!(matches!(&again.starts[0], Start::Snapshot { epoch: new, .. } if *new != epoch));
    }
}
