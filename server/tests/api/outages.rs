//! Outages cost no human work (issue 22, finding 1): while the database is away, queued events
//! keep retrying without spending attempts, with a capped backoff; the queue drains by itself
//! once the database answers; reconciliation never closes a call whose event still waits in the
//! DLQ. On SQLite (held under an exclusive lock) and PostgreSQL (refusing connections).

use app::dto::admin::{FailureKind, RunStatus};
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::{
    live::bus::BusEvent,
    service::dlq_retry::{RetryResult, retry_due_dead_letters},
};
use time::{Duration, OffsetDateTime, format_description::well_known::Rfc3339};

use crate::{
    databases::each_backend,
    helpers::{TestApp, spawn_app_with},
};

fn at(offset: Duration) -> String {
    (OffsetDateTime::now_utc() + offset)
        .format(&Rfc3339)
        .unwrap()
}

fn ended(call_id: &str) -> Value {
    json!({"type": "call_ended", "user_id": "acme", "call_id": call_id, "at": at(Duration::ZERO),
           "outcome": "completed", "duration": 195})
}

/// `call_id` started 10 minutes ago and last beat 5 minutes ago: stale.
async fn stale_call(app: &TestApp, call_id: &str) {
    let events = json!([
        {"type": "call_started", "user_id": "acme", "call_id": call_id,
         "at": at(Duration::minutes(-10)), "call": {"agentConfigId": "agent-a"}},
        {"type": "heartbeat", "user_id": "acme", "call_id": call_id, "at": at(Duration::minutes(-5))},
    ]);
    assert_eq!(app.ingest(&events).await.status(), StatusCode::OK);
}

async fn only_letter(app: &TestApp) -> server::dlq::DeadLetter {
    let letters = app.state.dlq.list(10).await.unwrap();
    assert_eq!(letters.len(), 1, "{letters:?}");
    letters.into_iter().next().unwrap()
}

/// Asks for a retry now and runs a pass (the server's own retrier may take the entry first).
async fn retry_once(app: &TestApp, id: i64) {
    assert!(app.state.dlq.retry_now(id).await.unwrap());
    for retried in retry_due_dead_letters(&app.state).await.unwrap() {
        assert!(
            matches!(retried.result, RetryResult::Outage(_)),
            "{retried:?}"
        );
    }
}

#[tokio::test]
async fn an_outage_spends_no_attempts_and_the_queue_drains_when_the_database_is_back() {
    for db in each_backend().await {
        let url = db.url().to_owned();
        let app = spawn_app_with(|config| config.database_url = url).await;
        stale_call(&app, "call-1").await;

        let outage = db.outage().await;
        let response = app.ingest(&ended("call-1")).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED, "{}", db.url());
        let letter = only_letter(&app).await;
        assert_eq!(letter.kind, FailureKind::Outage, "{}", letter.error);
        assert_eq!(letter.attempts, 0);

        // More retries than the refusal budget (3) fail while it lasts (the server's own
        // retrier may be the one to run each): none is spent and the entry never turns final.
        for _ in 0..4 {
            let asked = OffsetDateTime::now_utc();
            retry_once(&app, letter.id).await;
            let entry = app.state.dlq.get(letter.id).await.unwrap().unwrap();
            assert!(entry.updated_at > asked, "retried since");
            assert_eq!((entry.kind, entry.attempts), (FailureKind::Outage, 0));
            // Never final through an outage, and never put off past the cap (the server's own
            // probe may have made it due at once).
            let next = entry.next_retry_at.expect("never final through an outage");
            let wait = (next - entry.updated_at).whole_seconds();
            assert!((0..=300).contains(&wait), "{wait}");
        }

        // The database is back: the server's own probe goes through and the queue drains,
        // nobody acting.
        let mut bus = app.state.bus.subscribe();
        outage.end().await;
        tokio::time::timeout(std::time::Duration::from_secs(30), async {
            while app.state.dlq.depth().await.unwrap() != 0 {
                while !matches!(bus.recv().await.unwrap(), BusEvent::DlqChanged { .. }) {}
            }
        })
        .await
        .expect("the queue drains by itself within 30 s of the database's return");
        let row = app.state.storage.call("call-1").await.unwrap().unwrap();
        assert_eq!(
            (row.outcome.as_deref(), row.duration),
            (Some("completed"), Some(195)),
            "{}",
            db.url()
        );
    }
}

#[tokio::test]
async fn outage_waits_double_up_to_five_minutes() {
    let app = spawn_app_with(|_| {}).await;
    stale_call(&app, "call-1").await;
    app.state.ingestor.injector().set_percent(100);
    app.ingest(&ended("call-1")).await;
    let id = only_letter(&app).await.id;
    let mut waits = Vec::new();
    for _ in 0..8 {
        app.state
            .dlq
            .record_failure(id, "database unavailable", FailureKind::Outage)
            .await
            .unwrap();
        let entry = app.state.dlq.get(id).await.unwrap().unwrap();
        assert_eq!(entry.attempts, 0);
        waits.push((entry.next_retry_at.unwrap() - entry.updated_at).whole_seconds());
    }
    assert_eq!(waits, [5, 10, 20, 40, 80, 160, 300, 300]);
    // A refusal after the outage spends attempts as before: 10 s, 20 s, then final.
    for expected in [Some(10), Some(20), None] {
        app.state
            .dlq
            .record_failure(id, "constraint", FailureKind::Refusal)
            .await
            .unwrap();
        let entry = app.state.dlq.get(id).await.unwrap().unwrap();
        assert_eq!(entry.kind, FailureKind::Refusal);
        let wait = entry
            .next_retry_at
            .map(|next| (next - entry.updated_at).whole_seconds());
        assert_eq!(wait, expected);
    }
}

/// Runs reconciliation for an admin and waits for its end.
async fn reconcile(app: &TestApp) -> (RunStatus, Value) {
    let started = server::service::reconcile::start(
        &app.state,
        app::dto::admin::ReconciliationTrigger::Admin,
        Some("tests"),
    )
    .await
    .unwrap();
    let summary = started.finished.unwrap().await.unwrap();
    let run = app
        .admin_json(&format!("/api/admin/reconciliation/{}", summary.id))
        .await;
    (summary.status, run)
}

fn repairs_of(run: &Value, call_id: &str) -> Vec<String> {
    run["touched"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["call_id"] == call_id)
        .map(|item| item["repair"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn reconciliation_never_closes_a_call_whose_event_the_dlq_still_retries() {
    for db in each_backend().await {
        let url = db.url().to_owned();
        let app = spawn_app_with(|config| config.database_url = url).await;
        stale_call(&app, "waiting").await;
        stale_call(&app, "given-up").await;
        app.state.ingestor.injector().set_percent(100);
        assert_eq!(
            app.ingest(&ended("waiting")).await.status(),
            StatusCode::ACCEPTED
        );
        let heartbeat = json!({"type": "heartbeat", "user_id": "acme", "call_id": "given-up",
                               "at": at(Duration::minutes(-4))});
        assert_eq!(app.ingest(&heartbeat).await.status(), StatusCode::ACCEPTED);
        let letters = app.state.dlq.list(10).await.unwrap();
        let given_up = letters.iter().find(|l| l.call_id == "given-up").unwrap();
        app.state
            .dlq
            .mark_final(given_up.id, "refused for good")
            .await
            .unwrap();

        // Still failing: the call whose end waits stays open; a final failure holds nothing.
        let (status, run) = reconcile(&app).await;
        assert_eq!(status, RunStatus::Succeeded, "{run}");
        assert_eq!(repairs_of(&run, "waiting"), ["stale_deferred"], "{run}");
        assert!(
            app.state
                .storage
                .call("waiting")
                .await
                .unwrap()
                .unwrap()
                .is_active()
        );
        let closed = app.state.storage.call("given-up").await.unwrap().unwrap();
        assert_eq!(closed.outcome.as_deref(), Some("stale"));

        // Writes work again and the entry is due: the run applies it before anything else.
        app.state.ingestor.injector().set_percent(0);
        let id = letters.iter().find(|l| l.call_id == "waiting").unwrap().id;
        assert!(app.state.dlq.retry_now(id).await.unwrap());
        let (status, run) = reconcile(&app).await;
        assert_eq!(status, RunStatus::Succeeded, "{run}");
        assert_eq!(repairs_of(&run, "waiting"), ["dlq_retried"], "{run}");
        let row = app.state.storage.call("waiting").await.unwrap().unwrap();
        assert_eq!(
            (row.outcome.as_deref(), row.duration),
            (Some("completed"), Some(195))
        );
    }
}
