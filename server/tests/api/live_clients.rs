//! Clients of live push for the tests, and real server processes to point them at.
//!
//! - [`WsClient`]: a `/ws` client (tokio-tungstenite) that applies every message to a
//!   [`LiveFeed`] — the browser's own client logic — and fails the test on any gap.
//! - [`SocketIoClient`]: the real `socket.io-client` npm package, driven through
//!   `end2end/socketio/probe.mjs` (installed by `scripts/test.sh`; see [`node_script`]).
//! - [`ServerProcess`]: the `switchboard` binary, for tests that need whole processes.

use std::{net::SocketAddr, path::PathBuf, process::Stdio, time::Duration};

use app::{
    dto::live::{ClientMessage, ServerMessage},
    live::LiveFeed,
};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines},
    process::{Child, ChildStdin, ChildStdout, Command},
};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async,
    tungstenite::{self, Message, client::IntoClientRequest},
};

use crate::databases::services_required;

/// How long a test waits for a message it expects before failing.
pub(crate) const PATIENCE: Duration = Duration::from_secs(15);

type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// A `/ws` client and what it knows.
pub(crate) struct WsClient {
    socket: Socket,
    pub(crate) feed: LiveFeed,
}

/// The URL of `/ws` on `addr` with `query` (already encoded pairs).
pub(crate) fn ws_url(addr: SocketAddr, query: &[(&str, &str)]) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query)
        .finish();
    format!("ws://{addr}/ws?{query}")
}

/// Connects to `url` with `token` as the session cookie, as a signed-in browser does.
pub(crate) async fn ws_connect(url: &str, token: &str) -> Result<WsClient, tungstenite::Error> {
    let mut request = url.into_client_request()?;
    let cookie = format!("{}={token}", server::domain::auth::SESSION_COOKIE);
    request
        .headers_mut()
        .insert("cookie", cookie.parse().expect("a valid header"));
    let (socket, _) = connect_async(request).await?;
    Ok(WsClient::new(socket, LiveFeed::default()))
}

/// A socket to `url` sending `token` as a script would: `Authorization: Bearer`.
pub(crate) async fn ws_connect_bearer(
    url: &str,
    token: &str,
) -> Result<WsClient, tungstenite::Error> {
    let mut request = url.into_client_request()?;
    let bearer = format!("Bearer {token}");
    request
        .headers_mut()
        .insert("authorization", bearer.parse().expect("a valid header"));
    let (socket, _) = connect_async(request).await?;
    Ok(WsClient::new(socket, LiveFeed::default()))
}

impl WsClient {
    pub(crate) fn new(socket: Socket, feed: LiveFeed) -> Self {
        Self { socket, feed }
    }

    /// The next message, applied to the feed. Panics on a gap, a close or a long silence.
    pub(crate) async fn recv(&mut self) -> ServerMessage {
        loop {
            let frame = tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .expect("no message from /ws in time")
                .expect("the socket closed")
                .expect("a readable frame");
            let text = match frame {
                Message::Text(text) => text,
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("unexpected frame {other:?}"),
            };
            let message: ServerMessage = serde_json::from_str(&text).expect("a server message");
            self.feed
                .receive(&message)
                .unwrap_or_else(|gap| panic!("the server left a gap: {gap:?}"));
            return message;
        }
    }

    /// Messages up to and including the first that `done` accepts.
    pub(crate) async fn recv_until(
        &mut self,
        mut done: impl FnMut(&ServerMessage) -> bool,
    ) -> Vec<ServerMessage> {
        let mut seen = Vec::new();
        loop {
            let message = self.recv().await;
            let last = done(&message);
            seen.push(message);
            if last {
                return seen;
            }
        }
    }

    /// Reads until the feed satisfies `done` (each message is applied as it comes).
    pub(crate) async fn recv_until_feed(&mut self, mut done: impl FnMut(&LiveFeed) -> bool) {
        while !done(&self.feed) {
            self.recv().await;
        }
    }

    pub(crate) async fn send(&mut self, message: &ClientMessage) {
        let text = serde_json::to_string(message).expect("a client message");
        self.send_raw(Message::text(text)).await;
    }

    pub(crate) async fn send_raw(&mut self, message: Message) {
        self.socket.send(message).await.expect("the socket is open");
    }

    /// The next close frame's code, skipping everything before it.
    pub(crate) async fn close_code(&mut self) -> tungstenite::protocol::frame::coding::CloseCode {
        loop {
            let frame = tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .expect("no close in time");
            match frame {
                Some(Ok(Message::Close(Some(close)))) => return close.code,
                Some(Ok(_)) => continue,
                other => panic!("the socket ended without a close frame: {other:?}"),
            }
        }
    }

    /// Hangs up, keeping what it knew (to reconnect with).
    pub(crate) async fn disconnect(mut self) -> LiveFeed {
        let _ = self.socket.close(None).await;
        self.feed
    }
}

/// `call_event` ids (and kinds) among `messages`.
pub(crate) fn call_events(messages: &[ServerMessage]) -> Vec<(String, String)> {
    messages
        .iter()
        .filter_map(|message| match message {
            ServerMessage::Push {
                push: app::dto::live::Push::CallEvent(event),
                ..
            } => Some((
                event.call.id.clone(),
                serde_json::to_value(event.kind).ok()?.as_str()?.to_owned(),
            )),
            _ => None,
        })
        .collect()
}

/// The repository's folder.
fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("server/ lives in the repository")
        .to_owned()
}

/// A Node script of `end2end/socketio/`, when Node and the npm packages are there. Without them
/// the case is skipped with a note — except under CI (or `SWITCHBOARD_REQUIRE_SERVICES=1`), where
/// it fails: `scripts/test.sh` installs them before it runs these tests.
pub(crate) fn node_script(name: &str) -> Option<PathBuf> {
    let end2end = repository().join("end2end");
    let installed = end2end
        .join("node_modules/socket.io-client/package.json")
        .is_file();
    let node = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if installed && node {
        return Some(end2end.join("socketio").join(name));
    }
    assert!(
        !services_required(),
        "Node.js and end2end/node_modules are required here: run scripts/test.sh (or npm ci in end2end)"
    );
    eprintln!("Node.js or socket.io-client missing: Socket.IO case not run (npm ci in end2end)");
    None
}

/// The real `socket.io-client`, printing what it receives.
pub(crate) struct SocketIoClient {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

impl SocketIoClient {
    /// Connects to `addr` with `auth`; `transports` as socket.io-client takes them. `None` when
    /// the client is not installed (and not required).
    pub(crate) async fn connect(
        addr: SocketAddr,
        auth: Value,
        transports: &[&str],
    ) -> Option<Self> {
        let script = node_script("probe.mjs")?;
        let options =
            json!({"url": format!("http://{addr}"), "auth": auth, "transports": transports});
        let mut child = Command::new("node")
            .arg(script)
            .arg(options.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs");
        let stdin = child.stdin.take().expect("piped stdin");
        let lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        Some(Self {
            child,
            stdin,
            lines,
        })
    }

    /// The next event received: (name, data).
    pub(crate) async fn next(&mut self) -> (String, Value) {
        let line = tokio::time::timeout(PATIENCE, self.lines.next_line())
            .await
            .expect("no Socket.IO event in time")
            .expect("the probe's output is readable")
            .expect("the probe exited");
        let mut event: Value = serde_json::from_str(&line).expect("a JSON line");
        let name = event["event"].as_str().expect("an event name").to_owned();
        (name, event["data"].take())
    }

    /// The data of the next `event`, and every event before it.
    pub(crate) async fn until(&mut self, event: &str) -> (Value, Vec<(String, Value)>) {
        let mut before = Vec::new();
        loop {
            let (name, data) = self.next().await;
            if name == event {
                return (data, before);
            }
            before.push((name, data));
        }
    }

    /// Emits `event` with `data` (`Value::Null`: none); with `ack`, the answer arrives as `ack`.
    pub(crate) async fn emit(&mut self, event: &str, data: Value, ack: bool) {
        let command = if data.is_null() {
            json!({"emit": event})
        } else {
            json!({"emit": event, "data": data, "ack": ack})
        };
        self.command(command).await;
    }

    pub(crate) async fn command(&mut self, command: Value) {
        let line = format!("{command}\n");
        self.stdin
            .write_all(line.as_bytes())
            .await
            .expect("the probe reads stdin");
    }

    pub(crate) async fn close(mut self) {
        self.command(json!({"close": true})).await;
        let _ = tokio::time::timeout(PATIENCE, self.child.wait()).await;
    }
}

/// A `switchboard serve` process, killed when dropped.
pub(crate) struct ServerProcess {
    child: std::process::Child,
    pub(crate) addr: SocketAddr,
    /// Its log lines (stderr), as they come.
    logs: tokio::sync::mpsc::UnboundedReceiver<String>,
    _dir: tempfile::TempDir,
}

impl ServerProcess {
    /// Starts the binary on a free port with `args` after `serve` and the tests' secrets, logging
    /// at info level.
    pub(crate) async fn start(args: &[&str]) -> Self {
        use std::io::BufRead;
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .args(args)
            .env("JWT_SECRET", server::runtime::config::TEST_JWT_SECRET)
            .env("INGEST_API_KEY", server::runtime::config::TEST_INGEST_KEY)
            .env(
                "INTERNAL_API_KEY",
                server::runtime::config::TEST_INTERNAL_KEY,
            )
            .env("RUST_LOG", "warn,server=info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (sender, logs) = tokio::sync::mpsc::unbounded_channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                eprintln!("[switchboard] {line}");
                let _ = sender.send(line);
            }
        });
        let stdout = child.stdout.take().unwrap();
        let line = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            std::io::BufReader::new(stdout)
                .read_line(&mut line)
                .unwrap();
            line
        })
        .await
        .unwrap();
        let addr = line
            .split_whitespace()
            .find_map(|word| word.strip_prefix("http://"))
            .and_then(|rest| rest.split('/').next())
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        Self {
            child,
            addr,
            logs,
            _dir: dir,
        }
    }

    /// Waits for a log line containing `needle`.
    pub(crate) async fn logged(&mut self, needle: &str) {
        loop {
            let line = tokio::time::timeout(PATIENCE, self.logs.recv())
                .await
                .unwrap_or_else(|_| panic!("never logged {needle:?}"))
                .expect("the server exited");
            if line.contains(needle) {
                return;
            }
        }
    }

    /// A bearer token signed with the tests' secret: for `tenant`, or an admin.
    pub(crate) fn token(tenant: Option<&str>) -> String {
        let keys =
            server::domain::auth::JwtKeys::from_secret(server::runtime::config::TEST_JWT_SECRET)
                .unwrap();
        let role = if tenant.is_some() {
            server::domain::users::Role::Member
        } else {
            server::domain::users::Role::Admin
        };
        keys.mint("tests", role, tenant, None, time::Duration::hours(1))
            .unwrap()
            .0
    }

    /// Posts call events to this process's ingest endpoint.
    pub(crate) async fn ingest(&self, body: &Value) {
        let response = reqwest::Client::new()
            .post(format!("http://{}/api/v1/calls/events", self.addr))
            .bearer_auth(server::runtime::config::TEST_INGEST_KEY)
            .json(body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            reqwest::StatusCode::OK,
            "ingest on {}",
            self.addr
        );
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `seconds` ago, RFC 3339.
fn ago(seconds: i64) -> String {
    use time::{OffsetDateTime, format_description::well_known::Rfc3339};
    (OffsetDateTime::now_utc() - time::Duration::seconds(seconds))
        .format(&Rfc3339)
        .unwrap()
}

/// A `call_started` event of `tenant` a minute ago.
pub(crate) fn call_started(tenant: &str, call_id: &str) -> Value {
    json!({"type": "call_started", "user_id": tenant, "call_id": call_id, "at": ago(60),
           "call": {"phoneNumber": "+12345678900", "direction": "inbound", "agentConfigId": "agent-1"}})
}

/// A `call_ended` event of `tenant`, now.
pub(crate) fn call_ended(tenant: &str, call_id: &str) -> Value {
    json!({"type": "call_ended", "user_id": tenant, "call_id": call_id, "at": ago(0), "outcome": "completed"})
}
