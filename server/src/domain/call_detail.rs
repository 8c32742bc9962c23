//! A call's page from what storage keeps of it: the row with its metadata, the tally's
//! heartbeat summary, end reason and cost, the event log and the conversation, and the
//! agent's response latency over its turns.

use app::dto::{
    call_detail::{
        CallCost, CallDetailResponse, CallDetailUpdate, EventSource, HeartbeatSummary,
        TimelineEvent, TurnEntry, events_dropped,
    },
    ingest::{EventType, TurnRole},
    latency::ResponseLatency,
};
use time::PrimitiveDateTime;

use super::figures::call_summary;
use crate::storage::{
    CallRecord,
    call_detail::CallTimeline,
    timeline::{LoggedEvent, TurnRow},
};

/// The page's data for `timeline`; `agent_name` is its agent's display name, when registered.
pub fn call_detail(timeline: CallTimeline, agent_name: Option<String>) -> CallDetailResponse {
    let CallTimeline {
        call,
        events,
        turns,
    } = timeline;
    let tally = call.tally.clone();
    let turns: Vec<TurnEntry> = turns.into_iter().filter_map(turn_entry).collect();
    CallDetailResponse {
        success: true,
        agent_name,
        end_reason: tally.end_reason.clone(),
        cost: cost(&call),
        heartbeats: heartbeats(&call),
        events: events.into_iter().filter_map(timeline_event).collect(),
        events_total: tally.events_logged,
        events_dropped: events_dropped(tally.events_logged),
        response_latency: ResponseLatency::of_turns(&turns),
        turns,
        call: call_summary(call),
    }
}

/// What a write added to a call's page (`call` as it now stands), as the call's room pushes it.
pub fn update(call: CallRecord, events: Vec<LoggedEvent>, turns: Vec<TurnRow>) -> CallDetailUpdate {
    let tally = &call.tally;
    CallDetailUpdate {
        version: tally.events_logged + tally.heartbeats + tally.turns,
        end_reason: call.tally.end_reason.clone(),
        cost: cost(&call),
        heartbeats: heartbeats(&call),
        events_total: call.tally.events_logged,
        events: events.into_iter().filter_map(timeline_event).collect(),
        turns: turns.into_iter().filter_map(turn_entry).collect(),
        call: call_summary(call),
    }
}

fn heartbeats(call: &CallRecord) -> HeartbeatSummary {
    HeartbeatSummary {
        count: call.tally.heartbeats,
        first_at: call
            .tally
            .first_heartbeat_at
            .map(PrimitiveDateTime::assume_utc),
        last_at: call.last_heartbeat_at.map(PrimitiveDateTime::assume_utc),
        longest_gap_ms: call.tally.longest_heartbeat_gap_ms,
    }
}

fn cost(call: &CallRecord) -> Option<CallCost> {
    match (call.tally.cost_micros, &call.tally.cost_currency) {
        (Some(micros), Some(currency)) => Some(CallCost {
            amount: micros as f64 / 1e6,
            currency: currency.clone(),
        }),
        _ => None,
    }
}

/// A log entry as the page shows it; `None` for one written by a version that knew more types
/// or sources than this one (never dropped silently: logged).
pub fn timeline_event(logged: LoggedEvent) -> Option<TimelineEvent> {
    let event_type = EventType::parse(&logged.event_type);
    let source = EventSource::parse(&logged.source);
    let (Some(event_type), Some(source)) = (event_type, source) else {
        tracing::warn!(
            call_id = logged.call_id,
            seq = logged.seq,
            "unreadable log entry"
        );
        return None;
    };
    Some(TimelineEvent {
        seq: logged.seq,
        event_type,
        at: logged.at.assume_utc(),
        received_at: logged.received_at.assume_utc(),
        source,
        changes: logged.changes.0,
    })
}

/// A stored turn as the page shows it (see [`timeline_event`] for `None`).
pub fn turn_entry(turn: TurnRow) -> Option<TurnEntry> {
    let Some(role) = TurnRole::parse(&turn.role) else {
        tracing::warn!(call_id = turn.call_id, seq = turn.seq, "unreadable turn");
        return None;
    };
    Some(TurnEntry {
        seq: turn.seq,
        role,
        text: turn.text,
        at: turn.at.assume_utc(),
        latency_ms: turn.latency_ms,
        interrupted: turn.interrupted,
    })
}
