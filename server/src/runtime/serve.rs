//! Accepting connections and serving HTTP/1.1 and HTTP/2 on them — what `axum::serve` does, plus
//! what it has no setting for:
//! - a deadline for each request's headers (a client trickling them in a byte at a time would
//!   otherwise hold its connection and task for as long as it liked), and the same deadline for
//!   a connection's first request whatever its protocol, and for an HTTP/2 connection with
//!   nothing in flight: one that sends nothing, only the HTTP/2 preface, or nothing more over
//!   HTTP/2 after its last answer is closed (hyper's own deadline starts only once HTTP/1 bytes
//!   arrive — it then also closes a kept-alive HTTP/1 connection that asks nothing more — and
//!   HTTP/2 has none). A request is in flight until its answer's body has been sent, so a long
//!   export or a long poll is never cut;
//! - a cap on connections served at once: past it the server stops accepting until one ends,
//!   and logs that it did;
//! - a bounded wait for requests in flight when the server stops.

use std::{
    pin::Pin,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    Router,
    body::{Body, HttpBody},
    extract::ConnectInfo,
};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto::Builder, graceful::GracefulShutdown},
};
use tokio::time::Instant;
use tokio::{net::TcpListener, sync::Semaphore};
use tower::ServiceExt;
use tracing::{debug, warn};

/// How a listener is served.
pub struct Serving {
    /// Until a request's headers must have arrived.
    pub header_read_timeout: Duration,
    /// How long requests in flight may take once `stop` completes.
    pub shutdown_deadline: Duration,
    /// Connections served at once.
    pub max_connections: usize,
}

/// A pause after a failed `accept` (out of file descriptors, say) before the next: retrying at
/// once would spin a core while the condition lasts.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves `router` on `listener` until `stop` completes; then stops accepting and gives the
/// connections open then until the shutdown deadline to finish. Handlers see the peer's
/// address as `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    serving: Serving,
    stop: impl Future<Output = ()>,
) {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(serving.header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    let connections = GracefulShutdown::new();
    let places = Arc::new(Semaphore::new(serving.max_connections));
    let first_request = serving.header_read_timeout;
    tokio::pin!(stop);
    loop {
        let place = match Arc::clone(&places).try_acquire_owned() {
            Ok(place) => place,
            Err(_) => {
                warn!(
                    max_connections = serving.max_connections,
                    "connection cap reached: not accepting until a connection ends \
                     (SWITCHBOARD_MAX_CONNECTIONS)"
                );
                tokio::select! {
                    () = &mut stop => break,
                    place = Arc::clone(&places).acquire_owned() => match place {
                        Ok(place) => place,
                        Err(_) => break,
                    },
                }
            }
        };
        let (stream, peer) = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        // Live pushes are small writes that must leave at once: without TCP_NODELAY, Nagle's
        // algorithm holds each one until the previous is acknowledged (tens of ms with delayed
        // ACKs — measured as the push latency's tail).
        if let Err(error) = stream.set_nodelay(true) {
            warn!(%error, "cannot set TCP_NODELAY on a connection");
        }
        let router = router.clone();
        let activity = Arc::new(Activity::new());
        let service = hyper::service::service_fn({
            let activity = Arc::clone(&activity);
            move |mut request: hyper::Request<Incoming>| {
                let busy = Busy::begin(&activity, request.version());
                // The peer's address reaches handlers (the audit log records it).
                request.extensions_mut().insert(ConnectInfo(peer));
                let answer = router.clone().oneshot(request);
                async move {
                    let response = answer.await?;
                    Ok::<_, std::convert::Infallible>(
                        response.map(|body| Body::new(Tracked { body, _busy: busy })),
                    )
                }
            }
        });
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = connections.watch(connection);
        tokio::spawn(async move {
            let _place = place;
            tokio::select! {
                // The connection first: a request whose bytes have arrived is taken in (and
                // counts as in flight) before the deadline is looked at.
                biased;
                result = connection => if let Err(error) = result {
                    debug!(%error, %peer, "connection ended with an error");
                },
                () = activity.idle_for(first_request) => {
                    debug!(%peer, "closing a connection that asked nothing in time");
                }
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = connections.shutdown() => {}
        () = tokio::time::sleep(serving.shutdown_deadline) => warn!(
            deadline_secs = serving.shutdown_deadline.as_secs(),
            "requests still in flight at the shutdown deadline; stopping without them"
        ),
    }
}

/// What a connection is doing: its requests in flight, since when it has had none, and whether
/// it has spoken HTTP/1 (whose kept-alive idleness hyper's own deadline ends).
struct Activity {
    in_flight: AtomicUsize,
    since: Mutex<Instant>,
    http1: AtomicBool,
}

impl Activity {
    fn new() -> Self {
        Self {
            in_flight: AtomicUsize::new(0),
            since: Mutex::new(Instant::now()),
            http1: AtomicBool::new(false),
        }
    }

    fn since(&self) -> Instant {
        *self.since.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Completes once the connection has had nothing in flight for `deadline`.
    async fn idle_for(&self, deadline: Duration) {
        loop {
            if self.http1.load(Ordering::Acquire) {
                return std::future::pending().await;
            }
            if self.in_flight.load(Ordering::Acquire) > 0 {
                tokio::time::sleep(deadline).await;
                continue;
            }
            let due = self.since() + deadline;
            if due <= Instant::now() {
                return;
            }
            tokio::time::sleep_until(due).await;
        }
    }
}

/// A request in flight on its connection, until dropped with its answer's body.
struct Busy(Arc<Activity>);

impl Busy {
    fn begin(activity: &Arc<Activity>, version: hyper::Version) -> Self {
        if version < hyper::Version::HTTP_2 {
            activity.http1.store(true, Ordering::Release);
        }
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        Self(Arc::clone(activity))
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        // The idle time counts from the end of the last answer.
        *self.0.since.lock().unwrap_or_else(PoisonError::into_inner) = Instant::now();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// An answer's body that keeps its request in flight until it is sent (or dropped).
struct Tracked {
    body: Body,
    _busy: Busy,
}

impl HttpBody for Tracked {
    type Data = <Body as HttpBody>::Data;
    type Error = <Body as HttpBody>::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
