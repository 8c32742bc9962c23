//! Invitations and reset links (issue 24): an owner invites a member of its own tenant (never a
//! platform role, never another tenant), the member joins with the link once and reads its
//! tenant; an admin's reset link ends the user's sessions and closes its socket at once, and
//! sets a new password once; a used, expired or unknown link is refused with a page saying so.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::{
    helpers::{TEST_PASSWORD, TestApp, call, header, spawn_app},
    live_clients::{ws_connect, ws_url},
};
use server::{domain::users::Role, storage::one_time_links::NewLinkRow};

const NEW_PASSWORD: &str = "amber orchard whistles under copper rain";

fn secret_of(link: &Value) -> String {
    let url = link["link"].as_str().unwrap();
    url.rsplit('/').next().unwrap().to_owned()
}

async fn page(app: &TestApp, path: &str) -> (StatusCode, String) {
    let response = app.client.get(app.url(path)).send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

async fn use_link(app: &TestApp, secret: &str, password: &str) -> (StatusCode, Value) {
    let body = json!({"secret": secret, "new_password": password});
    let response = app
        .client
        .post(app.url("/api/auth/link"))
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
async fn an_owner_invites_a_member_who_joins_once_and_reads_its_tenant_only() {
    let app = spawn_app().await;
    app.add_user("owner@acme.test", Role::Owner, Some("acme"))
        .await;
    app.add_user("owner@globex.test", Role::Owner, Some("globex"))
        .await;
    let owner = app.sign_in("owner@acme.test").await;
    for (body, expected) in [
        (
            json!({"email": "x@acme.test", "role": "admin"}),
            StatusCode::FORBIDDEN,
        ),
        (
            json!({"email": "x@acme.test", "role": "member", "tenant": "globex"}),
            StatusCode::FORBIDDEN,
        ),
        (
            json!({"email": "owner@globex.test", "role": "member"}),
            StatusCode::CONFLICT,
        ),
        (
            json!({"email": "not an email", "role": "member"}),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (status, answer) = call(
            &app,
            Method::POST,
            "/api/users/invitations",
            &owner,
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, expected, "{body}: {answer}");
        assert!(answer["error"].is_string(), "{answer}");
    }
    let body = json!({"email": "New@Acme.test", "role": "member"});
    let (status, link) = call(
        &app,
        Method::POST,
        "/api/users/invitations",
        &owner,
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{link}");
    assert_eq!(
        (&link["kind"], &link["email"]),
        (&json!("invite"), &json!("new@acme.test"))
    );
    assert!(
        link["link"].as_str().unwrap().contains("/welcome/"),
        "{link}"
    );
    let secret = secret_of(&link);
    let stored = app.state.storage.link_by_hash(&secret).await.unwrap();
    assert_eq!(stored, None, "kept only as its digest");

    let (status, html) = page(&app, &format!("/welcome/{secret}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("You were invited as new@acme.test: member of tenant acme"),
        "{html}"
    );
    assert!(!html.contains("frontend.js"), "a page without the bundle");

    // A weak password leaves the link open; a good one joins and signs in.
    let (status, body) = use_link(&app, &secret, "password1234").await;
    assert_eq!(
        (status, &body["field"]),
        (StatusCode::BAD_REQUEST, &json!("new_password"))
    );
    let (status, joined) = use_link(&app, &secret, NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{joined}");
    let member = joined["token"].as_str().unwrap();
    assert_eq!(joined["identity"]["role"], "member");
    let (status, _) = call(&app, Method::GET, "/api/dashboard/metrics", member, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(&app, Method::GET, "/api/users", member, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "refused the owner's pages");

    // Once only: the same link is refused, and its page says so.
    let (status, body) = use_link(&app, &secret, "another good passphrase for me").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("used already"),
        "{body}"
    );
    let (status, html) = page(&app, &format!("/welcome/{secret}")).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(html.contains("used already"), "{html}");
    assert!(!html.contains("new@acme.test"), "a used link names nobody");
    let (status, _) = page(&app, "/welcome/not-a-link-of-ours").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = use_link(&app, "not-a-link-of-ours", NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let audit = app.admin_json("/api/admin/audit").await;
    let actions: Vec<_> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["target"] == "new@acme.test")
        .map(|entry| entry["action"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        actions.contains(&"user.invite".to_owned()) && actions.contains(&"user.join".to_owned()),
        "{actions:?}"
    );
}

#[tokio::test]
async fn a_reset_link_ends_the_users_sessions_at_once_and_sets_a_new_password_once() {
    let app = spawn_app().await;
    app.add_user("root@platform.test", Role::Admin, None).await;
    app.add_user("analyst@acme.test", Role::Member, Some("acme"))
        .await;
    let admin = app.sign_in("root@platform.test").await;
    let analyst = app.sign_in("analyst@acme.test").await;
    let mut socket = ws_connect(&ws_url(app.addr, &[]), &analyst).await.unwrap();
    socket.recv().await;

    let path = "/api/users/analyst@acme.test/reset-link";
    let (status, link) = call(&app, Method::POST, path, &admin, None).await;
    assert_eq!(status, StatusCode::CREATED, "{link}");
    assert!(link["link"].as_str().unwrap().contains("/reset/"));
    assert_eq!(socket.close_code().await, CloseCode::Policy);
    let (status, _) = call(&app, Method::GET, "/api/auth/me", &analyst, None).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "its session ended with the reset"
    );

    // The page's form: mismatched, then good; signed in on the way to the dashboard.
    let secret = secret_of(&link);
    let form = |password: &'static str, again: &'static str| {
        app.client
            .post(app.url("/link"))
            .form(&[
                ("secret", secret.as_str()),
                ("new_password", password),
                ("confirm_password", again),
            ])
            .send()
    };
    let mismatch = form(NEW_PASSWORD, "something else entirely").await.unwrap();
    assert_eq!(
        header(&mismatch, "location"),
        format!("/reset/{secret}?error=mismatch")
    );
    let done = form(NEW_PASSWORD, NEW_PASSWORD).await.unwrap();
    assert_eq!(header(&done, "location"), "/dashboard/realtime");
    assert!(header(&done, "set-cookie").starts_with("switchboard_session="));
    let again = form(NEW_PASSWORD, NEW_PASSWORD).await.unwrap();
    assert_eq!(
        header(&again, "location"),
        format!("/reset/{secret}?error=gone")
    );

    let sign_in = |password: &'static str| {
        app.client
            .post(app.url("/api/auth/token"))
            .json(&json!({"email": "analyst@acme.test", "password": password}))
            .send()
    };
    assert_eq!(
        sign_in(TEST_PASSWORD).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        sign_in(NEW_PASSWORD).await.unwrap().status(),
        StatusCode::OK
    );

    // An owner resets only its own tenant's users.
    app.add_user("owner@globex.test", Role::Owner, Some("globex"))
        .await;
    let foreign = app.sign_in("owner@globex.test").await;
    let (status, _) = call(&app, Method::POST, path, &foreign, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_expired_link_is_refused_with_a_page_saying_so() {
    let app = spawn_app().await;
    app.state
        .storage
        .set_tenant_name("acme", "Acme")
        .await
        .unwrap();
    let secret = "an-expired-link-secret-of-43-characters-xx";
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let row = NewLinkRow {
        kind: "invite",
        secret_hash: &server::secrets::digest(secret),
        email: "late@acme.test",
        role: "member",
        tenant_id: Some("acme"),
        created_by: "test",
        created_at: now - 100_000,
        expires_at: now - 1,
    };
    app.state
        .storage
        .insert_link(row, 10)
        .await
        .unwrap()
        .unwrap();
    let (status, html) = page(&app, &format!("/welcome/{secret}")).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(html.contains("expired"), "{html}");
    let (status, body) = use_link(&app, secret, NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        app.state
            .storage
            .user_by_email("late@acme.test")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn the_users_page_makes_an_invitation_and_shows_its_link_once() {
    let app = spawn_app().await;
    app.add_user("owner@acme.test", Role::Owner, Some("acme"))
        .await;
    let session = app.sign_in("owner@acme.test").await;
    let cookie = format!("{}={session}", server::domain::auth::SESSION_COOKIE);
    let made = app
        .client
        .post(app.url("/users/invite"))
        .header("cookie", &cookie)
        .form(&[("email", "colleague@acme.test"), ("role", "member")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(&made, "location"),
        "/users?done=invited&email=colleague%40acme.test"
    );
    let set_cookie = header(&made, "set-cookie").to_owned();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("Path=/users"),
        "{set_cookie}"
    );
    let flash = set_cookie.split(';').next().unwrap().to_owned();
    // The cookie's value is percent-encoded on the wire.
    let link = flash
        .split_once('=')
        .unwrap()
        .1
        .replace("%3A", ":")
        .replace("%2F", "/");
    assert!(link.contains("/welcome/"), "{link}");
    let page = app
        .client
        .get(app.url("/users?done=invited&email=colleague%40acme.test"))
        .header("cookie", format!("{cookie}; {flash}"))
        .send()
        .await
        .unwrap();
    assert!(header(&page, "set-cookie").starts_with("switchboard_new_link=;"));
    let html = page.text().await.unwrap();
    assert!(
        html.contains(&link) && html.contains("For colleague@acme.test"),
        "{html}"
    );
    let refused = app
        .client
        .post(app.url("/users/invite"))
        .header("cookie", &cookie)
        .form(&[("email", "boss@acme.test"), ("role", "admin")])
        .send()
        .await
        .unwrap();
    assert_eq!(header(&refused, "location"), "/users?error=forbidden");
}

#[tokio::test]
async fn with_a_mail_server_set_the_link_is_mailed_to_its_user() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    // A real SMTP server: Python's own, printing each message it takes.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut receiver = tokio::process::Command::new("python3")
        .args([
            "-W",
            "ignore",
            "-u",
            "-m",
            "smtpd",
            "-n",
            "-c",
            "DebuggingServer",
        ])
        .arg(format!("127.0.0.1:{port}"))
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 runs");
    tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the SMTP server listens");
    let app = crate::helpers::spawn_app_with(|config| {
        config.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
    })
    .await;
    app.add_user("owner@acme.test", Role::Owner, Some("acme"))
        .await;
    let owner = app.sign_in("owner@acme.test").await;
    let body = json!({"email": "mailed@acme.test", "role": "member"});
    let (status, link) = call(
        &app,
        Method::POST,
        "/api/users/invitations",
        &owner,
        Some(body),
    )
    .await;
    assert_eq!(
        (status, &link["emailed"]),
        (StatusCode::CREATED, &json!(true)),
        "{link}"
    );
    let url = link["link"].as_str().unwrap().to_owned();
    let mut lines = BufReader::new(receiver.stdout.take().unwrap()).lines();
    let mut seen = String::new();
    tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            seen.push_str(&line);
            seen.push('\n');
            if line.contains(&url) {
                break;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the link never arrived: {seen}"));
    assert!(seen.contains("To: mailed@acme.test"), "{seen}");
    assert!(
        seen.contains("Subject: You are invited to Switchboard"),
        "{seen}"
    );
    // The mail server gone: the link is made all the same, and says it was not mailed.
    receiver.kill().await.unwrap();
    let body = json!({"email": "unmailed@acme.test", "role": "member"});
    let (status, link) = call(
        &app,
        Method::POST,
        "/api/users/invitations",
        &owner,
        Some(body),
    )
    .await;
    assert_eq!(
        (status, &link["emailed"]),
        (StatusCode::CREATED, &json!(false)),
        "{link}"
    );
}

#[tokio::test]
async fn open_invitations_are_listed_to_their_managers_and_cancelled_at_once() {
    let app = spawn_app().await;
    app.add_user("root@platform.test", Role::Admin, None).await;
    app.add_user("owner@acme.test", Role::Owner, Some("acme"))
        .await;
    app.add_user("owner@globex.test", Role::Owner, Some("globex"))
        .await;
    let admin = app.sign_in("root@platform.test").await;
    let acme = app.sign_in("owner@acme.test").await;
    let globex = app.sign_in("owner@globex.test").await;
    for (by, email) in [(&acme, "soon@acme.test"), (&globex, "later@globex.test")] {
        let body = json!({"email": email, "role": "member"});
        let (status, _) = call(&app, Method::POST, "/api/users/invitations", by, Some(body)).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (_, link) = call(
        &app,
        Method::POST,
        "/api/users/invitations",
        &acme,
        Some(json!({"email": "soon@acme.test", "role": "member"})),
    )
    .await;
    let emails = |list: &Value| -> Vec<String> {
        list["invitations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["email"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, all) = call(&app, Method::GET, "/api/users/invitations", &admin, None).await;
    assert_eq!(emails(&all), ["later@globex.test", "soon@acme.test"]);
    assert!(
        !all.to_string().contains(&secret_of(&link)),
        "never the link: {all}"
    );
    let (_, own) = call(&app, Method::GET, "/api/users/invitations", &acme, None).await;
    assert_eq!(emails(&own), ["soon@acme.test"]);
    assert_eq!(own["invitations"][0]["invited_by"], "owner@acme.test");

    let path = "/api/users/invitations/soon@acme.test";
    let (status, _) = call(&app, Method::DELETE, path, &globex, None).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another tenant's is as missing as none"
    );
    let (status, _) = call(&app, Method::DELETE, path, &acme, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = use_link(&app, &secret_of(&link), NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "its link no longer works");
    let (_, own) = call(&app, Method::GET, "/api/users/invitations", &acme, None).await;
    assert_eq!(emails(&own), Vec::<String>::new());
}

#[tokio::test]
async fn one_maker_holds_at_most_a_hundred_open_links() {
    let app = spawn_app().await;
    app.add_user("owner@acme.test", Role::Owner, Some("acme"))
        .await;
    let owner = app.sign_in("owner@acme.test").await;
    let invite = |n: i64| json!({"email": format!("person-{n}@acme.test"), "role": "member"});
    for n in 0..server::domain::links::MAX_OPEN_LINKS_PER_MAKER {
        let (status, _) = call(
            &app,
            Method::POST,
            "/api/users/invitations",
            &owner,
            Some(invite(n)),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "invitation {n}");
    }
    let (status, answer) = call(
        &app,
        Method::POST,
        "/api/users/invitations",
        &owner,
        Some(invite(100)),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("at most 100"),
        "{answer}"
    );
    // Re-inviting an email replaces its link rather than adding one.
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/users/invitations",
        &owner,
        Some(invite(0)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "a replacement is not one more");
}
