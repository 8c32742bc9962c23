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
    /// Retries done so far, out of `max_attempts` ("2/3").
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

/// `GET /api/admin/dlq`: the depth and the oldest messages (at most `limit`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DlqResponse {
    pub success: bool,
    pub depth: i64,
    pub final_failures: i64,
    pub messages: Vec<DlqMessage>,
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

/// The last reconciliation run, as the ops card shows it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReconciliationSummary {
    pub id: String,
    pub status: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, format = DateTime))]
    pub finished_at: Option<OffsetDateTime>,
    pub stale_closed: i64,
    pub backfilled: i64,
    pub live_cleared: i64,
    pub dlq_retried: i64,
    pub error: Option<String>,
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
