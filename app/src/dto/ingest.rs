//! `POST /api/v1/calls/events`: what the call platform sends and what it gets back.
//!
//! Unknown fields are refused rather than ignored, so a producer's typo is an error it sees, not
//! data that silently never arrives.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Most events one request may carry.
pub const MAX_BATCH: usize = 1_000;

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    CallStarted,
    CallUpdated,
    CallEnded,
    Heartbeat,
    /// One conversation turn: what the agent, the caller or a tool said.
    Turn,
}

impl EventType {
    /// The wire name (`call_started`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CallStarted => "call_started",
            Self::CallUpdated => "call_updated",
            Self::CallEnded => "call_ended",
            Self::Heartbeat => "heartbeat",
            Self::Turn => "turn",
        }
    }

    /// The type whose wire name is `text`.
    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::CallStarted,
            Self::CallUpdated,
            Self::CallEnded,
            Self::Heartbeat,
            Self::Turn,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == text)
    }
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inbound => "inbound",
            Self::Outbound => "outbound",
        }
    }
}

/// How a call ended. `Stale` is set by reconciliation when heartbeats stopped.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Completed,
    NoAnswer,
    Busy,
    Failed,
    Voicemail,
    Transferred,
    Stale,
}

impl Outcome {
    pub const ALL: [Outcome; 7] = [
        Self::Completed,
        Self::NoAnswer,
        Self::Busy,
        Self::Failed,
        Self::Voicemail,
        Self::Transferred,
        Self::Stale,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::NoAnswer => "no_answer",
            Self::Busy => "busy",
            Self::Failed => "failed",
            Self::Voicemail => "voicemail",
            Self::Transferred => "transferred",
            Self::Stale => "stale",
        }
    }
}

/// Descriptive columns of a call, named as in `call_logs`. All optional: any event may fill them.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CallFields {
    #[serde(
        rename = "phoneNumber",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub phone_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    #[serde(
        rename = "agentConfigId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub agent_config_id: Option<String>,
    #[serde(
        rename = "livekitRoomName",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub livekit_room_name: Option<String>,
    #[serde(
        rename = "livekitRoomSid",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub livekit_room_sid: Option<String>,
    #[serde(rename = "sipCallId", default, skip_serializing_if = "Option::is_none")]
    pub sip_call_id: Option<String>,
    #[serde(
        rename = "recordingUrl",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub recording_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub call_metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

/// One call event. `outcome` is required for `call_ended`; `duration` (seconds) is optional
/// there and computed from the timestamps when absent.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CallEvent {
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// The tenant: 1–36 characters, no spaces or control characters.
    #[cfg_attr(
        feature = "ssr",
        schema(
            min_length = 1,
            max_length = 36,
            pattern = r"^[^\s\x00-\x1f\x7f-\x9f]+$"
        )
    )]
    pub user_id: String,
    /// 1–36 characters, no spaces or control characters.
    #[cfg_attr(
        feature = "ssr",
        schema(
            min_length = 1,
            max_length = 36,
            pattern = r"^[^\s\x00-\x1f\x7f-\x9f]+$"
        )
    )]
    pub call_id: String,
    /// When it happened, RFC 3339 with an offset.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<CallFields>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<i64>,
    /// Why a `call_ended` call ended, in the producer's words (`caller_hung_up`,
    /// `agent_transfer`, `silence_timeout`, …): 1–64 characters, no control characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(min_length = 1, max_length = 64))]
    pub end_reason: Option<String>,
    /// What a `call_ended` call cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<Cost>,
    /// Required on `turn` events, and only there. A call takes at most 1,000 turns
    /// ([`MAX_TURNS_PER_CALL`]); past that a turn is refused for itself (`turn_limit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<Turn>,
}

impl CallEvent {
    /// An event carrying nothing but its type, tenant, call and time; fill the rest with struct
    /// update syntax.
    pub fn new(
        event_type: EventType,
        user_id: impl Into<String>,
        call_id: impl Into<String>,
        at: OffsetDateTime,
    ) -> Self {
        Self {
            event_type,
            user_id: user_id.into(),
            call_id: call_id.into(),
            at,
            call: None,
            outcome: None,
            duration: None,
            end_reason: None,
            cost: None,
            turn: None,
        }
    }
}

/// A call's price: `amount` ≥ 0 (kept to a millionth), `currency` an ISO 4217 code.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Cost {
    #[cfg_attr(feature = "ssr", schema(minimum = 0, maximum = 1_000_000_000))]
    pub amount: f64,
    /// Three capital letters, e.g. `USD`.
    #[cfg_attr(feature = "ssr", schema(pattern = r"^[A-Z]{3}$"))]
    pub currency: String,
}

/// Who spoke in a turn.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TurnRole {
    Agent,
    Caller,
    Tool,
}

impl TurnRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Caller => "caller",
            Self::Tool => "tool",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Agent, Self::Caller, Self::Tool]
            .into_iter()
            .find(|role| role.as_str() == text)
    }
}

/// One conversation turn of a `turn` event.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Turn {
    pub role: TurnRole,
    /// 1 to 4,000 characters ([`MAX_TURN_TEXT`]), not only spaces; line breaks and tabs are
    /// the only control characters allowed.
    #[cfg_attr(feature = "ssr", schema(min_length = 1, max_length = 4000))]
    pub text: String,
    /// For an agent turn: milliseconds from the end of the caller's speech to the agent's first
    /// audio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(minimum = 0, maximum = 600_000))]
    pub latency_ms: Option<i64>,
    /// The turn was cut off by the other side speaking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<bool>,
}

/// Longest turn text, in characters.
pub const MAX_TURN_TEXT: usize = 4_000;
/// Most turns kept per call; a turn past it is refused (`turn_limit`).
pub const MAX_TURNS_PER_CALL: usize = 1_000;

/// The ingest body as the API document describes it: one event, or an array of 1 to
/// [`MAX_BATCH`]. Only the document uses it: the server reads a body event by event, so one bad
/// event never hides the others' verdicts.
#[cfg(feature = "ssr")]
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum EventBatch {
    One(Box<CallEvent>),
    Many(Events),
}

/// 1 to [`MAX_BATCH`] events. (utoipa takes no item bounds on an unnamed field.)
#[cfg(feature = "ssr")]
#[derive(Deserialize)]
pub struct Events(pub Vec<CallEvent>);

#[cfg(feature = "ssr")]
impl utoipa::PartialSchema for Events {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ArrayBuilder::new()
            .items(utoipa::openapi::Ref::from_schema_name(
                <CallEvent as utoipa::ToSchema>::name(),
            ))
            .min_items(Some(1))
            .max_items(Some(MAX_BATCH))
            .into()
    }
}

#[cfg(feature = "ssr")]
impl utoipa::ToSchema for Events {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        schemas.push((
            <CallEvent as utoipa::ToSchema>::name().into_owned(),
            <CallEvent as utoipa::PartialSchema>::schema(),
        ));
        <CallEvent as utoipa::ToSchema>::schemas(schemas);
    }
}

/// What became of one event.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EventStatus {
    /// Durably written to the call store.
    Stored,
    /// The write failed; the event is durably in the dead-letter queue and will be retried.
    Queued,
    /// Refused; see `error`. Sending it again unchanged will be refused again.
    Rejected,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EventResult {
    /// Position in the request (0 for a single event).
    pub index: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
    pub status: EventStatus,
    /// Why a `rejected` event was refused: `invalid_event` (the field at fault is in `error`),
    /// `tenant_mismatch` (the call is another tenant's), `room_sid_taken` (another of the
    /// tenant's calls holds its `livekitRoomSid`), `metadata_too_large`, `live_call_limit`,
    /// `tenant_limit`, `turn_limit` (the call has [`MAX_TURNS_PER_CALL`] turns) or
    /// `unavailable` (send it again later).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The reply to an ingest request: counts, then one result per event in request order.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct IngestResponse {
    /// True when no event was rejected.
    pub success: bool,
    pub stored: usize,
    pub queued: usize,
    pub rejected: usize,
    pub results: Vec<EventResult>,
}
