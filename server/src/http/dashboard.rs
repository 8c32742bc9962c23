//! The seed-000 endpoints under `/api/dashboard/` (paths and shapes unchanged), now behind
//! sign-in and scoped by [`Caller::scope`], plus the CSV export of calls. What each figure means
//! is documented in [`app::dto::dashboard`].

use app::dto::{
    dashboard::{
        ActiveCallsResponse, AgentPerformanceResponse, CallsPerHourResponse, DEFAULT_HOURS,
        DEFAULT_LIMIT, MAX_HOURS, MAX_LIMIT, MetricsResponse, RecentCallsResponse,
    },
    ingest::{Direction, Outcome},
};
use axum::{
    body::Body,
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::Deserialize;
use time::{
    Date, OffsetDateTime, PrimitiveDateTime, format_description::well_known::Rfc3339,
    macros::format_description,
};
use utoipa::{IntoParams, ToSchema};

use super::{
    error::{ApiError, ErrorBody},
    extract::ApiQuery,
};
use crate::{
    auth::{Caller, Scope},
    dashboard, figures,
    state::AppState,
    storage::{
        CallRecord,
        reads::{CallFilter, CallKey, HourRange},
        record::{STATUS_ACTIVE, STATUS_ENDED, utc},
    },
};

/// `user_id` and `hours`, as the seed's period endpoints take them.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct PeriodQuery {
    /// Tenant to read. Tenants may omit it (their own) but not name another; admins may omit it
    /// for every tenant together.
    user_id: Option<String>,
    /// Period in whole UTC hours ending with the current one, 1–168 (default 24).
    hours: Option<u32>,
}

impl PeriodQuery {
    /// Whose rows, how many hours, and which rollup hours those are, now.
    fn resolve(&self, caller: &Caller) -> Result<(Scope, u32, HourRange), ApiError> {
        let scope = caller.scope(self.user_id.as_deref())?;
        let hours = ApiError::bounded("hours", self.hours, DEFAULT_HOURS, MAX_HOURS)?;
        Ok((
            scope,
            hours,
            dashboard::period(OffsetDateTime::now_utc(), hours),
        ))
    }
}

/// `user_id` alone.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct TenantQuery {
    /// Tenant to read (see `PeriodQuery`).
    user_id: Option<String>,
}

/// Filters of a call list (recent calls and the CSV export).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct CallsQuery {
    /// Tenant to read (see `PeriodQuery`).
    user_id: Option<String>,
    /// Calls per page, 1–100 (default 10). Not used by the export.
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    #[param(value_type = Option<String>)]
    status: Option<CallStatus>,
    #[param(value_type = Option<String>)]
    outcome: Option<Outcome>,
    #[param(value_type = Option<String>)]
    direction: Option<Direction>,
    /// Part of the phone number: digits, optionally a leading `+` (spaces, dashes, dots and
    /// brackets are ignored).
    phone: Option<String>,
    /// Started at or after: RFC 3339 time, or a date (`YYYY-MM-DD`, midnight UTC).
    from: Option<String>,
    /// Started before: RFC 3339 time, or a date (midnight UTC, so exclusive of that day).
    to: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(super) enum CallStatus {
    Active,
    Ended,
}

impl CallStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Active => STATUS_ACTIVE,
            Self::Ended => STATUS_ENDED,
        }
    }
}

fn instant(field: &str, value: Option<&str>) -> Result<Option<PrimitiveDateTime>, ApiError> {
    let Some(value) = value.map(str::trim).filter(|value| !value.is_empty()) else {
        return Ok(None);
    };
    if let Ok(at) = OffsetDateTime::parse(value, &Rfc3339) {
        return Ok(Some(utc(at)));
    }
    Date::parse(value, format_description!("[year]-[month]-[day]"))
        .map(|date| Some(date.midnight()))
        .map_err(|_| ApiError::invalid(field, "expected an RFC 3339 time or a YYYY-MM-DD date"))
}

impl CallsQuery {
    fn filter(&self) -> Result<CallFilter, ApiError> {
        let phone = match self.phone.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(phone) => {
                let kept: String = phone
                    .chars()
                    .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
                    .collect();
                let digits = kept.strip_prefix('+').unwrap_or(&kept);
                if digits.is_empty()
                    || kept.len() > 32
                    || !digits.chars().all(|c| c.is_ascii_digit())
                {
                    return Err(ApiError::invalid(
                        "phone",
                        "expected digits, optionally after a +",
                    ));
                }
                Some(kept)
            }
        };
        let filter = CallFilter {
            status: self.status.map(|status| status.as_str().to_owned()),
            outcome: self.outcome.map(|outcome| outcome.as_str().to_owned()),
            direction: self
                .direction
                .map(|direction| direction.as_str().to_owned()),
            phone,
            from: instant("from", self.from.as_deref())?,
            to: instant("to", self.to.as_deref())?,
        };
        if let (Some(from), Some(to)) = (filter.from, filter.to)
            && from >= to
        {
            return Err(ApiError::invalid("to", "must be after from"));
        }
        Ok(filter)
    }

    fn cursor(&self) -> Result<Option<CallKey>, ApiError> {
        page_cursor(self.cursor.as_deref())
    }
}

/// The `cursor` parameter of a time-ordered list (calls, reconciliation runs); empty is none.
pub(super) fn page_cursor(raw: Option<&str>) -> Result<Option<CallKey>, ApiError> {
    raw.filter(|cursor| !cursor.is_empty())
        .map(|cursor| {
            decode_cursor(cursor)
                .ok_or_else(|| ApiError::invalid("cursor", "not a cursor this API gave out"))
        })
        .transpose()
}

/// A page's continuation point, opaque to clients: `<unix nanoseconds>:<id>`, base64url.
pub(super) fn encode_cursor(started_at: PrimitiveDateTime, id: &str) -> String {
    let nanos = started_at.assume_utc().unix_timestamp_nanos();
    URL_SAFE_NO_PAD.encode(format!("{nanos}:{id}"))
}

fn decode_cursor(cursor: &str) -> Option<CallKey> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (nanos, id) = text.split_once(':')?;
    let at = OffsetDateTime::from_unix_timestamp_nanos(nanos.parse().ok()?).ok()?;
    Some(CallKey {
        started_at: utc(at),
        id: id.to_owned(),
    })
}

fn user_id(scope: &Scope) -> Option<String> {
    scope.tenant().map(str::to_owned)
}

/// Dashboard metrics over a period.
#[utoipa::path(get, path = "/dashboard/metrics", tag = "dashboard", params(PeriodQuery),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = MetricsResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn metrics(
    caller: Caller,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<PeriodQuery>,
) -> Result<axum::Json<MetricsResponse>, ApiError> {
    let (scope, hours, _) = query.resolve(&caller)?;
    let metrics = figures::metrics(
        &state.storage,
        scope.tenant(),
        hours,
        OffsetDateTime::now_utc(),
    )
    .await?;
    Ok(axum::Json(MetricsResponse {
        success: true,
        metrics,
        user_id: user_id(&scope),
    }))
}

/// Calls in progress now, oldest first (no period).
#[utoipa::path(get, path = "/dashboard/active-calls", tag = "dashboard", params(TenantQuery),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = ActiveCallsResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn active_calls(
    caller: Caller,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<TenantQuery>,
) -> Result<axum::Json<ActiveCallsResponse>, ApiError> {
    let scope = caller.scope(query.user_id.as_deref())?;
    let active_calls =
        figures::active_calls(&state.storage, scope.tenant(), OffsetDateTime::now_utc()).await?;
    Ok(axum::Json(ActiveCallsResponse {
        success: true,
        count: active_calls.len(),
        active_calls,
        user_id: user_id(&scope),
    }))
}

/// Calls newest first, filtered, a page at a time.
#[utoipa::path(get, path = "/dashboard/recent-calls", tag = "dashboard", params(CallsQuery),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = RecentCallsResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn recent_calls(
    caller: Caller,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<CallsQuery>,
) -> Result<axum::Json<RecentCallsResponse>, ApiError> {
    let scope = caller.scope(query.user_id.as_deref())?;
    let limit = i64::from(ApiError::bounded(
        "limit",
        query.limit,
        DEFAULT_LIMIT,
        MAX_LIMIT,
    )?);
    let filter = query.filter()?;
    let after = query.cursor()?;
    // One more than asked tells whether a next page exists.
    let mut calls = state
        .storage
        .list_calls(scope.tenant(), &filter, after.as_ref(), limit + 1)
        .await?;
    let more = calls.len() as i64 > limit;
    calls.truncate(limit as usize);
    let next_cursor = if more {
        calls
            .last()
            .map(|call| encode_cursor(call.started_at, &call.id))
    } else {
        None
    };
    let calls: Vec<_> = calls.into_iter().map(dashboard::call_summary).collect();
    Ok(axum::Json(RecentCallsResponse {
        success: true,
        count: calls.len(),
        calls,
        user_id: user_id(&scope),
        next_cursor,
    }))
}

/// Per-agent figures over a period, busiest first.
#[utoipa::path(get, path = "/dashboard/agent-performance", tag = "dashboard", params(PeriodQuery),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = AgentPerformanceResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn agent_performance(
    caller: Caller,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<PeriodQuery>,
) -> Result<axum::Json<AgentPerformanceResponse>, ApiError> {
    let (scope, hours, range) = query.resolve(&caller)?;
    let (totals, names) = tokio::try_join!(
        state.storage.period_totals(scope.tenant(), range),
        state.storage.agent_names(scope.tenant()),
    )?;
    let agents = dashboard::agent_performance(&totals, &names);
    Ok(axum::Json(AgentPerformanceResponse {
        success: true,
        count: agents.len(),
        agents,
        period_hours: hours,
        user_id: user_id(&scope),
    }))
}

/// Calls started per UTC hour of the period, every hour present.
#[utoipa::path(get, path = "/dashboard/calls-per-hour", tag = "dashboard", params(PeriodQuery),
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = CallsPerHourResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn calls_per_hour(
    caller: Caller,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<PeriodQuery>,
) -> Result<axum::Json<CallsPerHourResponse>, ApiError> {
    let (scope, hours, range) = query.resolve(&caller)?;
    let counts = state.storage.calls_per_hour(scope.tenant(), range).await?;
    Ok(axum::Json(CallsPerHourResponse {
        success: true,
        data: dashboard::calls_per_hour(range, &counts),
        period_hours: hours,
        user_id: user_id(&scope),
    }))
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
    let filter = query.filter()?;
    let after = query.cursor()?;
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

use futures::StreamExt;

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
    write(&mut writer).map_err(|error| ApiError::Internal(format!("CSV: {error}")))?;
    writer
        .into_inner()
        .map_err(|error| ApiError::Internal(format!("CSV: {error}")))
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
    fn cursors_round_trip_and_garbage_is_refused() {
        let started_at = time::macros::datetime!(2026-11-21 12:34:56.789);
        let key = decode_cursor(&encode_cursor(started_at, "call:1")).unwrap();
        assert_eq!((key.started_at, key.id.as_str()), (started_at, "call:1"));
        assert_eq!(decode_cursor("!!"), None);
        assert_eq!(decode_cursor(&URL_SAFE_NO_PAD.encode("x:y")), None);
    }

    #[test]
    fn formulas_are_defused_but_phone_numbers_kept() {
        assert_eq!(spreadsheet_safe("+12345678900"), "+12345678900");
        assert_eq!(spreadsheet_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(spreadsheet_safe("+1+cmd"), "'+1+cmd");
        assert_eq!(spreadsheet_safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(spreadsheet_safe("plain"), "plain");
    }
}
