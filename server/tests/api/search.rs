//! The search box (issue 25): a call by id prefix, by its number (whole, or its last 4 or more
//! digits), by room name or SIP call id (exact or prefix), and by agent — on both backends, the
//! database selecting exactly what the page's own rule (`Search::matches`) says, and through
//! every door (REST, CSV, the page without JavaScript), scoped to the caller's tenant.

use app::dto::{
    dashboard::CallSummary,
    ingest::{CallEvent, CallFields, EventType},
    query::CallsQuery,
};
use reqwest::StatusCode;
use serde_json::Value;
use server::{
    domain::figures::call_summary,
    service::doors::call_filter,
    storage::{Incoming, Storage},
};
use time::macros::datetime;

use crate::{databases::each_backend, helpers::spawn_app};

/// (tenant, id, phone, room, sip, agent)
const CALLS: [(&str, &str, &str, &str, &str, &str); 6] = [
    (
        "acme",
        "abcdef12-0001",
        "+1 (555) 010-1234",
        "room-sales-1",
        "sip-xyz-1",
        "front",
    ),
    (
        "acme",
        "abcdef13-0002",
        "+15550109876",
        "room-support-7",
        "sip-abc-2",
        "front",
    ),
    (
        "acme",
        "zz-0003",
        "+44 20 7946 0958",
        "sales-room",
        "SIP-Q-3",
        "night",
    ),
    ("acme", "yy-0004", "1234", "room-1234", "1234-sip", "night"),
    (
        "globex",
        "abcdef12-globex",
        "+1 555 999 1234",
        "room-sales-9",
        "sip-xyz-9",
        "front",
    ),
    ("acme", "xx-0005", "", "", "", ""),
];

async fn seeded(storage: &Storage) {
    let events: Vec<CallEvent> = CALLS
        .iter()
        .enumerate()
        .map(|(n, (tenant, id, phone, room, sip, agent))| {
            let text = |value: &str| (!value.is_empty()).then(|| value.to_owned());
            CallEvent {
                call: Some(CallFields {
                    phone_number: text(phone),
                    livekit_room_name: text(room),
                    sip_call_id: text(sip),
                    agent_config_id: text(agent),
                    ..CallFields::default()
                }),
                ..CallEvent::new(
                    EventType::CallStarted,
                    *tenant,
                    *id,
                    datetime!(2026-11-21 10:00 UTC) + time::Duration::minutes(n as i64),
                )
            }
        })
        .collect();
    let incoming = Incoming::all(events, app::dto::call_detail::EventSource::Http);
    storage.write_batch(&incoming).await.unwrap();
}

async fn found(storage: &Storage, tenant: Option<&str>, query: CallsQuery) -> Vec<String> {
    let filter = call_filter(&query).unwrap();
    let mut ids: Vec<String> = storage
        .list_calls(tenant, &filter, None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.id)
        .collect();
    ids.sort();
    ids
}

fn q(text: &str) -> CallsQuery {
    CallsQuery {
        q: Some(text.to_owned()),
        ..CallsQuery::default()
    }
}

#[tokio::test]
async fn search_finds_calls_by_id_number_room_and_sip_id_on_both_backends() {
    for db in each_backend().await {
        let storage = db.open().await;
        seeded(&storage).await;
        let acme = Some("acme");
        for (text, expected) in [
            // The last four digits, however the number was written; not globex's 1234.
            ("1234", vec!["abcdef12-0001", "yy-0004"]),
            ("010-1234", vec!["abcdef12-0001"]),
            ("5550109876", vec!["abcdef13-0002"]),
            ("+1 555 010 9876", vec!["abcdef13-0002"]),
            ("7946 0958", vec!["zz-0003"]),
            // Fewer than four digits: not a number search.
            ("234", vec![]),
            // Id prefixes.
            ("abcdef1", vec!["abcdef12-0001", "abcdef13-0002"]),
            ("abcdef12", vec!["abcdef12-0001"]),
            ("zz-0003", vec!["zz-0003"]),
            // Room names and SIP call ids, exact or prefix; case counts.
            ("room-s", vec!["abcdef12-0001", "abcdef13-0002"]),
            ("sales-room", vec!["zz-0003"]),
            ("sip-xyz", vec!["abcdef12-0001"]),
            ("SIP-Q-3", vec!["zz-0003"]),
            ("sip-q", vec![]),
            // A prefix that is no prefix of anything.
            ("nothing", vec![]),
        ] {
            assert_eq!(
                found(&storage, acme, q(text)).await,
                expected,
                "q={text:?} on {}",
                db.url()
            );
        }
        // Every tenant's calls, for the roles that read them all.
        assert_eq!(
            found(&storage, None, q("abcdef12")).await,
            ["abcdef12-0001", "abcdef12-globex"]
        );
        // By agent, and with the older phone filter (digits the number contains).
        let by_agent = CallsQuery {
            agent: Some("night".to_owned()),
            ..CallsQuery::default()
        };
        assert_eq!(
            found(&storage, acme, by_agent).await,
            ["yy-0004", "zz-0003"]
        );
        let by_phone = CallsQuery {
            phone: Some("555".to_owned()),
            ..CallsQuery::default()
        };
        assert_eq!(
            found(&storage, acme, by_phone).await,
            ["abcdef12-0001", "abcdef13-0002"]
        );
    }
}

#[tokio::test]
async fn the_database_selects_what_the_pages_rule_matches() {
    for db in each_backend().await {
        let storage = db.open().await;
        seeded(&storage).await;
        let all: Vec<CallSummary> = storage
            .list_calls(None, &Default::default(), None, 100)
            .await
            .unwrap()
            .into_iter()
            .map(call_summary)
            .collect();
        for text in [
            "1234",
            "0958",
            "+1",
            "555",
            "room",
            "room-1234",
            "sip",
            "1234-sip",
            "abc",
            "a",
            "-",
            "(555)",
            "+44 20",
            "yy",
            "é",
            "\u{10FFFF}",
        ] {
            let query = q(text);
            let filter = query.filter().unwrap();
            let mut expected: Vec<String> = all
                .iter()
                .filter(|call| filter.matches(call))
                .map(|call| call.id.clone())
                .collect();
            expected.sort();
            assert_eq!(
                found(&storage, None, query).await,
                expected,
                "q={text:?} on {}",
                db.url()
            );
        }
    }
}

#[tokio::test]
async fn every_door_searches_and_refuses_what_cannot_be_a_search() {
    let app = spawn_app().await;
    seeded(&app.state.storage).await;
    let acme = app.token(Some("acme"));
    let response = app
        .get_as("/api/dashboard/recent-calls?q=1234", &acme)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let ids: Vec<&str> = body["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|call| call["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["yy-0004", "abcdef12-0001"]);

    let csv = app
        .get_as("/api/dashboard/calls.csv?q=1234", &acme)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(!csv.contains("globex"));

    // The page, without JavaScript: the box keeps what was searched, the list shows the match.
    let page = app
        .get_signed_in("/dashboard/realtime?q=abcdef13", Some("acme"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("value=\"abcdef13\""));
    let recent = page
        .split_once("data-testid=\"recent-calls\"")
        .map(|(_, rest)| rest)
        .unwrap();
    let recent = &recent[..recent.find("</table>").unwrap()];
    assert!(recent.contains("data-call-id=\"abcdef13-0002\""));
    assert!(!recent.contains("data-call-id=\"abcdef12-0001\""));

    for (query, field) in [
        (format!("q={}", "x".repeat(101)), "q"),
        ("q=a%01b".to_owned(), "q"),
        ("agent=a%20b".to_owned(), "agent"),
    ] {
        let response = app
            .get_as(&format!("/api/dashboard/recent-calls?{query}"), &acme)
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let body: Value = response.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains(field), "{body}");
    }
}
