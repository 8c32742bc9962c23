//! API tokens: the credentials of scripts and the platform's backend, made and revoked by the
//! user they belong to (`/api/tokens`, the account page, `switchboard token`).
//!
//! A token does what its scope says and never more than its user's role allows now: demoting
//! the user narrows its tokens, removing it revokes them.

use serde::{Deserialize, Serialize};

use super::auth::Role;

/// What a token may do.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TokenScope {
    /// One tenant's calls, read only: a `member`'s view of it.
    TenantRead,
    /// Every tenant's calls and operations, read only: a `viewer`'s view.
    AllRead,
    /// Every tenant's, plus retrying the DLQ and running reconciliation: an `operator`'s.
    Operator,
}

impl TokenScope {
    pub const ALL: [TokenScope; 3] = [Self::TenantRead, Self::AllRead, Self::Operator];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::TenantRead => "tenant_read",
            Self::AllRead => "all_read",
            Self::Operator => "operator",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|scope| scope.as_str() == value)
    }

    /// The role a token of this scope acts as, before its user's role narrows it.
    pub fn role(self) -> Role {
        match self {
            Self::TenantRead => Role::Member,
            Self::AllRead => Role::Viewer,
            Self::Operator => Role::Operator,
        }
    }

    /// The scope a token acts with once its user holds `role`: its own, or less.
    pub fn narrowed_to(self, role: Role) -> TokenScope {
        match role {
            Role::Admin | Role::Operator => self,
            Role::Viewer => self.min(Self::AllRead),
            Role::Owner | Role::Member => Self::TenantRead,
        }
    }

    /// In a few words (the account page).
    pub fn describe(self) -> &'static str {
        match self {
            Self::TenantRead => "one tenant's calls, read only",
            Self::AllRead => "every tenant, read only",
            Self::Operator => "every tenant; retries the DLQ and runs reconciliation",
        }
    }

    fn rank(self) -> u8 {
        match self {
            Self::TenantRead => 0,
            Self::AllRead => 1,
            Self::Operator => 2,
        }
    }

    fn min(self, other: Self) -> Self {
        if self.rank() <= other.rank() {
            self
        } else {
            other
        }
    }
}

/// The longest token name accepted.
pub const MAX_TOKEN_NAME_CHARS: usize = 80;
/// The longest lifetime a token may be given, in days.
pub const MAX_TOKEN_DAYS: u32 = 366;

/// `POST /api/tokens` (JSON) and the account page's form.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewApiToken {
    /// What it is for, to recognise it in the list (1–80 characters).
    #[cfg_attr(feature = "ssr", schema(min_length = 1, max_length = 80))]
    pub name: String,
    pub scope: TokenScope,
    /// The tenant a platform user's `tenant_read` token reads; a tenant user's reads its own
    /// (leave it out, or name it).
    #[serde(default)]
    pub tenant: Option<String>,
    /// Days until it expires (1–366).
    #[cfg_attr(feature = "ssr", schema(minimum = 1, maximum = 366))]
    pub expires_in_days: u32,
}

/// One API token as its user and their managers see it: never its secret.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ApiTokenSummary {
    pub id: i64,
    pub name: String,
    /// The scope it was made with; it acts with less when its user's role has less.
    pub scope: TokenScope,
    /// The tenant it reads (a `tenant_read` token); `null` for every tenant.
    pub tenant: Option<String>,
    /// The user it belongs to.
    pub owner: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub created_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub expires_at: time::OffsetDateTime,
    /// Its last use, to the minute; `null`: never used.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, format = DateTime))]
    pub last_used_at: Option<time::OffsetDateTime>,
}

/// `GET /api/tokens`: the caller's tokens, and those of the users it manages.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ApiTokensResponse {
    pub success: bool,
    pub tokens: Vec<ApiTokenSummary>,
}

/// `POST /api/tokens`: the token, shown this once (only its hash is kept). Send it as
/// `Authorization: Bearer <token>`, or as a Socket.IO handshake's `auth.token`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CreatedApiToken {
    pub success: bool,
    pub token: String,
    pub summary: ApiTokenSummary,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_never_exceeds_its_users_role() {
        for scope in TokenScope::ALL {
            for role in Role::ALL {
                let narrowed = scope.narrowed_to(role).role();
                // What the narrowed scope acts as is allowed no more than the user.
                for permission in crate::dto::auth::Permission::ALL {
                    if narrowed.allows(permission) {
                        assert!(
                            role.allows(permission),
                            "{scope:?} of a {role:?} acts as {narrowed:?}, which may {permission:?}"
                        );
                    }
                }
            }
        }
        assert_eq!(
            TokenScope::Operator.narrowed_to(Role::Viewer),
            TokenScope::AllRead
        );
        assert_eq!(
            TokenScope::AllRead.narrowed_to(Role::Owner),
            TokenScope::TenantRead
        );
    }
}
