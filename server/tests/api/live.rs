//! `/ws` end to end, driven by a real client (tokio-tungstenite) that applies every message to the
//! browser's own [`app::live::LiveFeed`] and fails on any gap: greeting and keep-alive,
//! tenancy, snapshots and pushes, coalescing, resume and resync, a client that stops reading,
//! stream switches, shutdown.

use std::time::Duration;

use app::dto::{
    dashboard::{ActiveCallsResponse, MetricsResponse, RecentCallsResponse},
    live::{
        ClientMessage, Cursor, Push, ReconciliationUpdate, Room, RoomState, ServerMessage, Stream,
        encode_resume,
    },
};
use app::live::LiveFeed;
use serde_json::{Value, json};
use server::live::bus::BusEvent;
use time::OffsetDateTime;
use tokio_tungstenite::{
    connect_async,
    tungstenite::{client::IntoClientRequest, protocol::frame::coding::CloseCode},
};

use crate::{
    helpers::{TestApp, spawn_app, spawn_app_with},
    live_clients::{WsClient, call_ended, call_events, call_started, ws_connect, ws_url},
};

async fn client(app: &TestApp, tenant: Option<&str>, query: &[(&str, &str)]) -> WsClient {
    ws_connect(&ws_url(app.addr, query), &app.token(tenant))
        .await
        .unwrap()
}

/// Reads the hello and, for each of its rooms, the snapshot or the replay: everything up to the
/// live part of the connection.
async fn settle(client: &mut WsClient) -> Vec<ServerMessage> {
    let hello = client.recv().await;
    let ServerMessage::Hello { rooms, .. } = &hello else {
        panic!("the first message must be hello, got {hello:?}");
    };
    let mut seen = vec![hello.clone()];
    for _ in rooms {
        let start = client.recv().await;
        let replayed = match &start {
            ServerMessage::Snapshot { .. } => 0,
            ServerMessage::Resumed { replayed, .. } => *replayed,
            other => panic!("expected a snapshot or a replay, got {other:?}"),
        };
        seen.push(start);
        for _ in 0..replayed {
            seen.push(client.recv().await);
        }
    }
    seen
}

async fn ingest_ok(app: &TestApp, body: &Value) {
    let response = app.ingest(body).await;
    assert_eq!(response.status(), reqwest::StatusCode::OK, "{body}");
}

/// What the REST API says of `tenant` now: (active ids, newest-first ids of the first page,
/// metrics of the last 24 hours).
async fn rest_view(app: &TestApp, tenant: &str) -> (Vec<String>, Vec<String>, Value) {
    let token = app.token(Some(tenant));
    let active: ActiveCallsResponse = app
        .get_as("/api/dashboard/active-calls", &token)
        .await
        .json()
        .await
        .unwrap();
    let recent: RecentCallsResponse = app
        .get_as("/api/dashboard/recent-calls?limit=10", &token)
        .await
        .json()
        .await
        .unwrap();
    let metrics: MetricsResponse = app
        .get_as("/api/dashboard/metrics?hours=24", &token)
        .await
        .json()
        .await
        .unwrap();
    (
        active
            .active_calls
            .into_iter()
            .map(|call| call.id)
            .collect(),
        recent.calls.into_iter().map(|call| call.id).collect(),
        serde_json::to_value(metrics.metrics).unwrap(),
    )
}

/// The same view, from what a client's feed holds.
fn feed_view(feed: &LiveFeed) -> Option<(Vec<String>, Vec<String>, Value)> {
    let calls = feed.calls()?;
    Some((
        calls
            .active_calls
            .iter()
            .map(|call| call.id.clone())
            .collect(),
        calls
            .recent_calls
            .iter()
            .map(|call| call.id.clone())
            .collect(),
        serde_json::to_value(&calls.metrics).unwrap(),
    ))
}

/// Reads until the client's state is exactly what the REST API says (pushes of coalesced
/// figures may still be on their way).
async fn converge(client: &mut WsClient, app: &TestApp, tenant: &str) {
    let expected = rest_view(app, tenant).await;
    client
        .recv_until_feed(|feed| feed_view(feed).as_ref() == Some(&expected))
        .await;
}

#[tokio::test]
async fn anonymous_sockets_are_refused() {
    let app = spawn_app().await;
    let error = connect_async(format!("ws://{}/ws", app.addr))
        .await
        .expect_err("an anonymous upgrade must fail");
    match error {
        tokio_tungstenite::tungstenite::Error::Http(response) => {
            assert_eq!(response.status(), 401);
        }
        other => panic!("expected an HTTP 401, got {other:?}"),
    }
}

#[tokio::test]
async fn another_sites_page_cannot_open_a_socket_with_the_operators_cookie() {
    let app = spawn_app().await;
    let cookie = format!(
        "{}={}",
        server::domain::auth::SESSION_COOKIE,
        app.token(None)
    );
    let handshake = |origin: String| {
        let mut request = ws_url(app.addr, &[]).into_client_request().unwrap();
        let headers = request.headers_mut();
        headers.insert("cookie", cookie.parse().unwrap());
        headers.insert("origin", origin.parse().unwrap());
        connect_async(request)
    };
    match handshake("https://evil.example".to_owned()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403);
        }
        other => panic!("expected an HTTP 403, got {other:?}"),
    }
    // Our own page, asked under the address it was served from, is welcome.
    let (socket, _) = handshake(format!("http://{}", app.addr)).await.unwrap();
    let mut own = WsClient::new(socket, LiveFeed::default());
    let greeting = settle(&mut own).await;
    assert!(matches!(greeting[0], ServerMessage::Hello { .. }));
}

#[tokio::test]
async fn a_tenant_cannot_open_another_tenants_socket_nor_send_garbage_cursors() {
    let app = spawn_app().await;
    for (query, status) in [
        (vec![("user_id", "globex")], 403),
        (vec![("resume", "not cursors")], 400),
    ] {
        let error = ws_connect(&ws_url(app.addr, &query), &app.token(Some("acme")))
            .await
            .err()
            .expect("the upgrade must be refused");
        match error {
            tokio_tungstenite::tungstenite::Error::Http(response) => {
                assert_eq!(response.status(), status, "{query:?}");
            }
            other => panic!("expected an HTTP {status}, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_client_gets_its_state_then_every_change() {
    let app = spawn_app().await;
    ingest_ok(&app, &call_started("acme", "before")).await;
    let mut acme = client(&app, Some("acme"), &[]).await;
    let greeting = settle(&mut acme).await;
    let ServerMessage::Hello { tenant, rooms, .. } = &greeting[0] else {
        unreachable!()
    };
    assert_eq!(tenant.as_deref(), Some("acme"));
    assert_eq!(rooms, &[Room::Tenant("acme".into())]);
    let ServerMessage::Snapshot {
        seq,
        state: RoomState::Calls(state),
        ..
    } = &greeting[1]
    else {
        panic!("a snapshot of the calls room, got {:?}", greeting[1]);
    };
    let snapshot_seq = *seq;
    assert_eq!(state.active_calls[0].id, "before");
    assert_eq!(state.recent_calls[0].id, "before");
    assert_eq!(state.metrics.total_calls, 1);
    assert_eq!(state.metrics.period_hours, 24);
    assert_eq!(
        state
            .periods
            .iter()
            .map(|m| m.period_hours)
            .collect::<Vec<_>>(),
        [1, 6, 24, 168]
    );

    ingest_ok(&app, &call_started("acme", "during")).await;
    let pushed = acme
        .recv_until(|message| !call_events(std::slice::from_ref(message)).is_empty())
        .await;
    let ServerMessage::Push { seq, push, .. } = pushed.last().unwrap() else {
        unreachable!()
    };
    assert_eq!(
        seq,
        &(snapshot_seq + 1),
        "numbering continues from the snapshot"
    );
    let Push::CallEvent(event) = push else {
        unreachable!()
    };
    assert_eq!(event.call.id, "during");
    assert_eq!(event.call.status.as_deref(), Some("active"));
    // The coalesced figures follow: the client ends with exactly what the REST API says.
    converge(&mut acme, &app, "acme").await;

    acme.send(&ClientMessage::Ping).await;
    acme.recv_until(|message| matches!(message, ServerMessage::Pong { .. }))
        .await;
}

#[tokio::test]
async fn clients_arriving_together_share_one_snapshot() {
    let app = spawn_app().await;
    ingest_ok(&app, &call_started("acme", "c1")).await;
    let url = ws_url(app.addr, &[]);
    let token = app.token(Some("acme"));
    let clients = futures::future::join_all((0..10).map(|_| async {
        let mut client = ws_connect(&url, &token).await.unwrap();
        settle(&mut client).await;
        client
    }))
    .await;
    assert_eq!(
        app.state.hub.stats().snapshots,
        1,
        "one computation for ten clients"
    );
    for client in &clients {
        assert_eq!(
            feed_view(&client.feed).unwrap().0,
            ["c1"],
            "every client got the state"
        );
    }
    // Once something was pushed, a newcomer gets a state computed after it.
    ingest_ok(&app, &call_started("acme", "c2")).await;
    let mut first = clients.into_iter().next().unwrap();
    first
        .recv_until(|message| !call_events(std::slice::from_ref(message)).is_empty())
        .await;
    let mut late = client(&app, Some("acme"), &[]).await;
    settle(&mut late).await;
    assert_eq!(app.state.hub.stats().snapshots, 2);
    assert_eq!(feed_view(&late.feed).unwrap().0, ["c1", "c2"]);
}

#[tokio::test]
async fn tenants_see_only_their_own_calls_and_admins_see_what_they_chose() {
    let app = spawn_app().await;
    let mut acme = client(&app, Some("acme"), &[]).await;
    let mut globex = client(&app, Some("globex"), &[]).await;
    let mut admin = client(&app, None, &[]).await;
    let mut admin_globex = client(&app, None, &[("user_id", "globex")]).await;
    for socket in [&mut acme, &mut globex, &mut admin, &mut admin_globex] {
        settle(socket).await;
    }
    // Asking for what is not its own changes nothing for a tenant.
    acme.send(&ClientMessage::Subscribe {
        stream: Stream::Health,
    })
    .await;
    let refused = acme
        .recv_until(|message| matches!(message, ServerMessage::Error { .. }))
        .await;
    assert!(
        matches!(refused.last(), Some(ServerMessage::Error { message }) if message.contains("health")),
        "{refused:?}"
    );
    // An ops push (a reconciliation run) reaches admins only.
    let run = app::dto::admin::ReconciliationSummary {
        id: "run-1".into(),
        trigger: app::dto::admin::ReconciliationTrigger::Admin,
        triggered_by: Some("ops@example.com".into()),
        status: app::dto::admin::RunStatus::Succeeded,
        started_at: OffsetDateTime::now_utc(),
        finished_at: None,
        stale_closed: 0,
        backfilled: 0,
        live_cleared: 0,
        dlq_retried: 0,
        dlq_rearmed: 0,
        error: None,
    };
    app.state
        .bus
        .publish(BusEvent::ReconciliationRun(run.clone()));

    let batch = json!([
        call_started("globex", "g1"),
        call_started("acme", "a1"),
        call_started("globex", "g2"),
        call_started("acme", "a2"),
    ]);
    ingest_ok(&app, &batch).await;
    let last_call = |id: &'static str| {
        move |message: &ServerMessage| {
            call_events(std::slice::from_ref(message))
                .iter()
                .any(|(call, _)| call == id)
        }
    };
    let ids = |messages: &[ServerMessage]| -> Vec<String> {
        call_events(messages)
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    };
    let is_ops = |message: &ServerMessage| {
        matches!(
            message,
            ServerMessage::Push {
                room: Room::Ops,
                ..
            }
        )
    };

    let seen = acme.recv_until(last_call("a2")).await;
    assert_eq!(ids(&seen), ["a1", "a2"]);
    assert!(!seen.iter().any(is_ops), "a tenant got an ops push");
    let seen = globex.recv_until(last_call("g2")).await;
    assert_eq!(ids(&seen), ["g1", "g2"]);
    assert!(!seen.iter().any(is_ops));
    let seen = admin_globex.recv_until(last_call("g2")).await;
    assert_eq!(ids(&seen), ["g1", "g2"], "an admin scoped to one tenant");
    let seen = admin.recv_until(last_call("a2")).await;
    assert_eq!(
        ids(&seen),
        ["g1", "a1", "g2", "a2"],
        "an admin of every tenant"
    );
    assert!(
        seen.iter().any(|message| matches!(message,
            ServerMessage::Push { room: Room::Ops, push: Push::ReconciliationUpdate(ReconciliationUpdate { run: pushed, .. }), .. }
            if *pushed == run)),
        "the admin saw the run: {seen:?}"
    );
    // Every message a tenant receives is in its own room.
    acme.send(&ClientMessage::Ping).await;
    let rest = acme
        .recv_until(|message| matches!(message, ServerMessage::Pong { .. }))
        .await;
    assert!(rest.iter().all(|message| match message {
        ServerMessage::Push { room, .. } => room == &Room::Tenant("acme".into()),
        _ => true,
    }));
}

#[tokio::test]
async fn admins_see_each_audited_action_as_it_is_recorded_and_tenants_never() {
    let app = spawn_app().await;
    let mut admin = client(&app, None, &[]).await;
    let mut acme = client(&app, Some("acme"), &[]).await;
    settle(&mut admin).await;
    settle(&mut acme).await;
    let retried = app
        .client
        .post(app.url("/api/admin/dlq/retry"))
        .bearer_auth(app.token(None))
        .send()
        .await
        .unwrap();
    assert_eq!(retried.status(), reqwest::StatusCode::OK);
    let seen = admin
        .recv_until(|message| {
            matches!(
                message,
                ServerMessage::Push {
                    push: Push::AuditEntry(_),
                    ..
                }
            )
        })
        .await;
    let Some(ServerMessage::Push {
        room,
        push: Push::AuditEntry(entry),
        ..
    }) = seen.last()
    else {
        unreachable!()
    };
    assert_eq!(*room, Room::Ops);
    assert_eq!(
        (
            entry.action.as_str(),
            entry.actor.as_str(),
            entry.result.as_str()
        ),
        ("dlq.retry_all", "tests", "ok")
    );
    let stored = app.admin_json("/api/admin/audit").await;
    assert_eq!(stored["entries"][0]["id"], entry.id, "the entry as stored");

    // The tenant's socket carries its own call after the action, and no audit entry before it.
    ingest_ok(&app, &json!([call_started("acme", "after-audit")])).await;
    let seen = acme
        .recv_until(|message| !call_events(std::slice::from_ref(message)).is_empty())
        .await;
    assert!(
        !seen.iter().any(|message| matches!(
            message,
            ServerMessage::Push {
                push: Push::AuditEntry(_),
                ..
            }
        )),
        "{seen:?}"
    );
}

#[tokio::test]
async fn a_burst_gives_one_metrics_update_per_interval() {
    let interval = Duration::from_millis(300);
    let app = spawn_app_with(|config| config.push.interval = interval).await;
    let mut acme = client(&app, Some("acme"), &[]).await;
    settle(&mut acme).await;
    for batch in 0..10 {
        let events: Vec<Value> = (0..10)
            .map(|n| call_started("acme", &format!("burst-{batch}-{n}")))
            .collect();
        ingest_ok(&app, &json!(events)).await;
    }
    let seen = acme
        .recv_until(|message| {
            matches!(message, ServerMessage::Push { push: Push::MetricsUpdate(update), .. }
                if update.metrics.total_calls == 100)
        })
        .await;
    assert_eq!(
        call_events(&seen).len(),
        100,
        "every call is pushed on its own"
    );
    let updates: Vec<OffsetDateTime> = seen
        .iter()
        .filter_map(|message| match message {
            ServerMessage::Push {
                push: Push::MetricsUpdate(update),
                ..
            } => Some(update.timestamp),
            _ => None,
        })
        .collect();
    assert!(
        updates.len() < 10,
        "{} metrics updates for 10 batches",
        updates.len()
    );
    for pair in updates.windows(2) {
        let apart = pair[1] - pair[0];
        // One tick apart at least, less the time one computation may take to start.
        assert!(
            apart >= time::Duration::milliseconds(200),
            "metrics updates only {apart} apart"
        );
    }
}

#[tokio::test]
async fn a_reconnect_gets_exactly_what_it_missed() {
    let app = spawn_app().await;
    let mut acme = client(&app, Some("acme"), &[]).await;
    settle(&mut acme).await;
    ingest_ok(
        &app,
        &json!([call_started("acme", "c1"), call_started("acme", "c2")]),
    )
    .await;
    converge(&mut acme, &app, "acme").await;
    let feed = acme.disconnect().await;

    // While away: two calls start, one ends.
    ingest_ok(
        &app,
        &json!([call_started("acme", "c3"), call_started("acme", "c4")]),
    )
    .await;
    ingest_ok(&app, &call_ended("acme", "c1")).await;

    let resume = encode_resume(&feed.cursors());
    let request = ws_url(app.addr, &[("resume", &resume)]);
    let mut again = ws_connect(&request, &app.token(Some("acme")))
        .await
        .unwrap();
    again.feed = feed;
    let greeting = settle(&mut again).await;
    assert!(
        matches!(greeting[1], ServerMessage::Resumed { replayed, .. } if replayed >= 3),
        "{:?}",
        greeting[1]
    );
    assert_eq!(
        call_events(&greeting),
        [
            ("c3".to_owned(), "call_started".to_owned()),
            ("c4".to_owned(), "call_started".to_owned()),
            ("c1".to_owned(), "call_ended".to_owned()),
        ],
        "the missed calls, in order, and nothing twice"
    );
    converge(&mut again, &app, "acme").await;
    let recent = &again.feed.calls().unwrap().recent_calls;
    let mut ids: Vec<_> = recent.iter().map(|call| &call.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), recent.len(), "no row twice");
}

#[tokio::test]
async fn a_long_gap_or_a_foreign_epoch_resyncs_with_a_snapshot() {
    let app = spawn_app_with(|config| config.push.history = 4).await;
    let mut acme = client(&app, Some("acme"), &[]).await;
    settle(&mut acme).await;
    let feed = acme.disconnect().await;
    let cursors = feed.cursors();
    // More than the room remembers.
    let events: Vec<Value> = (0..10)
        .map(|n| call_started("acme", &format!("away-{n}")))
        .collect();
    ingest_ok(&app, &json!(events)).await;

    let foreign: Vec<Cursor> = cursors
        .iter()
        .map(|cursor| Cursor {
            epoch: cursor.epoch.wrapping_add(1),
            ..cursor.clone()
        })
        .collect();
    for cursors in [cursors, foreign] {
        let resume = encode_resume(&cursors);
        let mut again = ws_connect(
            &ws_url(app.addr, &[("resume", &resume)]),
            &app.token(Some("acme")),
        )
        .await
        .unwrap();
        again.feed = feed.clone();
        let greeting = settle(&mut again).await;
        let ServerMessage::Snapshot { seq, state, .. } = &greeting[1] else {
            panic!("a snapshot, got {:?}", greeting[1]);
        };
        assert!(
            *seq >= 10,
            "the snapshot says which push it reflects: {seq}"
        );
        let RoomState::Calls(state) = state else {
            unreachable!()
        };
        assert_eq!(state.active_calls.len(), 10);
        converge(&mut again, &app, "acme").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_resynced_and_delays_nobody() {
    let app = spawn_app_with(|config| config.push.queue = 1024).await;
    let mut reader = client(&app, Some("acme"), &[]).await;
    settle(&mut reader).await;
    // A client that reads its greeting, then nothing. Its receive buffer is fixed (no
    // autotuning up to tens of MB), but not so small that TCP's silly-window avoidance keeps the
    // window shut once it reads again.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(256 * 1024).unwrap();
    let stream = socket.connect(app.addr).await.unwrap();
    let mut request = ws_url(app.addr, &[]).into_client_request().unwrap();
    let cookie = format!(
        "{}={}",
        server::domain::auth::SESSION_COOKIE,
        app.token(Some("acme"))
    );
    request
        .headers_mut()
        .insert("cookie", cookie.parse().unwrap());
    let (socket, _) =
        tokio_tungstenite::client_async(request, tokio_tungstenite::MaybeTlsStream::Plain(stream))
            .await
            .unwrap();
    let mut stuck = WsClient::new(socket, LiveFeed::default());
    settle(&mut stuck).await;

    let mut batches = 0;
    while app.state.hub.stats().lagged == 0 {
        assert!(batches < 100, "the stuck client never fell behind");
        let ids: Vec<String> = (0..200).map(|n| format!("flood-{batches}-{n}")).collect();
        let events: Vec<Value> = ids
            .iter()
            .flat_map(|id| [call_started("acme", id), call_ended("acme", id)])
            .collect();
        ingest_ok(&app, &json!(events)).await;
        // The other client gets every event of the batch, while the stuck one holds back.
        let last = ids.last().unwrap().clone();
        let seen = reader
            .recv_until(|message| {
                call_events(std::slice::from_ref(message))
                    == [(last.clone(), "call_ended".to_owned())]
            })
            .await;
        let received: Vec<_> = call_events(&seen)
            .into_iter()
            .filter(|(_, kind)| kind == "call_started")
            .map(|(id, _)| id)
            .collect();
        assert_eq!(received, ids);
        batches += 1;
    }
    // The hub let go of the stuck client's queue; only the reader is left in the room.
    assert_eq!(app.state.hub.stats().subscribers, 1);

    // Reading again, it is brought back in step with a fresh snapshot.
    stuck
        .recv_until(|message| matches!(message, ServerMessage::Snapshot { .. }))
        .await;
    converge(&mut stuck, &app, "acme").await;
    converge(&mut reader, &app, "acme").await;
}

#[tokio::test]
async fn streams_switch_off_and_back_on_with_fresh_state() {
    let app = spawn_app().await;
    let mut acme = client(&app, Some("acme"), &[]).await;
    settle(&mut acme).await;
    acme.send(&ClientMessage::Unsubscribe {
        stream: Stream::Calls,
    })
    .await;
    let answer = acme
        .recv_until(|message| matches!(message, ServerMessage::Streams { .. }))
        .await;
    assert!(
        matches!(answer.last(), Some(ServerMessage::Streams { streams })
        if *streams == [Stream::ActiveCalls, Stream::Metrics])
    );

    ingest_ok(&app, &call_started("acme", "quiet")).await;
    // Figures still come; the call itself does not.
    let seen = acme
        .recv_until(|message| {
            matches!(message, ServerMessage::Push { push: Push::ActiveCallsUpdate(update), .. }
                if update.count == 1)
        })
        .await;
    assert!(call_events(&seen).is_empty(), "{seen:?}");

    acme.send(&ClientMessage::Subscribe {
        stream: Stream::Calls,
    })
    .await;
    let seen = acme
        .recv_until(|message| matches!(message, ServerMessage::Snapshot { .. }))
        .await;
    assert!(
        matches!(seen.last(), Some(ServerMessage::Snapshot { state: RoomState::Calls(state), .. })
        if state.recent_calls[0].id == "quiet")
    );
    ingest_ok(&app, &call_ended("acme", "quiet")).await;
    acme.recv_until(|message| !call_events(std::slice::from_ref(message)).is_empty())
        .await;
    converge(&mut acme, &app, "acme").await;
}

#[tokio::test]
async fn unknown_messages_close_the_socket_with_a_policy_error() {
    let app = spawn_app().await;
    let mut socket = client(&app, Some("acme"), &[]).await;
    settle(&mut socket).await;
    socket
        .send_raw(tokio_tungstenite::tungstenite::Message::text(
            r#"{"type":"drop_tables"}"#,
        ))
        .await;
    assert_eq!(socket.close_code().await, CloseCode::Policy);
}

#[tokio::test]
async fn binary_frames_are_refused() {
    let app = spawn_app().await;
    let mut socket = client(&app, Some("acme"), &[]).await;
    settle(&mut socket).await;
    socket
        .send_raw(tokio_tungstenite::tungstenite::Message::binary(vec![
            1, 2, 3,
        ]))
        .await;
    assert_eq!(socket.close_code().await, CloseCode::Unsupported);
}

#[tokio::test]
async fn shutdown_closes_live_sockets_and_completes() {
    let app = spawn_app().await;
    let mut first = client(&app, Some("acme"), &[]).await;
    let mut second = client(&app, None, &[]).await;
    settle(&mut first).await;
    settle(&mut second).await;
    assert_eq!(app.state.hub.stats().subscribers, 2);

    let stopped = tokio::spawn(app.stop());
    assert_eq!(first.close_code().await, CloseCode::Away);
    assert_eq!(second.close_code().await, CloseCode::Away);
    stopped.await.unwrap().unwrap();
}
