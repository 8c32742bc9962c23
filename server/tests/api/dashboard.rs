//! The seed-000 endpoints against a fixture whose every figure is worked out by hand below, on
//! SQLite and PostgreSQL; then paging, filters, the CSV export and validation.
//!
//! The fixture, relative to H = the start of the current UTC hour:
//!
//! | call | tenant | started     | agent   | end                      |
//! |------|--------|-------------|---------|--------------------------|
//! | c1   | acme   | H-2h +05m   | agent-a | completed, 100 s         |
//! | c2   | acme   | H-2h +10m   | agent-a | completed, 50 s          |
//! | c3   | acme   | H-3h        | agent-b | no_answer, 0 s           |
//! | c4   | acme   | H-3h +30m   | agent-b | failed, 30 s (outbound)  |
//! | c5   | acme   | H-1h        | agent-a | still active             |
//! | c6   | acme   | H-30h       | agent-a | completed, 200 s         |
//! | c7   | acme   | H-2h +20m   | none    | voicemail, 40 s          |
//! | g1   | globex | H-2h        | agent-g | completed, 999 s         |
//! | g2   | globex | H-1h +05m   | agent-g | still active             |

use reqwest::StatusCode;
use serde_json::{Value, json};
use time::{
    Duration, OffsetDateTime, PrimitiveDateTime, Time, format_description::well_known::Rfc3339,
};

use crate::{
    databases::each_backend,
    helpers::{TestApp, spawn_app, spawn_app_with},
};

/// The start of the current UTC hour.
fn current_hour() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    PrimitiveDateTime::new(now.date(), Time::from_hms(now.hour(), 0, 0).unwrap()).assume_utc()
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap()
}

/// `"YYYY-MM-DD HH:00"` of `at`, written independently of the server's formatter.
fn hour_key(at: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:00",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour()
    )
}

struct FixtureCall {
    id: &'static str,
    tenant: &'static str,
    started: Duration,
    agent: Option<&'static str>,
    phone: &'static str,
    direction: &'static str,
    end: Option<(&'static str, i64)>,
}

fn fixture() -> Vec<FixtureCall> {
    let call = |id, tenant, started, agent, end| FixtureCall {
        id,
        tenant,
        started,
        agent,
        phone: "+12025550123",
        direction: "inbound",
        end,
    };
    let h = Duration::hours;
    let m = Duration::minutes;
    let mut calls = vec![
        call(
            "c1",
            "acme",
            h(-2) + m(5),
            Some("agent-a"),
            Some(("completed", 100)),
        ),
        call(
            "c2",
            "acme",
            h(-2) + m(10),
            Some("agent-a"),
            Some(("completed", 50)),
        ),
        call("c3", "acme", h(-3), Some("agent-b"), Some(("no_answer", 0))),
        call(
            "c4",
            "acme",
            h(-3) + m(30),
            Some("agent-b"),
            Some(("failed", 30)),
        ),
        call("c5", "acme", h(-1), Some("agent-a"), None),
        call(
            "c6",
            "acme",
            h(-30),
            Some("agent-a"),
            Some(("completed", 200)),
        ),
        call("c7", "acme", h(-2) + m(20), None, Some(("voicemail", 40))),
        call(
            "g1",
            "globex",
            h(-2),
            Some("agent-g"),
            Some(("completed", 999)),
        ),
        call("g2", "globex", h(-1) + m(5), Some("agent-g"), None),
    ];
    calls[2].phone = "+15550001111";
    calls[3].direction = "outbound";
    calls
}

/// The fixture's figures are per clock hour: a test must not straddle an hour boundary, so one
/// that would start in the last 30 s of an hour waits for the next.
async fn clear_of_the_hour_boundary() {
    let now = OffsetDateTime::now_utc();
    if now.minute() == 59 && now.second() >= 30 {
        let wait = current_hour() + Duration::minutes(60) + Duration::seconds(1) - now;
        tokio::time::sleep(wait.unsigned_abs()).await;
    }
}

pub(crate) async fn load_fixture(app: &TestApp) {
    clear_of_the_hour_boundary().await;
    let hour = current_hour();
    let mut events = Vec::new();
    for call in fixture() {
        let started = hour + call.started;
        let mut fields = json!({"phoneNumber": call.phone, "direction": call.direction});
        if let Some(agent) = call.agent {
            fields["agentConfigId"] = json!(agent);
        }
        events.push(
            json!({"type": "call_started", "user_id": call.tenant, "call_id": call.id,
                           "at": rfc3339(started), "call": fields}),
        );
        if let Some((outcome, duration)) = call.end {
            events.push(
                json!({"type": "call_ended", "user_id": call.tenant, "call_id": call.id,
                               "at": rfc3339(started + Duration::seconds(duration)),
                               "outcome": outcome, "duration": duration}),
            );
        }
    }
    let response = app.ingest(&Value::Array(events)).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{}",
        response.text().await.unwrap()
    );
}

async fn tenant_json(app: &TestApp, tenant: &str, path: &str) -> Value {
    let response = app.get_as(path, &app.token(Some(tenant))).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.unwrap()
}

fn ids(calls: &Value) -> Vec<&str> {
    calls
        .as_array()
        .unwrap()
        .iter()
        .map(|call| call["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn the_six_endpoints_give_the_hand_worked_figures_on_both_backends() {
    for db in each_backend().await {
        let url = db.url().to_owned();
        let app = spawn_app_with(|config| config.database_url = url).await;
        load_fixture(&app).await;
        let backend = db.url().split(':').next().unwrap().to_owned();

        // 24 h: c1 c2 c3 c4 c5 c7. Ended c1 c2 c3 c4 c7, durations 100+50+0+30+40 = 220 → 44.0;
        // completed 2 of 5 ended → 40.0. Active: c5 (no period).
        let body = tenant_json(&app, "acme", "/api/dashboard/metrics").await;
        assert_eq!(
            body,
            json!({"success": true, "user_id": "acme", "metrics": {
                "total_calls": 6, "active_calls": 1, "completed_calls": 2,
                "average_duration": 44.0, "success_rate": 40.0,
                "outcome_counts": {"completed": 2, "no_answer": 1, "failed": 1, "voicemail": 1},
                "period_hours": 24}}),
            "{backend}"
        );
        // 168 h adds c6: 7 calls, 3 of 6 ended completed → 50.0, (220 + 200) / 6 = 70.0.
        let body = tenant_json(&app, "acme", "/api/dashboard/metrics?hours=168").await;
        let metrics = &body["metrics"];
        assert_eq!(
            (&metrics["total_calls"], &metrics["completed_calls"]),
            (&json!(7), &json!(3))
        );
        assert_eq!(
            (&metrics["average_duration"], &metrics["success_rate"]),
            (&json!(70.0), &json!(50.0)),
            "{backend}"
        );
        // 1 h is the current hour alone: nothing started in it, but c5 is still active.
        let body = tenant_json(&app, "acme", "/api/dashboard/metrics?hours=1").await;
        assert_eq!(
            body["metrics"],
            json!({"total_calls": 0, "active_calls": 1, "completed_calls": 0,
                   "average_duration": 0.0, "success_rate": 0.0, "outcome_counts": {},
                   "period_hours": 1}),
            "{backend}"
        );
        // An admin without user_id sees both tenants: acme's 6 + g1 + g2; active c5, g2.
        let body = app.admin_json("/api/dashboard/metrics").await;
        assert_eq!(body["user_id"], Value::Null);
        assert_eq!(
            (
                &body["metrics"]["total_calls"],
                &body["metrics"]["active_calls"]
            ),
            (&json!(8), &json!(2)),
            "{backend}"
        );

        // Active calls: c5 only, with the seed's fields; duration counts from its start (≥ 1 h).
        let body = tenant_json(&app, "acme", "/api/dashboard/active-calls").await;
        assert_eq!(
            (&body["count"], &body["user_id"]),
            (&json!(1), &json!("acme"))
        );
        let call = &body["active_calls"][0];
        assert_eq!(call["id"], "c5");
        assert_eq!(call["phoneNumber"], "+12025550123");
        assert_eq!(call["direction"], "inbound");
        assert_eq!(call["agentConfigId"], "agent-a");
        assert_eq!(
            call["startedAt"],
            rfc3339(current_hour() - Duration::hours(1))
        );
        assert!(call["duration"].as_i64().unwrap() >= 3600, "{call}");

        // Agents over 24 h: a = c1 c2 c5 (2 completed of 2 ended, (100+50)/2 = 75.0);
        // b = c3 c4 (0 of 2, (0+30)/2 = 15.0); no agent = c7 (0 of 1, 40.0).
        let body = tenant_json(&app, "acme", "/api/dashboard/agent-performance").await;
        assert_eq!(
            body,
            json!({"success": true, "count": 3, "period_hours": 24, "user_id": "acme",
                   "agents": [
                {"agentConfigId": "agent-a", "agent_name": null, "total_calls": 3,
                 "average_duration": 75.0, "success_rate": 100.0, "completed_calls": 2,
                 "response_latency": null},
                {"agentConfigId": "agent-b", "agent_name": null, "total_calls": 2,
                 "average_duration": 15.0, "success_rate": 0.0, "completed_calls": 0,
                 "response_latency": null},
                {"agentConfigId": null, "agent_name": null, "total_calls": 1,
                 "average_duration": 40.0, "success_rate": 0.0, "completed_calls": 0,
                 "response_latency": null}]}),
            "{backend}"
        );

        // Calls per hour over 6 h: H-3 → c3 c4, H-2 → c1 c2 c7, H-1 → c5, the rest 0.
        let body = tenant_json(&app, "acme", "/api/dashboard/calls-per-hour?hours=6").await;
        let hour = current_hour();
        let expected: serde_json::Map<String, Value> =
            [(5, 0), (4, 0), (3, 2), (2, 3), (1, 1), (0, 0)]
                .into_iter()
                .map(|(back, calls)| (hour_key(hour - Duration::hours(back)), json!(calls)))
                .collect();
        assert_eq!(
            body,
            json!({"success": true, "data": expected, "period_hours": 6, "user_id": "acme"}),
            "{backend}"
        );
        let day = tenant_json(&app, "acme", "/api/dashboard/calls-per-hour").await;
        let data = day["data"].as_object().unwrap();
        assert_eq!(data.len(), 24, "every hour present, empty ones as 0");
        assert_eq!(data.values().map(|v| v.as_i64().unwrap()).sum::<i64>(), 6);

        // Recent calls, newest first, three at a time, following the cursor to the end.
        let mut seen = Vec::new();
        let mut path = "/api/dashboard/recent-calls?limit=3".to_owned();
        loop {
            let page = tenant_json(&app, "acme", &path).await;
            assert_eq!(page["count"], page["calls"].as_array().unwrap().len());
            seen.extend(ids(&page["calls"]).into_iter().map(str::to_owned));
            match page["next_cursor"].as_str() {
                Some(cursor) => {
                    path = format!("/api/dashboard/recent-calls?limit=3&cursor={cursor}")
                }
                None => break,
            }
        }
        assert_eq!(
            seen,
            ["c5", "c7", "c2", "c1", "c4", "c3", "c6"],
            "{backend}"
        );
        let page = tenant_json(&app, "acme", "/api/dashboard/recent-calls").await;
        let first = &page["calls"][0];
        assert_eq!(
            (&first["id"], &first["status"]),
            (&json!("c5"), &json!("active"))
        );
        let c7 = &page["calls"][1];
        assert_eq!(
            (&c7["outcome"], &c7["duration"], &c7["userId"]),
            (&json!("voicemail"), &json!(40), &json!("acme"))
        );

        // Filters.
        for (query, expected) in [
            ("status=ended", vec!["c7", "c2", "c1", "c4", "c3", "c6"]),
            ("status=active", vec!["c5"]),
            ("outcome=completed", vec!["c2", "c1", "c6"]),
            ("direction=outbound", vec!["c4"]),
            ("phone=555-0001", vec!["c3"]),
            ("phone=%2B1202", vec!["c5", "c7", "c2", "c1", "c4", "c6"]),
            ("outcome=completed&status=active", vec![]),
        ] {
            let page = tenant_json(
                &app,
                "acme",
                &format!("/api/dashboard/recent-calls?limit=100&{query}"),
            )
            .await;
            assert_eq!(ids(&page["calls"]), expected, "{backend}: {query}");
        }
        let from = rfc3339(hour - Duration::hours(3));
        let to = rfc3339(hour - Duration::hours(2));
        let range = format!("/api/dashboard/recent-calls?from={from}&to={to}").replace('+', "%2B");
        let page = tenant_json(&app, "acme", &range).await;
        assert_eq!(ids(&page["calls"]), ["c4", "c3"], "{backend}: date range");

        // An admin naming globex sees globex only.
        let body = app
            .admin_json("/api/dashboard/recent-calls?user_id=globex")
            .await;
        assert_eq!(ids(&body["calls"]), ["g2", "g1"]);
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn csv_export_applies_the_filters_and_the_tenancy() {
    let app = spawn_app().await;
    load_fixture(&app).await;
    let response = app
        .get_as(
            "/api/dashboard/calls.csv?outcome=completed",
            &app.token(Some("acme")),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("calls-acme.csv")
    );
    let text = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "id");
    assert_eq!(&headers[1], "userId");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let exported: Vec<&str> = rows.iter().map(|row| &row[0]).collect();
    assert_eq!(exported, ["c2", "c1", "c6"]);
    assert!(
        rows.iter()
            .all(|row| &row[1] == "acme" && &row[8] == "completed")
    );
    assert_eq!(&rows[0][3], "+12025550123", "phone numbers are not mangled");

    // Everything, for an admin, more rows than one page would hold is not needed here: all 9.
    let all = app
        .get_as("/api/dashboard/calls.csv", &app.token(None))
        .await;
    let text = all.text().await.unwrap();
    assert_eq!(
        csv::Reader::from_reader(text.as_bytes()).records().count(),
        9
    );
    // A tenant naming another tenant gets no file.
    let refused = app
        .get_as(
            "/api/dashboard/calls.csv?user_id=globex",
            &app.token(Some("acme")),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn bad_parameters_are_400s_naming_the_field() {
    let app = spawn_app().await;
    let token = app.token(Some("acme"));
    for (path, field) in [
        ("/api/dashboard/metrics?hours=0", "hours"),
        ("/api/dashboard/metrics?hours=169", "hours"),
        ("/api/dashboard/metrics?hours=-1", "hours"),
        ("/api/dashboard/metrics?hours=abc", "hours"),
        ("/api/dashboard/metrics?hours=1.5", "hours"),
        ("/api/dashboard/agent-performance?hours=500", "hours"),
        ("/api/dashboard/calls-per-hour?hours=0", "hours"),
        ("/api/dashboard/recent-calls?limit=0", "limit"),
        ("/api/dashboard/recent-calls?limit=101", "limit"),
        ("/api/dashboard/recent-calls?limit=ten", "limit"),
        ("/api/dashboard/recent-calls?cursor=not-a-cursor", "cursor"),
        ("/api/dashboard/recent-calls?status=ringing", "status"),
        ("/api/dashboard/recent-calls?outcome=great", "outcome"),
        (
            "/api/dashboard/recent-calls?direction=sideways",
            "direction",
        ),
        ("/api/dashboard/recent-calls?phone=call-me", "phone"),
        ("/api/dashboard/recent-calls?from=yesterday", "from"),
        (
            "/api/dashboard/recent-calls?from=2026-11-02&to=2026-11-01",
            "to",
        ),
        ("/api/dashboard/calls.csv?to=31/12/2026", "to"),
    ] {
        let response = app.get_as(path, &token).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["success"], false, "{path}");
        assert_eq!(body["field"], field, "{path}: {body}");
        assert!(
            body["error"].as_str().unwrap().starts_with(field),
            "{path}: {body}"
        );
    }
    // The bounds themselves are fine, and a blank value is no value: a plain form sends every
    // field, empty ones too.
    for path in [
        "/api/dashboard/metrics?hours=",
        "/api/dashboard/recent-calls?status=&outcome=&direction=&phone=&from=&to=&limit=&cursor=",
        "/api/dashboard/calls.csv?status=&outcome=&phone=",
        "/api/dashboard/metrics?hours=1",
        "/api/dashboard/metrics?hours=168",
        "/api/dashboard/recent-calls?limit=1",
        "/api/dashboard/recent-calls?limit=100&from=2026-11-01",
    ] {
        assert_eq!(
            app.get_as(path, &token).await.status(),
            StatusCode::OK,
            "{path}"
        );
    }
}

/// Hostile dates (issue 11): far-future instants at negative offsets, year 0 and negative or
/// five-digit years, impossible days and hours. On both databases, through the API and the
/// export: an answer, or a 400 naming the field — never a 5xx or a dropped connection.
#[tokio::test]
async fn hostile_dates_are_answered_on_both_databases() {
    for db in each_backend().await {
        let url = db.url().to_owned();
        let app = spawn_app_with(|config| config.database_url = url).await;
        let token = app.token(Some("acme"));
        for value in [
            "9999-12-31T23:59:59-01:00",
            "9999-12-31",
            "0000-01-01",
            "-0001-01-01",
            "+10000-01-01",
            "-9999-01-01T00:00:00Z",
            "2026-02-30",
            "2026-11-22T25:00:00Z",
            "0001-01-01T00:00:00+23:59",
            "1970-01-01T00:00:00.999999999Z",
        ] {
            let encoded: String = form_urlencoded::byte_serialize(value.as_bytes()).collect();
            for field in ["from", "to"] {
                for path in ["/api/dashboard/recent-calls", "/api/dashboard/calls.csv"] {
                    let response = app
                        .get_as(&format!("{path}?{field}={encoded}"), &token)
                        .await;
                    let status = response.status();
                    assert!(
                        status == StatusCode::OK || status == StatusCode::BAD_REQUEST,
                        "{path}?{field}={value}: {status} on {}",
                        db.url()
                    );
                    if status == StatusCode::BAD_REQUEST {
                        let body: Value = response.json().await.unwrap();
                        assert!(
                            body["error"].as_str().unwrap().contains(field),
                            "{path}?{field}={value}: {body}"
                        );
                    } else {
                        // The whole answer arrives (the export streams).
                        response.bytes().await.unwrap();
                    }
                }
            }
        }
    }
}
