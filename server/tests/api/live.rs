//! The native WebSocket at `/ws`, driven by a real client (tokio-tungstenite).

use app::dto::live::{ClientMessage, ServerMessage};
use futures::{SinkExt, StreamExt};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async,
    tungstenite::{Message, client::IntoClientRequest, protocol::frame::coding::CloseCode},
};

use crate::helpers::{TestApp, spawn_app};

type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// A signed-in browser's socket: the session cookie rides on the upgrade request.
async fn connect(app: &TestApp) -> Socket {
    let mut request = format!("ws://{}/ws", app.addr)
        .into_client_request()
        .unwrap();
    let cookie = format!(
        "{}={}",
        server::auth::SESSION_COOKIE,
        app.token(Some("acme"))
    );
    request
        .headers_mut()
        .insert("cookie", cookie.parse().unwrap());
    let (socket, _) = connect_async(request).await.unwrap();
    socket
}

#[tokio::test]
async fn anonymous_sockets_are_refused() {
    let app = spawn_app().await;
    let error = connect_async(format!("ws://{}/ws", app.addr))
        .await
        .expect_err("an anonymous upgrade must fail");
    match error {
        tokio_tungstenite::tungstenite::Error::Http(response) => {
            assert_eq!(response.status(), 401);
        }
        other => panic!("expected an HTTP 401, got {other:?}"),
    }
}

async fn next_server_message(socket: &mut Socket) -> ServerMessage {
    loop {
        match socket.next().await.expect("socket closed").unwrap() {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

/// Reads until the server's close frame and returns its code.
async fn close_code(socket: &mut Socket) -> CloseCode {
    while let Some(frame) = socket.next().await {
        if let Message::Close(Some(close)) = frame.unwrap() {
            return close.code;
        }
    }
    panic!("the socket ended without a close frame");
}

#[tokio::test]
async fn a_client_is_greeted_and_answered() {
    let app = spawn_app().await;
    let mut socket = connect(&app).await;
    let ServerMessage::Hello {
        version,
        server_time,
    } = next_server_message(&mut socket).await
    else {
        panic!("the first message must be hello");
    };
    assert_eq!(version, env!("CARGO_PKG_VERSION"));
    assert!(server_time.ends_with('Z'), "{server_time}");

    let ping = serde_json::to_string(&ClientMessage::Ping).unwrap();
    socket.send(Message::text(ping)).await.unwrap();
    assert!(matches!(
        next_server_message(&mut socket).await,
        ServerMessage::Pong { .. }
    ));
}

#[tokio::test]
async fn unknown_messages_close_the_socket_with_a_policy_error() {
    let app = spawn_app().await;
    let mut socket = connect(&app).await;
    next_server_message(&mut socket).await;
    socket
        .send(Message::text(r#"{"type":"drop_tables"}"#))
        .await
        .unwrap();
    assert_eq!(close_code(&mut socket).await, CloseCode::Policy);
}

#[tokio::test]
async fn binary_frames_are_refused() {
    let app = spawn_app().await;
    let mut socket = connect(&app).await;
    next_server_message(&mut socket).await;
    socket.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    assert_eq!(close_code(&mut socket).await, CloseCode::Unsupported);
}

#[tokio::test]
async fn shutdown_closes_live_sockets_and_completes() {
    let app = spawn_app().await;
    let mut first = connect(&app).await;
    let mut second = connect(&app).await;
    next_server_message(&mut first).await;
    next_server_message(&mut second).await;

    let stopped = tokio::spawn(app.stop());
    assert_eq!(close_code(&mut first).await, CloseCode::Away);
    assert_eq!(close_code(&mut second).await, CloseCode::Away);
    stopped.await.unwrap().unwrap();
}
