//! Reconciliation over HTTP, through two doors to the same code: the admin API
//! (`/api/admin/reconciliation…`, an admin's session or token) and seed 002's internal paths
//! (`/api/v1/internal/admin/reconciliation/{trigger,status}`, `INTERNAL_API_KEY`). Without an
//! internal key configured the internal paths do not exist (404), rather than standing open.

use app::{
    data::{ClientAddr, DashboardData},
    dto::{
        admin::{
            ReconciliationRunResponse, ReconciliationStatusResponse, ReconciliationTrigger,
            ReconciliationTriggerResponse,
        },
        auth::Permission,
        query::RunsQuery,
    },
};
use axum::{
    Json,
    extract::{FromRequestParts, OriginalUri, Path, State},
    http::{StatusCode, request::Parts},
};

use super::{
    error::{ApiError, ErrorBody},
    extract::{ApiQuery, bearer, presents_key},
};
use crate::{
    domain::audit::Actor,
    domain::auth::{Caller, require},
    runtime::state::AppState,
    service::figures::reconciliation_summary,
    service::ops,
    service::reconcile::Touched,
};

/// The header seed-002 scripts send the internal key in (`Authorization: Bearer` works too).
pub(super) const INTERNAL_KEY_HEADER: &str = "x-internal-api-key";

/// The last run, the one going (if any) and the history, newest first.
#[utoipa::path(get, path = "/admin/reconciliation", tag = "admin", params(RunsQuery),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = ReconciliationStatusResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn admin_status(
    Caller(admin): Caller,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<RunsQuery>,
) -> Result<Json<ReconciliationStatusResponse>, ApiError> {
    Ok(Json(state.reconciliation(&admin, &query).await?))
}

/// One run with the calls and messages it touched.
#[utoipa::path(get, path = "/admin/reconciliation/{id}", tag = "admin",
    params(("id" = String, Path, description = "Run id")),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = ReconciliationRunResponse), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn admin_run(
    Caller(caller): Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ReconciliationRunResponse>, ApiError> {
    require(&caller, Permission::ReadOps)?;
    let run = state
        .storage
        .reconciliation(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no reconciliation run {id}")))?;
    let touched: Touched = serde_json::from_str(&run.touched).unwrap_or_default();
    Ok(Json(ReconciliationRunResponse {
        success: true,
        run: reconciliation_summary(run),
        touched: touched.items,
        touched_truncated: touched.truncated,
    }))
}

/// Start a run now. Answers at once with the run's id (202); only one runs at a time, so
/// while one is going this names that run (`already_running`). Its progress and result are in
/// the status and pushed to admins (`reconciliation_update`).
#[utoipa::path(post, path = "/admin/reconciliation/trigger", tag = "admin",
    security(("bearer" = []), ("session" = [])),
    responses((status = 202, body = ReconciliationTriggerResponse), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub(super) async fn admin_trigger(
    Caller(admin): Caller,
    client: ClientAddr,
    State(state): State<AppState>,
) -> Result<(StatusCode, Json<ReconciliationTriggerResponse>), ApiError> {
    let started = state.reconcile_now(&admin, &client).await?;
    Ok((StatusCode::ACCEPTED, Json(started)))
}

/// Proof that the request carries `INTERNAL_API_KEY`, compared in constant time.
pub(super) struct InternalKey;

impl FromRequestParts<AppState> for InternalKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(expected) = state.config.internal_api_key.as_deref() else {
            // Off: as if the path did not exist.
            let path = parts
                .extensions
                .get::<OriginalUri>()
                .map_or_else(|| parts.uri.path().to_owned(), |uri| uri.path().to_owned());
            return Err(ApiError::RouteNotFound(path));
        };
        let presented = parts
            .headers
            .get(INTERNAL_KEY_HEADER)
            .and_then(|value| value.to_str().ok())
            .map(str::trim)
            .or_else(|| bearer(&parts.headers));
        if presents_key(presented, expected) {
            Ok(Self)
        } else {
            Err(ApiError::unauthorized(
                "a valid internal key is required (X-Internal-API-Key: <INTERNAL_API_KEY>)",
            ))
        }
    }
}

/// Seed 002's status path: the same answer as `GET /api/admin/reconciliation`.
#[utoipa::path(get, path = "/v1/internal/admin/reconciliation/status", tag = "internal",
    params(RunsQuery),
    security(("internal_key" = [])),
    responses((status = 200, body = ReconciliationStatusResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody, description = "INTERNAL_API_KEY is not set")))]
pub(super) async fn internal_status(
    _key: InternalKey,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<RunsQuery>,
) -> Result<Json<ReconciliationStatusResponse>, ApiError> {
    Ok(Json(ops::reconciliation(&state, &query).await?))
}

/// Seed 002's trigger path: the same as `POST /api/admin/reconciliation/trigger`; the run id
/// is also under seed 002's name, `task_id`.
#[utoipa::path(post, path = "/v1/internal/admin/reconciliation/trigger", tag = "internal",
    security(("internal_key" = [])),
    responses((status = 202, body = ReconciliationTriggerResponse), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody, description = "INTERNAL_API_KEY is not set")))]
pub(super) async fn internal_trigger(
    _key: InternalKey,
    client: ClientAddr,
    State(state): State<AppState>,
) -> Result<(StatusCode, Json<ReconciliationTriggerResponse>), ApiError> {
    let trigger = ReconciliationTrigger::Internal;
    let started = ops::reconcile_now(&state, trigger, Actor::internal_key(), client).await?;
    Ok((StatusCode::ACCEPTED, Json(started)))
}
