//! Ingest throughput, over HTTP, into SQLite and PostgreSQL (`scripts/bench-ingest.sh`).
//!
//! A real server (release build, this process) and its load generator share the machine, as
//! the targets ask. Each scenario sends whole call lifecycles (started, two heartbeats, ended)
//! for 100 tenants, counts only events answered `stored`, and afterwards checks the database
//! holds every call, ended — so "fast" never means "lost".
//!
//! Scenarios: single-event requests from 64 concurrent senders; batches of 100 from 16 senders.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use server::{runtime::config::Config, runtime::startup::Application, runtime::state::AppState};
use sqlx::{Connection, PgConnection};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

const TENANTS: usize = 100;

fn lifecycle(call: usize, run: &str) -> [Value; 4] {
    let tenant = format!("tenant-{}", call % TENANTS);
    let id = format!("{run}-{call}");
    let at = |seconds: i64| {
        (OffsetDateTime::now_utc() - time::Duration::seconds(seconds))
            .format(&Rfc3339)
            .unwrap()
    };
    [
        json!({"type": "call_started", "user_id": tenant, "call_id": id, "at": at(120),
               "call": {"phoneNumber": "+12345678900", "direction": "inbound",
                        "agentConfigId": format!("agent-{}", call % 7), "livekitRoomName": format!("room-{id}")}}),
        json!({"type": "heartbeat", "user_id": tenant, "call_id": id, "at": at(100)}),
        json!({"type": "heartbeat", "user_id": tenant, "call_id": id, "at": at(80)}),
        json!({"type": "call_ended", "user_id": tenant, "call_id": id, "at": at(60), "outcome": "completed"}),
    ]
}

struct Server {
    url: String,
    state: AppState,
    _dir: tempfile::TempDir,
}

async fn start(database_url: Option<String>) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_tests(&dir.path().join("data"), &dir.path().join("site"));
    if let Some(url) = database_url {
        config.database_url = url;
    }
    let app = Application::build(config).await.unwrap();
    let url = format!("http://{}/api/v1/calls/events", app.local_addr());
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    Server {
        url,
        state,
        _dir: dir,
    }
}

/// Sends `calls` lifecycles from `senders` tasks, `batch` events per request; returns events/s.
async fn run(server: &Server, run: &str, calls: usize, senders: usize, batch: usize) -> f64 {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(senders)
        .build()
        .unwrap();
    let events: Vec<Value> = (0..calls).flat_map(|call| lifecycle(call, run)).collect();
    // Each sender takes whole calls, in order, so a call's events are sent in sequence.
    let per_sender: Vec<Vec<Value>> = (0..senders)
        .map(|sender| {
            events
                .chunks(4)
                .skip(sender)
                .step_by(senders)
                .flatten()
                .cloned()
                .collect()
        })
        .collect();
    let total: usize = per_sender.iter().map(Vec::len).sum();
    let started = Instant::now();
    let tasks: Vec<_> = per_sender
        .into_iter()
        .map(|events| {
            let client = client.clone();
            let url = server.url.clone();
            tokio::spawn(async move {
                let mut stored = 0;
                for chunk in events.chunks(batch) {
                    let body = if batch == 1 {
                        chunk[0].clone()
                    } else {
                        Value::Array(chunk.to_vec())
                    };
                    stored += common::post_events(&client, &url, &body).await.stored;
                }
                stored
            })
        })
        .collect();
    let mut stored = 0;
    for task in tasks {
        stored += task.await.unwrap();
    }
    let elapsed = started.elapsed();
    assert_eq!(stored, total, "every event must be acknowledged as stored");
    total as f64 / elapsed.as_secs_f64()
}

async fn verify(server: &Server, expected_calls: i64) {
    assert_eq!(
        server.state.storage.count_calls().await.unwrap(),
        expected_calls,
        "a call is missing"
    );
    assert!(
        server
            .state
            .storage
            .active_calls()
            .await
            .unwrap()
            .is_empty(),
        "a call did not end"
    );
    assert_eq!(server.state.dlq.depth().await.unwrap(), 0);
}

async fn postgres_database() -> Option<(String, String)> {
    let mut conn = PgConnection::connect(&common::postgres_admin_url())
        .await
        .ok()?;
    let name = format!("switchboard_bench_{:08x}", rand::random::<u32>());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .ok()?;
    Some((common::postgres_url(&name), name))
}

async fn drop_database(name: &str) {
    if let Ok(mut conn) = PgConnection::connect(&common::postgres_admin_url()).await {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await;
    }
}

fn main() {
    common::run(async {
        let single_calls = common::env_count("BENCH_SINGLE_CALLS", 15_000);
        let batch_calls = common::env_count("BENCH_BATCH_CALLS", 60_000);
        println!("| backend | scenario | events | events/s |");
        println!("| --- | --- | ---: | ---: |");
        let mut backends: Vec<(&str, Option<String>, Option<String>)> =
            vec![("sqlite", None, None)];
        match postgres_database().await {
            Some((url, name)) => backends.push(("postgres", Some(url), Some(name))),
            None => eprintln!("PostgreSQL unreachable: SQLite only"),
        }
        for (backend, url, name) in backends {
            let server = start(url).await;
            // Warm-up: connections, statement caches.
            run(&server, "warmup", 500, 64, 1).await;
            let single = run(&server, "single", single_calls, 64, 1).await;
            println!(
                "| {backend} | single-event requests, 64 senders | {} | {single:.0} |",
                single_calls * 4
            );
            let batched = run(&server, "batched", batch_calls, 16, 100).await;
            println!(
                "| {backend} | batches of 100, 16 senders | {} | {batched:.0} |",
                batch_calls * 4
            );
            verify(
                &server,
                i64::try_from(500 + single_calls + batch_calls).unwrap(),
            )
            .await;
            server.state.shutdown.cancel();
            drop(server);
            tokio::time::sleep(Duration::from_millis(200)).await;
            if let Some(name) = name {
                drop_database(&name).await;
            }
        }
    });
}
