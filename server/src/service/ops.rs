//! The ops board's reads and actions, whichever door asks — the admin API, the page's server
//! functions ([`crate::service::doors`]) or seed 002's internal-key paths: live calls across tenants, the
//! dead-letter queue and what an operator does to it, reconciliation runs, and the audit log.
//! The door checks who is asking (an admin, or the internal key); everything after is here,
//! once, and every action is recorded in the audit log.

use app::dto::{
    admin::{
        AdminActiveCallsResponse, AuditLogResponse, DlqActionResponse, DlqMessage, DlqResponse,
        ReconciliationStatusResponse, ReconciliationTrigger, ReconciliationTriggerResponse,
    },
    error::DataError,
    query::{AuditQuery, DlqQuery, RunsQuery},
};
use time::OffsetDateTime;

use crate::{
    dlq::DeadLetter,
    domain::audit::{self, Action, Actor, ClientAddr, Entry},
    domain::cursor::{encode_cursor, page_cursor},
    live::bus::BusEvent,
    runtime::state::AppState,
    service::figures::{self, reconciliation_summary},
    service::reconcile::{self, ReconcileError},
};

impl From<ReconcileError> for DataError {
    fn from(error: ReconcileError) -> Self {
        match error {
            ReconcileError::Storage(error) => error.into(),
            ReconcileError::Dlq(error) => error.into(),
            ReconcileError::Redis(error) => Self::Unavailable(format!("Redis: {error}")),
        }
    }
}

/// Live calls across tenants (or `tenant`'s) with business name, last heartbeat and health.
pub async fn live_calls(
    state: &AppState,
    tenant: Option<&str>,
) -> Result<AdminActiveCallsResponse, DataError> {
    let live = figures::live_calls(
        &state.storage,
        &state.registry,
        tenant,
        OffsetDateTime::now_utc(),
    )
    .await?;
    Ok(AdminActiveCallsResponse {
        success: true,
        active_calls: live.active_calls,
        count: live.count,
        warning_count: live.warning_count,
        stale_count: live.stale_count,
    })
}

fn dlq_message(letter: DeadLetter) -> DlqMessage {
    DlqMessage {
        final_failure: letter.is_final(),
        id: letter.id,
        call_id: letter.call_id,
        user_id: letter.user_id,
        event_type: letter.event.0.event_type.as_str().to_owned(),
        error: letter.error,
        failure: letter.kind,
        attempts: letter.attempts,
        max_attempts: letter.max_attempts,
        next_retry_at: letter.next_retry_at,
        created_at: letter.created_at,
    }
}

/// The dead-letter queue: depth, final failures and the oldest messages.
pub async fn dlq(state: &AppState, query: &DlqQuery) -> Result<DlqResponse, DataError> {
    let limit = i64::from(DataError::bounded("limit", query.limit, 100, 1000)?);
    let (depth, final_failures, letters) = tokio::try_join!(
        state.dlq.depth(),
        state.dlq.final_failures(),
        state.dlq.page(query.after, limit)
    )?;
    let next_after = letters
        .last()
        .filter(|_| letters.len() as i64 == limit)
        .map(|last| last.id);
    Ok(DlqResponse {
        success: true,
        depth,
        final_failures,
        messages: letters.into_iter().map(dlq_message).collect(),
        next_after,
    })
}

fn message_id(raw: &str) -> Result<i64, DataError> {
    raw.trim()
        .parse()
        .map_err(|_| DataError::invalid("id", "expected a message id (an integer)"))
}

/// Tells every watcher the queue changed, and answers with what an action touched.
async fn after_dlq_action(state: &AppState, affected: u64) -> Result<DlqActionResponse, DataError> {
    let depth = state.dlq.depth().await?;
    state.announce(BusEvent::DlqChanged { depth }).await;
    Ok(DlqActionResponse {
        success: true,
        affected,
        depth,
    })
}

/// Records an action on message `id` (found or not) and answers: 404, or what it touched.
async fn after_one_message(
    state: &AppState,
    entry: Entry,
    id: i64,
    found: bool,
) -> Result<DlqActionResponse, DataError> {
    state
        .audit(entry.result(if found { "ok" } else { "not_found" }))
        .await;
    if !found {
        return Err(DataError::NotFound(format!("no DLQ message {id}")));
    }
    after_dlq_action(state, 1).await
}

/// Retries dead letter `id` now (final failures included); the retrier picks it up within a
/// second.
pub async fn dlq_retry(
    state: &AppState,
    actor: Actor,
    client: ClientAddr,
    id: &str,
) -> Result<DlqActionResponse, DataError> {
    let id = message_id(id)?;
    let found = state.dlq.retry_now(id).await?;
    let entry = Entry::new(actor, Action::DlqRetry, client).target(id);
    after_one_message(state, entry, id, found).await
}

/// Retries every dead letter now.
pub async fn dlq_retry_all(
    state: &AppState,
    actor: Actor,
    client: ClientAddr,
) -> Result<DlqActionResponse, DataError> {
    let affected = state.dlq.retry_all_now().await?;
    let entry = Entry::new(actor, Action::DlqRetryAll, client);
    state.audit(entry.detail("affected", affected)).await;
    after_dlq_action(state, affected).await
}

/// Gives up on dead letter `id`: it leaves the queue unwritten, and the audit log keeps what
/// it was.
pub async fn dlq_discard(
    state: &AppState,
    actor: Actor,
    client: ClientAddr,
    id: &str,
) -> Result<DlqActionResponse, DataError> {
    let id = message_id(id)?;
    let letter = state.dlq.get(id).await?;
    let found = state.dlq.discard(id).await?;
    let mut entry = Entry::new(actor, Action::DlqDiscard, client).target(id);
    if let Some(letter) = letter.filter(|_| found) {
        entry = entry
            .detail("call_id", letter.call_id)
            .detail("user_id", letter.user_id)
            .detail("event_type", letter.event.0.event_type.as_str())
            .detail("error", letter.error);
    }
    after_one_message(state, entry, id, found).await
}

/// The run going on (if any), the last finished run and a page of the history, newest first.
pub async fn reconciliation(
    state: &AppState,
    query: &RunsQuery,
) -> Result<ReconciliationStatusResponse, DataError> {
    let limit = DataError::bounded("limit", query.limit, 20, 100)?;
    let after = page_cursor(query.cursor.as_deref())?;
    let (running, last, mut runs) = tokio::try_join!(
        state.storage.running_reconciliation(),
        state.storage.last_reconciliation(),
        state
            .storage
            .reconciliations(after.as_ref(), i64::from(limit) + 1),
    )?;
    let more = runs.len() > limit as usize;
    runs.truncate(limit as usize);
    let next_cursor = more
        .then(|| {
            runs.last()
                .map(|run| encode_cursor(run.started_at, &run.id))
        })
        .flatten();
    Ok(ReconciliationStatusResponse {
        success: true,
        running: running.map(reconciliation_summary),
        last_run: last.map(reconciliation_summary),
        schedule_interval_seconds: state.config.reconcile_interval.as_secs(),
        runs: runs.into_iter().map(reconciliation_summary).collect(),
        next_cursor,
    })
}

/// Starts a run (or names the one going) and records who asked.
pub async fn reconcile_now(
    state: &AppState,
    trigger: ReconciliationTrigger,
    actor: Actor,
    client: ClientAddr,
) -> Result<ReconciliationTriggerResponse, DataError> {
    let started = reconcile::start(state, trigger, Some(&actor.name)).await;
    let entry = Entry::new(actor, Action::ReconciliationTrigger, client);
    let entry = match &started {
        Ok(started) if started.already_running => {
            entry.target(&started.run_id).result("already_running")
        }
        Ok(started) => entry.target(&started.run_id),
        Err(error) => entry.result("failed").detail("error", error.to_string()),
    };
    state.audit(entry).await;
    let started = started?;
    Ok(ReconciliationTriggerResponse {
        success: true,
        task_id: started.run_id.clone(),
        run_id: started.run_id,
        already_running: started.already_running,
    })
}

/// A page of the audit log, newest first.
pub async fn audit_log(
    state: &AppState,
    query: &AuditQuery,
) -> Result<AuditLogResponse, DataError> {
    let limit = DataError::bounded("limit", query.limit, 100, 500)?;
    let before = query
        .cursor
        .as_deref()
        .filter(|cursor| !cursor.is_empty())
        .map(|cursor| {
            cursor
                .parse::<i64>()
                .map_err(|_| DataError::invalid("cursor", "not a cursor this API gave out"))
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
    Ok(AuditLogResponse {
        success: true,
        entries: rows.into_iter().map(audit::entry_of).collect(),
        next_cursor,
    })
}
