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
    // Past its documented length a `tz` is refused even when no date needs it; a name that is
    // no zone matters only to a date.
    let token = app.token(Some("acme"));
    let status = |query: String| {
        let url = format!("/api/dashboard/recent-calls?{query}");
        let (app, token) = (&app, &token);
        async move { app.get_as(&url, token).await.status() }
    };
    assert_eq!(status(format!("tz={long}")).await, StatusCode::BAD_REQUEST);
    assert_eq!(
        status("tz=Mars/Olympus_Mons".to_owned()).await,
        StatusCode::OK
    );
}

/// Page `path` with `session` as the session cookie and `zone` as the zone cookie (pinned or not).
async fn page_in(
    app: &TestApp,
    session: &str,
    path: &str,
    zone: Option<&str>,
    pinned: bool,
) -> String {
    let mut cookie = format!("{}={session}", server::domain::auth::SESSION_COOKIE);
    if let Some(zone) = zone {
        cookie.push_str(&format!("; {}={zone}", app::zone::ZONE_COOKIE));
    }
    if pinned {
        cookie.push_str(&format!("; {}=1", app::zone::ZONE_PINNED_COOKIE));
    }
    let response = app
        .client
        .get(app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

#[tokio::test]
async fn pages_are_rendered_in_the_zone_their_cookie_names() {
    let app = spawn_app().await;
    calls(&app).await;
    let acme = app.token(Some("acme"));
    // 06:00 UTC on 4 December, and 04:30 UTC on 4 July (New York's summer time, UTC−4). A time
    // of the viewer's today would show without its date.
    let path = "/dashboard/realtime?q=dec-04-0600z";
    let july = "/dashboard/realtime?q=jul-04-0430z";
    let shows = |page: &str, text: &str| page.contains(&format!(">{text}<"));
    for (zone, december, summer) in [
        (None, "2026-12-04 06:00", "2026-07-04 04:30"),
        (
            Some("America/New_York"),
            "2026-12-04 01:00",
            "2026-07-04 00:30",
        ),
        (Some("Asia/Kolkata"), "2026-12-04 11:30", "2026-07-04 10:00"),
        // A cookie naming no zone is UTC.
        (
            Some("Mars/Olympus_Mons"),
            "2026-12-04 06:00",
            "2026-07-04 04:30",
        ),
    ] {
        let page = page_in(&app, &acme, path, zone, false).await;
        assert!(shows(&page, december), "{zone:?}: {december}");
        let shown = match zone {
            Some(zone) if !zone.starts_with("Mars") => zone,
            _ => "UTC",
        };
        assert!(
            page.contains(&format!(r#"data-testid="shown-zone">{shown}"#)),
            "{zone:?} says {shown}"
        );
        assert!(
            shows(&page_in(&app, &acme, july, zone, false).await, summer),
            "{zone:?}: {summer}"
        );
    }
    // The page's own date filter means the viewer's day: 4 December in Kolkata ends at 18:30 UTC.
    // (Its other panels show the active calls whatever the filter.)
    let recent = |page: &str| -> String {
        let table = page.split(r#"data-testid="recent-calls""#).nth(1).unwrap();
        table.split("</table>").next().unwrap().to_owned()
    };
    let day = "/dashboard/realtime?from=2026-12-04&to=2026-12-05";
    let kolkata = page_in(&app, &acme, day, Some("Asia/Kolkata"), false).await;
    let shown = recent(&kolkata);
    assert!(shown.contains("dec-04-0430z") && !shown.contains("dec-04-1900z"));
    let shown = recent(&page_in(&app, &acme, day, Some("America/New_York"), false).await);
    assert!(shown.contains("dec-04-1900z") && !shown.contains("dec-04-0430z"));
    // The export link carries the zone, so the download is the same day.
    assert!(kolkata.contains("tz=Asia%2FKolkata"));

    // The account page says where the zone came from.
    app.add_user(
        "tz@acme.test",
        server::domain::users::Role::Member,
        Some("acme"),
    )
    .await;
    let acme = app.sign_in("tz@acme.test").await;
    let account = page_in(&app, &acme, "/account", Some("Asia/Kolkata"), true).await;
    assert!(account.contains("(chosen here)"), "{account}");
    let account = page_in(&app, &acme, "/account", None, false).await;
    assert!(account.contains("until your browser tells us"), "{account}");
}

#[tokio::test]
async fn the_account_page_pins_a_zone_or_gives_it_back_to_the_browser() {
    let app = spawn_app().await;
    let choose = |tz: &'static str, signed_in: bool| {
        let request = if signed_in {
            app.signed_in(reqwest::Method::POST, "/account/zone", Some("acme"))
        } else {
            app.client.post(app.url("/account/zone"))
        };
        async move { request.form(&[("tz", tz)]).send().await.unwrap() }
    };
    let set_cookies = |response: &reqwest::Response| -> Vec<String> {
        response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|value| value.to_str().unwrap().to_owned())
            .collect()
    };

    let pinned = choose("Asia/Kolkata", true).await;
    assert_eq!(pinned.status(), StatusCode::SEE_OTHER);
    assert!(crate::helpers::header(&pinned, "location").contains("zone=saved"));
    let cookies = set_cookies(&pinned);
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("switchboard_tz=Asia%2FKolkata;")),
        "{cookies:?}"
    );
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("switchboard_tz_pinned=1;")),
        "{cookies:?}"
    );

    // Back to the browser's zone: both cookies go.
    let cookies = set_cookies(&choose("", true).await);
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    assert!(
        cookies.iter().all(|c| c.contains("Max-Age=0")),
        "{cookies:?}"
    );

    // No such zone: nothing is set.
    let refused = choose("Mars/Olympus_Mons", true).await;
    assert!(crate::helpers::header(&refused, "location").contains("zone=invalid"));
    assert!(set_cookies(&refused).is_empty());

    // Only for someone signed in.
    let anonymous = choose("Asia/Kolkata", false).await;
    assert!(crate::helpers::header(&anonymous, "location").starts_with("/login"));
    assert!(set_cookies(&anonymous).is_empty());
}
