//! Reconciliation on SQLite and PostgreSQL: each repair arranged for real and checked after the
//! run (rows, rollup, registry, the run's record), a run failing half way, one run at a time
//! (also across two server processes), the schedule, the admin and internal doors. The Redis
//! repairs (backfill, live keys, abandoned DLQ claims) are in `redis.rs`.

use app::dto::{
    admin::{ReconciliationSummary, RunStatus},
    live::{Push, ServerMessage},
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::{
    live::bus::{BusEvent, CallChange},
    runtime::config::TEST_INTERNAL_KEY,
    storage::{
        Pool, Storage,
        operations::{ABANDONED, NewRun, RunClaim},
        record::utc,
    },
};
use time::{Duration, OffsetDateTime, format_description::well_known::Rfc3339};
use tokio::sync::broadcast;

use crate::{
    databases::{TestDatabase, each_backend, services_required},
    helpers::{TestApp, spawn_app, spawn_app_with},
    live_clients::{ServerProcess, ws_connect, ws_url},
};

fn at(offset: Duration) -> String {
    (OffsetDateTime::now_utc() + offset)
        .format(&Rfc3339)
        .unwrap()
}

async fn post(app: &TestApp, path: &str, token: &str) -> (StatusCode, Value) {
    let response = app
        .client
        .post(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

/// Waits on `bus` for run `id` to finish.
async fn finished(bus: &mut broadcast::Receiver<BusEvent>, id: &str) -> ReconciliationSummary {
    loop {
        if let BusEvent::ReconciliationRun(run) = bus.recv().await.unwrap()
            && run.id == id
            && run.status != RunStatus::Running
        {
            return run;
        }
    }
}

/// Triggers a run as an admin over HTTP and waits for its end.
async fn run_as_admin(app: &TestApp) -> ReconciliationSummary {
    let mut bus = app.state.bus.subscribe();
    let (status, body) = post(app, "/api/admin/reconciliation/trigger", &app.token(None)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["already_running"], false);
    assert_eq!(body["task_id"], body["run_id"], "seed 002's name for it");
    finished(&mut bus, body["run_id"].as_str().unwrap()).await
}

/// Runs `sqlite` or `postgres`, whichever `storage` is.
async fn execute(storage: &Storage, sqlite: &str, postgres: &str) {
    match storage.pool() {
        Pool::Sqlite(pool) => {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sqlite))
                .execute(pool)
                .await
                .unwrap();
        }
        Pool::Postgres(pool) => {
            sqlx::raw_sql(sqlx::AssertSqlSafe(postgres))
                .execute(pool)
                .await
                .unwrap();
        }
    }
}

/// Rollup sums of one tenant by outcome (`""`: not ended): (calls, ended, duration sum).
async fn by_outcome(storage: &Storage, tenant: &str) -> Vec<(String, i64, i64, i64)> {
    let mut sums = std::collections::BTreeMap::<String, (i64, i64, i64)>::new();
    for (key, values) in storage.rollup(tenant).await.unwrap() {
        let sum = sums.entry(key.outcome).or_default();
        sum.0 += values.calls;
        sum.1 += values.ended;
        sum.2 += values.duration_sum;
    }
    sums.into_iter()
        .filter(|(_, (calls, _, _))| *calls != 0)
        .map(|(outcome, (calls, ended, duration))| (outcome, calls, ended, duration))
        .collect()
}

/// `silent` started 10 min ago and last beat 5 min ago (stale); `fresh` beats now.
async fn arrange_calls(app: &TestApp) {
    let events = json!([
        {"type": "call_started", "user_id": "acme", "call_id": "silent", "at": at(Duration::minutes(-10)),
         "call": {"phoneNumber": "+12025550100", "agentConfigId": "agent-a"}},
        {"type": "heartbeat", "user_id": "acme", "call_id": "silent", "at": at(Duration::minutes(-5))},
        {"type": "call_started", "user_id": "acme", "call_id": "fresh", "at": at(Duration::minutes(-10)),
         "call": {"agentConfigId": "agent-a"}},
        {"type": "heartbeat", "user_id": "acme", "call_id": "fresh", "at": at(Duration::ZERO)},
    ]);
    assert_eq!(app.ingest(&events).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn stale_calls_are_closed_through_the_write_path_on_both_backends() {
    for db in each_backend().await {
        let url = db.url().to_owned();
        let app = spawn_app_with(|config| config.database_url = url).await;
        arrange_calls(&app).await;
        assert_eq!(
            by_outcome(&app.state.storage, "acme").await,
            [(String::new(), 2, 0, 0)]
        );
        let mut bus = app.state.bus.subscribe();

        let run = run_as_admin(&app).await;
        assert_eq!(run.status, RunStatus::Succeeded, "{run:?} on {}", db.url());
        assert_eq!(
            (
                run.stale_closed,
                run.backfilled,
                run.live_cleared,
                run.dlq_retried
            ),
            (1, 0, 0, 0)
        );
        assert_eq!(run.triggered_by.as_deref(), Some("tests"));

        // Closed at its last heartbeat, with its duration up to then.
        let silent = app.state.storage.call("silent").await.unwrap().unwrap();
        assert_eq!(silent.status.as_deref(), Some("ended"));
        assert_eq!(silent.outcome.as_deref(), Some("stale"));
        assert_eq!(silent.ended_at, silent.last_heartbeat_at);
        assert_eq!(silent.duration, Some(300));
        // Its page says who closed it, and why.
        let timeline = app
            .state
            .storage
            .call_timeline(None, "silent")
            .await
            .unwrap()
            .unwrap();
        let closing = timeline.events.last().unwrap();
        assert_eq!(
            (closing.event_type.as_str(), closing.source.as_str()),
            ("call_ended", "reconciliation")
        );
        let reason = timeline.call.tally.end_reason;
        assert_eq!(reason.as_deref(), Some("heartbeats_stopped"));
        let fresh = app.state.storage.call("fresh").await.unwrap().unwrap();
        assert_eq!(fresh.status.as_deref(), Some("active"));
        // The rollup moved the call from "in progress" to "stale", with its duration.
        assert_eq!(
            by_outcome(&app.state.storage, "acme").await,
            [(String::new(), 1, 0, 0), ("stale".to_owned(), 1, 1, 300)]
        );
        // The registry and the bus heard it like any ended call.
        let live: Vec<String> = app.state.registry.ids();
        assert_eq!(live, ["fresh"]);
        loop {
            if let BusEvent::Call { change, call } = bus.recv().await.unwrap() {
                assert_eq!((change, call.id.as_str()), (CallChange::Ended, "silent"));
                break;
            }
        }

        // The record: status, history and what it touched.
        let status = app.admin_json("/api/admin/reconciliation").await;
        assert_eq!(status["last_run"]["id"], run.id.as_str());
        assert_eq!(status["last_run"]["stale_closed"], 1);
        assert_eq!(status["last_run"]["trigger"], "admin");
        assert_eq!(status["running"], Value::Null);
        assert_eq!(status["runs"][0]["id"], run.id.as_str());
        let detail = app
            .admin_json(&format!("/api/admin/reconciliation/{}", run.id))
            .await;
        assert_eq!(detail["touched"][0]["repair"], "stale_closed");
        assert_eq!(detail["touched"][0]["call_id"], "silent");
        assert_eq!(detail["touched"][0]["user_id"], "acme");
        assert_eq!(detail["touched_truncated"], false);
        // The ops card reads the same run.
        let health = app.admin_json("/api/admin/health").await;
        assert_eq!(health["last_reconciliation"]["id"], run.id.as_str());

        // A second run finds nothing left to do.
        let again = run_as_admin(&app).await;
        assert_eq!(
            (again.status, again.stale_closed),
            (RunStatus::Succeeded, 0)
        );
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn a_run_failing_half_way_changes_nothing_and_is_recorded_failed() {
    for db in each_backend().await {
        let url = db.url().to_owned();
        let app = spawn_app_with(|config| config.database_url = url).await;
        arrange_calls(&app).await;
        let stuck = json!([
            {"type": "call_started", "user_id": "acme", "call_id": "stuck", "at": at(Duration::minutes(-9))},
        ]);
        assert_eq!(app.ingest(&stuck).await.status(), StatusCode::OK);
        let before = by_outcome(&app.state.storage, "acme").await;
        // The database refuses to change one of the two stale calls, in the middle of the
        // run's transaction.
        execute(
            &app.state.storage,
            "CREATE TRIGGER refuse_stuck BEFORE UPDATE ON call_logs WHEN NEW.id = 'stuck' \
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;",
            "CREATE FUNCTION refuse_stuck() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN IF NEW.id = 'stuck' THEN RAISE EXCEPTION 'refused by the test'; END IF; \
             RETURN NEW; END; $$; \
             CREATE TRIGGER refuse_stuck BEFORE UPDATE ON call_logs \
             FOR EACH ROW EXECUTE FUNCTION refuse_stuck();",
        )
        .await;

        let failed = run_as_admin(&app).await;
        assert_eq!(failed.status, RunStatus::Failed, "on {}", db.url());
        assert!(
            failed
                .error
                .as_deref()
                .unwrap()
                .contains("refused by the test"),
            "{failed:?}"
        );
        assert_eq!(failed.stale_closed, 0);
        for id in ["silent", "stuck"] {
            let row = app.state.storage.call(id).await.unwrap().unwrap();
            assert_eq!(row.status.as_deref(), Some("active"), "{id} untouched");
        }
        assert_eq!(by_outcome(&app.state.storage, "acme").await, before);
        assert_eq!(app.state.registry.len(), 3);
        let status = app.admin_json("/api/admin/reconciliation").await;
        assert_eq!(status["last_run"]["status"], "failed");
        let health = app.admin_json("/api/admin/health").await;
        assert!(
            health["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .any(|reason| reason.as_str().unwrap().contains("reconciliation failed")),
            "{health}"
        );

        // Once the obstacle is gone the next run does it all.
        execute(
            &app.state.storage,
            "DROP TRIGGER refuse_stuck;",
            "DROP TRIGGER refuse_stuck ON call_logs;",
        )
        .await;
        let run = run_as_admin(&app).await;
        assert_eq!((run.status, run.stale_closed), (RunStatus::Succeeded, 2));
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn one_run_at_a_time_and_an_abandoned_run_does_not_block() {
    for db in each_backend().await {
        let url = db.url().to_owned();
        let app = spawn_app_with(|config| config.database_url = url).await;
        // Another instance holds a run and keeps its lease.
        let now = OffsetDateTime::now_utc();
        let holder = NewRun {
            id: "held-elsewhere",
            trigger: "schedule",
            triggered_by: None,
            started_at: utc(now),
            lease_until: utc(now + Duration::minutes(1)),
        };
        let (claim, _) = app
            .state
            .storage
            .claim_reconciliation(&holder)
            .await
            .unwrap();
        assert_eq!(claim, RunClaim::Started);

        let (status, body) =
            post(&app, "/api/admin/reconciliation/trigger", &app.token(None)).await;
        assert_eq!(status, StatusCode::ACCEPTED);
        assert_eq!(
            (&body["run_id"], &body["already_running"]),
            (&json!("held-elsewhere"), &json!(true))
        );
        let status = app.admin_json("/api/admin/reconciliation").await;
        assert_eq!(status["running"]["id"], "held-elsewhere");

        // That instance dies: its lease lapses, and the next trigger marks its run failed and
        // starts a new one.
        let lapsed = utc(OffsetDateTime::now_utc() - Duration::seconds(1));
        assert!(
            app.state
                .storage
                .renew_reconciliation("held-elsewhere", lapsed)
                .await
                .unwrap()
        );
        let run = run_as_admin(&app).await;
        assert_ne!(run.id, "held-elsewhere");
        assert_eq!(run.status, RunStatus::Succeeded);
        let abandoned = app
            .state
            .storage
            .reconciliation("held-elsewhere")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (abandoned.status.as_str(), abandoned.error.as_deref()),
            ("failed", Some(ABANDONED))
        );
        assert!(abandoned.finished_at.is_some());
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn the_history_pages_newest_first_and_refuses_bad_input() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(run_as_admin(&app).await.id);
    }
    ids.reverse();
    let first = app.admin_json("/api/admin/reconciliation?limit=2").await;
    let page: Vec<&str> = first["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|run| run["id"].as_str().unwrap())
        .collect();
    assert_eq!(page, ids[..2]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .admin_json(&format!(
            "/api/admin/reconciliation?limit=2&cursor={cursor}"
        ))
        .await;
    assert_eq!(second["runs"].as_array().unwrap().len(), 1);
    assert_eq!(second["runs"][0]["id"], ids[2].as_str());
    assert_eq!(second["next_cursor"], Value::Null);

    let admin = app.token(None);
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("cursor=nonsense", "cursor"),
    ] {
        let response = app
            .get_as(&format!("/api/admin/reconciliation?{query}"), &admin)
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["field"], field);
    }
    let response = app
        .get_as("/api/admin/reconciliation/no-such-run", &admin)
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["success"], false);
}

#[tokio::test]
async fn tenants_can_neither_read_nor_trigger_runs() {
    let app = spawn_app().await;
    let tenant = app.token(Some("acme"));
    let (status, body) = post(&app, "/api/admin/reconciliation/trigger", &tenant).await;
    assert_eq!(
        (status, &body["code"]),
        (StatusCode::FORBIDDEN, &json!("forbidden"))
    );
    for path in ["/api/admin/reconciliation", "/api/admin/audit"] {
        assert_eq!(
            app.get_as(path, &tenant).await.status(),
            StatusCode::FORBIDDEN,
            "{path}"
        );
        assert_eq!(
            app.get(path).await.status(),
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
    }
    let runs = app.state.storage.reconciliations(None, 10).await.unwrap();
    assert!(runs.is_empty(), "nothing ran");
}

const INTERNAL: &str = "/api/v1/internal/admin/reconciliation";

#[tokio::test]
async fn the_internal_paths_exist_only_with_a_key_and_need_it() {
    let closed = spawn_app().await;
    for (method, path) in [("POST", "trigger"), ("GET", "status")] {
        let request = closed
            .client
            .request(
                method.parse().unwrap(),
                closed.url(&format!("{INTERNAL}/{path}")),
            )
            .header("x-internal-api-key", "anything");
        let response = request.send().await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::NOT_FOUND,
            "{path} without a key set"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "not_found");
    }

    let app = spawn_app_with(|config| {
        config.internal_api_key = Some(TEST_INTERNAL_KEY.to_owned());
    })
    .await;
    let trigger = app.url(&format!("{INTERNAL}/trigger"));
    let no_key = app.client.post(&trigger).send().await.unwrap();
    assert_eq!(no_key.status(), StatusCode::UNAUTHORIZED);
    let wrong = app
        .client
        .post(&trigger)
        .header("x-internal-api-key", &TEST_INTERNAL_KEY[1..])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    // An admin's token is not the internal key.
    let token = app
        .client
        .post(&trigger)
        .bearer_auth(app.token(None))
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), StatusCode::UNAUTHORIZED);

    let mut bus = app.state.bus.subscribe();
    let right = app
        .client
        .post(&trigger)
        .header("x-internal-api-key", TEST_INTERNAL_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), StatusCode::ACCEPTED);
    let body: Value = right.json().await.unwrap();
    let run = finished(&mut bus, body["task_id"].as_str().unwrap()).await;
    assert_eq!(
        run.trigger,
        app::dto::admin::ReconciliationTrigger::Internal
    );
    assert_eq!(run.triggered_by.as_deref(), Some("internal-api-key"));

    let status = app
        .client
        .get(app.url(&format!("{INTERNAL}/status")))
        .bearer_auth(TEST_INTERNAL_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), StatusCode::OK);
    let status: Value = status.json().await.unwrap();
    assert_eq!(status["last_run"]["id"], run.id.as_str());
    assert_eq!(status["last_run"]["status"], "succeeded");
    assert_eq!(status["last_run"]["trigger"], "internal");
}

#[tokio::test]
async fn the_schedule_starts_runs_by_itself() {
    let app = spawn_app_with(|config| {
        config.reconcile_interval = std::time::Duration::from_secs(3600);
    })
    .await;
    // Nothing ran yet on a new database, so the first check finds a run due. The run may have
    // begun before this test subscribed: wait for its end on the bus, or find it recorded.
    let mut bus = app.state.bus.subscribe();
    let recorded = app.state.storage.last_reconciliation().await.unwrap();
    let run = match recorded {
        Some(run) => run.id,
        None => loop {
            if let BusEvent::ReconciliationRun(run) = bus.recv().await.unwrap()
                && run.status != RunStatus::Running
            {
                break run.id;
            }
        },
    };
    let row = app
        .state
        .storage
        .reconciliation(&run)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((row.trigger.as_str(), row.triggered_by), ("schedule", None));
    // Within the hour, another check starts nothing.
    server::service::reconcile::run_if_due(&app.state, std::time::Duration::from_secs(3600))
        .await
        .unwrap();
    let runs = app.state.storage.reconciliations(None, 10).await.unwrap();
    assert_eq!(runs.len(), 1);
}

#[tokio::test]
async fn two_server_processes_triggered_at_once_run_once() {
    let Some(db) = TestDatabase::postgres().await else {
        assert!(!services_required());
        return;
    };
    let args = ["--database-url", db.url(), "--reconcile-interval-secs", "0"];
    let a = ServerProcess::start(&args).await;
    let b = ServerProcess::start(&args).await;
    let client = reqwest::Client::new();
    a.ingest(
        &json!({"type": "call_started", "user_id": "acme", "call_id": "silent",
                      "at": at(Duration::minutes(-10))}),
    )
    .await;

    // Hold the stale call's row: whichever run claims first stays running until released.
    let storage = Storage::connect(db.url()).await.unwrap();
    let Pool::Postgres(pool) = storage.pool() else {
        unreachable!("a PostgreSQL URL")
    };
    let mut lock = pool.begin().await.unwrap();
    sqlx::query("SELECT id FROM call_logs WHERE id = 'silent' FOR UPDATE")
        .execute(&mut *lock)
        .await
        .unwrap();

    let trigger = |process: &ServerProcess| {
        client
            .post(format!("http://{}{INTERNAL}/trigger", process.addr))
            .header("x-internal-api-key", TEST_INTERNAL_KEY)
            .send()
    };
    let (on_a, on_b) = tokio::join!(trigger(&a), trigger(&b));
    let (on_a, on_b): (Value, Value) = (
        on_a.unwrap().json().await.unwrap(),
        on_b.unwrap().json().await.unwrap(),
    );
    assert_eq!(on_a["run_id"], on_b["run_id"], "{on_a} {on_b}");
    let mut started = [&on_a, &on_b].map(|body| body["already_running"].as_bool().unwrap());
    started.sort_unstable();
    assert_eq!(started, [false, true], "one started it, the other was told");

    // Watch the run's end where it runs, then let it go on.
    let runner = if on_a["already_running"] == false {
        &a
    } else {
        &b
    };
    let mut admin = ws_connect(&ws_url(runner.addr, &[]), &ServerProcess::token(None))
        .await
        .unwrap();
    let id = on_a["run_id"].as_str().unwrap().to_owned();
    lock.rollback().await.unwrap();
    let ended = admin
        .recv_until(|message| {
            matches!(message, ServerMessage::Push {
                push: Push::ReconciliationUpdate(update), ..
            } if update.run.id == id && update.run.status != RunStatus::Running)
        })
        .await;
    let Some(ServerMessage::Push {
        push: Push::ReconciliationUpdate(update),
        ..
    }) = ended.last()
    else {
        unreachable!("recv_until stops at the message asked for")
    };
    assert_eq!(
        (update.run.status, update.run.stale_closed),
        (RunStatus::Succeeded, 1)
    );
    assert_eq!(storage.reconciliations(None, 10).await.unwrap().len(), 1);
}
