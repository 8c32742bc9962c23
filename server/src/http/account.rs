//! A signed-in user's own account: changing its password, by `POST /api/auth/password` (JSON,
//! for scripts) and by the `/account` page's form (`POST /account/password`, no JavaScript
//! needed). The current password is required and the new one must be hard to guess
//! ([`check_chosen_password`]); every other session of the user ends at once, on every instance
//! and every live socket, and the one that asked is issued afresh.

use app::dto::{
    auth::{Identity, MAX_PASSWORD_BYTES, PasswordChange, TokenResponse},
    error::DataError,
};
use axum::{
    Form, Json,
    extract::State,
    http::HeaderMap,
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::CookieJar;

use super::{
    auth::{NO_USER, client_ip, hashing_turn, note_session, with_session},
    error::{ApiError, ErrorBody},
    extract::ApiJson,
};
use crate::{
    domain::{
        audit::{Action, Actor, ClientAddr},
        auth::{AuthError, Revocation, SESSION_COOKIE, SESSION_TTL, UserSession, Verified},
        passwords::check_chosen_password,
        users::{UserError, hash_password, set_password, verify_password},
    },
    runtime::state::AppState,
};

/// The form's largest body: three passwords at their limit, percent-encoded.
pub(super) const FORM_BODY_LIMIT: usize = 16 * 1024;

/// Where the account page is.
pub(super) const ACCOUNT_PATH: &str = "/account";

/// Changes the caller's password and mints its new session: the one change for both doors.
async fn change_password(
    state: &AppState,
    verified: &Verified,
    change: PasswordChange,
    client: ClientAddr,
    headers: &HeaderMap,
) -> Result<(String, Identity), ApiError> {
    let Some(session) = verified.session else {
        return Err(DataError::Forbidden(NO_USER.to_owned()).into());
    };
    let PasswordChange {
        current_password,
        new_password,
        confirm_password,
    } = change;
    for (field, value) in [
        ("current_password", &current_password),
        ("new_password", &new_password),
    ] {
        if value.len() > MAX_PASSWORD_BYTES {
            let limit = format!("at most {MAX_PASSWORD_BYTES} bytes");
            return Err(DataError::invalid(field, limit).into());
        }
    }
    if confirm_password.is_some_and(|confirm| confirm != new_password) {
        return Err(DataError::invalid("confirm_password", "does not match new_password").into());
    }
    let identity = &verified.identity;
    let email = identity.subject.as_str();
    // Guessing the current password through this door is as slow as through sign-in.
    let address = client_ip(state, &client, headers);
    if let Err(wait) = state.sign_in_limits.attempt(email, address) {
        return Err(ApiError::TooManyRequests(wait));
    }
    check_chosen_password(&new_password, email)
        .map_err(|weak| DataError::invalid("new_password", weak.0))?;
    if new_password == current_password {
        return Err(DataError::invalid("new_password", "is your current password").into());
    }
    let user = state
        .storage
        .user_by_id(session.user)
        .await?
        .ok_or(AuthError::Revoked)?;
    // Two hashes' worth of CPU.
    let _turn = hashing_turn(state).await?;
    let new_hash = tokio::task::spawn_blocking(move || {
        verify_password(&user.password_hash, &current_password)
            .then(|| hash_password(&new_password))
    })
    .await
    .map_err(|error| ApiError::internal(error.to_string()))?
    .ok_or_else(|| DataError::invalid("current_password", "is not your current password"))?
    .map_err(|error| ApiError::internal(error.to_string()))?;
    let (user, version) = set_password(
        &state.storage,
        email,
        &new_hash,
        Action::PasswordChange,
        Actor::user(identity),
        client,
    )
    .await
    .map_err(|error| match error {
        UserError::Storage(error) => ApiError::from(error),
        // Removed meanwhile: nothing left to change.
        _ => ApiError::from(AuthError::Revoked),
    })?;
    state.revocations.revoke(Revocation::User {
        user,
        version: Some(version),
    });
    let session = UserSession { user, version };
    note_session(
        state,
        session,
        time::OffsetDateTime::now_utc().unix_timestamp(),
    )
    .await;
    state
        .jwt
        .mint(
            email,
            identity.role,
            identity.tenant.as_deref(),
            Some(session),
            SESSION_TTL,
        )
        .map_err(|error| ApiError::internal(error.to_string()))
}

/// Change your password: the current one is required, the new one must be at least 12
/// characters and hard to guess. Every other session of yours ends; this answer carries the new
/// token (and a browser's session cookie is replaced).
#[utoipa::path(post, path = "/auth/password", tag = "auth", request_body = PasswordChange,
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = TokenResponse),
              (status = 400, description = "A field at fault: a wrong current password, a weak \
                new one (the message says why), or a confirmation that differs", body = ErrorBody),
              (status = 401, body = ErrorBody),
              (status = 403, description = "The token names no user, or a cookie was sent \
                from another site", body = ErrorBody),
              (status = 413, body = ErrorBody),
              (status = 429, body = ErrorBody),
              (status = 503, body = ErrorBody)))]
pub(super) async fn change(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    jar: CookieJar,
    verified: Verified,
    ApiJson(change): ApiJson<PasswordChange>,
) -> Result<(CookieJar, Json<TokenResponse>), ApiError> {
    let (token, identity) = change_password(&state, &verified, change, client, &headers).await?;
    let jar = if jar.get(SESSION_COOKIE).is_some() {
        with_session(jar, &state, &headers, token.clone())
    } else {
        jar
    };
    Ok((
        jar,
        Json(TokenResponse {
            success: true,
            token,
            token_type: "Bearer".to_owned(),
            expires_in: SESSION_TTL.whole_seconds(),
            identity,
        }),
    ))
}

/// The account page's form: back to the page saying it is done (with the new session cookie),
/// or what was wrong.
pub(super) async fn change_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: ClientAddr,
    jar: CookieJar,
    form: Result<Form<PasswordChange>, axum::extract::rejection::FormRejection>,
) -> Result<Response, ApiError> {
    let Ok(verified) = state.verify_request(&headers).await else {
        return Ok(Redirect::to("/login?next=%2Faccount").into_response());
    };
    let Ok(Form(change)) = form else {
        return Ok(Redirect::to("/account?error=invalid").into_response());
    };
    let error = match change_password(&state, &verified, change, client, &headers).await {
        Ok((token, _)) => {
            let jar = with_session(jar, &state, &headers, token);
            return Ok((jar, Redirect::to("/account?changed=1")).into_response());
        }
        Err(error) => error,
    };
    let code = match &error {
        ApiError::TooManyRequests(_) => "throttled",
        ApiError::Data(DataError::Invalid { field, message }) => match field.as_str() {
            "current_password" => "wrong",
            "confirm_password" => "mismatch",
            _ if message.starts_with("at least") => "short",
            _ if message.starts_with("is your") => "same",
            _ => "weak",
        },
        ApiError::Data(DataError::Forbidden(_)) => "token",
        _ => return Err(error),
    };
    Ok(Redirect::to(&format!("{ACCOUNT_PATH}?error={code}")).into_response())
}
