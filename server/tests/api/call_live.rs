//! A call's page live (issue 25): `/ws?call=<id>` puts a socket in that call's room alone, open
//! to exactly those who may read the page; each write pushes what it added (turns, log entries,
//! the row and its summary), and the page's copy, kept by the browser's own feed, ends up equal
//! to what the REST twin says.

use app::dto::{call_detail::CallDetailResponse, live::Room, live::ServerMessage};
use serde_json::{Value, json};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use tokio_tungstenite::tungstenite::Error as WsError;

use crate::{
    helpers::{TestApp, spawn_app},
    live_clients::{WsClient, call_ended, call_started, ws_connect, ws_url},
};

fn now() -> String {
    OffsetDateTime::now_utc().format(&Rfc3339).unwrap()
}

fn turn(tenant: &str, call_id: &str, role: &str, text: &str, latency: Option<i64>) -> Value {
    json!({"type": "turn", "user_id": tenant, "call_id": call_id, "at": now(),
           "turn": {"role": role, "text": text, "latency_ms": latency}})
}

async fn ingest_ok(app: &TestApp, body: &Value) {
    let response = app.ingest(body).await;
    assert_eq!(response.status(), reqwest::StatusCode::OK, "{body}");
}

async fn watch(app: &TestApp, tenant: Option<&str>, call_id: &str) -> Result<WsClient, WsError> {
    ws_connect(&ws_url(app.addr, &[("call", call_id)]), &app.token(tenant)).await
}

async fn rest_detail(app: &TestApp, call_id: &str) -> CallDetailResponse {
    app.get_as(
        &format!("/api/dashboard/calls/{call_id}"),
        &app.token(Some("acme")),
    )
    .await
    .json()
    .await
    .unwrap()
}

#[tokio::test]
async fn a_call_page_grows_turn_by_turn_and_sees_its_call_end() {
    let app = spawn_app().await;
    let mut started = call_started("acme", "acme-live");
    started["call"]["call_metadata"] = json!({"campaign": "spring"});
    ingest_ok(&app, &started).await;
    ingest_ok(&app, &call_started("acme", "acme-other")).await;

    let mut page = watch(&app, Some("acme"), "acme-live").await.unwrap();
    let hello = page.recv().await;
    let ServerMessage::Hello { rooms, .. } = hello else {
        panic!("the first message must be hello, got {hello:?}");
    };
    assert_eq!(rooms, [Room::Call("acme-live".into())]);
    let snapshot = page.recv().await;
    assert!(
        matches!(snapshot, ServerMessage::Snapshot { .. }),
        "{snapshot:?}"
    );
    assert_eq!(page.feed.call().unwrap().turns.len(), 0);

    // Another call's news goes to its own room only: the first push is this call's.
    ingest_ok(
        &app,
        &turn("acme", "acme-other", "agent", "Elsewhere", Some(10)),
    )
    .await;
    ingest_ok(
        &app,
        &turn("acme", "acme-live", "agent", "Hello, Acme!", Some(420)),
    )
    .await;
    let first = page.recv().await;
    let ServerMessage::Push { room, .. } = &first else {
        panic!("expected a push, got {first:?}");
    };
    assert_eq!(room, &Room::Call("acme-live".into()));
    let texts = |page: &WsClient| -> Vec<String> {
        page.feed.call().map_or_else(Vec::new, |call| {
            call.turns.iter().map(|turn| turn.text.clone()).collect()
        })
    };
    assert_eq!(texts(&page), ["Hello, Acme!"]);

    // Turn by turn, then a heartbeat and the end: each arrives on its own.
    ingest_ok(
        &app,
        &turn("acme", "acme-live", "caller", "A cleaning, please.", None),
    )
    .await;
    page.recv_until_feed(|feed| feed.call().is_some_and(|call| call.turns.len() == 2))
        .await;
    ingest_ok(
        &app,
        &turn("acme", "acme-live", "agent", "Tuesday at 10?", Some(900)),
    )
    .await;
    page.recv_until_feed(|feed| feed.call().is_some_and(|call| call.turns.len() == 3))
        .await;
    assert_eq!(
        texts(&page),
        ["Hello, Acme!", "A cleaning, please.", "Tuesday at 10?"]
    );
    ingest_ok(
        &app,
        &json!({"type": "heartbeat", "user_id": "acme", "call_id": "acme-live", "at": now()}),
    )
    .await;
    page.recv_until_feed(|feed| feed.call().is_some_and(|call| call.heartbeats.count == 1))
        .await;
    let mut ended = call_ended("acme", "acme-live");
    ended["end_reason"] = json!("caller_hung_up");
    ended["cost"] = json!({"amount": 0.14, "currency": "USD"});
    ingest_ok(&app, &ended).await;
    page.recv_until_feed(|feed| {
        feed.call()
            .is_some_and(|call| call.call.status.as_deref() == Some("ended"))
    })
    .await;

    // What the page holds is what a fresh read of the call says, metadata included.
    let held = page.feed.call().unwrap().clone();
    assert_eq!(held, rest_detail(&app, "acme-live").await);
    assert_eq!(held.end_reason.as_deref(), Some("caller_hung_up"));
    let latency = held.response_latency.unwrap();
    assert_eq!((latency.samples, latency.p95_ms), (2, 900));
    assert_eq!(held.call.call_metadata, Some(json!({"campaign": "spring"})));
}

/// Heartbeats, most of the traffic, are told once on the bus (and so once across Redis): their
/// own event carries the row a watching page needs, so a write whose only news for a call is
/// heartbeats adds no timeline for it. A turn or a logged event still brings one.
#[tokio::test]
async fn heartbeats_alone_add_no_timeline_to_the_bus() {
    use server::live::bus::BusEvent;
    let app = spawn_app().await;
    ingest_ok(&app, &call_started("acme", "acme-beat")).await;
    let mut bus = app.state.bus.subscribe();
    // The write is published before the ingest answers: what follows it is all on the bus.
    let told = |bus: &mut tokio::sync::broadcast::Receiver<BusEvent>| {
        let mut told = Vec::new();
        while let Ok(event) = bus.try_recv() {
            told.push(event);
        }
        let count = |wanted: fn(&BusEvent) -> bool| told.iter().filter(|e| wanted(e)).count();
        (
            count(|event| matches!(event, BusEvent::Heartbeat { .. })),
            count(|event| matches!(event, BusEvent::Timeline { .. })),
        )
    };
    let beat = json!({"type": "heartbeat", "user_id": "acme", "call_id": "acme-beat", "at": now()});
    ingest_ok(&app, &beat).await;
    assert_eq!(told(&mut bus), (1, 0));
    // Several in one write: told once, with the call's final row.
    let later = |seconds: i64| {
        let at = OffsetDateTime::now_utc() + time::Duration::seconds(seconds);
        json!({"type": "heartbeat", "user_id": "acme", "call_id": "acme-beat",
               "at": at.format(&Rfc3339).unwrap()})
    };
    ingest_ok(&app, &json!([later(1), later(2), later(3)])).await;
    assert_eq!(told(&mut bus), (1, 0));
    ingest_ok(
        &app,
        &json!([
            beat,
            turn("acme", "acme-beat", "agent", "Still there?", Some(700))
        ]),
    )
    .await;
    assert_eq!(told(&mut bus).1, 1);
}

#[tokio::test]
async fn a_call_room_is_open_to_whoever_may_read_the_page_and_no_one_else() {
    let app = spawn_app().await;
    ingest_ok(&app, &call_started("acme", "acme-live")).await;
    ingest_ok(&app, &call_started("globex", "globex-live")).await;

    // Another tenant's call is the same 404 as a missing one (as the page and its REST twin).
    for (tenant, call_id) in [
        (Some("globex"), "acme-live"),
        (Some("acme"), "globex-live"),
        (Some("acme"), "no-such-call"),
        (Some("acme"), &"x".repeat(300)),
    ] {
        match watch(&app, tenant, call_id).await {
            Err(WsError::Http(response)) => {
                assert_eq!(response.status(), 404, "{tenant:?} watching {call_id}");
            }
            Err(other) => panic!("expected a 404, got {other}"),
            Ok(_) => panic!("{tenant:?} may not watch {call_id}"),
        }
    }
    // Nobody watches without signing in.
    let anonymous =
        tokio_tungstenite::connect_async(ws_url(app.addr, &[("call", "acme-live")])).await;
    match anonymous {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("expected a 401, got {:?}", other.map(|_| ())),
    }
    // The platform's roles watch any tenant's call.
    let mut admin = watch(&app, None, "globex-live").await.unwrap();
    assert!(matches!(admin.recv().await, ServerMessage::Hello { .. }));
    let snapshot = admin.recv().await;
    let ServerMessage::Snapshot { room, .. } = snapshot else {
        panic!("expected the call's snapshot, got {snapshot:?}");
    };
    assert_eq!(room, Room::Call("globex-live".into()));
    assert_eq!(admin.feed.call().unwrap().call.user_id, "globex");
}
