//! Who is calling, and what they may read.
//!
//! Every credential is a JWT (HS256, signed with `JWT_SECRET`): scripts send it as
//! `Authorization: Bearer …`, browsers carry the same token in an HttpOnly session cookie set by
//! `/login`. Being stateless, a token is valid on every instance and across restarts. Claims:
//! `sub`, `role` (`admin` | `tenant`), `tenant` (the `userId`; `user_id` is accepted too, for
//! tokens the old platform minted), `exp`, `iat`.

use std::sync::Arc;

use app::dto::auth::{Identity, Role};
use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts},
};
use axum_extra::extract::CookieJar;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::{http::ApiError, state::AppState};

/// The browser session cookie; it holds a token like any other.
pub const SESSION_COOKIE: &str = "switchboard_session";
/// How long a sign-in (cookie or `POST /api/auth/token`) lasts.
pub const SESSION_TTL: Duration = Duration::hours(12);
/// Clock difference tolerated between the minter and us.
const LEEWAY_SECS: u64 = 30;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    role: Option<Role>,
    #[serde(
        default,
        alias = "user_id",
        alias = "userId",
        skip_serializing_if = "Option::is_none"
    )]
    tenant: Option<String>,
    exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot sign the token: {0}")]
    Sign(jsonwebtoken::errors::Error),
    #[error("a tenant token needs a tenant")]
    MissingTenant,
}

/// The signing secret as keys, built once.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: Arc<EncodingKey>,
    decoding: Arc<DecodingKey>,
    validation: Arc<Validation>,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKeys(…)")
    }
}

impl JwtKeys {
    pub fn new(secret: &str) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            encoding: Arc::new(EncodingKey::from_secret(secret.as_bytes())),
            decoding: Arc::new(DecodingKey::from_secret(secret.as_bytes())),
            validation: Arc::new(validation),
        }
    }

    /// A token for `subject` valid for `ttl`. Admins carry no tenant.
    pub fn mint(
        &self,
        subject: &str,
        role: Role,
        tenant: Option<&str>,
        ttl: Duration,
    ) -> Result<(String, Identity), TokenError> {
        let tenant = match role {
            Role::Admin => None,
            Role::Tenant => Some(
                tenant
                    .filter(|tenant| !tenant.is_empty())
                    .ok_or(TokenError::MissingTenant)?
                    .to_owned(),
            ),
        };
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let claims = Claims {
            sub: subject.to_owned(),
            role: Some(role),
            tenant: tenant.clone(),
            exp: now + ttl.whole_seconds(),
            iat: Some(now),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(TokenError::Sign)?;
        Ok((
            token,
            Identity {
                subject: claims.sub,
                role,
                tenant,
                expires_at: claims.exp,
            },
        ))
    }

    /// The identity a token proves, or `None` when it is forged, expired or malformed.
    pub fn verify(&self, token: &str) -> Option<Identity> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()?
            .claims;
        let tenant = claims.tenant.filter(|tenant| !tenant.is_empty());
        // A token without a role is the old platform's: it names a tenant.
        let role = claims.role.unwrap_or(Role::Tenant);
        let tenant = match role {
            Role::Admin => None,
            Role::Tenant => Some(tenant?),
        };
        Some(Identity {
            subject: claims.sub,
            role,
            tenant,
            expires_at: claims.exp,
        })
    }

    /// The identity of a request: its bearer token, else its session cookie.
    pub fn identify(&self, parts: &Parts) -> Result<Identity, ApiError> {
        if let Some(header) = parts.headers.get(header::AUTHORIZATION) {
            let token = header
                .to_str()
                .ok()
                .and_then(|value| value.strip_prefix("Bearer "))
                .ok_or(ApiError::Unauthorized(
                    "the Authorization header must be `Bearer <token>`",
                ))?;
            return self
                .verify(token.trim())
                .ok_or(ApiError::Unauthorized("invalid or expired token"));
        }
        let jar = CookieJar::from_headers(&parts.headers);
        let cookie = jar.get(SESSION_COOKIE).ok_or(ApiError::Unauthorized(
            "sign in: send a bearer token or the session cookie",
        ))?;
        self.verify(cookie.value())
            .ok_or(ApiError::Unauthorized("session expired: sign in again"))
    }
}

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

/// An authenticated caller (bearer token or session cookie); rejects with 401 otherwise.
#[derive(Debug, Clone)]
pub struct Caller(pub Identity);

impl Caller {
    /// The scope of a request naming `requested` (its `user_id`): a tenant reads only its own
    /// tenant, named or not (another is a 403); an admin reads the one named, or every tenant.
    pub fn scope(&self, requested: Option<&str>) -> Result<Scope, ApiError> {
        let requested = requested.filter(|tenant| !tenant.is_empty());
        match (self.0.role, &self.0.tenant, requested) {
            (Role::Admin, _, Some(tenant)) => Ok(Scope::Tenant(tenant.to_owned())),
            (Role::Admin, _, None) => Ok(Scope::AllTenants),
            (Role::Tenant, Some(own), None) => Ok(Scope::Tenant(own.clone())),
            (Role::Tenant, Some(own), Some(tenant)) if tenant == own => {
                Ok(Scope::Tenant(own.clone()))
            }
            (Role::Tenant, _, _) => Err(ApiError::Forbidden(
                "user_id: this token may only read its own tenant",
            )),
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        state.jwt.identify(parts).map(Caller)
    }
}

/// An authenticated admin; a tenant gets 403.
#[derive(Debug, Clone)]
pub struct Admin(pub Identity);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let identity = state.jwt.identify(parts)?;
        if identity.role != Role::Admin {
            return Err(ApiError::Forbidden("admins only"));
        }
        Ok(Admin(identity))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> JwtKeys {
        JwtKeys::new("unit-test-secret")
    }

    #[test]
    fn minted_tokens_verify_and_carry_the_identity() {
        let (token, identity) = keys()
            .mint(
                "ops@example.com",
                Role::Tenant,
                Some("acme"),
                Duration::hours(1),
            )
            .unwrap();
        assert_eq!(keys().verify(&token), Some(identity.clone()));
        assert_eq!(identity.tenant.as_deref(), Some("acme"));

        let (admin, identity) = keys()
            .mint("root", Role::Admin, Some("ignored"), Duration::hours(1))
            .unwrap();
        assert_eq!(identity.tenant, None);
        assert_eq!(keys().verify(&admin).map(|i| i.role), Some(Role::Admin));
    }

    #[test]
    fn forged_expired_and_tenantless_tokens_are_refused() {
        let (token, _) = keys()
            .mint("x", Role::Tenant, Some("acme"), Duration::hours(1))
            .unwrap();
        assert_eq!(JwtKeys::new("another-secret").verify(&token), None);
        let (expired, _) = keys()
            .mint("x", Role::Tenant, Some("acme"), Duration::minutes(-5))
            .unwrap();
        assert_eq!(keys().verify(&expired), None);
        assert!(matches!(
            keys().mint("x", Role::Tenant, None, Duration::hours(1)),
            Err(TokenError::MissingTenant)
        ));
        assert_eq!(keys().verify("not.a.token"), None);
    }

    #[test]
    fn old_platform_tokens_name_the_tenant_as_user_id() {
        let exp = OffsetDateTime::now_utc().unix_timestamp() + 600;
        let claims = serde_json::json!({"sub": "platform", "user_id": "acme", "exp": exp});
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(b"unit-test-secret"),
        )
        .unwrap();
        let identity = keys().verify(&token).unwrap();
        assert_eq!(
            (identity.role, identity.tenant.as_deref()),
            (Role::Tenant, Some("acme"))
        );
    }

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
            Err(ApiError::Forbidden(_))
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
