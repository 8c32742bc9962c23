//! Managing dashboard users: `/api/users` (REST) and the `/users` page's forms
//! (`POST /users/manage`), two doors to [`crate::service::users`], which decides who may do
//! what to whom.

use app::dto::{
    auth::Role,
    error::DataError,
    query::UsersQuery,
    users::{RoleChange, UserChangeResponse, UsersResponse},
};
use axum::{
    Form, Json,
    extract::{Path, State},
    http::HeaderMap,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use super::{
    error::{ApiError, ErrorBody},
    extract::{ApiJson, ApiQuery},
};
use crate::{
    domain::{audit::ClientAddr, auth::Caller},
    runtime::state::AppState,
    service::users,
};

/// Every user (admins) or the users of the caller's tenant (owners), by email.
#[utoipa::path(get, path = "/users", tag = "users", params(UsersQuery),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = UsersResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub(super) async fn list(
    Caller(caller): Caller,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<UsersQuery>,
) -> Result<Json<UsersResponse>, ApiError> {
    Ok(Json(users::list(&state, &caller, &query).await?))
}

/// Give a user another role. Every session it holds ends; its live sockets close. An owner
/// gives only `owner` or `member`, in its own tenant; the last admin stays an admin (409).
#[utoipa::path(put, path = "/users/{email}/role", tag = "users", request_body = RoleChange,
    params(("email" = String, Path, description = "The user's email")),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = UserChangeResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, description = "No such user among those the caller manages",
               body = ErrorBody),
              (status = 409, description = "The last admin", body = ErrorBody)))]
pub(super) async fn set_role(
    Caller(caller): Caller,
    State(state): State<AppState>,
    Path(email): Path<String>,
    ApiJson(change): ApiJson<RoleChange>,
) -> Result<Json<UserChangeResponse>, ApiError> {
    Ok(Json(
        users::set_role(&state, &caller, &email, &change).await?,
    ))
}

/// Sign a user out everywhere: every token and cookie it holds ends, its live sockets close.
#[utoipa::path(post, path = "/users/{email}/sign-out", tag = "users",
    params(("email" = String, Path, description = "The user's email")),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = UserChangeResponse), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn sign_out(
    Caller(caller): Caller,
    client: ClientAddr,
    State(state): State<AppState>,
    Path(email): Path<String>,
) -> Result<Json<UserChangeResponse>, ApiError> {
    Ok(Json(
        users::sign_out(&state, &caller, &email, client).await?,
    ))
}

/// Remove a user; its sessions end with it. The last admin stays (409).
#[utoipa::path(delete, path = "/users/{email}", tag = "users",
    params(("email" = String, Path, description = "The user's email")),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = UserChangeResponse), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "The last admin", body = ErrorBody)))]
pub(super) async fn remove(
    Caller(caller): Caller,
    State(state): State<AppState>,
    Path(email): Path<String>,
) -> Result<Json<UserChangeResponse>, ApiError> {
    Ok(Json(users::remove(&state, &caller, &email).await?))
}

/// One action of the users page: the user, what to do, the new role (and tenant) for a role
/// change, and the "Sure" box.
#[derive(Debug, Deserialize)]
pub(super) struct ManageForm {
    email: String,
    action: String,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    tenant: Option<String>,
    #[serde(default)]
    confirm: Option<String>,
}

/// The users page's forms: back to the page saying what was done, or why nothing was.
pub(super) async fn manage_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: ClientAddr,
    jar: axum_extra::extract::CookieJar,
    form: Result<Form<ManageForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let back =
        |query: &str| Redirect::to(&format!("{}?{query}", super::USERS_PATH)).into_response();
    let Ok(caller) = state.identify(&headers).await else {
        return Redirect::to("/login?next=%2Fusers").into_response();
    };
    let Ok(Form(form)) = form else {
        return back("error=invalid");
    };
    if form.confirm.is_none() {
        return back("error=confirm");
    }
    let result = match form.action.as_str() {
        "role" => match form.role.as_deref().and_then(Role::parse) {
            Some(role) => {
                let tenant = form.tenant.filter(|tenant| !tenant.trim().is_empty());
                let change = RoleChange { role, tenant };
                users::set_role(&state, &caller, &form.email, &change)
                    .await
                    .map(drop)
            }
            None => Err(DataError::invalid("role", "not a role")),
        },
        "sign_out" => users::sign_out(&state, &caller, &form.email, client)
            .await
            .map(drop),
        "remove" => users::remove(&state, &caller, &form.email).await.map(drop),
        "cancel_invite" => {
            crate::service::links::cancel_invitation(&state, &caller, &form.email, client).await
        }
        "reset" => {
            let origin = super::origin::site_origin(&state, &headers);
            let made = crate::service::links::reset(&state, &caller, &form.email, client, &origin);
            return super::links::with_new_link(&state, &headers, jar, made.await, "reset");
        }
        _ => Err(DataError::invalid("action", "not an action")),
    };
    match result {
        Ok(()) => back(&format!("done={}", form.action)),
        Err(error) => back(&format!("error={}", error.code())),
    }
}
