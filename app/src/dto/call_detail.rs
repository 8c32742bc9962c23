//! One call's whole story, as its page and `GET /api/dashboard/calls/{id}` tell it: the row,
//! what is kept beside it (heartbeat summary, end reason, cost), its events and its turns.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{
    dashboard::CallSummary,
    ingest::{EventType, TurnRole},
};

/// Which door an accepted event came in by.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EventSource {
    /// `POST /api/v1/calls/events`.
    Http,
    /// A Redis pub/sub channel.
    RedisChannel,
    /// The Redis stream.
    RedisStream,
    /// Written when the dead-letter queue retried it, after a failed first write.
    DlqReplay,
    /// The server's own repair (reconciliation ending a stale call).
    Reconciliation,
    /// The demo's generated traffic.
    Demo,
}

impl EventSource {
    pub const ALL: [Self; 6] = [
        Self::Http,
        Self::RedisChannel,
        Self::RedisStream,
        Self::DlqReplay,
        Self::Reconciliation,
        Self::Demo,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::RedisChannel => "redis_channel",
            Self::RedisStream => "redis_stream",
            Self::DlqReplay => "dlq_replay",
            Self::Reconciliation => "reconciliation",
            Self::Demo => "demo",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|source| source.as_str() == text)
    }

    /// How the page names it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Http => "HTTP",
            Self::RedisChannel => "Redis channel",
            Self::RedisStream => "Redis stream",
            Self::DlqReplay => "DLQ replay",
            Self::Reconciliation => "reconciliation",
            Self::Demo => "demo",
        }
    }
}

/// Where the page of call `id` is.
pub fn call_href(id: &str) -> String {
    let segment: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
    format!("/dashboard/calls/{segment}")
}

/// How long the agent took to answer, over the call's agent turns that carry a `latency_ms`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ResponseLatency {
    /// Agent turns with a latency.
    pub samples: usize,
    pub p50_ms: i64,
    pub p95_ms: i64,
}

/// A call's heartbeats, summarised (they are not kept one by one).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HeartbeatSummary {
    pub count: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, format = DateTime))]
    pub first_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, format = DateTime))]
    pub last_at: Option<OffsetDateTime>,
    /// The longest wait between two heartbeats, in milliseconds.
    pub longest_gap_ms: i64,
}

/// One accepted event of the call, as its log keeps it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TimelineEvent {
    /// Its place in the order the call's events were received (0 first).
    pub seq: i64,
    #[serde(rename = "type")]
    pub event_type: EventType,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub received_at: OffsetDateTime,
    pub source: EventSource,
    /// The fields the event carried, as it named them (call fields flattened).
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub changes: serde_json::Value,
}

/// One line of the conversation.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TurnEntry {
    pub seq: i64,
    pub role: TurnRole,
    pub text: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub at: OffsetDateTime,
    pub latency_ms: Option<i64>,
    pub interrupted: bool,
}

/// What a call cost, as its producer said.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CallCost {
    pub amount: f64,
    pub currency: String,
}

/// `GET /api/dashboard/calls/{id}`: the call and everything kept about it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CallDetailResponse {
    pub success: bool,
    /// The row, with its metadata.
    pub call: CallSummary,
    /// The agent's display name, when one is registered.
    pub agent_name: Option<String>,
    pub end_reason: Option<String>,
    pub cost: Option<CallCost>,
    pub heartbeats: HeartbeatSummary,
    /// The event log (heartbeats and turns aside), in order of `at`.
    pub events: Vec<TimelineEvent>,
    /// Events the call had; the log keeps the first 50 and the latest 200 of them.
    pub events_total: i64,
    /// Events the log no longer holds: they fall between its first 50 (`seq` < 50) and the rest.
    pub events_dropped: i64,
    /// The conversation, in order of `at`.
    pub turns: Vec<TurnEntry>,
    pub response_latency: Option<ResponseLatency>,
}

impl ResponseLatency {
    /// p50 and p95 (nearest rank) of `latencies`; `None` without any.
    pub fn of(latencies: impl IntoIterator<Item = i64>) -> Option<Self> {
        let mut sorted: Vec<i64> = latencies.into_iter().collect();
        if sorted.is_empty() {
            return None;
        }
        sorted.sort_unstable();
        let rank = |percent: usize| {
            let index = (sorted.len() * percent).div_ceil(100).max(1) - 1;
            sorted[index.min(sorted.len() - 1)]
        };
        Some(Self {
            samples: sorted.len(),
            p50_ms: rank(50),
            p95_ms: rank(95),
        })
    }

    /// Over a call's agent turns.
    pub fn of_turns(turns: &[TurnEntry]) -> Option<Self> {
        Self::of(
            turns
                .iter()
                .filter(|turn| turn.role == TurnRole::Agent)
                .filter_map(|turn| turn.latency_ms),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::ResponseLatency;

    #[test]
    fn percentiles_are_nearest_rank() {
        assert_eq!(ResponseLatency::of([]), None);
        let one = ResponseLatency::of([700]).unwrap();
        assert_eq!((one.p50_ms, one.p95_ms, one.samples), (700, 700, 1));
        // 1..=20 × 100 ms: the 10th and the 19th value.
        let twenty = ResponseLatency::of((1..=20).rev().map(|n| n * 100)).unwrap();
        assert_eq!((twenty.p50_ms, twenty.p95_ms), (1_000, 1_900));
        let two = ResponseLatency::of([300, 900]).unwrap();
        assert_eq!((two.p50_ms, two.p95_ms), (300, 900));
    }
}
