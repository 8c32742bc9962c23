//! [`AppState`]: everything a handler may need, built once per server. No globals: each test
//! builds its own.

use std::sync::Arc;

use app::dto::auth::Identity;
use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use crate::{
    dlq::{DeadLetterQueue, DlqError, RetryPolicy},
    domain::auth::{AuthError, JwtKeys, Revocations, SignInLimits, Verified, check_session},
    ingest::{FailureInjector, Gate, Ingestor, writer::Writer},
    live::{
        bus::{BusEvent, EventBus},
        hub::Hub,
        quota::SocketQuota,
        redis::RedisLink,
        registry::LiveRegistry,
    },
    runtime::config::Config,
    secrets::{self, SecretSource},
    storage::{Backend, Storage, StorageError},
};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Dlq(#[from] DlqError),
    #[error("cannot connect to Redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error(transparent)]
    Secret(#[from] crate::domain::auth::TokenError),
    #[error("cannot read or write the data folder: {0}")]
    DataFolder(#[from] std::io::Error),
    #[error(
        "{0} must be at least {MIN_KEY_LEN} characters: whoever guesses it writes calls or runs \
         repairs for every tenant (unset INGEST_API_KEY to have a 64-character one generated)"
    )]
    WeakKey(&'static str),
    #[error(
        "this database was written by the demo (`serve --demo`), whose accounts' password is \
         published: a plain `serve` will not run on it. Run `serve --demo` again, or point \
         --data-dir / DATABASE_URL at a database of your own (the demo's can be deleted)"
    )]
    DemoDatabase,
    #[error(
        "this database holds {users} dashboard user(s) and {tenants} tenant(s) outside the demo: \
         `serve --demo` would add accounts whose password is published. Give the demo a data \
         folder (--data-dir) or DATABASE_URL of its own"
    )]
    NotForTheDemo { users: i64, tenants: usize },
}

/// Shortest accepted `INGEST_API_KEY` / `INTERNAL_API_KEY`.
pub const MIN_KEY_LEN: usize = 32;

fn strong_enough(name: &'static str, key: Option<&str>) -> Result<(), StartupError> {
    match key {
        Some(key) if key.chars().count() < MIN_KEY_LEN => Err(StartupError::WeakKey(name)),
        _ => Ok(()),
    }
}

#[derive(Clone, FromRef)]
pub struct AppState {
    pub config: Arc<Config>,
    pub leptos_options: LeptosOptions,
    /// Cancelled when the server begins to shut down; long-lived tasks such as WebSocket loops
    /// and workers watch it so that graceful shutdown does not wait on them forever.
    pub shutdown: CancellationToken,
    pub storage: Storage,
    pub dlq: DeadLetterQueue,
    pub bus: EventBus,
    /// Live push: bus events as pushes to `/ws` and Socket.IO clients.
    pub hub: Hub,
    /// Open live sockets per identity.
    pub sockets: Arc<SocketQuota>,
    pub registry: Arc<LiveRegistry>,
    pub ingestor: Ingestor,
    pub ingest_key: IngestKey,
    /// Signs and checks bearer tokens and session cookies.
    pub jwt: JwtKeys,
    pub sign_in_limits: Arc<SignInLimits>,
    /// Sessions just ended, for the live sockets holding them.
    pub revocations: Revocations,
    /// Set in Redis mode.
    pub redis: Option<RedisLink>,
}

impl AppState {
    /// Publishes `event` on this instance's bus and, in Redis mode, on every other instance's.
    pub async fn announce(&self, event: BusEvent) {
        crate::live::announce(&self.bus, self.redis.as_ref(), event).await;
    }

    /// Who sent a request (bearer token, else session cookie), its session checked: the one
    /// identity check of every door.
    pub async fn identify(&self, headers: &axum::http::HeaderMap) -> Result<Identity, AuthError> {
        Ok(self.verify_request(headers).await?.identity)
    }

    /// [`Self::identify`], with the session the live sockets watch.
    pub async fn verify_request(
        &self,
        headers: &axum::http::HeaderMap,
    ) -> Result<Verified, AuthError> {
        let verified = self.jwt.identify(headers)?;
        check_session(&self.storage, &verified).await?;
        Ok(verified)
    }

    /// Who holds `token` (a Socket.IO handshake's), its session checked.
    pub async fn authenticate(&self, token: &str) -> Result<Verified, AuthError> {
        let verified = self.jwt.authenticate(token)?;
        check_session(&self.storage, &verified).await?;
        Ok(verified)
    }

    /// Records `entry` in the audit log and shows it to every admin watching the board.
    pub async fn audit(&self, entry: crate::domain::audit::Entry) {
        if let Some(stored) = crate::domain::audit::record(&self.storage, entry).await {
            self.announce(BusEvent::Audited(Box::new(stored))).await;
        }
    }
}

impl crate::domain::audit::AuditSink for AppState {
    fn audit(&self, entry: crate::domain::audit::Entry) -> impl Future<Output = ()> + Send {
        AppState::audit(self, entry)
    }
}

/// The key `POST /api/v1/calls/events` requires, and where it came from.
#[derive(Clone, Debug)]
pub struct IngestKey {
    pub value: Arc<str>,
    pub source: SecretSource,
}

impl AppState {
    /// Opens storage (migrating it), the DLQ and the ingest key, and rebuilds the live registry.
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        strong_enough("INGEST_API_KEY", config.ingest_api_key.as_deref())?;
        strong_enough("INTERNAL_API_KEY", config.internal_api_key.as_deref())?;
        let storage = Storage::open(&config.database_url)
            .await?
            .with_bounds(config.bounds);
        crate::service::demo::check_database(&storage, config.demo).await?;
        let policy = RetryPolicy {
            max_attempts: i64::from(config.dlq_max_retries),
            ..RetryPolicy::default()
        };
        let (jwt_secret, _) = secrets::load_or_generate(
            config.jwt_secret.as_deref(),
            &config.data_dir,
            crate::runtime::config::JWT_SECRET_FILE,
        )?;

        let jwt = JwtKeys::from_secret(&jwt_secret)?;
        // Instances sign their bus messages with a key derived from the secret they already
        // share (every instance must accept every other's tokens).
        let redis = match &config.redis_url {
            Some(url) => Some(
                RedisLink::connect(url, &config.redis_prefix, &jwt_secret)
                    .await?
                    .with_stream_claim_idle(config.stream_claim_idle),
            ),
            None => None,
        };
        // With Redis the queue is shared by every instance; without, it is a file of its own.
        let dlq = match &redis {
            Some(link) => {
                DeadLetterQueue::redis(link.connection(), &config.redis_prefix, policy).await?
            }
            None => DeadLetterQueue::open_file(&config.data_dir.join("dlq.db"), policy).await?,
        };
        let (key, source) = secrets::load_or_generate(
            config.ingest_api_key.as_deref(),
            &config.data_dir,
            "ingest_api_key",
        )?;

        let registry = Arc::new(LiveRegistry::new(config.heartbeat));
        let now = OffsetDateTime::now_utc();
        for call in storage.active_calls().await? {
            registry.track(&call, now);
        }
        let bus = EventBus::default();
        let injector = Arc::new(FailureInjector::new(config.inject_write_failures));
        let writers = match storage.backend() {
            Backend::Sqlite => 1,
            // Two: one collects the next batch while the other commits. More split the queue
            // into small transactions, and round trips then dominate (measured).
            Backend::Postgres => 2,
        };
        let writer = Writer {
            storage: storage.clone(),
            dlq: dlq.clone(),
            bus: bus.clone(),
            registry: Arc::clone(&registry),
            injector,
            redis: redis.clone(),
        };
        let tenants = storage.tenants().await?.into_iter().map(|(id, _)| id);
        let gate = Gate::new(
            config.ingest_limits,
            Arc::clone(&registry),
            tenants.collect(),
        );
        let ingestor = Ingestor::start(writer, gate, writers);

        let leptos_options = LeptosOptions::builder()
            .output_name(app::BUNDLE_NAME)
            .site_root(config.site_root.to_string_lossy().into_owned())
            .site_pkg_dir("pkg")
            .site_addr(config.addr)
            .build();
        let hub = Hub::new(config.push);
        let sockets = Arc::new(SocketQuota::new(config.max_connections));
        Ok(Self {
            config: Arc::new(config),
            leptos_options,
            shutdown: CancellationToken::new(),
            storage,
            dlq,
            bus,
            hub,
            sockets,
            registry,
            ingestor,
            redis,
            jwt,
            sign_in_limits: Arc::default(),
            revocations: Revocations::default(),
            ingest_key: IngestKey {
                value: key.into(),
                source,
            },
        })
    }
}
