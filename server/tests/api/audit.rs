//! The audit log on SQLite and PostgreSQL: every operator action recorded with who, role,
//! target, result and address; listed newest first a page at a time; changed by nobody — not
//! through the API, not even in SQL.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use server::{
    domain::audit::{
        Action, Actor, ClientAddr, Entry, SIGN_IN_FAILURES_PER_MINUTE, SignInFailureLog,
    },
    domain::users::{self, NewUser, Role},
    storage::Pool,
};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use crate::{
    databases::each_backend,
    helpers::{TestApp, spawn_app, spawn_app_with},
};

async fn send_as_admin(app: &TestApp, method: Method, path: &str) -> (StatusCode, Value) {
    let response = app
        .client
        .request(method, app.url(path))
        .bearer_auth(app.token(None))
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

/// Two events in the DLQ (every write failing on purpose meanwhile); their message ids.
async fn two_dead_letters(app: &TestApp) -> (i64, i64) {
    app.state.ingestor.injector().set_percent(100);
    let now = OffsetDateTime::now_utc().format(&Rfc3339).unwrap();
    for id in ["lost-1", "lost-2"] {
        let event = json!({"type": "call_started", "user_id": "acme", "call_id": id, "at": now});
        assert_eq!(app.ingest(&event).await.status(), StatusCode::ACCEPTED);
    }
    app.state.ingestor.injector().set_percent(0);
    let dlq = app.admin_json("/api/admin/dlq").await;
    let id = |index: usize| dlq["messages"][index]["id"].as_i64().unwrap();
    (id(0), id(1))
}

#[tokio::test]
async fn every_operator_action_is_recorded_on_both_backends() {
    for db in each_backend().await {
        let url = db.url().to_owned();
        let app = spawn_app_with(|config| config.database_url = url).await;
        let (first, second) = two_dead_letters(&app).await;

        let post = Method::POST;
        let retried =
            send_as_admin(&app, post.clone(), &format!("/api/admin/dlq/{first}/retry")).await;
        assert_eq!(retried.0, StatusCode::OK);
        let missing = send_as_admin(&app, post.clone(), "/api/admin/dlq/999999/retry").await;
        assert_eq!(missing.0, StatusCode::NOT_FOUND);
        let discarded =
            send_as_admin(&app, Method::DELETE, &format!("/api/admin/dlq/{second}")).await;
        assert_eq!(discarded.0, StatusCode::OK);
        let all = send_as_admin(&app, post.clone(), "/api/admin/dlq/retry").await;
        assert_eq!(all.0, StatusCode::OK);
        let (status, run) = send_as_admin(&app, post, "/api/admin/reconciliation/trigger").await;
        assert_eq!(status, StatusCode::ACCEPTED);
        let wrong = app
            .client
            .post(app.url("/api/auth/token"))
            .json(&json!({"email": "Nobody@Example.test", "password": "not the password"}))
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        let user = NewUser {
            email: "new-admin@example.test".to_owned(),
            role: Role::Admin,
            tenant: None,
        };
        users::add_user(
            &app.state.storage,
            &user,
            "a long enough password",
            Actor::cli(Some("ops".to_owned())),
        )
        .await
        .unwrap();

        let log = app.admin_json("/api/admin/audit").await;
        let entries = log["entries"].as_array().unwrap();
        let summary: Vec<(&str, &str, &str)> = entries
            .iter()
            .map(|entry| {
                (
                    entry["action"].as_str().unwrap(),
                    entry["actor"].as_str().unwrap(),
                    entry["result"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("user.add", "cli:ops", "ok"),
                ("auth.sign_in_failed", "nobody@example.test", "refused"),
                ("reconciliation.trigger", "tests", "ok"),
                ("dlq.retry_all", "tests", "ok"),
                ("dlq.discard", "tests", "ok"),
                ("dlq.retry", "tests", "not_found"),
                ("dlq.retry", "tests", "ok"),
            ],
            "newest first, on {}",
            db.url()
        );
        let entry = |action: &str, result: &str| {
            entries
                .iter()
                .find(|entry| entry["action"] == action && entry["result"] == result)
                .unwrap()
                .clone()
        };
        let retry = entry("dlq.retry", "ok");
        assert_eq!(retry["role"], "admin");
        assert_eq!(retry["target"], first.to_string());
        assert_eq!(retry["client_addr"], "127.0.0.1");
        assert!(retry["at"].is_string());
        let discard = entry("dlq.discard", "ok");
        assert_eq!(discard["target"], second.to_string());
        assert_eq!(
            discard["detail"]["call_id"], "lost-2",
            "what was discarded is kept"
        );
        assert_eq!(entry("dlq.retry_all", "ok")["detail"]["affected"], 1);
        assert_eq!(
            entry("reconciliation.trigger", "ok")["target"],
            run["run_id"]
        );
        let sign_in = entry("auth.sign_in_failed", "refused");
        assert_eq!(
            (&sign_in["role"], &sign_in["client_addr"]),
            (&json!("anonymous"), &json!("127.0.0.1"))
        );
        let added = entry("user.add", "ok");
        assert_eq!(
            (&added["role"], &added["target"], &added["detail"]["role"]),
            (
                &json!("cli"),
                &json!("new-admin@example.test"),
                &json!("admin")
            )
        );

        // A page at a time.
        let page = app.admin_json("/api/admin/audit?limit=3").await;
        assert_eq!(page["entries"].as_array().unwrap().len(), 3);
        let cursor = page["next_cursor"].as_str().unwrap();
        let next = app
            .admin_json(&format!("/api/admin/audit?limit=5&cursor={cursor}"))
            .await;
        assert_eq!(next["entries"][0]["action"], "dlq.retry_all");
        assert_eq!(next["entries"].as_array().unwrap().len(), 4);
        assert_eq!(next["next_cursor"], Value::Null);
        let bad = app
            .get_as("/api/admin/audit?cursor=x", &app.token(None))
            .await;
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn nobody_can_change_the_audit_log() {
    for db in each_backend().await {
        let url = db.url().to_owned();
        let app = spawn_app_with(|config| config.database_url = url).await;
        let (status, _) = send_as_admin(&app, Method::POST, "/api/admin/dlq/retry").await;
        assert_eq!(status, StatusCode::OK);
        let before = app.admin_json("/api/admin/audit").await;
        assert_eq!(before["entries"].as_array().unwrap().len(), 1);

        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            let (status, body) = send_as_admin(&app, method.clone(), "/api/admin/audit").await;
            assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
            assert_eq!(body["success"], false);
        }
        let (status, _) = send_as_admin(&app, Method::DELETE, "/api/admin/audit/1").await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // Not even SQL on the server's own connection changes an entry.
        for statement in [
            "UPDATE audit_log SET result = 'forged'",
            "DELETE FROM audit_log",
        ] {
            let refused = match app.state.storage.pool() {
                Pool::Sqlite(pool) => sqlx::raw_sql(statement).execute(pool).await.map(drop),
                Pool::Postgres(pool) => sqlx::raw_sql(statement).execute(pool).await.map(drop),
            };
            let error = refused.unwrap_err().to_string();
            assert!(error.contains("append-only"), "{statement}: {error}");
        }
        assert_eq!(
            app.admin_json("/api/admin/audit").await["entries"],
            before["entries"]
        );
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn failed_sign_ins_cannot_flood_the_log() {
    let app = spawn_app().await;
    let log = SignInFailureLog::default();
    let attempts = SIGN_IN_FAILURES_PER_MINUTE + 5;
    for attempt in 0..attempts {
        let actor = Actor::anonymous(&format!("guess-{attempt}@example.test"));
        let entry =
            Entry::new(actor, Action::SignInFailed, ClientAddr::default()).result("refused");
        log.record(&app.state, None, entry).await;
    }
    let rows = app.state.storage.audit_log(None, 1000).await.unwrap();
    assert_eq!(rows.len(), SIGN_IN_FAILURES_PER_MINUTE as usize);
}

#[tokio::test]
async fn a_throttled_sign_in_is_recorded_as_such() {
    let app = spawn_app().await;
    let mut last = StatusCode::OK;
    // Past the per-email allowance the answer is 429, and the log says "throttled".
    for _ in 0..12 {
        last = app
            .client
            .post(app.url("/api/auth/token"))
            .json(&json!({"email": "ops@example.test", "password": "guess guess guess"}))
            .send()
            .await
            .unwrap()
            .status();
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    let log = app.admin_json("/api/admin/audit?limit=1").await;
    assert_eq!(log["entries"][0]["result"], "throttled");
    assert_eq!(log["entries"][0]["target"], "ops@example.test");
}
