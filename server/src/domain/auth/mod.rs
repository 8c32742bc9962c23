//! Who is calling, and what they may read.
//!
//! Every credential is a JWT (HS256, signed with `JWT_SECRET`): scripts send it as
//! `Authorization: Bearer …`, browsers carry the same token in an HttpOnly session cookie set by
//! `/login`. Claims: `sub`, `aud` (`switchboard`), `role` (`admin` | `tenant`), `tenant` (the
//! `userId`; `user_id` is accepted too, for tokens the old platform minted), `exp`, `iat`.
//!
//! A sign-in's token also names its dashboard user (`uid`) and that user's token version then
//! (`ver`). Every request checks them against the users table, so signing out everywhere, a role
//! change or a removed user ends every token already handed out, on every instance, at once; the
//! live sockets of that user are closed too ([`Revocations`]). Tokens minted by `switchboard
//! token` and by the old platform name no user: they last until they expire or `JWT_SECRET`
//! changes.

use app::dto::auth::{Identity, Role};

mod limits;
mod sessions;
mod tokens;

pub use limits::{
    ATTEMPTS_PER_ADDRESS_PER_MINUTE, ATTEMPTS_PER_EMAIL_PER_CLIENT_PER_MINUTE, BURST_FAILURES,
    BurstReport, HashingTurn, SignInLimits, client_key,
};
pub(crate) use limits::{LIMITER_KEYS, Throttle};
pub use sessions::{Revocation, Revocations, check_session, session_ended};
pub use tokens::{
    AUDIENCE, JwtKeys, MIN_SECRET_LEN, SESSION_COOKIE, SESSION_TTL, TokenError, UserSession,
    Verified,
};

/// Why a caller is not let in, or not to what it asked for. Every door — REST, `/ws`, Socket.IO,
/// server functions — asks [`JwtKeys`] and [`Caller::scope`] and gets this; each door turns it
/// into its own answer (HTTP: `ApiError`, 401 or 403; Socket.IO: `connect_error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthError {
    MissingCredentials,
    /// A Socket.IO handshake without `auth.token`.
    MissingToken,
    MalformedHeader,
    InvalidToken,
    SessionExpired,
    /// Signed in, but naming a tenant that is not the caller's.
    ForeignTenant,
    AdminOnly,
    /// The token's user signed out everywhere, changed role or was removed since it was minted.
    Revoked,
    /// The users table could not be read to check the session.
    Unchecked,
}

impl AuthError {
    /// What the caller is told.
    pub fn message(self) -> &'static str {
        match self {
            Self::MissingCredentials => "sign in: send a bearer token or the session cookie",
            Self::MissingToken => "send a token: auth: {token}",
            Self::MalformedHeader => "the Authorization header must be `Bearer <token>`",
            Self::InvalidToken => "invalid or expired token",
            Self::SessionExpired => "session expired: sign in again",
            Self::ForeignTenant => "user_id: this token may only read its own tenant",
            Self::AdminOnly => "admins only",
            Self::Revoked => "session ended: sign in again",
            Self::Unchecked => "cannot check the session right now: try again shortly",
        }
    }

    /// Who the caller is is known, but the answer is still no (HTTP 403 rather than 401).
    pub fn is_forbidden(self) -> bool {
        matches!(self, Self::ForeignTenant | Self::AdminOnly)
    }
}

impl std::fmt::Display for AuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for AuthError {}

/// Whose rows a request reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Tenant(String),
    /// Every tenant together (admins only).
    AllTenants,
}

impl Scope {
    pub fn tenant(&self) -> Option<&str> {
        match self {
            Self::Tenant(tenant) => Some(tenant),
            Self::AllTenants => None,
        }
    }
}

/// An authenticated caller (bearer token or session cookie).
#[derive(Debug, Clone)]
pub struct Caller(pub Identity);

impl Caller {
    /// The scope of a request naming `requested` (see [`scope_of`]).
    pub fn scope(&self, requested: Option<&str>) -> Result<Scope, AuthError> {
        scope_of(&self.0, requested)
    }
}

/// The scope of `identity` naming `requested` (its `user_id`): a tenant reads only its own
/// tenant, named or not (another is a 403); an admin reads the one named, or every tenant.
pub fn scope_of(identity: &Identity, requested: Option<&str>) -> Result<Scope, AuthError> {
    let requested = requested.filter(|tenant| !tenant.is_empty());
    match (identity.role, &identity.tenant, requested) {
        (Role::Admin, _, Some(tenant)) => Ok(Scope::Tenant(tenant.to_owned())),
        (Role::Admin, _, None) => Ok(Scope::AllTenants),
        (Role::Tenant, Some(own), None) => Ok(Scope::Tenant(own.clone())),
        (Role::Tenant, Some(own), Some(tenant)) if tenant == own => Ok(Scope::Tenant(own.clone())),
        (Role::Tenant, _, _) => Err(AuthError::ForeignTenant),
    }
}

/// An authenticated admin.
#[derive(Debug, Clone)]
pub struct Admin(pub Identity);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes() {
        let tenant = Caller(Identity {
            subject: "t".into(),
            role: Role::Tenant,
            tenant: Some("acme".into()),
            expires_at: 0,
        });
        assert_eq!(tenant.scope(None).unwrap(), Scope::Tenant("acme".into()));
        assert_eq!(
            tenant.scope(Some("acme")).unwrap(),
            Scope::Tenant("acme".into())
        );
        assert!(matches!(
            tenant.scope(Some("globex")),
            Err(AuthError::ForeignTenant)
        ));
        let admin = Caller(Identity {
            subject: "a".into(),
            role: Role::Admin,
            tenant: None,
            expires_at: 0,
        });
        assert_eq!(admin.scope(None).unwrap(), Scope::AllTenants);
        assert_eq!(
            admin.scope(Some("globex")).unwrap(),
            Scope::Tenant("globex".into())
        );
    }
}
