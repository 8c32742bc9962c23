//! The data layer every door shares: [`DashboardData`] (declared by `app` for its server
//! functions) implemented over [`AppState`], plus the query rules — tenant scoping, bounds,
//! filters and cursors — that the REST handlers, the server functions and the CSV export all go
//! through. One implementation per figure and per rule; the doors only translate.

use app::{
    data::{DashboardData, DataFuture},
    dto::{
        auth::Identity,
        dashboard::{
            ActiveCallsResponse, AgentPerformanceResponse, CallsPerHourResponse, DEFAULT_HOURS,
            DEFAULT_LIMIT, MAX_HOURS, MAX_LIMIT, MetricsResponse, RecentCallsResponse,
        },
        error::DataError,
        query::{CallsQuery, PeriodQuery, TenantQuery},
    },
};
use time::{OffsetDateTime, PrimitiveDateTime};
use tracing::error;

use crate::{
    auth::{AuthError, Scope, scope_of},
    dashboard,
    dlq::DlqError,
    figures::{self, FiguresError},
    state::AppState,
    storage::{
        StorageError,
        reads::{CallFilter, CallKey, HourRange},
        record::utc,
    },
};

/// A 500 whose detail is logged here, once; the caller sees none of it.
pub fn internal(detail: impl Into<String>) -> DataError {
    let detail = detail.into();
    error!(%detail, "internal error");
    DataError::Internal(detail)
}

impl From<AuthError> for DataError {
    fn from(error: AuthError) -> Self {
        if error.is_forbidden() {
            Self::Forbidden(error.message().to_owned())
        } else {
            Self::Unauthorized(error.message().to_owned())
        }
    }
}

impl From<StorageError> for DataError {
    fn from(error: StorageError) -> Self {
        match &error {
            StorageError::Database(
                sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed,
            ) => Self::Unavailable("the database is unavailable; try again shortly".into()),
            _ => internal(error.to_string()),
        }
    }
}

impl From<DlqError> for DataError {
    fn from(error: DlqError) -> Self {
        internal(format!("dead-letter queue: {error}"))
    }
}

impl From<FiguresError> for DataError {
    fn from(error: FiguresError) -> Self {
        match error {
            FiguresError::Storage(error) => error.into(),
            FiguresError::Dlq(error) => error.into(),
        }
    }
}

/// Whose rows, how many hours, and which rollup hours those are, now.
fn period(caller: &Identity, query: &PeriodQuery) -> Result<(Scope, u32, HourRange), DataError> {
    let scope = scope(caller, query.user_id.as_deref())?;
    let hours = DataError::bounded("hours", query.hours, DEFAULT_HOURS, MAX_HOURS)?;
    Ok((
        scope,
        hours,
        dashboard::period(OffsetDateTime::now_utc(), hours),
    ))
}

/// The tenant(s) `caller` reads when naming `requested`.
pub fn scope(caller: &Identity, requested: Option<&str>) -> Result<Scope, DataError> {
    Ok(scope_of(caller, requested)?)
}

fn user_id(scope: &Scope) -> Option<String> {
    scope.tenant().map(str::to_owned)
}

/// The storage filter of a call list's query, checked by the query's own rules.
pub fn call_filter(query: &CallsQuery) -> Result<CallFilter, DataError> {
    let filter = query.filter()?;
    Ok(CallFilter {
        status: filter.status.map(|status| status.as_str().to_owned()),
        outcome: filter.outcome.map(|outcome| outcome.as_str().to_owned()),
        direction: filter
            .direction
            .map(|direction| direction.as_str().to_owned()),
        phone: filter.phone,
        from: filter.from.map(utc),
        to: filter.to.map(utc),
    })
}

/// The `cursor` parameter of a time-ordered list (calls, reconciliation runs); empty is none.
pub fn page_cursor(raw: Option<&str>) -> Result<Option<CallKey>, DataError> {
    raw.filter(|cursor| !cursor.is_empty())
        .map(|cursor| {
            decode_cursor(cursor)
                .ok_or_else(|| DataError::invalid("cursor", "not a cursor this API gave out"))
        })
        .transpose()
}

/// A page's continuation point (see [`app::dto::query::encode_cursor`]).
pub fn encode_cursor(started_at: PrimitiveDateTime, id: &str) -> String {
    app::dto::query::encode_cursor(started_at.assume_utc(), id)
}

fn decode_cursor(cursor: &str) -> Option<CallKey> {
    let (at, id) = app::dto::query::decode_cursor(cursor)?;
    Some(CallKey {
        started_at: utc(at),
        id,
    })
}

impl DashboardData for AppState {
    fn identify(&self, headers: &axum::http::HeaderMap) -> Result<Identity, DataError> {
        Ok(self.jwt.identify(headers)?)
    }

    fn metrics<'a>(
        &'a self,
        caller: &'a Identity,
        query: &'a PeriodQuery,
    ) -> DataFuture<'a, MetricsResponse> {
        Box::pin(async move {
            let (scope, hours, _) = period(caller, query)?;
            let metrics = figures::metrics(
                &self.storage,
                scope.tenant(),
                hours,
                OffsetDateTime::now_utc(),
            )
            .await?;
            Ok(MetricsResponse {
                success: true,
                metrics,
                user_id: user_id(&scope),
            })
        })
    }

    fn active_calls<'a>(
        &'a self,
        caller: &'a Identity,
        query: &'a TenantQuery,
    ) -> DataFuture<'a, ActiveCallsResponse> {
        Box::pin(async move {
            let scope = scope(caller, query.user_id.as_deref())?;
            let active_calls =
                figures::active_calls(&self.storage, scope.tenant(), OffsetDateTime::now_utc())
                    .await?;
            Ok(ActiveCallsResponse {
                success: true,
                count: active_calls.len(),
                active_calls,
                user_id: user_id(&scope),
            })
        })
    }

    fn recent_calls<'a>(
        &'a self,
        caller: &'a Identity,
        query: &'a CallsQuery,
    ) -> DataFuture<'a, RecentCallsResponse> {
        Box::pin(async move {
            let scope = scope(caller, query.user_id.as_deref())?;
            let limit = i64::from(DataError::bounded(
                "limit",
                query.limit,
                DEFAULT_LIMIT,
                MAX_LIMIT,
            )?);
            let filter = call_filter(query)?;
            let after = page_cursor(query.cursor.as_deref())?;
            // One more than asked tells whether a next page exists.
            let mut calls = self
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
            Ok(RecentCallsResponse {
                success: true,
                count: calls.len(),
                calls,
                user_id: user_id(&scope),
                next_cursor,
            })
        })
    }

    fn agent_performance<'a>(
        &'a self,
        caller: &'a Identity,
        query: &'a PeriodQuery,
    ) -> DataFuture<'a, AgentPerformanceResponse> {
        Box::pin(async move {
            let (scope, hours, range) = period(caller, query)?;
            let (totals, names) = tokio::try_join!(
                self.storage.period_totals(scope.tenant(), range),
                self.storage.agent_names(scope.tenant()),
            )?;
            let agents = dashboard::agent_performance(&totals, &names);
            Ok(AgentPerformanceResponse {
                success: true,
                count: agents.len(),
                agents,
                period_hours: hours,
                user_id: user_id(&scope),
            })
        })
    }

    fn calls_per_hour<'a>(
        &'a self,
        caller: &'a Identity,
        query: &'a PeriodQuery,
    ) -> DataFuture<'a, CallsPerHourResponse> {
        Box::pin(async move {
            let (scope, hours, range) = period(caller, query)?;
            let counts = self.storage.calls_per_hour(scope.tenant(), range).await?;
            Ok(CallsPerHourResponse {
                success: true,
                data: dashboard::calls_per_hour(range, &counts),
                period_hours: hours,
                user_id: user_id(&scope),
            })
        })
    }
}
