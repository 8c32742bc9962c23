//! Pages, redirects, health and error bodies.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    databases::TestDatabase,
    helpers::{TestApp, header, spawn_app, spawn_app_with},
};

#[tokio::test]
async fn health_answers_in_the_seed_shape() {
    let app = spawn_app().await;
    let response = app.get("/api/dashboard/health").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "content-type"), "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"status": "healthy", "websocket_enabled": true, "database": "healthy"})
    );
}

async fn json_of(response: reqwest::Response) -> (StatusCode, Value) {
    assert_eq!(header(&response, "content-type"), "application/json");
    (response.status(), response.json().await.unwrap())
}

#[tokio::test]
async fn health_and_readiness_tell_when_the_database_is_gone() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let url = db.url().to_owned();
    let app = spawn_app_with(|config| config.database_url = url).await;
    assert_eq!(
        json_of(app.get("/api/dashboard/health/ready").await).await,
        (
            StatusCode::OK,
            json!({"ready": true, "database": "healthy", "live_state": "healthy", "draining": false})
        )
    );

    db.drop_now().await;
    assert_eq!(
        json_of(app.get("/api/dashboard/health").await).await,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"status": "down", "websocket_enabled": true, "database": "down"})
        )
    );
    assert_eq!(
        json_of(app.get("/api/dashboard/health/ready").await).await,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"ready": false, "database": "down", "live_state": "healthy", "draining": false})
        )
    );
}

#[tokio::test]
async fn a_server_shutting_down_is_not_ready() {
    let app = spawn_app().await;
    // What a graceful shutdown does first: the server finishes what it has, takes nothing new.
    app.state.shutdown.cancel();
    assert_eq!(
        json_of(app.get("/api/dashboard/health/ready").await).await,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"ready": false, "database": "healthy", "live_state": "healthy", "draining": true})
        )
    );
}

#[tokio::test]
async fn root_redirects_to_the_dashboard() {
    let app = spawn_app().await;
    let response = app.get("/").await;
    assert_eq!(response.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(header(&response, "location"), "/dashboard/realtime");
}

#[tokio::test]
async fn dashboard_is_server_rendered_with_the_page_frame() {
    let app = spawn_app().await;
    let response = app.get_signed_in("/dashboard/realtime", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(header(&response, "content-type").starts_with("text/html"));
    assert_eq!(header(&response, "cache-control"), "no-cache");
    let html = response.text().await.unwrap();
    assert!(
        html.contains("<title>Realtime calls · Switchboard</title>"),
        "{html}"
    );
    assert!(html.contains(r#"data-testid="connection-badge""#));
    assert!(html.contains(r#"data-state="connecting""#));
    for metric in [
        "total",
        "active",
        "completed",
        "average-duration",
        "success-rate",
    ] {
        assert!(
            html.contains(&format!(r#"data-metric="{metric}""#)),
            "metric card {metric}"
        );
    }
    for panel in [
        "active-calls",
        "calls-per-hour",
        "outcomes",
        "agents",
        "recent-calls",
    ] {
        assert!(
            html.contains(&format!(r#"data-panel="{panel}""#)),
            "panel {panel}"
        );
    }
    assert!(
        html.contains(r#"aria-current="page""#),
        "a period is selected"
    );
    // The hydration script asks for the (admins') bundle under the names Trunk gives it.
    assert!(html.contains("/pkg/frontend-admin.js"), "{html}");
    assert!(html.contains("/pkg/frontend-admin_bg.wasm"), "{html}");
    assert!(html.contains("/pkg/switchboard.css"));
}

#[tokio::test]
async fn unknown_pages_get_the_404_page() {
    let app = spawn_app().await;
    for path in [
        "/nope",
        "/dashboard",
        "/dashboard/realtime/extra",
        "/index.html",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        let html = response.text().await.unwrap();
        assert!(html.contains("Page not found"), "{path}: {html}");
        assert!(
            !html.contains("trunk manifest"),
            "{path} leaked Trunk's manifest page"
        );
    }
}

#[tokio::test]
async fn unknown_api_routes_get_a_json_404() {
    let app = spawn_app().await;
    for path in ["/api/nope", "/api/dashboard/unknown", "/api/", "/api"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            header(&response, "content-type"),
            "application/json",
            "{path}"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["success"], json!(false), "{path}");
        assert_eq!(body["code"], json!("not_found"), "{path}");
        assert!(
            body["error"].as_str().unwrap().contains(path),
            "{path}: {body}"
        );
    }
}

#[tokio::test]
async fn wrong_methods_are_refused_not_crashed() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/api/dashboard/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}

/// A request whose handler is reading a body announced at 1,000 bytes, of which 10 ever come.
async fn stuck_request(app: &TestApp) -> tokio::net::TcpStream {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stuck = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/calls/events HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n",
        app.addr,
        server::runtime::config::TEST_INGEST_KEY
    );
    stuck.write_all(head.as_bytes()).await.unwrap();
    // "100 Continue" comes when the handler starts reading the body: it is now in flight.
    let mut answer = Vec::new();
    while !String::from_utf8_lossy(&answer).contains("100 Continue") {
        let mut buffer = [0; 256];
        let read = stuck.read(&mut buffer).await.unwrap();
        assert!(read > 0, "closed before 100 Continue");
        answer.extend_from_slice(&buffer[..read]);
    }
    stuck.write_all(b"[{\"type\":").await.unwrap();
    stuck
}

#[tokio::test]
async fn a_request_that_never_completes_does_not_hold_shutdown_past_the_deadline() {
    // (A request timeout longer than the shutdown deadline, so the deadline is what is tested.)
    let app = spawn_app_with(|config| {
        config.request_timeout = server::runtime::startup::SHUTDOWN_DEADLINE * 10;
    })
    .await;
    let stuck = stuck_request(&app).await;
    // Bounded only so that a regression fails instead of hanging the run; the deadline is 10 s.
    let stopped =
        tokio::time::timeout(server::runtime::startup::SHUTDOWN_DEADLINE * 6, app.stop()).await;
    assert!(
        matches!(stopped, Ok(Ok(()))),
        "the server waited on the stuck request: {stopped:?}"
    );
    drop(stuck);
}

#[tokio::test]
async fn a_request_that_never_completes_is_answered_when_its_time_is_up() {
    use tokio::io::AsyncReadExt;
    let app =
        spawn_app_with(|config| config.request_timeout = std::time::Duration::from_secs(1)).await;
    let mut stuck = stuck_request(&app).await;
    let mut answer = String::new();
    stuck.read_to_string(&mut answer).await.unwrap();
    let status_line = answer
        .lines()
        .find(|line| line.starts_with("HTTP/1.1 5"))
        .unwrap_or_else(|| panic!("no answer: {answer:?}"));
    assert_eq!(status_line, "HTTP/1.1 503 Service Unavailable");
    assert!(answer.contains("\"code\":\"unavailable\""), "{answer}");
    assert!(answer.contains("no answer within 1 s"), "{answer}");
    // The server goes on answering everyone else.
    assert_eq!(
        app.get("/api/dashboard/health").await.status(),
        StatusCode::OK
    );
}

/// The nonce a page's Content Security Policy allows scripts by.
fn nonce_of(policy: &str) -> String {
    policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap_or_else(|| panic!("no nonce in {policy:?}"))
        .to_owned()
}

#[tokio::test]
async fn a_page_runs_only_its_own_scripts_and_nothing_can_be_framed() {
    let app = spawn_app().await;
    let response = app.get("/login").await;
    let policy = header(&response, "content-security-policy").to_owned();
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(policy.contains("object-src 'none'"), "{policy}");
    let nonce = nonce_of(&policy);
    assert!(nonce.len() >= 16, "{nonce}");
    let html = response.text().await.unwrap();
    let scripts = html.matches("<script").count();
    assert!(
        scripts >= 2,
        "the bundle loader and the page's data: {html}"
    );
    assert_eq!(
        html.matches(&format!("<script type=\"module\" nonce=\"{nonce}\""))
            .count()
            + html.matches(&format!("<script nonce=\"{nonce}\"")).count(),
        scripts,
        "every inline script carries this render's nonce: {html}"
    );
    let again = app.get("/login").await;
    assert_ne!(
        nonce_of(header(&again, "content-security-policy")),
        nonce,
        "a nonce is never reused"
    );

    // What is not a page allows nothing; nothing is framed, sniffed or leaks its address.
    for path in ["/api/dashboard/health", "/pkg/frontend.js", "/api/nowhere"] {
        let response = app.get(path).await;
        for (name, value) in [
            (
                "content-security-policy",
                "default-src 'none'; frame-ancestors 'none'",
            ),
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            ("referrer-policy", "same-origin"),
        ] {
            assert_eq!(header(&response, name), value, "{path}: {name}");
        }
    }
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_cut_off_at_the_header_deadline() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app_with(|config| {
        config.header_read_timeout = std::time::Duration::from_secs(1);
    })
    .await;
    // Slowloris: a byte every 100 ms, never the blank line that ends the headers. Activity does
    // not extend the deadline.
    let stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let trickle = tokio::spawn(async move {
        writer
            .write_all(b"GET /api/dashboard/health HTTP/1.1\r\n")
            .await?;
        loop {
            writer.write_all(b"X").await?;
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        #[allow(unreachable_code)]
        Ok::<(), std::io::Error>(())
    });
    let mut answer = Vec::new();
    // Bounded only so that a regression fails instead of hanging the run.
    let closed = tokio::time::timeout(
        crate::live_clients::PATIENCE,
        reader.read_to_end(&mut answer),
    )
    .await;
    assert!(
        matches!(closed, Ok(Ok(_))),
        "the connection was held open: {closed:?}"
    );
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    trickle.abort();
    // A client that sends its headers at once is served as ever.
    assert_eq!(
        app.get("/api/dashboard/health").await.status(),
        StatusCode::OK
    );
}
