//! No client of one tenant takes another's share (issue 22, finding 5 and 6): live sockets are
//! capped per user, or per (subject, tenant) for tokens naming no user; every client message on
//! `/ws` and Socket.IO spends from its socket's budget, and an overspending socket is closed
//! with the reason; switching a figures stream on is answered from the room's shared snapshot;
//! and each client address has its own allowance of HTTP requests.

use app::dto::live::ClientMessage;
use serde_json::json;
use server::{
    domain::users::Role,
    live::quota::{MAX_SOCKETS_PER_IDENTITY, MESSAGE_BURST},
};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::{
    helpers::{TestApp, spawn_app, spawn_app_with},
    live_clients::{SocketIoClient, ws_connect, ws_url},
};

/// A token naming no user, as `switchboard token --tenant` mints them: one subject for all.
fn script_token(app: &TestApp, tenant: &str) -> String {
    let ttl = time::Duration::hours(1);
    app.state
        .jwt
        .mint("switchboard-cli", Role::Member, Some(tenant), None, ttl)
        .unwrap()
        .0
}

#[tokio::test]
async fn one_tenants_scripts_never_use_up_anothers_sockets() {
    let app = spawn_app().await;
    let url = ws_url(app.addr, &[]);
    let acme = script_token(&app, "acme");
    let mut held = Vec::new();
    for _ in 0..MAX_SOCKETS_PER_IDENTITY {
        held.push(ws_connect(&url, &acme).await.unwrap());
    }
    match ws_connect(&url, &acme).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 429);
        }
        other => panic!("expected an HTTP 429, got {:?}", other.map(|_| "a socket")),
    }
    // Another tenant's script, with the same subject, has a share of its own.
    let globex = script_token(&app, "globex");
    let mut socket = ws_connect(&url, &globex).await.unwrap();
    socket.recv().await;
}

#[tokio::test]
async fn a_ws_client_sending_flat_out_is_closed_with_the_reason() {
    let app = spawn_app().await;
    let url = ws_url(app.addr, &[]);
    let mut client = ws_connect(&url, &app.token(Some("acme"))).await.unwrap();
    for _ in 0..MESSAGE_BURST * 5 {
        client.send(&ClientMessage::Ping).await;
    }
    assert_eq!(client.close_code().await, CloseCode::Policy);
    // Another client of the tenant is served as before.
    let mut other = ws_connect(&url, &app.token(Some("acme"))).await.unwrap();
    other.send(&ClientMessage::Ping).await;
    other
        .recv_until(|message| matches!(message, app::dto::live::ServerMessage::Pong { .. }))
        .await;
}

#[tokio::test]
async fn a_socket_io_client_toggling_flat_out_is_refused_and_told_why() {
    let app = spawn_app().await;
    let auth = json!({"token": app.token(Some("acme"))});
    let Some(mut client) = SocketIoClient::connect(app.addr, auth, &["websocket"]).await else {
        return;
    };
    client.until("initial_state").await;
    let sent = MESSAGE_BURST * 25;
    for n in 0..sent {
        let event = if n % 2 == 0 {
            "unsubscribe"
        } else {
            "subscribe"
        };
        client
            .emit(event, json!({"stream": "metrics"}), false)
            .await;
    }
    let (error, before) = client.until("error").await;
    let error = error["error"].as_str().unwrap();
    assert!(error.starts_with("too many messages"), "{error}");
    // The flood was not served (far fewer answers than messages), and the socket is still
    // there: once its budget has refilled (a matter of time, not of an event), it is answered.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    client.emit("ping", serde_json::Value::Null, false).await;
    let (_, rest) = client.until("pong").await;
    let answers = before
        .iter()
        .chain(&rest)
        .filter(|(event, _)| event == "subscribed" || event == "unsubscribed")
        .count();
    assert!(
        answers < (sent / 2) as usize,
        "{answers} of {sent} answered"
    );
}

#[tokio::test]
async fn switching_a_stream_on_is_answered_from_the_rooms_shared_snapshot() {
    let app = spawn_app().await;
    let auth = json!({"token": app.token(Some("acme"))});
    let Some(mut client) = SocketIoClient::connect(app.addr, auth, &["websocket"]).await else {
        return;
    };
    client.until("initial_state").await;
    let computed = app.state.hub.stats().snapshots;
    let mut stamps = Vec::new();
    for _ in 0..4 {
        client
            .emit("unsubscribe", json!({"stream": "metrics"}), false)
            .await;
        client
            .emit("subscribe", json!({"stream": "metrics"}), false)
            .await;
        let (metrics, _) = client.until("metrics_update").await;
        stamps.push(metrics["timestamp"].clone());
    }
    // Nothing was pushed meanwhile: one state, computed at most once more, answers them all.
    assert!(stamps.iter().all(|stamp| *stamp == stamps[0]), "{stamps:?}");
    assert!(app.state.hub.stats().snapshots <= computed + 1);
}

#[tokio::test]
async fn a_socket_io_session_that_never_connects_is_dropped_within_seconds() {
    use futures::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let app = spawn_app().await;
    let url = format!("ws://{}/socket.io/?EIO=4&transport=websocket", app.addr);
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    // Engine.IO's open packet, then nothing from us: no CONNECT, no token.
    let open = socket.next().await.unwrap().unwrap();
    assert!(open.to_text().unwrap().starts_with('0'), "{open:?}");
    let ended = tokio::time::timeout(std::time::Duration::from_secs(15), async {
        loop {
            match socket.next().await {
                // Engine.IO's close packet, or the socket itself closing, ends the session.
                Some(Ok(Message::Text(text))) if text.as_str() == "1" => return,
                Some(Ok(Message::Text(_) | Message::Ping(_) | Message::Pong(_))) => continue,
                _ => return,
            }
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "the unconnected session was still open after 15 s"
    );
}

/// `GET path` from `client` (behind the proxy that says so), with `token` if any.
fn get_from(
    app: &TestApp,
    client: &str,
    path: &str,
    token: Option<&str>,
) -> reqwest::RequestBuilder {
    let request = app
        .client
        .get(app.url(path))
        .header("x-forwarded-for", client);
    match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    }
}

/// Asks `path` (with `token`, if any) from `client`, which already `spent` requests, until it is
/// told to wait: the refusal.
async fn ask_until_refused(
    app: &TestApp,
    client: &str,
    path: &str,
    token: Option<&str>,
    spent: u32,
) -> reqwest::Response {
    use server::domain::auth::BURST_SECONDS;
    let mut answered = spent;
    loop {
        let response = get_from(app, client, path, token).send().await.unwrap();
        if response.status() == reqwest::StatusCode::TOO_MANY_REQUESTS {
            assert!(answered >= BURST_SECONDS, "refused after {answered}");
            return response;
        }
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        answered += 1;
        // The burst is four seconds' worth (plus what refills meanwhile): never unlimited.
        assert!(
            answered <= 2 * BURST_SECONDS,
            "still answered after {answered}"
        );
    }
}

#[tokio::test]
async fn a_client_asking_flat_out_is_told_to_wait_and_slows_no_one_else() {
    let app = spawn_app_with(|config| {
        config.client_rate = 1;
        // Behind a proxy that says who each client is, as in production.
        config.client_ip_header = Some(axum::http::HeaderName::from_static("x-forwarded-for"));
    })
    .await;
    let office = "203.0.113.7";
    let get = |client: &'static str, path: &'static str, token: Option<String>| {
        get_from(&app, client, path, token.as_deref()).send()
    };

    // A signed-in script asking flat out: told to wait, in JSON, on the API and on pages alike.
    let acme = app.token(Some("acme"));
    let refused = ask_until_refused(&app, office, "/api/dashboard/metrics", Some(&acme), 0).await;
    assert_eq!(crate::helpers::header(&refused, "retry-after"), "1");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "too_many_requests");
    assert!(
        body["error"].as_str().unwrap().contains("try again"),
        "{body}"
    );
    let page = get(office, "/dashboard/realtime", Some(acme.clone()))
        .await
        .unwrap();
    assert_eq!(page.status(), reqwest::StatusCode::TOO_MANY_REQUESTS);
    // Another caller in the same office, and a visitor there who is not signed in, are served.
    let globex = get(
        office,
        "/api/dashboard/metrics",
        Some(app.token(Some("globex"))),
    );
    assert_eq!(globex.await.unwrap().status(), reqwest::StatusCode::OK);
    assert_eq!(
        get(office, "/login", None).await.unwrap().status(),
        reqwest::StatusCode::OK
    );

    // Visitors who are not signed in spend their address's allowance; other addresses are served.
    ask_until_refused(&app, office, "/login", None, 1).await;
    assert_eq!(
        get("198.51.100.9", "/login", None).await.unwrap().status(),
        reqwest::StatusCode::OK
    );
    // Health checks and ingest are not counted.
    let health = get(office, "/api/dashboard/health", None).await.unwrap();
    assert_ne!(health.status(), reqwest::StatusCode::TOO_MANY_REQUESTS);
    let ingest = app
        .client
        .post(app.url("/api/v1/calls/events"))
        .bearer_auth(server::runtime::config::TEST_INGEST_KEY)
        .header("x-forwarded-for", office)
        .json(
            &json!({"type": "call_started", "user_id": "acme", "call_id": "c-1",
                      "at": "2026-12-05T10:00:00Z"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(ingest.status(), reqwest::StatusCode::OK);

    // The API's description says which operations may answer so.
    let document: serde_json::Value = get("198.51.100.9", "/api/openapi.json", None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let responses = |path: &str, method: &str| document["paths"][path][method]["responses"].clone();
    assert!(responses("/api/dashboard/metrics", "get")["429"].is_object());
    assert!(responses("/api/dashboard/health", "get")["429"].is_null());
}
