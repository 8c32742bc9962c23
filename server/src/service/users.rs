//! Managing dashboard users from the doors: an admin manages every user, an owner the owners
//! and members of its own tenant — never a platform role, never another tenant (whose users it
//! is told do not exist). Every change is audited, ends the sessions the user holds and closes
//! its live sockets at once (other instances follow their watch on the users table).

use app::dto::{
    auth::{Identity, Permission, Role},
    error::DataError,
    query::UsersQuery,
    users::{RoleChange, UserChangeResponse, UserSummary, UsersResponse},
};

use crate::{
    domain::{
        audit::{Actor, ClientAddr},
        auth::{AuthError, Revocation, require},
        users::{self, UserError},
    },
    runtime::state::AppState,
    storage::reads::UserRow,
};

impl From<UserError> for DataError {
    fn from(error: UserError) -> Self {
        match error {
            UserError::Storage(error) => error.into(),
            UserError::NoSuchUser(_) | UserError::UnknownTenant(_) => {
                DataError::NotFound(error.to_string())
            }
            UserError::LastAdmin(_) | UserError::EmailTaken(_) => {
                DataError::Conflict(error.to_string())
            }
            UserError::Invalid(message) => DataError::invalid("role", message),
            UserError::Hash(detail) => {
                tracing::error!(%detail, "cannot hash a password");
                DataError::Internal(detail)
            }
        }
    }
}

/// How `row` is listed, with `active_sessions` of its sessions still active.
fn summary(row: UserRow, active_sessions: u32) -> Option<UserSummary> {
    Some(UserSummary {
        active_sessions,
        role: Role::parse(&row.role)?,
        email: row.email,
        tenant: row.tenant_id,
        last_sign_in_at: row
            .last_sign_in_at
            .and_then(|at| time::OffsetDateTime::from_unix_timestamp(at).ok()),
    })
}

/// The tenant whose users `caller` manages: `None` for every user (admins), else its own.
pub(super) fn managed_tenant(caller: &Identity) -> Result<Option<&str>, DataError> {
    if caller.role.allows(Permission::ManageUsers) {
        return Ok(None);
    }
    require(caller, Permission::ManageTenantUsers)?;
    caller
        .tenant
        .as_deref()
        .map(Some)
        .ok_or_else(|| AuthError::Forbidden(Permission::ManageTenantUsers).into())
}

/// The users `caller` manages, by email, a page at a time.
pub async fn list(
    state: &AppState,
    caller: &Identity,
    query: &UsersQuery,
) -> Result<UsersResponse, DataError> {
    let tenant = managed_tenant(caller)?;
    let limit = DataError::bounded("limit", query.limit, 100, 500)?;
    let after = query.after.as_deref().filter(|after| !after.is_empty());
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut users = state
        .storage
        .users_page(tenant, after, i64::from(limit) + 1, now)
        .await?;
    let next_after = (users.len() > limit as usize)
        .then(|| {
            users.truncate(limit as usize);
            users.last().map(|row| row.user.email.clone())
        })
        .flatten();
    let users = users.into_iter().filter_map(|row| {
        summary(
            row.user,
            u32::try_from(row.active_sessions).unwrap_or(u32::MAX),
        )
    });
    Ok(UsersResponse {
        success: true,
        users: users.collect(),
        next_after,
    })
}

/// The user `email` when it is among those of `tenant` (`None`: every user); one outside is as
/// missing as one that does not exist.
pub(super) async fn managed(
    state: &AppState,
    tenant: Option<&str>,
    email: &str,
) -> Result<UserRow, DataError> {
    let email = users::normalized_email(email);
    state
        .storage
        .user_by_email(&email)
        .await?
        .filter(|user| tenant.is_none() || user.tenant_id.as_deref() == tenant)
        .ok_or_else(|| UserError::NoSuchUser(email).into())
}

/// Ends the live sockets of user `id`, whose sessions a change just ended.
pub(super) fn close_sockets(state: &AppState, id: i64) {
    state.revocations.revoke(Revocation::User {
        user: id,
        version: None,
    });
}

/// Gives `email` another role: an owner only owner or member, in its own tenant.
pub async fn set_role(
    state: &AppState,
    caller: &Identity,
    email: &str,
    change: &RoleChange,
) -> Result<UserChangeResponse, DataError> {
    let scope = managed_tenant(caller)?;
    let target = managed(state, scope, email).await?;
    let tenant = match scope {
        None => change.tenant.clone(),
        Some(own) => {
            if change.role.is_platform() {
                return Err(AuthError::Forbidden(Permission::ManageUsers).into());
            }
            if change.tenant.as_deref().is_some_and(|tenant| tenant != own) {
                return Err(AuthError::ForeignTenant.into());
            }
            Some(own.to_owned())
        }
    };
    let id = users::set_role(
        &state.storage,
        &target.email,
        change.role,
        tenant.as_deref(),
        Actor::user(caller),
    )
    .await?;
    close_sockets(state, id);
    let changed = UserRow {
        role: change.role.as_str().to_owned(),
        tenant_id: tenant,
        ..target
    };
    Ok(UserChangeResponse {
        success: true,
        email: changed.email.clone(),
        // Its sessions ended with the change.
        user: summary(changed, 0),
    })
}

/// Ends every session of `email`.
pub async fn sign_out(
    state: &AppState,
    caller: &Identity,
    email: &str,
    client: ClientAddr,
) -> Result<UserChangeResponse, DataError> {
    let target = managed(state, managed_tenant(caller)?, email).await?;
    let id = users::sign_out_everywhere(&state.storage, &target.email, Actor::user(caller), client)
        .await?;
    close_sockets(state, id);
    Ok(UserChangeResponse {
        success: true,
        email: target.email.clone(),
        // Signed out everywhere: none active.
        user: summary(target, 0),
    })
}

/// Removes `email`; the last admin stays.
pub async fn remove(
    state: &AppState,
    caller: &Identity,
    email: &str,
) -> Result<UserChangeResponse, DataError> {
    let target = managed(state, managed_tenant(caller)?, email).await?;
    let id = users::remove(&state.storage, &target.email, Actor::user(caller)).await?;
    close_sockets(state, id);
    Ok(UserChangeResponse {
        success: true,
        email: target.email,
        user: None,
    })
}
