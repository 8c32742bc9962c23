//! Live push under load (`scripts/bench-push.sh`), for BENCHMARKS.md.
//!
//! One load generator, three targets on this machine: Switchboard over `/ws`, Switchboard over
//! Socket.IO (both the release `switchboard` binary, embedded SQLite, every event stored before
//! it is pushed), and the minimal Node socket.io 4.8 server of `benches/push-peer/` doing the same
//! room fan-out (storing nothing). Each server runs as its own process; the generator and its
//! clients share the same two cores.
//!
//! - **Latency**: N clients over M tenants (client `i` watches tenant `i % M`); call events are
//!   POSTed to the ingest endpoint at a fixed rate, a 10 ms tick's worth at a time — once one
//!   event per request, once a tick's events per request (each call starts, then ends a second
//!   later); each event carries the generator's clock in `call_metadata`, and every
//!   client's receipt of its `call_event` is a sample: p50 / p99 / max, and delivered ÷ expected
//!   (each event is expected once at every client of its tenant).
//! - **Highest rate**: the rate doubles from 1,000 events/s while p99 < 100 ms and every event
//!   arrives everywhere it should, then two bisections narrow the limit down.
//! - **Connect time** of 1,000 clients at once, until each has its initial state.
//! - **Memory per idle client**: the server's RSS before and after 10,000 clients connect.
//!
//! The Socket.IO clients speak the protocol's websocket transport directly (open, connect with
//! `auth`, answer pings, read `42[...]` events) over tokio-tungstenite: the Rust Socket.IO client
//! crate was last released in 2024 and would bring a second TLS stack and a second tungstenite.
//! That this minimal client speaks real Socket.IO is checked in the same run, against the Node
//! reference server; the server's contract itself is tested with the npm `socket.io-client`.
//!
//! Knobs (environment): `BENCH_CLIENTS` (1000), `BENCH_TENANTS` (100), `BENCH_RATE` (500),
//! `BENCH_SECONDS` (20), `BENCH_STEP_SECONDS` (10), `BENCH_IDLE_CLIENTS` (10000),
//! `BENCH_DATABASE_URL` (unset: SQLite in a temporary folder), `BENCH_TARGETS` (`ws,sio,node`),
//! `BENCH_PARTS` (`latency,memory`), `BENCH_MAX_FROM` (1000: the first rate of the search).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{
    io::BufRead,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU32, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use server::{
    domain::auth::JwtKeys,
    domain::users::Role,
    runtime::config::{TEST_INGEST_KEY, TEST_JWT_SECRET},
};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use tokio::{net::TcpSocket, task::JoinHandle};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{Message, client::IntoClientRequest},
};

type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// What the generator measures against.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    SwitchboardWs,
    SwitchboardSocketIo,
    NodeSocketIo,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Self::SwitchboardWs => "Switchboard /ws",
            Self::SwitchboardSocketIo => "Switchboard Socket.IO",
            Self::NodeSocketIo => "Node socket.io 4.8",
        }
    }

    fn is_node(self) -> bool {
        self == Self::NodeSocketIo
    }
}

/// A server under test, as a process of its own.
struct Process {
    child: Child,
    addr: SocketAddr,
    _dir: Option<tempfile::TempDir>,
}

impl Process {
    fn switchboard() -> Self {
        let dir = tempfile::tempdir().unwrap();
        // BENCH_SERVER_WRAPPER runs the server under another program (a profiler).
        let mut command = match std::env::var("BENCH_SERVER_WRAPPER") {
            Ok(wrapper) => {
                let mut command = Command::new(wrapper);
                command.arg(env!("CARGO_BIN_EXE_switchboard"));
                command
            }
            Err(_) => Command::new(env!("CARGO_BIN_EXE_switchboard")),
        };
        command
            .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .env("JWT_SECRET", TEST_JWT_SECRET)
            .env("INGEST_API_KEY", TEST_INGEST_KEY)
            .env(
                "RUST_LOG",
                std::env::var("BENCH_SERVER_LOG").unwrap_or_else(|_| "error".to_owned()),
            )
            .env("SWITCHBOARD_LOG_FORMAT", "json")
            // Every bench client connects from 127.0.0.1: one client address, 10,000 sockets.
            .env("SWITCHBOARD_CLIENT_RATE", "0");
        if let Ok(url) = std::env::var("BENCH_DATABASE_URL") {
            command.env("DATABASE_URL", url);
        }
        Self::spawn(command, Some(dir))
    }

    fn node_peer() -> Self {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/push-peer/server.js");
        let mut command = Command::new("node");
        command.arg(script);
        Self::spawn(command, None)
    }

    fn spawn(mut command: Command, dir: Option<tempfile::TempDir>) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the server starts");
        // The first line naming an address (a wrapper may print lines of its own first).
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|line| {
                line.split_whitespace()
                    .find_map(|word| word.strip_prefix("http://"))
                    .and_then(|rest| rest.split('/').next())
                    .and_then(|addr| addr.parse().ok())
            })
            .expect("the server names its address");
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            child,
            addr,
            _dir: dir,
        }
    }

    /// Resident memory, in KiB.
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What every client shares with the run: the clock, which step is measured, the samples.
struct Tally {
    start: Instant,
    /// How long each ingest POST took to be answered (stored), in µs.
    posts_us: Mutex<Vec<u32>>,
    step: AtomicU32,
    received: AtomicU64,
    latencies_us: Mutex<Vec<u32>>,
    /// Events the generator could not post (too many requests unanswered, or refused): still
    /// expected at the clients, so the rate fails.
    unsent: AtomicU64,
}

impl Tally {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            start: Instant::now(),
            posts_us: Mutex::default(),
            step: AtomicU32::new(u32::MAX),
            received: AtomicU64::new(0),
            latencies_us: Mutex::default(),
            unsent: AtomicU64::new(0),
        })
    }

    fn record(&self, step: u32, sent_us: u64) {
        if step != self.step.load(Ordering::Relaxed) {
            return;
        }
        let now = self.start.elapsed().as_micros() as u64;
        let latency = u32::try_from(now.saturating_sub(sent_us)).unwrap_or(u32::MAX);
        self.latencies_us.lock().unwrap().push(latency);
        self.received.fetch_add(1, Ordering::Relaxed);
    }
}

/// The part of a `call_event` the generator reads.
#[derive(Deserialize)]
struct CallEventData {
    call: CallObject,
}

#[derive(Deserialize)]
struct CallObject {
    call_metadata: Meta,
}

#[derive(Deserialize)]
struct Meta {
    step: u32,
    sent_us: u64,
}

/// A `/ws` push frame, as far as the generator cares.
#[derive(Deserialize)]
struct WsFrame {
    event: Option<String>,
    data: Option<CallEventData>,
}

/// Loopback addresses to connect from: each has its own ephemeral ports, so tens of thousands of
/// connections (and their TIME_WAITs) never run out.
fn source(n: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(
        127,
        0,
        1 + (n / 250 % 250) as u8,
        2 + (n % 250) as u8,
    ))
}

async fn open(addr: SocketAddr, from: IpAddr, path: &str, bearer: Option<&str>) -> Socket {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from, 0)).unwrap();
    let stream = socket.connect(addr).await.expect("TCP connect");
    stream.set_nodelay(true).unwrap();
    let mut request = format!("ws://{addr}{path}").into_client_request().unwrap();
    if let Some(token) = bearer {
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    // tungstenite zeroes its whole read buffer on every read: the 128 KiB default cost the
    // generator more CPU than parsing.
    let config =
        tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default().read_buffer_size(4096);
    let (socket, _) = tokio_tungstenite::client_async_with_config(
        request,
        MaybeTlsStream::Plain(stream),
        Some(config),
    )
    .await
    .expect("websocket handshake");
    socket
}

/// Client `n`'s token: each client is a user of its own, as a server allows one user only so
/// many sockets (`live::quota`).
fn token(tenant: &str, n: usize) -> String {
    JwtKeys::from_secret(TEST_JWT_SECRET)
        .unwrap()
        .mint(
            &format!("bench-client-{n}"),
            Role::Member,
            Some(tenant),
            None,
            time::Duration::hours(2),
        )
        .unwrap()
        .0
}

/// Connects one client for `tenant` and waits until it holds its initial state.
async fn connect(target: Target, addr: SocketAddr, n: usize, tenant: &str) -> Socket {
    match target {
        Target::SwitchboardWs => {
            let mut socket = open(addr, source(n), "/ws", Some(&token(tenant, n))).await;
            // hello, then the room's snapshot.
            while let Some(Ok(frame)) = socket.next().await {
                if let Message::Text(text) = frame
                    && text.starts_with(r#"{"type":"snapshot""#)
                {
                    return socket;
                }
            }
            panic!("/ws closed before its snapshot");
        }
        Target::SwitchboardSocketIo | Target::NodeSocketIo => {
            let mut socket = open(
                addr,
                source(n),
                "/socket.io/?EIO=4&transport=websocket",
                None,
            )
            .await;
            let auth = if target.is_node() {
                json!({"user_id": tenant})
            } else {
                json!({"token": token(tenant, n), "user_id": tenant})
            };
            // Engine.IO open ("0{...}"), then the Socket.IO connect with its auth.
            let ready = if target.is_node() {
                r#"42["connected""#
            } else {
                r#"42["initial_state""#
            };
            let mut connected = false;
            while let Some(Ok(frame)) = socket.next().await {
                let Message::Text(text) = frame else { continue };
                if text.starts_with('0') && !connected {
                    socket
                        .send(Message::text(format!("40{auth}")))
                        .await
                        .unwrap();
                    connected = true;
                } else if text.as_str() == "2" {
                    socket.send(Message::text("3")).await.unwrap();
                } else if text.starts_with("44") {
                    panic!("refused: {text}");
                } else if text.starts_with(ready) {
                    return socket;
                }
            }
            panic!("Socket.IO closed before its initial state");
        }
    }
}

/// Reads a connected client's pushes until it is dropped, recording every `call_event`.
fn listen(target: Target, mut socket: Socket, tally: Arc<Tally>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ping = tokio::time::interval(Duration::from_secs(20));
        ping.tick().await;
        loop {
            let frame = tokio::select! {
                frame = socket.next() => frame,
                _ = ping.tick(), if target == Target::SwitchboardWs => {
                    if socket.send(Message::text(r#"{"type":"ping"}"#)).await.is_err() {
                        return;
                    }
                    continue;
                }
            };
            let Some(Ok(Message::Text(text))) = frame else {
                match frame {
                    Some(Ok(_)) => continue,
                    _ => return,
                }
            };
            let event = match target {
                // Figures updates are larger than call events: only call events are parsed.
                Target::SwitchboardWs
                    if !text[..text.len().min(120)].contains(r#""event":"call_event""#) =>
                {
                    continue;
                }
                Target::SwitchboardWs => match serde_json::from_str::<WsFrame>(&text) {
                    Ok(WsFrame {
                        event: Some(event),
                        data: Some(data),
                    }) if event == "call_event" => data,
                    _ => continue,
                },
                Target::SwitchboardSocketIo | Target::NodeSocketIo => {
                    if text.as_str() == "2" {
                        if socket.send(Message::text("3")).await.is_err() {
                            return;
                        }
                        continue;
                    }
                    let Some(payload) = text.strip_prefix("42") else {
                        continue;
                    };
                    if !payload.starts_with(r#"["call_event""#) {
                        continue;
                    }
                    match serde_json::from_str::<(String, CallEventData)>(payload) {
                        Ok((_, data)) => data,
                        Err(_) => continue,
                    }
                }
            };
            let meta = event.call.call_metadata;
            tally.record(meta.step, meta.sent_us);
        }
    })
}

/// Connects `count` clients, `concurrency` at a time; returns them and how long it took.
async fn connect_many(
    target: Target,
    addr: SocketAddr,
    count: usize,
    tenants: usize,
    concurrency: usize,
) -> (Vec<Socket>, Duration, Vec<Duration>) {
    let started = Instant::now();
    let results: Vec<(Socket, Duration)> = futures::stream::iter(0..count)
        .map(|n| async move {
            let begun = Instant::now();
            let socket = connect(target, addr, n, &format!("tenant-{:03}", n % tenants)).await;
            (socket, begun.elapsed())
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let (sockets, times) = results.into_iter().unzip();
    (sockets, elapsed, times)
}

/// Sends events at `rate` per second for `seconds`, every 10 ms; returns how many went to each
/// tenant. Each call starts, and ends about a second later.
async fn send(
    addr: SocketAddr,
    tally: &Arc<Tally>,
    step: u32,
    load: Load,
    seconds: u64,
    tenants: usize,
) -> Vec<u64> {
    let Load { rate, posting } = load;
    let http = reqwest::Client::new();
    let url = format!("http://{addr}/api/v1/calls/events");
    let per_tick = (rate / 100).max(1);
    let events_per_post = match posting {
        Posting::EachEvent => 1,
        Posting::EachTick => per_tick,
    };
    let mut ticks = tokio::time::interval(Duration::from_millis(10));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut per_tenant = vec![0u64; tenants];
    let mut open_calls: std::collections::VecDeque<(Instant, String, usize)> = Default::default();
    let mut next_call = 0usize;
    let mut posts = Vec::new();
    let in_flight = Arc::new(tokio::sync::Semaphore::new(MAX_POSTS_IN_FLIGHT));
    let until = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < until {
        ticks.tick().await;
        let sent_us = tally.start.elapsed().as_micros() as u64;
        let at = OffsetDateTime::now_utc().format(&Rfc3339).unwrap();
        let meta = json!({"step": step, "sent_us": sent_us});
        let mut batch = Vec::with_capacity(per_tick);
        for _ in 0..per_tick {
            let due = open_calls
                .front()
                .is_some_and(|(started, _, _)| started.elapsed() >= Duration::from_secs(1));
            let event = if due {
                let (_, id, tenant) = open_calls.pop_front().unwrap();
                per_tenant[tenant] += 1;
                json!({"type": "call_ended", "user_id": format!("tenant-{tenant:03}"), "call_id": id,
                       "at": at, "outcome": "completed", "call": {"call_metadata": meta}})
            } else {
                let tenant = next_call % tenants;
                let id = format!("s{step}-{next_call}");
                next_call += 1;
                per_tenant[tenant] += 1;
                open_calls.push_back((Instant::now(), id.clone(), tenant));
                json!({"type": "call_started", "user_id": format!("tenant-{tenant:03}"), "call_id": id,
                       "at": at, "call": {"phoneNumber": "+15550100000", "direction": "inbound",
                                          "agentConfigId": "agent-1", "call_metadata": meta}})
            };
            batch.push(event);
        }
        // One event per request, as a platform posts each event when it happens; or the tick's
        // events in one request, as a producer that buffers would.
        for chunk in batch.chunks(events_per_post) {
            let body = match chunk {
                [event] => event.clone(),
                events => Value::Array(events.to_vec()),
            };
            // A server that stops answering must fail the rate, not exhaust the generator's
            // sockets: past this many requests in flight, events are counted unsent.
            let Ok(permit) = Arc::clone(&in_flight).try_acquire_owned() else {
                tally
                    .unsent
                    .fetch_add(chunk.len() as u64, Ordering::Relaxed);
                continue;
            };
            let request = http.post(&url).bearer_auth(TEST_INGEST_KEY).json(&body);
            let tally = Arc::clone(tally);
            let events = chunk.len() as u64;
            posts.push(tokio::spawn(async move {
                let begun = Instant::now();
                match request.send().await {
                    Ok(response) if response.status().is_success() => {
                        let took = u32::try_from(begun.elapsed().as_micros()).unwrap_or(u32::MAX);
                        tally.posts_us.lock().unwrap().push(took);
                    }
                    _ => {
                        tally.unsent.fetch_add(events, Ordering::Relaxed);
                    }
                }
                drop(permit);
            }));
        }
    }
    for post in posts {
        post.await.unwrap();
    }
    per_tenant
}

/// Ingest requests the generator keeps unanswered at most (each holds a connection).
const MAX_POSTS_IN_FLIGHT: usize = 2048;

/// The `quantile` (0–1) of microsecond samples, in ms.
fn quantile_ms(samples: &mut [u32], quantile: f64) -> f64 {
    samples.sort_unstable();
    let last = samples.len().saturating_sub(1);
    samples
        .get(((samples.len() as f64 * quantile) as usize).min(last))
        .map_or(f64::NAN, |us| f64::from(*us) / 1000.0)
}

/// How the generator posts its events.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Posting {
    /// One request per event, as a platform posts each when it happens.
    EachEvent,
    /// One request per 10 ms tick with all its events, as a producer that buffers would.
    EachTick,
}

impl Posting {
    fn name(self) -> &'static str {
        match self {
            Self::EachEvent => "1 event per POST",
            Self::EachTick => "10 ms batches",
        }
    }
}

/// A load: events per second, and how they are posted.
#[derive(Clone, Copy)]
struct Load {
    rate: usize,
    posting: Posting,
}

struct Outcome {
    load: Load,
    events: u64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    delivered: f64,
    /// The ingest POSTs' own round trip (stored and answered), for comparison.
    ingest_p50_ms: f64,
    ingest_p99_ms: f64,
}

impl Outcome {
    fn passes(&self) -> bool {
        self.delivered >= 1.0 && self.p99_ms < 100.0
    }

    fn row(&self, target: Target, clients: usize, tenants: usize) -> String {
        format!(
            "| {} | {} | {clients} / {tenants} | {} | {} | {:.2} | {:.2} | {:.2} | {:.4} | {:.2} / {:.2} |",
            target.name(),
            self.load.posting.name(),
            self.load.rate,
            self.events,
            self.p50_ms,
            self.p99_ms,
            self.max_ms,
            self.delivered,
            self.ingest_p50_ms,
            self.ingest_p99_ms,
        )
    }
}

/// What the steps of one target share: its server, the samples, who watches which tenant.
struct Run<'a> {
    target: Target,
    addr: SocketAddr,
    tally: &'a Arc<Tally>,
    clients_per_tenant: &'a [u64],
}

/// One measured step under `load`: send, wait for the stragglers, and compute the figures.
async fn step(run: &Run<'_>, step: u32, load: Load, seconds: u64) -> Outcome {
    let Run {
        addr,
        tally,
        clients_per_tenant,
        ..
    } = *run;
    tally.step.store(step, Ordering::Relaxed);
    tally.received.store(0, Ordering::Relaxed);
    tally.latencies_us.lock().unwrap().clear();
    tally.posts_us.lock().unwrap().clear();
    tally.unsent.store(0, Ordering::Relaxed);
    let per_tenant = send(addr, tally, step, load, seconds, clients_per_tenant.len()).await;
    let expected: u64 = per_tenant
        .iter()
        .zip(clients_per_tenant)
        .map(|(events, clients)| events * clients)
        .sum();
    // Whatever has not arrived two seconds after the last POST answered counts as lost.
    let deadline = Instant::now() + Duration::from_secs(2);
    while tally.received.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tally.step.store(u32::MAX, Ordering::Relaxed);
    let unsent = tally.unsent.load(Ordering::Relaxed);
    if unsent > 0 {
        eprintln!(
            "  {unsent} events could not be posted at {} events/s",
            load.rate
        );
    }
    let mut latencies = std::mem::take(&mut *tally.latencies_us.lock().unwrap());
    let mut posts = std::mem::take(&mut *tally.posts_us.lock().unwrap());
    Outcome {
        load,
        events: per_tenant.iter().sum(),
        p50_ms: quantile_ms(&mut latencies, 0.50),
        p99_ms: quantile_ms(&mut latencies, 0.99),
        max_ms: quantile_ms(&mut latencies, 1.0),
        delivered: latencies.len() as f64 / expected as f64,
        ingest_p50_ms: quantile_ms(&mut posts, 0.50),
        ingest_p99_ms: quantile_ms(&mut posts, 0.99),
    }
}

fn start(target: Target) -> Process {
    if target.is_node() {
        Process::node_peer()
    } else {
        Process::switchboard()
    }
}

/// Highest passing rate under `posting`: doubling from `from` until a rate fails, then two
/// bisections between the last that passed and the first that failed.
async fn highest_rate(
    run: &Run<'_>,
    posting: Posting,
    from: usize,
    seconds: u64,
    number: &mut u32,
) -> (Option<Outcome>, Option<Outcome>) {
    let (mut passed, mut failed): (Option<Outcome>, Option<Outcome>) = (None, None);
    let mut rate = from;
    loop {
        *number += 1;
        let outcome = step(run, *number, Load { rate, posting }, seconds).await;
        let clients = run.clients_per_tenant.iter().sum::<u64>() as usize;
        eprintln!(
            "{}",
            outcome.row(run.target, clients, run.clients_per_tenant.len())
        );
        if outcome.passes() {
            passed = Some(outcome);
        } else {
            failed = Some(outcome);
        }
        let low = passed.as_ref().map_or(0, |o| o.load.rate);
        rate = match &failed {
            None if rate >= 64_000 => break,
            None => rate * 2,
            Some(high) if high.load.rate - low > high.load.rate / 4 => (low + high.load.rate) / 2,
            Some(_) => break,
        };
    }
    (passed, failed)
}

fn main() {
    common::run(async {
        let clients = common::env_count("BENCH_CLIENTS", 1000);
        let tenants = common::env_count("BENCH_TENANTS", 100);
        let rate = common::env_count("BENCH_RATE", 500);
        let seconds = common::env_count("BENCH_SECONDS", 20) as u64;
        let step_seconds = common::env_count("BENCH_STEP_SECONDS", 10) as u64;
        let idle = common::env_count("BENCH_IDLE_CLIENTS", 10_000);
        let from = common::env_count("BENCH_MAX_FROM", 1000);
        let chosen = std::env::var("BENCH_TARGETS").unwrap_or_else(|_| "ws,sio,node".to_owned());
        let targets: Vec<Target> = [
            ("ws", Target::SwitchboardWs),
            ("sio", Target::SwitchboardSocketIo),
            ("node", Target::NodeSocketIo),
        ]
        .into_iter()
        .filter(|(name, _)| chosen.split(',').any(|wanted| wanted == *name))
        .map(|(_, target)| target)
        .collect();
        let parts = std::env::var("BENCH_PARTS").unwrap_or_else(|_| "latency,memory".to_owned());
        let part = |name: &str| parts.split(',').any(|wanted| wanted == name);
        let postings = [Posting::EachEvent, Posting::EachTick];
        let clients_per_tenant: Vec<u64> = (0..tenants)
            .map(|tenant| ((tenant..clients).step_by(tenants)).count() as u64)
            .collect();

        println!(
            "### Connect time ({clients} clients at once, until each has its initial state)\n"
        );
        println!("| target | all connected | p50 per client ms | p99 per client ms |");
        println!("| --- | ---: | ---: | ---: |");
        let mut fixed = Vec::new();
        let mut highest = Vec::new();
        for &target in targets.iter().filter(|_| part("latency")) {
            let process = start(target);
            let (sockets, elapsed, mut times) =
                connect_many(target, process.addr, clients, tenants, clients).await;
            times.sort_unstable();
            println!(
                "| {} | {:.2} s | {:.1} | {:.1} |",
                target.name(),
                elapsed.as_secs_f64(),
                times[times.len() / 2].as_secs_f64() * 1000.0,
                times[times.len() * 99 / 100].as_secs_f64() * 1000.0
            );
            let tally = Tally::new();
            let listeners: Vec<_> = sockets
                .into_iter()
                .map(|socket| listen(target, socket, Arc::clone(&tally)))
                .collect();
            let run = Run {
                target,
                addr: process.addr,
                tally: &tally,
                clients_per_tenant: &clients_per_tenant,
            };
            let mut number = 0;
            for posting in postings {
                let load = Load { rate, posting };
                // Warm-up: connections, statement caches, the JIT.
                number += 1;
                step(&run, number, load, 2).await;
                number += 1;
                fixed.push((target, step(&run, number, load, seconds).await));
                let (passed, failed) =
                    highest_rate(&run, posting, from, step_seconds, &mut number).await;
                highest.push((target, posting, passed, failed));
            }
            for listener in listeners {
                listener.abort();
            }
            drop(process);
        }

        println!(
            "\n### {rate} events/s for {seconds} s, {clients} clients over {tenants} tenants\n"
        );
        println!(
            "| target | posting | clients / tenants | events/s | events | p50 ms | p99 ms | max ms | delivered ÷ expected | ingest POST p50 / p99 ms |"
        );
        println!("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        for (target, outcome) in &fixed {
            println!("{}", outcome.row(*target, clients, tenants));
        }

        println!(
            "\n### Highest rate with p99 < 100 ms and every event delivered (doubling from {from} events/s, then two bisections; {step_seconds} s per step)\n"
        );
        println!(
            "| target | posting | highest passing rate | its p99 ms | lowest failing rate | its p99 ms | its delivered ÷ expected |"
        );
        println!("| --- | --- | ---: | ---: | ---: | ---: | ---: |");
        for (target, posting, passed, failed) in &highest {
            let (best_rate, best_p99) = passed
                .as_ref()
                .map_or(("none".to_owned(), "–".to_owned()), |o| {
                    (o.load.rate.to_string(), format!("{:.2}", o.p99_ms))
                });
            let (next, next_p99, next_delivered) = failed.as_ref().map_or(
                ("–".to_owned(), "–".to_owned(), "–".to_owned()),
                |o| {
                    (
                        o.load.rate.to_string(),
                        format!("{:.2}", o.p99_ms),
                        format!("{:.4}", o.delivered),
                    )
                },
            );
            println!(
                "| {} | {} | {best_rate} | {best_p99} | {next} | {next_p99} | {next_delivered} |",
                target.name(),
                posting.name()
            );
        }
        for posting in postings {
            let best = |wanted: Target| {
                highest.iter().find_map(|(target, p, passed, _)| {
                    (*target == wanted && *p == posting)
                        .then(|| passed.as_ref().map(|o| o.load.rate))?
                })
            };
            let Some(node) = best(Target::NodeSocketIo) else {
                continue;
            };
            for target in [Target::SwitchboardWs, Target::SwitchboardSocketIo] {
                if let Some(ours) = best(target) {
                    println!(
                        "\n{} ({}): {:.2}× the Node server's highest passing rate.",
                        target.name(),
                        posting.name(),
                        ours as f64 / node as f64
                    );
                }
            }
        }

        println!("\n### Memory per idle client ({idle} clients, server RSS before and after)\n");
        println!("| target | RSS before | RSS after | per client |");
        println!("| --- | ---: | ---: | ---: |");
        for &target in targets.iter().filter(|_| part("memory")) {
            let process = start(target);
            // One client in and out first, so lazily built state is in the baseline.
            drop(connect_many(target, process.addr, 10, tenants, 10).await);
            tokio::time::sleep(Duration::from_millis(500)).await;
            let before = process.rss_kib();
            let (sockets, _, _) = connect_many(target, process.addr, idle, tenants, 256).await;
            let tally = Tally::new();
            let listeners: Vec<_> = sockets
                .into_iter()
                .map(|socket| listen(target, socket, Arc::clone(&tally)))
                .collect();
            tokio::time::sleep(Duration::from_secs(2)).await;
            let after = process.rss_kib();
            println!(
                "| {} | {:.1} MiB | {:.1} MiB | {:.2} KiB |",
                target.name(),
                before as f64 / 1024.0,
                after as f64 / 1024.0,
                (after.saturating_sub(before)) as f64 / idle as f64
            );
            for listener in listeners {
                listener.abort();
            }
            drop(process);
        }
    });
}
