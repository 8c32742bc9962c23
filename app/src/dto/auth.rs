//! Sign-in: roles, the token exchange of `POST /api/auth/token`, and who is signed in.

use serde::{Deserialize, Serialize};

/// What a dashboard user may read: `admin` every tenant, `tenant` exactly one.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Tenant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Tenant => "tenant",
        }
    }

    /// Parses the stored form (`admin` / `tenant`).
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "admin" => Some(Self::Admin),
            "tenant" => Some(Self::Tenant),
            _ => None,
        }
    }
}

/// `POST /api/auth/token` (JSON) and `POST /login` (form).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    #[cfg_attr(feature = "ssr", schema(max_length = 254))]
    pub email: String,
    #[cfg_attr(feature = "ssr", schema(max_length = 1024))]
    pub password: String,
}

/// The longest email accepted at sign-in (RFC 5321's limit for an address).
pub const MAX_EMAIL_BYTES: usize = 254;
/// The longest password accepted at sign-in: far beyond any real one, short enough to hash.
pub const MAX_PASSWORD_BYTES: usize = 1024;

impl Credentials {
    /// Refuses values no account can have, before anything is looked up, hashed or counted.
    pub fn check(&self) -> Result<(), super::error::DataError> {
        use super::error::DataError;
        if self.email.len() > MAX_EMAIL_BYTES {
            return Err(DataError::invalid(
                "email",
                format!("at most {MAX_EMAIL_BYTES} bytes"),
            ));
        }
        if self.password.len() > MAX_PASSWORD_BYTES {
            return Err(DataError::invalid(
                "password",
                format!("at most {MAX_PASSWORD_BYTES} bytes"),
            ));
        }
        Ok(())
    }
}

/// A signed-in identity, as the token carries it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Identity {
    /// Who: the user's email, or whatever subject the token's minter chose.
    pub subject: String,
    pub role: Role,
    /// The tenant (`userId`) a tenant user reads; `null` for admins.
    pub tenant: Option<String>,
    /// Unix seconds.
    pub expires_at: i64,
}

/// The answer of `POST /api/auth/token`: send `token` as `Authorization: Bearer <token>`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TokenResponse {
    pub success: bool,
    pub token: String,
    pub token_type: String,
    /// Seconds the token is valid for.
    pub expires_in: i64,
    pub identity: Identity,
}

/// `GET /api/auth/me`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MeResponse {
    pub success: bool,
    pub identity: Identity,
}

/// `POST /api/auth/sign-out-everywhere`: every token and session cookie of `subject` has ended,
/// the one this request carried included.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SignedOutResponse {
    pub success: bool,
    pub subject: String,
}

/// Sign-in hints the login page shows in demo mode (never otherwise).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct LoginHints {
    /// (email, what it sees) of each demo user.
    pub demo_users: Vec<(String, String)>,
    pub demo_password: Option<String>,
}
