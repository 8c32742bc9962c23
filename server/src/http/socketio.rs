//! `/socket.io/`: the seed-000 Socket.IO contract for existing clients (socketioxide), the second
//! door to the live hub.
//!
//! - Handshake `auth: {token, user_id?}`, checked in a connect middleware by the same identity
//!   check and scoping as every other door: no or bad token, or a tenant naming another tenant,
//!   is a `connect_error` and no connection.
//! - On connect: `connected {user_id, sid}`, then a fresh `initial_state` (admins also get
//!   `ops_state`), then every push of the socket's rooms as its seed event (`call_event`,
//!   `metrics_update`, `active_calls_update`; admins also `heartbeat_health`,
//!   `live_calls_update`, `dlq_update`, `reconciliation_update`, `audit_entry`), the payload
//!   serialized once by the hub.
//! - Client events: `subscribe` / `unsubscribe` `{stream}` switch a stream of the socket's rooms
//!   on or off (answered with `subscribed` / `unsubscribed`, or `error`, and the ack if asked);
//!   `ping` is answered with `pong {timestamp}`.
//! - A socket that falls behind (its buffer full) is let go of by the hub and, once it reads
//!   again, gets a fresh `initial_state` — the seed's clients already treat that as the whole
//!   state. It is not disconnected: after a server-side disconnect socket.io clients do not
//!   reconnect by themselves.
//! - Shutdown closes the transports (not a Socket.IO disconnect), so clients reconnect — to
//!   another instance behind the load balancer.
//!
//! Ping interval 25 s and timeout 60 s, as the seed says. Fan-out between instances is the hub's
//! (through the Redis bus), so every emit here is local to this instance.

use std::{sync::Arc, time::Duration};

use app::dto::{
    auth::Identity,
    live::{Connected, PING_INTERVAL_SECS, PING_TIMEOUT_SECS, Pong, RoomState, Stream},
};
use axum::{
    extract::{OriginalUri, Request},
    http,
};
use serde::{Deserialize, Serialize};
use socketioxide::{
    SocketIo,
    extract::{AckSender, Extension, SocketRef, State, TryData},
    handler::ConnectHandler,
    layer::SocketIoLayer,
    socket::DisconnectReason,
};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::{
    domain::auth::{AuthError, Holder, Scope, require, scope_of, session_ended},
    live::{
        hub::{self, Next, Start, StreamSwitch, Subscription},
        quota::{
            MAX_SOCKETS_PER_IDENTITY, MESSAGES_PER_SECOND, MessageBudget, QuotaFull, SERVER_FULL,
            SocketHolder, SocketSlot, Spent, TOO_MANY_MESSAGES,
        },
    },
    runtime::state::AppState,
    service::push,
};

/// Client events are tiny (`subscribe`, `ping`); nothing legitimate comes near this.
const MAX_CLIENT_PAYLOAD: u64 = 16 * 1024;
/// A session that has not joined the namespace (sent CONNECT with its token) this long after
/// opening is dropped: it holds a transport and proves nothing (socketioxide's default is 45 s).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Each socket's websocket read buffer, held for as long as it is connected (see `ws.rs`).
const READ_BUFFER: usize = 256;

/// The Socket.IO layer for the router (put [`detach_request`] in front of it). Sockets are closed
/// when the server shuts down.
pub(super) fn layer(state: AppState) -> SocketIoLayer {
    let (layer, io) = SocketIo::builder()
        .ping_interval(Duration::from_secs(PING_INTERVAL_SECS))
        .ping_timeout(Duration::from_secs(PING_TIMEOUT_SECS))
        .connect_timeout(CONNECT_TIMEOUT)
        .max_payload(MAX_CLIENT_PAYLOAD)
        .ws_max_message_size(MAX_CLIENT_PAYLOAD as usize)
        .ws_max_frame_size(MAX_CLIENT_PAYLOAD as usize)
        .ws_read_buffer_size(READ_BUFFER)
        .with_state(state.clone())
        .build_layer();
    io.ns("/", on_connect.with(authenticate));
    tokio::spawn(async move {
        state.shutdown.cancelled().await;
        io.close().await;
    });
    layer
}

/// socketioxide keeps each socket's request parts for as long as it is connected, and hyper
/// parses the URI and header values as slices of the connection's whole read buffer (8–16 KiB):
/// keeping them — and axum's `OriginalUri`, a clone of the URI — kept the buffer, which was most
/// of an idle socket's memory (measured with heaptrack). Copies hold only their own bytes.
pub(super) async fn detach_request(mut request: Request) -> Request {
    if !request.uri().path().starts_with("/socket.io") {
        return request;
    }
    let copy = |uri: &http::Uri| uri.to_string().parse::<http::Uri>().ok();
    if let Some(uri) = copy(request.uri()) {
        *request.uri_mut() = uri;
    }
    if let Some(original) = request
        .extensions()
        .get::<OriginalUri>()
        .and_then(|OriginalUri(uri)| copy(uri))
    {
        request.extensions_mut().insert(OriginalUri(original));
    }
    let headers = request
        .headers()
        .iter()
        .filter_map(|(name, value)| {
            let name = http::HeaderName::from_bytes(name.as_str().as_bytes()).ok()?;
            let value = http::HeaderValue::from_bytes(value.as_bytes()).ok()?;
            Some((name, value))
        })
        .collect();
    *request.headers_mut() = headers;
    request
}

/// The handshake's `auth` object.
#[derive(Debug, Default, Deserialize)]
struct Handshake {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
}

/// Who the socket is for and what it sees, settled once at the handshake.
#[derive(Debug, Clone)]
struct Viewer {
    identity: Identity,
    scope: Scope,
    session: Option<Holder>,
}

/// Cancelled when the socket disconnects, so its forwarding task ends with it.
#[derive(Debug, Clone)]
struct Closed(CancellationToken);

/// Why a handshake is refused; the client's `connect_error` carries the message.
#[derive(Debug, thiserror::Error)]
enum Refused {
    #[error("{0}")]
    Auth(#[from] AuthError),
    #[error(
        "too many live connections: at most {MAX_SOCKETS_PER_IDENTITY} per user; close one first"
    )]
    TooManySockets,
    #[error("{SERVER_FULL}")]
    ServerFull,
}

/// The socket's place in its identity's quota, held in its extensions: given back when the
/// socket is dropped after its disconnect.
#[derive(Debug, Clone)]
struct Slot {
    _held: Arc<SocketSlot>,
}

async fn authenticate(
    socket: SocketRef,
    TryData(handshake): TryData<Handshake>,
    State(state): State<AppState>,
) -> Result<(), Refused> {
    let handshake = handshake.unwrap_or_default();
    let token = handshake
        .token
        .filter(|token| !token.trim().is_empty())
        .ok_or(AuthError::MissingToken)?;
    let verified = state.authenticate(token.trim()).await?;
    let session = verified.holder();
    let identity = verified.identity;
    let scope = scope_of(&identity, handshake.user_id.as_deref())?;
    let slot = state
        .sockets
        .take(SocketHolder::of(&identity, session))
        .map_err(|full| match full {
            QuotaFull::Holder => Refused::TooManySockets,
            QuotaFull::Server => Refused::ServerFull,
        })?;
    socket.extensions.insert(Slot {
        _held: Arc::new(slot),
    });
    socket.extensions.insert(Viewer {
        identity,
        scope,
        session,
    });
    Ok(())
}

async fn on_connect(
    socket: SocketRef,
    Extension(viewer): Extension<Viewer>,
    State(state): State<AppState>,
) {
    let rooms = hub::rooms_for(viewer.identity.role, &viewer.scope);
    let subscription = state.hub.subscribe(viewer.identity.role, &rooms, &[]);
    let closed = Closed(CancellationToken::new());
    socket.extensions.insert(subscription.switch());
    socket.extensions.insert(closed.clone());
    socket.extensions.insert(Arc::new(MessageBudget::default()));
    socket.on("subscribe", subscribe);
    socket.on("unsubscribe", unsubscribe);
    socket.on("ping", ping);
    socket.on_disconnect(on_disconnect);
    let connected = Connected {
        user_id: viewer.scope.tenant().map(str::to_owned),
        sid: socket.id.to_string(),
    };
    if socket.emit("connected", &connected).is_err() {
        return;
    }
    let mut revocations = state.revocations.subscribe();
    tokio::spawn(async move {
        tokio::select! {
            () = forward(state, socket.clone(), subscription, closed.0) => {}
            // A server-side disconnect: socket.io clients do not reconnect after it.
            () = session_ended(&mut revocations, viewer.session) => {
                let _ = socket.disconnect();
            }
        }
    });
}

async fn on_disconnect(Extension(closed): Extension<Closed>, reason: DisconnectReason) {
    debug!(?reason, "socket.io client left");
    closed.0.cancel();
}

/// First wait before a fresh `initial_state` for a client that fell behind; doubled per try.
const RESYNC_FIRST: Duration = Duration::from_millis(250);
const RESYNC_MAX: Duration = Duration::from_secs(5);

/// How sending to a socket went.
enum Sent {
    Ok,
    /// Its buffer is full (or its queue in the hub overflowed): it is not reading.
    Behind,
    Gone,
}

/// Sends the socket its rooms' state, then every push, until it disconnects. A socket that falls
/// behind is let go of (the hub drops its queue) and, once it reads again, gets a fresh
/// `initial_state` — never a disconnect, after which socket.io clients would not reconnect.
async fn forward(
    state: AppState,
    socket: SocketRef,
    mut subscription: Subscription,
    closed: CancellationToken,
) {
    let mut delay = RESYNC_FIRST;
    loop {
        let sent = match emit_states(&state, &socket, &mut subscription).await {
            Sent::Ok => {
                delay = RESYNC_FIRST;
                pump(&socket, &mut subscription, &closed).await
            }
            other => other,
        };
        if let Sent::Gone = sent {
            return;
        }
        debug!(sid = %socket.id, "socket.io client fell behind; resyncing it when it reads again");
        tokio::select! {
            () = closed.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(RESYNC_MAX);
        subscription.restart();
        socket.extensions.insert(subscription.switch());
    }
}

/// Forwards pushes until the socket is gone or behind.
async fn pump(
    socket: &SocketRef,
    subscription: &mut Subscription,
    closed: &CancellationToken,
) -> Sent {
    loop {
        let next = tokio::select! {
            () = closed.cancelled() => return Sent::Gone,
            next = subscription.next() => next,
        };
        let Next::Frame(frame) = next else {
            return Sent::Behind;
        };
        match emitted(socket.emit(frame.event, &*frame.data)) {
            Sent::Ok => {}
            other => return other,
        }
    }
}

fn emitted(result: Result<(), socketioxide::SendError>) -> Sent {
    match result {
        Ok(()) => Sent::Ok,
        Err(socketioxide::SendError::Socket(socketioxide::SocketError::InternalChannelFull)) => {
            Sent::Behind
        }
        Err(_) => Sent::Gone,
    }
}

/// Emits each room's state: `initial_state` for a calls room, `ops_state` for the ops room.
async fn emit_states(
    state: &AppState,
    socket: &SocketRef,
    subscription: &mut Subscription,
) -> Sent {
    for start in subscription.take_starts() {
        let (room, seq) = match start {
            Start::Snapshot { room, seq, .. } => (room, seq),
            // Socket.IO subscriptions never resume: every start is a snapshot.
            Start::Replay { room, frames, .. } => (room, frames.last().map_or(0, |f| f.seq)),
        };
        // Boxed: the queries' state lives only while they run, not in every socket's task.
        let sent = match Box::pin(push::room_state(state, &room, seq)).await {
            Ok(shared) => match &*shared {
                RoomState::Calls(initial) => emitted(socket.emit("initial_state", initial)),
                RoomState::Ops(ops) => emitted(socket.emit("ops_state", ops)),
                // Socket.IO sockets join no call's room (only `/ws` offers one).
                RoomState::Call(_) => Sent::Ok,
            },
            Err(error) => {
                warn!(%error, %room, "cannot build initial_state; trying again shortly");
                Sent::Behind
            }
        };
        if !matches!(sent, Sent::Ok) {
            return sent;
        }
    }
    Sent::Ok
}

/// `subscribe` / `unsubscribe` payload: `{stream}`. A `user_id` may be repeated but never
/// changes the socket's tenant.
#[derive(Debug, Deserialize)]
struct StreamRequest {
    stream: String,
    #[serde(default)]
    user_id: Option<String>,
}

#[derive(Debug, Serialize)]
struct StreamAnswer {
    success: bool,
    stream: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Spends one message of the socket's budget; `true` when it is over budget and the message
/// is refused (dropped unanswered, the socket told why at most once a second).
fn overspent(socket: &SocketRef, budget: &MessageBudget) -> bool {
    match budget.spend() {
        Spent::Allowed => false,
        Spent::Refused { tell } => {
            if tell {
                let error = format!(
                    "{TOO_MANY_MESSAGES}: at most {MESSAGES_PER_SECOND} a second; the rest are dropped"
                );
                let answer = StreamAnswer {
                    success: false,
                    stream: String::new(),
                    error: Some(error),
                };
                let _ = socket.emit("error", &answer);
            }
            true
        }
    }
}

async fn subscribe(
    socket: SocketRef,
    Extension(viewer): Extension<Viewer>,
    Extension(switch): Extension<StreamSwitch>,
    Extension(budget): Extension<Arc<MessageBudget>>,
    State(state): State<AppState>,
    TryData(request): TryData<StreamRequest>,
    ack: AckSender,
) {
    if overspent(&socket, &budget) {
        return;
    }
    let Some((stream, answer)) = switch_stream(&viewer, &switch, request, true) else {
        return;
    };
    reply(&socket, ack, "subscribed", &answer);
    // A figures stream switched on gets its current value at once, not at the next change.
    if answer.success
        && let Some(stream) = stream
    {
        let rooms = hub::rooms_for(viewer.identity.role, &viewer.scope);
        for room in rooms.iter().filter(|room| room.streams().contains(&stream)) {
            match Box::pin(push::shared_figures(&state, room, stream)).await {
                Ok(Some(push)) => {
                    if let Ok(data) = push
                        .data_json()
                        .and_then(serde_json::value::RawValue::from_string)
                    {
                        let _ = socket.emit(push.event(), &*data);
                    }
                }
                Ok(None) => {}
                Err(error) => warn!(%error, %room, "cannot read figures for a subscription"),
            }
        }
    }
}

async fn unsubscribe(
    socket: SocketRef,
    Extension(viewer): Extension<Viewer>,
    Extension(switch): Extension<StreamSwitch>,
    Extension(budget): Extension<Arc<MessageBudget>>,
    TryData(request): TryData<StreamRequest>,
    ack: AckSender,
) {
    if overspent(&socket, &budget) {
        return;
    }
    if let Some((_, answer)) = switch_stream(&viewer, &switch, request, false) {
        reply(&socket, ack, "unsubscribed", &answer);
    }
}

/// Checks and applies a stream request. `None` only when nothing can be answered at all.
fn switch_stream(
    viewer: &Viewer,
    switch: &StreamSwitch,
    request: Result<StreamRequest, socketioxide::ParserError>,
    on: bool,
) -> Option<(Option<Stream>, StreamAnswer)> {
    let refuse = |stream: String, error: String| {
        Some((
            None,
            StreamAnswer {
                success: false,
                stream,
                error: Some(error),
            },
        ))
    };
    let request = match request {
        Ok(request) => request,
        Err(_) => return refuse(String::new(), "expected {stream: <name>}".to_owned()),
    };
    // Naming another tenant is refused outright, whatever the stream.
    if let Err(error) = scope_of(&viewer.identity, request.user_id.as_deref()) {
        return refuse(request.stream, error.message().to_owned());
    }
    if request
        .user_id
        .as_deref()
        .is_some_and(|tenant| !tenant.is_empty() && viewer.scope.tenant() != Some(tenant))
    {
        return refuse(
            request.stream,
            "user_id: this socket is scoped to another tenant; reconnect to change it".to_owned(),
        );
    }
    let Some(stream) = Stream::parse(&request.stream) else {
        let known: Vec<_> = Stream::ALL.iter().map(|stream| stream.as_str()).collect();
        let error = format!("unknown stream; one of {}", known.join(", "));
        return refuse(request.stream, error);
    };
    if !switch.offers(stream) {
        let error = if let Err(refused) = require(&viewer.identity, stream.permission()) {
            refused.message().to_owned()
        } else {
            "not available on this socket".to_owned()
        };
        return refuse(request.stream, error);
    }
    let was_on = switch.set(stream, on);
    Some((
        (on && !was_on).then_some(stream),
        StreamAnswer {
            success: true,
            stream: request.stream,
            error: None,
        },
    ))
}

/// Answers a stream request: through the ack when the client asked for one, and as an event
/// (`subscribed` / `unsubscribed`, or `error` when refused) either way.
fn reply(socket: &SocketRef, ack: AckSender, event: &str, answer: &StreamAnswer) {
    let _ = ack.send(answer);
    let _ = socket.emit(if answer.success { event } else { "error" }, answer);
}

async fn ping(socket: SocketRef, Extension(budget): Extension<Arc<MessageBudget>>) {
    if overspent(&socket, &budget) {
        return;
    }
    let timestamp = OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default();
    let _ = socket.emit("pong", &Pong { timestamp });
}
