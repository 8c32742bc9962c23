//! What a connection may hold (issue 22, finding 7): one that sends no request within the header
//! deadline is closed, whether it sends nothing or only the HTTP/2 preface; and the server holds
//! at most its cap of connections, accepting the next only when one ends.

use std::time::{Duration, Instant};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::{TestApp, spawn_app_with};

const DEADLINE: Duration = Duration::from_secs(1);

async fn with_deadline(max_connections: usize) -> TestApp {
    spawn_app_with(|config| {
        config.header_read_timeout = DEADLINE;
        config.max_connections = max_connections;
    })
    .await
}

/// Reads until the server closes the connection; `Err` when it is still open after 15 s.
async fn closed_by_server(stream: &mut TcpStream) -> Result<Instant, ()> {
    let mut buffer = [0_u8; 1024];
    tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return Instant::now(),
                Ok(_) => continue,
            }
        }
    })
    .await
    .map_err(drop)
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed() {
    let app = with_deadline(16).await;
    let mut silent = TcpStream::connect(app.addr).await.unwrap();
    assert!(closed_by_server(&mut silent).await.is_ok());
}

#[tokio::test]
async fn a_connection_that_sends_only_the_http2_preface_is_closed() {
    let app = with_deadline(16).await;
    let mut preface = TcpStream::connect(app.addr).await.unwrap();
    preface
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .unwrap();
    assert!(closed_by_server(&mut preface).await.is_ok());
}

#[tokio::test]
async fn a_connection_that_asked_is_served_past_the_deadline() {
    let app = with_deadline(16).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"GET /api/dashboard/health HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = [0_u8; 16];
    stream.read_exact(&mut answer).await.unwrap();
    assert!(answer.starts_with(b"HTTP/1.1 200"));
    // A live socket, upgraded from its first request, outlives the deadline too.
    let url = crate::live_clients::ws_url(app.addr, &[]);
    let mut socket = crate::live_clients::ws_connect(&url, &app.token(Some("acme")))
        .await
        .unwrap();
    socket.recv().await;
    tokio::time::sleep(DEADLINE * 2).await;
    socket.send(&app::dto::live::ClientMessage::Ping).await;
    socket
        .recv_until(|message| matches!(message, app::dto::live::ServerMessage::Pong { .. }))
        .await;
}

#[tokio::test]
async fn past_the_cap_the_next_connection_waits_for_one_to_end() {
    let app = with_deadline(2).await;
    let mut idle: Vec<TcpStream> = Vec::new();
    for _ in 0..2 {
        idle.push(TcpStream::connect(app.addr).await.unwrap());
    }
    let held_since = Instant::now();
    // The kernel accepts a third; the server serves it only once an idle one has been closed,
    // which is no sooner than the deadline (a lower bound: a slow machine only adds to it).
    let status = reqwest::get(app.url("/api/dashboard/health"))
        .await
        .unwrap()
        .status();
    assert!(status.is_success());
    let waited = held_since.elapsed();
    assert!(
        waited >= DEADLINE - Duration::from_millis(100),
        "served after {waited:?}, while both places were held"
    );
    for stream in &mut idle {
        assert!(closed_by_server(stream).await.is_ok());
    }
}

#[tokio::test]
async fn a_kept_alive_connection_that_asks_nothing_more_is_closed() {
    let app = with_deadline(16).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"GET /api/dashboard/health HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    assert!(closed_by_server(&mut stream).await.is_ok());
}

#[tokio::test]
async fn an_http2_connection_that_asks_nothing_more_is_closed() {
    // One place: the HTTP/2 connection holds it while it is open.
    let app = with_deadline(1).await;
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let first = h2.get(app.url("/api/dashboard/health")).send().await;
    assert!(first.unwrap().status().is_success());
    // It asks nothing more; another client is served once the server has closed it.
    let other = reqwest::Client::new()
        .get(app.url("/api/dashboard/health"))
        .send();
    let status = tokio::time::timeout(Duration::from_secs(15), other)
        .await
        .expect("the idle HTTP/2 connection held the only place for 15 s")
        .unwrap()
        .status();
    assert!(status.is_success());
    drop(h2);
}
