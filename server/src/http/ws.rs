//! `/ws`: the native WebSocket for our WASM client (protocol: [`app::dto::live`]), one door to
//! the live hub.
//!
//! The caller and its rooms are settled at the upgrade, by the same identity check and scoping as
//! the REST API: a tenant naming another tenant gets a 403 before any socket exists. Then two
//! halves run: a reader that answers nothing itself — it hands each client message to the writer
//! and enforces the 60 s silence timeout — and the writer, the only one to write, which sends the
//! hello, the snapshots or replays, then every push of the subscription. A client that falls
//! behind is resynced with fresh snapshots; one that stops reading altogether is cut off by the
//! write timeout. Both are generic over `Sink`/`Stream`, so the protocol does not depend on
//! axum's socket type. Shutdown closes with `1001 going away`, so browsers reconnect to the next
//! instance at once.

use std::time::Duration;

use app::dto::live::{
    ClientMessage, PING_TIMEOUT_SECS, Room, RoomState, ServerMessage, SocketQuery, decode_resume,
};
use axum::{
    extract::{
        State, WebSocketUpgrade,
        ws::{CloseFrame, Message, Utf8Bytes, close_code},
    },
    response::Response,
};
use futures::{Sink, SinkExt, Stream, StreamExt};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use tokio::sync::mpsc;
use tracing::{debug, warn};

use super::{error::ApiError, extract::ApiQuery};
use crate::{
    auth::Caller,
    live::hub::{self, Next, Start, Subscription},
    state::AppState,
};

/// Client messages are a few dozen bytes; anything near this is not our client.
const MAX_CLIENT_MESSAGE: usize = 4 * 1024;
/// Per-connection read buffer; the default (128 KiB) would dwarf everything else an idle
/// connection holds.
const READ_BUFFER: usize = 4 * 1024;
/// A frame the client has not taken in this long means it stopped reading: give up on it.
const WRITE_TIMEOUT: Duration = Duration::from_secs(PING_TIMEOUT_SECS);

/// Only signed-in callers get a socket, scoped like the REST API (`user_id`), resuming from the
/// cursors they bring (`resume`).
pub(super) async fn upgrade(
    caller: Caller,
    ApiQuery(query): ApiQuery<SocketQuery>,
    socket: WebSocketUpgrade,
    State(state): State<AppState>,
) -> Result<Response, ApiError> {
    let scope = caller.scope(query.user_id.as_deref())?;
    let rooms = hub::rooms_for(caller.0.role, &scope);
    let cursors = match query.resume.as_deref().filter(|raw| !raw.is_empty()) {
        None => Vec::new(),
        Some(raw) => decode_resume(raw)
            .ok_or_else(|| ApiError::invalid("resume", "expected the cursors of a connection"))?,
    };
    let tenant = scope.tenant().map(str::to_owned);
    Ok(socket
        .read_buffer_size(READ_BUFFER)
        .max_message_size(MAX_CLIENT_MESSAGE)
        .max_frame_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| {
            let (sender, receiver) = socket.split();
            let subscription = state.hub.subscribe(&rooms, &cursors);
            serve(state, tenant, subscription, sender, receiver)
        }))
}

/// What the reader hands the writer.
enum Command {
    Client(ClientMessage),
    /// The reader is done with this client: close with this code and reason.
    Close(u16, &'static str),
}

async fn serve<W, R>(
    state: AppState,
    tenant: Option<String>,
    subscription: Subscription,
    sender: W,
    receiver: R,
) where
    W: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, axum::Error>> + Send + Unpin + 'static,
{
    let (commands, inbox) = mpsc::channel(8);
    // The reader runs on its own so a writer blocked on a slow client never stops the silence
    // timeout; it ends with the connection.
    let reader = tokio::spawn(read(receiver, commands));
    write(&state, tenant, subscription, sender, inbox).await;
    reader.abort();
}

/// Forwards client messages to the writer until the client goes away, falls silent for longer
/// than the ping timeout, or breaks the protocol.
async fn read<R>(mut receiver: R, commands: mpsc::Sender<Command>)
where
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let timeout = Duration::from_secs(PING_TIMEOUT_SECS);
    loop {
        let command = match tokio::time::timeout(timeout, receiver.next()).await {
            Err(_elapsed) => Command::Close(close_code::AWAY, "ping timeout"),
            Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return,
            Ok(Some(Ok(Message::Text(text)))) => match serde_json::from_str(&text) {
                Ok(message) => Command::Client(message),
                Err(error) => {
                    debug!(%error, "closing a socket that sent an unknown message");
                    Command::Close(close_code::POLICY, "unknown message")
                }
            },
            Ok(Some(Ok(Message::Binary(_)))) => {
                Command::Close(close_code::UNSUPPORTED, "text frames only")
            }
            // Pings are answered by the socket itself; pongs need nothing.
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
        };
        let last = matches!(command, Command::Close(..));
        if commands.send(command).await.is_err() || last {
            return;
        }
    }
}

/// Why the writer stopped.
enum End {
    /// Say goodbye with this close frame.
    Close(u16, &'static str),
    /// The client is gone or unresponsive: nothing more to send.
    Gone,
}

async fn write<W: Sink<Message> + Unpin>(
    state: &AppState,
    tenant: Option<String>,
    mut subscription: Subscription,
    mut sender: W,
    mut inbox: mpsc::Receiver<Command>,
) {
    let hello = ServerMessage::Hello {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        server_time: now(),
        tenant,
        rooms: subscription.rooms().to_vec(),
    };
    let end = match send(&mut sender, &hello).await {
        Ok(()) => run(state, &mut subscription, &mut sender, &mut inbox).await,
        Err(end) => end,
    };
    if let End::Close(code, reason) = end {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        // The peer may already be gone; nothing more to do either way.
        let _ = tokio::time::timeout(WRITE_TIMEOUT, sender.send(Message::Close(Some(frame)))).await;
    }
}

async fn run<W: Sink<Message> + Unpin>(
    state: &AppState,
    subscription: &mut Subscription,
    sender: &mut W,
    inbox: &mut mpsc::Receiver<Command>,
) -> End {
    if let Err(end) = start(state, subscription, sender).await {
        return end;
    }
    loop {
        let result = tokio::select! {
            biased;
            () = state.shutdown.cancelled() => return End::Close(close_code::AWAY, "server shutting down"),
            command = inbox.recv() => match command {
                None => return End::Gone,
                Some(Command::Close(code, reason)) => return End::Close(code, reason),
                Some(Command::Client(message)) => answer(state, subscription, sender, message).await,
            },
            next = subscription.next() => match next {
                Next::Frame(frame) => send_burst(sender, subscription, &frame).await,
                Next::Lagged => resync(state, subscription, sender).await,
            },
        };
        if let Err(end) = result {
            return end;
        }
    }
}

/// Brings the client up to date in each room: a replay of what it missed, or a snapshot.
async fn start<W: Sink<Message> + Unpin>(
    state: &AppState,
    subscription: &mut Subscription,
    sender: &mut W,
) -> Result<(), End> {
    for start in subscription.take_starts() {
        match start {
            Start::Replay {
                room,
                epoch,
                frames,
            } => {
                let resumed = ServerMessage::Resumed {
                    room,
                    epoch,
                    replayed: frames.len() as u64,
                };
                send(sender, &resumed).await?;
                for frame in frames {
                    send_text(sender, frame.text.clone()).await?;
                }
            }
            Start::Snapshot { room, epoch, seq } => {
                let state = snapshot(state, &room).await?;
                send(
                    sender,
                    &ServerMessage::Snapshot {
                        room,
                        epoch,
                        seq,
                        state,
                    },
                )
                .await?;
            }
        }
    }
    Ok(())
}

async fn snapshot(state: &AppState, room: &Room) -> Result<RoomState, End> {
    hub::room_state(state, room).await.map_err(|error| {
        warn!(%error, %room, "cannot build a live snapshot; closing so the client retries");
        End::Close(close_code::AGAIN, "try again later")
    })
}

/// Starts the subscription over from snapshots (the client fell behind, or switched a stream
/// back on and needs its current state).
async fn resync<W: Sink<Message> + Unpin>(
    state: &AppState,
    subscription: &mut Subscription,
    sender: &mut W,
) -> Result<(), End> {
    subscription.restart();
    start(state, subscription, sender).await
}

async fn answer<W: Sink<Message> + Unpin>(
    state: &AppState,
    subscription: &mut Subscription,
    sender: &mut W,
    message: ClientMessage,
) -> Result<(), End> {
    let switch = subscription.switch();
    let (stream, on) = match message {
        ClientMessage::Ping => {
            return send(sender, &ServerMessage::Pong { timestamp: now() }).await;
        }
        ClientMessage::Subscribe { stream } => (stream, true),
        ClientMessage::Unsubscribe { stream } => (stream, false),
    };
    if !switch.offers(stream) {
        let message = format!("stream {} is not available here", stream.as_str());
        return send(sender, &ServerMessage::Error { message }).await;
    }
    let was_on = switch.set(stream, on);
    send(
        sender,
        &ServerMessage::Streams {
            streams: switch.streams(),
        },
    )
    .await?;
    if on && !was_on {
        // What it missed while the stream was off is not in its state: start over.
        resync(state, subscription, sender).await?;
    }
    Ok(())
}

/// Pushes queued together go out together: each is written, and the socket flushed once.
const BURST: usize = 64;

async fn send_burst<W: Sink<Message> + Unpin>(
    sender: &mut W,
    subscription: &mut Subscription,
    first: &hub::Frame,
) -> Result<(), End> {
    let burst = async {
        sender.feed(Message::Text(first.text.clone())).await?;
        for _ in 1..BURST {
            let Some(frame) = subscription.try_next() else {
                break;
            };
            sender.feed(Message::Text(frame.text.clone())).await?;
        }
        sender.flush().await
    };
    match tokio::time::timeout(WRITE_TIMEOUT, burst).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) | Err(_) => Err(End::Gone),
    }
}

async fn send<W: Sink<Message> + Unpin>(
    sender: &mut W,
    message: &ServerMessage,
) -> Result<(), End> {
    let text =
        serde_json::to_string(message).map_err(|_| End::Close(close_code::ERROR, "encoding"))?;
    send_text(sender, text.into()).await
}

async fn send_text<W: Sink<Message> + Unpin>(sender: &mut W, text: Utf8Bytes) -> Result<(), End> {
    match tokio::time::timeout(WRITE_TIMEOUT, sender.send(Message::Text(text))).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) | Err(_) => Err(End::Gone),
    }
}

fn now() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
}
