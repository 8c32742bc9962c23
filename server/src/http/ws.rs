//! `/ws`: the native WebSocket for our WASM client (protocol: [`app::dto::live`]), one door to
//! the live hub.
//!
//! The caller and its rooms are settled at the upgrade, by the same identity check and scoping as
//! the REST API: a tenant naming another tenant gets a 403 before any socket exists. Then one task
//! per connection sends the hello, the snapshots or replays, and every push of the subscription,
//! answers the client's messages, and ends the connection after 60 s of silence from the client.
//! A client that falls behind is resynced with fresh snapshots; one that stops reading altogether
//! is cut off by the write timeout. The loop is generic over `Sink`/`Stream`, so the protocol does
//! not depend on axum's socket type. Shutdown closes with `1001 going away`, so browsers reconnect
//! to the next instance at once.
//!
//! An idle connection should cost little (thousands are open at once): one task, no second one
//! to read, the rare paths boxed, small buffers — under 10 KiB each (BENCHMARKS.md).

use std::time::Duration;

use app::dto::live::{
    ClientMessage, PING_TIMEOUT_SECS, Room, RoomState, SESSION_ENDED, ServerMessage, SocketQuery,
    decode_resume,
};
use app::{data::DashboardData, dto::error::DataError};
use axum::{
    extract::{
        State, WebSocketUpgrade,
        ws::{CloseFrame, Message, Utf8Bytes, close_code},
    },
    response::Response,
};
use futures::{Sink, SinkExt, Stream, StreamExt};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use tracing::{debug, warn};

use super::{error::ApiError, extract::ApiQuery};
use crate::{
    domain::auth::{Holder, Verified, scope_of, session_ended},
    live::{
        hub::{self, Next, Start, Subscription},
        quota::{
            MAX_SOCKETS_PER_IDENTITY, MessageBudget, QuotaFull, SERVER_FULL, SocketHolder, Spent,
            TOO_MANY_MESSAGES,
        },
    },
    runtime::state::AppState,
    service::push,
};

/// Client messages are a few dozen bytes; anything near this is not our client.
const MAX_CLIENT_MESSAGE: usize = 4 * 1024;
/// Per-connection read buffer. tungstenite allocates it whole and zeroes it on every read, so an
/// idle connection holds all of it: the default (128 KiB) would dwarf everything else, and a few
/// hundred bytes fit every message our clients send (it grows for a larger one).
const READ_BUFFER: usize = 256;
/// How long a closing connection waits for the client's close frame.
const CLOSE_LINGER: Duration = Duration::from_secs(1);
/// A frame the client has not taken in this long means it stopped reading: give up on it.
const WRITE_TIMEOUT: Duration = Duration::from_secs(PING_TIMEOUT_SECS);

/// Only signed-in callers get a socket, scoped like the REST API (`user_id`) or watching one
/// call's page (`call`), resuming from the cursors they bring (`resume`).
pub(super) async fn upgrade(
    verified: Verified,
    ApiQuery(query): ApiQuery<SocketQuery>,
    socket: WebSocketUpgrade,
    State(state): State<AppState>,
) -> Result<Response, ApiError> {
    let session = verified.holder();
    let identity = verified.identity;
    let scope = scope_of(&identity, query.user_id.as_deref())?;
    let rooms = match query.call.as_deref() {
        // One call's page: its room alone, open to whoever may read the page (the same 404 as
        // the page's for a call the caller cannot see).
        Some(id) => {
            state.call_detail(&identity, id).await?;
            vec![Room::Call(id.to_owned())]
        }
        None => hub::rooms_for(identity.role, &scope),
    };
    let cursors = match query.resume.as_deref().filter(|raw| !raw.is_empty()) {
        None => Vec::new(),
        Some(raw) => decode_resume(raw)
            .ok_or_else(|| ApiError::invalid("resume", "expected the cursors of a connection"))?,
    };
    let tenant = scope.tenant().map(str::to_owned);
    let slot = state
        .sockets
        .take(SocketHolder::of(&identity, session))
        .map_err(|full| match full {
            QuotaFull::Holder => ApiError::TooManySockets(MAX_SOCKETS_PER_IDENTITY),
            QuotaFull::Server => ApiError::from(DataError::Unavailable(SERVER_FULL.to_owned())),
        })?;
    Ok(socket
        .read_buffer_size(READ_BUFFER)
        .max_message_size(MAX_CLIENT_MESSAGE)
        .max_frame_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| async move {
            let subscription = state.hub.subscribe(identity.role, &rooms, &cursors);
            serve(&state, tenant, session, subscription, socket).await;
            drop(slot);
        }))
}

/// The client's side of the connection: what it sent, or why it is over.
enum Incoming {
    Message(ClientMessage),
    Gone,
    /// Close with this code and reason.
    Close(u16, &'static str),
}

/// What the client sent, as far as the protocol is concerned.
fn incoming(frame: Option<Result<Message, axum::Error>>) -> Option<Incoming> {
    Some(match frame {
        None | Some(Err(_)) | Some(Ok(Message::Close(_))) => Incoming::Gone,
        Some(Ok(Message::Text(text))) => match serde_json::from_str(&text) {
            Ok(message) => Incoming::Message(message),
            Err(error) => {
                debug!(%error, "closing a socket that sent an unknown message");
                Incoming::Close(close_code::POLICY, "unknown message")
            }
        },
        Some(Ok(Message::Binary(_))) => {
            Incoming::Close(close_code::UNSUPPORTED, "text frames only")
        }
        // Pings are answered by the socket itself; pongs need nothing.
        Some(Ok(Message::Ping(_) | Message::Pong(_))) => return None,
    })
}

/// Why the connection ends.
enum End {
    /// Say goodbye with this close frame.
    Close(u16, &'static str),
    /// The client is gone or unresponsive: nothing more to send.
    Gone,
}

async fn serve<S>(
    state: &AppState,
    tenant: Option<String>,
    session: Option<Holder>,
    mut subscription: Subscription,
    mut socket: S,
) where
    S: Sink<Message> + Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let hello = ServerMessage::Hello {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        server_time: now(),
        tenant,
        rooms: subscription.rooms().to_vec(),
    };
    // A caller that may not read every stream of its rooms (the ops room's audit log) is told
    // which it gets, so that the numbers the others skip are not taken for a gap.
    let switch = subscription.switch();
    let partial = subscription
        .rooms()
        .iter()
        .flat_map(|room| room.streams())
        .any(|stream| !switch.wants(*stream));
    let streams = ServerMessage::Streams {
        streams: switch.streams(),
    };
    let greeted = match send(&mut socket, &hello).await {
        Ok(()) if partial => send(&mut socket, &streams).await,
        other => other,
    };
    let end = match greeted {
        Ok(()) => run(state, session, &mut subscription, &mut socket).await,
        Err(end) => end,
    };
    if let End::Close(code, reason) = end {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        // The peer may already be gone; nothing more to do either way.
        let _ = tokio::time::timeout(WRITE_TIMEOUT, socket.send(Message::Close(Some(frame)))).await;
        // Read what it still sends until its close answers ours, briefly: closing with unread
        // data makes the kernel reset the connection, and the client never sees our reason.
        let _ = tokio::time::timeout(CLOSE_LINGER, async {
            while let Some(Ok(message)) = socket.next().await {
                if matches!(message, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
}

async fn run<S>(
    state: &AppState,
    session: Option<Holder>,
    subscription: &mut Subscription,
    socket: &mut S,
) -> End
where
    S: Sink<Message> + Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    // The rare paths (start, resync, answers) are boxed: an idle connection's task holds only
    // the loop below, not the largest state any of them ever needs.
    if let Err(end) = Box::pin(start(state, subscription, socket)).await {
        return end;
    }
    let mut revocations = state.revocations.subscribe();
    let budget = MessageBudget::default();
    let silence = Duration::from_secs(PING_TIMEOUT_SECS);
    let deadline = tokio::time::sleep(silence);
    tokio::pin!(deadline);
    loop {
        let result = tokio::select! {
            biased;
            () = state.shutdown.cancelled() => return End::Close(close_code::AWAY, "server shutting down"),
            () = &mut deadline => return End::Close(close_code::AWAY, "ping timeout"),
            () = session_ended(&mut revocations, session) => return End::Close(close_code::POLICY, SESSION_ENDED),
            frame = socket.next() => {
                deadline.as_mut().reset(tokio::time::Instant::now() + silence);
                match incoming(frame) {
                    None => continue,
                    Some(Incoming::Gone) => return End::Gone,
                    Some(Incoming::Close(code, reason)) => return End::Close(code, reason),
                    Some(Incoming::Message(_)) if budget.spend() != Spent::Allowed => {
                        return End::Close(close_code::POLICY, TOO_MANY_MESSAGES);
                    }
                    Some(Incoming::Message(message)) => {
                        Box::pin(answer(state, subscription, socket, message)).await
                    }
                }
            },
            next = subscription.next() => match next {
                Next::Frame(frame) => send_burst(socket, subscription, &frame).await,
                Next::Lagged => Box::pin(resync(state, subscription, socket)).await,
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
                let state = snapshot(state, &room, seq).await?;
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

async fn snapshot(state: &AppState, room: &Room, seq: u64) -> Result<RoomState, End> {
    // Boxed: the queries' state lives only while they run, not in every connection's task.
    match Box::pin(push::room_state(state, room, seq)).await {
        Ok(shared) => Ok(RoomState::clone(&shared)),
        Err(error) => {
            warn!(%error, %room, "cannot build a live snapshot; closing so the client retries");
            Err(End::Close(close_code::AGAIN, "try again later"))
        }
    }
}

/// Starts the subscription over from snapshots (the client fell behind, or switched a stream
/// back on and needs its current state).
async fn resync<W: Sink<Message> + Unpin>(
    state: &AppState,
    subscription: &mut Subscription,
    sender: &mut W,
) -> Result<(), End> {
    subscription.restart();
    Box::pin(start(state, subscription, sender)).await
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
        Box::pin(resync(state, subscription, sender)).await?;
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
