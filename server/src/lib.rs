//! The `switchboard` server: one binary serving the SSR + hydrated UI, the REST API and live push.
//!
//! # Layout
//! Layers, top to bottom. A module may use the layers below its own, never one above; only the
//! top three name [`runtime::state::AppState`], and everything below takes the narrow handles it
//! needs ([`storage::Storage`], [`live::bus::EventBus`], [`ingest::Ingestor`], …).
//! `scripts/check-layers.py` holds the code to this in the test command.
//!
//! ```text
//! runtime   AppState built from the settings, the server started, background tasks spawned
//!   │
//! http      the doors: REST, /ws, Socket.IO, pages, CSV; errors turned into responses here
//!   │
//! service   what the doors call: figures and operator actions, reconciliation, DLQ retrying,
//!   │       live push's loops, the demo
//! ingest    validation, producers over HTTP and Redis, the writer that acknowledges only
//!   │       what is stored or queued
//! live      the event bus, the live registry, the hub's rooms and frames, the Redis link
//!   │
//! domain    rules and their types: auth (tokens, sessions, limits, scopes), users, the audit
//!   │       log, the figures' arithmetic, list cursors
//! dlq       the dead-letter queue of failed writes (a file, or Redis)
//!   │
//! storage   call_logs and friends in SQLite or PostgreSQL, behind one interface
//!   │
//! secrets, telemetry, mail   keys generated into the data folder; structured logs; SMTP
//! ```
//!
//! - [`runtime`]: [`runtime::config`] (the CLI and its environment variables),
//!   [`runtime::build`] (`AppState` composed, or why the server cannot start),
//!   [`runtime::startup`] and [`runtime::serve`] (listener, accept loop, graceful shutdown),
//!   [`runtime::workers`] (every background loop).
//! - [`http`]: the router and every door's handlers.
//! - [`service`]: [`service::doors`] (`app`'s `DashboardData`, which REST and the page's server
//!   functions both call: scoping, bounds, filters), [`service::figures`] (the figures read from
//!   storage, the registry and the DLQ), [`service::ops`], [`service::reconcile`],
//!   [`service::dlq_retry`], [`service::push`], [`service::demo`].
//! - [`ingest`], [`live`], [`domain`], [`dlq`], [`storage`], [`secrets`], [`telemetry`],
//!   [`mail`]: as drawn above.
//!
//! Where new work goes: an alert rule's evaluation in `service/`, its rule types in `domain/`,
//! its door in `http/`; a call-detail endpoint in `http/` over `service/` over `storage/`; a
//! user list in `http/` over `domain::users`; a Prometheus exporter spawned from `runtime/`
//! and served from `http/`.
//!
//! # Glossary
//! - **Tenant**: one customer of the calling platform, named by its `userId` (`user_id`); every
//!   row belongs to one, and a tenant's callers see only its rows.
//! - **Door**: a way in — REST, the page's server functions, `/ws`, Socket.IO, the CSV export,
//!   the internal admin paths. Doors only translate: scoping, permissions, validation and
//!   queries live once, below them.
//! - **Figures**: what the dashboard shows computed from stored calls — metrics per period,
//!   active calls, agent performance, calls per hour, live-call health, DLQ depth. The read
//!   path has this one name in every layer: `domain::figures` (the arithmetic),
//!   `service::figures` (read from storage), `http::figures` (the REST door).
//! - **Room**: a live-push audience — one tenant, every tenant together (admins), or the ops
//!   room (admins). A connection's rooms follow from who it is.
//! - **Epoch / sequence**: each room numbers its pushes 1, 2, 3… (`seq`) within a random
//!   `epoch`; a client resumes from its last `(room, epoch, seq)` or takes a snapshot.
//! - **Rollup**: the per-hour totals kept beside `call_logs` so figures over days read a few
//!   hundred rows, not every call.
//! - **DLQ**: the dead-letter queue; an event the database would not take waits there and is
//!   retried. A database outage spends no attempts; a refusal does.
//! - **Final failure**: a DLQ entry whose attempts are spent; it stays for an operator to retry
//!   or discard.
//! - **Reconciliation**: the job that closes calls gone silent (`stale`), backfills rollups,
//!   repairs live state and retries the DLQ, one run at a time across instances.
//! - **Seed 000 / seed 002**: the two predecessors (the Flask/Socket.IO backend and the
//!   Streamlit board over Redis) whose documented API and Redis keys are our compatibility
//!   contract (`../shared/seeds/`).

pub mod dlq;
pub mod domain;
pub mod http;
pub mod ingest;
pub mod live;
pub mod mail;
pub mod runtime;
pub mod secrets;
pub mod service;
pub mod storage;
pub mod telemetry;
