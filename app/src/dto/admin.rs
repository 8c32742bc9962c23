//! The admin API (`/api/admin/…`, admins only): the cross-tenant ops board of seed 002.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{
    calls::HeartbeatHealth, dashboard::ActiveCall, dashboard::Tenant, health::HealthStatus,
};

/// An active call with its tenant's business name and heartbeat health.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LiveCallHealth {
    #[serde(flatten)]
    pub call: ActiveCall,
    pub business_name: String,
    /// The last heartbeat; `null` when none came yet (the age then counts from the start).
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, format = DateTime))]
    pub last_heartbeat_at: Option<OffsetDateTime>,
    pub heartbeat_age_seconds: i64,
    pub health: HeartbeatHealth,
}

/// `GET /api/admin/active-calls`, oldest first.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AdminActiveCallsResponse {
    pub success: bool,
    pub active_calls: Vec<LiveCallHealth>,
    pub count: usize,
    pub warning_count: usize,
    pub stale_count: usize,
}

/// One dead letter: a write that failed, with its retry state.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DlqMessage {
    pub id: i64,
    pub call_id: String,
    pub user_id: String,
    /// `call_started`, `call_updated`, `call_ended` or `heartbeat`.
    pub event_type: String,
    pub error: String,
    /// What the last failure was: `outage` (the database was away; retried with capped backoff
    /// for as long as that lasts, spending no attempts) or `refusal` (the database refused the
    /// event; each retry spends an attempt).
    pub failure: FailureKind,
    /// Retries done so far, out of `max_attempts` ("2/3"); only refusals count.
    pub attempts: i64,
    pub max_attempts: i64,
    /// Out of automatic retries: waits for an admin to retry or discard it.
    pub final_failure: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, format = DateTime))]
    pub next_retry_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
}

/// Why a dead letter waits.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The database could not be reached or could not run the write: not the event's fault.
    Outage,
    /// The database refused the event (a constraint, a value, a trigger). Entries queued by a
    /// version that did not tell the two apart read as refusals.
    #[default]
    Refusal,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Outage => "outage",
            Self::Refusal => "refusal",
        }
    }
}

impl TryFrom<String> for FailureKind {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        match raw.as_str() {
            "outage" => Ok(Self::Outage),
            "refusal" => Ok(Self::Refusal),
            _ => Err(format!("unknown failure kind {raw:?}")),
        }
    }
}

/// `GET /api/admin/dlq`: the depth and the oldest messages (at most `limit`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DlqResponse {
    pub success: bool,
    pub depth: i64,
    pub final_failures: i64,
    pub messages: Vec<DlqMessage>,
    /// Pass as `after` for the next page; absent once a page comes back short.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_after: Option<i64>,
}

/// The answer to a retry or discard: how many messages it touched.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DlqActionResponse {
    pub success: bool,
    pub affected: u64,
    pub depth: i64,
}

/// One dependency's state.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ComponentHealth {
    pub status: HealthStatus,
    /// `sqlite` / `postgres` for the database, `redis` / `embedded` for live state.
    pub kind: String,
    pub latency_ms: Option<f64>,
    pub error: Option<String>,
}

/// Who or what started a reconciliation run.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReconciliationTrigger {
    /// The server's own schedule.
    Schedule,
    /// An admin, from the board or the admin API.
    Admin,
    /// A script holding `INTERNAL_API_KEY` (seed 002's internal path).
    Internal,
}

impl ReconciliationTrigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Schedule => "schedule",
            Self::Admin => "admin",
            Self::Internal => "internal",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Schedule, Self::Admin, Self::Internal]
            .into_iter()
            .find(|trigger| trigger.as_str() == value)
    }
}

/// Where a reconciliation run is.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Succeeded,
    /// Stopped by an error (see `error`), or abandoned by an instance that died mid-run.
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Running, Self::Succeeded, Self::Failed]
            .into_iter()
            .find(|status| status.as_str() == value)
    }
}

/// A reconciliation run: who started it, when, and how many repairs of each kind it made.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReconciliationSummary {
    pub id: String,
    pub trigger: ReconciliationTrigger,
    /// Who asked: the admin's email (or token subject), or `internal-api-key`; `null` for the
    /// schedule.
    pub triggered_by: Option<String>,
    pub status: RunStatus,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, format = DateTime))]
    pub finished_at: Option<OffsetDateTime>,
    /// Calls closed with outcome `stale` because their heartbeats stopped.
    pub stale_closed: i64,
    /// Calls live in Redis (`call_ctx:*`) but missing from the database, written to it.
    pub backfilled: i64,
    /// Live entries (registry, Redis keys) removed for calls the database had already ended.
    pub live_cleared: i64,
    /// Due dead letters retried.
    pub dlq_retried: i64,
    /// Dead letters an instance claimed for a retry and never finished, put back in line.
    pub dlq_rearmed: i64,
    pub error: Option<String>,
}

impl ReconciliationSummary {
    /// The repairs a run made, counted by kind ("2 stale closed, 1 backfilled"); `None` for none.
    pub fn repairs_words(&self) -> Option<String> {
        let counts = [
            (self.stale_closed, "stale closed"),
            (self.backfilled, "backfilled"),
            (self.live_cleared, "live entries cleared"),
            (self.dlq_retried, "DLQ retried"),
            (self.dlq_rearmed, "DLQ re-armed"),
        ];
        let done: Vec<String> = counts
            .iter()
            .filter(|(count, _)| *count > 0)
            .map(|(count, what)| format!("{count} {what}"))
            .collect();
        (!done.is_empty()).then(|| done.join(", "))
    }
}

/// The kinds of repair a run makes.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Repair {
    StaleClosed,
    /// A call past the stale threshold left open: the DLQ still retries an event of it.
    StaleDeferred,
    Backfilled,
    /// A `call_ctx` entry that could not be written (see `note`); left in Redis.
    BackfillRefused,
    LiveCleared,
    DlqRetried,
    DlqRearmed,
}

/// One call or dead letter a run touched.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RepairedItem {
    pub repair: Repair,
    /// The call id; for DLQ repairs, the call of the message.
    pub call_id: String,
    pub user_id: Option<String>,
    /// The DLQ message id, for DLQ repairs.
    pub message_id: Option<i64>,
    /// What happened, where there is more to say ("written", the error of a failed retry, …).
    pub note: Option<String>,
}

/// `GET /api/admin/reconciliation/{id}`: one run with what it touched (at most
/// `touched_limit` items; `touched_truncated` says when there were more).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReconciliationRunResponse {
    pub success: bool,
    pub run: ReconciliationSummary,
    pub touched: Vec<RepairedItem>,
    pub touched_truncated: bool,
}

/// `GET /api/admin/reconciliation`: the run going on (if any), the last finished run, and the
/// history, newest first, a page at a time (`next_cursor` is absent on the last page).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReconciliationStatusResponse {
    pub success: bool,
    pub running: Option<ReconciliationSummary>,
    pub last_run: Option<ReconciliationSummary>,
    /// Seconds between scheduled runs; 0 when the schedule is off.
    pub schedule_interval_seconds: u64,
    pub runs: Vec<ReconciliationSummary>,
    pub next_cursor: Option<String>,
}

/// `POST …/reconciliation/trigger`: the run that will do the work — a new one, or the one
/// already going (`already_running`), since only one runs at a time.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReconciliationTriggerResponse {
    pub success: bool,
    pub run_id: String,
    /// The same id under seed 002's name (its trigger answered with a task id).
    pub task_id: String,
    pub already_running: bool,
}

/// One operator action as the audit log keeps it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub at: OffsetDateTime,
    /// Who: an email or token subject; `internal-api-key` or `cli` for those doors; for failed
    /// sign-ins, the email that was tried.
    pub actor: String,
    /// The actor's role (`admin`, `operator`, …), or `internal`, `cli` or `anonymous`.
    pub role: String,
    pub tenant_id: Option<String>,
    /// `dlq.retry`, `dlq.retry_all`, `dlq.discard`, `reconciliation.trigger`, `user.add`,
    /// `user.set_role`, `user.remove`, `user.password_change`, `user.password_reset`,
    /// `user.invite`, `user.invite_cancel`, `user.join`, `user.reset_link`, `api_token.create`, `api_token.revoke`,
    /// `auth.sign_out_everywhere`, `auth.sign_in_failed` or `auth.sign_in_burst`.
    pub action: String,
    /// What it acted on: a message id, a run id, an email.
    pub target: Option<String>,
    /// `ok`, `not_found`, `already_running`, `refused`, `throttled` or `failed`.
    pub result: String,
    pub client_addr: Option<String>,
    /// What else the action carried, e.g. how many messages a retry-all touched.
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub detail: Option<serde_json::Value>,
}

/// `GET /api/admin/audit`: newest first, a page at a time.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditLogResponse {
    pub success: bool,
    pub entries: Vec<AuditEntry>,
    pub next_cursor: Option<String>,
}

/// `GET /api/admin/health`. Overall: `down` when the database is unreachable; `degraded` when
/// Redis (if configured) is unreachable, a DLQ message is a final failure, a live call is stale
/// or the last reconciliation failed; `healthy` otherwise.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SystemHealth {
    pub success: bool,
    pub status: HealthStatus,
    pub database: ComponentHealth,
    pub live_state: ComponentHealth,
    pub dlq_depth: Option<i64>,
    pub dlq_final_failures: Option<i64>,
    pub active_calls: usize,
    /// Live calls whose last heartbeat is in the warning band.
    pub warning_calls: usize,
    pub stale_calls: usize,
    pub last_reconciliation: Option<ReconciliationSummary>,
    /// Why the status is not `healthy`, one line per reason.
    pub reasons: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub checked_at: OffsetDateTime,
}

/// `GET /api/admin/tenants`: every tenant, by id.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TenantsResponse {
    pub success: bool,
    pub tenants: Vec<Tenant>,
}
