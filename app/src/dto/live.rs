//! The live push protocol. One set of payloads, two doors:
//! - `/socket.io/` speaks the seed-000 contract to existing clients: each [`Push`] is emitted as
//!   its seed event (`call_event`, `metrics_update`, …) with its `data` as the payload.
//! - `/ws` carries the same pushes as typed JSON text frames ([`ServerMessage`]) for our WASM
//!   client, each stamped with its room, epoch and sequence number.
//!
//! Long by design: the whole wire protocol in one place, with the browser's reader of it
//! ([`ServerMessage::from_json`]) beside the types it must agree with.
//!
//! # Rooms and streams
//! Every push belongs to one [`Room`]: a tenant's (its calls and figures), every tenant's
//! together (admins only), the ops room (admins only: heartbeat health, the dead-letter queue,
//! reconciliation runs) or one call's (its page, `/ws` only). Which rooms a connection joins
//! follows from who it is and which tenant or call it asked for, at the handshake; a client
//! never names a room. Inside its rooms a client may
//! `unsubscribe` / `subscribe` [`Stream`]s, as the seed's clients do.
//!
//! # Gap-free (`/ws`)
//! Each room numbers its pushes 1, 2, 3… (`seq`) within an `epoch`; the epoch changes whenever
//! the numbering restarts or history was lost (a restart, another instance, a room that went idle,
//! an overflow). A client remembers the last `(room, epoch, seq)` it applied ([`Cursor`]) and
//! reconnects with them: the server replays what it missed ([`ServerMessage::Resumed`], then the
//! pushes) while it still has them, or sends a fresh [`ServerMessage::Snapshot`]. A snapshot
//! reflects at least every push up to its `seq`; pushes after it carry whole rows and whole lists,
//! so applying them again is harmless. [`crate::live::LiveFeed`] is that client logic, shared by the browser
//! and the tests.
//!
//! Keep-alive follows the old backend's Socket.IO settings: the client pings every
//! [`PING_INTERVAL_SECS`]; either side treats [`PING_TIMEOUT_SECS`] of silence as a dead link.

use std::{collections::BTreeMap, fmt, str::FromStr};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{
    admin::{AuditEntry, LiveCallHealth, ReconciliationSummary},
    auth::Permission,
    call_detail::{CallDetailResponse, CallDetailUpdate},
    calls::HeartbeatHealth,
    dashboard::{ActiveCall, CallSummary, DEFAULT_LIMIT, Metrics},
    period::Period,
};

/// How often the client sends [`ClientMessage::Ping`].
pub const PING_INTERVAL_SECS: u64 = 25;
/// Silence after which either side drops the connection.
pub const PING_TIMEOUT_SECS: u64 = 60;
/// The close reason (code 1008) of a socket whose session ended — signed out everywhere, role
/// changed, user removed: the page goes to sign in rather than reconnect.
pub const SESSION_ENDED: &str = "session ended";
/// Recent calls a room's state keeps: the seed's default page.
pub const RECENT_CALLS: usize = DEFAULT_LIMIT as usize;
/// The periods (hours) every metrics push carries, one entry each: the page's selector.
pub const METRIC_PERIODS: [u32; 4] = [
    Period::Hour.hours(),
    Period::SixHours.hours(),
    Period::Day.hours(),
    Period::Week.hours(),
];

/// Whose events a push carries. On the wire: `tenant:<id>`, `all`, `ops` or `call:<id>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Room {
    /// One tenant's calls and figures.
    Tenant(String),
    /// Every tenant's calls and figures together (admins only).
    AllTenants,
    /// Heartbeat health, the dead-letter queue and reconciliation runs (admins only).
    Ops,
    /// One call's page: its row, log entries and turns as they arrive. A call belongs to one
    /// tenant for good, so its room does too; who may join it is checked at the handshake.
    Call(String),
}

impl Room {
    /// The streams pushed in this room.
    pub fn streams(&self) -> &'static [Stream] {
        match self {
            Self::Tenant(_) | Self::AllTenants => {
                &[Stream::Calls, Stream::ActiveCalls, Stream::Metrics]
            }
            Self::Ops => &[
                Stream::Health,
                Stream::Dlq,
                Stream::Reconciliation,
                Stream::Audit,
            ],
            Self::Call(_) => &[Stream::Call],
        }
    }
}

impl fmt::Display for Room {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tenant(tenant) => write!(f, "tenant:{tenant}"),
            Self::AllTenants => f.write_str("all"),
            Self::Ops => f.write_str("ops"),
            Self::Call(id) => write!(f, "call:{id}"),
        }
    }
}

impl FromStr for Room {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        match value {
            "all" => Ok(Self::AllTenants),
            "ops" => Ok(Self::Ops),
            _ => match value.split_once(':') {
                Some(("tenant", tenant)) if !tenant.is_empty() => {
                    Ok(Self::Tenant(tenant.to_owned()))
                }
                Some(("call", id)) if !id.is_empty() => Ok(Self::Call(id.to_owned())),
                _ => Err(format!("not a room: {value}")),
            },
        }
    }
}

impl From<Room> for String {
    fn from(room: Room) -> Self {
        room.to_string()
    }
}

impl TryFrom<String> for Room {
    type Error = String;

    fn try_from(value: String) -> Result<Self, String> {
        value.parse()
    }
}

/// What a client can switch on and off inside its rooms (the seed's `subscribe {stream}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    /// `call_event`: a call started, changed or ended.
    Calls,
    /// `active_calls_update`: the calls in progress.
    ActiveCalls,
    /// `metrics_update`: the metric cards' figures.
    Metrics,
    /// Admins: `heartbeat_health` (a call turned warning or stale) and `live_calls_update`.
    Health,
    /// Admins: `dlq_update`.
    Dlq,
    /// Admins: `reconciliation_update`.
    Reconciliation,
    /// Admins: `audit_entry`.
    Audit,
    /// `call_detail`: what a write changed of the one call whose room this is.
    Call,
}

impl Stream {
    pub const ALL: [Stream; 8] = [
        Self::Calls,
        Self::ActiveCalls,
        Self::Metrics,
        Self::Health,
        Self::Dlq,
        Self::Reconciliation,
        Self::Audit,
        Self::Call,
    ];

    /// What a caller needs to receive the stream.
    pub fn permission(self) -> Permission {
        match self {
            Self::Calls | Self::ActiveCalls | Self::Metrics | Self::Call => Permission::ReadCalls,
            Self::Health | Self::Dlq | Self::Reconciliation => Permission::ReadOps,
            Self::Audit => Permission::ReadAudit,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Calls => "calls",
            Self::ActiveCalls => "active_calls",
            Self::Metrics => "metrics",
            Self::Health => "health",
            Self::Dlq => "dlq",
            Self::Reconciliation => "reconciliation",
            Self::Audit => "audit",
            Self::Call => "call",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|stream| stream.as_str() == value)
    }
}

/// The kind of a `call_event`, as the seed names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallEventType {
    CallStarted,
    CallUpdated,
    CallEnded,
}

/// `call_event`: the call's whole row after the change.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CallEventPayload {
    #[serde(rename = "type")]
    pub kind: CallEventType,
    pub call: CallSummary,
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
}

/// `metrics_update`: `metrics` is the seed's (the last 24 hours); `periods` adds every period of
/// the page's selector, so a client can switch without asking.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct MetricsUpdate {
    pub metrics: Metrics,
    pub periods: Vec<Metrics>,
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
}

/// `active_calls_update`: every call in progress, oldest first.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ActiveCallsUpdate {
    pub active_calls: Vec<ActiveCall>,
    pub count: usize,
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
}

/// `heartbeat_health`: a live call's heartbeat health crossed a threshold.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct HealthChange {
    pub call_id: String,
    pub user_id: String,
    pub from: HeartbeatHealth,
    pub to: HeartbeatHealth,
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
}

/// Every live call with its tenant's business name, last heartbeat and health (the admin API's
/// `active-calls`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct LiveCalls {
    pub active_calls: Vec<LiveCallHealth>,
    pub count: usize,
    pub warning_count: usize,
    pub stale_count: usize,
}

/// `live_calls_update`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct LiveCallsUpdate {
    #[serde(flatten)]
    pub live: LiveCalls,
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
}

/// The dead-letter queue's size.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct DlqSummary {
    pub depth: i64,
    /// Out of automatic retries, waiting for an admin.
    pub final_failures: i64,
}

/// `dlq_update`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct DlqUpdate {
    #[serde(flatten)]
    pub dlq: DlqSummary,
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
}

/// `reconciliation_update`: a run started or finished.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ReconciliationUpdate {
    pub run: ReconciliationSummary,
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
}

/// One push, named as both transports name it: `event` is the Socket.IO event, `data` its
/// payload.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
pub enum Push {
    /// Boxed: a whole call row is many times larger than the other payloads.
    CallEvent(Box<CallEventPayload>),
    MetricsUpdate(MetricsUpdate),
    ActiveCallsUpdate(ActiveCallsUpdate),
    HeartbeatHealth(HealthChange),
    LiveCallsUpdate(LiveCallsUpdate),
    DlqUpdate(DlqUpdate),
    ReconciliationUpdate(ReconciliationUpdate),
    /// An operator action (or a failed sign-in) was added to the audit log.
    AuditEntry(Box<AuditEntry>),
    /// `/ws` only, in a call's room.
    CallDetail(Box<CallDetailUpdate>),
}

impl Push {
    /// The Socket.IO event name.
    pub fn event(&self) -> &'static str {
        match self {
            Self::CallEvent(_) => "call_event",
            Self::MetricsUpdate(_) => "metrics_update",
            Self::ActiveCallsUpdate(_) => "active_calls_update",
            Self::HeartbeatHealth(_) => "heartbeat_health",
            Self::LiveCallsUpdate(_) => "live_calls_update",
            Self::DlqUpdate(_) => "dlq_update",
            Self::ReconciliationUpdate(_) => "reconciliation_update",
            Self::AuditEntry(_) => "audit_entry",
            Self::CallDetail(_) => "call_detail",
        }
    }

    /// The payload alone (`data`), as Socket.IO sends it.
    pub fn data_json(&self) -> serde_json::Result<String> {
        match self {
            Self::CallEvent(data) => serde_json::to_string(data),
            Self::MetricsUpdate(data) => serde_json::to_string(data),
            Self::ActiveCallsUpdate(data) => serde_json::to_string(data),
            Self::HeartbeatHealth(data) => serde_json::to_string(data),
            Self::LiveCallsUpdate(data) => serde_json::to_string(data),
            Self::DlqUpdate(data) => serde_json::to_string(data),
            Self::ReconciliationUpdate(data) => serde_json::to_string(data),
            Self::AuditEntry(data) => serde_json::to_string(data),
            Self::CallDetail(data) => serde_json::to_string(data),
        }
    }

    pub fn stream(&self) -> Stream {
        match self {
            Self::CallEvent(_) => Stream::Calls,
            Self::MetricsUpdate(_) => Stream::Metrics,
            Self::ActiveCallsUpdate(_) => Stream::ActiveCalls,
            Self::HeartbeatHealth(_) | Self::LiveCallsUpdate(_) => Stream::Health,
            Self::DlqUpdate(_) => Stream::Dlq,
            Self::ReconciliationUpdate(_) => Stream::Reconciliation,
            Self::AuditEntry(_) => Stream::Audit,
            Self::CallDetail(_) => Stream::Call,
        }
    }
}

/// Socket.IO `connected`: the tenant the socket is scoped to (`null`: an admin watching every
/// tenant) and its session id.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Connected {
    pub user_id: Option<String>,
    pub sid: String,
}

/// Socket.IO `pong`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Pong {
    pub timestamp: String,
}

/// `initial_state`: a calls room's state. The seed's five fields, plus `periods` (as in
/// [`MetricsUpdate`]).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct InitialState {
    pub active_calls: Vec<ActiveCall>,
    pub metrics: Metrics,
    /// The newest [`RECENT_CALLS`] calls, newest first.
    pub recent_calls: Vec<CallSummary>,
    pub outcome_distribution: BTreeMap<String, i64>,
    pub periods: Vec<Metrics>,
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
}

/// The ops room's state (Socket.IO: `ops_state`, to admins).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct OpsState {
    pub live: LiveCalls,
    pub dlq: DlqSummary,
    pub last_reconciliation: Option<ReconciliationSummary>,
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
}

/// A room's whole state, as a snapshot carries it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RoomState {
    Calls(InitialState),
    Ops(OpsState),
    /// A call's room: its page's data.
    Call(Box<CallDetailResponse>),
}

/// Where a client is in a room: the last push it applied.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub room: Room,
    pub epoch: u32,
    pub seq: u64,
}

/// The query of `/ws`: `user_id` as the REST API takes it (admins: one tenant, or none for all),
/// `call` to watch one call's page instead (its room alone), and `resume`, the client's cursors
/// ([`encode_resume`]).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct SocketQuery {
    pub user_id: Option<String>,
    pub call: Option<String>,
    pub resume: Option<String>,
}

/// Cursors as the `resume` query parameter carries them (JSON).
pub fn encode_resume(cursors: &[Cursor]) -> String {
    serde_json::to_string(cursors).unwrap_or_default()
}

/// The cursors of a `resume` parameter; `None` when it is not one.
pub fn decode_resume(value: &str) -> Option<Vec<Cursor>> {
    serde_json::from_str(value).ok()
}

/// Server → client, on `/ws`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// First message on every connection: who the server takes the client for, and its rooms.
    Hello {
        /// The server's version, so a client can notice a deploy.
        version: String,
        /// Server time, RFC 3339, UTC.
        server_time: String,
        /// The tenant the connection is scoped to; `null` for an admin watching every tenant.
        tenant: Option<String>,
        rooms: Vec<Room>,
    },
    /// A room's whole state, reflecting at least every push up to `seq`: replace, don't merge.
    Snapshot {
        room: Room,
        epoch: u32,
        seq: u64,
        state: RoomState,
    },
    /// The client's cursor in `room` is still covered: the `replayed` pushes after it follow.
    Resumed {
        room: Room,
        epoch: u32,
        replayed: u64,
    },
    /// One push in `room`.
    Push {
        room: Room,
        epoch: u32,
        seq: u64,
        #[serde(flatten)]
        push: Push,
    },
    /// The streams the connection now receives (after `subscribe` / `unsubscribe`).
    Streams { streams: Vec<Stream> },
    /// A request the server refused; the connection stays open.
    Error { message: String },
    /// Answer to [`ClientMessage::Ping`].
    Pong { timestamp: String },
}

/// Messages of the ops room reach admins only; the customers' browser bundle, built without the
/// ops board, leaves out their readers and refuses them as unknown.
const READS_OPS: bool = cfg!(feature = "ops-board");
/// Likewise a call's room reaches a call's page only, which the dashboard's bundles leave out.
const READS_CALL: bool = cfg!(feature = "call-page");

impl ServerMessage {
    /// Reads a message as the derived `Deserialize` does (a test holds them equal), but without
    /// serde's buffering of tagged enums: that compiled a second deserialiser for every payload
    /// type into the browser bundle (serde's `Content`), beside the one the page's data already
    /// uses. Here the envelope's fields are read once and each payload, kept as raw JSON, is
    /// read by that same `serde_json::from_str`. The server still sends the tag first, but this
    /// does not rely on it.
    pub fn from_json(text: &str) -> serde_json::Result<Self> {
        use serde::de::Error as _;
        use serde_json::value::RawValue;

        #[derive(Deserialize)]
        struct Envelope<'a> {
            #[serde(rename = "type")]
            kind: String,
            room: Option<Room>,
            epoch: Option<u32>,
            seq: Option<u64>,
            replayed: Option<u64>,
            event: Option<String>,
            #[serde(borrow)]
            data: Option<&'a RawValue>,
            #[serde(borrow)]
            state: Option<&'a RawValue>,
            version: Option<String>,
            server_time: Option<String>,
            tenant: Option<String>,
            rooms: Option<Vec<Room>>,
            streams: Option<Vec<Stream>>,
            message: Option<String>,
            timestamp: Option<String>,
        }
        #[derive(Deserialize)]
        struct Kind {
            kind: String,
        }
        fn need<T>(value: Option<T>, field: &'static str) -> serde_json::Result<T> {
            value.ok_or_else(|| serde_json::Error::missing_field(field))
        }

        let envelope: Envelope<'_> = serde_json::from_str(text)?;
        Ok(match envelope.kind.as_str() {
            "hello" => Self::Hello {
                version: need(envelope.version, "version")?,
                server_time: need(envelope.server_time, "server_time")?,
                tenant: envelope.tenant,
                rooms: need(envelope.rooms, "rooms")?,
            },
            "snapshot" => {
                let state = need(envelope.state, "state")?.get();
                let Kind { kind } = serde_json::from_str(state)?;
                Self::Snapshot {
                    room: need(envelope.room, "room")?,
                    epoch: need(envelope.epoch, "epoch")?,
                    seq: need(envelope.seq, "seq")?,
                    state: match kind.as_str() {
                        "calls" => RoomState::Calls(serde_json::from_str(state)?),
                        "ops" if READS_OPS => RoomState::Ops(serde_json::from_str(state)?),
                        "call" if READS_CALL => RoomState::Call(serde_json::from_str(state)?),
                        other => {
                            return Err(serde_json::Error::unknown_variant(
                                other,
                                &["calls", "ops", "call"],
                            ));
                        }
                    },
                }
            }
            "resumed" => Self::Resumed {
                room: need(envelope.room, "room")?,
                epoch: need(envelope.epoch, "epoch")?,
                replayed: need(envelope.replayed, "replayed")?,
            },
            "push" => {
                let data = need(envelope.data, "data")?.get();
                let event = need(envelope.event, "event")?;
                Self::Push {
                    room: need(envelope.room, "room")?,
                    epoch: need(envelope.epoch, "epoch")?,
                    seq: need(envelope.seq, "seq")?,
                    push: match event.as_str() {
                        "call_event" => Push::CallEvent(serde_json::from_str(data)?),
                        "metrics_update" => Push::MetricsUpdate(serde_json::from_str(data)?),
                        "active_calls_update" => {
                            Push::ActiveCallsUpdate(serde_json::from_str(data)?)
                        }
                        "heartbeat_health" if READS_OPS => {
                            Push::HeartbeatHealth(serde_json::from_str(data)?)
                        }
                        "live_calls_update" if READS_OPS => {
                            Push::LiveCallsUpdate(serde_json::from_str(data)?)
                        }
                        "dlq_update" if READS_OPS => Push::DlqUpdate(serde_json::from_str(data)?),
                        "reconciliation_update" if READS_OPS => {
                            Push::ReconciliationUpdate(serde_json::from_str(data)?)
                        }
                        "audit_entry" if READS_OPS => Push::AuditEntry(serde_json::from_str(data)?),
                        "call_detail" if READS_CALL => {
                            Push::CallDetail(serde_json::from_str(data)?)
                        }
                        other => return Err(serde_json::Error::unknown_variant(other, &[])),
                    },
                }
            }
            "streams" => Self::Streams {
                streams: need(envelope.streams, "streams")?,
            },
            "error" => Self::Error {
                message: need(envelope.message, "message")?,
            },
            "pong" => Self::Pong {
                timestamp: need(envelope.timestamp, "timestamp")?,
            },
            other => return Err(serde_json::Error::unknown_variant(other, &[])),
        })
    }
}

/// Client → server, on `/ws`. Anything else closes the connection (policy violation).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    Ping,
    Subscribe { stream: Stream },
    Unsubscribe { stream: Stream },
}

/// Rows and figures for the tests of the protocol and of its client.
#[cfg(test)]
pub(crate) mod samples {
    use time::macros::datetime;

    use super::*;

    pub(crate) fn call(id: &str, minute: u8, status: &str) -> CallSummary {
        CallSummary {
            id: id.into(),
            user_id: "acme".into(),
            agent_config_id: None,
            phone_number: None,
            started_at: datetime!(2026-11-21 12:00 UTC) + time::Duration::minutes(minute.into()),
            ended_at: None,
            livekit_room_name: None,
            livekit_room_sid: None,
            direction: None,
            status: Some(status.into()),
            outcome: None,
            duration: None,
            sip_call_id: None,
            recording_url: None,
            call_metadata: None,
            last_heartbeat_at: None,
        }
    }

    pub(crate) fn metrics() -> Metrics {
        Metrics {
            total_calls: 0,
            active_calls: 0,
            completed_calls: 0,
            average_duration: 0.0,
            success_rate: 0.0,
            outcome_counts: BTreeMap::new(),
            period_hours: crate::dto::dashboard::DEFAULT_HOURS,
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::{
        samples::{call, metrics},
        *,
    };

    #[test]
    fn messages_are_tagged_by_snake_case_type() {
        let ping: ClientMessage = serde_json::from_str(r#"{"type":"ping"}"#).unwrap();
        assert_eq!(ping, ClientMessage::Ping);
        let subscribe: ClientMessage =
            serde_json::from_str(r#"{"type":"subscribe","stream":"active_calls"}"#).unwrap();
        assert_eq!(
            subscribe,
            ClientMessage::Subscribe {
                stream: Stream::ActiveCalls
            }
        );
        let pong = serde_json::to_value(ServerMessage::Pong {
            timestamp: "t".into(),
        })
        .unwrap();
        assert_eq!(pong, serde_json::json!({"type": "pong", "timestamp": "t"}));
    }

    #[test]
    fn unknown_client_messages_are_rejected() {
        assert!(serde_json::from_str::<ClientMessage>(r#"{"type":"shutdown"}"#).is_err());
        assert!(
            serde_json::from_str::<ClientMessage>(r#"{"type":"subscribe","stream":"secrets"}"#)
                .is_err()
        );
    }

    #[test]
    fn rooms_are_strings_on_the_wire() {
        for (room, text) in [
            (Room::Tenant("acme:1".into()), "\"tenant:acme:1\""),
            (Room::AllTenants, "\"all\""),
            (Room::Ops, "\"ops\""),
            (Room::Call("c:9".into()), "\"call:c:9\""),
        ] {
            assert_eq!(serde_json::to_string(&room).unwrap(), text);
            assert_eq!(serde_json::from_str::<Room>(text).unwrap(), room);
        }
        assert!(serde_json::from_str::<Room>("\"tenant:\"").is_err());
        assert!(serde_json::from_str::<Room>("\"call:\"").is_err());
        assert!(serde_json::from_str::<Room>("\"everyone\"").is_err());
    }

    #[test]
    fn a_push_is_the_seed_event_with_room_and_sequence() {
        let message = ServerMessage::Push {
            room: Room::AllTenants,
            epoch: 7,
            seq: 3,
            push: Push::DlqUpdate(DlqUpdate {
                dlq: DlqSummary {
                    depth: 2,
                    final_failures: 1,
                },
                timestamp: datetime!(2026-11-21 12:00 UTC),
            }),
        };
        let json = serde_json::to_value(&message).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"type": "push", "room": "all", "epoch": 7, "seq": 3,
                "event": "dlq_update",
                "data": {"depth": 2, "final_failures": 1, "timestamp": "2026-11-21T12:00:00Z"}})
        );
        assert_eq!(
            serde_json::from_value::<ServerMessage>(json).unwrap(),
            message
        );
    }

    /// One message of every kind and every push, with payloads that are not all empty.
    fn every_message() -> Vec<ServerMessage> {
        use crate::dto::admin::{ReconciliationTrigger, RunStatus};
        let at = datetime!(2026-11-21 13:00 UTC);
        let mut ended = call("c1", 5, "ended");
        ended.outcome = Some("completed".into());
        ended.call_metadata = Some(serde_json::json!({"campaign": {"id": 7}, "tags": ["a", "b"]}));
        let active = ActiveCall {
            id: "c2".into(),
            user_id: "acme".into(),
            phone_number: Some("+15550100".into()),
            direction: Some("inbound".into()),
            started_at: at,
            duration: 42,
            livekit_room_name: None,
            agent_config_id: Some("agent \"quoted\" ✓".into()),
        };
        let live = LiveCalls {
            active_calls: vec![LiveCallHealth {
                call: active.clone(),
                business_name: "Acme".into(),
                last_heartbeat_at: Some(at),
                heartbeat_age_seconds: 70,
                health: HeartbeatHealth::Warning,
            }],
            count: 1,
            warning_count: 1,
            stale_count: 0,
        };
        let dlq = DlqSummary {
            depth: 3,
            final_failures: 1,
        };
        let run = ReconciliationSummary {
            id: "run-1".into(),
            trigger: ReconciliationTrigger::Admin,
            triggered_by: Some("ops@example.com".into()),
            status: RunStatus::Failed,
            started_at: at,
            finished_at: None,
            stale_closed: 1,
            backfilled: 2,
            live_cleared: 3,
            dlq_retried: 4,
            dlq_rearmed: 5,
            error: Some("database gone".into()),
        };
        let mut figures = metrics();
        figures.total_calls = 9;
        figures.outcome_counts.insert("completed".into(), 4);
        let detail = crate::dto::call_detail::tests::detail(ended.clone());
        let pushes = vec![
            Push::CallDetail(Box::new(crate::dto::call_detail::tests::update(&detail))),
            Push::CallEvent(Box::new(CallEventPayload {
                kind: CallEventType::CallEnded,
                call: ended.clone(),
                timestamp: at,
            })),
            Push::MetricsUpdate(MetricsUpdate {
                metrics: figures.clone(),
                periods: vec![figures.clone()],
                timestamp: at,
            }),
            Push::ActiveCallsUpdate(ActiveCallsUpdate {
                active_calls: vec![active.clone()],
                count: 1,
                timestamp: at,
            }),
            Push::HeartbeatHealth(HealthChange {
                call_id: "c2".into(),
                user_id: "acme".into(),
                from: HeartbeatHealth::Healthy,
                to: HeartbeatHealth::Warning,
                timestamp: at,
            }),
            Push::LiveCallsUpdate(LiveCallsUpdate {
                live: live.clone(),
                timestamp: at,
            }),
            Push::DlqUpdate(DlqUpdate { dlq, timestamp: at }),
            Push::ReconciliationUpdate(ReconciliationUpdate {
                run: run.clone(),
                timestamp: at,
            }),
        ];
        let mut messages = vec![
            ServerMessage::Hello {
                version: "1.0".into(),
                server_time: "2026-11-21T13:00:00Z".into(),
                tenant: None,
                rooms: vec![Room::AllTenants, Room::Ops],
            },
            ServerMessage::Hello {
                version: "1.0".into(),
                server_time: "2026-11-21T13:00:00Z".into(),
                tenant: Some("acme".into()),
                rooms: vec![Room::Tenant("acme".into())],
            },
            ServerMessage::Snapshot {
                room: Room::Tenant("acme".into()),
                epoch: 2,
                seq: 11,
                state: RoomState::Calls(InitialState {
                    active_calls: vec![active],
                    metrics: figures.clone(),
                    recent_calls: vec![ended],
                    outcome_distribution: figures.outcome_counts.clone(),
                    periods: vec![figures],
                    timestamp: at,
                }),
            },
            ServerMessage::Snapshot {
                room: Room::Ops,
                epoch: 1,
                seq: 0,
                state: RoomState::Ops(OpsState {
                    live,
                    dlq,
                    last_reconciliation: Some(run),
                    timestamp: at,
                }),
            },
            ServerMessage::Snapshot {
                room: Room::Call("c1".into()),
                epoch: 2,
                seq: 5,
                state: RoomState::Call(Box::new(detail)),
            },
            ServerMessage::Resumed {
                room: Room::Ops,
                epoch: 4,
                replayed: 2,
            },
            ServerMessage::Streams {
                streams: vec![Stream::Calls, Stream::Dlq],
            },
            ServerMessage::Error {
                message: "no such stream".into(),
            },
            ServerMessage::Pong {
                timestamp: "t".into(),
            },
        ];
        messages.extend(
            pushes
                .into_iter()
                .enumerate()
                .map(|(seq, push)| ServerMessage::Push {
                    room: Room::AllTenants,
                    epoch: 3,
                    seq: seq as u64 + 1,
                    push,
                }),
        );
        messages
    }

    #[test]
    fn the_browsers_reader_agrees_with_serde_on_every_message() {
        for message in every_message() {
            let text = serde_json::to_string(&message).unwrap();
            // Built without the ops board (the customers' bundle), the ops room's messages are
            // unknown.
            let ops = matches!(
                &message,
                ServerMessage::Snapshot {
                    state: RoomState::Ops(_),
                    ..
                } | ServerMessage::Push {
                    push: Push::HeartbeatHealth(_)
                        | Push::LiveCallsUpdate(_)
                        | Push::DlqUpdate(_)
                        | Push::ReconciliationUpdate(_)
                        | Push::AuditEntry(_),
                    ..
                }
            );
            // Nor, without a call's page (the dashboard's bundles), a call room's.
            let call = matches!(
                &message,
                ServerMessage::Snapshot {
                    state: RoomState::Call(_),
                    ..
                } | ServerMessage::Push {
                    push: Push::CallDetail(_),
                    ..
                }
            );
            if (ops && !READS_OPS) || (call && !READS_CALL) {
                assert!(ServerMessage::from_json(&text).is_err(), "{text}");
                continue;
            }
            assert_eq!(ServerMessage::from_json(&text).unwrap(), message, "{text}");
            // Field order is not part of the contract: keys sorted (a `Map` is a BTreeMap here)
            // put the tag after the payload.
            let sorted: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(&text).unwrap();
            let sorted = serde_json::to_string(&sorted).unwrap();
            assert!(!sorted.starts_with(r#"{"type""#), "{sorted}");
            assert_eq!(
                ServerMessage::from_json(&sorted).unwrap(),
                message,
                "{sorted}"
            );
        }
    }

    #[test]
    fn the_browsers_reader_refuses_what_serde_refuses() {
        for text in [
            r#"{"type":"shutdown"}"#,
            r#"{"type":"push","room":"ops","epoch":1,"seq":1,"event":"secrets","data":{}}"#,
            r#"{"type":"push","room":"ops","epoch":1,"event":"dlq_update","data":{"depth":1,"final_failures":0,"timestamp":"2026-11-21T12:00:00Z"}}"#,
            r#"{"type":"snapshot","room":"ops","epoch":1,"seq":1,"state":{"kind":"everything"}}"#,
            r#"{"type":"hello","version":"1","rooms":[]}"#,
            r#"{"type":"resumed","room":"nowhere","epoch":1,"replayed":0}"#,
            r#"not json"#,
        ] {
            assert!(
                serde_json::from_str::<ServerMessage>(text).is_err(),
                "serde takes {text}"
            );
            assert!(
                ServerMessage::from_json(text).is_err(),
                "from_json takes {text}"
            );
        }
    }

    #[test]
    fn resume_cursors_round_trip() {
        let cursors = vec![
            Cursor {
                room: Room::Tenant("a b&c".into()),
                epoch: 1,
                seq: 9,
            },
            Cursor {
                room: Room::Ops,
                epoch: 2,
                seq: 0,
            },
        ];
        assert_eq!(decode_resume(&encode_resume(&cursors)), Some(cursors));
        assert_eq!(decode_resume("nonsense"), None);
    }
}
