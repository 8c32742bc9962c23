//! The admin API on SQLite and PostgreSQL: live calls with health, the DLQ and its actions,
//! system health, tenants; and the OpenAPI document covering every API route.

use reqwest::StatusCode;
use serde_json::{Value, json};
use server::live::bus::BusEvent;
use time::{Duration, OffsetDateTime, format_description::well_known::Rfc3339};

use crate::{
    databases::each_backend,
    helpers::{TestApp, spawn_app, spawn_app_with},
};

fn at(offset: Duration) -> String {
    (OffsetDateTime::now_utc() + offset)
        .format(&Rfc3339)
        .unwrap()
}

async fn post_as_admin(app: &TestApp, path: &str) -> (StatusCode, Value) {
    let response = app
        .client
        .post(app.url(path))
        .bearer_auth(app.token(None))
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

async fn delete_as_admin(app: &TestApp, path: &str) -> (StatusCode, Value) {
    let response = app
        .client
        .delete(app.url(path))
        .bearer_auth(app.token(None))
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

#[tokio::test]
async fn live_calls_health_and_tenants_on_both_backends() {
    for db in each_backend().await {
        let url = db.url().to_owned();
        let app = spawn_app_with(|config| config.database_url = url).await;
        app.state
            .storage
            .set_tenant_name("acme", "Acme Dental")
            .await
            .unwrap();
        // fresh: heartbeat now; quiet: last heard 90 s ago (warning); silent: 5 min (stale).
        let events = json!([
            {"type": "call_started", "user_id": "acme", "call_id": "fresh", "at": at(Duration::minutes(-3)),
             "call": {"phoneNumber": "+12025550100", "agentConfigId": "agent-a"}},
            {"type": "heartbeat", "user_id": "acme", "call_id": "fresh", "at": at(Duration::ZERO)},
            {"type": "call_started", "user_id": "globex", "call_id": "quiet", "at": at(Duration::minutes(-4))},
            {"type": "heartbeat", "user_id": "globex", "call_id": "quiet", "at": at(Duration::seconds(-90))},
            {"type": "call_started", "user_id": "globex", "call_id": "silent", "at": at(Duration::minutes(-5))},
        ]);
        assert_eq!(app.ingest(&events).await.status(), StatusCode::OK);

        let body = app.admin_json("/api/admin/active-calls").await;
        assert_eq!(
            (&body["count"], &body["warning_count"], &body["stale_count"]),
            (&json!(3), &json!(1), &json!(1))
        );
        let calls = body["active_calls"].as_array().unwrap();
        let by_id = |id: &str| calls.iter().find(|call| call["id"] == id).unwrap().clone();
        let fresh = by_id("fresh");
        assert_eq!(fresh["business_name"], "Acme Dental");
        assert_eq!(fresh["health"], "healthy");
        assert_eq!(fresh["phoneNumber"], "+12025550100");
        assert!(fresh["heartbeat_age_seconds"].as_i64().unwrap() < 60);
        assert!(fresh["last_heartbeat_at"].is_string());
        let quiet = by_id("quiet");
        assert_eq!(
            (&quiet["health"], &quiet["business_name"]),
            (&json!("warning"), &json!("globex"))
        );
        let silent = by_id("silent");
        assert_eq!(silent["health"], "stale");
        assert_eq!(silent["last_heartbeat_at"], Value::Null);
        assert!(silent["heartbeat_age_seconds"].as_i64().unwrap() >= 300);
        let scoped = app.admin_json("/api/admin/active-calls?user_id=acme").await;
        assert_eq!(scoped["count"], 1);

        // A stale call degrades the system; the database and live state are fine.
        let health = app.admin_json("/api/admin/health").await;
        assert_eq!(health["status"], "degraded", "{health}");
        assert_eq!(health["database"]["status"], "healthy");
        assert_eq!(
            health["database"]["kind"],
            db.url()
                .split(':')
                .next()
                .unwrap()
                .replace("postgresql", "postgres")
        );
        assert_eq!(health["live_state"]["kind"], "embedded");
        assert_eq!(
            (&health["stale_calls"], &health["active_calls"]),
            (&json!(1), &json!(3))
        );
        assert_eq!(health["dlq_depth"], 0);
        assert_eq!(health["last_reconciliation"], Value::Null);
        assert!(
            health["reasons"][0].as_str().unwrap().contains("stale"),
            "{health}"
        );

        let tenants = app.admin_json("/api/admin/tenants").await;
        assert_eq!(
            tenants["tenants"],
            json!([{"id": "acme", "name": "Acme Dental"}, {"id": "globex", "name": "globex"}])
        );
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn a_quiet_system_is_healthy() {
    let app = spawn_app().await;
    let health = app.admin_json("/api/admin/health").await;
    assert_eq!(health["status"], "healthy", "{health}");
    assert_eq!(health["reasons"], json!([]));
}

#[tokio::test]
async fn the_dlq_can_be_listed_retried_and_discarded() {
    for db in each_backend().await {
        let url = db.url().to_owned();
        let app = spawn_app_with(|config| config.database_url = url).await;
        app.state.ingestor.injector().set_percent(100);
        for id in ["lost-1", "lost-2"] {
            let event = json!({"type": "call_started", "user_id": "acme", "call_id": id, "at": at(Duration::ZERO)});
            assert_eq!(app.ingest(&event).await.status(), StatusCode::ACCEPTED);
        }
        app.state.ingestor.injector().set_percent(0);

        let body = app.admin_json("/api/admin/dlq").await;
        assert_eq!(
            (&body["depth"], &body["final_failures"]),
            (&json!(2), &json!(0))
        );
        let first = &body["messages"][0];
        assert_eq!(
            (&first["call_id"], &first["event_type"]),
            (&json!("lost-1"), &json!("call_started"))
        );
        assert_eq!(
            (&first["attempts"], &first["max_attempts"]),
            (&json!(0), &json!(3))
        );
        assert!(first["next_retry_at"].is_string());
        assert!(
            first["error"].as_str().unwrap().contains("inject"),
            "{first}"
        );
        let first_id = first["id"].as_i64().unwrap();
        let second_id = body["messages"][1]["id"].as_i64().unwrap();

        // Discard one: gone, and a second discard finds nothing.
        let mut bus = app.state.bus.subscribe();
        let (status, body) = delete_as_admin(&app, &format!("/api/admin/dlq/{first_id}")).await;
        assert_eq!(
            (status, &body["affected"], &body["depth"]),
            (StatusCode::OK, &json!(1), &json!(1))
        );
        // The action is audited (and that entry pushed to admins) as well.
        let changed = loop {
            match bus.recv().await.unwrap() {
                BusEvent::Audited(entry) => assert_eq!(entry.action, "dlq.discard"),
                other => break other,
            }
        };
        assert_eq!(changed, BusEvent::DlqChanged { depth: 1 });
        let (status, body) = delete_as_admin(&app, &format!("/api/admin/dlq/{first_id}")).await;
        assert_eq!(
            (status, &body["code"]),
            (StatusCode::NOT_FOUND, &json!("not_found"))
        );
        let (status, body) = delete_as_admin(&app, "/api/admin/dlq/not-a-number").await;
        assert_eq!(
            (status, &body["field"]),
            (StatusCode::BAD_REQUEST, &json!("id"))
        );

        // Retry the other now: the retrier writes it and the queue empties.
        let (status, body) =
            post_as_admin(&app, &format!("/api/admin/dlq/{second_id}/retry")).await;
        assert_eq!((status, &body["affected"]), (StatusCode::OK, &json!(1)));
        loop {
            match bus.recv().await.unwrap() {
                BusEvent::Call { call, .. } if call.id == "lost-2" => break,
                _ => continue,
            }
        }
        assert!(app.state.storage.call("lost-2").await.unwrap().is_some());
        assert!(
            app.state.storage.call("lost-1").await.unwrap().is_none(),
            "discarded, never written"
        );
        // A final failure (out of retries) is counted and degrades the system.
        let (status, _) = post_as_admin(&app, "/api/admin/dlq/retry").await;
        assert_eq!(status, StatusCode::OK);
        app.state.ingestor.injector().set_percent(100);
        let event = json!({"type": "call_started", "user_id": "acme", "call_id": "doomed", "at": at(Duration::ZERO)});
        assert_eq!(app.ingest(&event).await.status(), StatusCode::ACCEPTED);
        app.state.ingestor.injector().set_percent(0);
        let doomed = app.admin_json("/api/admin/dlq").await["messages"][0]["id"]
            .as_i64()
            .unwrap();
        app.state
            .dlq
            .mark_final(doomed, "cannot be written")
            .await
            .unwrap();
        let body = app.admin_json("/api/admin/dlq").await;
        assert_eq!(
            (&body["depth"], &body["final_failures"]),
            (&json!(1), &json!(1))
        );
        assert_eq!(body["messages"][0]["final_failure"], true);
        let health = app.admin_json("/api/admin/health").await;
        assert_eq!(
            (&health["status"], &health["dlq_final_failures"]),
            (&json!("degraded"), &json!(1))
        );

        let (status, body) = post_as_admin(&app, "/api/admin/dlq/retry").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["success"], true);
        let (status, _) = post_as_admin(&app, "/api/admin/dlq/999999/retry").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn every_bound_the_openapi_document_declares_is_the_one_enforced() {
    let app = spawn_app_with(|config| {
        config.internal_api_key = Some(server::runtime::config::TEST_INTERNAL_KEY.to_owned());
    })
    .await;
    let admin = app.token(None);
    let document: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    let mut checked = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        let Some(get) = item.get("get") else {
            continue;
        };
        for parameter in get["parameters"].as_array().into_iter().flatten() {
            let schema = &parameter["schema"];
            let (Some(min), Some(max)) = (schema["minimum"].as_i64(), schema["maximum"].as_i64())
            else {
                continue;
            };
            let name = parameter["name"].as_str().unwrap();
            // Both ends are accepted; one past either end is a 400 naming the parameter.
            for (value, accepted) in [(min, true), (max, true), (min - 1, false), (max + 1, false)]
            {
                let url = format!("{}?{name}={value}", path.replace("{id}", "1"));
                let response = app
                    .client
                    .get(app.url(&url))
                    .bearer_auth(&admin)
                    .header(
                        "x-internal-api-key",
                        server::runtime::config::TEST_INTERNAL_KEY,
                    )
                    .send()
                    .await
                    .unwrap();
                let status = response.status();
                if accepted {
                    assert_eq!(status, StatusCode::OK, "{url}");
                } else {
                    assert_eq!(status, StatusCode::BAD_REQUEST, "{url}");
                    let body: Value = response.json().await.unwrap();
                    assert!(
                        body["error"].as_str().unwrap().contains(name),
                        "{url}: {body}"
                    );
                }
            }
            checked.push(format!("{path} {name}"));
        }
    }
    for expected in [
        "/api/dashboard/metrics hours",
        "/api/dashboard/recent-calls limit",
        "/api/admin/dlq limit",
        "/api/admin/reconciliation limit",
        "/api/admin/audit limit",
    ] {
        assert!(
            checked.iter().any(|c| c == expected),
            "{expected} not bounded: {checked:?}"
        );
    }
}

#[tokio::test]
async fn every_api_route_is_in_the_openapi_document() {
    // With the internal key set, seed 002's internal paths exist too (without it they are 404).
    let app = spawn_app_with(|config| {
        config.internal_api_key = Some(server::runtime::config::TEST_INTERNAL_KEY.to_owned());
    })
    .await;
    let response = app.get("/api/openapi.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    let document: Value = response.json().await.unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    let paths = document["paths"].as_object().unwrap();
    let documented: Vec<(String, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|key| matches!(key.as_str(), "get" | "post" | "put" | "patch" | "delete"))
                .map(move |method| (method.clone(), path.clone()))
        })
        .collect();

    // Everything the issues and the seeds ask for is there…
    for (method, path) in [
        ("get", "/api/dashboard/health"),
        ("get", "/api/dashboard/metrics"),
        ("get", "/api/dashboard/active-calls"),
        ("get", "/api/dashboard/recent-calls"),
        ("get", "/api/dashboard/agent-performance"),
        ("get", "/api/dashboard/calls-per-hour"),
        ("get", "/api/dashboard/calls.csv"),
        ("post", "/api/v1/calls/events"),
        ("post", "/api/auth/token"),
        ("get", "/api/auth/me"),
        ("post", "/api/auth/password"),
        ("get", "/api/users"),
        ("put", "/api/users/{email}/role"),
        ("post", "/api/users/{email}/sign-out"),
        ("delete", "/api/users/{email}"),
        ("get", "/api/admin/active-calls"),
        ("get", "/api/admin/dlq"),
        ("post", "/api/admin/dlq/retry"),
        ("post", "/api/admin/dlq/{id}/retry"),
        ("delete", "/api/admin/dlq/{id}"),
        ("get", "/api/admin/health"),
        ("get", "/api/admin/tenants"),
        ("get", "/api/admin/reconciliation"),
        ("get", "/api/admin/reconciliation/{id}"),
        ("post", "/api/admin/reconciliation/trigger"),
        ("get", "/api/admin/audit"),
        ("post", "/api/v1/internal/admin/reconciliation/trigger"),
        ("get", "/api/v1/internal/admin/reconciliation/status"),
        ("get", "/api/openapi.json"),
    ] {
        assert!(
            documented.contains(&(method.to_owned(), path.to_owned())),
            "{method} {path} is not documented"
        );
    }
    // …and every documented operation is a real route: never our "no API route" 404 or a 405.
    let admin = app.token(None);
    for (method, path) in &documented {
        let url = app.url(
            &path
                .replace("{id}", "1")
                .replace("{email}", "nobody@x.test"),
        );
        let request = match method.as_str() {
            "get" => app.client.get(url),
            "post" => app.client.post(url),
            "put" => app.client.put(url),
            "delete" => app.client.delete(url),
            other => panic!("unexpected method {other}"),
        };
        let response = request.bearer_auth(&admin).send().await.unwrap();
        let status = response.status();
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        if status == StatusCode::NOT_FOUND {
            let body: Value = response.json().await.unwrap();
            assert!(
                !body["error"].as_str().unwrap().starts_with("no API route"),
                "{method} {path}: {body}"
            );
        }
    }
    // The only `/api` routes registered outside the documented set are the JSON fallbacks; a
    // plain `.route("/api…", handler)` would be a route missing from the document.
    let router_source = include_str!("../../src/http/mod.rs");
    let undocumented: Vec<&str> = router_source
        .lines()
        .filter(|line| line.contains(".route(\"/api"))
        .filter(|line| !line.contains("error::api_not_found"))
        .collect();
    assert!(
        undocumented.is_empty(),
        "routes outside the OpenAPI router: {undocumented:?}"
    );
}

#[tokio::test]
async fn wrong_methods_and_unknown_routes_answer_json() {
    let app = spawn_app().await;
    let response = app
        .client
        .delete(app.url("/api/dashboard/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (&body["success"], &body["code"]),
        (&json!(false), &json!("method_not_allowed"))
    );
    for path in ["/api/admin/nope", "/api/dashboard/metrics/extra"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "not_found");
    }
}
