//! `POST /api/v1/calls/events` end to end: authentication, per-event results, validation,
//! idempotence, the DLQ under injected failures, restarts, and what the bus and registry see.

use std::sync::LazyLock;

use app::dto::ingest::{EventStatus, IngestResponse};
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::{
    live::bus::{BusEvent, CallChange},
    service::dlq_retry::{Retried, RetryResult, retry_due_dead_letters},
};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use crate::{
    databases::TestDatabase,
    helpers::{TestApp, header, spawn_app, spawn_app_in, spawn_app_with},
};

/// `seconds` before one instant fixed for the whole test run, so the same event built twice is
/// the same event.
fn ago(seconds: i64) -> String {
    static ANCHOR: LazyLock<OffsetDateTime> = LazyLock::new(OffsetDateTime::now_utc);
    (*ANCHOR - time::Duration::seconds(seconds))
        .format(&Rfc3339)
        .unwrap()
}

fn started(tenant: &str, call_id: &str) -> Value {
    json!({"type": "call_started", "user_id": tenant, "call_id": call_id, "at": ago(90),
           "call": {"phoneNumber": "+12345678900", "direction": "inbound", "agentConfigId": "agent-xyz",
                    "livekitRoomName": format!("room-{call_id}"), "call_metadata": {"campaign": "demo"}}})
}

fn ended(tenant: &str, call_id: &str) -> Value {
    json!({"type": "call_ended", "user_id": tenant, "call_id": call_id, "at": ago(30), "outcome": "completed"})
}

async fn body(response: reqwest::Response) -> IngestResponse {
    response.json().await.unwrap()
}

async fn error_body(response: reqwest::Response) -> Value {
    assert_eq!(header(&response, "content-type"), "application/json");
    response.json().await.unwrap()
}

#[tokio::test]
async fn the_ingest_key_is_required() {
    let app = spawn_app().await;
    let url = app.url("/api/v1/calls/events");
    let event = started("t", "c");
    for request in [
        app.client.post(&url).json(&event),
        app.client.post(&url).bearer_auth("wrong-key").json(&event),
        app.client
            .post(&url)
            .header("authorization", "Basic dGVzdA==")
            .json(&event),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(header(&response, "www-authenticate"), "Bearer");
        assert_eq!(error_body(response).await["code"], "unauthorized");
    }
    assert_eq!(app.state.storage.count_calls().await.unwrap(), 0);
}

#[tokio::test]
async fn one_event_is_stored_and_answered_200() {
    let app = spawn_app().await;
    let response = app.ingest(&started("tenant-1", "call-1")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let reply = body(response).await;
    assert_eq!(
        (reply.success, reply.stored, reply.queued, reply.rejected),
        (true, 1, 0, 0)
    );
    assert_eq!(reply.results[0].call_id.as_deref(), Some("call-1"));
    let row = app.state.storage.call("call-1").await.unwrap().unwrap();
    assert_eq!(row.livekit_room_name.as_deref(), Some("room-call-1"));
    assert_eq!(row.call_metadata.unwrap().0, json!({"campaign": "demo"}));
}

fn turn(call_id: &str, seconds_ago: i64, text: &str) -> Value {
    json!({"type": "turn", "user_id": "tenant-1", "call_id": call_id, "at": ago(seconds_ago),
           "turn": {"role": "agent", "text": text, "latency_ms": 800}})
}

#[tokio::test]
async fn turns_end_reasons_and_costs_are_taken_and_bounded() {
    let app = spawn_app().await;
    let mut ending = ended("tenant-1", "call-1");
    ending["end_reason"] = json!("caller_hung_up");
    ending["cost"] = json!({"amount": 0.25, "currency": "EUR"});
    let batch = json!([
        started("tenant-1", "call-1"),
        turn("call-1", 60, "Hello!"),
        ending
    ]);
    let reply = body(app.ingest(&batch).await).await;
    assert_eq!((reply.stored, reply.rejected), (3, 0), "{reply:?}");
    let timeline = app
        .state
        .storage
        .call_timeline(Some("tenant-1"), "call-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(timeline.turns[0].text, "Hello!");
    assert!(timeline.events.iter().all(|event| event.source == "http"));
    let tally = &timeline.call.tally;
    assert_eq!(tally.end_reason.as_deref(), Some("caller_hung_up"));
    assert_eq!(
        (tally.cost_micros, tally.cost_currency.as_deref()),
        (Some(250_000), Some("EUR"))
    );

    // Up to the bound in one batch, then one more: refused with its own code.
    let more: Vec<Value> = (1..app::dto::ingest::MAX_TURNS_PER_CALL)
        .map(|n| turn("call-1", 50, &format!("line {n}")))
        .collect();
    let reply = body(app.ingest(&json!(more)).await).await;
    assert_eq!(reply.rejected, 0);
    let response = app.ingest(&turn("call-1", 40, "one too many")).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let reply = body(response).await;
    assert_eq!(reply.results[0].code.as_deref(), Some("turn_limit"));
}

#[tokio::test]
async fn bad_events_get_their_own_errors_and_do_not_sink_good_ones() {
    let app = spawn_app().await;
    let batch = json!([
        started("tenant-1", "good-1"),
        {"type": "call_started", "user_id": "tenant-1", "call_id": "bad-1", "at": "not a time"},
        "not an object",
        ended("tenant-1", "good-1"),
        {"type": "call_ended", "user_id": "tenant-1", "call_id": "bad-2", "at": ago(5)},
    ]);
    let response = app.ingest(&batch).await;
    assert_eq!(response.status(), StatusCode::MULTI_STATUS);
    let reply = body(response).await;
    assert_eq!((reply.success, reply.stored, reply.rejected), (false, 2, 3));
    let statuses: Vec<EventStatus> = reply.results.iter().map(|r| r.status).collect();
    use EventStatus::{Rejected, Stored};
    assert_eq!(statuses, [Stored, Rejected, Rejected, Stored, Rejected]);
    assert!(
        reply.results[1]
            .error
            .as_deref()
            .unwrap()
            .starts_with("at: "),
        "{:?}",
        reply.results[1]
    );
    assert_eq!(reply.results[1].call_id.as_deref(), Some("bad-1"));
    assert!(
        reply.results[4]
            .error
            .as_deref()
            .unwrap()
            .contains("outcome: required")
    );
    assert_eq!(
        reply.results.iter().map(|r| r.index).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4]
    );
    assert_eq!(app.state.storage.count_calls().await.unwrap(), 1);
    assert_eq!(
        app.state
            .storage
            .call("good-1")
            .await
            .unwrap()
            .unwrap()
            .status
            .as_deref(),
        Some("ended")
    );
}

#[tokio::test]
async fn all_bad_is_422_and_unreadable_bodies_are_400_or_413() {
    let app = spawn_app().await;
    let response = app.ingest(&json!([{"type": "nope"}])).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let url = app.url("/api/v1/calls/events");
    let send = |body: Vec<u8>| {
        app.client
            .post(&url)
            .bearer_auth(server::runtime::config::TEST_INGEST_KEY)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    for (raw, needle) in [
        (b"{\"type\":".to_vec(), "not valid JSON"),
        (b"[]".to_vec(), "empty"),
        (b"\"hello\"".to_vec(), "expected one event"),
        (
            serde_json::to_vec(&vec![started("t", "c"); 1001]).unwrap(),
            "at most 1000",
        ),
    ] {
        let response = send(raw).await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{needle}");
        let error = error_body(response).await;
        assert_eq!(error["code"], "bad_request");
        assert!(error["error"].as_str().unwrap().contains(needle), "{error}");
    }
    let huge = vec![b' '; 9 * 1024 * 1024];
    let response = send(huge).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_body(response).await["code"], "payload_too_large");
    assert_eq!(app.state.storage.count_calls().await.unwrap(), 0);
}

#[tokio::test]
async fn replays_and_reordering_change_nothing() {
    let app = spawn_app().await;
    let events = json!([ended("tenant-1", "call-1"), started("tenant-1", "call-1")]);
    for _ in 0..3 {
        assert_eq!(app.ingest(&events).await.status(), StatusCode::OK);
    }
    assert_eq!(app.state.storage.count_calls().await.unwrap(), 1);
    let row = app.state.storage.call("call-1").await.unwrap().unwrap();
    assert_eq!(
        (row.status.as_deref(), row.duration),
        (Some("ended"), Some(60))
    );
}

#[tokio::test]
async fn another_tenants_call_is_refused() {
    let app = spawn_app().await;
    app.ingest(&started("tenant-1", "call-1")).await;
    let response = app.ingest(&ended("tenant-2", "call-1")).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let reply = body(response).await;
    assert_eq!(reply.results[0].code.as_deref(), Some("tenant_mismatch"));
    let row = app.state.storage.call("call-1").await.unwrap().unwrap();
    assert!(row.is_active(), "tenant-2 must not end tenant-1's call");
}

#[tokio::test]
async fn failed_writes_are_queued_then_recovered_with_nothing_lost() {
    let app = spawn_app_with(|config| config.inject_write_failures = 100).await;
    let mut bus = app.state.bus.subscribe();
    let calls: Vec<String> = (0..20).map(|n| format!("call-{n}")).collect();
    let batch: Vec<Value> = calls
        .iter()
        .flat_map(|id| [started("tenant-1", id), ended("tenant-1", id)])
        .collect();
    let response = app.ingest(&json!(batch)).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let reply = body(response).await;
    assert_eq!((reply.success, reply.stored, reply.queued), (true, 0, 40));
    assert_eq!(app.state.dlq.depth().await.unwrap(), 40);
    assert!(matches!(
        bus.recv().await.unwrap(),
        BusEvent::DlqChanged { .. }
    ));
    let entry = &app.state.dlq.list(1).await.unwrap()[0];
    assert_eq!((entry.attempts, entry.max_attempts), (0, 3));
    assert!(entry.error.contains("injected"), "{}", entry.error);
    assert!(entry.next_retry_at.is_some());

    // The store recovers; the retrier writes every queued event exactly once. The server's own
    // retrier may take some of them first: each entry is claimed by one retrier only.
    app.ingestor_injection(0);
    assert_eq!(app.state.dlq.retry_all_now().await.unwrap(), 40);
    let mut written_here = 0;
    tokio::time::timeout(std::time::Duration::from_secs(20), async {
        while app.state.dlq.depth().await.unwrap() > 0 {
            let now = written(retry_due_dead_letters(&app.state).await.unwrap());
            written_here += now;
            if now == 0 {
                // The other retrier holds what is left: it says when it is done.
                let _ = bus.recv().await;
            }
        }
    })
    .await
    .expect("the queue drains");
    assert!(written_here <= 40, "{written_here} written for 40 entries");
    assert_eq!(app.state.storage.count_calls().await.unwrap(), 20);
    for id in &calls {
        let row = app.state.storage.call(id).await.unwrap().unwrap();
        assert_eq!(row.outcome.as_deref(), Some("completed"), "{id}");
        // Every write failed first: each event is logged as the DLQ's replay, once.
        let timeline = app
            .state
            .storage
            .call_timeline(None, id)
            .await
            .unwrap()
            .unwrap();
        let sources: Vec<&str> = timeline.events.iter().map(|e| e.source.as_str()).collect();
        assert_eq!(sources, ["dlq_replay", "dlq_replay"], "{id}");
    }
}

#[tokio::test]
async fn retries_back_off_then_become_final_until_an_admin_acts() {
    let app = spawn_app_with(|config| config.inject_write_failures = 100).await;
    app.ingest(&started("tenant-1", "call-1")).await;
    let id = app.state.dlq.list(1).await.unwrap()[0].id;
    let mut delays = Vec::new();
    for _ in 0..3 {
        app.state.dlq.retry_now(id).await.unwrap();
        assert_eq!(
            written(retry_due_dead_letters(&app.state).await.unwrap()),
            0
        );
        let entry = app.state.dlq.get(id).await.unwrap().unwrap();
        delays.push(
            entry
                .next_retry_at
                .map(|next| (next - entry.updated_at).whole_seconds()),
        );
    }
    // 10 s, then 20 s, then no more: a final failure.
    assert_eq!(delays, [Some(10), Some(20), None]);
    let entry = app.state.dlq.get(id).await.unwrap().unwrap();
    assert!(entry.is_final());
    assert_eq!((entry.attempts, entry.max_attempts), (3, 3));
    // Final failures wait for an admin: no automatic retry picks them up.
    assert_eq!(
        written(retry_due_dead_letters(&app.state).await.unwrap()),
        0
    );
    assert_eq!(app.state.dlq.depth().await.unwrap(), 1);

    app.ingestor_injection(0);
    assert!(app.state.dlq.retry_now(id).await.unwrap());
    assert_eq!(
        written(retry_due_dead_letters(&app.state).await.unwrap()),
        1
    );
    assert!(app.state.storage.call("call-1").await.unwrap().is_some());

    app.ingestor_injection(100);
    app.ingest(&started("tenant-1", "call-2")).await;
    let id = app.state.dlq.list(1).await.unwrap()[0].id;
    assert!(app.state.dlq.discard(id).await.unwrap());
    assert!(!app.state.dlq.discard(id).await.unwrap());
    assert_eq!(app.state.dlq.depth().await.unwrap(), 0);
}

#[tokio::test]
async fn a_restart_loses_nothing() {
    let app = spawn_app_with(|config| config.inject_write_failures = 50).await;
    let batch: Vec<Value> = (0..30)
        .map(|n| started("tenant-1", &format!("call-{n}")))
        .collect();
    let reply = body(app.ingest(&json!(batch)).await).await;
    assert_eq!(reply.stored + reply.queued, 30);
    let (stopped, dir) = app.stop_keeping_data().await;
    stopped.unwrap();

    let app = spawn_app_in(dir, |_| {}).await;
    assert_eq!(
        app.state.storage.count_calls().await.unwrap() as usize,
        reply.stored
    );
    assert_eq!(app.state.dlq.depth().await.unwrap() as usize, reply.queued);
    // Live calls come back from the database.
    assert_eq!(app.state.registry.len(), reply.stored);
    app.state.dlq.retry_all_now().await.unwrap();
    retry_due_dead_letters(&app.state).await.unwrap();
    assert_eq!(app.state.storage.count_calls().await.unwrap(), 30);
    assert_eq!(app.state.registry.len(), 30);
}

/// The next bus event but a call page's news (every write that changes a row has one).
async fn next_call_news(bus: &mut tokio::sync::broadcast::Receiver<BusEvent>) -> BusEvent {
    loop {
        match bus.recv().await.unwrap() {
            BusEvent::Timeline { .. } => continue,
            other => return other,
        }
    }
}

#[tokio::test]
async fn stored_changes_reach_the_bus_and_the_registry() {
    let app = spawn_app().await;
    let mut bus = app.state.bus.subscribe();
    app.ingest(&started("tenant-1", "call-1")).await;
    let BusEvent::Call { change, call } = next_call_news(&mut bus).await else {
        panic!("expected a call event")
    };
    assert_eq!((change, call.id.as_str()), (CallChange::Started, "call-1"));
    let live = app
        .state
        .registry
        .snapshot(Some("tenant-1"), OffsetDateTime::now_utc());
    assert_eq!(live.len(), 1);
    assert!(
        app.state
            .registry
            .snapshot(Some("tenant-2"), OffsetDateTime::now_utc())
            .is_empty()
    );

    // A replay changes nothing the call shows, so no call event is published for it (only its
    // page hears that its log gained an entry).
    app.ingest(&started("tenant-1", "call-1")).await;
    app.ingest(&ended("tenant-1", "call-1")).await;
    let BusEvent::Call { change, call } = next_call_news(&mut bus).await else {
        panic!("expected a call event")
    };
    assert_eq!(
        (change, call.outcome.as_deref()),
        (CallChange::Ended, Some("completed"))
    );
    assert!(app.state.registry.is_empty());
}

#[tokio::test]
async fn ingest_works_the_same_on_postgres() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let url = db.url().to_owned();
    let app = spawn_app_with(|config| config.database_url = url).await;
    let batch: Vec<Value> = (0..50)
        .flat_map(|n| {
            [
                ended("tenant-1", &format!("call-{n}")),
                started("tenant-1", &format!("call-{n}")),
            ]
        })
        .collect();
    // Sent as 100 concurrent single-event requests, so the four PostgreSQL writers interleave.
    let replies = futures::future::join_all(batch.iter().map(|event| app.ingest(event))).await;
    assert!(replies.iter().all(|reply| reply.status() == StatusCode::OK));
    assert_eq!(app.state.storage.count_calls().await.unwrap(), 50);
    let rollup = app.state.storage.rollup("tenant-1").await.unwrap();
    let calls: i64 = rollup.iter().map(|(_, values)| values.calls).sum();
    let ended: i64 = rollup.iter().map(|(_, values)| values.ended).sum();
    assert_eq!((calls, ended), (50, 50));
    drop(app);
}

impl TestApp {
    fn ingestor_injection(&self, percent: u32) {
        self.state.ingestor.injector().set_percent(percent);
    }
}

#[tokio::test]
async fn the_demo_seed_is_complete_and_runs_once() {
    use server::{domain::users::verify_password, service::demo};
    let app = spawn_app().await;
    demo::seed(&app.state).await.unwrap();
    let calls = app.state.storage.count_calls().await.unwrap();
    assert!(calls > 1_000, "three weeks of history, got {calls}");
    assert_eq!(
        app.state
            .storage
            .tenant_name("acme-dental")
            .await
            .unwrap()
            .as_deref(),
        Some("Acme Dental")
    );
    for (email, _, _) in demo::demo_users() {
        let hash = app
            .state
            .storage
            .user_by_email(&email)
            .await
            .unwrap()
            .unwrap()
            .password_hash;
        assert!(verify_password(&hash, demo::DEMO_PASSWORD), "{email}");
    }
    // Starting again adds no history and no duplicate users.
    demo::seed(&app.state).await.unwrap();
    assert_eq!(app.state.storage.count_calls().await.unwrap(), calls);
    assert!(
        app.state.storage.active_calls().await.unwrap().is_empty(),
        "history calls are all finished"
    );
}

/// How many of a retry pass's dead letters were written.
fn written(retried: Vec<Retried>) -> usize {
    retried
        .iter()
        .filter(|retried| retried.result == RetryResult::Written)
        .count()
}

#[tokio::test]
async fn the_demo_refuses_a_database_with_users_of_its_own() {
    use server::{
        runtime::build::StartupError, runtime::config::Config, runtime::startup::Application,
    };
    let app = spawn_app().await;
    app.add_user(
        "owner@acme.test",
        server::domain::users::Role::Owner,
        Some("acme"),
    )
    .await;
    let (stopped, dir) = app.stop_keeping_data().await;
    stopped.unwrap();
    let mut config = Config::for_tests(&dir.path().join("data"), &dir.path().join("site"));
    config.demo = true;
    let refused = Application::build(config.clone()).await.err();
    assert!(
        matches!(
            refused,
            Some(StartupError::NotForTheDemo {
                users: 1,
                tenants: 1
            })
        ),
        "{refused:?}"
    );
    // Nothing was marked: the database still serves as before.
    config.demo = false;
    assert!(Application::build(config).await.is_ok());
}

#[tokio::test]
async fn the_demo_refuses_a_database_with_tenants_and_no_users() {
    use server::{
        runtime::build::StartupError, runtime::config::Config, runtime::startup::Application,
    };
    let app = spawn_app().await;
    app.ingest(&started("platform-tenant", "call-1")).await;
    let (stopped, dir) = app.stop_keeping_data().await;
    stopped.unwrap();
    let mut config = Config::for_tests(&dir.path().join("data"), &dir.path().join("site"));
    config.demo = true;
    let refused = Application::build(config).await.err();
    assert!(
        matches!(
            refused,
            Some(StartupError::NotForTheDemo {
                users: 0,
                tenants: 1
            })
        ),
        "{refused:?}"
    );
}
