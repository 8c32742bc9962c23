//! Who is calling, and what they may read and do.
//!
//! Every credential is a JWT (HS256, signed with `JWT_SECRET`): scripts send it as
//! `Authorization: Bearer …`, browsers carry the same token in an HttpOnly session cookie set by
//! `/login`. Claims: `sub`, `aud` (`switchboard`), `role` (`admin` | `operator` | `viewer` |
//! `owner` | `member`), `tenant` (the `userId`; `user_id` is accepted too, for tokens the old
//! platform minted), `exp`, `iat`. Tokens minted before the five roles say `tenant`: a sign-in's
//! (naming its user, who is now its tenant's owner) reads as `owner`, any other as `member`.
//!
//! What a role may do is [`Role::allows`], the one permission table; [`require`] is the one
//! check of it, and [`scope_of`] the one answer to whose rows a request reads.
//!
//! A sign-in's token also names its dashboard user (`uid`) and that user's token version then
//! (`ver`). Every request checks them against the users table, so signing out everywhere, a role
//! change or a removed user ends every token already handed out, on every instance, at once; the
//! live sockets of that user are closed too ([`Revocations`]). Tokens minted by `switchboard
//! token` and by the old platform name no user: they last until they expire or `JWT_SECRET`
//! changes.

use app::dto::auth::{Identity, Permission};

pub mod api_tokens;
mod limits;
mod request_limits;
mod sessions;
mod tokens;

pub use limits::{
    ATTEMPTS_PER_ADDRESS_PER_MINUTE, ATTEMPTS_PER_EMAIL_PER_CLIENT_PER_MINUTE, BURST_FAILURES,
    BurstReport, HashingTurn, SignInLimits, client_key,
};
pub(crate) use limits::{LIMITER_KEYS, Throttle};
pub use request_limits::{Asker, BURST_SECONDS, RequestLimits};
pub use sessions::{Holder, Revocation, Revocations, check_session, session_ended};
pub use tokens::{
    AUDIENCE, ApiTokenUse, JwtKeys, LEGACY_TENANT_ROLE, MIN_SECRET_LEN, SESSION_COOKIE,
    SESSION_TTL, TokenError, UserSession, Verified, bearer,
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
    /// Signed in, but the caller's role does not allow this.
    Forbidden(Permission),
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
            Self::Forbidden(permission) => match permission {
                Permission::ReadCalls => "your role may not read calls",
                Permission::ReadAllTenants => "your role reads its own tenant only",
                Permission::ReadOps => {
                    "operations are for the platform's admins, operators and viewers"
                }
                Permission::ReadAudit => "the audit log is for admins",
                Permission::ActOnDlq => "acting on the DLQ is for admins and operators",
                Permission::RunReconciliation => {
                    "running reconciliation is for admins and operators"
                }
                Permission::ManageUsers => "managing users is for admins",
                Permission::ManageTenantUsers => {
                    "managing a tenant's users is for its owner and admins"
                }
            },
            Self::Revoked => "session ended: sign in again",
            Self::Unchecked => "cannot check the session right now: try again shortly",
        }
    }

    /// Who the caller is is known, but the answer is still no (HTTP 403 rather than 401).
    pub fn is_forbidden(self) -> bool {
        matches!(self, Self::ForeignTenant | Self::Forbidden(_))
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
    /// Every tenant together (the platform's roles).
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

/// The scope of `identity` naming `requested` (its `user_id`): an owner or member reads only its
/// own tenant, named or not (another is a 403); the platform's roles read the one named, or every
/// tenant.
pub fn scope_of(identity: &Identity, requested: Option<&str>) -> Result<Scope, AuthError> {
    require(identity, Permission::ReadCalls)?;
    let requested = requested.filter(|tenant| !tenant.is_empty());
    let every_tenant = identity.role.allows(Permission::ReadAllTenants);
    match (every_tenant, &identity.tenant, requested) {
        (true, _, Some(tenant)) => Ok(Scope::Tenant(tenant.to_owned())),
        (true, _, None) => Ok(Scope::AllTenants),
        (false, Some(own), None) => Ok(Scope::Tenant(own.clone())),
        (false, Some(own), Some(tenant)) if tenant == own => Ok(Scope::Tenant(own.clone())),
        (false, _, _) => Err(AuthError::ForeignTenant),
    }
}

/// Whether `identity` may do what `permission` names: the one check of the permission table,
/// for every door.
pub fn require(identity: &Identity, permission: Permission) -> Result<(), AuthError> {
    if identity.role.allows(permission) {
        Ok(())
    } else {
        Err(AuthError::Forbidden(permission))
    }
}

#[cfg(test)]
mod tests {
    use app::dto::auth::Role;

    use super::*;

    fn caller(role: Role, tenant: Option<&str>) -> Caller {
        Caller(Identity {
            subject: "someone".into(),
            role,
            tenant: tenant.map(str::to_owned),
            expires_at: 0,
        })
    }

    #[test]
    fn tenant_roles_read_their_own_tenant_and_platform_roles_any() {
        for role in [Role::Owner, Role::Member] {
            let tenant = caller(role, Some("acme"));
            assert_eq!(tenant.scope(None).unwrap(), Scope::Tenant("acme".into()));
            assert_eq!(
                tenant.scope(Some("acme")).unwrap(),
                Scope::Tenant("acme".into())
            );
            assert!(matches!(
                tenant.scope(Some("globex")),
                Err(AuthError::ForeignTenant)
            ));
            // A tenant role whose token lost its tenant reads nothing.
            assert!(caller(role, None).scope(None).is_err());
        }
        for role in [Role::Admin, Role::Operator, Role::Viewer] {
            let platform = caller(role, None);
            assert_eq!(platform.scope(None).unwrap(), Scope::AllTenants);
            assert_eq!(
                platform.scope(Some("globex")).unwrap(),
                Scope::Tenant("globex".into())
            );
        }
    }

    #[test]
    fn a_refusal_names_the_permission_and_is_a_403() {
        let viewer = caller(Role::Viewer, None).0;
        let refused = require(&viewer, Permission::ActOnDlq).unwrap_err();
        assert_eq!(refused, AuthError::Forbidden(Permission::ActOnDlq));
        assert!(refused.is_forbidden());
        assert!(refused.message().contains("DLQ"), "{}", refused.message());
        assert!(require(&viewer, Permission::ReadOps).is_ok());
    }
}
