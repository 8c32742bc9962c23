//! Sign-in: roles and what each may do, the token exchange of `POST /api/auth/token`, and who
//! is signed in.
//!
//! # Roles
//! [`Role::allows`] is the one permission table: every door checks it (REST, server functions,
//! `/ws`, Socket.IO, the CSV export, the internal paths), and the page reads it to leave out
//! what a caller could not use.
//!
//! | permission            | admin | operator | viewer | owner | member |
//! |-----------------------|:-----:|:--------:|:------:|:-----:|:------:|
//! | read calls            |   ✓   |    ✓     |   ✓    |  own  |  own   |
//! | read every tenant     |   ✓   |    ✓     |   ✓    |       |        |
//! | read operations       |   ✓   |    ✓     |   ✓    |       |        |
//! | read the audit log    |   ✓   |          |        |       |        |
//! | act on the DLQ        |   ✓   |    ✓     |        |       |        |
//! | run reconciliation    |   ✓   |    ✓     |        |       |        |
//! | manage every user     |   ✓   |          |        |       |        |
//! | manage tenant users   |   ✓   |          |        |  own  |        |
//!
//! "Own" is the caller's tenant: tenant roles are scoped to it wherever they are let in.

use serde::{Deserialize, Serialize};

/// Who a dashboard user is: three platform roles (every tenant) and two of a tenant (its own).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything: every tenant's data, operations, users and settings.
    Admin,
    /// Every tenant's data; acts on the DLQ and reconciliation; no user management.
    Operator,
    /// Every tenant's data, read only.
    Viewer,
    /// Its tenant's data and users.
    Owner,
    /// Its tenant's data, read only.
    Member,
}

/// Something a caller may or may not do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Permission {
    /// A tenant's calls and figures (tenant roles: their own).
    ReadCalls,
    /// Every tenant's calls together, or any one tenant's.
    ReadAllTenants,
    /// Operations: live-call health, the DLQ, reconciliation runs, system health, tenants.
    ReadOps,
    /// The audit log.
    ReadAudit,
    /// Retry or discard dead letters.
    ActOnDlq,
    /// Start a reconciliation run.
    RunReconciliation,
    /// Every dashboard user.
    ManageUsers,
    /// The users of the caller's own tenant.
    ManageTenantUsers,
}

impl Permission {
    pub const ALL: [Permission; 8] = [
        Self::ReadCalls,
        Self::ReadAllTenants,
        Self::ReadOps,
        Self::ReadAudit,
        Self::ActOnDlq,
        Self::RunReconciliation,
        Self::ManageUsers,
        Self::ManageTenantUsers,
    ];
}

impl Role {
    pub const ALL: [Role; 5] = [
        Self::Admin,
        Self::Operator,
        Self::Viewer,
        Self::Owner,
        Self::Member,
    ];

    /// The table.
    pub fn allows(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Self::Admin => true,
            Self::Operator => matches!(
                permission,
                ReadCalls | ReadAllTenants | ReadOps | ActOnDlq | RunReconciliation
            ),
            Self::Viewer => matches!(permission, ReadCalls | ReadAllTenants | ReadOps),
            Self::Owner => matches!(permission, ReadCalls | ManageTenantUsers),
            Self::Member => matches!(permission, ReadCalls),
        }
    }

    /// A platform role reads every tenant; a tenant role exactly one.
    pub fn is_platform(self) -> bool {
        matches!(self, Self::Admin | Self::Operator | Self::Viewer)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Operator => "operator",
            Self::Viewer => "viewer",
            Self::Owner => "owner",
            Self::Member => "member",
        }
    }

    /// Parses the stored form.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|role| role.as_str() == value)
    }

    /// What the role may do, in a few words (the account menu, the user list).
    pub fn describe(self) -> &'static str {
        match self {
            Self::Admin => "everything, users and settings included",
            Self::Operator => "every tenant; acts on the DLQ and reconciliation",
            Self::Viewer => "every tenant, read only",
            Self::Owner => "its tenant, and its tenant's users",
            Self::Member => "its tenant, read only",
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

/// `POST /api/auth/password` (JSON) and the account page's form, which also sends
/// `confirm_password`: a signed-in user changes its own password.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    #[cfg_attr(feature = "ssr", schema(max_length = 1024))]
    pub current_password: String,
    /// At least 12 characters, and not easy to guess (names, words, dates, keyboard patterns
    /// and the user's own email count against it); the refusal says why.
    #[cfg_attr(feature = "ssr", schema(max_length = 1024))]
    pub new_password: String,
    /// The form's second copy of `new_password`; when sent, it must match.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 1024))]
    pub confirm_password: Option<String>,
}

/// A signed-in identity, as the token carries it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Identity {
    /// Who: the user's email, or whatever subject the token's minter chose.
    pub subject: String,
    pub role: Role,
    /// The tenant (`userId`) an owner or member reads; `null` for the platform's roles.
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
