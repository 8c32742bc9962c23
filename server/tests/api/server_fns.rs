//! The page's server functions (`/rpc/…`) are a second door to the REST API's code: the same
//! figures, the same tenant scoping, the same JSON errors and statuses. And the page they feed
//! carries the signed-in tenant's data — only its own — in its first HTML.

use reqwest::StatusCode;
use serde_json::Value;

use crate::{
    dashboard::load_fixture,
    helpers::{TestApp, spawn_app},
};

async fn json_ok(response: reqwest::Response) -> Value {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// A call list's ids, in order.
fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|call| call["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn server_functions_answer_exactly_as_the_rest_api() {
    let app = spawn_app().await;
    load_fixture(&app).await;
    // Server-function arguments are `...]` (serde_qs); REST takes the bare names.
    for (rpc, rest) in [
        ("/rpc/metrics?hours=24", "/api/dashboard/metrics?hours=24"),
        ("/rpc/metrics?hours=168", "/api/dashboard/metrics?hours=168"),
        (
            "/rpc/agent_performance?hours=6",
            "/api/dashboard/agent-performance?hours=6",
        ),
        (
            "/rpc/calls_per_hour?hours=24",
            "/api/dashboard/calls-per-hour?hours=24",
        ),
        (
            "/rpc/recent_calls?status=ended&limit=3",
            "/api/dashboard/recent-calls?status=ended&limit=3",
        ),
    ] {
        let by_rpc = json_ok(app.get_signed_in(rpc, Some("acme")).await).await;
        let by_rest = json_ok(app.get_signed_in(rest, Some("acme")).await).await;
        assert_eq!(by_rpc, by_rest, "{rpc} vs {rest}");
        assert_eq!(by_rpc["user_id"], "acme", "{rpc}");
    }
    // Active calls carry their duration so far, which moves between two requests: compare
    // the calls.
    let by_rpc = json_ok(app.get_signed_in("/rpc/active_calls", Some("acme")).await).await;
    let by_rest = json_ok(
        app.get_signed_in("/api/dashboard/active-calls", Some("acme"))
            .await,
    )
    .await;
    assert_eq!(ids(&by_rpc["active_calls"]), ids(&by_rest["active_calls"]));
    assert_eq!(ids(&by_rpc["active_calls"]), ["c5"]);
    // An admin with no tenant named reads every tenant, by either door.
    let all = json_ok(app.get_signed_in("/rpc/active_calls", None).await).await;
    assert_eq!(ids(&all["active_calls"]), ["c5", "g2"]);
}

#[tokio::test]
async fn server_functions_refuse_as_the_rest_api_does() {
    let app = spawn_app().await;
    // No session at all.
    let response = app.get("/rpc/metrics").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (body["success"].clone(), body["code"].clone()),
        (false.into(), "unauthorized".into())
    );

    for (path, status, code, field) in [
        // A tenant naming another tenant.
        (
            "/rpc/metrics?user_id=globex",
            StatusCode::FORBIDDEN,
            "forbidden",
            None,
        ),
        (
            "/rpc/recent_calls?user_id=globex",
            StatusCode::FORBIDDEN,
            "forbidden",
            None,
        ),
        (
            "/rpc/active_calls?user_id=globex",
            StatusCode::FORBIDDEN,
            "forbidden",
            None,
        ),
        // Bounds and filters, named as the API names them.
        (
            "/rpc/metrics?hours=0",
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            Some("hours"),
        ),
        (
            "/rpc/recent_calls?limit=101",
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            Some("limit"),
        ),
        (
            "/rpc/recent_calls?phone=call-me",
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            Some("phone"),
        ),
        (
            "/rpc/recent_calls?cursor=nope",
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            Some("cursor"),
        ),
        // No such server function: a JSON 404, never the HTML page.
        ("/rpc/drop_tables", StatusCode::NOT_FOUND, "not_found", None),
    ] {
        let response = app.get_signed_in(path, Some("acme")).await;
        assert_eq!(response.status(), status, "{path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{path}"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["success"], false, "{path}: {body}");
        assert_eq!(body["code"], code, "{path}: {body}");
        if let Some(field) = field {
            assert_eq!(body["field"], field, "{path}: {body}");
        }
    }
    // Blank filters, as a plain form sends them, are no filters.
    let blank = "/rpc/recent_calls?status=&outcome=&phone=&from=";
    json_ok(app.get_signed_in(blank, Some("acme")).await).await;
}

#[tokio::test]
async fn the_page_carries_the_tenants_own_data_in_its_first_html() {
    let app = spawn_app().await;
    load_fixture(&app).await;
    let response = app.get_signed_in("/dashboard/realtime", Some("acme")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    // The 24 h cards (worked out in dashboard.rs): 6 calls, 1 active, 2 completed, 40 %.
    for (metric, value) in [
        ("total", "6"),
        ("active", "1"),
        ("completed", "2"),
        ("success-rate", "40 %"),
    ] {
        let card = format!(r#"data-metric="{metric}""#);
        let at = html
            .find(&card)
            .unwrap_or_else(|| panic!("no {metric} card"));
        let value_at = html[at..].find("metric-card__value").unwrap() + at;
        assert!(
            html[value_at..value_at + 60].contains(&format!(">{value}<")),
            "{metric}: {}",
            &html[value_at..value_at + 60]
        );
    }
    // acme's active call and its recent calls are there; globex's never.
    assert!(html.contains(r#"data-call-id="c5""#), "active call c5");
    for id in ["c1", "c2", "c3", "c4", "c7"] {
        assert!(
            html.contains(&format!(r#"data-call-id="{id}""#)),
            "recent call {id}"
        );
    }
    for id in ["g1", "g2"] {
        assert!(
            !html.contains(&format!(r#"data-call-id="{id}""#)),
            "globex's {id} leaked"
        );
    }
    assert!(!html.contains("globex"), "globex named on acme's page");
    // The chart and the agent table are in the HTML too, as the page's own markup.
    assert!(
        html.contains(r#"data-testid="calls-per-hour" data-total="6""#),
        "chart total"
    );
    assert!(html.contains(r#"data-agent="agent-a""#), "agent table");

    // Filters from the address, blanks included, as the GET form sends them.
    let filtered = app.get_signed_in(
        "/dashboard/realtime?period=24h&status=ended&outcome=no_answer&direction=&phone=&from=&to=",
        Some("acme"),
    )
    .await;
    assert_eq!(filtered.status(), StatusCode::OK);
    let html = filtered.text().await.unwrap();
    let recent_at = html
        .find(r#"data-testid="recent-calls""#)
        .expect("recent calls table");
    let recent = &html[recent_at..];
    assert!(recent.contains(r#"data-call-id="c3""#));
    for id in ["c1", "c2", "c4", "c5", "c7"] {
        assert!(
            !recent.contains(&format!(r#"data-call-id="{id}""#)),
            "{id} passed the filter"
        );
    }
    // The form shows the filter it applied.
    assert!(
        html.contains(r#"<option value="no_answer" selected"#),
        "selected outcome"
    );
}

#[tokio::test]
async fn the_admin_boards_server_functions_answer_as_the_admin_api_and_refuse_tenants() {
    let app = spawn_app().await;
    load_fixture(&app).await;
    // An admin gets what the admin API gives (the health check's own time and latencies
    // aside: each request measures them again).
    let by_rpc = json_ok(app.get_signed_in("/rpc/tenants", None).await).await;
    let by_rest = json_ok(app.get_signed_in("/api/admin/tenants", None).await).await;
    assert_eq!(by_rpc, by_rest);
    let tenants: Vec<&str> = by_rpc["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tenant| tenant["id"].as_str().unwrap())
        .collect();
    assert_eq!(tenants, ["acme", "globex"]);
    let without_timings = |mut health: Value| {
        health["checked_at"] = Value::Null;
        for part in ["database", "live_state"] {
            health[part]["latency_ms"] = Value::Null;
        }
        health
    };
    let by_rpc = json_ok(app.get_signed_in("/rpc/health", None).await).await;
    let by_rest = json_ok(app.get_signed_in("/api/admin/health", None).await).await;
    assert_eq!(without_timings(by_rpc.clone()), without_timings(by_rest));
    // The same live calls as the admin API's list, health counted alike.
    let live = json_ok(app.get_signed_in("/api/admin/active-calls", None).await).await;
    assert_eq!(
        (
            &by_rpc["active_calls"],
            &by_rpc["warning_calls"],
            &by_rpc["stale_calls"]
        ),
        (&live["count"], &live["warning_count"], &live["stale_count"])
    );
    assert_eq!(by_rpc["active_calls"], 2);

    // A tenant is refused by both doors, with the same JSON error; so is nobody.
    for (rpc, rest) in [
        ("/rpc/tenants", "/api/admin/tenants"),
        ("/rpc/health", "/api/admin/health"),
    ] {
        refused_alike(&app, rpc, rest).await;
    }
}

#[tokio::test]
async fn only_an_admins_page_carries_the_ops_board() {
    let app = spawn_app().await;
    load_fixture(&app).await;
    let admin = app.get_signed_in("/dashboard/realtime", None).await;
    assert_eq!(admin.status(), StatusCode::OK);
    let html = admin.text().await.unwrap();
    for part in [
        r#"data-testid="ops-cards""#,
        r#"data-testid="tenant-picker""#,
        r#"data-metric="ops-health""#,
        r#"<option value="globex""#,
        r#"data-testid="ops-panels""#,
        // The fixture's live calls started hours ago and never sent a heartbeat.
        r#"data-call-id="g2" data-health="stale""#,
        "2 live · 0 warning · 2 stale",
        "■ 2 calls stopped sending heartbeats: stale",
        "● empty",
        "No run yet.",
        // The admins' bundle, the one with the board's code.
        r#"import("/pkg/frontend-admin.js")"#,
    ] {
        assert!(html.contains(part), "admin page without {part}");
    }
    // Nothing in the address: the live calls open by themselves (stale calls), the empty queue
    // does not.
    assert!(html.contains(r#"data-panel="calls" open"#));
    assert!(!html.contains(r#"data-panel="dlq" open"#));
    // The address opens and closes them, without JavaScript.
    let opened = app
        .get_signed_in("/dashboard/realtime?panels=audit", None)
        .await
        .text()
        .await
        .unwrap();
    // Once the address names the open panels, it alone decides: stale calls or not.
    for (panel, open) in [
        ("calls", false),
        ("dlq", false),
        ("runs", false),
        ("audit", true),
    ] {
        let tag = format!(r#"data-panel="{panel}" open"#);
        assert_eq!(opened.contains(&tag), open, "{panel}");
    }
    // Two live calls, counted in the first HTML.
    let at = html.find(r#"data-metric="ops-active""#).unwrap();
    assert!(
        html[at..at + 300].contains(">2<"),
        "{}",
        &html[at..at + 300]
    );

    let tenant = app.get_signed_in("/dashboard/realtime", Some("acme")).await;
    let html = tenant.text().await.unwrap();
    for part in [
        "ops-cards",
        "tenant-picker",
        "ops-health",
        "globex",
        "ops-panels",
        "ops-panel",
        "frontend-admin",
    ] {
        assert!(!html.contains(part), "a tenant's page shows {part}");
    }
    assert!(html.contains(r#"import("/pkg/frontend.js")"#), "{html}");
}

/// `rpc` and its REST twin `rest` refuse a tenant alike (403, the same JSON error) and refuse
/// nobody signed in (401).
async fn refused_alike(app: &TestApp, rpc: &str, rest: &str) {
    let refused = app.get_signed_in(rpc, Some("acme")).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{rpc}");
    let by_rpc: Value = refused.json().await.unwrap();
    let by_rest: Value = app
        .get_signed_in(rest, Some("acme"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_rpc, by_rest, "{rpc}");
    assert_eq!(by_rpc["code"], "forbidden", "{rpc}: {by_rpc}");
    assert_eq!(
        app.get(rpc).await.status(),
        StatusCode::UNAUTHORIZED,
        "{rpc}"
    );
}

#[tokio::test]
async fn the_ops_boards_actions_are_the_admin_apis_and_refused_to_tenants() {
    let app = spawn_app().await;
    load_fixture(&app).await;
    app.state.ingestor.injector().set_percent(100);
    for id in ["lost-1", "lost-2"] {
        let event = serde_json::json!({"type": "call_started", "user_id": "acme", "call_id": id,
            "at": time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339).unwrap()});
        assert_eq!(app.ingest(&event).await.status(), StatusCode::ACCEPTED);
    }
    app.state.ingestor.injector().set_percent(0);
    let dlq = json_ok(app.get_signed_in("/api/admin/dlq", None).await).await;
    let first = dlq["messages"][0]["id"].as_i64().unwrap().to_string();

    // Reads: what the admin API answers.
    for (rpc, rest) in [
        ("/rpc/dlq", "/api/admin/dlq"),
        ("/rpc/dlq?limit=1", "/api/admin/dlq?limit=1"),
        ("/rpc/reconciliation", "/api/admin/reconciliation"),
        ("/rpc/audit_log?limit=5", "/api/admin/audit?limit=5"),
    ] {
        let by_rpc = json_ok(app.get_signed_in(rpc, None).await).await;
        let by_rest = json_ok(app.get_signed_in(rest, None).await).await;
        assert_eq!(by_rpc, by_rest, "{rpc} vs {rest}");
    }
    // Heartbeat ages move between two requests: compare the calls and the counts.
    let by_rpc = json_ok(app.get_signed_in("/rpc/live_calls", None).await).await;
    let by_rest = json_ok(app.get_signed_in("/api/admin/active-calls", None).await).await;
    assert_eq!(ids(&by_rpc["active_calls"]), ids(&by_rest["active_calls"]));
    assert_eq!(ids(&by_rpc["active_calls"]), ["c5", "g2"]);
    // No business name was given for the fixture's tenants: the id stands in.
    assert_eq!(by_rpc["active_calls"][1]["business_name"], "globex");
    let one = json_ok(
        app.get_signed_in("/rpc/live_calls?user_id=globex", None)
            .await,
    )
    .await;
    assert_eq!(ids(&one["active_calls"]), ["g2"]);

    // A tenant is refused every read and every action, by both doors alike, and nothing moves.
    let reads = [
        ("/rpc/live_calls", "/api/admin/active-calls"),
        ("/rpc/dlq", "/api/admin/dlq"),
        ("/rpc/reconciliation", "/api/admin/reconciliation"),
        ("/rpc/audit_log", "/api/admin/audit"),
    ];
    for (rpc, rest) in reads {
        refused_alike(&app, rpc, rest).await;
    }
    let retry_one = format!("/api/admin/dlq/{first}/retry");
    let discard_one = format!("/api/admin/dlq/{first}");
    let actions = [
        ("/rpc/dlq_retry", reqwest::Method::POST, retry_one.as_str()),
        (
            "/rpc/dlq_retry_all",
            reqwest::Method::POST,
            "/api/admin/dlq/retry",
        ),
        (
            "/rpc/dlq_discard",
            reqwest::Method::DELETE,
            discard_one.as_str(),
        ),
        (
            "/rpc/reconcile_now",
            reqwest::Method::POST,
            "/api/admin/reconciliation/trigger",
        ),
    ];
    for (rpc, method, rest) in &actions {
        let refused = app
            .post_signed_in(rpc, &[("id", &first)], Some("acme"))
            .await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{rpc}");
        let by_rpc: Value = refused.json().await.unwrap();
        assert_eq!(by_rpc["code"], "forbidden", "{rpc}: {by_rpc}");
        assert!(
            by_rpc["error"].as_str().unwrap().contains("admin"),
            "a clear message: {by_rpc}"
        );
        let by_rest: Value = app
            .signed_in(method.clone(), rest, Some("acme"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(by_rpc, by_rest, "{rpc}");
        let anonymous = app
            .client
            .post(app.url(rpc))
            .form(&[("id", &first)])
            .send()
            .await;
        assert_eq!(
            anonymous.unwrap().status(),
            StatusCode::UNAUTHORIZED,
            "{rpc}"
        );
    }
    let after = json_ok(app.get_signed_in("/api/admin/dlq", None).await).await;
    assert_eq!(
        after["messages"], dlq["messages"],
        "the tenant changed nothing"
    );
    let runs = json_ok(app.get_signed_in("/api/admin/reconciliation", None).await).await;
    assert_eq!(
        runs["runs"],
        serde_json::json!([]),
        "the tenant started no run"
    );

    // An admin acts through the server functions: clear answers, recorded with who and where.
    let discarded = json_ok(
        app.post_signed_in("/rpc/dlq_discard", &[("id", &first)], None)
            .await,
    )
    .await;
    assert_eq!(
        (&discarded["affected"], &discarded["depth"]),
        (&1.into(), &1.into())
    );
    let again = app
        .post_signed_in("/rpc/dlq_discard", &[("id", &first)], None)
        .await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    let garbage = app
        .post_signed_in("/rpc/dlq_retry", &[("id", "twelve")], None)
        .await;
    assert_eq!(garbage.status(), StatusCode::BAD_REQUEST);
    let garbage: Value = garbage.json().await.unwrap();
    assert_eq!(garbage["field"], "id", "{garbage}");
    let started = json_ok(app.post_signed_in("/rpc/reconcile_now", &[], None).await).await;
    let run_id = started["run_id"].as_str().unwrap().to_owned();
    let status = json_ok(app.get_signed_in("/rpc/reconciliation", None).await).await;
    let known: Vec<&Value> = [&status["running"], &status["last_run"]]
        .into_iter()
        .chain(status["runs"].as_array().unwrap())
        .collect();
    assert!(
        known.iter().any(|run| run["id"] == run_id.as_str()),
        "{run_id} in {status}"
    );

    let audit = json_ok(app.get_signed_in("/rpc/audit_log", None).await).await;
    let entries = audit["entries"].as_array().unwrap();
    let of = |action: &str, result: &str| {
        entries
            .iter()
            .find(|entry| entry["action"] == action && entry["result"] == result)
            .unwrap_or_else(|| panic!("no {action} {result} in {audit}"))
    };
    let trigger = of("reconciliation.trigger", "ok");
    assert_eq!(trigger["target"], run_id.as_str());
    let discard = of("dlq.discard", "ok");
    assert_eq!(
        (&discard["target"], &discard["actor"], &discard["role"]),
        (
            &Value::from(first.as_str()),
            &"tests".into(),
            &"admin".into()
        )
    );
    assert_eq!(discard["detail"]["call_id"], "lost-1");
    assert_eq!(discard["client_addr"], "127.0.0.1", "{discard}");
    of("dlq.discard", "not_found");
    // Newest first; the tenant's refused attempts wrote nothing.
    assert_eq!(entries[0]["action"], "reconciliation.trigger", "{audit}");
    assert!(
        entries.iter().all(|entry| entry["role"] == "admin"),
        "{audit}"
    );
}
