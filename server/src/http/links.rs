//! Invitations and reset links: made under `/api/users` (REST) and by the users page's forms
//! (`POST /users/invite`, the "Reset password" action), used on the link's own page
//! (`/welcome/{secret}`, `/reset/{secret}`, a plain form posting to `/link`) or with
//! `POST /api/auth/link`. Using one sets the password and signs its user in.
//!
//! A link made from the page rides back to it in a short-lived HttpOnly cookie scoped to
//! `/users`, shown once, as a new API token does on the account page.

use app::dto::{
    auth::{Identity, MAX_PASSWORD_BYTES, TokenResponse},
    error::DataError,
    users::{Invitation, InvitationsResponse, LinkKind, LinkRedemption, LinkStatus, OneTimeLink},
};
use axum::{
    Form, Json,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::CookieJar;

use super::{
    auth::{hashing_turn, private_cookie, session_for, with_session},
    error::{ApiError, ErrorBody},
    extract::ApiJson,
    origin::site_origin,
};
use crate::{
    domain::{
        audit::ClientAddr,
        auth::{Caller, Revocation},
        links::{self, LinkError},
        passwords::check_chosen_password,
        users::hash_password,
    },
    runtime::state::AppState,
    service::links as service,
    storage::one_time_links::LinkRow,
};

/// The cookie that carries a link just made from the users page to that page, once.
pub(super) const NEW_LINK_COOKIE: &str = "switchboard_new_link";

/// The longest secret a link carries (ours are 43 characters).
const MAX_SECRET_BYTES: usize = 64;

/// Invite someone to sign in: the answer holds the link to send them, this once. An owner
/// invites owners and members of its own tenant only.
#[utoipa::path(post, path = "/users/invitations", tag = "users", request_body = Invitation,
    security(("bearer" = []), ("session" = [])),
    responses((status = 201, body = OneTimeLink), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, description = "An unknown tenant", body = ErrorBody),
              (status = 409, description = "A user with that email exists, or too many open \
                links", body = ErrorBody)))]
pub(super) async fn invite(
    Caller(caller): Caller,
    client: ClientAddr,
    headers: HeaderMap,
    State(state): State<AppState>,
    ApiJson(invitation): ApiJson<Invitation>,
) -> Result<(StatusCode, Json<OneTimeLink>), ApiError> {
    let origin = site_origin(&state, &headers);
    let link = service::invite(&state, &caller, &invitation, client, &origin).await?;
    Ok((StatusCode::CREATED, Json(link)))
}

/// The open invitations: every one (admins) or the caller's tenant's (owners), by email. Never
/// their links.
#[utoipa::path(get, path = "/users/invitations", tag = "users",
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = InvitationsResponse), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub(super) async fn invitations(
    Caller(caller): Caller,
    State(state): State<AppState>,
) -> Result<Json<InvitationsResponse>, ApiError> {
    Ok(Json(service::invitations(&state, &caller).await?))
}

/// Cancel the open invitation to an email: its link stops working at once.
#[utoipa::path(delete, path = "/users/invitations/{email}", tag = "users",
    params(("email" = String, Path, description = "The invited email")),
    security(("bearer" = []), ("session" = [])),
    responses((status = 204, description = "Cancelled"), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody),
              (status = 404, description = "No open invitation to it among yours",
               body = ErrorBody)))]
pub(super) async fn cancel_invitation(
    Caller(caller): Caller,
    client: ClientAddr,
    State(state): State<AppState>,
    Path(email): Path<String>,
) -> Result<StatusCode, ApiError> {
    service::cancel_invitation(&state, &caller, &email, client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A one-time link for a user to set a new password. Every session it holds ends now and its
/// live sockets close.
#[utoipa::path(post, path = "/users/{email}/reset-link", tag = "users",
    params(("email" = String, Path, description = "The user's email")),
    security(("bearer" = []), ("session" = [])),
    responses((status = 201, body = OneTimeLink), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "Too many open links", body = ErrorBody)))]
pub(super) async fn reset(
    Caller(caller): Caller,
    client: ClientAddr,
    headers: HeaderMap,
    State(state): State<AppState>,
    Path(email): Path<String>,
) -> Result<(StatusCode, Json<OneTimeLink>), ApiError> {
    let origin = site_origin(&state, &headers);
    let link = service::reset(&state, &caller, &email, client, &origin).await?;
    Ok((StatusCode::CREATED, Json(link)))
}

/// What the link with `secret` is, read once per use.
async fn inspect(
    state: &AppState,
    secret: &str,
) -> Result<(LinkStatus, Option<LinkRow>), ApiError> {
    if secret.len() > MAX_SECRET_BYTES {
        return Err(DataError::invalid("secret", "not a link's").into());
    }
    Ok(links::inspect(&state.storage, secret).await?)
}

/// Uses a link, as `inspect` found it: sets the password and signs its user in. Only while the
/// link is open, once.
async fn redeem(
    state: &AppState,
    inspected: (LinkStatus, Option<LinkRow>),
    redemption: LinkRedemption,
    client: ClientAddr,
) -> Result<(String, Identity, LinkKind), ApiError> {
    let LinkRedemption {
        secret,
        new_password,
        confirm_password,
    } = redemption;
    if new_password.len() > MAX_PASSWORD_BYTES {
        let limit = format!("at most {MAX_PASSWORD_BYTES} bytes");
        return Err(DataError::invalid("new_password", limit).into());
    }
    // Refused before any hashing: a guessed secret costs one lookup.
    let row = match inspected {
        (LinkStatus::Open, Some(row)) => row,
        (LinkStatus::Used, _) => return Err(DataError::from(LinkError::Used).into()),
        (LinkStatus::Expired, _) => return Err(DataError::from(LinkError::Expired).into()),
        _ => return Err(DataError::from(LinkError::Unknown).into()),
    };
    if confirm_password.is_some_and(|confirm| confirm != new_password) {
        return Err(DataError::invalid("confirm_password", "does not match new_password").into());
    }
    check_chosen_password(&new_password, &row.email)
        .map_err(|weak| DataError::invalid("new_password", weak.0))?;
    let _turn = hashing_turn(state).await?;
    let hash = tokio::task::spawn_blocking(move || hash_password(&new_password))
        .await
        .map_err(|error| ApiError::internal(error.to_string()))?
        .map_err(|error| ApiError::internal(error.to_string()))?;
    let (kind, user) = links::redeem(&state.storage, &secret, &hash, client)
        .await
        .map_err(DataError::from)?;
    state.revocations.revoke(Revocation::User {
        user: user.id,
        version: Some(user.token_version),
    });
    let (token, identity) = session_for(state, &user).await?;
    Ok((token, identity, kind))
}

/// Use an invitation or reset link: set the password and get a session token. Refused once
/// the link was used (409), has expired (409) or is not ours (404).
#[utoipa::path(post, path = "/auth/link", tag = "auth", request_body = LinkRedemption,
    responses((status = 200, body = TokenResponse), (status = 400, description = "A field at \
                fault: a weak password (the message says why) or a confirmation that differs",
                body = ErrorBody),
              (status = 404, description = "Not a link of ours", body = ErrorBody),
              (status = 409, description = "Used already, or expired", body = ErrorBody),
              (status = 413, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(super) async fn use_link(
    client: ClientAddr,
    State(state): State<AppState>,
    ApiJson(redemption): ApiJson<LinkRedemption>,
) -> Result<Json<TokenResponse>, ApiError> {
    let inspected = inspect(&state, &redemption.secret).await?;
    let (token, identity, _) = redeem(&state, inspected, redemption, client).await?;
    Ok(Json(TokenResponse {
        success: true,
        token,
        token_type: "Bearer".to_owned(),
        expires_in: crate::domain::auth::SESSION_TTL.whole_seconds(),
        identity,
    }))
}

/// The link page's form: signed in and on to the dashboard, or back to the page saying why.
pub(super) async fn use_link_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: ClientAddr,
    jar: CookieJar,
    form: Result<Form<LinkRedemption>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(redemption)) = form else {
        return Redirect::to("/welcome/unknown?error=invalid").into_response();
    };
    let inspected = match inspect(&state, &redemption.secret).await {
        Ok(inspected) => inspected,
        Err(_) => (LinkStatus::Unknown, None),
    };
    let kind = inspected
        .1
        .as_ref()
        .map_or(LinkKind::Invite, links::kind_of);
    let secret: String = form_urlencoded::byte_serialize(redemption.secret.as_bytes()).collect();
    let back = |code: &str| {
        let page = service::link_path(kind, &secret);
        Redirect::to(&format!("{page}?error={code}")).into_response()
    };
    match redeem(&state, inspected, redemption, client).await {
        Ok((token, _, _)) => {
            let jar = with_session(jar, &state, &headers, token);
            (jar, Redirect::to(super::DASHBOARD_PATH)).into_response()
        }
        Err(ApiError::Data(DataError::Invalid { field, message })) => {
            back(if field == "confirm_password" {
                "mismatch"
            } else if message.starts_with("at least") {
                "short"
            } else {
                "weak"
            })
        }
        Err(ApiError::TooManyRequests(_) | ApiError::Data(DataError::Unavailable(_))) => {
            back("busy")
        }
        Err(_) => back("gone"),
    }
}

/// The users page's invite form.
pub(super) async fn invite_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: ClientAddr,
    jar: CookieJar,
    form: Result<Form<Invitation>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(caller) = state.identify(&headers).await else {
        return Redirect::to("/login?next=%2Fusers").into_response();
    };
    let Ok(Form(mut invitation)) = form else {
        return Redirect::to("/users?error=invalid_parameter").into_response();
    };
    invitation.tenant = invitation.tenant.filter(|tenant| !tenant.trim().is_empty());
    let origin = site_origin(&state, &headers);
    let made = service::invite(&state, &caller, &invitation, client, &origin).await;
    with_new_link(&state, &headers, jar, made, "invited")
}

/// Back to the users page: the link just made in its cookie, or why none was.
pub(super) fn with_new_link(
    state: &AppState,
    headers: &HeaderMap,
    jar: CookieJar,
    made: Result<OneTimeLink, DataError>,
    done: &str,
) -> Response {
    match made {
        Ok(link) => {
            let cookie = private_cookie(
                NEW_LINK_COOKIE,
                link.link,
                super::USERS_PATH,
                time::Duration::minutes(5),
                headers,
                state.config.public_url.as_deref(),
            );
            let email: String = form_urlencoded::byte_serialize(link.email.as_bytes()).collect();
            let emailed = if link.emailed { "&emailed=1" } else { "" };
            let back = Redirect::to(&format!(
                "{}?done={done}&email={email}{emailed}",
                super::USERS_PATH
            ));
            (jar.add(cookie), back).into_response()
        }
        Err(error) => {
            Redirect::to(&format!("{}?error={}", super::USERS_PATH, error.code())).into_response()
        }
    }
}
