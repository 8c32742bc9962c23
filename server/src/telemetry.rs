//! Structured logs. `RUST_LOG` picks what is shown (default: info for us, warn for libraries);
//! `SWITCHBOARD_LOG_FORMAT=json` switches to one JSON object per line for log shippers. Logs go
//! to stderr; stdout carries only the start-up banner with the URL.

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

const DEFAULT_FILTER: &str = "warn,server=info,switchboard=info,tower_http=info";

/// Installs the global subscriber. Safe to call more than once (later calls are no-ops), which
/// lets every test build its own application.
pub fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let json = std::env::var("SWITCHBOARD_LOG_FORMAT").is_ok_and(|format| format == "json");
    let registry = tracing_subscriber::registry().with(filter);
    // `try_init` fails only when a subscriber is already installed, which is fine.
    let _ = if json {
        registry
            .with(fmt::layer().json().with_writer(std::io::stderr))
            .try_init()
    } else {
        registry
            .with(fmt::layer().with_target(false).with_writer(std::io::stderr))
            .try_init()
    };
}
