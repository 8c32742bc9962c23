//! Date filters in the viewer's zone (issue 25): `tz=` with an IANA name makes a date-only
//! `from` / `to` that zone's midnight, on the REST list and the CSV export; without it a date is
//! midnight UTC, as before. A name that is no zone is a 400 on `tz`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    databases::each_backend,
    helpers::{TestApp, spawn_app, spawn_app_with},
};

/// Calls of acme at fixed instants: the 4th of December in New York (UTC−5), Kolkata (UTC+5:30)
/// and UTC is three different sets of them; a July call sits in New York's summer (UTC−4).
async fn calls(app: &TestApp) {
    let started = |id: &str, at: &str| json!({"type": "call_started", "user_id": "acme", "call_id": id, "at": at});
    let events = json!([
        // 3 Dec 23:30 New York, 4 Dec 10:00 Kolkata.
        started("dec-04-0430z", "2026-12-04T04:30:00Z"),
        // 4 Dec 01:00 New York, 4 Dec 11:30 Kolkata.
        started("dec-04-0600z", "2026-12-04T06:00:00Z"),
        // 4 Dec 14:00 New York, 5 Dec 00:30 Kolkata.
        started("dec-04-1900z", "2026-12-04T19:00:00Z"),
        // 4 Jul 00:30 New York (summer time), still 3 Jul at UTC−5.
        started("jul-04-0430z", "2026-07-04T04:30:00Z"),
    ]);
    assert_eq!(app.ingest(&events).await.status(), StatusCode::OK);
}

async fn ids(app: &TestApp, query: &str) -> Vec<String> {
    let response = app
        .get_as(
            &format!("/api/dashboard/recent-calls?limit=100&{query}"),
            &app.token(Some("acme")),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{query}");
    let body: Value = response.json().await.unwrap();
    let mut ids: Vec<String> = body["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|call| call["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn a_date_means_the_day_of_the_zone_asked_for() {
    for db in each_backend().await {
        let url = db.url().to_owned();
        let app = spawn_app_with(|config| config.database_url = url).await;
        a_date_means_the_day_of_the_zone(&app).await;
    }
}

async fn a_date_means_the_day_of_the_zone(app: &TestApp) {
    calls(app).await;
    let day = "from=2026-12-04&to=2026-12-05";
    assert_eq!(
        ids(app, day).await,
        ["dec-04-0430z", "dec-04-0600z", "dec-04-1900z"]
    );
    assert_eq!(
        ids(app, &format!("{day}&tz=America/New_York")).await,
        ["dec-04-0600z", "dec-04-1900z"]
    );
    assert_eq!(
        ids(app, &format!("{day}&tz=Asia/Kolkata")).await,
        ["dec-04-0430z", "dec-04-0600z"]
    );
    // Each date at its own offset: July's midnight in New York is 04:00 UTC, not 05:00.
    assert_eq!(
        ids(app, "from=2026-07-04&to=2026-07-05&tz=America/New_York").await,
        ["jul-04-0430z"]
    );
    // RFC 3339 times carry their own offset: the zone changes nothing.
    assert_eq!(
        ids(app, "from=2026-12-04T06:00:00Z&tz=Asia/Kolkata").await,
        ["dec-04-0600z", "dec-04-1900z"]
    );

    // The CSV export reads the same filter.
    let csv = app
        .get_as(
            "/api/dashboard/calls.csv?from=2026-12-04&to=2026-12-05&tz=Asia/Kolkata",
            &app.token(Some("acme")),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        csv.contains("dec-04-0430z") && csv.contains("dec-04-0600z"),
        "{csv}"
    );
    assert!(!csv.contains("dec-04-1900z"), "{csv}");
}

#[tokio::test]
async fn a_name_that_is_no_zone_is_a_400_on_tz() {
    let app = spawn_app().await;
    let long = "x".repeat(65);
    for zone in [
        "Mars/Olympus_Mons",
        "America/New%20York",
        "UTC%2B5",
        long.as_str(),
    ] {
        let response = app
            .get_as(
                &format!("/api/dashboard/recent-calls?from=2026-12-04&tz={zone}"),
                &app.token(Some("acme")),
            )
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{zone}");
        let body: Value = response.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().contains("tz"),
            "{zone}: {body}"
        );
    }
}
