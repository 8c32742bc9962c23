//! A call's page and its data (issue 25): the REST twin, the server function and the
//! server-rendered page answer from the same code, and another tenant's call is the same 404 as
//! a missing one on every door.

use reqwest::StatusCode;
use serde_json::{Value, json};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use crate::helpers::{TestApp, header, spawn_app, spawn_app_with};

fn ago(seconds: i64) -> String {
    (OffsetDateTime::now_utc() - time::Duration::seconds(seconds))
        .format(&Rfc3339)
        .unwrap()
}

/// A finished acme call with a conversation, and a globex call.
async fn two_tenants_calls(app: &TestApp) {
    let turn = |seconds: i64, role: &str, text: &str, latency: Option<i64>| {
        json!({"type": "turn", "user_id": "acme", "call_id": "acme-call", "at": ago(seconds),
               "turn": {"role": role, "text": text, "latency_ms": latency}})
    };
    let events = json!([
        {"type": "call_started", "user_id": "acme", "call_id": "acme-call", "at": ago(120),
         "call": {"phoneNumber": "+15551234567", "direction": "inbound", "agentConfigId": "front-desk",
                  "recordingUrl": "https://recordings.example.com/acme-call.mp3",
                  "call_metadata": {"campaign": "spring", "crm": {"lead": 42}}}},
        turn(110, "agent", "Hello, Acme Dental!", Some(400)),
        turn(105, "caller", "I'd like to book a cleaning.", None),
        turn(100, "agent", "Tuesday at 10?", Some(1200)),
        {"type": "heartbeat", "user_id": "acme", "call_id": "acme-call", "at": ago(90)},
        {"type": "call_ended", "user_id": "acme", "call_id": "acme-call", "at": ago(60),
         "outcome": "completed", "end_reason": "caller_hung_up",
         "cost": {"amount": 0.07, "currency": "USD"}},
        {"type": "call_started", "user_id": "globex", "call_id": "globex-call", "at": ago(30)},
    ]);
    let response = app.ingest(&events).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_call_reads_the_same_through_every_door() {
    let app = spawn_app_with(|config| {
        config.recording_origins = vec!["https://recordings.example.com".to_owned()];
    })
    .await;
    two_tenants_calls(&app).await;
    let acme = app.token(Some("acme"));
    let response = app.get_as("/api/dashboard/calls/acme-call", &acme).await;
    assert_eq!(response.status(), StatusCode::OK);
    let rest: Value = response.json().await.unwrap();
    assert_eq!(rest["call"]["phoneNumber"], "+15551234567");
    assert_eq!(rest["call"]["call_metadata"]["crm"]["lead"], 42);
    assert_eq!(rest["end_reason"], "caller_hung_up");
    assert_eq!(rest["cost"], json!({"amount": 0.07, "currency": "USD"}));
    assert_eq!(rest["heartbeats"]["count"], 1);
    let kinds: Vec<&str> = rest["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["call_started", "call_ended"]);
    assert_eq!(rest["events"][0]["source"], "http");
    let said: Vec<&str> = rest["turns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|turn| turn["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        said,
        [
            "Hello, Acme Dental!",
            "I'd like to book a cleaning.",
            "Tuesday at 10?"
        ]
    );
    // Two agent answers, 400 and 1,200 ms: nearest-rank p50 is the first, p95 the second.
    assert_eq!(
        rest["response_latency"],
        json!({"samples": 2, "p50_ms": 400, "p95_ms": 1200})
    );

    let by_rpc = app
        .get_signed_in("/rpc/call_detail?id=acme-call", Some("acme"))
        .await;
    assert_eq!(by_rpc.status(), StatusCode::OK);
    let by_rpc: Value = by_rpc.json().await.unwrap();
    assert_eq!(by_rpc, rest);

    // The page, server-rendered: what was said, how it ended, the recording, the download.
    let page = app
        .get_signed_in("/dashboard/calls/acme-call", Some("acme"))
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    // The recording plays from the configured origin, and from no other.
    let policy = header(&page, "content-security-policy").to_owned();
    assert!(
        policy.contains("media-src 'self' https://recordings.example.com;"),
        "{policy}"
    );
    let html = page.text().await.unwrap();
    // A call's page loads its own bundle, not the dashboard's.
    assert!(html.contains("/pkg/frontend-call_bg.wasm"), "{html}");
    assert!(!html.contains("/pkg/frontend_bg.wasm"), "{html}");
    for expected in [
        "+15551234567",
        "like to book a cleaning.",
        "caller hung up",
        "answered in 1200 ms",
        "p50 ",
        "https://recordings.example.com/acme-call.mp3",
        "/api/dashboard/calls/acme-call",
        "lead",
    ] {
        assert!(html.contains(expected), "the page lacks {expected:?}");
    }
}

#[tokio::test]
async fn another_tenants_call_is_the_same_404_as_a_missing_one() {
    let app = spawn_app().await;
    two_tenants_calls(&app).await;
    let acme = app.token(Some("acme"));
    for path in [
        "/api/dashboard/calls/globex-call",
        "/api/dashboard/calls/no-such-call",
        "/api/dashboard/calls/x%20y",
        &format!("/api/dashboard/calls/{}", "x".repeat(300)),
    ] {
        let response = app.get_as(path, &acme).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "not_found", "{path}");
    }
    let by_rpc = app
        .get_signed_in("/rpc/call_detail?id=globex-call", Some("acme"))
        .await;
    assert_eq!(by_rpc.status(), StatusCode::NOT_FOUND);
    let page = app
        .get_signed_in("/dashboard/calls/globex-call", Some("acme"))
        .await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    let html = page.text().await.unwrap();
    assert!(html.contains("No such call"));
    assert!(
        !html.contains("globex-call\","),
        "no data of the call leaks"
    );

    // The platform's roles read every tenant's calls; nobody reads without signing in.
    let admin = app.token(None);
    let response = app.get_as("/api/dashboard/calls/globex-call", &admin).await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = app.get("/api/dashboard/calls/acme-call").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // An anonymous visitor of the page is sent to sign in, and back afterwards.
    let response = app.get("/dashboard/calls/acme-call").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        header(&response, "location"),
        "/login?next=%2Fdashboard%2Fcalls%2Facme-call"
    );
}

#[tokio::test]
async fn recent_calls_link_to_their_pages() {
    let app = spawn_app().await;
    two_tenants_calls(&app).await;
    let page = app.get_signed_in("/dashboard/realtime", Some("acme")).await;
    let html = page.text().await.unwrap();
    assert!(html.contains("href=\"/dashboard/calls/acme-call\""));
}
