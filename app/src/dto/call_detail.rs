//! One call's whole story, as its page and `GET /api/dashboard/calls/{id}` tell it: the row,
//! what is kept beside it (heartbeat summary, end reason, cost), its events and its turns.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{
    dashboard::CallSummary,
    ingest::{EventType, TurnRole},
    latency::ResponseLatency,
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

/// Events kept from the start of a call's log.
pub const LOG_HEAD: i64 = 50;
/// Latest events kept after the head.
pub const LOG_TAIL: i64 = 200;

/// Whether a call's log, `total` events long, still holds the entry numbered `seq`: the first
/// [`LOG_HEAD`] and the latest [`LOG_TAIL`]. The server prunes by it and a live page trims by it.
pub fn kept_in_log(seq: i64, total: i64) -> bool {
    seq < LOG_HEAD || seq >= total - LOG_TAIL
}

/// The folder of the calls' pages.
pub const CALL_PAGES: &str = "/dashboard/calls/";

/// Entries a call's log, `total` events long, no longer holds (between its head and its tail).
pub fn events_dropped(total: i64) -> i64 {
    (total - LOG_HEAD - LOG_TAIL).max(0)
}

/// Where the page of call `id` is.
pub fn call_href(id: &str) -> String {
    let segment: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
    format!("{CALL_PAGES}{segment}")
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

/// `call_detail` (`/ws`, a call's own room): what one write changed of the call — its row and
/// what is kept beside it as they now stand, and the log entries and turns it added.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CallDetailUpdate {
    /// How many writes the call has had (events logged, heartbeats and turns): pushes from
    /// concurrent writers, or other instances, may arrive out of order, and an older one must
    /// not take back the newer row a page already shows.
    pub version: i64,
    /// The row, without its metadata (live pushes never carry it: the page keeps what it loaded).
    pub call: CallSummary,
    pub end_reason: Option<String>,
    pub cost: Option<CallCost>,
    pub heartbeats: HeartbeatSummary,
    pub events_total: i64,
    /// New log entries.
    pub events: Vec<TimelineEvent>,
    /// New turns.
    pub turns: Vec<TurnEntry>,
}

impl CallDetailResponse {
    /// How many writes the call had when this was read ([`CallDetailUpdate::version`]).
    pub fn version(&self) -> i64 {
        self.events_total + self.heartbeats.count + self.turns.len() as i64
    }

    /// Takes in one pushed write: the row and its summary replaced (the metadata kept) unless
    /// the page already shows a newer one, the new entries and turns put in their place by `at`
    /// (one already held is not added twice), the log trimmed as the server trims it, the
    /// latency figures recomputed.
    pub fn apply(&mut self, update: &CallDetailUpdate) {
        if update.version >= self.version() {
            let metadata = self.call.call_metadata.take();
            self.call = update.call.clone();
            if self.call.call_metadata.is_none() {
                self.call.call_metadata = metadata;
            }
            self.end_reason.clone_from(&update.end_reason);
            self.cost.clone_from(&update.cost);
            self.heartbeats = update.heartbeats.clone();
        }
        self.events_total = self.events_total.max(update.events_total);
        merge_in(&mut self.events, &update.events, |event| {
            (event.at, event.seq)
        });
        let total = self.events_total;
        self.events.retain(|event| kept_in_log(event.seq, total));
        self.events_dropped = events_dropped(total);
        merge_in(&mut self.turns, &update.turns, |turn| (turn.at, turn.seq));
        self.response_latency = ResponseLatency::of_turns(&self.turns);
    }
}

/// Puts each of `new` that `held` lacks (by `seq`, the key's second part) in its place, `held`
/// being in order of `key` (`at`, then `seq`).
fn merge_in<T: Clone>(held: &mut Vec<T>, new: &[T], key: impl Fn(&T) -> (OffsetDateTime, i64)) {
    for item in new {
        let (at, seq) = key(item);
        if held.iter().all(|other| key(other).1 != seq) {
            let place = held.partition_point(|other| key(other) <= (at, seq));
            held.insert(place, item.clone());
        }
    }
}

impl ResponseLatency {
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
pub(crate) mod tests {
    use time::{Duration, macros::datetime};

    use super::*;

    fn turn(seq: i64, second: i64, latency_ms: Option<i64>) -> TurnEntry {
        TurnEntry {
            seq,
            role: TurnRole::Agent,
            text: format!("turn {seq}"),
            at: datetime!(2026-11-21 12:00 UTC) + Duration::seconds(second),
            latency_ms,
            interrupted: false,
        }
    }

    fn logged(seq: i64, second: i64) -> TimelineEvent {
        TimelineEvent {
            seq,
            event_type: EventType::CallUpdated,
            at: datetime!(2026-11-21 12:00 UTC) + Duration::seconds(second),
            received_at: datetime!(2026-11-21 12:00 UTC),
            source: EventSource::Http,
            changes: serde_json::json!({"status": "active"}),
        }
    }

    /// A call's page with two log entries and two turns.
    pub(crate) fn detail(call: CallSummary) -> CallDetailResponse {
        let turns = vec![turn(0, 1, Some(400)), turn(1, 5, None)];
        CallDetailResponse {
            success: true,
            call,
            agent_name: Some("Front desk".into()),
            end_reason: None,
            cost: None,
            heartbeats: HeartbeatSummary::default(),
            events: vec![logged(0, 0), logged(1, 3)],
            events_total: 2,
            events_dropped: 0,
            response_latency: ResponseLatency::of_turns(&turns),
            turns,
        }
    }

    /// A write that adds a turn and an entry to `detail` and ends the call.
    pub(crate) fn update(detail: &CallDetailResponse) -> CallDetailUpdate {
        let mut call = detail.call.clone();
        call.status = Some("completed".into());
        call.call_metadata = None;
        CallDetailUpdate {
            version: detail.version() + 2,
            call,
            end_reason: Some("caller_hung_up".into()),
            cost: Some(CallCost {
                amount: 0.07,
                currency: "USD".into(),
            }),
            heartbeats: HeartbeatSummary {
                count: 3,
                ..HeartbeatSummary::default()
            },
            events_total: 3,
            events: vec![logged(2, 2)],
            turns: vec![turn(2, 3, Some(900))],
        }
    }

    #[test]
    fn a_histograms_percentiles_are_the_upper_edges_of_their_buckets() {
        use crate::dto::latency::latency_bucket;
        assert_eq!(ResponseLatency::of_histogram(&[0; 28]), None);
        let latencies = [80, 150, 420, 430, 450, 990, 1_200, 1_900, 2_600, 9_000];
        let mut counts = [0; 28];
        for ms in latencies {
            counts[latency_bucket(ms)] += 1;
        }
        let exact = ResponseLatency::of(latencies).unwrap();
        let approximate = ResponseLatency::of_histogram(&counts).unwrap();
        assert_eq!((exact.p50_ms, exact.p95_ms), (450, 9_000));
        assert_eq!((approximate.p50_ms, approximate.p95_ms), (500, 10_000));
        assert_eq!(approximate.samples, 10);
        // Edges are inclusive; past the last edge is the last bucket.
        assert_eq!(latency_bucket(0), 0);
        assert_eq!(latency_bucket(100), 0);
        assert_eq!(latency_bucket(101), 1);
        assert_eq!(latency_bucket(600_000), 27);
        assert_eq!(latency_bucket(700_000), 27);
    }

    #[test]
    fn a_pushed_write_lands_in_order_once_and_keeps_the_metadata() {
        let mut call = crate::dto::live::samples::call("c1", 0, "active");
        call.call_metadata = Some(serde_json::json!({"campaign": "spring"}));
        let mut page = detail(call);
        let update = update(&page);
        page.apply(&update);
        page.apply(&update);
        assert_eq!(page.call.status.as_deref(), Some("completed"));
        assert_eq!(
            page.call.call_metadata,
            Some(serde_json::json!({"campaign": "spring"}))
        );
        assert_eq!(page.end_reason.as_deref(), Some("caller_hung_up"));
        assert_eq!(page.heartbeats.count, 3);
        // By `at`: the new entry (2 s) between the first two (0 s, 3 s), the turn between the
        // others (1 s, 5 s); applied twice, held once.
        let seqs = |seqs: Vec<i64>| seqs;
        assert_eq!(seqs(page.events.iter().map(|e| e.seq).collect()), [0, 2, 1]);
        assert_eq!(seqs(page.turns.iter().map(|t| t.seq).collect()), [0, 2, 1]);
        let latency = page.response_latency.unwrap();
        assert_eq!((latency.samples, latency.p95_ms), (2, 900));

        // A write older than what the page shows, arriving late: its entries are taken in, its
        // row is not.
        let mut late = update.clone();
        late.version = 3;
        late.call.status = Some("active".into());
        late.turns = vec![turn(7, 2, None)];
        page.apply(&late);
        assert_eq!(page.call.status.as_deref(), Some("completed"));
        assert_eq!(page.turns.len(), 4);
    }

    #[test]
    fn a_live_log_is_trimmed_as_the_server_trims_it() {
        let mut page = detail(crate::dto::live::samples::call("c1", 0, "active"));
        page.events.clear();
        page.events_total = 0;
        for seq in 0..300 {
            let mut write = update(&page);
            write.events = vec![logged(seq, seq)];
            write.events_total = seq + 1;
            write.version = seq + 1;
            page.apply(&write);
        }
        assert_eq!(page.events.len(), (LOG_HEAD + LOG_TAIL) as usize);
        assert_eq!(page.events_dropped, 50);
        assert_eq!(page.events[49].seq, 49);
        assert_eq!(page.events[50].seq, 100);
        assert!((0..300).all(|seq| kept_in_log(seq, 300) != (50..100).contains(&seq)));
    }

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
