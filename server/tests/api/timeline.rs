//! What is kept beside a call's row (issue 25), every case against SQLite and PostgreSQL: the
//! event log with sources and what each event carried, its bound, the heartbeat summary, turns
//! and their bound, the end reason and cost of the end that stands, and tenant scoping.

use app::dto::{
    call_detail::{EventSource, LOG_HEAD, LOG_TAIL, events_dropped},
    ingest::{CallEvent, CallFields, Cost, EventType, MAX_TURNS_PER_CALL, Outcome, Turn, TurnRole},
};
use server::storage::{Incoming, Planned, Storage, record::MergeError};
use time::{Duration, OffsetDateTime, macros::datetime};

use crate::databases::each_backend;

const START: OffsetDateTime = datetime!(2026-11-21 10:00:00 UTC);

fn at(seconds: i64) -> OffsetDateTime {
    START + Duration::seconds(seconds)
}

fn from(source: EventSource, events: Vec<CallEvent>) -> Vec<Incoming> {
    Incoming::all(events, source)
}

fn updated(call_id: &str, seconds: i64, room: &str) -> CallEvent {
    CallEvent {
        call: Some(CallFields {
            livekit_room_name: Some(room.to_owned()),
            ..CallFields::default()
        }),
        ..CallEvent::new(EventType::CallUpdated, "tenant-1", call_id, at(seconds))
    }
}

fn turn(
    call_id: &str,
    seconds: i64,
    role: TurnRole,
    text: &str,
    latency: Option<i64>,
) -> CallEvent {
    CallEvent {
        turn: Some(Turn {
            role,
            text: text.to_owned(),
            latency_ms: latency,
            interrupted: None,
        }),
        ..CallEvent::new(EventType::Turn, "tenant-1", call_id, at(seconds))
    }
}

fn ended(call_id: &str, seconds: i64, reason: &str, amount: f64) -> CallEvent {
    CallEvent {
        outcome: Some(Outcome::Completed),
        end_reason: Some(reason.to_owned()),
        cost: Some(Cost {
            amount,
            currency: "USD".to_owned(),
        }),
        ..CallEvent::new(EventType::CallEnded, "tenant-1", call_id, at(seconds))
    }
}

async fn write(storage: &Storage, events: &[Incoming]) -> Vec<Planned> {
    storage.write_batch(events).await.unwrap().events
}

#[tokio::test]
async fn events_are_kept_in_order_of_at_with_their_source_and_what_they_carried() {
    for db in each_backend().await {
        let storage = db.open().await;
        let started = CallEvent {
            call: Some(CallFields {
                phone_number: Some("+15550001234".to_owned()),
                call_metadata: serde_json::from_str(r#"{"campaign": "spring"}"#).ok(),
                ..CallFields::default()
            }),
            ..CallEvent::new(EventType::CallStarted, "tenant-1", "call-1", at(0))
        };
        // Arrival order differs from `at` order; heartbeats 10 s, 15 s and 45 s apart.
        write(
            &storage,
            &from(
                EventSource::RedisChannel,
                vec![updated("call-1", 30, "room-a")],
            ),
        )
        .await;
        write(&storage, &from(EventSource::Http, vec![started])).await;
        let beats = [10, 25, 70, 20]
            .map(|s| CallEvent::new(EventType::Heartbeat, "tenant-1", "call-1", at(s)));
        write(&storage, &from(EventSource::Http, beats.to_vec())).await;
        write(
            &storage,
            &from(
                EventSource::DlqReplay,
                vec![ended("call-1", 90, "caller_hung_up", 0.105)],
            ),
        )
        .await;

        let timeline = storage
            .call_timeline(None, "call-1")
            .await
            .unwrap()
            .unwrap();
        let kinds: Vec<(&str, &str)> = timeline
            .events
            .iter()
            .map(|e| (e.event_type.as_str(), e.source.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("call_started", "http"),
                ("call_updated", "redis_channel"),
                ("call_ended", "dlq_replay")
            ],
            "{}",
            db.url()
        );
        assert_eq!(
            timeline.events[0].changes.0,
            serde_json::json!({"phoneNumber": "+15550001234", "call_metadata": {"campaign": "spring"}})
        );
        assert_eq!(
            timeline.events[1].changes.0,
            serde_json::json!({"livekitRoomName": "room-a"})
        );
        assert_eq!(
            timeline.events[2].changes.0,
            serde_json::json!({"outcome": "completed", "end_reason": "caller_hung_up", "cost": {"amount": 0.105, "currency": "USD"}})
        );
        let tally = &timeline.call.tally;
        assert_eq!(tally.events_logged, 3);
        assert_eq!(tally.heartbeats, 4, "heartbeats are counted, not logged");
        assert_eq!(
            tally.first_heartbeat_at,
            Some(datetime!(2026-11-21 10:00:10))
        );
        assert_eq!(
            timeline.call.last_heartbeat_at,
            Some(datetime!(2026-11-21 10:01:10))
        );
        // 10 → 25 → 70 as they arrived (the late 20 s beat opens no gap).
        assert_eq!(tally.longest_heartbeat_gap_ms, 45_000);
        assert_eq!(tally.end_reason.as_deref(), Some("caller_hung_up"));
        assert_eq!(tally.cost_micros, Some(105_000));
        assert_eq!(tally.cost_currency.as_deref(), Some("USD"));
    }
}

#[tokio::test]
async fn the_end_that_stands_brings_its_reason_and_cost() {
    for db in each_backend().await {
        let storage = db.open().await;
        let start = CallEvent::new(EventType::CallStarted, "tenant-1", "call-1", at(0));
        write(
            &storage,
            &from(
                EventSource::Http,
                vec![start, ended("call-1", 60, "agent_transfer", 0.07)],
            ),
        )
        .await;
        // An earlier end arriving late changes neither the call nor its reason.
        write(
            &storage,
            &from(
                EventSource::Http,
                vec![ended("call-1", 30, "silence_timeout", 0.03)],
            ),
        )
        .await;
        let timeline = storage
            .call_timeline(None, "call-1")
            .await
            .unwrap()
            .unwrap();
        let tally = &timeline.call.tally;
        assert_eq!(
            tally.end_reason.as_deref(),
            Some("agent_transfer"),
            "{}",
            db.url()
        );
        assert_eq!(tally.cost_micros, Some(70_000));
        assert_eq!(timeline.call.duration, Some(60));
        // Both were received and logged, in order of `at`.
        assert_eq!(timeline.events.len(), 3);
        assert_eq!(
            timeline.events[1].changes.0["end_reason"],
            "silence_timeout"
        );
    }
}

#[tokio::test]
async fn past_its_bound_the_log_keeps_its_first_and_latest_events() {
    let extra = 30;
    let total = LOG_HEAD + LOG_TAIL + extra;
    for db in each_backend().await {
        let storage = db.open().await;
        let events: Vec<CallEvent> = (0..total)
            .map(|n| updated("call-1", n, &format!("room-{n}")))
            .collect();
        // In batches of 70, so entries fall out of the log written by earlier transactions too.
        for chunk in events.chunks(70) {
            write(&storage, &from(EventSource::Http, chunk.to_vec())).await;
        }
        let timeline = storage
            .call_timeline(None, "call-1")
            .await
            .unwrap()
            .unwrap();
        let kept: Vec<i64> = timeline.events.iter().map(|e| e.seq).collect();
        let expected: Vec<i64> = (0..LOG_HEAD).chain(LOG_HEAD + extra..total).collect();
        assert_eq!(kept, expected, "{}", db.url());
        let tally = &timeline.call.tally;
        assert_eq!(tally.events_logged, total);
        assert_eq!(events_dropped(tally.events_logged), extra);
        // Every event was still applied to the call.
        assert_eq!(
            timeline.call.livekit_room_name,
            Some(format!("room-{}", total - 1))
        );
    }
}

#[tokio::test]
async fn turns_are_kept_in_order_and_refused_past_their_bound() {
    for db in each_backend().await {
        let storage = db.open().await;
        let start = CallEvent::new(EventType::CallStarted, "tenant-1", "call-1", at(0));
        write(
            &storage,
            &from(
                EventSource::Http,
                vec![
                    start,
                    turn("call-1", 5, TurnRole::Caller, "I'd like to book.", None),
                    turn(
                        "call-1",
                        2,
                        TurnRole::Agent,
                        "Hello, how can I help?",
                        Some(640),
                    ),
                ],
            ),
        )
        .await;
        let timeline = storage
            .call_timeline(None, "call-1")
            .await
            .unwrap()
            .unwrap();
        let said: Vec<(&str, &str, Option<i64>)> = timeline
            .turns
            .iter()
            .map(|t| (t.role.as_str(), t.text.as_str(), t.latency_ms))
            .collect();
        assert_eq!(
            said,
            [
                ("agent", "Hello, how can I help?", Some(640)),
                ("caller", "I'd like to book.", None)
            ],
            "{}",
            db.url()
        );
        // Turns are the transcript, not the event log.
        assert_eq!(timeline.events.len(), 1);

        let rest: Vec<CallEvent> = (2..MAX_TURNS_PER_CALL as i64)
            .map(|n| turn("call-1", 10 + n, TurnRole::Caller, "and…", None))
            .collect();
        for chunk in rest.chunks(500) {
            write(&storage, &from(EventSource::Http, chunk.to_vec())).await;
        }
        let over = write(
            &storage,
            &from(
                EventSource::Http,
                vec![
                    turn("call-1", 2_000, TurnRole::Agent, "one too many", Some(100)),
                    updated("call-1", 2_001, "room-after"),
                ],
            ),
        )
        .await;
        assert_eq!(
            over,
            [
                Planned::Rejected(MergeError::TurnLimit {
                    call_id: "call-1".to_owned(),
                    limit: MAX_TURNS_PER_CALL
                }),
                Planned::Applied { changed: true }
            ],
            "the turn is refused for itself; the call goes on"
        );
        let timeline = storage
            .call_timeline(None, "call-1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(timeline.turns.len(), MAX_TURNS_PER_CALL);
        assert_eq!(timeline.call.tally.turns, MAX_TURNS_PER_CALL as i64);
    }
}

#[tokio::test]
async fn another_tenants_call_is_absent() {
    for db in each_backend().await {
        let storage = db.open().await;
        let start = CallEvent::new(EventType::CallStarted, "tenant-1", "call-1", at(0));
        write(&storage, &from(EventSource::Http, vec![start])).await;
        assert!(
            storage
                .call_timeline(Some("tenant-1"), "call-1")
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            storage
                .call_timeline(Some("tenant-2"), "call-1")
                .await
                .unwrap()
                .is_none(),
            "{}",
            db.url()
        );
        assert!(
            storage
                .call_timeline(None, "missing")
                .await
                .unwrap()
                .is_none()
        );
        // Another tenant's turn for the call is refused like any of its events.
        let mut intruder = turn("call-1", 3, TurnRole::Caller, "hello?", None);
        intruder.user_id = "tenant-2".to_owned();
        let planned = write(&storage, &from(EventSource::Http, vec![intruder])).await;
        assert!(matches!(
            planned[0],
            Planned::Rejected(MergeError::TenantMismatch { .. })
        ));
        let timeline = storage
            .call_timeline(None, "call-1")
            .await
            .unwrap()
            .unwrap();
        assert!(timeline.turns.is_empty());
    }
}
