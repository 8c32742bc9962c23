//! `spawn_app()`: a fresh server per test, plus a fake Trunk output to serve.

use std::{io, net::SocketAddr, path::Path};

use server::{
    domain::users::Role,
    runtime::config::{Config, TEST_INGEST_KEY},
    runtime::startup::Application,
    runtime::state::AppState,
};
use tempfile::TempDir;
use tokio::{sync::oneshot, task::JoinHandle};

/// The password of every user [`TestApp::add_user`] adds.
pub(crate) const TEST_PASSWORD: &str = "correct horse battery";

pub(crate) struct TestApp {
    pub(crate) addr: SocketAddr,
    pub(crate) client: reqwest::Client,
    pub(crate) state: AppState,
    stop: oneshot::Sender<()>,
    server: JoinHandle<io::Result<()>>,
    dir: TempDir,
}

/// Stand-ins for what Trunk writes; the tests check how they are served, not what they hold.
pub(crate) const BUNDLE_JS: &str = "export default function init() {}\n";
pub(crate) const BUNDLE_WASM: &[u8] =
    b"\0asm\x01\0\0\0 a wasm module, padded past the compression threshold";
pub(crate) const BUNDLE_WASM_GZ: &[u8] = b"the precompressed twin";
pub(crate) const STYLESHEET: &str = "body { margin: 0; }\n";

fn write_site(root: &Path) {
    let pkg = root.join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("frontend.js"), BUNDLE_JS.repeat(20)).unwrap();
    std::fs::write(pkg.join("frontend_bg.wasm"), BUNDLE_WASM).unwrap();
    std::fs::write(pkg.join("frontend_bg.wasm.gz"), BUNDLE_WASM_GZ).unwrap();
    std::fs::write(pkg.join("switchboard.css"), STYLESHEET).unwrap();
    std::fs::write(root.join("favicon.ico"), b"\0\0\x01\0icon").unwrap();
    // Trunk's manifest page lands in the site root too; it must never be served.
    std::fs::write(root.join("index.html"), "<html>trunk manifest</html>").unwrap();
}

pub(crate) async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A server whose configuration `adjust` may change (database, failure injection, …).
pub(crate) async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    spawn_app_in(dir, adjust).await
}

/// A server on the data folder of `dir`, e.g. one a stopped server left behind.
pub(crate) async fn spawn_app_in(dir: TempDir, adjust: impl FnOnce(&mut Config)) -> TestApp {
    server::telemetry::init();
    let site_root = dir.path().join("site");
    write_site(&site_root);
    let mut config = Config::for_tests(&dir.path().join("data"), &site_root);
    adjust(&mut config);
    let app = Application::build(config).await.unwrap();
    let addr = app.local_addr();
    let state = app.state().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    TestApp {
        addr,
        client,
        state,
        stop,
        server,
        dir,
    }
}

impl TestApp {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// Asks the server to stop and waits until it has.
    pub(crate) async fn stop(self) -> io::Result<()> {
        self.stop_keeping_data().await.0
    }

    /// Stops the server and hands back its folder, for a restart on the same data.
    pub(crate) async fn stop_keeping_data(self) -> (io::Result<()>, TempDir) {
        let _ = self.stop.send(());
        let result = self.server.await.unwrap();
        drop(self.state);
        (result, self.dir)
    }

    /// A bearer token reading `tenant` (a member's), or an admin's when `None`.
    pub(crate) fn token(&self, tenant: Option<&str>) -> String {
        let role = if tenant.is_some() {
            Role::Member
        } else {
            Role::Admin
        };
        let ttl = time::Duration::hours(1);
        self.state
            .jwt
            .mint("tests", role, tenant, None, ttl)
            .unwrap()
            .0
    }

    /// `GET path` with `token` as the bearer.
    /// Adds a dashboard user with [`TEST_PASSWORD`], registering its tenant first.
    pub(crate) async fn add_user(
        &self,
        email: &str,
        role: server::domain::users::Role,
        tenant: Option<&str>,
    ) {
        if let Some(tenant) = tenant {
            self.state
                .storage
                .set_tenant_name(tenant, tenant)
                .await
                .unwrap();
        }
        let user = server::domain::users::NewUser {
            email: email.into(),
            role,
            tenant: tenant.map(str::to_owned),
        };
        let by = server::domain::audit::Actor::cli(None);
        server::domain::users::add_user(&self.state.storage, &user, TEST_PASSWORD, by)
            .await
            .unwrap();
    }

    /// A bearer token for `email`, signed in with [`TEST_PASSWORD`] (a session naming its user).
    pub(crate) async fn sign_in(&self, email: &str) -> String {
        let response = self
            .client
            .post(self.url("/api/auth/token"))
            .json(&serde_json::json!({"email": email, "password": TEST_PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::OK, "{email}");
        let body: serde_json::Value = response.json().await.unwrap();
        body["token"].as_str().unwrap().to_owned()
    }

    pub(crate) async fn get_as(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// `GET path` as an admin, expecting 200, as JSON.
    pub(crate) async fn admin_json(&self, path: &str) -> serde_json::Value {
        let response = self.get_as(path, &self.token(None)).await;
        assert_eq!(response.status(), reqwest::StatusCode::OK, "{path}");
        response.json().await.unwrap()
    }

    /// A request with the session cookie of `tenant`'s user (`None`: an admin), as a browser
    /// that signed in sends it.
    pub(crate) fn signed_in(
        &self,
        method: reqwest::Method,
        path: &str,
        tenant: Option<&str>,
    ) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path)).header(
            "cookie",
            format!(
                "{}={}",
                server::domain::auth::SESSION_COOKIE,
                self.token(tenant)
            ),
        )
    }

    /// `GET path` signed in as `tenant`'s user (`None`: an admin).
    pub(crate) async fn get_signed_in(
        &self,
        path: &str,
        tenant: Option<&str>,
    ) -> reqwest::Response {
        self.signed_in(reqwest::Method::GET, path, tenant)
            .send()
            .await
            .unwrap()
    }

    /// `POST path` with a form body, signed in as `tenant`'s user (`None`: an admin), as the
    /// page's server functions post.
    pub(crate) async fn post_signed_in(
        &self,
        path: &str,
        form: &[(&str, &str)],
        tenant: Option<&str>,
    ) -> reqwest::Response {
        self.signed_in(reqwest::Method::POST, path, tenant)
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Posts `body` to the ingest endpoint with the test ingest key.
    pub(crate) async fn ingest(&self, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url("/api/v1/calls/events"))
            .bearer_auth(TEST_INGEST_KEY)
            .json(body)
            .send()
            .await
            .unwrap()
    }
}

#[track_caller]
pub(crate) fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

/// `method path` with `token` as the bearer (and `body` as JSON): its status and JSON body
/// (`null` when it has none).
pub(crate) async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<serde_json::Value>,
) -> (reqwest::StatusCode, serde_json::Value) {
    let mut request = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    (
        response.status(),
        response.json().await.unwrap_or(serde_json::Value::Null),
    )
}
