//! `/api/users`: the REST door to managing dashboard users ([`crate::service::users`] decides
//! who may do what to whom).

use app::dto::users::{RoleChange, UserChangeResponse, UsersResponse};
use axum::{
    Json,
    extract::{Path, State},
};

use super::{
    error::{ApiError, ErrorBody},
    extract::ApiJson,
};
use crate::{
    domain::{audit::ClientAddr, auth::Caller},
    runtime::state::AppState,
    service::users,
};

/// Every user (admins) or the users of the caller's tenant (owners), by email.
#[utoipa::path(get, path = "/users", tag = "users",
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = UsersResponse), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub(super) async fn list(
    Caller(caller): Caller,
    State(state): State<AppState>,
) -> Result<Json<UsersResponse>, ApiError> {
    Ok(Json(users::list(&state, &caller).await?))
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
