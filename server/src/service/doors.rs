//! The data layer every door shares: [`DashboardData`] (declared by `app` for its server
//! functions) implemented over [`AppState`], plus the query rules — tenant scoping, bounds,
//! filters and cursors — that the REST handlers, the server functions and the CSV export all go
//! through. One implementation per figure and per rule; the doors only translate.

use std::time::Instant;

use app::{
    data::{ClientAddr, DashboardData, DataFuture},
    dto::{
        admin::{
            AdminActiveCallsResponse, AuditLogResponse, ComponentHealth, DlqActionResponse,
            DlqResponse, ReconciliationStatusResponse, ReconciliationTrigger,
            ReconciliationTriggerResponse, RunStatus, SystemHealth, TenantsResponse,
        },
        auth::{Identity, Permission},
        call_detail::CallDetailResponse,
        dashboard::{
            ActiveCallsResponse, AgentPerformanceResponse, CallsPerHourResponse, DEFAULT_HOURS,
            DEFAULT_LIMIT, MAX_HOURS, MAX_LIMIT, MetricsResponse, RecentCallsResponse, Tenant,
        },
        error::DataError,
        health::HealthStatus,
        query::{
            AuditQuery, CallsQuery, DlqQuery, PeriodQuery, RunsQuery, TenantQuery, UsersQuery,
        },
        tokens::ApiTokensResponse,
        users::{InvitationsResponse, LinkInfo, UsersResponse},
    },
};
use time::OffsetDateTime;
use tracing::error;

use crate::{
    dlq::DlqError,
    domain,
    domain::audit::Actor,
    domain::auth::{AuthError, Scope, require, scope_of},
    domain::cursor::{encode_cursor, page_cursor},
    runtime::state::AppState,
    service::figures::{self, FiguresError},
    service::ops,
    storage::{
        Backend, StorageError,
        reads::{CallFilter, HourRange},
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
        } else if error == AuthError::Unchecked {
            Self::Unavailable(error.message().to_owned())
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
            FiguresError::NoCall(id) => DataError::NotFound(format!("no call {id}")),
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
        domain::figures::period(OffsetDateTime::now_utc(), hours),
    ))
}

/// The tenant(s) `caller` reads when naming `requested`.
pub fn scope(caller: &Identity, requested: Option<&str>) -> Result<Scope, DataError> {
    Ok(scope_of(caller, requested)?)
}

fn user_id(scope: &Scope) -> Option<String> {
    scope.tenant().map(str::to_owned)
}

/// The storage filter of a call list's query, checked by the query's own rules, its dates in
/// the query's zone (`tz`).
pub fn call_filter(query: &CallsQuery) -> Result<CallFilter, DataError> {
    let filter = query.filter()?;
    Ok(CallFilter {
        status: filter.status.map(|status| status.as_str().to_owned()),
        outcome: filter.outcome.map(|outcome| outcome.as_str().to_owned()),
        direction: filter
            .direction
            .map(|direction| direction.as_str().to_owned()),
        phone: filter.phone,
        search: filter.search,
        agent: filter.agent,
        from: filter.from.map(utc),
        to: filter.to.map(utc),
    })
}

/// The page size of a call list's query, 1–[`MAX_LIMIT`] (default [`DEFAULT_LIMIT`]).
pub fn page_limit(query: &CallsQuery) -> Result<i64, DataError> {
    Ok(i64::from(DataError::bounded(
        "limit",
        query.limit,
        DEFAULT_LIMIT,
        MAX_LIMIT,
    )?))
}

fn component(kind: &str, started: Instant, result: Result<(), String>) -> ComponentHealth {
    let latency_ms = Some((started.elapsed().as_secs_f64() * 1e5).round() / 100.0);
    match result {
        Ok(()) => ComponentHealth {
            status: HealthStatus::Healthy,
            kind: kind.to_owned(),
            latency_ms,
            error: None,
        },
        Err(error) => ComponentHealth {
            status: HealthStatus::Down,
            kind: kind.to_owned(),
            latency_ms: None,
            error: Some(error),
        },
    }
}

/// How long a health check waits for the database or Redis before calling it unreachable: a
/// pool waiting for a dead server would otherwise hold the check for its whole acquire timeout,
/// and load balancers give up after a few seconds.
const PING_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

async fn ping<E: std::fmt::Display>(
    kind: &str,
    ping: impl Future<Output = Result<(), E>>,
) -> ComponentHealth {
    let started = Instant::now();
    let result = match tokio::time::timeout(PING_TIMEOUT, ping).await {
        Ok(result) => result.map_err(|error| error.to_string()),
        Err(_) => Err(format!("no answer within {} s", PING_TIMEOUT.as_secs())),
    };
    component(kind, started, result)
}

/// The database, pinged once.
pub(crate) async fn database_health(state: &AppState) -> ComponentHealth {
    let kind = match state.storage.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    ping(kind, state.storage.ping()).await
}

/// Live state: Redis, pinged once, or the embedded registry (always there).
pub(crate) async fn live_state_health(state: &AppState) -> ComponentHealth {
    match &state.redis {
        Some(redis) => ping("redis", redis.ping()).await,
        None => component("embedded", Instant::now(), Ok(())),
    }
}

/// Database, live state (Redis or embedded), DLQ, stale calls and the last reconciliation,
/// with an overall verdict. Never an error: what cannot be read is a reason in the verdict.
async fn system_health(state: &AppState) -> SystemHealth {
    let (database, live_state) = tokio::join!(database_health(state), live_state_health(state));
    let dlq = figures::dlq_summary(&state.dlq).await.ok();
    let now = OffsetDateTime::now_utc();
    let live = state.registry.snapshot(None, now);
    let (warning_calls, stale_calls) =
        figures::warning_and_stale(live.iter().map(|(_, health)| *health));
    let last_reconciliation = match state.storage.last_reconciliation().await {
        Ok(run) => run.map(figures::reconciliation_summary),
        Err(_) => None,
    };

    let dlq_final_failures = dlq.map(|dlq| dlq.final_failures);
    let mut down = Vec::new();
    let mut degraded = Vec::new();
    if let Some(error) = &database.error {
        down.push(format!("database unreachable: {error}"));
    }
    if let Some(error) = &live_state.error {
        degraded.push(format!("Redis unreachable: {error}"));
    }
    match dlq_final_failures {
        None => degraded.push("dead-letter queue unreadable".to_owned()),
        Some(0) => {}
        Some(n) => degraded.push(format!("{n} DLQ message(s) failed for good")),
    }
    if stale_calls > 0 {
        degraded.push(format!("{stale_calls} live call(s) stale"));
    }
    if last_reconciliation
        .as_ref()
        .is_some_and(|run| run.status == RunStatus::Failed)
    {
        degraded.push("the last reconciliation failed".to_owned());
    }
    let status = if !down.is_empty() {
        HealthStatus::Down
    } else if !degraded.is_empty() {
        HealthStatus::Degraded
    } else {
        HealthStatus::Healthy
    };
    down.extend(degraded);
    SystemHealth {
        success: true,
        status,
        database,
        live_state,
        dlq_depth: dlq.map(|dlq| dlq.depth),
        dlq_final_failures,
        active_calls: live.len(),
        warning_calls,
        stale_calls,
        last_reconciliation,
        reasons: down,
        checked_at: now,
    }
}

/// Refuses a caller whose role does not allow `permission`.
fn permitted(caller: &Identity, permission: Permission) -> Result<(), DataError> {
    Ok(require(caller, permission)?)
}

impl DashboardData for AppState {
    fn invitations<'a>(&'a self, caller: &'a Identity) -> DataFuture<'a, InvitationsResponse> {
        Box::pin(super::links::invitations(self, caller))
    }

    fn link_page<'a>(&'a self, secret: &'a str) -> DataFuture<'a, LinkInfo> {
        Box::pin(super::links::page(self, secret))
    }

    fn api_tokens<'a>(
        &'a self,
        headers: &'a axum::http::HeaderMap,
    ) -> DataFuture<'a, ApiTokensResponse> {
        Box::pin(async move {
            let verified = self.verify_request(headers).await?;
            super::api_tokens::list(self, &verified).await
        })
    }

    fn identify<'a>(&'a self, headers: &'a axum::http::HeaderMap) -> DataFuture<'a, Identity> {
        Box::pin(async move { Ok(AppState::identify(self, headers).await?) })
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
            let limit = page_limit(query)?;
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
            let calls: Vec<_> = calls
                .into_iter()
                .map(domain::figures::call_summary)
                .collect();
            Ok(RecentCallsResponse {
                success: true,
                count: calls.len(),
                calls,
                user_id: user_id(&scope),
                next_cursor,
            })
        })
    }

    fn call_detail<'a>(
        &'a self,
        caller: &'a Identity,
        id: &'a str,
    ) -> DataFuture<'a, CallDetailResponse> {
        Box::pin(async move {
            let scope = scope(caller, None)?;
            figures::call_detail(&self.storage, scope.tenant(), id)
                .await?
                .ok_or_else(|| FiguresError::NoCall(id.to_owned()).into())
        })
    }

    fn agent_performance<'a>(
        &'a self,
        caller: &'a Identity,
        query: &'a PeriodQuery,
    ) -> DataFuture<'a, AgentPerformanceResponse> {
        Box::pin(async move {
            let (scope, hours, range) = period(caller, query)?;
            let (totals, latency, names) = tokio::try_join!(
                self.storage.period_totals(scope.tenant(), range),
                self.storage.latency_totals(scope.tenant(), range),
                self.storage.agent_names(scope.tenant()),
            )?;
            let agents = domain::figures::agent_performance(&totals, &latency, &names);
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
                data: domain::figures::calls_per_hour(range, &counts),
                period_hours: hours,
                user_id: user_id(&scope),
            })
        })
    }

    fn system_health<'a>(&'a self, caller: &'a Identity) -> DataFuture<'a, SystemHealth> {
        Box::pin(async move {
            permitted(caller, Permission::ReadOps)?;
            Ok(system_health(self).await)
        })
    }

    fn tenants<'a>(&'a self, caller: &'a Identity) -> DataFuture<'a, TenantsResponse> {
        Box::pin(async move {
            permitted(caller, Permission::ReadOps)?;
            let tenants = self
                .storage
                .tenants()
                .await?
                .into_iter()
                .map(|(id, name)| Tenant { id, name })
                .collect();
            Ok(TenantsResponse {
                success: true,
                tenants,
            })
        })
    }

    fn live_calls<'a>(
        &'a self,
        caller: &'a Identity,
        query: &'a TenantQuery,
    ) -> DataFuture<'a, AdminActiveCallsResponse> {
        Box::pin(async move {
            permitted(caller, Permission::ReadOps)?;
            ops::live_calls(self, query.user_id.as_deref()).await
        })
    }

    fn dlq<'a>(&'a self, caller: &'a Identity, query: &'a DlqQuery) -> DataFuture<'a, DlqResponse> {
        Box::pin(async move {
            permitted(caller, Permission::ReadOps)?;
            ops::dlq(self, query).await
        })
    }

    fn dlq_retry<'a>(
        &'a self,
        caller: &'a Identity,
        client: &'a ClientAddr,
        id: &'a str,
    ) -> DataFuture<'a, DlqActionResponse> {
        Box::pin(async move {
            permitted(caller, Permission::ActOnDlq)?;
            ops::dlq_retry(self, Actor::user(caller), client.clone(), id).await
        })
    }

    fn dlq_retry_all<'a>(
        &'a self,
        caller: &'a Identity,
        client: &'a ClientAddr,
    ) -> DataFuture<'a, DlqActionResponse> {
        Box::pin(async move {
            permitted(caller, Permission::ActOnDlq)?;
            ops::dlq_retry_all(self, Actor::user(caller), client.clone()).await
        })
    }

    fn dlq_discard<'a>(
        &'a self,
        caller: &'a Identity,
        client: &'a ClientAddr,
        id: &'a str,
    ) -> DataFuture<'a, DlqActionResponse> {
        Box::pin(async move {
            permitted(caller, Permission::ActOnDlq)?;
            ops::dlq_discard(self, Actor::user(caller), client.clone(), id).await
        })
    }

    fn reconciliation<'a>(
        &'a self,
        caller: &'a Identity,
        query: &'a RunsQuery,
    ) -> DataFuture<'a, ReconciliationStatusResponse> {
        Box::pin(async move {
            permitted(caller, Permission::ReadOps)?;
            ops::reconciliation(self, query).await
        })
    }

    fn reconcile_now<'a>(
        &'a self,
        caller: &'a Identity,
        client: &'a ClientAddr,
    ) -> DataFuture<'a, ReconciliationTriggerResponse> {
        Box::pin(async move {
            permitted(caller, Permission::RunReconciliation)?;
            let actor = Actor::user(caller);
            ops::reconcile_now(self, ReconciliationTrigger::Admin, actor, client.clone()).await
        })
    }

    fn audit_log<'a>(
        &'a self,
        caller: &'a Identity,
        query: &'a AuditQuery,
    ) -> DataFuture<'a, AuditLogResponse> {
        Box::pin(async move {
            permitted(caller, Permission::ReadAudit)?;
            ops::audit_log(self, query).await
        })
    }

    fn users<'a>(
        &'a self,
        caller: &'a Identity,
        query: &'a UsersQuery,
    ) -> DataFuture<'a, UsersResponse> {
        Box::pin(super::users::list(self, caller, query))
    }
}
