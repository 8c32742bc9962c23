//! API tokens: `/api/tokens` (REST) and the account page's forms (`POST /account/tokens`,
//! `POST /account/tokens/revoke`), doors to [`crate::service::api_tokens`].
//!
//! The form that makes a token answers with a redirect to the account page, so a reload cannot
//! make a second one; the secret rides to that page in a short-lived HttpOnly cookie scoped to
//! `/account`, which the page shows once and clears.

use app::{
    dto::{
        error::DataError,
        tokens::{ApiTokenSummary, ApiTokensResponse, CreatedApiToken, NewApiToken, TokenScope},
    },
    session::ShownOnce,
};
use axum::{
    Form, Json,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use super::{
    account::ACCOUNT_PATH,
    auth::private_cookie,
    error::{ApiError, ErrorBody},
    extract::ApiJson,
};
use crate::{
    domain::{audit::ClientAddr, auth::Verified},
    runtime::state::AppState,
    service::api_tokens,
};

/// The cookie that carries a token just made from the account page's form to the page that
/// shows it, once: HttpOnly, sent only to `/account`, gone after five minutes or one showing.
const NEW_TOKEN_COOKIE: &str = "switchboard_new_token";

/// Your API tokens, and those of the users you manage (every user's for an admin, your
/// tenant's for an owner), newest first. Never their secrets.
#[utoipa::path(get, path = "/tokens", tag = "tokens",
    security(("session" = []), ("bearer" = [])),
    responses((status = 200, body = ApiTokensResponse), (status = 401, body = ErrorBody),
              (status = 403, description = "An API token cannot manage tokens: sign in",
               body = ErrorBody)))]
pub(super) async fn list(
    verified: Verified,
    State(state): State<AppState>,
) -> Result<Json<ApiTokensResponse>, ApiError> {
    Ok(Json(api_tokens::list(&state, &verified).await?))
}

/// Make an API token for yourself: its scope no more than your role allows. The answer holds
/// the secret, this once; only its hash is kept.
#[utoipa::path(post, path = "/tokens", tag = "tokens", request_body = NewApiToken,
    security(("session" = []), ("bearer" = [])),
    responses((status = 201, body = CreatedApiToken), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody),
              (status = 403, description = "A scope beyond your role, another tenant, or an API \
                token asking", body = ErrorBody),
              (status = 409, description = "Too many unexpired tokens", body = ErrorBody)))]
pub(super) async fn create(
    verified: Verified,
    client: ClientAddr,
    State(state): State<AppState>,
    ApiJson(new): ApiJson<NewApiToken>,
) -> Result<(StatusCode, Json<CreatedApiToken>), ApiError> {
    let created = api_tokens::create(&state, &verified, &new, client).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Revoke an API token: refused from now on, on every door, and its live sockets close.
#[utoipa::path(delete, path = "/tokens/{id}", tag = "tokens",
    params(("id" = i64, Path, description = "The token's id")),
    security(("session" = []), ("bearer" = [])),
    responses((status = 200, body = ApiTokenSummary), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody),
              (status = 404, description = "No such token among yours", body = ErrorBody)))]
pub(super) async fn revoke(
    verified: Verified,
    client: ClientAddr,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<ApiTokenSummary>, ApiError> {
    Ok(Json(
        api_tokens::revoke(&state, &verified, id, client).await?,
    ))
}

/// The account page's "new token" form.
#[derive(Debug, Deserialize)]
pub(super) struct CreateForm {
    name: String,
    scope: String,
    #[serde(default)]
    tenant: Option<String>,
    expires_in_days: u32,
}

/// The account page's "revoke" form, confirmed by its "Sure" box.
#[derive(Debug, Deserialize)]
pub(super) struct RevokeForm {
    id: i64,
    #[serde(default)]
    confirm: Option<String>,
}

fn back(query: &str) -> Response {
    Redirect::to(&format!("{ACCOUNT_PATH}?{query}")).into_response()
}

/// Makes the token and sends the browser back to the account page, the secret in a cookie
/// for that page to show once.
pub(super) async fn create_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: ClientAddr,
    jar: CookieJar,
    form: Result<Form<CreateForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(verified) = state.verify_request(&headers).await else {
        return Redirect::to("/login?next=%2Faccount").into_response();
    };
    let new = match form {
        Ok(Form(form)) => TokenScope::parse(&form.scope).map(|scope| NewApiToken {
            name: form.name,
            scope,
            tenant: form.tenant.filter(|tenant| !tenant.trim().is_empty()),
            expires_in_days: form.expires_in_days,
        }),
        Err(_) => None,
    };
    let Some(new) = new else {
        return back("token_error=invalid_parameter");
    };
    match api_tokens::create(&state, &verified, &new, client).await {
        Ok(created) => {
            let cookie = private_cookie(
                NEW_TOKEN_COOKIE,
                created.token,
                ACCOUNT_PATH,
                time::Duration::minutes(5),
                &headers,
                state.config.public_url.as_deref(),
            );
            (jar.add(cookie), back("token_created=1")).into_response()
        }
        Err(error) => back(&format!("token_error={}", error.code())),
    }
}

/// Hands a secret just made to the page that shows it, once: a new API token to the account
/// page, a new link to the users page; out of its cookie into the request's extensions, the
/// cookie cleared by the same response.
pub(super) async fn show_once(
    jar: CookieJar,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let shown = [
        (NEW_TOKEN_COOKIE, ACCOUNT_PATH),
        (super::links::NEW_LINK_COOKIE, super::USERS_PATH),
    ]
    .into_iter()
    .find(|(_, path)| request.uri().path() == *path)
    .and_then(|(name, path)| Some((name, path, jar.get(name)?.value().to_owned())));
    let Some((name, path, secret)) = shown else {
        return next.run(request).await;
    };
    request.extensions_mut().insert(ShownOnce(secret));
    let removal = axum_extra::extract::cookie::Cookie::build(name)
        .path(path)
        .build();
    (jar.remove(removal), next.run(request).await).into_response()
}

/// Revokes the token and sends the browser back to the account page saying so.
pub(super) async fn revoke_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: ClientAddr,
    form: Result<Form<RevokeForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(verified) = state.verify_request(&headers).await else {
        return Redirect::to("/login?next=%2Faccount").into_response();
    };
    let Ok(Form(form)) = form else {
        return back("token_error=invalid_parameter");
    };
    if form.confirm.is_none() {
        return back("token_error=confirm");
    }
    let result: Result<_, DataError> = api_tokens::revoke(&state, &verified, form.id, client).await;
    match result {
        Ok(_) => back("token_revoked=1"),
        Err(error) => back(&format!("token_error={}", error.code())),
    }
}
