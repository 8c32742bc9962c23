//! API tokens: a random secret shown once to the user who made it, kept as its SHA-256 (a
//! 256-bit random secret needs no slow hash: nothing can be guessed from the digest), and
//! found by that digest on every request. What a token may do is its scope narrowed to its
//! user's role as it is now ([`TokenScope::narrowed_to`]); removing the user removes it.

use app::dto::{
    auth::{Identity, Role},
    tokens::{ApiTokenSummary, MAX_TOKEN_DAYS, MAX_TOKEN_NAME_CHARS, NewApiToken, TokenScope},
};
use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

use time::OffsetDateTime;
use tracing::warn;

use super::{ApiTokenUse, AuthError, Verified};
use crate::{
    domain::audit::{self, Action, Actor, ClientAddr, Entry},
    storage::{
        Storage, StorageError,
        api_tokens::{ApiTokenRow, NewTokenRow},
        reads::UserRow,
    },
};

/// How every API token starts: a request's bearer token with it is looked up, not decoded as a
/// JWT, and secret scanners can recognise a leaked one.
pub const TOKEN_PREFIX: &str = "sbt_";
/// Unexpired tokens one user may hold: each costs a row and a place in the sockets' watch.
pub const MAX_TOKENS_PER_USER: i64 = 50;
/// A token's last use is noted to this many seconds, so a busy script costs a write a minute.
pub const LAST_USED_GRANULARITY_SECS: i64 = 60;

/// Whether `bearer` is an API token rather than a JWT.
pub fn is_api_token(bearer: &str) -> bool {
    bearer.starts_with(TOKEN_PREFIX)
}

/// A new token's secret (to show once) and the digest kept of it.
#[derive(Debug)]
pub struct NewSecret {
    pub secret: String,
    pub digest: String,
}

/// A fresh secret with the prefix.
pub fn new_secret() -> NewSecret {
    let secret = format!("{TOKEN_PREFIX}{}", crate::secrets::random_url_token());
    let digest = digest(&secret);
    NewSecret { secret, digest }
}

pub use crate::secrets::digest;

/// Tokens the database vouched for recently, kept for while it cannot answer: a script
/// watching the DLQ through a database outage keeps its view. Bounded: at most
/// [`KNOWN_TOKENS_MAX`] tokens, each trusted for [`OUTAGE_GRACE`] after the database last
/// vouched for it; a token it says is gone is forgotten at once.
/// Lookups are not tried for a few seconds after one failed: each would wait out its timeout.
#[derive(Debug, Default)]
pub struct KnownTokens {
    rows: Mutex<HashMap<String, (ApiTokenRow, Instant)>>,
    failed_at: Mutex<Option<Instant>>,
}

/// Tokens remembered for an outage, at most.
pub const KNOWN_TOKENS_MAX: usize = 10_000;
/// How long after the database last vouched for a token it is still let in while the database
/// cannot be read.
pub const OUTAGE_GRACE: Duration = Duration::from_secs(600);
/// How long a token's lookup may take: past it, the database counts as unreachable.
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);
/// After a lookup failed, how long the next go straight to what is remembered.
const RETRY_LOOKUPS_AFTER: Duration = Duration::from_secs(5);

impl KnownTokens {
    fn rows(&self) -> std::sync::MutexGuard<'_, HashMap<String, (ApiTokenRow, Instant)>> {
        self.rows.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn failed_at(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.failed_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The token whose secret hashes to `digest`, as the database says (`Ok`), or why it
    /// could not say: it failed or took too long, now or a moment ago.
    async fn look_up(
        &self,
        storage: &Storage,
        digest: &str,
    ) -> Result<Option<ApiTokenRow>, String> {
        if self
            .failed_at()
            .is_some_and(|at| at.elapsed() < RETRY_LOOKUPS_AFTER)
        {
            return Err("a lookup failed a moment ago".to_owned());
        }
        let answer =
            match tokio::time::timeout(LOOKUP_TIMEOUT, storage.api_token_by_hash(digest)).await {
                Ok(Ok(row)) => Ok(row),
                Ok(Err(error)) => Err(error.to_string()),
                Err(_) => Err(format!("no answer in {LOOKUP_TIMEOUT:?}")),
            };
        *self.failed_at() = answer.is_err().then(Instant::now);
        answer
    }

    fn remember(&self, digest: &str, row: &ApiTokenRow) {
        let mut rows = self.rows();
        if rows.len() >= KNOWN_TOKENS_MAX && !rows.contains_key(digest) {
            rows.retain(|_, (_, at)| at.elapsed() < OUTAGE_GRACE);
            if rows.len() >= KNOWN_TOKENS_MAX {
                return;
            }
        }
        rows.insert(digest.to_owned(), (row.clone(), Instant::now()));
    }

    fn recall(&self, digest: &str) -> Option<ApiTokenRow> {
        let rows = self.rows();
        let (row, at) = rows.get(digest)?;
        (at.elapsed() < OUTAGE_GRACE).then(|| row.clone())
    }

    fn forget(&self, digest: &str) {
        self.rows().remove(digest);
    }

    /// Forgets the token `id`: revoked.
    pub fn forget_id(&self, id: i64) {
        self.rows().retain(|_, (row, _)| row.id != id);
    }
}

/// Who presents `secret`, and what it may do now: [`AuthError::InvalidToken`] for no such
/// token (revoked, never made) or one past its expiry. While the database cannot be read, a
/// token it vouched for lately ([`KnownTokens`]) is let in as it was then.
pub async fn verify(
    storage: &Storage,
    known: &KnownTokens,
    secret: &str,
) -> Result<Verified, AuthError> {
    let digest = digest(secret);
    let (row, fresh) = match known.look_up(storage, &digest).await {
        Ok(Some(row)) => {
            known.remember(&digest, &row);
            (row, true)
        }
        Ok(None) => {
            known.forget(&digest);
            return Err(AuthError::InvalidToken);
        }
        Err(error) => match known.recall(&digest) {
            Some(row) => (row, false),
            None => {
                warn!(%error, "cannot read the API tokens to check one");
                return Err(AuthError::Unchecked);
            }
        },
    };
    let now = OffsetDateTime::now_utc().unix_timestamp();
    if row.expires_at <= now {
        return Err(AuthError::InvalidToken);
    }
    let identity = identity_of(&row).ok_or(AuthError::InvalidToken)?;
    if fresh
        && row
            .last_used_at
            .is_none_or(|at| at < now - LAST_USED_GRANULARITY_SECS)
    {
        // Noting the use is worth a warning, not a refusal.
        if let Err(error) = storage
            .touch_api_token(row.id, now, LAST_USED_GRANULARITY_SECS)
            .await
        {
            warn!(%error, token = row.id, "cannot note an API token's use");
        }
    }
    Ok(Verified {
        identity,
        session: None,
        api_token: Some(ApiTokenUse {
            id: row.id,
            user: row.user_id,
            version: row.owner_version,
        }),
    })
}

/// What the token `row` acts as: its scope narrowed to its owner's role, reading its owner's
/// tenant (a tenant user's) or the one it names (a platform user's `tenant_read`).
pub fn identity_of(row: &ApiTokenRow) -> Option<Identity> {
    let owner_role = app::dto::auth::Role::parse(&row.owner_role)?;
    let scope = TokenScope::parse(&row.scope)?.narrowed_to(owner_role);
    let tenant = match scope {
        TokenScope::TenantRead if owner_role.is_platform() => Some(row.tenant_id.clone()?),
        TokenScope::TenantRead => Some(row.owner_tenant.clone()?),
        TokenScope::AllRead | TokenScope::Operator => None,
    };
    Some(Identity {
        subject: row.owner_email.clone(),
        role: scope.role(),
        tenant,
        expires_at: row.expires_at,
    })
}

/// Why a token was not made.
#[derive(Debug, thiserror::Error)]
pub enum ApiTokenError {
    #[error("{0}: {1}")]
    Invalid(&'static str, String),
    #[error("a {role} may not make a token of scope {scope}")]
    BeyondRole {
        role: &'static str,
        scope: &'static str,
    },
    #[error("tenant: a tenant user's token reads its own tenant only")]
    ForeignTenant,
    #[error("no tenant {0}")]
    UnknownTenant(String),
    #[error("at most {MAX_TOKENS_PER_USER} unexpired tokens per user: revoke one first")]
    TooMany,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Makes the token `new` for `owner` and records who did it (`by`): its secret, shown this once,
/// and how it is listed. Its scope may not exceed the owner's role.
pub async fn create(
    storage: &Storage,
    owner: &UserRow,
    new: &NewApiToken,
    by: Actor,
    client: ClientAddr,
) -> Result<(String, ApiTokenSummary), ApiTokenError> {
    let name = new.name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_TOKEN_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(ApiTokenError::Invalid(
            "name",
            format!("1 to {MAX_TOKEN_NAME_CHARS} characters, no control characters"),
        ));
    }
    if !(1..=MAX_TOKEN_DAYS).contains(&new.expires_in_days) {
        return Err(ApiTokenError::Invalid(
            "expires_in_days",
            format!("1 to {MAX_TOKEN_DAYS}"),
        ));
    }
    let role = Role::parse(&owner.role).ok_or(ApiTokenError::BeyondRole {
        role: "user of an unknown role",
        scope: new.scope.as_str(),
    })?;
    if new.scope.narrowed_to(role) != new.scope {
        return Err(ApiTokenError::BeyondRole {
            role: role.as_str(),
            scope: new.scope.as_str(),
        });
    }
    let tenant = match (new.scope, role.is_platform()) {
        (TokenScope::TenantRead, true) => {
            let tenant = new.tenant.as_deref().map(str::trim).unwrap_or_default();
            if tenant.is_empty() {
                return Err(ApiTokenError::Invalid(
                    "tenant",
                    "a tenant_read token of a platform user names the tenant it reads".into(),
                ));
            }
            if storage.tenant_name(tenant).await?.is_none() {
                return Err(ApiTokenError::UnknownTenant(tenant.to_owned()));
            }
            Some(tenant.to_owned())
        }
        (TokenScope::TenantRead, false) => {
            if new
                .tenant
                .as_deref()
                .is_some_and(|tenant| Some(tenant) != owner.tenant_id.as_deref())
            {
                return Err(ApiTokenError::ForeignTenant);
            }
            None
        }
        _ => None,
    };
    let secret = new_secret();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let row = NewTokenRow {
        user_id: owner.id,
        name,
        scope: new.scope.as_str(),
        tenant_id: tenant.as_deref(),
        secret_hash: &secret.digest,
        created_at: now,
        expires_at: now + i64::from(new.expires_in_days) * 86_400,
    };
    let id = storage
        .insert_api_token(row, MAX_TOKENS_PER_USER)
        .await?
        .ok_or(ApiTokenError::TooMany)?;
    let stored = storage
        .api_token(id)
        .await?
        .ok_or_else(|| ApiTokenError::Invalid("user", "removed while its token was made".into()))?;
    let summary = summary(&stored).ok_or_else(|| {
        ApiTokenError::Invalid("scope", "stored in a form this server cannot read".into())
    })?;
    let entry = Entry::new(by, Action::ApiTokenCreate, client)
        .target(format!("api_token:{id}"))
        .detail("name", name)
        .detail("scope", new.scope.as_str())
        .detail("owner", owner.email.as_str());
    audit::record(storage, entry).await;
    Ok((secret.secret, summary))
}

/// Revokes the token `row` and records who did it (`by`); whether it was still there. Live
/// sockets holding it are the caller's to close ([`super::Revocation::ApiToken`]).
pub async fn revoke(
    storage: &Storage,
    row: &ApiTokenRow,
    by: Actor,
    client: ClientAddr,
) -> Result<bool, StorageError> {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let revoked = storage.revoke_api_token(row.id, now).await?;
    let entry = Entry::new(by, Action::ApiTokenRevoke, client)
        .target(format!("api_token:{}", row.id))
        .result(if revoked { "ok" } else { "not_found" })
        .detail("name", row.name.as_str())
        .detail("owner", row.owner_email.as_str());
    audit::record(storage, entry).await;
    Ok(revoked)
}

/// How `row` is listed.
pub fn summary(row: &ApiTokenRow) -> Option<ApiTokenSummary> {
    let at = |seconds| OffsetDateTime::from_unix_timestamp(seconds).ok();
    let scope = TokenScope::parse(&row.scope)?;
    Some(ApiTokenSummary {
        id: row.id,
        name: row.name.clone(),
        scope,
        tenant: match scope {
            TokenScope::TenantRead => row.tenant_id.clone().or_else(|| row.owner_tenant.clone()),
            _ => None,
        },
        owner: row.owner_email.clone(),
        created_at: at(row.created_at)?,
        expires_at: at(row.expires_at)?,
        last_used_at: row.last_used_at.and_then(at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        scope: &str,
        owner_role: &str,
        tenant: Option<&str>,
        owner_tenant: Option<&str>,
    ) -> ApiTokenRow {
        ApiTokenRow {
            id: 1,
            user_id: 2,
            name: "ci".into(),
            scope: scope.into(),
            tenant_id: tenant.map(Into::into),
            created_at: 0,
            expires_at: 10,
            last_used_at: None,
            owner_email: "someone@example.com".into(),
            owner_role: owner_role.into(),
            owner_tenant: owner_tenant.map(Into::into),
            owner_version: 1,
        }
    }

    #[test]
    fn no_more_tokens_are_remembered_than_the_bound() {
        let known = KnownTokens::default();
        for n in 0..=KNOWN_TOKENS_MAX {
            let mut token = row("all_read", "viewer", None, None);
            token.id = n as i64;
            known.remember(&format!("digest-{n}"), &token);
        }
        assert_eq!(known.rows().len(), KNOWN_TOKENS_MAX);
        assert!(
            known.recall("digest-0").is_some(),
            "the first stay while fresh"
        );
        assert!(
            known
                .recall(&format!("digest-{KNOWN_TOKENS_MAX}"))
                .is_none()
        );
        known.forget_id(0);
        assert!(known.recall("digest-0").is_none());
    }

    #[test]
    fn secrets_are_unguessable_and_kept_only_as_digests() {
        let one = new_secret();
        let two = new_secret();
        assert_ne!(one.secret, two.secret);
        assert!(is_api_token(&one.secret) && one.secret.len() == TOKEN_PREFIX.len() + 43);
        assert_eq!(one.digest, digest(&one.secret));
        assert!(!one.digest.contains(&one.secret[TOKEN_PREFIX.len()..]));
    }

    #[test]
    fn a_token_acts_as_its_scope_narrowed_to_its_owner_now() {
        use app::dto::auth::Role;
        let as_role =
            |row: ApiTokenRow| identity_of(&row).map(|identity| (identity.role, identity.tenant));
        assert_eq!(
            as_role(row("operator", "admin", None, None)),
            Some((Role::Operator, None))
        );
        // Demoted to viewer: reads only.
        assert_eq!(
            as_role(row("operator", "viewer", None, None)),
            Some((Role::Viewer, None))
        );
        // Now a tenant's owner: its tenant, read only.
        assert_eq!(
            as_role(row("all_read", "owner", None, Some("acme"))),
            Some((Role::Member, Some("acme".into())))
        );
        // A platform user's tenant token reads the tenant it names; a tenant user's, its own.
        assert_eq!(
            as_role(row("tenant_read", "viewer", Some("beta"), None)),
            Some((Role::Member, Some("beta".into())))
        );
        assert_eq!(
            as_role(row("tenant_read", "member", Some("beta"), Some("acme"))),
            Some((Role::Member, Some("acme".into())))
        );
        assert_eq!(as_role(row("tenant_read", "admin", None, None)), None);
        assert_eq!(as_role(row("root", "admin", None, None)), None);
    }
}
