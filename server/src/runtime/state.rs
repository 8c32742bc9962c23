//! [`AppState`]: everything a handler may need, built once per server. No globals: each test
//! builds its own.

use std::sync::Arc;

use app::dto::auth::Identity;
use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use tokio_util::sync::CancellationToken;

use crate::{
    dlq::DeadLetterQueue,
    domain::auth::{
        AuthError, JwtKeys, RequestLimits, Revocations, SignInLimits, Verified, api_tokens, bearer,
        check_session,
    },
    ingest::Ingestor,
    live::{
        bus::{BusEvent, EventBus},
        hub::Hub,
        quota::SocketQuota,
        redis::RedisLink,
        registry::LiveRegistry,
    },
    runtime::config::Config,
    secrets::SecretSource,
    storage::Storage,
};

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
    /// Each client's allowance of requests (`SWITCHBOARD_CLIENT_RATE`).
    pub request_limits: Arc<RequestLimits>,
    /// Sessions just ended, for the live sockets holding them.
    pub revocations: Revocations,
    /// API tokens the database vouched for lately, for while it cannot answer.
    pub api_tokens: Arc<api_tokens::KnownTokens>,
    /// Mails invitation and reset links, when `SWITCHBOARD_SMTP_URL` is set.
    pub mailer: Option<crate::mail::Mailer>,
    /// Set in Redis mode.
    pub redis: Option<RedisLink>,
}

impl AppState {
    /// Publishes `event` on this instance's bus and, in Redis mode, on every other instance's.
    pub async fn announce(&self, event: BusEvent) {
        crate::live::announce(&self.bus, self.redis.as_ref(), event).await;
    }

    /// Who sent a request (bearer token — an API token or a JWT — else session cookie), its
    /// session checked: the one identity check of every door.
    pub async fn identify(&self, headers: &axum::http::HeaderMap) -> Result<Identity, AuthError> {
        Ok(self.verify_request(headers).await?.identity)
    }

    /// [`Self::identify`], with the session the live sockets watch.
    pub async fn verify_request(
        &self,
        headers: &axum::http::HeaderMap,
    ) -> Result<Verified, AuthError> {
        if let Some(token) = bearer(headers)?.filter(|token| api_tokens::is_api_token(token)) {
            return api_tokens::verify(&self.storage, &self.api_tokens, token).await;
        }
        let verified = self.jwt.identify(headers)?;
        check_session(&self.storage, &verified).await?;
        Ok(verified)
    }

    /// Who holds `token` (a Socket.IO handshake's), its session checked.
    pub async fn authenticate(&self, token: &str) -> Result<Verified, AuthError> {
        if api_tokens::is_api_token(token) {
            return api_tokens::verify(&self.storage, &self.api_tokens, token).await;
        }
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
