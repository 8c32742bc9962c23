//! The admin API (`/api/admin/…`, admins only): live calls across tenants with heartbeat health,
//! the dead-letter queue and its actions, system health, the tenant list and the audit log.
//! Thin doors: each handler calls the same [`DashboardData`] method as its server function
//! (the work itself is in [`crate::service::ops`]).

use app::{
    data::{ClientAddr, DashboardData},
    dto::{
        admin::{
            AdminActiveCallsResponse, AuditLogResponse, DlqActionResponse, DlqResponse,
            SystemHealth, TenantsResponse,
        },
        query::{AuditQuery, DlqQuery, TenantQuery},
    },
};
use axum::{
    Json,
    extract::{Path, State},
};

use super::{
    error::{ApiError, ErrorBody},
    extract::ApiQuery,
};
use crate::{domain::auth::Caller, runtime::state::AppState};

/// Active calls across tenants with business name, last heartbeat and health.
#[utoipa::path(get, path = "/admin/active-calls", tag = "admin", params(TenantQuery),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = AdminActiveCallsResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn active_calls(
    Caller(admin): Caller,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<TenantQuery>,
) -> Result<Json<AdminActiveCallsResponse>, ApiError> {
    Ok(Json(state.live_calls(&admin, &query).await?))
}

/// The dead-letter queue: depth and the oldest messages.
#[utoipa::path(get, path = "/admin/dlq", tag = "admin", params(DlqQuery),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = DlqResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn dlq(
    Caller(admin): Caller,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<DlqQuery>,
) -> Result<Json<DlqResponse>, ApiError> {
    Ok(Json(state.dlq(&admin, &query).await?))
}

/// Retry one message now (final failures included); the retrier picks it up within a second.
#[utoipa::path(post, path = "/admin/dlq/{id}/retry", tag = "admin",
    params(("id" = i64, Path, description = "Message id")),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = DlqActionResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub(super) async fn retry_one(
    Caller(admin): Caller,
    client: ClientAddr,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<DlqActionResponse>, ApiError> {
    Ok(Json(state.dlq_retry(&admin, &client, &id).await?))
}

/// Retry every message now.
#[utoipa::path(post, path = "/admin/dlq/retry", tag = "admin",
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = DlqActionResponse), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub(super) async fn retry_all(
    Caller(admin): Caller,
    client: ClientAddr,
    State(state): State<AppState>,
) -> Result<Json<DlqActionResponse>, ApiError> {
    Ok(Json(state.dlq_retry_all(&admin, &client).await?))
}

/// Give up on a message: it leaves the queue unwritten.
#[utoipa::path(delete, path = "/admin/dlq/{id}", tag = "admin",
    params(("id" = i64, Path, description = "Message id")),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = DlqActionResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub(super) async fn discard(
    Caller(admin): Caller,
    client: ClientAddr,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<DlqActionResponse>, ApiError> {
    Ok(Json(state.dlq_discard(&admin, &client, &id).await?))
}

/// Database, live state (Redis or embedded), DLQ, stale calls and the last reconciliation,
/// with an overall verdict. Always 200: the body says how healthy.
#[utoipa::path(get, path = "/admin/health", tag = "admin",
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = SystemHealth), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub(super) async fn health(
    Caller(admin): Caller,
    State(state): State<AppState>,
) -> Result<Json<SystemHealth>, ApiError> {
    Ok(Json(state.system_health(&admin).await?))
}

/// Every tenant with its business name.
#[utoipa::path(get, path = "/admin/tenants", tag = "admin",
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = TenantsResponse), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub(super) async fn tenants(
    Caller(admin): Caller,
    State(state): State<AppState>,
) -> Result<Json<TenantsResponse>, ApiError> {
    Ok(Json(state.tenants(&admin).await?))
}

/// The audit log, newest first: every operator action with who, role, tenant, target, result,
/// time and client address. Read-only: nothing in the API writes or changes it.
#[utoipa::path(get, path = "/admin/audit", tag = "admin", params(AuditQuery),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = AuditLogResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn audit_log(
    Caller(admin): Caller,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<AuditLogResponse>, ApiError> {
    Ok(Json(state.audit_log(&admin, &query).await?))
}
