//! Accepting connections and serving HTTP/1.1 and HTTP/2 on them — what `axum::serve` does, plus
//! what it has no setting for:
//! - a deadline for each request's headers (a client trickling them in a byte at a time would
//!   otherwise hold its connection and task for as long as it liked), and the same deadline for
//!   a connection's first request whatever its protocol: one that sends nothing, or only the
//!   HTTP/2 preface, is closed (hyper's own deadline starts only once HTTP/1 bytes arrive);
//! - a cap on connections served at once: past it the server stops accepting until one ends,
//!   and logs that it did;
//! - a bounded wait for requests in flight when the server stops.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use axum::{Router, extract::ConnectInfo};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto::Builder, graceful::GracefulShutdown},
};
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
        let requested = Arc::new(AtomicBool::new(false));
        let service = hyper::service::service_fn({
            let requested = Arc::clone(&requested);
            move |mut request: hyper::Request<Incoming>| {
                requested.store(true, Ordering::Relaxed);
                // The peer's address reaches handlers (the audit log records it).
                request.extensions_mut().insert(ConnectInfo(peer));
                router.clone().oneshot(request)
            }
        });
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = connections.watch(connection);
        tokio::spawn(async move {
            let _place = place;
            let no_request = async {
                tokio::time::sleep(first_request).await;
                if requested.load(Ordering::Relaxed) {
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                result = connection => if let Err(error) = result {
                    debug!(%error, %peer, "connection ended with an error");
                },
                () = no_request => debug!(%peer, "closing a connection that sent no request in time"),
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
