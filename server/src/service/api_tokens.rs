//! API tokens from the doors (REST, the account page's forms and server function): a signed-in
//! user makes, lists and revokes its own; an owner also sees and revokes those of its tenant's
//! users, an admin every user's. Only a sign-in manages tokens: a token cannot make another.
//! A revocation closes the token's live sockets here at once; other instances follow their
//! watch of the tokens table.

use app::dto::{
    auth::Permission,
    error::DataError,
    tokens::{ApiTokenSummary, ApiTokensResponse, CreatedApiToken, NewApiToken},
};

use crate::{
    domain::{
        audit::{Actor, ClientAddr},
        auth::{
            AuthError, Revocation, Verified,
            api_tokens::{self, ApiTokenError},
        },
    },
    runtime::state::AppState,
    storage::{api_tokens::ApiTokenRow, reads::UserRow},
};

impl From<ApiTokenError> for DataError {
    fn from(error: ApiTokenError) -> Self {
        match error {
            ApiTokenError::Storage(error) => error.into(),
            ApiTokenError::Invalid(field, message) => DataError::invalid(field, message),
            ApiTokenError::BeyondRole { .. } | ApiTokenError::ForeignTenant => {
                DataError::Forbidden(error.to_string())
            }
            ApiTokenError::UnknownTenant(_) => DataError::invalid("tenant", error.to_string()),
            ApiTokenError::TooMany => DataError::Conflict(error.to_string()),
        }
    }
}

/// Whose tokens a caller sees besides its own.
enum Oversight {
    Own,
    Tenant(String),
    Everyone,
}

/// The signed-in user behind `caller`, and whose tokens it oversees; refused for an API token
/// or a token naming no user.
async fn signed_in(state: &AppState, caller: &Verified) -> Result<(UserRow, Oversight), DataError> {
    let Some(session) = caller.session.filter(|_| caller.api_token.is_none()) else {
        return Err(DataError::Forbidden(
            "API tokens are managed by a signed-in user, not by a token".into(),
        ));
    };
    let user = state
        .storage
        .user_by_id(session.user)
        .await?
        .ok_or(AuthError::Revoked)?;
    let role = caller.identity.role;
    let oversight = if role.allows(Permission::ManageUsers) {
        Oversight::Everyone
    } else if role.allows(Permission::ManageTenantUsers) {
        user.tenant_id
            .clone()
            .map_or(Oversight::Own, Oversight::Tenant)
    } else {
        Oversight::Own
    };
    Ok((user, oversight))
}

fn sees(oversight: &Oversight, user: &UserRow, token: &ApiTokenRow) -> bool {
    match oversight {
        Oversight::Everyone => true,
        Oversight::Tenant(tenant) => {
            token.user_id == user.id || token.owner_tenant.as_deref() == Some(tenant)
        }
        Oversight::Own => token.user_id == user.id,
    }
}

/// The caller's tokens and those of the users it manages, newest first.
pub async fn list(state: &AppState, caller: &Verified) -> Result<ApiTokensResponse, DataError> {
    let (user, oversight) = signed_in(state, caller).await?;
    let rows = match &oversight {
        Oversight::Everyone => state.storage.api_tokens(None, None).await?,
        // Its own among them: an owner is one of its tenant's users.
        Oversight::Tenant(tenant) => state.storage.api_tokens(None, Some(tenant)).await?,
        Oversight::Own => state.storage.api_tokens(Some(user.id), None).await?,
    };
    Ok(ApiTokensResponse {
        success: true,
        tokens: rows.iter().filter_map(api_tokens::summary).collect(),
    })
}

/// Makes a token for the caller itself.
pub async fn create(
    state: &AppState,
    caller: &Verified,
    new: &NewApiToken,
    client: ClientAddr,
) -> Result<CreatedApiToken, DataError> {
    let (user, _) = signed_in(state, caller).await?;
    let by = Actor::user(&caller.identity);
    let (token, summary): (String, ApiTokenSummary) =
        api_tokens::create(&state.storage, &user, new, by, client).await?;
    Ok(CreatedApiToken {
        success: true,
        token,
        summary,
    })
}

/// Revokes the token `id` (the caller's, or one of a user it manages; any other is as missing
/// as one that does not exist) and closes its live sockets.
pub async fn revoke(
    state: &AppState,
    caller: &Verified,
    id: i64,
    client: ClientAddr,
) -> Result<ApiTokenSummary, DataError> {
    let (user, oversight) = signed_in(state, caller).await?;
    let missing = || DataError::NotFound(format!("no API token {id} among yours"));
    let row = state
        .storage
        .api_token(id)
        .await?
        .filter(|row| sees(&oversight, &user, row))
        .ok_or_else(missing)?;
    let summary = api_tokens::summary(&row).ok_or_else(missing)?;
    let revoked =
        api_tokens::revoke(&state.storage, &row, Actor::user(&caller.identity), client).await?;
    state.api_tokens.forget_id(id);
    state.revocations.revoke(Revocation::ApiToken(id));
    if revoked { Ok(summary) } else { Err(missing()) }
}
