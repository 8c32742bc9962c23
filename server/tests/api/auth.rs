//! Sign-in and tenancy: who may read what, through every door (bearer token, session cookie,
//! login form, the CLI), and every way in refused with the right status and a JSON body.

use std::process::Command;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::{
    domain::users::Role,
    runtime::config::{TEST_INGEST_KEY, TEST_JWT_SECRET},
};

use crate::helpers::{TEST_PASSWORD, TestApp, header, spawn_app, spawn_app_with};

/// Every endpoint that reads tenant data, with a query that is valid apart from `user_id`.
const TENANT_ENDPOINTS: [&str; 6] = [
    "/api/dashboard/metrics?hours=24",
    "/api/dashboard/active-calls?",
    "/api/dashboard/recent-calls?limit=5",
    "/api/dashboard/agent-performance?hours=24",
    "/api/dashboard/calls-per-hour?hours=24",
    "/api/dashboard/calls.csv?",
];

const ADMIN_ENDPOINTS: [&str; 4] = [
    "/api/admin/active-calls",
    "/api/admin/dlq",
    "/api/admin/health",
    "/api/admin/tenants",
];

fn signed(claims: Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

fn in_an_hour() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp() + 3600
}

async fn status_and_body(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

async fn assert_refused(app: &TestApp, path: &str, token: Option<&str>, expected: StatusCode) {
    let mut request = app.client.get(app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let (status, body) = status_and_body(request.send().await.unwrap()).await;
    assert_eq!(status, expected, "{path} with {token:?}");
    assert_eq!(body["success"], false, "{path}: {body}");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{path}: {body}"
    );
}

#[tokio::test]
async fn the_tenancy_matrix() {
    let app = spawn_app().await;
    let acme = app.token(Some("acme"));
    let admin = app.token(None);
    let forged = signed(
        json!({"sub": "x", "role": "admin", "exp": in_an_hour()}),
        "not-the-server-secret",
    );
    let expired = signed(
        json!({"sub": "x", "role": "tenant", "tenant": "acme", "aud": "switchboard",
               "exp": time::OffsetDateTime::now_utc().unix_timestamp() - 600}),
        TEST_JWT_SECRET,
    );
    let tenantless = signed(
        json!({"sub": "x", "role": "tenant", "aud": "switchboard", "exp": in_an_hour()}),
        TEST_JWT_SECRET,
    );
    // Signed with our secret, but for another service sharing it.
    let elsewhere = signed(
        json!({"sub": "x", "role": "admin", "aud": "billing", "exp": in_an_hour()}),
        TEST_JWT_SECRET,
    );
    let unsigned = format!(
        "{}.{}.",
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0",
        "eyJzdWIiOiJ4Iiwicm9sZSI6ImFkbWluIiwiZXhwIjo0MTAyNDQ0ODAwfQ"
    );

    for path in TENANT_ENDPOINTS.iter().chain(&ADMIN_ENDPOINTS) {
        assert_refused(&app, path, None, StatusCode::UNAUTHORIZED).await;
        for bad in [
            &forged,
            &expired,
            &tenantless,
            &elsewhere,
            &unsigned,
            &TEST_INGEST_KEY.to_owned(),
        ] {
            assert_refused(&app, path, Some(bad), StatusCode::UNAUTHORIZED).await;
        }
    }
    for path in TENANT_ENDPOINTS {
        // Own tenant, named or not.
        for query in ["", "&user_id=acme"] {
            let response = app.get_as(&format!("{path}{query}"), &acme).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}{query}");
        }
        // Another tenant: 403 with our JSON body, never the data.
        assert_refused(
            &app,
            &format!("{path}&user_id=globex"),
            Some(&acme),
            StatusCode::FORBIDDEN,
        )
        .await;
        // Admins: any tenant, or all.
        for query in ["", "&user_id=globex"] {
            let response = app.get_as(&format!("{path}{query}"), &admin).await;
            assert_eq!(response.status(), StatusCode::OK, "admin {path}{query}");
        }
    }
    for path in ADMIN_ENDPOINTS {
        assert_refused(&app, path, Some(&acme), StatusCode::FORBIDDEN).await;
        assert_eq!(
            app.get_as(path, &admin).await.status(),
            StatusCode::OK,
            "{path}"
        );
    }
    // A malformed Authorization header is a 401 too.
    let response = app
        .client
        .get(app.url("/api/dashboard/metrics"))
        .header("authorization", "Basic YWRtaW46YWRtaW4=")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(header(&response, "www-authenticate"), "Bearer");
}

#[tokio::test]
async fn a_tenant_never_sees_another_tenants_rows() {
    let app = spawn_app().await;
    let events: Vec<Value> = ["acme", "globex"]
        .into_iter()
        .map(|tenant| {
            json!({"type": "call_started", "user_id": tenant, "call_id": format!("{tenant}-call"),
                   "at": time::OffsetDateTime::now_utc()
                       .format(&time::format_description::well_known::Rfc3339).unwrap()})
        })
        .collect();
    assert_eq!(
        app.ingest(&Value::Array(events)).await.status(),
        StatusCode::OK
    );
    let acme = app.token(Some("acme"));
    for path in [
        "/api/dashboard/active-calls",
        "/api/dashboard/recent-calls",
        "/api/dashboard/calls.csv",
    ] {
        let text = app.get_as(path, &acme).await.text().await.unwrap();
        assert!(text.contains("acme-call"), "{path}: {text}");
        assert!(
            !text.contains("globex"),
            "{path} leaked another tenant: {text}"
        );
    }
    let metrics: Value = app
        .get_as("/api/dashboard/metrics", &acme)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(metrics["metrics"]["total_calls"], 1);
    let all = app.admin_json("/api/dashboard/metrics").await;
    assert_eq!(all["metrics"]["total_calls"], 2);
}

#[tokio::test]
async fn tokens_from_the_old_platform_keep_working() {
    let app = spawn_app().await;
    // Same secret, no role claim, the tenant as `user_id`.
    let token = signed(
        json!({"sub": "platform", "user_id": "acme", "exp": in_an_hour()}),
        TEST_JWT_SECRET,
    );
    let body: Value = app
        .get_as("/api/auth/me", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["identity"]["role"], "member", "read only");
    assert_eq!(body["identity"]["tenant"], "acme");
    let response = app
        .get_as("/api/dashboard/metrics?user_id=globex", &token)
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn email_and_password_buy_a_token() {
    let app = spawn_app().await;
    app.add_user("ops@acme.test", Role::Owner, Some("acme"))
        .await;
    let response = app
        .client
        .post(app.url("/api/auth/token"))
        .json(&json!({"email": " OPS@acme.test ", "password": TEST_PASSWORD}))
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_body(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 12 * 3600);
    assert_eq!(body["identity"]["subject"], "ops@acme.test");
    let token = body["token"].as_str().unwrap();
    let me: Value = app
        .get_as("/api/auth/me", token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (&me["identity"]["role"], &me["identity"]["tenant"]),
        (&json!("owner"), &json!("acme"))
    );

    for (credentials, expected) in [
        (
            json!({"email": "ops@acme.test", "password": "wrong password!"}),
            StatusCode::UNAUTHORIZED,
        ),
        (
            json!({"email": "nobody@acme.test", "password": TEST_PASSWORD}),
            StatusCode::UNAUTHORIZED,
        ),
        (json!({"email": "ops@acme.test"}), StatusCode::BAD_REQUEST),
        (
            json!({"email": "ops@acme.test", "password": "x", "admin": true}),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let response = app
            .client
            .post(app.url("/api/auth/token"))
            .json(&credentials)
            .send()
            .await
            .unwrap();
        let (status, body) = status_and_body(response).await;
        assert_eq!(status, expected, "{credentials}");
        assert_eq!(body["success"], false);
    }
    let response = app
        .client
        .post(app.url("/api/auth/token"))
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_body(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"].as_str().unwrap().contains("malformed JSON"),
        "{body}"
    );
}

/// Posts the login form as a browser would.
async fn post_login(app: &TestApp, path: &str, password: &str) -> reqwest::Response {
    post_login_as(app, path, "admin@ops.test", password).await
}

async fn post_login_as(
    app: &TestApp,
    path: &str,
    email: &str,
    password: &str,
) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_browser_signs_in_with_a_form_and_out_again() {
    let app = spawn_app().await;
    app.add_user("admin@ops.test", Role::Admin, None).await;

    // Anonymous: the dashboard sends you to sign in, and back afterwards.
    let response = app.get("/dashboard/realtime?x=1").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        header(&response, "location"),
        "/login?next=%2Fdashboard%2Frealtime%3Fx%3D1"
    );
    let page = app.get("/login?next=%2Fdashboard%2Frealtime").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"name="password""#), "{html}");
    assert!(
        !html.contains("Demo accounts"),
        "no demo hints outside demo mode"
    );

    let wrong = post_login(
        &app,
        "/login?next=%2Fdashboard%2Frealtime",
        "not the password",
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::SEE_OTHER);
    assert!(header(&wrong, "location").starts_with("/login?error=1"));
    assert!(wrong.headers().get("set-cookie").is_none());

    let signed_in = post_login(&app, "/login?next=%2Fdashboard%2Frealtime", TEST_PASSWORD).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(header(&signed_in, "location"), "/dashboard/realtime");
    let cookie = header(&signed_in, "set-cookie").to_owned();
    assert!(cookie.starts_with("switchboard_session="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=43200"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    let session = cookie.split(';').next().unwrap().to_owned();

    // The cookie opens the page and the API.
    let page = app
        .client
        .get(app.url("/dashboard/realtime"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Log out"));
    let me = app
        .client
        .get(app.url("/api/auth/me"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_body(me).await;
    assert_eq!(
        (status, &body["identity"]["role"]),
        (StatusCode::OK, &json!("admin"))
    );

    // Logging out clears it.
    let out = app
        .client
        .post(app.url("/logout"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(header(&out, "location"), "/login");
    let cleared = header(&out, "set-cookie");
    assert!(
        cleared.starts_with("switchboard_session=;") || cleared.contains("Max-Age=0"),
        "{cleared}"
    );

    // Behind a TLS-terminating proxy the cookie is Secure.
    let proxied = app
        .client
        .post(app.url("/login"))
        .header("x-forwarded-proto", "https")
        .form(&[("email", "admin@ops.test"), ("password", TEST_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(header(&proxied, "set-cookie").contains("Secure"));
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP keeps working locally"
    );

    // A redirect target off this site is ignored.
    let elsewhere = post_login(
        &app,
        "/login?next=https%3A%2F%2Fevil.example",
        TEST_PASSWORD,
    )
    .await;
    assert_eq!(header(&elsewhere, "location"), "/dashboard/realtime");
}

#[tokio::test]
async fn the_demo_login_page_lists_the_demo_accounts() {
    let app = crate::helpers::spawn_app_with(|config| config.demo = true).await;
    let html = app.get("/login").await.text().await.unwrap();
    assert!(html.contains("Demo accounts"), "{html}");
    assert!(html.contains("admin@demo.switchboard.test"));
    assert!(html.contains(server::service::demo::DEMO_PASSWORD));
}

#[tokio::test]
async fn the_cli_mints_tokens_the_server_accepts() {
    let app = spawn_app().await;
    let mint = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(["token", "--signed"])
            .args(args)
            .env("JWT_SECRET", TEST_JWT_SECRET)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    };
    let tenant = mint(&["--tenant", "acme"]);
    let me: Value = app
        .get_as("/api/auth/me", &tenant)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["identity"]["tenant"], "acme");
    let admin = mint(&["--admin", "--ttl-hours", "1"]);
    assert_eq!(
        app.get_as("/api/admin/tenants", &admin).await.status(),
        StatusCode::OK
    );
    let viewer = mint(&["--role", "viewer"]);
    assert_eq!(
        app.get_as("/api/admin/tenants", &viewer).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get_as("/api/admin/audit", &viewer).await.status(),
        StatusCode::FORBIDDEN,
        "the audit log is the admin's"
    );
    // A tenant's role needs its tenant; the platform's roles take none.
    for args in [
        &["--role", "owner"][..],
        &["--role", "operator", "--tenant", "acme"],
    ] {
        let refused = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(["token", "--signed"])
            .args(args)
            .env("JWT_SECRET", TEST_JWT_SECRET)
            .output()
            .unwrap();
        assert!(!refused.status.success(), "{args:?}");
    }
    // Exactly one of --tenant and --admin.
    let neither = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["token", "--signed"])
        .env("JWT_SECRET", TEST_JWT_SECRET)
        .output()
        .unwrap();
    assert!(!neither.status.success());
}

#[tokio::test]
async fn password_guessing_is_throttled_per_email() {
    let app = spawn_app().await;
    app.add_user("ops@acme.test", Role::Owner, Some("acme"))
        .await;
    let attempt = |password: &'static str| {
        app.client
            .post(app.url("/api/auth/token"))
            .json(&json!({"email": "ops@acme.test", "password": password}))
            .send()
    };
    // Ten tries in a burst, then the email has to wait, even with the right password.
    for _ in 0..10 {
        assert_eq!(
            attempt("wrong password!").await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let throttled = attempt(TEST_PASSWORD).await.unwrap();
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = header(&throttled, "retry-after").parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let (_, body) = status_and_body(throttled).await;
    assert_eq!(body["code"], "too_many_requests");
    // The form says so in words.
    let form = post_login_as(&app, "/login", "ops@acme.test", TEST_PASSWORD).await;
    assert!(header(&form, "location").starts_with("/login?error=throttled"));
    // Another email is not affected.
    app.add_user("admin@ops.test", Role::Admin, None).await;
    let other = post_login(&app, "/login", TEST_PASSWORD).await;
    assert_eq!(header(&other, "location"), "/dashboard/realtime");
}

#[tokio::test]
async fn guessing_across_many_emails_is_throttled_per_client_address() {
    use server::domain::auth::ATTEMPTS_PER_ADDRESS_PER_MINUTE;
    let app = spawn_app_with(|config| {
        config.client_ip_header = Some(reqwest::header::HeaderName::from_static("x-forwarded-for"));
    })
    .await;
    // What the proxy appends is the client's address; what comes before is the client's own
    // writing, and changing it must not buy new attempts.
    let attempt = |n: u32, forwarded: &'static str| {
        app.client
            .post(app.url("/api/auth/token"))
            .header("x-forwarded-for", forwarded)
            .json(&json!({"email": format!("guess-{n}@acme.test"), "password": "wrong password!"}))
            .send()
    };
    for n in 0..ATTEMPTS_PER_ADDRESS_PER_MINUTE {
        let forged = [
            "1.1.1.1, 203.0.113.7",
            "203.0.113.7",
            "9.9.9.9, 203.0.113.7",
        ][n as usize % 3];
        assert_eq!(
            attempt(n, forged).await.unwrap().status(),
            StatusCode::UNAUTHORIZED,
            "attempt {n}"
        );
    }
    let throttled = attempt(1_000, "8.8.8.8, 203.0.113.7").await.unwrap();
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(!header(&throttled, "retry-after").is_empty());
    // Another client behind the same proxy is not affected.
    assert_eq!(
        attempt(1_001, "203.0.113.8").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn without_a_trusted_header_the_peer_is_the_client() {
    use server::domain::auth::ATTEMPTS_PER_ADDRESS_PER_MINUTE;
    let app = spawn_app().await;
    // Headers a client writes itself change nothing: every attempt comes from this peer.
    for n in 0..=ATTEMPTS_PER_ADDRESS_PER_MINUTE {
        let status = app
            .client
            .post(app.url("/api/auth/token"))
            .header("x-forwarded-for", format!("198.51.100.{n}"))
            .json(&json!({"email": format!("guess-{n}@acme.test"), "password": "wrong password!"}))
            .send()
            .await
            .unwrap()
            .status();
        let expected = if n < ATTEMPTS_PER_ADDRESS_PER_MINUTE {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(status, expected, "attempt {n}");
    }
}

#[tokio::test]
async fn oversized_json_is_a_413_and_weak_secrets_are_refused() {
    let app = spawn_app().await;
    let huge = "x".repeat(100 * 1024);
    let response = app
        .client
        .post(app.url("/api/auth/token"))
        .json(&json!({"email": "a@b.test", "password": huge}))
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_body(response).await;
    assert_eq!(
        (status, &body["code"]),
        (StatusCode::PAYLOAD_TOO_LARGE, &json!("payload_too_large"))
    );

    let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["token", "--signed", "--admin"])
        .env("JWT_SECRET", "too-short")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("at least 32 bytes"));
}

/// The issue's probe and its relatives: a page on another site posting to us with the victim's
/// cookie (or signing them in or out) is refused before anything happens; our own pages, and
/// clients that are not browsers, are not.
#[tokio::test]
async fn cross_site_posts_are_refused_whatever_they_carry() {
    let app = spawn_app().await;
    app.add_user("admin@ops.test", Role::Admin, None).await;
    let own_origin = app.url("").trim_end_matches('/').to_owned();
    let evil = [
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ];
    let failures_before = app.state.dlq.depth().await.unwrap();
    let audited = |log: Value| log["entries"].as_array().map(Vec::len);
    let audit_before = audited(app.admin_json("/api/admin/audit").await);

    // Cookie-authenticated admin actions: the REST door and the page's server function.
    for path in ["/api/admin/dlq/retry", "/rpc/dlq_retry_all"] {
        for (name, value) in evil {
            let response = app
                .signed_in(reqwest::Method::POST, path, None)
                .header(name, value)
                .form(&[("id", "1")])
                .send()
                .await
                .unwrap();
            let (status, body) = status_and_body(response).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path} with {name}: {body}");
            assert!(
                body["error"].as_str().unwrap().contains("cross-origin"),
                "{body}"
            );
        }
    }
    // Signing someone in (into the attacker's account) or out.
    for (path, form) in [
        (
            "/login",
            &[("email", "admin@ops.test"), ("password", TEST_PASSWORD)][..],
        ),
        ("/logout", &[][..]),
    ] {
        let response = app
            .client
            .post(app.url(path))
            .header("origin", "https://evil.example")
            .form(form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        assert!(response.headers().get("set-cookie").is_none(), "{path}");
    }
    assert_eq!(app.state.dlq.depth().await.unwrap(), failures_before);
    assert_eq!(
        audited(app.admin_json("/api/admin/audit").await),
        audit_before,
        "nothing was done, so nothing was recorded"
    );

    // Our own pages: the same requests go through.
    let own = app
        .signed_in(reqwest::Method::POST, "/rpc/dlq_retry_all", None)
        .header("origin", &own_origin)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), StatusCode::OK);
    let login = sign_in_from(&app, &own_origin).await;
    assert!(header(&login, "set-cookie").starts_with("switchboard_session="));
}

/// The admin's right credentials posted to `/login` by a page of `origin`.
async fn sign_in_from(app: &TestApp, origin: &str) -> reqwest::Response {
    app.client
        .post(app.url("/login"))
        .header("origin", origin)
        .form(&[("email", "admin@ops.test"), ("password", TEST_PASSWORD)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn behind_a_proxy_the_public_url_is_this_site_and_makes_cookies_secure() {
    let app = spawn_app_with(|config| {
        config.public_url = Some("https://board.example".to_owned());
    })
    .await;
    app.add_user("admin@ops.test", Role::Admin, None).await;
    let login = sign_in_from(&app, "https://board.example").await;
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    assert!(header(&login, "set-cookie").contains("Secure"));
}

/// A handler that panics answers 500 JSON like any internal error; the connection is not dropped.
#[tokio::test]
async fn a_panicking_handler_answers_500_json() {
    let router: axum::Router = axum::Router::new()
        .route(
            "/boom",
            axum::routing::get(|| async {
                let parsed: Result<u8, _> = "999".parse();
                parsed.expect("a bug").to_string()
            }),
        )
        .layer(server::http::catch_panics());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/boom", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let (status, body) = status_and_body(reqwest::get(&url).await.unwrap()).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["success"], json!(false), "{body}");
    assert!(
        !body.to_string().contains("a bug"),
        "no detail leaks: {body}"
    );
}

/// The issue's probe: 2 MB emails on `/login` grew the server by 214 MB (each kept as a
/// rate-limiter key). Values no account can have are refused before anything is kept.
#[tokio::test]
async fn sign_in_values_are_bounded() {
    let app = spawn_app().await;
    app.add_user("admin@ops.test", Role::Admin, None).await;
    let long_email = format!("{}@ops.test", "a".repeat(250));

    let (status, body) = status_and_body(
        app.client
            .post(app.url("/api/auth/token"))
            .json(&json!({"email": long_email, "password": "x"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["error"].as_str().unwrap().contains("email"), "{body}");
    let (status, body) = status_and_body(
        app.client
            .post(app.url("/api/auth/token"))
            .json(&json!({"email": "admin@ops.test", "password": "p".repeat(1025)}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("password"),
        "{body}"
    );

    // The form: an over-long email is just a failed sign-in; a huge body is not read.
    let form = post_login_as(&app, "/login", &long_email, "x").await;
    assert!(header(&form, "location").starts_with("/login?error=1"));
    let huge = app
        .client
        .post(app.url("/login"))
        .form(&[("email", "a".repeat(2 << 20)), ("password", "x".to_owned())])
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_body(huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");

    // At the limits, signing in still works.
    let right = post_login(&app, "/login", TEST_PASSWORD).await;
    assert!(header(&right, "set-cookie").starts_with("switchboard_session="));
}
