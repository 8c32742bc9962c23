//! [`AppState::build`]: the server's state composed from its settings — storage opened and
//! migrated, keys loaded or generated, the DLQ, Redis, the live registry rebuilt and the ingest
//! writers started — or the reason it cannot start.

use std::sync::Arc;

use leptos::prelude::LeptosOptions;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use super::state::{AppState, IngestKey};
use crate::{
    dlq::{DeadLetterQueue, DlqError, RetryPolicy},
    domain::auth::{JwtKeys, RequestLimits, Revocations},
    ingest::{FailureInjector, Gate, Ingestor, writer::Writer},
    live::{bus::EventBus, hub::Hub, quota::SocketQuota, redis::RedisLink, registry::LiveRegistry},
    runtime::config::Config,
    secrets,
    service::demo,
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
    #[error(transparent)]
    Mail(#[from] crate::mail::MailError),
}

/// Shortest accepted `INGEST_API_KEY` / `INTERNAL_API_KEY`.
pub const MIN_KEY_LEN: usize = 32;

fn strong_enough(name: &'static str, key: Option<&str>) -> Result<(), StartupError> {
    match key {
        Some(key) if key.chars().count() < MIN_KEY_LEN => Err(StartupError::WeakKey(name)),
        _ => Ok(()),
    }
}

impl AppState {
    /// Opens storage (migrating it), the DLQ and the ingest key, and rebuilds the live registry.
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let mailer = match config.smtp_url.as_deref() {
            Some(url) => Some(crate::mail::Mailer::new(url, &config.mail_from)?),
            None => None,
        };
        strong_enough("INGEST_API_KEY", config.ingest_api_key.as_deref())?;
        strong_enough("INTERNAL_API_KEY", config.internal_api_key.as_deref())?;
        let storage = Storage::open(&config.database_url)
            .await?
            .with_bounds(config.bounds);
        check_database(&storage, config.demo).await?;
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
            request_limits: Arc::new(RequestLimits::new(config.client_rate)),
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
            api_tokens: Default::default(),
            mailer,
            ingest_key: IngestKey {
                value: key.into(),
                source,
            },
        })
    }
}

/// Demo data never reaches production: a plain `serve` refuses a database the demo wrote, and
/// `serve --demo` refuses one holding users or tenants of its own (a platform that signs in only
/// with tokens has tenants and no users).
async fn check_database(storage: &Storage, demo: bool) -> Result<(), StartupError> {
    if demo {
        let users = storage.users_outside(demo::DEMO_DOMAIN).await?;
        let tenants = storage
            .tenants()
            .await?
            .iter()
            .filter(|(id, _)| !demo::TENANTS.iter().any(|(demo, _, _)| demo == id))
            .count();
        if users > 0 || tenants > 0 {
            return Err(StartupError::NotForTheDemo { users, tenants });
        }
        Ok(storage.mark(demo::DEMO_MARK).await?)
    } else if storage.is_marked(demo::DEMO_MARK).await? {
        Err(StartupError::DemoDatabase)
    } else {
        Ok(())
    }
}
