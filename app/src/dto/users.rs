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
    /// Its sign-ins that have not expired or been ended (signing out everywhere, a role change
    /// or a new password end them).
    #[serde(default)]
    pub active_sessions: u32,
}

/// `GET /api/users`: every user (admins) or the caller's tenant's (owners), by email, a page at
/// a time.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UsersResponse {
    pub success: bool,
    pub users: Vec<UserSummary>,
    /// Pass as `after` for the next page; `null` on the last.
    #[serde(default)]
    pub next_after: Option<String>,
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

/// `POST /api/users/invitations` and the users page's invite form: who to invite, as what.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Invitation {
    #[cfg_attr(feature = "ssr", schema(max_length = 254))]
    pub email: String,
    pub role: Role,
    /// The tenant of an owner or member (an owner's invitations stay in its own tenant, which
    /// may be left out); none for the platform's roles.
    #[serde(default)]
    pub tenant: Option<String>,
}

/// An invitation not yet accepted, as its makers see it (never its link).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PendingInvitation {
    pub email: String,
    pub role: Role,
    pub tenant: Option<String>,
    /// Who made it.
    pub invited_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub expires_at: time::OffsetDateTime,
}

/// `GET /api/users/invitations`: the open invitations the caller manages, by email.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct InvitationsResponse {
    pub success: bool,
    pub invitations: Vec<PendingInvitation>,
}

/// Which kind of one-time link.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// A new user sets its password and joins.
    Invite,
    /// A user sets a new password.
    Reset,
}

/// Whether a one-time link may still be used.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LinkStatus {
    Open,
    Used,
    Expired,
    /// Not a link we made (or one long gone).
    Unknown,
}

/// An invitation or reset link just made: send `link` to `email`. Shown this once; only its
/// digest is kept.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OneTimeLink {
    pub success: bool,
    pub kind: LinkKind,
    pub email: String,
    pub link: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub expires_at: time::OffsetDateTime,
    /// Whether it was also mailed to `email` (only when the server has an SMTP server set, and
    /// that server took the message).
    #[serde(default)]
    pub emailed: bool,
}

/// What the page of a one-time link shows: what it is for, and whether it still works.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct LinkInfo {
    pub status: LinkStatus,
    pub kind: Option<LinkKind>,
    pub email: Option<String>,
    pub role: Option<Role>,
    pub tenant: Option<String>,
}

/// `POST /api/auth/link` and the link page's form: the link's secret and the password to set.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LinkRedemption {
    #[cfg_attr(feature = "ssr", schema(max_length = 64))]
    pub secret: String,
    /// At least 12 characters and hard to guess, as for a password change.
    #[cfg_attr(feature = "ssr", schema(max_length = 1024))]
    pub new_password: String,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 1024))]
    pub confirm_password: Option<String>,
}
