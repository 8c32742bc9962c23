//! A call's timeline beside its row: the events accepted for it (a bounded log), its heartbeats
//! summarised, its conversation turns (bounded), and `call_ended`'s end reason and cost. Planned
//! event by event with the row in [`super::plan`] and written in the same transaction; the
//! counts live in the row itself ([`super::record::CallTally`]), so they cost no read or write
//! of their own.
//!
//! Bounds per call: the log keeps the first [`LOG_HEAD`] and the latest [`LOG_TAIL`] events, each
//! with at most [`MAX_CHANGES_BYTES`] of "what changed" (about 0.6 MB at worst); events between
//! are still applied to the call, and the tally's `events_logged` says how many the log lacks.
//! Turns: [`MAX_TURNS_PER_CALL`] of at most [`app::dto::ingest::MAX_TURN_TEXT`] characters each
//! (16 MB at worst, a few KB for a real call); a turn past the bound is refused for itself.
//! A resent event is logged (and a resent turn shown) again: it was received twice.

use std::collections::HashMap;

use app::dto::{
    call_detail::{EventSource, LOG_HEAD, LOG_TAIL, kept_in_log},
    ingest::{CallEvent, EventType, MAX_TURNS_PER_CALL, TurnRole},
    latency::latency_bucket,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sqlx::types::Json;
use time::PrimitiveDateTime;

use super::record::{CallRecord, MergeError, utc};

/// Most bytes of one logged event's "what changed", as JSON. Past it, the carried metadata is
/// named by its keys only.
pub const MAX_CHANGES_BYTES: usize = 2 * 1024;

/// An event to write, and the door it came in by.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    pub event: CallEvent,
    pub source: EventSource,
}

impl Incoming {
    /// `events`, all from `source`.
    pub fn all(events: Vec<CallEvent>, source: EventSource) -> Vec<Self> {
        events
            .into_iter()
            .map(|event| Self { event, source })
            .collect()
    }
}

/// One `call_events` row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize, Deserialize)]
pub struct LoggedEvent {
    pub call_id: String,
    pub seq: i64,
    pub user_id: String,
    pub at: PrimitiveDateTime,
    pub event_type: String,
    pub source: String,
    pub received_at: PrimitiveDateTime,
    pub changes: Json<Value>,
}

/// One `call_turns` row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize, Deserialize)]
pub struct TurnRow {
    pub call_id: String,
    pub seq: i64,
    pub user_id: String,
    pub at: PrimitiveDateTime,
    pub role: String,
    pub text: String,
    pub latency_ms: Option<i64>,
    pub interrupted: bool,
}

/// Stored log entries of one call that fall out of the log: `seq` in `from..to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prune {
    pub call_id: String,
    pub from: i64,
    pub to: i64,
}

/// A batch's timeline writes.
#[derive(Debug, Default)]
pub struct TimelinePlan {
    pub events: Vec<LoggedEvent>,
    pub turns: Vec<TurnRow>,
    pub prunes: Vec<Prune>,
}

/// Follows a batch's events through [`super::plan`].
pub(super) struct Timeline {
    events: Vec<LoggedEvent>,
    turns: Vec<TurnRow>,
    received_at: PrimitiveDateTime,
}

impl Timeline {
    pub(super) fn new(received_at: PrimitiveDateTime) -> Self {
        Self {
            events: Vec::new(),
            turns: Vec::new(),
            received_at,
        }
    }

    /// Refuses a turn past its call's bound; `before` is the call as it stands.
    pub(super) fn admit(event: &CallEvent, before: Option<&CallRecord>) -> Result<(), MergeError> {
        let turns = before.map_or(0, |row| row.tally.turns);
        if event.event_type == EventType::Turn && turns >= MAX_TURNS_PER_CALL as i64 {
            return Err(MergeError::TurnLimit {
                call_id: event.call_id.clone(),
                limit: MAX_TURNS_PER_CALL,
            });
        }
        Ok(())
    }

    /// Records an event the plan applied to `after`, the row it left, and counts it there.
    /// `previous_heartbeat` is the call's last heartbeat before the event.
    pub(super) fn record(
        &mut self,
        incoming: &Incoming,
        previous_heartbeat: Option<PrimitiveDateTime>,
        after: &mut CallRecord,
    ) {
        let event = &incoming.event;
        let at = utc(event.at);
        let ended_here = after.ended_at == Some(at);
        let tally = &mut after.tally;
        match event.event_type {
            EventType::Heartbeat => {
                tally.heartbeats += 1;
                if let Some(last) = previous_heartbeat
                    && at > last
                {
                    let gap = i64::try_from((at - last).whole_milliseconds()).unwrap_or(i64::MAX);
                    tally.longest_heartbeat_gap_ms = tally.longest_heartbeat_gap_ms.max(gap);
                }
                tally.first_heartbeat_at =
                    Some(tally.first_heartbeat_at.map_or(at, |first| first.min(at)));
            }
            EventType::Turn => {
                if let Some(turn) = &event.turn {
                    self.turns.push(TurnRow {
                        call_id: event.call_id.clone(),
                        seq: tally.turns,
                        user_id: event.user_id.clone(),
                        at,
                        role: turn.role.as_str().to_owned(),
                        text: turn.text.clone(),
                        latency_ms: turn.latency_ms,
                        interrupted: turn.interrupted.unwrap_or(false),
                    });
                    tally.turns += 1;
                    if let (TurnRole::Agent, Some(ms)) = (turn.role, turn.latency_ms) {
                        count_latency(&mut tally.latency_buckets.0, ms);
                    }
                }
            }
            EventType::CallStarted | EventType::CallUpdated | EventType::CallEnded => {
                // The end that stands (the latest) brings its reason and cost.
                if event.event_type == EventType::CallEnded && ended_here {
                    tally.end_reason.clone_from(&event.end_reason);
                    tally.cost_micros = event.cost.as_ref().map(|cost| micros(cost.amount));
                    tally.cost_currency = event.cost.as_ref().map(|cost| cost.currency.clone());
                }
                self.events.push(LoggedEvent {
                    call_id: event.call_id.clone(),
                    seq: tally.events_logged,
                    user_id: event.user_id.clone(),
                    at,
                    event_type: event.event_type.as_str().to_owned(),
                    source: incoming.source.as_str().to_owned(),
                    received_at: self.received_at,
                    changes: Json(carried(event)),
                });
                tally.events_logged += 1;
            }
        }
    }

    /// The batch's log entries and turns, and what falls out of each call's log: `logged_before`
    /// gives how many events each call had logged before the batch, `rows` the calls after it.
    pub(super) fn finish<'r>(
        self,
        logged_before: impl Fn(&str) -> i64,
        rows: impl Iterator<Item = &'r CallRecord>,
    ) -> TimelinePlan {
        let mut prunes = Vec::new();
        let mut totals: HashMap<&str, i64> = HashMap::new();
        for row in rows {
            let before = logged_before(&row.id);
            let after = row.tally.events_logged;
            if after == before {
                continue;
            }
            let tail_start = after - LOG_TAIL;
            totals.insert(&row.id, after);
            let from = LOG_HEAD.max(before - LOG_TAIL);
            let to = before.min(tail_start);
            if from < to {
                prunes.push(Prune {
                    call_id: row.id.clone(),
                    from,
                    to,
                });
            }
        }
        prunes.sort_by(|a, b| a.call_id.cmp(&b.call_id));
        let events = self
            .events
            .into_iter()
            .filter(|logged| {
                totals
                    .get(logged.call_id.as_str())
                    .is_none_or(|&total| kept_in_log(logged.seq, total))
            })
            .collect();
        TimelinePlan {
            events,
            turns: self.turns,
            prunes,
        }
    }
}

/// One more agent turn answered in `ms`, in a call's (bucket, turns) pairs (kept in bucket order).
fn count_latency(buckets: &mut Vec<(i32, i64)>, ms: i64) {
    // Fewer than 2^31 buckets.
    let bucket = latency_bucket(ms) as i32;
    match buckets.binary_search_by_key(&bucket, |&(held, _)| held) {
        Ok(at) => buckets[at].1 += 1,
        Err(at) => buckets.insert(at, (bucket, 1)),
    }
}

/// An amount in millionths of its currency unit.
fn micros(amount: f64) -> i64 {
    // Validation bounds amounts to 0..=1e9, so the product fits an i64 with room to spare.
    (amount * 1e6).round() as i64
}

/// The fields `event` carried (its call fields flattened, outcome, duration, end reason, cost),
/// within [`MAX_CHANGES_BYTES`].
fn carried(event: &CallEvent) -> Value {
    let mut fields = Map::new();
    let mut large = false;
    if let Some(call) = &event.call {
        if let Ok(Value::Object(call)) = serde_json::to_value(call) {
            fields = call;
        }
        // Without metadata the fields are bounded well under the limit (validation).
        large = call.call_metadata.is_some();
    }
    if let Some(outcome) = event.outcome {
        fields.insert("outcome".to_owned(), Value::from(outcome.as_str()));
    }
    if let Some(duration) = event.duration {
        fields.insert("duration".to_owned(), Value::from(duration));
    }
    if let Some(reason) = &event.end_reason {
        fields.insert("end_reason".to_owned(), Value::from(reason.as_str()));
    }
    if let Some(cost) = &event.cost
        && let Ok(cost) = serde_json::to_value(cost)
    {
        fields.insert("cost".to_owned(), cost);
    }
    if large
        && serde_json::to_vec(&fields).map_or(usize::MAX, |json| json.len()) > MAX_CHANGES_BYTES
        && let Some(Value::Object(metadata)) = fields.remove("call_metadata")
    {
        let keys: Vec<Value> = metadata.keys().cloned().map(Value::from).collect();
        fields.insert("call_metadata".to_owned(), Value::Array(keys));
        if serde_json::to_vec(&fields).map_or(usize::MAX, |json| json.len()) > MAX_CHANGES_BYTES {
            let count = format!("{} keys", metadata.len());
            fields.insert("call_metadata".to_owned(), Value::from(count));
        }
    }
    Value::Object(fields)
}
