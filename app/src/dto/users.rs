//! Managing dashboard users: the list an admin (every user) or an owner (its tenant's) reads,
//! and the changes they make to one user.

use serde::{Deserialize, Serialize};

use super::auth::Role;

/// One dashboard user as its managers see it. Never its password hash or sessions' tokens.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UserSummary {
    pub email: String,
    pub role: Role,
    /// The tenant of an owner or member; `null` for the platform's roles.
    pub tenant: Option<String>,
    /// When it last signed in with its password; `null`: not since this was kept.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, format = DateTime))]
    pub last_sign_in_at: Option<time::OffsetDateTime>,
}

/// `GET /api/users`: every user (admins) or the caller's tenant's (owners), by email.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UsersResponse {
    pub success: bool,
    pub users: Vec<UserSummary>,
}

/// `PUT /api/users/{email}/role`: the user's new role, and the tenant of an owner or member
/// (an owner's changes stay in its own tenant, which may be left out).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    pub role: Role,
    #[serde(default)]
    pub tenant: Option<String>,
}

/// The answer to a change of one user: who, and what it is now (`null` once removed).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UserChangeResponse {
    pub success: bool,
    pub email: String,
    pub user: Option<UserSummary>,
}
