//! The permission matrix (issue 24): every role, every action, every door, against a table
//! declared here — written from the issue, not read from the code — on SQLite and PostgreSQL.
//! API tokens walk it too: each scope gets exactly the column of the role it names (an admin's
//! `operator` token is an operator's, never an admin's).
//! A cell that differs fails with its role, action and door named. "Allowed" is a 2xx (or a
//! live socket that gets in and is sent the stream); "refused" is exactly a 403 (or the live
//! door's refusal), never a 401, a 404 or a 5xx.

use app::dto::{
    auth::Role,
    live::{ClientMessage, Room, ServerMessage, Stream},
    tokens::TokenScope,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    databases::each_backend,
    helpers::{TestApp, spawn_app_with},
    live_clients::{SocketIoClient, ws_connect, ws_connect_bearer, ws_url},
};

/// What is asked, in the table's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    ReadOwnTenant,
    ReadAnotherTenant,
    ReadOperations,
    ReadAuditLog,
    ActOnDlq,
    RunReconciliation,
    ListUsers,
}

const ROLES: [Role; 5] = [
    Role::Admin,
    Role::Operator,
    Role::Viewer,
    Role::Owner,
    Role::Member,
];

/// The declared table: whether each of admin, operator, viewer, owner, member may.
const TABLE: [(Action, [bool; 5]); 7] = [
    (Action::ReadOwnTenant, [true, true, true, true, true]),
    (Action::ReadAnotherTenant, [true, true, true, false, false]),
    (Action::ReadOperations, [true, true, true, false, false]),
    (Action::ReadAuditLog, [true, false, false, false, false]),
    (Action::ActOnDlq, [true, true, false, false, false]),
    (Action::RunReconciliation, [true, true, false, false, false]),
    (Action::ListUsers, [true, false, false, true, false]),
];

fn expected(role: Role, action: Action) -> bool {
    let column = ROLES.iter().position(|r| *r == role).unwrap();
    TABLE.iter().find(|(a, _)| *a == action).unwrap().1[column]
}

/// Who asks: a signed token of a role, or an API token of a scope made by an admin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Role(Role),
    ApiToken(TokenScope),
}

impl Who {
    /// The table's column.
    fn column(self) -> Role {
        match self {
            Self::Role(role) => role,
            Self::ApiToken(TokenScope::TenantRead) => Role::Member,
            Self::ApiToken(TokenScope::AllRead) => Role::Viewer,
            Self::ApiToken(TokenScope::Operator) => Role::Operator,
        }
    }
}

/// Every asker and its bearer token: tenant roles and tenant tokens belong to acme; the
/// platform's to no tenant.
async fn credentials(app: &TestApp) -> Vec<(Who, String)> {
    let mut credentials: Vec<(Who, String)> = ROLES
        .into_iter()
        .map(|role| {
            let tenant = (!role.is_platform()).then_some("acme");
            let token = app
                .state
                .jwt
                .mint("matrix", role, tenant, None, time::Duration::hours(1))
                .unwrap()
                .0;
            (Who::Role(role), token)
        })
        .collect();
    app.state
        .storage
        .set_tenant_name("acme", "Acme")
        .await
        .unwrap();
    app.add_user("maker@matrix.test", Role::Admin, None).await;
    let maker = app.sign_in("maker@matrix.test").await;
    for scope in TokenScope::ALL {
        let response = app
            .client
            .post(app.url("/api/tokens"))
            .bearer_auth(&maker)
            .json(
                &json!({"name": "matrix", "scope": scope, "tenant": "acme", "expires_in_days": 1}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "{scope:?}");
        let body: Value = response.json().await.unwrap();
        let token = body["token"].as_str().unwrap().to_owned();
        credentials.push((Who::ApiToken(scope), token));
    }
    credentials
}

/// Allowed (2xx) or refused (403); anything else fails the test.
async fn outcome(response: reqwest::Response, what: &str) -> bool {
    let status = response.status();
    if status.is_success() {
        return true;
    }
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(status, StatusCode::FORBIDDEN, "{what}: {body}");
    assert_eq!(body["code"], "forbidden", "{what}: {body}");
    false
}

/// The REST door, the server functions' and the CSV export's requests for `action`.
fn requests(action: Action) -> Vec<(&'static str, Method, &'static str)> {
    match action {
        Action::ReadOwnTenant => vec![
            ("REST", Method::GET, "/api/dashboard/metrics?user_id=acme"),
            ("server fn", Method::GET, "/rpc/metrics?user_id=acme"),
            ("CSV", Method::GET, "/api/dashboard/calls.csv?user_id=acme"),
        ],
        Action::ReadAnotherTenant => vec![
            ("REST", Method::GET, "/api/dashboard/metrics?user_id=globex"),
            ("server fn", Method::GET, "/rpc/metrics?user_id=globex"),
            (
                "CSV",
                Method::GET,
                "/api/dashboard/calls.csv?user_id=globex",
            ),
        ],
        Action::ReadOperations => vec![
            ("REST", Method::GET, "/api/admin/dlq"),
            ("REST", Method::GET, "/api/admin/active-calls"),
            ("REST", Method::GET, "/api/admin/reconciliation"),
            ("REST", Method::GET, "/api/admin/health"),
            ("server fn", Method::GET, "/rpc/dlq"),
            ("server fn", Method::GET, "/rpc/tenants"),
        ],
        Action::ReadAuditLog => vec![
            ("REST", Method::GET, "/api/admin/audit"),
            ("server fn", Method::GET, "/rpc/audit_log"),
        ],
        Action::ActOnDlq => vec![
            ("REST", Method::POST, "/api/admin/dlq/retry"),
            ("server fn", Method::POST, "/rpc/dlq_retry_all"),
        ],
        Action::RunReconciliation => vec![
            ("REST", Method::POST, "/api/admin/reconciliation/trigger"),
            ("server fn", Method::POST, "/rpc/reconcile_now"),
        ],
        Action::ListUsers => vec![
            ("REST", Method::GET, "/api/users"),
            ("server fn", Method::GET, "/rpc/users"),
        ],
    }
}

/// REST and CSV with a bearer token; server functions with the session cookie, as the page
/// sends them (an API token, never a cookie, as its bearer).
async fn http_cell(
    app: &TestApp,
    (who, token): &(Who, String),
    door: &str,
    method: Method,
    path: &str,
) -> bool {
    let request = app.client.request(method, app.url(path));
    let request = if door == "server fn" && matches!(who, Who::ApiToken(_)) {
        request.bearer_auth(token).form(&[("", "")])
    } else if door == "server fn" {
        let cookie = format!("{}={token}", server::domain::auth::SESSION_COOKIE);
        request.header("cookie", cookie).form(&[("", "")])
    } else {
        request.bearer_auth(token)
    };
    outcome(
        request.send().await.unwrap(),
        &format!("{who:?} {door} {path}"),
    )
    .await
}

/// `/ws`: whether a socket for `tenant` gets in, and which rooms and streams it is given.
async fn ws_cell(app: &TestApp, token: &str, action: Action) -> bool {
    let tenant = match action {
        Action::ReadAnotherTenant => "globex",
        _ => "acme",
    };
    let url = ws_url(app.addr, &[("user_id", tenant)]);
    // A script sends its API token as a header; a browser carries a sign-in in its cookie.
    let socket = if token.starts_with(server::domain::auth::api_tokens::TOKEN_PREFIX) {
        ws_connect_bearer(&url, token).await
    } else {
        ws_connect(&url, token).await
    };
    let Ok(mut socket) = socket else {
        return false;
    };
    let ServerMessage::Hello { rooms, .. } = socket.recv().await else {
        panic!("hello first");
    };
    match action {
        Action::ReadOwnTenant | Action::ReadAnotherTenant => {
            rooms.contains(&Room::Tenant(tenant.to_owned()))
        }
        Action::ReadOperations => rooms.contains(&Room::Ops),
        Action::ReadAuditLog => {
            socket
                .send(&ClientMessage::Subscribe {
                    stream: Stream::Audit,
                })
                .await;
            loop {
                match socket.recv().await {
                    ServerMessage::Streams { streams } if streams.contains(&Stream::Audit) => {
                        break true;
                    }
                    ServerMessage::Error { .. } => break false,
                    _ => {}
                }
            }
        }
        Action::ActOnDlq | Action::RunReconciliation | Action::ListUsers => {
            unreachable!("not a live door's")
        }
    }
}

/// Socket.IO through the real `socket.io-client`: whether it connects for `tenant`, and whether
/// a stream is granted. `None` when the client is not installed (and not required).
async fn socketio_cell(app: &TestApp, token: &str, action: Action) -> Option<bool> {
    let tenant = match action {
        Action::ReadAnotherTenant => "globex",
        _ => "acme",
    };
    let auth = json!({"token": token, "user_id": tenant});
    let mut client = SocketIoClient::connect(app.addr, auth, &["websocket"]).await?;
    let (event, _) = client.next().await;
    if event == "connect_error" {
        client.close().await;
        return Some(false);
    }
    let allowed = match action {
        Action::ReadOwnTenant | Action::ReadAnotherTenant => true,
        Action::ReadOperations | Action::ReadAuditLog => {
            let stream = if action == Action::ReadAuditLog {
                "audit"
            } else {
                "dlq"
            };
            client
                .emit("subscribe", json!({"stream": stream}), true)
                .await;
            let (answer, _) = client.until("ack").await;
            answer["success"] == true
        }
        Action::ActOnDlq | Action::RunReconciliation | Action::ListUsers => {
            unreachable!("not a live door's")
        }
    };
    client.close().await;
    Some(allowed)
}

#[tokio::test]
async fn every_role_gets_exactly_its_table_on_every_door_and_both_backends() {
    for database in each_backend().await {
        let app = spawn_app_with(|config| config.database_url = database.url().to_owned()).await;
        let mut differences = Vec::new();
        let credentials = credentials(&app).await;
        for (action, _) in TABLE {
            for credential in &credentials {
                let (role, token) = (credential.0, credential.1.as_str());
                let want = expected(role.column(), action);
                for (door, method, path) in requests(action) {
                    if http_cell(&app, credential, door, method, path).await != want {
                        differences.push(format!("{role:?} × {action:?} × {door} {path}"));
                    }
                }
                let live = !matches!(
                    action,
                    Action::ActOnDlq | Action::RunReconciliation | Action::ListUsers
                );
                if live {
                    if ws_cell(&app, token, action).await != want {
                        differences.push(format!("{role:?} × {action:?} × /ws"));
                    }
                    if let Some(got) = socketio_cell(&app, token, action).await
                        && got != want
                    {
                        differences.push(format!("{role:?} × {action:?} × Socket.IO"));
                    }
                }
            }
        }
        assert!(
            differences.is_empty(),
            "{}: cells that differ from the table:\n{}",
            database.url(),
            differences.join("\n")
        );
        app.stop().await.unwrap();
    }
}

/// Users of the old `tenant` role become their tenant's owners when the database is upgraded,
/// on both backends: a database migrated up to the two roles, then opened by this server.
#[tokio::test]
async fn users_of_the_old_tenant_role_become_their_tenants_owners() {
    use sqlx::migrate::Migrator;
    for database in each_backend().await {
        let url = database.url();
        let (folder, last_old) = if url.starts_with("sqlite") {
            ("sqlite", "0008")
        } else {
            ("postgres", "0009")
        };
        let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../migrations")
            .join(folder);
        let old = tempfile::tempdir().unwrap();
        for entry in std::fs::read_dir(&source).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            if name.as_str() <= last_old {
                std::fs::copy(&path, old.path().join(&name)).unwrap();
            }
        }
        let before = Migrator::new(old.path()).await.unwrap();
        let statements = [
            "INSERT INTO tenants (id, display_name) VALUES ('acme', 'Acme')",
            "INSERT INTO dashboard_users (email, password_hash, role, tenant_id) \
             VALUES ('ops@acme.test', 'h', 'tenant', 'acme'), ('root@x.test', 'h', 'admin', NULL)",
        ];
        if folder == "sqlite" {
            let pool = sqlx::SqlitePool::connect(url).await.unwrap();
            before.run(&pool).await.unwrap();
            for statement in statements {
                sqlx::query(statement).execute(&pool).await.unwrap();
            }
            pool.close().await;
        } else {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            before.run(&pool).await.unwrap();
            for statement in statements {
                sqlx::query(statement).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
        let storage = server::storage::Storage::open(url).await.unwrap();
        let owner = storage
            .user_by_email("ops@acme.test")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (owner.role.as_str(), owner.tenant_id.as_deref()),
            ("owner", Some("acme")),
            "{url}"
        );
        let admin = storage.user_by_email("root@x.test").await.unwrap().unwrap();
        assert_eq!(admin.role, "admin", "{url}");
    }
}

/// Someone must always be able to manage users: the last admin can be neither removed nor made
/// anything else, on both backends (the check is in the same statement as the change).
#[tokio::test]
async fn the_last_admin_is_never_removed_or_demoted() {
    use server::domain::{
        audit::Actor,
        users::{self, UserError},
    };
    for database in each_backend().await {
        let app = spawn_app_with(|config| config.database_url = database.url().to_owned()).await;
        let storage = &app.state.storage;
        app.add_user("root@x.test", Role::Admin, None).await;
        let demoted = users::set_role(storage, "root@x.test", Role::Viewer, None, Actor::cli(None));
        assert!(
            matches!(demoted.await, Err(UserError::LastAdmin(_))),
            "{}",
            database.url()
        );
        let removed = users::remove(storage, "root@x.test", Actor::cli(None)).await;
        assert!(matches!(removed, Err(UserError::LastAdmin(_))));
        let nobody = users::remove(storage, "nobody@x.test", Actor::cli(None)).await;
        assert!(matches!(nobody, Err(UserError::NoSuchUser(_))));
        // With a second admin, the first may go; then the second is the last.
        app.add_user("second@x.test", Role::Admin, None).await;
        users::set_role(storage, "root@x.test", Role::Viewer, None, Actor::cli(None))
            .await
            .unwrap();
        let removed = users::remove(storage, "second@x.test", Actor::cli(None)).await;
        assert!(matches!(removed, Err(UserError::LastAdmin(_))));
        let user = storage.user_by_email("second@x.test").await.unwrap();
        assert_eq!(user.map(|user| user.role), Some("admin".to_owned()));
        app.stop().await.unwrap();
    }
}
