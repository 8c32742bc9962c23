//! Revocation: signing out everywhere, a role change and a removed user end every token and
//! cookie already handed out — on the next request, on both backends — and close the user's live
//! sockets, whether this instance or another (the command line) ended them.

use reqwest::StatusCode;
use serde_json::{Value, json};
use server::domain::users::{self, Role};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::{
    databases::each_backend,
    helpers::{TEST_PASSWORD, TestApp, header, spawn_app, spawn_app_with},
    live_clients::{SocketIoClient, ws_connect, ws_url},
};

/// A session cookie (`name=value`) for `email`, signed in with the login form.
async fn browser_session(app: &TestApp, email: &str) -> String {
    let response = app
        .client
        .post(app.url("/login"))
        .form(&[("email", email), ("password", TEST_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = header(&response, "set-cookie");
    cookie.split(';').next().unwrap().to_owned()
}

/// `/api/auth/me` with a bearer token: its status and body.
async fn me(app: &TestApp, token: &str) -> (StatusCode, Value) {
    let response = app.get_as("/api/auth/me", token).await;
    (response.status(), response.json().await.unwrap())
}

async fn me_by_cookie(app: &TestApp, cookie: &str) -> (StatusCode, Value) {
    let response = app
        .client
        .get(app.url("/api/auth/me"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

async fn audit_log(app: &TestApp) -> Value {
    let response = app.get_as("/api/admin/audit", &app.token(None)).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

fn assert_ended((status, body): (StatusCode, Value)) {
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["success"], false);
    assert!(
        body["error"].as_str().unwrap().contains("sign in again"),
        "{body}"
    );
}

#[tokio::test]
async fn signing_out_everywhere_ends_every_token_cookie_and_socket() {
    for db in each_backend().await {
        let url = db.url().to_owned();
        let app = spawn_app_with(|config| config.database_url = url).await;
        app.add_user("ops@acme.test", Role::Owner, Some("acme"))
            .await;
        app.add_user("ops@globex.test", Role::Owner, Some("globex"))
            .await;
        let laptop = app.sign_in("ops@acme.test").await;
        let script = app.sign_in("ops@acme.test").await;
        let phone = browser_session(&app, "ops@acme.test").await;
        let neighbour = app.sign_in("ops@globex.test").await;
        let mut ws = ws_connect(&ws_url(app.addr, &[]), &laptop).await.unwrap();
        ws.recv().await;
        let mut socket_io =
            SocketIoClient::connect(app.addr, json!({"token": script}), &["websocket"])
                .await
                .expect("node and socket.io-client are installed");
        socket_io.until("connected").await;
        assert_eq!(me(&app, &laptop).await.0, StatusCode::OK);

        let response = app
            .client
            .post(app.url("/api/auth/sign-out-everywhere"))
            .bearer_auth(&script)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, json!({"success": true, "subject": "ops@acme.test"}));

        // Every token and cookie of that user has ended, the one that asked included…
        assert_ended(me(&app, &laptop).await);
        assert_ended(me(&app, &script).await);
        assert_ended(me_by_cookie(&app, &phone).await);
        let page = app
            .client
            .get(app.url("/dashboard/realtime"))
            .header("cookie", &phone)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::SEE_OTHER, "back to sign in");
        // …and its live sockets close: the WebSocket with a policy close, Socket.IO with a
        // server-side disconnect (after which its client does not reconnect).
        assert_eq!(ws.close_code().await, CloseCode::Policy);
        let (reason, _) = socket_io.until("disconnect").await;
        assert_eq!(reason["reason"], "io server disconnect", "{}", db.url());
        // Another user is untouched, and signing in again works.
        assert_eq!(me(&app, &neighbour).await.0, StatusCode::OK);
        let again = app.sign_in("ops@acme.test").await;
        assert_eq!(me(&app, &again).await.0, StatusCode::OK);

        let audit = audit_log(&app).await;
        let entry = audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|entry| entry["action"] == "auth.sign_out_everywhere")
            .unwrap_or_else(|| panic!("no sign-out in {audit}"));
        assert_eq!(
            (&entry["actor"], &entry["target"], &entry["result"]),
            (
                &json!("ops@acme.test"),
                &json!("ops@acme.test"),
                &json!("ok")
            ),
            "{audit}"
        );
        db.drop_now().await;
    }
}

#[tokio::test]
async fn the_logout_form_can_sign_out_everywhere() {
    let app = spawn_app().await;
    app.add_user("admin@ops.test", Role::Admin, None).await;
    let here = browser_session(&app, "admin@ops.test").await;
    let there = browser_session(&app, "admin@ops.test").await;
    let script = app.sign_in("admin@ops.test").await;

    // A plain logout ends this browser's cookie only (it is cleared; the token stays valid).
    let out = app
        .client
        .post(app.url("/logout"))
        .header("cookie", &here)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(me_by_cookie(&app, &there).await.0, StatusCode::OK);
    assert_eq!(me(&app, &script).await.0, StatusCode::OK);

    // Its second button ends them all.
    let out = app
        .client
        .post(app.url("/logout"))
        .header("cookie", &there)
        .form(&[("everywhere", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(header(&out, "location"), "/login");
    assert_ended(me_by_cookie(&app, &there).await);
    assert_ended(me(&app, &script).await);

    // From another site it is refused like any other cookie-carrying post, and ends nothing.
    let fresh = app.sign_in("admin@ops.test").await;
    let forged = app
        .client
        .post(app.url("/logout"))
        .header("cookie", format!("switchboard_session={fresh}"))
        .header("origin", "https://evil.example")
        .form(&[("everywhere", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(me(&app, &fresh).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_role_change_or_a_removed_user_ends_its_sessions_at_once() {
    for db in each_backend().await {
        let url = db.url().to_owned();
        let app = spawn_app_with(|config| config.database_url = url).await;
        app.add_user("ops@acme.test", Role::Owner, Some("acme"))
            .await;
        app.state
            .storage
            .set_tenant_name("globex", "Globex")
            .await
            .unwrap();
        let acme = app.sign_in("ops@acme.test").await;
        let mut ws = ws_connect(&ws_url(app.addr, &[]), &acme).await.unwrap();
        ws.recv().await;

        // Moved to another tenant from the command line (another process: no revocation is sent
        // to this instance, which finds out by watching the users' token versions).
        users::set_role(
            &app.state.storage,
            "ops@acme.test",
            Role::Owner,
            Some("globex"),
            server::domain::audit::Actor::cli(None),
        )
        .await
        .unwrap();
        assert_ended(me(&app, &acme).await);
        let refused = app
            .get_as("/api/dashboard/metrics?user_id=acme", &acme)
            .await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{}", db.url());
        assert_eq!(ws.close_code().await, CloseCode::Policy);
        let globex = app.sign_in("ops@acme.test").await;
        let (status, body) = me(&app, &globex).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["identity"]["tenant"], "globex", "{body}");

        // Removed: nothing it holds works, and signing in fails like a wrong password.
        users::remove(
            &app.state.storage,
            "ops@acme.test",
            server::domain::audit::Actor::cli(None),
        )
        .await
        .unwrap();
        assert_ended(me(&app, &globex).await);
        let response = app
            .client
            .post(app.url("/api/auth/token"))
            .json(&json!({"email": "ops@acme.test", "password": TEST_PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        // Each change is in the audit log, newest first.
        let audit = audit_log(&app).await;
        let actions: Vec<&str> = audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|entry| entry["target"] == "ops@acme.test")
            .map(|entry| entry["action"].as_str().unwrap())
            .collect();
        assert_eq!(
            actions,
            [
                "auth.sign_in_failed",
                "user.remove",
                "user.set_role",
                "user.add"
            ],
            "{audit}"
        );
        db.drop_now().await;
    }
}

#[tokio::test]
async fn tokens_naming_no_user_cannot_sign_out_everywhere() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/api/auth/sign-out-everywhere"))
        .bearer_auth(app.token(Some("acme")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("JWT_SECRET"),
        "{body}"
    );
    let anonymous = app
        .client
        .post(app.url("/api/auth/sign-out-everywhere"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}
