//! `/ws`: the native WebSocket for our WASM client (see `app::dto::live` for the protocol).
//!
//! The loop is generic over `Sink`/`Stream`, so the protocol does not depend on axum's socket
//! type. It ends when the client goes away, falls silent for longer than the ping timeout, breaks
//! the protocol, or the server shuts down (a `1001 going away` close, so browsers reconnect to
//! the next instance instead of waiting for a timeout).

use std::time::Duration;

use app::dto::live::{ClientMessage, PING_TIMEOUT_SECS, ServerMessage};
use axum::{
    extract::{
        State, WebSocketUpgrade,
        ws::{CloseFrame, Message, close_code},
    },
    response::Response,
};
use futures::{Sink, SinkExt, Stream, StreamExt};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use tokio_util::sync::CancellationToken;
use tracing::debug;

use crate::{auth::Caller, state::AppState};

/// Only signed-in callers (session cookie, or a bearer token) get a socket: it will carry their
/// tenant's calls.
pub(super) async fn upgrade(
    _caller: Caller,
    socket: WebSocketUpgrade,
    State(state): State<AppState>,
) -> Response {
    socket.on_upgrade(move |socket| {
        let (sender, receiver) = socket.split();
        serve(sender, receiver, state.shutdown)
    })
}

async fn serve<W, R>(mut sender: W, mut receiver: R, shutdown: CancellationToken)
where
    W: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let hello = ServerMessage::Hello {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        server_time: now(),
    };
    if send(&mut sender, &hello).await.is_err() {
        return;
    }
    let timeout = Duration::from_secs(PING_TIMEOUT_SECS);
    let close = loop {
        let next = tokio::select! {
            () = shutdown.cancelled() => break Some((close_code::AWAY, "server shutting down")),
            next = tokio::time::timeout(timeout, receiver.next()) => next,
        };
        let message = match next {
            Err(_elapsed) => break Some((close_code::AWAY, "ping timeout")),
            Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => break None,
            Ok(Some(Ok(message))) => message,
        };
        match message {
            Message::Text(text) => match serde_json::from_str::<ClientMessage>(&text) {
                Ok(ClientMessage::Ping) => {
                    if send(&mut sender, &ServerMessage::Pong { timestamp: now() })
                        .await
                        .is_err()
                    {
                        break None;
                    }
                }
                Err(error) => {
                    debug!(%error, "closing a socket that sent an unknown message");
                    break Some((close_code::POLICY, "unknown message"));
                }
            },
            Message::Binary(_) => break Some((close_code::UNSUPPORTED, "text frames only")),
            // Pings are answered by the socket itself; pongs need nothing.
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) => {}
        }
    };
    if let Some((code, reason)) = close {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        // The peer may already be gone; nothing more to do either way.
        let _ = sender.send(Message::Close(Some(frame))).await;
    }
}

async fn send<W: Sink<Message> + Unpin>(sender: &mut W, message: &ServerMessage) -> Result<(), ()> {
    let text = serde_json::to_string(message).map_err(|_| ())?;
    sender
        .send(Message::Text(text.into()))
        .await
        .map_err(|_| ())
}

fn now() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
}
