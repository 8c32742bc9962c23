//! Managing users through `/api/users` (issue 24): an admin manages every user, an owner the
//! owners and members of its own tenant — never a platform role, never another tenant's users
//! (which it is told do not exist) — and the last admin stays. A change ends the user's
//! sessions and closes its live socket at once.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::{
    helpers::{TestApp, call, header, spawn_app},
    live_clients::{ws_connect, ws_url},
};
use server::domain::users::Role;

fn emails(list: &Value) -> Vec<&str> {
    list["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| user["email"].as_str().unwrap())
        .collect()
}

async fn team(app: &TestApp) -> (String, String) {
    app.add_user("root@platform.test", Role::Admin, None).await;
    app.add_user("owner@acme.test", Role::Owner, Some("acme"))
        .await;
    app.add_user("analyst@acme.test", Role::Member, Some("acme"))
        .await;
    app.add_user("owner@globex.test", Role::Owner, Some("globex"))
        .await;
    (
        app.sign_in("root@platform.test").await,
        app.sign_in("owner@acme.test").await,
    )
}

#[tokio::test]
async fn an_admin_manages_everyone_and_an_owner_its_own_tenant_only() {
    let app = spawn_app().await;
    let (admin, owner) = team(&app).await;
    let (_, all) = call(&app, Method::GET, "/api/users", &admin, None).await;
    assert_eq!(
        emails(&all),
        [
            "analyst@acme.test",
            "owner@acme.test",
            "owner@globex.test",
            "root@platform.test"
        ]
    );
    // When each last signed in: the two who did, and not the one who never did.
    let seen = |email: &str| {
        all["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|user| user["email"] == email)
            .unwrap()["last_sign_in_at"]
            .clone()
    };
    assert!(seen("root@platform.test").is_string(), "{all}");
    assert!(seen("owner@acme.test").is_string(), "{all}");
    assert_eq!(seen("owner@globex.test"), Value::Null);
    let (_, own) = call(&app, Method::GET, "/api/users", &owner, None).await;
    assert_eq!(emails(&own), ["analyst@acme.test", "owner@acme.test"]);
    assert!(!own.to_string().contains("password"), "{own}");

    // An owner promotes its analyst within its tenant, which ends the analyst's sessions…
    let before = app.sign_in("analyst@acme.test").await;
    let (status, body) = call(
        &app,
        Method::PUT,
        "/api/users/analyst@acme.test/role",
        &owner,
        Some(json!({"role": "owner"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let user = &body["user"];
    assert_eq!(
        (&user["email"], &user["role"], &user["tenant"]),
        (&json!("analyst@acme.test"), &json!("owner"), &json!("acme"))
    );
    assert!(user["last_sign_in_at"].is_string(), "it signed in: {body}");
    // …but never to a platform role, into another tenant, or over another tenant's user.
    for (path, change, expected) in [
        (
            "/api/users/analyst@acme.test/role",
            json!({"role": "admin"}),
            StatusCode::FORBIDDEN,
        ),
        (
            "/api/users/analyst@acme.test/role",
            json!({"role": "member", "tenant": "globex"}),
            StatusCode::FORBIDDEN,
        ),
        (
            "/api/users/owner@globex.test/role",
            json!({"role": "member"}),
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/users/root@platform.test/role",
            json!({"role": "member"}),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (status, body) = call(&app, Method::PUT, path, &owner, Some(change.clone())).await;
        assert_eq!(status, expected, "{path} {change}: {body}");
    }
    let (status, _) = call(
        &app,
        Method::DELETE,
        "/api/users/owner@globex.test",
        &owner,
        None,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "as missing as a user that does not exist"
    );
    let (_, after) = call(&app, Method::GET, "/api/users", &admin, None).await;
    assert_eq!(
        after["users"].as_array().unwrap().len(),
        4,
        "nothing else moved"
    );

    let (status, _) = call(&app, Method::GET, "/api/auth/me", &before, None).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "its promotion ended that session"
    );

    // A member manages nobody.
    app.add_user("reader@acme.test", Role::Member, Some("acme"))
        .await;
    let reader = app.sign_in("reader@acme.test").await;
    let (status, body) = call(&app, Method::GET, "/api/users", &reader, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // Every change is in the audit log, by who made it.
    let audit = app.admin_json("/api/admin/audit").await;
    let set_role = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["action"] == "user.set_role")
        .unwrap();
    assert_eq!(
        (&set_role["actor"], &set_role["target"]),
        (&json!("owner@acme.test"), &json!("analyst@acme.test"))
    );
}

#[tokio::test]
async fn the_last_admin_stays_and_a_change_closes_the_users_live_socket() {
    let app = spawn_app().await;
    let (admin, _) = team(&app).await;
    let (status, body) = call(
        &app,
        Method::DELETE,
        "/api/users/root@platform.test",
        &admin,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "conflict");
    assert!(
        body["error"].as_str().unwrap().contains("last admin"),
        "{body}"
    );

    let analyst = app.sign_in("analyst@acme.test").await;
    let mut socket = ws_connect(&ws_url(app.addr, &[]), &analyst).await.unwrap();
    socket.recv().await;
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/users/analyst@acme.test/sign-out",
        &admin,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(socket.close_code().await, CloseCode::Policy);
    let (status, _) = call(&app, Method::GET, "/api/auth/me", &analyst, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, body) = call(
        &app,
        Method::DELETE,
        "/api/users/analyst@acme.test",
        &admin,
        None,
    )
    .await;
    assert_eq!(
        (status, &body["user"]),
        (StatusCode::OK, &Value::Null),
        "{body}"
    );
    let (_, all) = call(&app, Method::GET, "/api/users", &admin, None).await;
    assert!(!emails(&all).contains(&"analyst@acme.test"));
}

#[tokio::test]
async fn the_users_page_forms_act_only_when_confirmed_and_say_what_happened() {
    let app = spawn_app().await;
    let (_, owner) = team(&app).await;
    let cookie = format!("{}={owner}", server::domain::auth::SESSION_COOKIE);
    let post = |form: Vec<(&'static str, &'static str)>| {
        app.client
            .post(app.url("/users/manage"))
            .header("cookie", &cookie)
            .form(&form)
            .send()
    };
    let location = |response: &reqwest::Response| header(response, "location").to_owned();
    let unconfirmed = post(vec![("email", "analyst@acme.test"), ("action", "remove")])
        .await
        .unwrap();
    assert_eq!(location(&unconfirmed), "/users?error=confirm");
    let foreign = post(vec![
        ("email", "owner@globex.test"),
        ("action", "remove"),
        ("confirm", "1"),
    ])
    .await
    .unwrap();
    assert_eq!(location(&foreign), "/users?error=not_found");
    let platform = post(vec![
        ("email", "analyst@acme.test"),
        ("action", "role"),
        ("role", "viewer"),
        ("confirm", "1"),
    ])
    .await
    .unwrap();
    assert_eq!(location(&platform), "/users?error=forbidden");
    let promoted = post(vec![
        ("email", "analyst@acme.test"),
        ("action", "role"),
        ("role", "owner"),
        ("confirm", "1"),
    ])
    .await
    .unwrap();
    assert_eq!(location(&promoted), "/users?done=role");
    let page = app
        .client
        .get(app.url("/users?done=role"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Role changed."), "{html}");
    assert!(html.contains("owner · acme"), "{html}");
    assert!(
        !html.contains("globex"),
        "another tenant's users are not on the page"
    );
}

#[tokio::test]
async fn the_list_counts_each_users_active_sessions_on_both_backends() {
    for db in crate::databases::each_backend().await {
        let app = crate::helpers::spawn_app_with(|config| {
            config.database_url = db.url().to_owned();
        })
        .await;
        let (admin, _) = team(&app).await;
        app.sign_in("analyst@acme.test").await;
        app.sign_in("analyst@acme.test").await;
        let sessions = |list: &Value, email: &str| {
            list["users"]
                .as_array()
                .unwrap()
                .iter()
                .find(|user| user["email"] == email)
                .unwrap()["active_sessions"]
                .clone()
        };
        let (_, list) = call(&app, Method::GET, "/api/users", &admin, None).await;
        assert_eq!(
            sessions(&list, "analyst@acme.test"),
            2,
            "{}: {list}",
            db.url()
        );
        assert_eq!(sessions(&list, "owner@acme.test"), 1);
        assert_eq!(sessions(&list, "owner@globex.test"), 0);
        let path = "/api/users/analyst@acme.test/sign-out";
        let (status, _) = call(&app, Method::POST, path, &admin, None).await;
        assert_eq!(status, StatusCode::OK);
        let (_, list) = call(&app, Method::GET, "/api/users", &admin, None).await;
        assert_eq!(
            sessions(&list, "analyst@acme.test"),
            0,
            "signed out everywhere"
        );
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn the_list_pages_by_email_within_its_bound() {
    let app = spawn_app().await;
    let (admin, owner) = team(&app).await;
    let (status, first) = call(&app, Method::GET, "/api/users?limit=3", &admin, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        emails(&first),
        ["analyst@acme.test", "owner@acme.test", "owner@globex.test"]
    );
    assert_eq!(first["next_after"], "owner@globex.test");
    let (_, rest) = call(
        &app,
        Method::GET,
        "/api/users?limit=3&after=owner%40globex.test",
        &admin,
        None,
    )
    .await;
    assert_eq!(emails(&rest), ["root@platform.test"]);
    assert_eq!(rest["next_after"], Value::Null, "the last page");
    // An owner's pages stay in its tenant.
    let (_, own) = call(&app, Method::GET, "/api/users?limit=1", &owner, None).await;
    let (_, next) = call(
        &app,
        Method::GET,
        "/api/users?limit=5&after=analyst%40acme.test",
        &owner,
        None,
    )
    .await;
    assert_eq!(emails(&own), ["analyst@acme.test"]);
    assert_eq!(emails(&next), ["owner@acme.test"]);
    for limit in ["0", "501", "x"] {
        let path = format!("/api/users?limit={limit}");
        let (status, body) = call(&app, Method::GET, &path, &admin, None).await;
        assert_eq!(
            (status, &body["field"]),
            (StatusCode::BAD_REQUEST, &json!("limit"))
        );
    }
}

#[tokio::test]
async fn at_most_two_hundred_sessions_are_kept_per_user() {
    use server::storage::user_sessions::SESSIONS_KEPT_PER_USER;
    let app = spawn_app().await;
    let (admin, _) = team(&app).await;
    let user = app
        .state
        .storage
        .user_by_email("analyst@acme.test")
        .await
        .unwrap()
        .unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    // Sign-ins are throttled; the bound is reached by noting sessions directly.
    for n in 0..SESSIONS_KEPT_PER_USER + 20 {
        let storage = &app.state.storage;
        storage
            .record_session(user.id, user.token_version, now + n, now + 3_600)
            .await
            .unwrap();
    }
    let (_, list) = call(&app, Method::GET, "/api/users", &admin, None).await;
    let analyst = list["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["email"] == "analyst@acme.test")
        .unwrap()
        .clone();
    assert_eq!(
        analyst["active_sessions"], SESSIONS_KEPT_PER_USER,
        "{analyst}"
    );
}
