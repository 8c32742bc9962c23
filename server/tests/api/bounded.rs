//! Bounded by design whatever producers send (issue 22, finding 2): a call's stored metadata has
//! a size limit, refused per event; live pushes never carry metadata; live calls per tenant and
//! new tenants per minute are capped, each refusal for the event itself.

use reqwest::StatusCode;
use serde_json::{Value, json};
use server::ingest::Limits;

use crate::{
    databases::each_backend,
    helpers::{TestApp, spawn_app, spawn_app_with},
    live_clients::SocketIoClient,
};

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// `call_updated` adding key `turn-{n}`: a transcript growing turn by turn, 14 KB a turn.
fn turn(call_id: &str, n: usize) -> Value {
    json!({"type": "call_updated", "user_id": "acme", "call_id": call_id, "at": now(),
           "call": {"call_metadata": {format!("turn-{n}"): "x".repeat(14_000)}}})
}

async fn codes(app: &TestApp, body: &Value) -> Vec<Option<String>> {
    let reply: Value = app.ingest(body).await.json().await.unwrap();
    reply["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|result| result["code"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_producer_growing_metadata_is_refused_past_the_bound_and_nothing_else_is_lost() {
    for db in each_backend().await {
        let url = db.url().to_owned();
        let app = spawn_app_with(|config| config.database_url = url).await;
        let start =
            json!({"type": "call_started", "user_id": "acme", "call_id": "c1", "at": now()});
        assert_eq!(app.ingest(&start).await.status(), StatusCode::OK);
        let mut refused = 0;
        for n in 0..12 {
            // Each update shares its request with a heartbeat, which must be stored anyway.
            let beat =
                json!({"type": "heartbeat", "user_id": "acme", "call_id": "c1", "at": now()});
            let answer = codes(&app, &json!([turn("c1", n), beat])).await;
            match answer[0].as_deref() {
                None => assert_eq!(refused, 0, "stored after a refusal: turn {n}"),
                Some(code) => {
                    assert_eq!(code, "metadata_too_large");
                    refused += 1;
                }
            }
            assert_eq!(answer[1], None, "the heartbeat is stored");
        }
        // 64 KiB hold four such turns; the other eight were refused, each for itself.
        assert_eq!(refused, 8, "{}", db.url());
        let row = app.state.storage.call("c1").await.unwrap().unwrap();
        let metadata = row.call_metadata.unwrap().0;
        assert_eq!(metadata.as_object().unwrap().len(), 4);
        assert!(serde_json::to_vec(&metadata).unwrap().len() <= 64 * 1024);
        assert!(row.last_heartbeat_at.is_some());
    }
}

#[tokio::test]
async fn live_pushes_never_carry_a_calls_metadata() {
    let app = spawn_app().await;
    let auth = json!({"token": app.token(Some("acme"))});
    let Some(mut client) = SocketIoClient::connect(app.addr, auth, &["websocket"]).await else {
        return;
    };
    client.until("initial_state").await;
    let start = json!({"type": "call_started", "user_id": "acme", "call_id": "c1", "at": now(),
                       "call": {"phoneNumber": "+12025550100",
                                "call_metadata": {"transcript": "x".repeat(10_000)}}});
    assert_eq!(app.ingest(&start).await.status(), StatusCode::OK);
    let (event, _) = client.until("call_event").await;
    let call = event["call"].as_object().unwrap();
    assert_eq!(call["id"], "c1");
    assert_eq!(call["phoneNumber"], "+12025550100");
    assert!(!call.contains_key("call_metadata"), "{call:?}");
    // Reconnecting clients' state carries none either, though the row holds it.
    client.command(json!({"disconnect": true})).await;
    client.until("disconnect").await;
    client.command(json!({"connect": true})).await;
    let (initial, _) = client.until("initial_state").await;
    let recent = initial["recent_calls"].as_array().unwrap();
    assert_eq!(recent[0]["id"], "c1");
    assert!(recent[0].get("call_metadata").is_none(), "{recent:?}");
    // The REST API still has it.
    let rows = app
        .get_as(
            "/api/dashboard/recent-calls?limit=1",
            &app.token(Some("acme")),
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(
        rows["calls"][0]["call_metadata"]["transcript"]
            .as_str()
            .map(str::len),
        Some(10_000),
        "{rows}"
    );
}

#[tokio::test]
async fn live_calls_per_tenant_and_new_tenants_per_minute_are_capped() {
    let app = spawn_app_with(|config| {
        config.ingest_limits = Limits {
            max_live_calls_per_tenant: 2,
            new_tenants_per_minute: 2,
        };
    })
    .await;
    let start = |tenant: &str, call: &str| json!({"type": "call_started", "user_id": tenant, "call_id": call, "at": now()});
    let answer = codes(
        &app,
        &json!([
            start("acme", "a1"),
            start("acme", "a2"),
            start("acme", "a3"),
            start("globex", "g1")
        ]),
    )
    .await;
    assert_eq!(
        answer,
        [None, None, Some("live_call_limit".to_owned()), None]
    );
    // An ended call makes room.
    let end = json!({"type": "call_ended", "user_id": "acme", "call_id": "a1", "at": now(),
                     "outcome": "completed"});
    assert_eq!(codes(&app, &end).await, [None]);
    assert_eq!(codes(&app, &start("acme", "a3")).await, [None]);
    // acme and globex were new; a third new tenant this minute is refused, for itself.
    let answer = codes(
        &app,
        &json!([start("initech", "i1"), start("globex", "g2")]),
    )
    .await;
    assert_eq!(answer, [Some("tenant_limit".to_owned()), None]);
    assert!(app.state.storage.call("i1").await.unwrap().is_none());
}

#[tokio::test]
async fn ingest_bodies_in_flight_are_bounded_and_the_next_waits_its_turn() {
    use server::ingest::writer::BODIES_IN_FLIGHT;
    let app = spawn_app().await;
    let held = app
        .state
        .ingestor
        .body_room(BODIES_IN_FLIGHT)
        .await
        .unwrap();
    let start = json!({"type": "call_started", "user_id": "acme", "call_id": "c1", "at": now()});
    let mut waiting = Box::pin(app.ingest(&start));
    // While the budget is full, the request is not read (it cannot finish however long it
    // waits); once room is given back, it is served.
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(300), &mut waiting)
            .await
            .is_err()
    );
    assert!(app.state.storage.call("c1").await.unwrap().is_none());
    drop(held);
    assert_eq!(waiting.await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_csv_export_that_fails_mid_way_ends_so_a_client_can_tell() {
    let app = spawn_app().await;
    let start = json!({"type": "call_started", "user_id": "acme", "call_id": "c1", "at": now()});
    assert_eq!(app.ingest(&start).await.status(), StatusCode::OK);
    // The header row goes out before the first page is read; then the database fails.
    let server::storage::Pool::Sqlite(pool) = app.state.storage.pool() else {
        unreachable!("the test server is on SQLite")
    };
    sqlx::query("ALTER TABLE call_logs RENAME TO call_logs_away")
        .execute(pool)
        .await
        .unwrap();
    // Either the answer's head or its body fails: never a clean, complete file.
    let read = async {
        let response = app
            .client
            .get(app.url("/api/dashboard/calls.csv"))
            .bearer_auth(app.token(Some("acme")))
            .send()
            .await?;
        let status = response.status();
        response.bytes().await.map(|body| (status, body))
    }
    .await;
    assert!(
        read.is_err(),
        "a cut-short export must not read as a complete file: {read:?}"
    );
}
