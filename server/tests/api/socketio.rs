//! `/socket.io/` against the real `socket.io-client` npm package (see `live_clients`): the seed's
//! own example, the handshake, isolation, both transports, streams, ping, reconnects, a client
//! that stops polling, shutdown.

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::{
    helpers::{TestApp, spawn_app},
    live_clients::{PATIENCE, SocketIoClient, call_ended, call_started, node_script},
};

const WEBSOCKET: &[&str] = &["websocket"];
const POLLING: &[&str] = &["polling"];

async fn ingest_ok(app: &TestApp, body: &Value) {
    let response = app.ingest(body).await;
    assert_eq!(response.status(), reqwest::StatusCode::OK, "{body}");
}

/// A connected client, past `connected` and its initial state(s).
async fn connected(
    app: &TestApp,
    tenant: Option<&str>,
    user_id: Option<&str>,
    transports: &[&str],
) -> Option<(SocketIoClient, Value, Value)> {
    let mut auth = json!({"token": app.token(tenant)});
    if let Some(user_id) = user_id {
        auth["user_id"] = json!(user_id);
    }
    let mut client = SocketIoClient::connect(app.addr, auth, transports).await?;
    let (hello, before) = client.until("connected").await;
    assert!(
        before.iter().all(|(event, _)| event == "connect"),
        "{before:?}"
    );
    let (initial, _) = client.until("initial_state").await;
    Some((client, hello, initial))
}

/// Every `call_event` up to and including the one for `last`: (call id, type).
async fn calls_until(client: &mut SocketIoClient, last: &str) -> Vec<(String, String)> {
    let mut calls = Vec::new();
    loop {
        let (data, _) = client.until("call_event").await;
        let id = data["call"]["id"].as_str().unwrap().to_owned();
        calls.push((id.clone(), data["type"].as_str().unwrap().to_owned()));
        if id == last {
            return calls;
        }
    }
}

fn ids(calls: &[(String, String)]) -> Vec<&str> {
    calls.iter().map(|(id, _)| id.as_str()).collect()
}

#[tokio::test]
async fn the_seed_example_runs_with_only_a_token_added() {
    let Some(script) = node_script("seed-example.js") else {
        return;
    };
    let app = spawn_app().await;
    ingest_ok(&app, &call_started("test_user", "seed-call")).await;
    let mut child = tokio::process::Command::new("node")
        .arg(script)
        .env("SWITCHBOARD_URL", format!("http://{}", app.addr))
        .env("SWITCHBOARD_TOKEN", app.token(Some("test_user")))
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut output = String::new();
    // The example logs `connected`, then the initial state (pretty-printed over several lines);
    // it never exits by itself.
    while !(output.contains("Initial state:") && output.contains("timestamp:")) {
        let line = tokio::time::timeout(PATIENCE, lines.next_line())
            .await
            .expect("the example printed nothing more in time")
            .unwrap()
            .expect("the example exited");
        output.push_str(&line);
        output.push('\n');
    }
    assert!(
        output.contains("Connected: { user_id: 'test_user', sid: '"),
        "{output}"
    );
    for field in [
        "active_calls:",
        "metrics:",
        "recent_calls:",
        "outcome_distribution:",
        "timestamp:",
    ] {
        assert!(
            output.contains(field),
            "initial_state lacks {field}: {output}"
        );
    }
    child.kill().await.unwrap();
}

#[tokio::test]
async fn a_bad_handshake_is_a_connect_error_and_no_connection() {
    let app = spawn_app().await;
    let forged = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.forged";
    for (auth, expected) in [
        (json!({}), "send a token: auth: {token}"),
        (json!({"user_id": "acme"}), "send a token: auth: {token}"),
        (json!({"token": forged}), "invalid or expired token"),
        (
            json!({"token": app.token(Some("acme")), "user_id": "globex"}),
            "user_id: this token may only read its own tenant",
        ),
    ] {
        let Some(mut client) = SocketIoClient::connect(app.addr, auth.clone(), WEBSOCKET).await
        else {
            return;
        };
        let (name, data) = client.next().await;
        assert_eq!(
            (name.as_str(), data["message"].as_str()),
            ("connect_error", Some(expected)),
            "{auth}"
        );
        client.close().await;
    }
    assert_eq!(app.state.hub.stats().subscribers, 0);
}

#[tokio::test]
async fn each_socket_gets_its_own_tenant_on_either_transport() {
    let app = spawn_app().await;
    ingest_ok(&app, &call_started("acme", "before")).await;
    let Some((mut acme, hello, initial)) = connected(&app, Some("acme"), None, WEBSOCKET).await
    else {
        return;
    };
    assert_eq!(hello["user_id"], "acme");
    assert!(hello["sid"].as_str().is_some_and(|sid| !sid.is_empty()));
    assert_eq!(initial["active_calls"][0]["id"], "before");
    assert_eq!(initial["active_calls"][0]["phoneNumber"], "+12345678900");
    assert_eq!(initial["metrics"]["total_calls"], 1);
    assert_eq!(initial["recent_calls"][0]["id"], "before");
    assert!(initial["outcome_distribution"].is_object());
    assert!(
        initial["timestamp"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );

    let (mut globex, hello, _) = connected(&app, Some("globex"), Some("globex"), POLLING)
        .await
        .unwrap();
    assert_eq!(hello["user_id"], "globex");
    let (mut admin, hello, _) = connected(&app, None, None, WEBSOCKET).await.unwrap();
    assert_eq!(
        hello["user_id"],
        Value::Null,
        "an admin watching every tenant"
    );
    let (ops, _) = admin.until("ops_state").await;
    assert!(ops["live"]["active_calls"].is_array());
    let (mut admin_globex, hello, _) = connected(&app, None, Some("globex"), POLLING)
        .await
        .unwrap();
    assert_eq!(hello["user_id"], "globex");

    // Asking for another tenant, or for admins' streams, is refused and changes nothing.
    acme.emit(
        "subscribe",
        json!({"stream": "calls", "user_id": "globex"}),
        true,
    )
    .await;
    let (answer, _) = acme.until("ack").await;
    assert_eq!(answer["success"], false);
    assert_eq!(
        answer["error"],
        "user_id: this token may only read its own tenant"
    );
    // A refusal is also an `error` event, for clients that asked for no ack.
    let (refused, _) = acme.until("error").await;
    assert_eq!(refused, answer);
    acme.emit("subscribe", json!({"stream": "health"}), false)
        .await;
    let (refused, _) = acme.until("error").await;
    assert_eq!(
        refused["error"],
        "operations are for the platform's admins, operators and viewers"
    );

    ingest_ok(
        &app,
        &json!([
            call_started("globex", "g1"),
            call_started("acme", "a1"),
            call_started("globex", "g2"),
            call_started("acme", "a2"),
        ]),
    )
    .await;
    assert_eq!(ids(&calls_until(&mut acme, "a2").await), ["a1", "a2"]);
    assert_eq!(ids(&calls_until(&mut globex, "g2").await), ["g1", "g2"]);
    assert_eq!(
        ids(&calls_until(&mut admin_globex, "g2").await),
        ["g1", "g2"]
    );
    assert_eq!(
        ids(&calls_until(&mut admin, "a2").await),
        ["g1", "a1", "g2", "a2"]
    );

    // The seed's payloads: call_event, then the coalesced metrics and active calls.
    ingest_ok(&app, &call_ended("acme", "a1")).await;
    let (event, _) = acme.until("call_event").await;
    assert_eq!(event["type"], "call_ended");
    assert_eq!(event["call"]["id"], "a1");
    assert_eq!(event["call"]["status"], "ended");
    assert_eq!(event["call"]["outcome"], "completed");
    assert!(event["call"]["startedAt"].is_string() && event["timestamp"].is_string());
    let mut metrics = acme.until("metrics_update").await.0;
    while metrics["metrics"]["completed_calls"] != 1 {
        metrics = acme.until("metrics_update").await.0;
    }
    assert_eq!(metrics["metrics"]["total_calls"], 3);
    assert_eq!(metrics["metrics"]["period_hours"], 24);
    let mut active = acme.until("active_calls_update").await.0;
    while active["count"] != 2 {
        active = acme.until("active_calls_update").await.0;
    }
    let mut ids: Vec<_> = active["active_calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|call| call["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, ["a2", "before"]);

    // Still nothing of globex's reached acme.
    acme.emit("ping", Value::Null, false).await;
    let (pong, between) = acme.until("pong").await;
    assert!(pong["timestamp"].is_string());
    assert!(
        between
            .iter()
            .all(|(event, data)| event != "call_event" || data["call"]["userId"] == "acme"),
        "{between:?}"
    );
    for client in [acme, globex, admin, admin_globex] {
        client.close().await;
    }
}

#[tokio::test]
async fn streams_switch_off_and_on_and_a_reconnect_starts_fresh() {
    let app = spawn_app().await;
    let Some((mut acme, _, _)) = connected(&app, Some("acme"), None, WEBSOCKET).await else {
        return;
    };
    acme.emit("unsubscribe", json!({"stream": "calls"}), true)
        .await;
    let (answer, _) = acme.until("ack").await;
    assert_eq!(answer, json!({"success": true, "stream": "calls"}));
    ingest_ok(&app, &call_started("acme", "unheard")).await;
    let (update, before) = acme.until("active_calls_update").await;
    assert_eq!(update["count"], 1);
    assert!(
        before.iter().all(|(event, _)| event != "call_event"),
        "{before:?}"
    );

    // Switching a figures stream back on sends its current value at once.
    acme.emit("unsubscribe", json!({"stream": "metrics"}), false)
        .await;
    acme.until("unsubscribed").await;
    acme.emit("subscribe", json!({"stream": "metrics"}), false)
        .await;
    acme.until("subscribed").await;
    let (metrics, _) = acme.until("metrics_update").await;
    assert_eq!(metrics["metrics"]["total_calls"], 1);
    acme.emit("subscribe", json!({"stream": "nonsense"}), false)
        .await;
    let (refused, _) = acme.until("error").await;
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .starts_with("unknown stream")
    );

    // A reconnect is a new socket: every stream again, and a fresh initial_state.
    acme.command(json!({"disconnect": true})).await;
    acme.until("disconnect").await;
    ingest_ok(&app, &call_started("acme", "while-away")).await;
    acme.command(json!({"connect": true})).await;
    acme.until("connected").await;
    let (initial, _) = acme.until("initial_state").await;
    assert_eq!(initial["active_calls"].as_array().unwrap().len(), 2);
    ingest_ok(&app, &call_ended("acme", "while-away")).await;
    let (event, _) = acme.until("call_event").await;
    assert_eq!(event["call"]["id"], "while-away");
    acme.close().await;
}

/// An Engine.IO polling session that connects to the Socket.IO namespace and then never polls:
/// a client that stopped reading. Only the handshake requests are made, with reqwest.
async fn silent_polling_session(app: &TestApp, tenant: &str) -> String {
    let base = app.url("/socket.io/?EIO=4&transport=polling");
    let open = app
        .client
        .get(&base)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let handshake: Value = serde_json::from_str(open.strip_prefix('0').unwrap()).unwrap();
    let sid = handshake["sid"].as_str().unwrap().to_owned();
    assert_eq!(handshake["pingInterval"], 25_000);
    assert_eq!(handshake["pingTimeout"], 60_000);
    let url = format!("{base}&sid={sid}");
    let connect = format!("40{}", json!({"token": app.token(Some(tenant))}));
    let posted = app.client.post(&url).body(connect).send().await.unwrap();
    assert!(posted.status().is_success());
    // Poll until the initial state arrived (the socket is in the hub by then), then stop.
    poll_until(app, &url, |event, _| event == "initial_state").await;
    url
}

/// Polls the session at `url` until an event that `done` accepts arrives.
async fn poll_until(app: &TestApp, url: &str, mut done: impl FnMut(&str, &Value) -> bool) {
    loop {
        let body = app
            .client
            .get(url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        // `1`: Engine.IO close; `44`: Socket.IO connect error.
        assert!(
            !body.starts_with('1') && !body.starts_with("44"),
            "the session ended or was refused: {body}"
        );
        if polled_events(&body)
            .iter()
            .any(|(event, data)| done(event, data))
        {
            return;
        }
    }
}

/// The events of one polling response (`42[...]` packets, separated by U+001E).
fn polled_events(body: &str) -> Vec<(String, Value)> {
    body.split('\u{1e}')
        .filter_map(|packet| packet.strip_prefix("42"))
        .filter_map(|event| serde_json::from_str::<(String, Value)>(event).ok())
        .collect()
}

#[tokio::test]
async fn a_client_that_stops_polling_is_resynced_and_delays_nobody() {
    let app = spawn_app().await;
    let Some((mut reader, _, _)) = connected(&app, Some("acme"), None, WEBSOCKET).await else {
        return;
    };
    let silent = silent_polling_session(&app, "acme").await;
    assert_eq!(app.state.hub.stats().subscribers, 2);
    // More pushes than a socket's buffer holds (128 packets).
    let events: Vec<Value> = (0..150)
        .map(|n| call_started("acme", &format!("flood-{n}")))
        .collect();
    ingest_ok(&app, &json!(events)).await;
    assert_eq!(calls_until(&mut reader, "flood-149").await.len(), 150);

    // Polling again, it gets a fresh initial_state (its first had no calls) holding every call —
    // and stays connected.
    poll_until(&app, &silent, |event, data| {
        event == "initial_state" && data["active_calls"].as_array().unwrap().len() == 150
    })
    .await;
    ingest_ok(&app, &call_ended("acme", "flood-0")).await;
    poll_until(&app, &silent, |event, data| {
        event == "call_event" && data["call"]["id"] == "flood-0"
    })
    .await;
    reader.close().await;
}

#[tokio::test]
async fn shutdown_disconnects_socket_io_clients() {
    let app = spawn_app().await;
    let Some((mut client, _, _)) = connected(&app, Some("acme"), None, WEBSOCKET).await else {
        return;
    };
    let stopped = tokio::spawn(app.stop());
    // The transport closes (no Socket.IO disconnect), so the client would reconnect — to another
    // instance behind the load balancer.
    let (gone, _) = client.until("disconnect").await;
    assert_eq!(gone["reason"], "transport close");
    stopped.await.unwrap().unwrap();
}

/// The holder of a token that names no user, minted for `subject` in the tenant its domain names
/// (`ops@acme.test`: acme).
fn script_token(subject: &str) -> server::live::quota::SocketHolder {
    let tenant = subject.split(['@', '.']).nth(1).map(str::to_owned);
    server::live::quota::SocketHolder::Token {
        subject: subject.to_owned(),
        tenant,
    }
}

/// Waits until `subject` holds `expected` sockets: a socket's place is given back when the
/// server has finished with it, just after the client sees it close.
async fn open_sockets_reach(app: &TestApp, subject: &str, expected: usize) {
    let subject = &script_token(subject);
    tokio::time::timeout(PATIENCE, async {
        while app.state.sockets.open(subject) != expected {
            tokio::task::yield_now().await;
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "{subject:?} holds {} sockets, not {expected}",
            app.state.sockets.open(subject)
        )
    });
}

#[tokio::test]
async fn one_user_holds_only_so_many_live_sockets_over_both_doors() {
    use server::domain::users::Role;
    use server::live::quota::MAX_SOCKETS_PER_IDENTITY;
    let app = spawn_app().await;
    let mint = |subject: &str, tenant: &str| {
        let ttl = time::Duration::hours(1);
        app.state
            .jwt
            .mint(subject, Role::Member, Some(tenant), None, ttl)
            .unwrap()
            .0
    };
    let (ops, other) = (
        mint("ops@acme.test", "acme"),
        mint("ops@globex.test", "globex"),
    );
    let url = crate::live_clients::ws_url(app.addr, &[]);
    let mut sockets = Vec::new();
    for _ in 0..MAX_SOCKETS_PER_IDENTITY {
        sockets.push(crate::live_clients::ws_connect(&url, &ops).await.unwrap());
    }
    // One more over /ws: 429 before any socket exists…
    match crate::live_clients::ws_connect(&url, &ops).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 429);
        }
        other => panic!("expected an HTTP 429, got {:?}", other.map(|_| "a socket")),
    }
    // …and over Socket.IO, the same quota: a connect_error that says why.
    let Some(mut refused) =
        SocketIoClient::connect(app.addr, json!({"token": ops}), WEBSOCKET).await
    else {
        return;
    };
    let (error, _) = refused.until("connect_error").await;
    let message = error["message"].as_str().unwrap();
    assert!(message.starts_with("too many live connections"), "{error}");
    refused.close().await;

    // Another user is not affected.
    let mut globex = SocketIoClient::connect(app.addr, json!({"token": other}), WEBSOCKET)
        .await
        .unwrap();
    globex.until("connected").await;
    assert_eq!(app.state.sockets.open(&script_token("ops@globex.test")), 1);

    // A socket that ends gives its place back, whichever door it came through.
    drop(sockets.pop());
    open_sockets_reach(&app, "ops@acme.test", MAX_SOCKETS_PER_IDENTITY - 1).await;
    let mut again = SocketIoClient::connect(app.addr, json!({"token": ops}), WEBSOCKET)
        .await
        .unwrap();
    again.until("connected").await;
    assert_eq!(
        app.state.sockets.open(&script_token("ops@acme.test")),
        MAX_SOCKETS_PER_IDENTITY
    );
    again.close().await;
    open_sockets_reach(&app, "ops@acme.test", MAX_SOCKETS_PER_IDENTITY - 1).await;
    globex.close().await;
    open_sockets_reach(&app, "ops@globex.test", 0).await;
}
