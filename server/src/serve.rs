//! Accepting connections and serving HTTP/1.1 and HTTP/2 on them — what `axum::serve` does, plus
//! what it has no setting for: a deadline for each request's headers (a client trickling them in
//! a byte at a time would otherwise hold its connection and task for as long as it liked), and a
//! bounded wait for requests in flight when the server stops.

use std::time::Duration;

use axum::{Router, extract::ConnectInfo};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto::Builder, graceful::GracefulShutdown},
};
use tokio::net::TcpListener;
use tower::ServiceExt;
use tracing::{debug, warn};

/// How a listener is served.
pub struct Serving {
    /// Until a request's headers must have arrived.
    pub header_read_timeout: Duration,
    /// How long requests in flight may take once `stop` completes.
    pub shutdown_deadline: Duration,
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
    tokio::pin!(stop);
    loop {
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
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            // The peer's address reaches handlers (the audit log records it).
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request)
        });
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = connections.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                debug!(%error, %peer, "connection ended with an error");
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
