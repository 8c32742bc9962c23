//! Changing one's own password (issue 24): the current one is required, the new one must be
//! hard to guess, every other session ends at once and the one that asked is issued afresh —
//! by the JSON API and by the account page's form alike. And the command line's
//! `user reset-password` and `user list`.

use std::{io::Write, process::Stdio};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TEST_PASSWORD, TestApp, header, spawn_app};
use server::domain::users::Role;

const NEW_PASSWORD: &str = "copper kettle orbits the quiet lantern";

async fn sign_in(app: &TestApp, email: &str, password: &str) -> (StatusCode, Value) {
    let response = app
        .client
        .post(app.url("/api/auth/token"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    (
        response.status(),
        response.json().await.unwrap_or(Value::Null),
    )
}

async fn change(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
    let response = app
        .client
        .post(app.url("/api/auth/password"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (
        response.status(),
        response.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn a_user_changes_its_password_and_every_other_session_ends() {
    let app = spawn_app().await;
    app.add_user("ops@acme.test", Role::Owner, Some("acme"))
        .await;
    let (_, first) = sign_in(&app, "ops@acme.test", TEST_PASSWORD).await;
    let (_, second) = sign_in(&app, "ops@acme.test", TEST_PASSWORD).await;
    let (first, second) = (
        first["token"].as_str().unwrap(),
        second["token"].as_str().unwrap(),
    );

    // Refusals name the field at fault, and change nothing.
    for (body, field, says) in [
        (
            json!({"current_password": "not it at all", "new_password": NEW_PASSWORD}),
            "current_password",
            "is not your current password",
        ),
        (
            json!({"current_password": TEST_PASSWORD, "new_password": "short one"}),
            "new_password",
            "at least 12 characters",
        ),
        (
            json!({"current_password": TEST_PASSWORD, "new_password": "password12345"}),
            "new_password",
            "too easy to guess",
        ),
        (
            json!({"current_password": TEST_PASSWORD, "new_password": "ops@acme.test2024"}),
            "new_password",
            "too easy to guess",
        ),
        (
            json!({"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD,
                   "confirm_password": "something else"}),
            "confirm_password",
            "does not match",
        ),
    ] {
        let (status, body) = change(&app, first, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["field"], field, "{body}");
        assert!(body["error"].as_str().unwrap().contains(says), "{body}");
    }
    assert_eq!(
        app.get_as("/api/auth/me", second).await.status(),
        StatusCode::OK
    );

    let (status, changed) = change(
        &app,
        first,
        json!({"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    let fresh = changed["token"].as_str().unwrap();
    assert_eq!(changed["identity"]["role"], "owner");
    // The new token works; both older sessions (the one that asked included) are over.
    assert_eq!(
        app.get_as("/api/auth/me", fresh).await.status(),
        StatusCode::OK
    );
    for old in [first, second] {
        let response = app.get_as("/api/auth/me", old).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        sign_in(&app, "ops@acme.test", TEST_PASSWORD).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        sign_in(&app, "ops@acme.test", NEW_PASSWORD).await.0,
        StatusCode::OK
    );
    let audit = app.admin_json("/api/admin/audit").await;
    let changes: Vec<_> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["action"] == "user.password_change")
        .map(|entry| (&entry["target"], &entry["actor"], &entry["role"]))
        .collect();
    assert_eq!(
        changes,
        [(
            &json!("ops@acme.test"),
            &json!("ops@acme.test"),
            &json!("owner")
        )],
        "once, by the user itself: {audit}"
    );
    assert!(
        !audit.to_string().contains(NEW_PASSWORD),
        "no password in the log"
    );
}

#[tokio::test]
async fn a_token_naming_no_user_has_no_password_to_change() {
    let app = spawn_app().await;
    let (status, body) = change(
        &app,
        &app.token(Some("acme")),
        json!({"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["error"].as_str().unwrap().contains("names no user"));
    let anonymous = app
        .client
        .post(app.url("/api/auth/password"))
        .json(&json!({"current_password": "x", "new_password": NEW_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_account_form_changes_the_password_and_keeps_this_browser_signed_in() {
    let app = spawn_app().await;
    app.add_user("ops@acme.test", Role::Member, Some("acme"))
        .await;
    let (_, signed_in) = sign_in(&app, "ops@acme.test", TEST_PASSWORD).await;
    let cookie = format!(
        "{}={}",
        server::domain::auth::SESSION_COOKIE,
        signed_in["token"].as_str().unwrap()
    );
    let post = |form: Vec<(&'static str, &'static str)>| {
        app.client
            .post(app.url("/account/password"))
            .header("cookie", &cookie)
            .form(&form)
            .send()
    };
    let mismatch = post(vec![
        ("current_password", TEST_PASSWORD),
        ("new_password", NEW_PASSWORD),
        ("confirm_password", "copper kettle orbits the loud lantern"),
    ])
    .await
    .unwrap();
    assert_eq!(mismatch.status(), StatusCode::SEE_OTHER);
    assert_eq!(header(&mismatch, "location"), "/account?error=mismatch");

    let done = post(vec![
        ("current_password", TEST_PASSWORD),
        ("new_password", NEW_PASSWORD),
        ("confirm_password", NEW_PASSWORD),
    ])
    .await
    .unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(header(&done, "location"), "/account?changed=1");
    let fresh = header(&done, "set-cookie").to_owned();
    let fresh = fresh.split(';').next().unwrap().to_owned();
    assert_ne!(fresh, cookie, "a new session for this browser");
    let page = app
        .client
        .get(app.url("/account?changed=1"))
        .header("cookie", &fresh)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Password changed."), "{html}");
    assert!(html.contains("ops@acme.test"), "{html}");
    // The old cookie is over: the account page sends it to sign in.
    let old = app
        .client
        .get(app.url("/account"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), StatusCode::SEE_OTHER);
    assert!(header(&old, "location").starts_with("/login?next="));
}

fn switchboard(args: &[&str], dir: &std::path::Path, stdin: Option<&str>) -> std::process::Output {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env_remove("DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(line) = stdin {
        input.write_all(line.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn the_command_line_lists_users_and_resets_a_password() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    let added = switchboard(
        &[
            "user",
            "add",
            "--email",
            "Ops@Example.com",
            "--role",
            "operator",
        ],
        path,
        None,
    );
    assert!(added.status.success(), "{added:?}");
    let listed = switchboard(&["user", "list"], path, None);
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout),
        "ops@example.com\toperator\tevery tenant\n"
    );

    let weak = switchboard(
        &[
            "user",
            "reset-password",
            "--email",
            "ops@example.com",
            "--password-stdin",
        ],
        path,
        Some("password12345\n"),
    );
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("too easy to guess"));
    let unknown = switchboard(
        &["user", "reset-password", "--email", "nobody@x.test"],
        path,
        None,
    );
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no user with email nobody@x.test"));

    let reset = switchboard(
        &["user", "reset-password", "--email", "ops@example.com"],
        path,
        None,
    );
    assert!(reset.status.success(), "{reset:?}");
    let stdout = String::from_utf8_lossy(&reset.stdout);
    assert!(stdout.contains("new password for ops@example.com; its sessions have ended"));
    let password = stdout
        .lines()
        .find_map(|line| line.strip_prefix("password: "))
        .unwrap();
    let storage = server::storage::Storage::open(&format!(
        "sqlite://{}?mode=rwc",
        path.join("switchboard.db").display()
    ))
    .await
    .unwrap();
    let user = storage
        .user_by_email("ops@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(server::domain::users::verify_password(
        &user.password_hash,
        password
    ));
    assert_eq!(user.token_version, 1, "its sessions ended");
    let audit = storage.audit_log(None, 10).await.unwrap();
    assert_eq!(audit[0].action, "user.password_reset");
}
