//! The `switchboard` server: one binary serving the SSR + hydrated UI, the REST API and live push.
//!
//! # Layout
//! - [`config`]: the CLI (`switchboard serve …`) and its environment variables.
//! - [`state`]: [`state::AppState`], built once per server and handed to every handler.
//! - [`startup`]: [`startup::Application`] binds the listener (port 0 in tests), serves until
//!   told to stop and shuts down gracefully; [`serve`]: the accept loop under it (header-read
//!   timeout, bounded graceful shutdown).
//! - [`http`]: the router: API routes, the live socket, static assets, pages, errors.
//! - [`storage`]: `call_logs` and friends in SQLite or PostgreSQL, behind one interface.
//! - [`ingest`]: validation and the batching writer that never acknowledges what is not on disk.
//! - [`dlq`]: the dead-letter queue of failed writes; [`dlq_retry`] retries them, for
//!   [`workers`] (the background loops) and reconciliation alike.
//! - [`reconcile`]: the reconciliation job (stale calls, backfills, live state, the DLQ), one
//!   run at a time across instances; [`audit`]: the append-only log of operator actions.
//! - [`live`]: the live-call registry (heartbeat health), the event bus, and live push — the hub
//!   and its two transports, `/ws` and Socket.IO.
//! - [`demo`]: the built-in simulator behind `serve --demo`.
//! - [`secrets`]: keys generated once into the data folder when not configured.
//! - [`users`]: dashboard users and their argon2 password hashes.
//! - [`auth`]: tokens, the session cookie and tenant scoping — the one identity check of every
//!   door; [`dashboard`]: the rules of the dashboard's figures; [`figures`]: those figures read
//!   from storage, the registry and the DLQ, for REST and live push alike; [`data`]: the query
//!   rules (scoping, bounds, filters) and `app`'s `DashboardData` implemented over them,
//!   which the REST handlers and the page's server functions both call; [`cursor`]: the
//!   cursors of time-ordered lists, for every door.
//! - [`telemetry`]: structured logs through `tracing`.

pub mod dlq;
pub mod domain;
pub mod http;
pub mod ingest;
pub mod live;
pub mod runtime;
pub mod secrets;
pub mod service;
pub mod storage;
pub mod telemetry;
