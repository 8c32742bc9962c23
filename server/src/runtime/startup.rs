//! Binding, serving and stopping. [`Application::build`] binds first and reports the real
//! address, so tests can ask for port 0 and run many servers side by side.

use std::{future::Future, io, net::SocketAddr};

use tokio::net::{TcpListener, TcpSocket};
use tracing::{info, warn};

use crate::{
    http,
    runtime::config::Config,
    runtime::workers,
    runtime::{build::StartupError, state::AppState},
    service::demo,
};

/// How long a stopping server waits for requests in flight: within the 30 s orchestrators
/// usually allow between SIGTERM and SIGKILL, with room to spare.
pub const SHUTDOWN_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let listener = listen(config.addr).map_err(|error| {
            io::Error::new(
                error.kind(),
                format!("cannot listen on {}: {error}", config.addr),
            )
        })?;
        for name in [app::BUNDLE_NAME, app::ADMIN_BUNDLE_NAME] {
            let bundle = config.site_root.join("pkg").join(format!("{name}.js"));
            if !bundle.is_file() {
                warn!(
                    path = %bundle.display(),
                    "no browser bundle found: pages render but will not come alive; build it with scripts/build.sh"
                );
            }
        }
        Ok(Self {
            listener,
            state: AppState::build(config).await?,
        })
    }

    /// The address actually bound (the real port when port 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        // A bound listener always has a local address.
        self.listener.local_addr().unwrap_or(self.state.config.addr)
    }

    /// An address a person can click: `0.0.0.0` becomes `127.0.0.1`.
    pub fn display_addr(&self) -> SocketAddr {
        let mut addr = self.local_addr();
        if addr.ip().is_unspecified() {
            addr.set_ip([127, 0, 0, 1].into());
        }
        addr
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `stop` completes, then stops accepting, closes live sockets and waits for
    /// requests in flight to finish.
    pub async fn run_until_stopped(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        let Self { listener, state } = self;
        info!(addr = %listener.local_addr()?, "listening");
        let shutdown = state.shutdown.clone();
        workers::spawn_all(&state);
        tokio::spawn(crate::service::push::run_fanout(state.clone()));
        tokio::spawn(crate::service::push::run_coalescer(
            state.clone(),
            state.shutdown.clone(),
        ));
        if let Some(redis) = &state.redis {
            redis.spawn_bus_listener(
                state.bus.clone(),
                std::sync::Arc::clone(&state.registry),
                state.shutdown.clone(),
            );
            crate::ingest::redis::spawn_intake(
                redis,
                state.ingestor.clone(),
                state.shutdown.clone(),
            );
        }
        if state.config.demo {
            demo::spawn(state.clone());
        }
        let serving = crate::runtime::serve::Serving {
            header_read_timeout: state.config.header_read_timeout,
            shutdown_deadline: SHUTDOWN_DEADLINE,
            max_connections: state.config.max_connections,
        };
        let router = http::router(state);
        crate::runtime::serve::serve(listener, router, serving, async move {
            stop.await;
            info!("shutting down");
            shutdown.cancel();
        })
        .await;
        info!("stopped");
        Ok(())
    }
}

/// Connections waiting to be accepted. Every browser reconnects at once after a restart or a
/// failover; tokio's `TcpListener::bind` queues only 128, and a connect storm beyond that had
/// clients wait a second for their SYN to be retried (measured: 1,000 clients took 1.9 s).
/// The kernel caps it at `net.core.somaxconn`.
const ACCEPT_BACKLOG: u32 = 4096;

fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(ACCEPT_BACKLOG)
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed by this call, not when
/// the future is first polled: a signal that arrives before serving starts (a supervisor
/// stopping a server that just printed its address) must not be lost. Call it inside the
/// runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    let (interrupt, terminate) = {
        use tokio::signal::unix::{SignalKind, signal};
        let installed = |kind: SignalKind, name: &str| match signal(kind) {
            Ok(signal) => Some(signal),
            Err(error) => {
                warn!(%error, "cannot listen for {name}");
                None
            }
        };
        (
            installed(SignalKind::interrupt(), "SIGINT"),
            installed(SignalKind::terminate(), "SIGTERM"),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let received = |signal: Option<tokio::signal::unix::Signal>| async move {
                match signal {
                    Some(mut signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = received(interrupt) => {},
                () = received(terminate) => {},
            }
        }
        #[cfg(not(unix))]
        if let Err(error) = tokio::signal::ctrl_c().await {
            warn!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    }
}
