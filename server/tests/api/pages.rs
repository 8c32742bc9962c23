//! Pages, redirects, health and error bodies.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{header, spawn_app};

#[tokio::test]
async fn health_answers_in_the_seed_shape() {
    let app = spawn_app().await;
    let response = app.get("/api/dashboard/health").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "content-type"), "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"status": "healthy", "websocket_enabled": true})
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
    // The hydration script asks for the bundle under the names Trunk gives it.
    assert!(html.contains("/pkg/frontend.js"), "{html}");
    assert!(html.contains("/pkg/frontend_bg.wasm"), "{html}");
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
