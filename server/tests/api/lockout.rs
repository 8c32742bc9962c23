//! Sign-in cannot be used to lock someone out (issue 22, finding 4): allowances belong to the
//! client spending them (an address, an IPv6 /64), a burst against one email is recorded once in
//! the audit log, and one guesser cannot crowd another's failures out of it.

use reqwest::StatusCode;
use serde_json::{Value, json};
use server::{domain::auth::BURST_FAILURES, domain::users::Role};

use crate::helpers::{TEST_PASSWORD, TestApp, spawn_app_with};

/// A server that takes the client's address from `X-Forwarded-For`, as behind a proxy.
async fn behind_a_proxy() -> TestApp {
    spawn_app_with(|config| {
        config.client_ip_header = Some(reqwest::header::HeaderName::from_static("x-forwarded-for"));
    })
    .await
}

async fn sign_in(app: &TestApp, from: &str, email: &str, password: &str) -> StatusCode {
    app.client
        .post(app.url("/api/auth/token"))
        .header("x-forwarded-for", from)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
}

async fn audit(app: &TestApp, action: &str) -> Vec<Value> {
    let log = app.admin_json("/api/admin/audit?limit=500").await;
    log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["action"] == action)
        .cloned()
        .collect()
}

#[tokio::test]
async fn others_guessing_a_password_never_locks_its_owner_out() {
    let app = behind_a_proxy().await;
    app.add_user("owner@acme.test", Role::Owner, Some("acme"))
        .await;
    // One guesser spends its own allowance for the email, and is slowed down.
    for _ in 0..10 {
        let status = sign_in(&app, "203.0.113.7", "owner@acme.test", "wrong password!").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let status = sign_in(&app, "203.0.113.7", "owner@acme.test", TEST_PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Many more guess from many places.
    for n in 0..30 {
        let from = format!("198.51.100.{n}");
        let status = sign_in(&app, &from, "owner@acme.test", "wrong password!").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{from}");
    }
    // The owner, from where nobody guessed, signs in.
    let status = sign_in(&app, "192.0.2.10", "owner@acme.test", TEST_PASSWORD).await;
    assert_eq!(status, StatusCode::OK);

    // The burst is in the audit log, once, with the failures that made it.
    let bursts = audit(&app, "auth.sign_in_burst").await;
    assert_eq!(bursts.len(), 1, "{bursts:?}");
    assert_eq!(bursts[0]["target"], "owner@acme.test");
    assert_eq!(bursts[0]["detail"]["failures"], BURST_FAILURES);
}

#[tokio::test]
async fn ipv6_clients_share_one_allowance_per_64() {
    use server::domain::auth::ATTEMPTS_PER_ADDRESS_PER_MINUTE;
    let app = behind_a_proxy().await;
    for n in 0..ATTEMPTS_PER_ADDRESS_PER_MINUTE {
        // A new address in the same /64 each time buys nothing.
        let from = format!("2001:db8:1:2::{:x}", n + 1);
        let email = format!("guess-{n}@acme.test");
        let status = sign_in(&app, &from, &email, "wrong password!").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{from}");
    }
    let status = sign_in(
        &app,
        "2001:db8:1:2:ffff::1",
        "x@acme.test",
        "wrong password!",
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // The next /64 is another client.
    let status = sign_in(&app, "2001:db8:1:3::1", "x@acme.test", "wrong password!").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn one_guesser_cannot_crowd_anothers_failures_out_of_the_audit_log() {
    let app = behind_a_proxy().await;
    // Enough to use up the log's whole minute, were it shared.
    for n in 0..70 {
        let email = format!("spray-{n}@acme.test");
        sign_in(&app, "203.0.113.7", &email, "wrong password!").await;
    }
    let status = sign_in(&app, "198.51.100.1", "victim@acme.test", "wrong password!").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let failures = audit(&app, "auth.sign_in_failed").await;
    assert!(
        failures
            .iter()
            .any(|entry| entry["target"] == "victim@acme.test"),
        "the second client's failure is recorded"
    );
    let from_spray = failures
        .iter()
        .filter(|entry| entry["target"] != "victim@acme.test")
        .count();
    assert_eq!(
        from_spray,
        server::domain::audit::SIGN_IN_FAILURES_PER_CLIENT_PER_MINUTE as usize
    );
}
