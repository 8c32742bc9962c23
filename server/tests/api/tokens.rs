//! API tokens (issue 24): made by a signed-in user, shown once and stored hashed, listed with
//! their use, scoped no wider than their user's role (and narrowed or revoked with it), and
//! revocable at once on every door — REST and both live sockets — on both backends, from the
//! API, the account page's forms and the command line (which another instance learns of
//! through its watch).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::{
    databases::each_backend,
    helpers::{TestApp, call, header, spawn_app, spawn_app_with},
    live_clients::{SocketIoClient, ws_connect_bearer, ws_url},
};
use server::domain::{
    audit::{Actor, ClientAddr},
    auth::api_tokens,
    users::Role,
};

/// Makes a token as `maker`; its secret and id.
async fn make(app: &TestApp, maker: &str, body: Value) -> (String, i64) {
    let (status, created) = call(app, Method::POST, "/api/tokens", maker, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    (
        created["token"].as_str().unwrap().to_owned(),
        created["summary"]["id"].as_i64().unwrap(),
    )
}

#[tokio::test]
async fn a_token_is_shown_once_kept_hashed_and_revoked_at_once_on_every_door() {
    for db in each_backend().await {
        let app = spawn_app_with(|config| config.database_url = db.url().to_owned()).await;
        app.add_user("ops@platform.test", Role::Operator, None)
            .await;
        let operator = app.sign_in("ops@platform.test").await;
        let (secret, id) = make(
            &app,
            &operator,
            json!({"name": "retry bot", "scope": "operator", "expires_in_days": 30}),
        )
        .await;
        assert!(secret.starts_with("sbt_"), "{secret}");

        // Listed without its secret; the database holds only its digest.
        let (_, list) = call(&app, Method::GET, "/api/tokens", &operator, None).await;
        let listed = &list["tokens"][0];
        assert_eq!(
            (
                &listed["id"],
                &listed["name"],
                &listed["scope"],
                &listed["owner"]
            ),
            (
                &json!(id),
                &json!("retry bot"),
                &json!("operator"),
                &json!("ops@platform.test")
            ),
            "{list}"
        );
        assert_eq!(listed["last_used_at"], Value::Null, "not used yet");
        assert!(!list.to_string().contains(&secret[4..]), "{list}");
        let row = app.state.storage.api_token(id).await.unwrap().unwrap();
        let stored = app
            .state
            .storage
            .api_token_by_hash(&api_tokens::digest(&secret))
            .await
            .unwrap();
        assert_eq!(stored.as_ref().map(|row| row.id), Some(id));
        assert_eq!(row.scope, "operator");

        // It acts as an operator on REST and both live doors, and its use is noted.
        let (status, _) = call(&app, Method::POST, "/api/admin/dlq/retry", &secret, None).await;
        assert_eq!(status, StatusCode::OK, "{}", db.url());
        let (status, body) = call(&app, Method::GET, "/api/users", &secret, None).await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "never more than an operator: {body}"
        );
        let (_, list) = call(&app, Method::GET, "/api/tokens", &operator, None).await;
        assert!(list["tokens"][0]["last_used_at"].is_string(), "{list}");
        let mut ws = ws_connect_bearer(&ws_url(app.addr, &[]), &secret)
            .await
            .unwrap();
        ws.recv().await;
        let mut socket_io =
            SocketIoClient::connect(app.addr, json!({"token": secret}), &["websocket"])
                .await
                .expect("node and socket.io-client are installed");
        socket_io.until("connected").await;

        // A token cannot make or revoke tokens: that takes a sign-in.
        let body = json!({"name": "child", "scope": "all_read", "expires_in_days": 1});
        let (status, _) = call(&app, Method::POST, "/api/tokens", &secret, Some(body)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        // Revoked: refused at once, and its sockets close.
        let path = format!("/api/tokens/{id}");
        let (status, revoked) = call(&app, Method::DELETE, &path, &operator, None).await;
        assert_eq!(
            (status, &revoked["name"]),
            (StatusCode::OK, &json!("retry bot"))
        );
        let (status, body) = call(&app, Method::GET, "/api/admin/dlq", &secret, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(ws.close_code().await, CloseCode::Policy);
        let (reason, _) = socket_io.until("disconnect").await;
        assert_eq!(reason["reason"], "io server disconnect");
        let refused = SocketIoClient::connect(app.addr, json!({"token": secret}), &["websocket"])
            .await
            .unwrap()
            .until("connect_error")
            .await;
        assert!(refused.0.to_string().contains("invalid"), "{:?}", refused.0);
        let (status, _) = call(&app, Method::DELETE, &path, &operator, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "revoked once");

        // Both are in the audit log, by who did them.
        let audit = app.admin_json("/api/admin/audit").await;
        let actions: Vec<_> = audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|entry| entry["target"] == format!("api_token:{id}"))
            .map(|entry| (entry["action"].clone(), entry["actor"].clone()))
            .collect();
        assert!(
            actions.contains(&(json!("api_token.create"), json!("ops@platform.test")))
                && actions.contains(&(json!("api_token.revoke"), json!("ops@platform.test"))),
            "{audit}"
        );
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn a_tokens_scope_never_exceeds_its_user_and_follows_the_users_role() {
    let app = spawn_app().await;
    app.add_user("root@platform.test", Role::Admin, None).await;
    app.add_user("viewer@platform.test", Role::Viewer, None)
        .await;
    app.add_user("owner@acme.test", Role::Owner, Some("acme"))
        .await;
    app.add_user("owner@globex.test", Role::Owner, Some("globex"))
        .await;
    let admin = app.sign_in("root@platform.test").await;
    let viewer = app.sign_in("viewer@platform.test").await;
    let owner = app.sign_in("owner@acme.test").await;
    let refusals = [
        (
            &viewer,
            json!({"name": "x", "scope": "operator", "expires_in_days": 1}),
            StatusCode::FORBIDDEN,
        ),
        (
            &owner,
            json!({"name": "x", "scope": "all_read", "expires_in_days": 1}),
            StatusCode::FORBIDDEN,
        ),
        (
            &owner,
            json!({"name": "x", "scope": "tenant_read", "tenant": "globex", "expires_in_days": 1}),
            StatusCode::FORBIDDEN,
        ),
        (
            &admin,
            json!({"name": "x", "scope": "tenant_read", "expires_in_days": 1}),
            StatusCode::BAD_REQUEST,
        ),
        (
            &admin,
            json!({"name": "x", "scope": "tenant_read", "tenant": "nobody", "expires_in_days": 1}),
            StatusCode::BAD_REQUEST,
        ),
        (
            &admin,
            json!({"name": " ", "scope": "all_read", "expires_in_days": 1}),
            StatusCode::BAD_REQUEST,
        ),
        (
            &admin,
            json!({"name": "x", "scope": "all_read", "expires_in_days": 0}),
            StatusCode::BAD_REQUEST,
        ),
        (
            &admin,
            json!({"name": "x", "scope": "all_read", "expires_in_days": 367}),
            StatusCode::BAD_REQUEST,
        ),
        (
            &admin,
            json!({"name": "x", "scope": "root", "expires_in_days": 1}),
            StatusCode::BAD_REQUEST,
        ),
        (
            &admin,
            json!({"name": "x", "scope": "all_read", "expires_in_days": 1, "role": "admin"}),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (maker, body, expected) in refusals {
        let (status, answer) =
            call(&app, Method::POST, "/api/tokens", maker, Some(body.clone())).await;
        assert_eq!(status, expected, "{body}: {answer}");
        assert!(answer["error"].is_string(), "a clear error: {answer}");
    }
    let (own, _) = make(
        &app,
        &owner,
        json!({"name": "export", "scope": "tenant_read", "expires_in_days": 7}),
    )
    .await;
    let (status, _) = call(&app, Method::GET, "/api/dashboard/metrics", &own, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(
        &app,
        Method::GET,
        "/api/dashboard/metrics?user_id=globex",
        &own,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "its tenant only");

    // The admin's operator token narrows when its user is demoted, and dies with its user.
    app.add_user("second@platform.test", Role::Admin, None)
        .await;
    let second = app.sign_in("second@platform.test").await;
    let (wide, _) = make(
        &app,
        &second,
        json!({"name": "ops", "scope": "operator", "expires_in_days": 7}),
    )
    .await;
    let (status, _) = call(&app, Method::POST, "/api/admin/dlq/retry", &wide, None).await;
    assert_eq!(status, StatusCode::OK);
    let body = json!({"role": "viewer"});
    let (status, _) = call(
        &app,
        Method::PUT,
        "/api/users/second@platform.test/role",
        &admin,
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(&app, Method::POST, "/api/admin/dlq/retry", &wide, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a viewer's now");
    let (status, _) = call(&app, Method::GET, "/api/admin/dlq", &wide, None).await;
    assert_eq!(status, StatusCode::OK, "still reads");
    let (status, _) = call(
        &app,
        Method::DELETE,
        "/api/users/second@platform.test",
        &admin,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(&app, Method::GET, "/api/admin/dlq", &wide, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "gone with its user");

    // Who sees whose: the admin every token, an owner its tenant's, another owner none of them.
    app.add_user("analyst@acme.test", Role::Member, Some("acme"))
        .await;
    let analyst = app.sign_in("analyst@acme.test").await;
    let (analysts, _) = make(
        &app,
        &analyst,
        json!({"name": "sheet", "scope": "tenant_read", "expires_in_days": 7}),
    )
    .await;
    let names = |list: &Value| -> Vec<String> {
        list["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|token| token["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, all) = call(&app, Method::GET, "/api/tokens", &admin, None).await;
    assert_eq!(names(&all), ["sheet", "export"]);
    let (_, acme) = call(&app, Method::GET, "/api/tokens", &owner, None).await;
    assert_eq!(names(&acme), ["sheet", "export"]);
    let (_, mine) = call(&app, Method::GET, "/api/tokens", &analyst, None).await;
    assert_eq!(names(&mine), ["sheet"]);
    let globex = app.sign_in("owner@globex.test").await;
    let (_, none) = call(&app, Method::GET, "/api/tokens", &globex, None).await;
    assert_eq!(names(&none), Vec::<String>::new());
    let analysts_id = acme["tokens"][0]["id"].as_i64().unwrap();
    let path = format!("/api/tokens/{analysts_id}");
    let (status, _) = call(&app, Method::DELETE, &path, &globex, None).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another tenant's is as missing as none"
    );
    let (status, _) = call(&app, Method::DELETE, &path, &owner, None).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "an owner revokes its tenant's users' tokens"
    );
    let (status, _) = call(&app, Method::GET, "/api/dashboard/metrics", &analysts, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_revocation_elsewhere_closes_this_instances_sockets_through_its_watch() {
    let app = spawn_app().await;
    app.add_user("owner@acme.test", Role::Owner, Some("acme"))
        .await;
    let owner = app.sign_in("owner@acme.test").await;
    let (secret, id) = make(
        &app,
        &owner,
        json!({"name": "feed", "scope": "tenant_read", "expires_in_days": 1}),
    )
    .await;
    let mut ws = ws_connect_bearer(&ws_url(app.addr, &[]), &secret)
        .await
        .unwrap();
    ws.recv().await;
    // As `switchboard tokens revoke` or another instance does it: in the database only.
    let row = app.state.storage.api_token(id).await.unwrap().unwrap();
    api_tokens::revoke(
        &app.state.storage,
        &row,
        Actor::cli(None),
        ClientAddr::default(),
    )
    .await
    .unwrap();
    assert_eq!(ws.close_code().await, CloseCode::Policy);
}

#[tokio::test]
async fn the_account_page_makes_a_token_shows_it_once_and_revokes_only_when_confirmed() {
    let app = spawn_app().await;
    app.add_user("owner@acme.test", Role::Owner, Some("acme"))
        .await;
    let session = app.sign_in("owner@acme.test").await;
    let cookie = format!("{}={session}", server::domain::auth::SESSION_COOKIE);
    let made = app
        .client
        .post(app.url("/account/tokens"))
        .header("cookie", &cookie)
        .form(&[
            ("name", "nightly export"),
            ("scope", "tenant_read"),
            ("expires_in_days", "30"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(header(&made, "location"), "/account?token_created=1");
    let set_cookie = header(&made, "set-cookie").to_owned();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("Path=/account"),
        "{set_cookie}"
    );
    let flash = set_cookie.split(';').next().unwrap().to_owned();
    let secret = flash.split_once('=').unwrap().1.to_owned();
    assert!(secret.starts_with("sbt_"));

    let page = app
        .client
        .get(app.url("/account?token_created=1"))
        .header("cookie", format!("{cookie}; {flash}"))
        .send()
        .await
        .unwrap();
    let cleared = header(&page, "set-cookie").to_owned();
    assert!(
        cleared.starts_with("switchboard_new_token=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    let html = page.text().await.unwrap();
    assert!(html.contains(&secret), "shown on the page");
    assert!(html.contains("nightly export"), "and listed");
    let (status, _) = call(&app, Method::GET, "/api/dashboard/metrics", &secret, None).await;
    assert_eq!(status, StatusCode::OK);

    let (_, list) = call(&app, Method::GET, "/api/tokens", &session, None).await;
    let id = list["tokens"][0]["id"].as_i64().unwrap().to_string();
    let revoke = |form: Vec<(&'static str, String)>| {
        app.client
            .post(app.url("/account/tokens/revoke"))
            .header("cookie", &cookie)
            .form(&form)
            .send()
    };
    let unconfirmed = revoke(vec![("id", id.clone())]).await.unwrap();
    assert_eq!(
        header(&unconfirmed, "location"),
        "/account?token_error=confirm"
    );
    let (status, _) = call(&app, Method::GET, "/api/dashboard/metrics", &secret, None).await;
    assert_eq!(status, StatusCode::OK, "nothing happened");
    let confirmed = revoke(vec![("id", id), ("confirm", "1".into())])
        .await
        .unwrap();
    assert_eq!(header(&confirmed, "location"), "/account?token_revoked=1");
    let (status, _) = call(&app, Method::GET, "/api/dashboard/metrics", &secret, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let bad = app
        .client
        .post(app.url("/account/tokens"))
        .header("cookie", &cookie)
        .form(&[
            ("name", "x"),
            ("scope", "operator"),
            ("expires_in_days", "30"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(header(&bad, "location"), "/account?token_error=forbidden");
}

#[tokio::test]
async fn a_token_the_database_vouched_for_lately_reads_the_dlq_through_an_outage() {
    // PostgreSQL refuses connections in an outage; SQLite's (a held write lock) still reads.
    let postgres = each_backend().await.into_iter();
    for db in postgres.filter(|db| db.url().starts_with("postgres")) {
        let app = spawn_app_with(|config| config.database_url = db.url().to_owned()).await;
        app.add_user("ops@platform.test", Role::Operator, None)
            .await;
        let operator = app.sign_in("ops@platform.test").await;
        let body = json!({"name": "watch", "scope": "all_read", "expires_in_days": 1});
        let (known, _) = make(&app, &operator, body.clone()).await;
        let (unused, _) = make(&app, &operator, body).await;
        let (status, _) = call(&app, Method::GET, "/api/admin/dlq", &known, None).await;
        assert_eq!(status, StatusCode::OK);

        let outage = db.outage().await;
        // The DLQ lives beside the server, not in the database: the script that used its token
        // lately keeps reading it; one the server has not seen cannot be checked (503).
        let (status, body) = call(&app, Method::GET, "/api/admin/dlq", &known, None).await;
        assert_eq!(status, StatusCode::OK, "{}: {body}", db.url());
        let (status, body) = call(&app, Method::GET, "/api/admin/dlq", &unused, None).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        let (status, _) = call(&app, Method::GET, "/api/admin/dlq", "sbt_forged", None).await;
        assert_eq!(
            status,
            StatusCode::SERVICE_UNAVAILABLE,
            "nothing is let in unchecked"
        );
        outage.end().await;
        // Lookups are tried again a few seconds after the last failed one; then a forged token
        // is refused for what it is.
        tokio::time::timeout(std::time::Duration::from_secs(15), async {
            loop {
                let (status, _) =
                    call(&app, Method::GET, "/api/admin/dlq", "sbt_forged", None).await;
                if status == StatusCode::UNAUTHORIZED {
                    break;
                }
                assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        })
        .await
        .expect("lookups resume once the database is back");
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn a_user_holds_at_most_fifty_live_tokens() {
    let app = spawn_app().await;
    app.add_user("ops@platform.test", Role::Operator, None)
        .await;
    let operator = app.sign_in("ops@platform.test").await;
    let body = json!({"name": "bulk", "scope": "all_read", "expires_in_days": 1});
    for _ in 0..api_tokens::MAX_TOKENS_PER_USER {
        make(&app, &operator, body.clone()).await;
    }
    let (status, answer) = call(
        &app,
        Method::POST,
        "/api/tokens",
        &operator,
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("at most 50"),
        "{answer}"
    );
    // Revoking one makes room for one.
    let (_, list) = call(&app, Method::GET, "/api/tokens", &operator, None).await;
    let id = list["tokens"][0]["id"].as_i64().unwrap();
    let path = format!("/api/tokens/{id}");
    let (status, _) = call(&app, Method::DELETE, &path, &operator, None).await;
    assert_eq!(status, StatusCode::OK);
    make(&app, &operator, body).await;
}
