//! Tokens: what a credential claims, minted and checked with the signing secret. Every
//! credential is a JWT (HS256, signed with `JWT_SECRET`); see [`super`] for the claims.

use std::sync::Arc;

use app::dto::auth::{Identity, Role};
use axum::http::{HeaderMap, header};
use axum_extra::extract::CookieJar;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::AuthError;

/// The browser session cookie; it holds a token like any other.
pub const SESSION_COOKIE: &str = "switchboard_session";
/// How long a sign-in (cookie or `POST /api/auth/token`) lasts.
pub const SESSION_TTL: Duration = Duration::hours(12);
/// Clock difference tolerated between the minter and us.
const LEEWAY_SECS: u64 = 30;
/// The `aud` of every token we mint: a token another service minted with a shared secret for
/// itself is not one for us.
pub const AUDIENCE: &str = "switchboard";
/// The role a tenant's users had before there were five (tokens and scripts still say it).
pub const LEGACY_TENANT_ROLE: &str = "tenant";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    aud: Option<Audience>,
    /// A role's name; `tenant` in tokens minted before the five roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    role: Option<String>,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    uid: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ver: Option<i64>,
}

/// `aud`: one audience or several (RFC 7519 allows both).
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn includes_us(&self) -> bool {
        match self {
            Self::One(audience) => audience == AUDIENCE,
            Self::Many(audiences) => audiences.iter().any(|audience| audience == AUDIENCE),
        }
    }
}

/// The dashboard user a sign-in's token speaks for, and that user's token version when it was
/// minted: once the user's version has moved on, the token is revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserSession {
    pub user: i64,
    pub version: i64,
}

/// An API token in use: its id, and the user it belongs to with that user's token version when
/// it was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiTokenUse {
    pub id: i64,
    pub user: i64,
    pub version: i64,
}

/// Who a credential speaks for: what a well-signed token claims, before its session is checked
/// against the users table ([`crate::runtime::state::AppState::identify`]), or what an API token
/// may do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub identity: Identity,
    /// A sign-in's user and token version.
    pub session: Option<UserSession>,
    /// Set for an API token ([`super::api_tokens`]).
    pub api_token: Option<ApiTokenUse>,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot sign the token: {0}")]
    Sign(jsonwebtoken::errors::Error),
    #[error("a tenant token needs a tenant")]
    MissingTenant,
    #[error("JWT_SECRET must be at least {MIN_SECRET_LEN} bytes (the generated one is 64)")]
    WeakSecret,
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

/// Shortest accepted `JWT_SECRET`: anything shorter can be brute-forced offline from a single
/// token, and with it every admin token minted.
pub const MIN_SECRET_LEN: usize = 32;

impl JwtKeys {
    /// Keys for `secret`, refused when it is too short to be safe.
    pub fn from_secret(secret: &str) -> Result<Self, TokenError> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(TokenError::WeakSecret);
        }
        Ok(Self::new(secret))
    }

    fn new(secret: &str) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.set_required_spec_claims(&["exp", "sub"]);
        // Checked by `verify`: the old platform's tokens carry no audience.
        validation.validate_aud = false;
        Self {
            encoding: Arc::new(EncodingKey::from_secret(secret.as_bytes())),
            decoding: Arc::new(DecodingKey::from_secret(secret.as_bytes())),
            validation: Arc::new(validation),
        }
    }

    /// A token for `subject` valid for `ttl`, naming `session`'s user when it is a sign-in.
    /// The platform's roles carry no tenant; a tenant's roles must.
    pub fn mint(
        &self,
        subject: &str,
        role: Role,
        tenant: Option<&str>,
        session: Option<UserSession>,
        ttl: Duration,
    ) -> Result<(String, Identity), TokenError> {
        let tenant = if role.is_platform() {
            None
        } else {
            Some(
                tenant
                    .filter(|tenant| !tenant.is_empty())
                    .ok_or(TokenError::MissingTenant)?
                    .to_owned(),
            )
        };
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let claims = Claims {
            sub: subject.to_owned(),
            aud: Some(Audience::One(AUDIENCE.to_owned())),
            role: Some(role.as_str().to_owned()),
            tenant: tenant.clone(),
            exp: now + ttl.whole_seconds(),
            iat: Some(now),
            uid: session.map(|session| session.user),
            ver: session.map(|session| session.version),
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

    /// What a token claims; [`AuthError::InvalidToken`] when it is forged, expired, malformed
    /// or meant for another audience.
    pub fn authenticate(&self, token: &str) -> Result<Verified, AuthError> {
        self.verify(token).ok_or(AuthError::InvalidToken)
    }

    /// What a token claims, or `None` when it is forged, expired, malformed or meant for
    /// another audience.
    pub fn verify(&self, token: &str) -> Option<Verified> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()?
            .claims;
        // Ours always name us; only the old platform's (no role, a tenant) may name no one.
        match (&claims.aud, &claims.role) {
            (Some(audience), _) if !audience.includes_us() => return None,
            (None, Some(_)) => return None,
            _ => {}
        }
        let tenant = claims.tenant.filter(|tenant| !tenant.is_empty());
        let role = match claims.role.as_deref() {
            // The old platform's: it names a tenant, and reads it.
            None => Role::Member,
            // Minted before the five roles: a sign-in's user now owns its tenant's view.
            Some(LEGACY_TENANT_ROLE) if claims.uid.is_some() => Role::Owner,
            Some(LEGACY_TENANT_ROLE) => Role::Member,
            Some(role) => Role::parse(role)?,
        };
        let tenant = if role.is_platform() {
            None
        } else {
            Some(tenant?)
        };
        let session = match (claims.uid, claims.ver) {
            (Some(user), Some(version)) => Some(UserSession { user, version }),
            (None, None) => None,
            _ => return None,
        };
        Some(Verified {
            identity: Identity {
                subject: claims.sub,
                role,
                tenant,
                expires_at: claims.exp,
            },
            session,
            api_token: None,
        })
    }

    /// What a request's credentials claim: its bearer token, else its session cookie.
    pub fn identify(&self, headers: &HeaderMap) -> Result<Verified, AuthError> {
        if let Some(token) = bearer(headers)? {
            return self.authenticate(token);
        }
        let jar = CookieJar::from_headers(headers);
        let cookie = jar
            .get(SESSION_COOKIE)
            .ok_or(AuthError::MissingCredentials)?;
        self.verify(cookie.value()).ok_or(AuthError::SessionExpired)
    }
}

/// A request's bearer token, if it sends one.
pub fn bearer(headers: &HeaderMap) -> Result<Option<&str>, AuthError> {
    let Some(header) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let token = header
        .to_str()
        .ok()
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or(AuthError::MalformedHeader)?;
    Ok(Some(token.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "unit-test-secret-unit-test-secret";

    fn keys() -> JwtKeys {
        JwtKeys::from_secret(SECRET).unwrap()
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(matches!(
            JwtKeys::from_secret("short"),
            Err(TokenError::WeakSecret)
        ));
    }

    #[test]
    fn minted_tokens_verify_and_carry_the_identity() {
        let (token, identity) = keys()
            .mint(
                "ops@example.com",
                Role::Owner,
                Some("acme"),
                Some(UserSession {
                    user: 7,
                    version: 3,
                }),
                Duration::hours(1),
            )
            .unwrap();
        assert_eq!(
            keys().verify(&token),
            Some(Verified {
                identity: identity.clone(),
                session: Some(UserSession {
                    user: 7,
                    version: 3
                }),
                api_token: None,
            })
        );
        assert_eq!(identity.tenant.as_deref(), Some("acme"));

        let (admin, identity) = keys()
            .mint(
                "root",
                Role::Admin,
                Some("ignored"),
                None,
                Duration::hours(1),
            )
            .unwrap();
        assert_eq!(identity.tenant, None);
        assert_eq!(
            keys().verify(&admin).map(|v| (v.identity.role, v.session)),
            Some((Role::Admin, None))
        );
    }

    #[test]
    fn forged_expired_and_tenantless_tokens_are_refused() {
        let (token, _) = keys()
            .mint("x", Role::Member, Some("acme"), None, Duration::hours(1))
            .unwrap();
        assert_eq!(
            JwtKeys::from_secret("another-secret-another-secret-another")
                .unwrap()
                .verify(&token),
            None
        );
        let (expired, _) = keys()
            .mint("x", Role::Member, Some("acme"), None, Duration::minutes(-5))
            .unwrap();
        assert_eq!(keys().verify(&expired), None);
        assert!(matches!(
            keys().mint("x", Role::Member, None, None, Duration::hours(1)),
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
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap();
        let identity = keys().verify(&token).unwrap().identity;
        assert_eq!(
            (identity.role, identity.tenant.as_deref()),
            (Role::Member, Some("acme"))
        );
    }

    #[test]
    fn every_role_round_trips_and_tokens_of_the_two_roles_read_as_today() {
        for role in Role::ALL {
            let tenant = (!role.is_platform()).then_some("acme");
            let (token, identity) = keys()
                .mint("x", role, tenant, None, Duration::hours(1))
                .unwrap();
            assert_eq!(keys().verify(&token).unwrap().identity, identity);
            assert_eq!(identity.role, role);
            assert_eq!(identity.tenant.as_deref(), tenant);
        }
        let exp = OffsetDateTime::now_utc().unix_timestamp() + 600;
        let read =
            |claims: serde_json::Value| keys().verify(&signed(&claims)).map(|v| v.identity.role);
        // `switchboard token --tenant` before the five roles: read only.
        let script = serde_json::json!({"sub": "cli", "role": "tenant", "tenant": "acme",
            "aud": "switchboard", "exp": exp});
        assert_eq!(read(script), Some(Role::Member));
        // A sign-in's, whose user the migration made its tenant's owner.
        let sign_in = serde_json::json!({"sub": "o@acme.test", "role": "tenant", "tenant": "acme",
            "aud": "switchboard", "exp": exp, "uid": 4, "ver": 0});
        assert_eq!(read(sign_in), Some(Role::Owner));
        let unknown = serde_json::json!({"sub": "x", "role": "root", "aud": "switchboard",
            "exp": exp});
        assert_eq!(read(unknown), None);
    }

    fn signed(claims: &serde_json::Value) -> String {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap()
    }

    #[test]
    fn tokens_for_another_audience_are_refused() {
        let exp = OffsetDateTime::now_utc().unix_timestamp() + 600;
        let ours = |aud: serde_json::Value| serde_json::json!({"sub": "a", "role": "admin", "aud": aud, "exp": exp});
        // Ours, alone or among others.
        assert!(
            keys()
                .verify(&signed(&ours("switchboard".into())))
                .is_some()
        );
        assert!(
            keys()
                .verify(&signed(&ours(serde_json::json!([
                    "billing",
                    "switchboard"
                ]))))
                .is_some()
        );
        // Another service's token signed with a shared secret.
        assert_eq!(keys().verify(&signed(&ours("billing".into()))), None);
        assert_eq!(
            keys().verify(&signed(&ours(serde_json::json!(["billing"])))),
            None
        );
        // A role is ours to give: such a token without an audience is not one we minted.
        let no_audience = serde_json::json!({"sub": "a", "role": "admin", "exp": exp});
        assert_eq!(keys().verify(&signed(&no_audience)), None);
        // A user without a version (or the reverse) is no session we minted either.
        let half = serde_json::json!({"sub": "a", "role": "admin", "aud": "switchboard",
            "uid": 1, "exp": exp});
        assert_eq!(keys().verify(&signed(&half)), None);
    }
}
