//! What the benchmarks share: their runtime, knobs from the environment, the PostgreSQL server.
#![allow(dead_code)] // Each bench compiles this module on its own and uses a part of it.

use std::future::Future;

/// Runs `bench` on a multi-threaded runtime, with the server's logging set up.
pub(crate) fn run<F: Future<Output = ()>>(bench: F) {
    server::telemetry::init();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(bench);
}

/// A count from the environment variable `name`, else `default`.
pub(crate) fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// The PostgreSQL server's admin URL (the tests' `SWITCHBOARD_TEST_POSTGRES_URL`).
pub(crate) fn postgres_admin_url() -> String {
    std::env::var("SWITCHBOARD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// The URL of database `name` on that server.
pub(crate) fn postgres_url(name: &str) -> String {
    let admin = postgres_admin_url();
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(base, _)| base);
    format!("{base}/{name}")
}

/// Posts `body` (one event or an array) to the ingest endpoint `url` with the test ingest key;
/// the server's answer.
pub(crate) async fn post_events(
    client: &reqwest::Client,
    url: &str,
    body: &serde_json::Value,
) -> app::dto::ingest::IngestResponse {
    client
        .post(url)
        .bearer_auth(server::runtime::config::TEST_INGEST_KEY)
        .json(body)
        .send()
        .await
        .expect("the ingest request is sent")
        .json()
        .await
        .expect("the ingest answer is JSON")
}
