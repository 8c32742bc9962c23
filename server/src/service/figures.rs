//! The dashboard's figures as every door reads them — the REST API, the live hub's snapshots and
//! pushes, and (next) server functions — so each figure has exactly one implementation: storage,
//! the live registry and the DLQ in, the shared DTO out, computed by the rules of
//! [`crate::domain::figures`].

use std::collections::HashMap;

use app::dto::{
    admin::{LiveCallHealth, ReconciliationSummary, ReconciliationTrigger, RunStatus},
    call_detail::CallDetailResponse,
    calls::HeartbeatHealth,
    dashboard::{ActiveCall, DEFAULT_HOURS, Metrics},
    live::{DlqSummary, InitialState, LiveCalls, METRIC_PERIODS, OpsState, RECENT_CALLS},
};
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::{
    dlq::{DeadLetterQueue, DlqError},
    domain,
    live::registry::LiveRegistry,
    storage::{
        CallRecord, Storage, StorageError,
        operations::ReconciliationRow,
        reads::{CallFilter, PeriodTotals},
    },
};

/// A figure could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FiguresError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Dlq(#[from] DlqError),
    /// No such call among those the reader may see (a 404), or a call's room outlived its call.
    #[error("no call {0}")]
    NoCall(String),
}

/// Call `id`'s page, or `None` when `tenant` (every tenant: `None`) has no such call.
pub async fn call_detail(
    storage: &Storage,
    tenant: Option<&str>,
    id: &str,
) -> Result<Option<CallDetailResponse>, StorageError> {
    // No stored id is longer (validation); nothing to look up.
    if id.is_empty() || id.chars().count() > crate::ingest::validate::MAX_ID {
        return Ok(None);
    }
    let Some(timeline) = storage.call_timeline(tenant, id).await? else {
        return Ok(None);
    };
    let agent_name = match &timeline.call.agent_config_id {
        Some(agent) => storage
            .agent_names(Some(&timeline.call.user_id))
            .await?
            .remove(agent),
        None => None,
    };
    Ok(Some(domain::call_detail::call_detail(timeline, agent_name)))
}

/// The metric cards over `hours` ending now (see [`app::dto::dashboard`] for the meanings).
pub async fn metrics(
    storage: &Storage,
    tenant: Option<&str>,
    hours: u32,
    now: OffsetDateTime,
) -> Result<Metrics, StorageError> {
    let (totals, active) = tokio::try_join!(
        storage.period_totals(tenant, domain::figures::period(now, hours)),
        storage.count_active(tenant),
    )?;
    Ok(domain::figures::metrics(&totals, active, hours))
}

/// The metric cards for every period of the page's selector ([`METRIC_PERIODS`]).
pub async fn metric_periods(
    storage: &Storage,
    tenant: Option<&str>,
    now: OffsetDateTime,
) -> Result<Vec<Metrics>, StorageError> {
    match tenant {
        Some(tenant) => Ok(metric_periods_of(storage, &[tenant.to_owned()], now)
            .await?
            .remove(tenant)
            .unwrap_or_default()),
        None => {
            let totals = futures::future::try_join_all(
                METRIC_PERIODS
                    .map(|hours| storage.period_totals(None, domain::figures::period(now, hours))),
            );
            let (totals, active) = tokio::try_join!(totals, storage.count_active(None))?;
            Ok(totals
                .iter()
                .zip(METRIC_PERIODS)
                .map(|(totals, hours)| domain::figures::metrics(totals, active, hours))
                .collect())
        }
    }
}

/// [`metric_periods`] of each of `tenants`, in one statement per period whatever their number.
pub async fn metric_periods_of(
    storage: &Storage,
    tenants: &[String],
    now: OffsetDateTime,
) -> Result<HashMap<String, Vec<Metrics>>, StorageError> {
    let totals = futures::future::try_join_all(
        METRIC_PERIODS
            .map(|hours| storage.period_totals_of(tenants, domain::figures::period(now, hours))),
    );
    let (totals, active) = tokio::try_join!(totals, storage.count_active_of(tenants))?;
    let mut by_tenant: HashMap<&str, Vec<Vec<PeriodTotals>>> = tenants
        .iter()
        .map(|tenant| (tenant.as_str(), vec![Vec::new(); METRIC_PERIODS.len()]))
        .collect();
    for (period, rows) in totals.into_iter().enumerate() {
        for row in rows {
            if let Some(periods) = by_tenant.get_mut(row.user_id.as_str()) {
                periods[period].push(row.totals);
            }
        }
    }
    Ok(by_tenant
        .into_iter()
        .map(|(tenant, periods)| {
            let active = active.get(tenant).copied().unwrap_or(0);
            let metrics = periods
                .iter()
                .zip(METRIC_PERIODS)
                .map(|(totals, hours)| domain::figures::metrics(totals, active, hours))
                .collect();
            (tenant.to_owned(), metrics)
        })
        .collect())
}

/// Calls in progress, oldest first, with their duration so far.
pub async fn active_calls(
    storage: &Storage,
    tenant: Option<&str>,
    now: OffsetDateTime,
) -> Result<Vec<ActiveCall>, StorageError> {
    Ok(storage
        .active_calls_of(tenant)
        .await?
        .iter()
        .map(|call| domain::figures::active_call(call, now))
        .collect())
}

/// [`active_calls`] of each of `tenants`, in one statement.
pub async fn active_calls_of(
    storage: &Storage,
    tenants: &[String],
    now: OffsetDateTime,
) -> Result<HashMap<String, Vec<ActiveCall>>, StorageError> {
    let mut by_tenant: HashMap<String, Vec<ActiveCall>> = tenants
        .iter()
        .map(|tenant| (tenant.clone(), Vec::new()))
        .collect();
    for call in storage.active_calls_of_tenants(tenants).await? {
        if let Some(calls) = by_tenant.get_mut(&call.user_id) {
            calls.push(domain::figures::active_call(&call, now));
        }
    }
    Ok(by_tenant)
}

/// A calls room's whole state: what Socket.IO's `initial_state` and a `/ws` snapshot carry.
pub async fn initial_state(
    storage: &Storage,
    tenant: Option<&str>,
    now: OffsetDateTime,
) -> Result<InitialState, StorageError> {
    let everything = CallFilter::default();
    let (active_calls, periods, recent) = tokio::try_join!(
        active_calls(storage, tenant, now),
        metric_periods(storage, tenant, now),
        storage.list_calls(tenant, &everything, None, RECENT_CALLS as i64),
    )?;
    let metrics = periods
        .iter()
        .find(|metrics| metrics.period_hours == DEFAULT_HOURS)
        .cloned()
        .unwrap_or_else(|| domain::figures::metrics(&[], 0, DEFAULT_HOURS));
    Ok(InitialState {
        active_calls,
        outcome_distribution: metrics.outcome_counts.clone(),
        metrics,
        recent_calls: recent
            .iter()
            .map(CallRecord::live_copy)
            .map(domain::figures::call_summary)
            .collect(),
        periods,
        timestamp: now,
    })
}

/// Live calls (of one tenant, or all) with business name, last heartbeat and health, from the
/// in-memory registry; the names in one query, never one per call.
pub async fn live_calls(
    storage: &Storage,
    registry: &LiveRegistry,
    tenant: Option<&str>,
    now: OffsetDateTime,
) -> Result<LiveCalls, StorageError> {
    let live = registry.snapshot(tenant, now);
    let names: HashMap<String, String> = storage.tenants().await?.into_iter().collect();
    let active_calls: Vec<LiveCallHealth> = live
        .into_iter()
        .map(|(live, health)| LiveCallHealth {
            business_name: names
                .get(&live.call.user_id)
                .cloned()
                .unwrap_or_else(|| live.call.user_id.clone()),
            last_heartbeat_at: live
                .call
                .last_heartbeat_at
                .map(PrimitiveDateTime::assume_utc),
            heartbeat_age_seconds: live.age(now).whole_seconds().max(0),
            health,
            call: domain::figures::active_call(&live.call, now),
        })
        .collect();
    let (warning_count, stale_count) = warning_and_stale(active_calls.iter().map(|c| c.health));
    Ok(LiveCalls {
        count: active_calls.len(),
        warning_count,
        stale_count,
        active_calls,
    })
}

/// How many of these live calls are in the warning band, and how many are stale.
pub fn warning_and_stale(healths: impl IntoIterator<Item = HeartbeatHealth>) -> (usize, usize) {
    healths
        .into_iter()
        .fold((0, 0), |(warning, stale), health| match health {
            HeartbeatHealth::Warning => (warning + 1, stale),
            HeartbeatHealth::Stale => (warning, stale + 1),
            HeartbeatHealth::Healthy => (warning, stale),
        })
}

pub async fn dlq_summary(dlq: &DeadLetterQueue) -> Result<DlqSummary, DlqError> {
    let (depth, final_failures) = tokio::try_join!(dlq.depth(), dlq.final_failures())?;
    Ok(DlqSummary {
        depth,
        final_failures,
    })
}

/// A recorded run as every door shows it. Rows only ever hold the values the schema's CHECKs
/// allow; anything else reads as a failed admin run rather than failing the whole answer.
pub fn reconciliation_summary(run: ReconciliationRow) -> ReconciliationSummary {
    ReconciliationSummary {
        id: run.id,
        trigger: ReconciliationTrigger::parse(&run.trigger).unwrap_or(ReconciliationTrigger::Admin),
        triggered_by: run.triggered_by,
        status: RunStatus::parse(&run.status).unwrap_or(RunStatus::Failed),
        started_at: run.started_at.assume_utc(),
        finished_at: run.finished_at.map(PrimitiveDateTime::assume_utc),
        stale_closed: run.stale_closed,
        backfilled: run.backfilled,
        live_cleared: run.live_cleared,
        dlq_retried: run.dlq_retried,
        dlq_rearmed: run.dlq_rearmed,
        error: run.error,
    }
}

/// The ops room's whole state.
pub async fn ops_state(
    storage: &Storage,
    registry: &LiveRegistry,
    dlq: &DeadLetterQueue,
    now: OffsetDateTime,
) -> Result<OpsState, FiguresError> {
    let (live, dlq, last) = tokio::try_join!(
        async { Ok::<_, FiguresError>(live_calls(storage, registry, None, now).await?) },
        async { Ok(dlq_summary(dlq).await?) },
        async { Ok(storage.last_reconciliation().await?) },
    )?;
    Ok(OpsState {
        live,
        dlq,
        last_reconciliation: last.map(reconciliation_summary),
        timestamp: now,
    })
}
