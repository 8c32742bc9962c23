//! The admin API (`/api/admin/…`, admins only): live calls across tenants with heartbeat health,
//! the dead-letter queue and its actions, system health and the tenant list. Live calls come from
//! the in-memory registry and business names from one query, never a query per call.

use app::{
    data::DashboardData,
    dto::{
        admin::{
            AdminActiveCallsResponse, AuditLogResponse, DlqActionResponse, DlqMessage, DlqResponse,
            SystemHealth, TenantsResponse,
        },
        error::DataError,
    },
};
use axum::{
    Json,
    extract::{Path, State},
};
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::IntoParams;

use super::{
    error::{ApiError, ErrorBody},
    extract::ApiQuery,
};
use crate::{
    audit::{self, Action, Actor, ClientAddr, Entry},
    auth::Admin,
    dlq::DeadLetter,
    figures,
    live::bus::BusEvent,
    state::AppState,
};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct AdminCallsQuery {
    /// Only this tenant's calls; all tenants when omitted.
    user_id: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct DlqQuery {
    /// Messages to list (oldest first), 1–1000, default 100. The depth counts them all.
    limit: Option<u32>,
}

/// Active calls across tenants with business name, last heartbeat and health.
#[utoipa::path(get, path = "/admin/active-calls", tag = "admin", params(AdminCallsQuery),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = AdminActiveCallsResponse), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub(super) async fn active_calls(
    _admin: Admin,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<AdminCallsQuery>,
) -> Result<Json<AdminActiveCallsResponse>, ApiError> {
    let live = figures::live_calls(
        &state.storage,
        &state.registry,
        query.user_id.as_deref().filter(|id| !id.is_empty()),
        OffsetDateTime::now_utc(),
    )
    .await?;
    Ok(Json(AdminActiveCallsResponse {
        success: true,
        active_calls: live.active_calls,
        count: live.count,
        warning_count: live.warning_count,
        stale_count: live.stale_count,
    }))
}

fn dlq_message(letter: DeadLetter) -> DlqMessage {
    DlqMessage {
        final_failure: letter.is_final(),
        id: letter.id,
        call_id: letter.call_id,
        user_id: letter.user_id,
        event_type: letter.event.0.event_type.as_str().to_owned(),
        error: letter.error,
        attempts: letter.attempts,
        max_attempts: letter.max_attempts,
        next_retry_at: letter.next_retry_at,
        created_at: letter.created_at,
    }
}

/// The dead-letter queue: depth and the oldest messages.
#[utoipa::path(get, path = "/admin/dlq", tag = "admin", params(DlqQuery),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = DlqResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn dlq(
    _admin: Admin,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<DlqQuery>,
) -> Result<Json<DlqResponse>, ApiError> {
    let limit = i64::from(DataError::bounded("limit", query.limit, 100, 1000)?);
    let (depth, final_failures, letters) = tokio::try_join!(
        state.dlq.depth(),
        state.dlq.final_failures(),
        state.dlq.list(limit)
    )?;
    Ok(Json(DlqResponse {
        success: true,
        depth,
        final_failures,
        messages: letters.into_iter().map(dlq_message).collect(),
    }))
}

fn message_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::invalid("id", "expected a message id (an integer)"))
}

/// Tells every watcher the queue changed, and answers with what an action touched.
async fn after_action(
    state: &AppState,
    affected: u64,
) -> Result<Json<DlqActionResponse>, ApiError> {
    let depth = state.dlq.depth().await?;
    state.announce(BusEvent::DlqChanged { depth }).await;
    Ok(Json(DlqActionResponse {
        success: true,
        affected,
        depth,
    }))
}

/// Retry one message now (final failures included); the retrier picks it up within a second.
#[utoipa::path(post, path = "/admin/dlq/{id}/retry", tag = "admin",
    params(("id" = i64, Path, description = "Message id")),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = DlqActionResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub(super) async fn retry_one(
    Admin(admin): Admin,
    client: ClientAddr,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<DlqActionResponse>, ApiError> {
    let id = message_id(&id)?;
    let found = state.dlq.retry_now(id).await?;
    let entry = Entry::new(Actor::user(&admin), Action::DlqRetry, client).target(id);
    audit::record(
        &state.storage,
        entry.result(if found { "ok" } else { "not_found" }),
    )
    .await;
    if !found {
        return Err(ApiError::not_found(format!("no DLQ message {id}")));
    }
    after_action(&state, 1).await
}

/// Retry every message now.
#[utoipa::path(post, path = "/admin/dlq/retry", tag = "admin",
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = DlqActionResponse), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub(super) async fn retry_all(
    Admin(admin): Admin,
    client: ClientAddr,
    State(state): State<AppState>,
) -> Result<Json<DlqActionResponse>, ApiError> {
    let affected = state.dlq.retry_all_now().await?;
    let entry = Entry::new(Actor::user(&admin), Action::DlqRetryAll, client);
    audit::record(&state.storage, entry.detail("affected", affected)).await;
    after_action(&state, affected).await
}

/// Give up on a message: it leaves the queue unwritten.
#[utoipa::path(delete, path = "/admin/dlq/{id}", tag = "admin",
    params(("id" = i64, Path, description = "Message id")),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = DlqActionResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub(super) async fn discard(
    Admin(admin): Admin,
    client: ClientAddr,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<DlqActionResponse>, ApiError> {
    let id = message_id(&id)?;
    // What is discarded is gone from the queue: the log keeps what it was.
    let letter = state.dlq.get(id).await?;
    let found = state.dlq.discard(id).await?;
    let mut entry = Entry::new(Actor::user(&admin), Action::DlqDiscard, client).target(id);
    if let Some(letter) = letter.filter(|_| found) {
        entry = entry
            .detail("call_id", letter.call_id)
            .detail("user_id", letter.user_id)
            .detail("event_type", letter.event.0.event_type.as_str())
            .detail("error", letter.error);
    }
    audit::record(
        &state.storage,
        entry.result(if found { "ok" } else { "not_found" }),
    )
    .await;
    if !found {
        return Err(ApiError::not_found(format!("no DLQ message {id}")));
    }
    after_action(&state, 1).await
}

/// Database, live state (Redis or embedded), DLQ, stale calls and the last reconciliation,
/// with an overall verdict. Always 200: the body says how healthy.
#[utoipa::path(get, path = "/admin/health", tag = "admin",
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = SystemHealth), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub(super) async fn health(
    Admin(admin): Admin,
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
    Admin(admin): Admin,
    State(state): State<AppState>,
) -> Result<Json<TenantsResponse>, ApiError> {
    Ok(Json(state.tenants(&admin).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct AuditQuery {
    /// Entries per page, 1–500, default 100.
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The audit log, newest first: every operator action with who, role, tenant, target, result,
/// time and client address. Read-only: nothing in the API writes or changes it.
#[utoipa::path(get, path = "/admin/audit", tag = "admin", params(AuditQuery),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = AuditLogResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn audit_log(
    _admin: Admin,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<AuditLogResponse>, ApiError> {
    let limit = DataError::bounded("limit", query.limit, 100, 500)?;
    let before = query
        .cursor
        .as_deref()
        .filter(|cursor| !cursor.is_empty())
        .map(|cursor| {
            cursor
                .parse::<i64>()
                .map_err(|_| ApiError::invalid("cursor", "not a cursor this API gave out"))
        })
        .transpose()?;
    let mut rows = state
        .storage
        .audit_log(before, i64::from(limit) + 1)
        .await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = more
        .then(|| rows.last().map(|row| row.id.to_string()))
        .flatten();
    Ok(Json(AuditLogResponse {
        success: true,
        entries: rows.into_iter().map(audit::entry_of).collect(),
        next_cursor,
    }))
}
