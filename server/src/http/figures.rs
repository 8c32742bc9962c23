//! The seed-000 endpoints under `/api/dashboard/` (paths and shapes unchanged), now behind
//! sign-in and scoped by [`Caller::scope`], plus the CSV export of calls. What each figure means
//! is documented in [`app::dto::dashboard`].

use app::{
    data::DashboardData,
    dto::{
        call_detail::CallDetailResponse,
        dashboard::{
            ActiveCallsResponse, AgentPerformanceResponse, CallsPerHourResponse, MetricsResponse,
            RecentCallsResponse,
        },
        query::{CallsQuery, PeriodQuery, TenantQuery},
    },
};
use axum::{
    Json,
    body::Body,
    extract::{Path, State},
    http::header,
    response::{IntoResponse, Response},
};
use futures::StreamExt;
use time::{PrimitiveDateTime, format_description::well_known::Rfc3339};

use super::{
    error::{ApiError, ErrorBody},
    extract::ApiQuery,
};
use crate::{
    domain::auth::{Caller, Scope},
    runtime::state::AppState,
    service::doors,
    storage::{CallRecord, reads::CallKey},
};

/// Dashboard metrics over a period.
#[utoipa::path(get, path = "/dashboard/metrics", tag = "dashboard", params(PeriodQuery),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = MetricsResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn metrics(
    Caller(caller): Caller,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<PeriodQuery>,
) -> Result<Json<MetricsResponse>, ApiError> {
    Ok(Json(state.metrics(&caller, &query).await?))
}

/// Calls in progress now, oldest first (no period).
#[utoipa::path(get, path = "/dashboard/active-calls", tag = "dashboard", params(TenantQuery),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = ActiveCallsResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn active_calls(
    Caller(caller): Caller,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<TenantQuery>,
) -> Result<Json<ActiveCallsResponse>, ApiError> {
    Ok(Json(state.active_calls(&caller, &query).await?))
}

/// Calls newest first, filtered, a page at a time.
#[utoipa::path(get, path = "/dashboard/recent-calls", tag = "dashboard", params(CallsQuery),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = RecentCallsResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn recent_calls(
    Caller(caller): Caller,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<CallsQuery>,
) -> Result<Json<RecentCallsResponse>, ApiError> {
    Ok(Json(state.recent_calls(&caller, &query).await?))
}

/// One call and everything kept about it: the row with its metadata, end reason and cost, its
/// heartbeats summarised, its event log (first 50 and latest 200 events), its conversation and
/// the agent's response latency. Another tenant's call is the same 404 as a missing one.
#[utoipa::path(get, path = "/dashboard/calls/{id}", tag = "dashboard",
    params(("id" = String, Path, description = "The call id")),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = CallDetailResponse), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub(super) async fn call_detail(
    Caller(caller): Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<CallDetailResponse>, ApiError> {
    Ok(Json(state.call_detail(&caller, &id).await?))
}

/// Per-agent figures over a period, busiest first.
#[utoipa::path(get, path = "/dashboard/agent-performance", tag = "dashboard", params(PeriodQuery),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = AgentPerformanceResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn agent_performance(
    Caller(caller): Caller,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<PeriodQuery>,
) -> Result<Json<AgentPerformanceResponse>, ApiError> {
    Ok(Json(state.agent_performance(&caller, &query).await?))
}

/// Calls started per UTC hour of the period, every hour present.
#[utoipa::path(get, path = "/dashboard/calls-per-hour", tag = "dashboard", params(PeriodQuery),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = CallsPerHourResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn calls_per_hour(
    Caller(caller): Caller,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<PeriodQuery>,
) -> Result<Json<CallsPerHourResponse>, ApiError> {
    Ok(Json(state.calls_per_hour(&caller, &query).await?))
}

/// Rows per database round trip of the export.
const EXPORT_PAGE: i64 = 1_000;

/// Every call matching the filters as CSV (newest first), streamed page by page.
#[utoipa::path(get, path = "/dashboard/calls.csv", tag = "dashboard", params(CallsQuery),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, content_type = "text/csv", body = String),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub(super) async fn export_calls(
    caller: Caller,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<CallsQuery>,
) -> Result<Response, ApiError> {
    let scope = caller.scope(query.user_id.as_deref())?;
    let filter = doors::call_filter(&query)?;
    // The export streams every page, but its query is a call list's: checked by the same rules.
    doors::page_limit(&query)?;
    let after = crate::domain::cursor::page_cursor(query.cursor.as_deref())?;
    let filename = format!("calls-{}.csv", scope_label(&scope));
    let header_row = csv_bytes(|writer| writer.write_record(CSV_COLUMNS))?;
    let pages = futures::stream::try_unfold(
        (Some(after), state, scope, filter),
        |(after, state, scope, filter)| async move {
            let Some(after) = after else { return Ok(None) };
            let calls = state
                .storage
                .list_calls(scope.tenant(), &filter, after.as_ref(), EXPORT_PAGE)
                .await
                .map_err(std::io::Error::other)?;
            let next = (calls.len() as i64 == EXPORT_PAGE).then(|| {
                calls.last().map(|call| CallKey {
                    started_at: call.started_at,
                    id: call.id.clone(),
                })
            });
            let chunk = csv_rows(&calls).map_err(std::io::Error::other)?;
            Ok(Some((chunk, (next, state, scope, filter))))
        },
    );
    let body =
        futures::stream::once(async move { Ok::<_, std::io::Error>(header_row) }).chain(pages);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

fn scope_label(scope: &Scope) -> String {
    scope
        .tenant()
        .unwrap_or("all-tenants")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

const CSV_COLUMNS: [&str; 13] = [
    "id",
    "userId",
    "agentConfigId",
    "phoneNumber",
    "startedAt",
    "endedAt",
    "direction",
    "status",
    "outcome",
    "duration",
    "livekitRoomName",
    "sipCallId",
    "recordingUrl",
];

/// What `write` writes, as CSV bytes.
fn csv_bytes(
    write: impl FnOnce(&mut csv::Writer<Vec<u8>>) -> csv::Result<()>,
) -> Result<Vec<u8>, ApiError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    write(&mut writer).map_err(|error| ApiError::internal(format!("CSV: {error}")))?;
    writer
        .into_inner()
        .map_err(|error| ApiError::internal(format!("CSV: {error}")))
}

/// Calls as CSV rows, in `CSV_COLUMNS` order.
fn csv_rows(calls: &[CallRecord]) -> Result<Vec<u8>, ApiError> {
    csv_bytes(|writer| calls.iter().try_for_each(|call| write_call(writer, call)))
}

fn write_call(writer: &mut csv::Writer<Vec<u8>>, call: &CallRecord) -> csv::Result<()> {
    let time = |at: Option<PrimitiveDateTime>| {
        at.and_then(|at| at.assume_utc().format(&Rfc3339).ok())
            .unwrap_or_default()
    };
    let text = |value: &Option<String>| spreadsheet_safe(value.as_deref().unwrap_or_default());
    writer.write_record([
        spreadsheet_safe(&call.id),
        spreadsheet_safe(&call.user_id),
        text(&call.agent_config_id),
        text(&call.phone_number),
        time(Some(call.started_at)),
        time(call.ended_at),
        text(&call.direction),
        text(&call.status),
        text(&call.outcome),
        call.duration.map(|d| d.to_string()).unwrap_or_default(),
        text(&call.livekit_room_name),
        text(&call.sip_call_id),
        text(&call.recording_url),
    ])
}

/// A cell a spreadsheet will not run as a formula: cells starting `=`, `@`, a tab or a CR, or
/// `+`/`-` followed by anything but a number, get a leading `'`. Phone numbers stay as they are.
fn spreadsheet_safe(value: &str) -> String {
    let risky = match value.chars().next() {
        Some('=' | '@' | '\t' | '\r') => true,
        Some('+' | '-') => !value[1..].chars().all(|c| c.is_ascii_digit()),
        _ => false,
    };
    if risky {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused_but_phone_numbers_kept() {
        assert_eq!(spreadsheet_safe("+12345678900"), "+12345678900");
        assert_eq!(spreadsheet_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(spreadsheet_safe("+1+cmd"), "'+1+cmd");
        assert_eq!(spreadsheet_safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(spreadsheet_safe("plain"), "plain");
    }
}
