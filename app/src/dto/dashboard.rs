//! The dashboard's REST shapes: the six seed-000 endpoints under `/api/dashboard/`, with the
//! seed's field names (camelCase call columns, snake_case figures) so its clients keep working.
//! Fields the seed did not have are additions, never renames.
//!
//! # What the figures mean
//! A period of `hours` is counted in whole UTC hours: the current hour so far and the
//! `hours - 1` hours before it (`hours=1` at 14:20 covers 14:00–14:20). Every windowed figure
//! counts calls by the hour they *started* in, so the metric cards, the agent table and the
//! calls-per-hour chart always add up to the same total.
//! - `total_calls`: calls started in the period, whatever their state.
//! - `active_calls`: calls with status `active` now, whenever they started (no period).
//! - `completed_calls`: calls started in the period that ended with outcome `completed`.
//! - `average_duration`: mean `duration` in seconds of the calls started in the period that
//!   ended with a duration; `0` when there is none. Rounded to one decimal.
//! - `success_rate`: `completed_calls ÷ ended calls × 100` over the calls started in the period
//!   that have ended; `0` when none has. Rounded to one decimal.
//! - `outcome_counts`: ended calls started in the period, per outcome (absent outcomes omitted).
//! - calls per hour: one entry per hour of the period, `YYYY-MM-DD HH:00` (UTC), zero-filled.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{latency::ResponseLatency, query::CallStatus};

/// Default and bounds of `hours`.
pub const DEFAULT_HOURS: u32 = 24;
pub const MAX_HOURS: u32 = 168;
/// Default and bounds of `limit`.
pub const DEFAULT_LIMIT: u32 = 10;
pub const MAX_LIMIT: u32 = 100;

/// Rounds a figure to one decimal, as the seed's numbers are shown.
pub fn one_decimal(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Metrics {
    pub total_calls: i64,
    pub active_calls: i64,
    pub completed_calls: i64,
    pub average_duration: f64,
    pub success_rate: f64,
    pub outcome_counts: BTreeMap<String, i64>,
    pub period_hours: u32,
}

/// `GET /api/dashboard/metrics`. `user_id` is the tenant the figures are for; `null` when an
/// admin asked for every tenant together.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MetricsResponse {
    pub success: bool,
    pub metrics: Metrics,
    pub user_id: Option<String>,
}

/// A call in progress. `duration` is the seconds since it started, at the time of the answer.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ActiveCall {
    pub id: String,
    pub user_id: String,
    pub phone_number: Option<String>,
    pub direction: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub started_at: OffsetDateTime,
    pub duration: i64,
    pub livekit_room_name: Option<String>,
    pub agent_config_id: Option<String>,
}

/// `GET /api/dashboard/active-calls`, oldest first.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ActiveCallsResponse {
    pub success: bool,
    pub active_calls: Vec<ActiveCall>,
    pub count: usize,
    pub user_id: Option<String>,
}

/// One `call_logs` row, with the seed's column names.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CallSummary {
    pub id: String,
    pub user_id: String,
    pub agent_config_id: Option<String>,
    pub phone_number: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, format = DateTime))]
    pub ended_at: Option<OffsetDateTime>,
    pub livekit_room_name: Option<String>,
    pub livekit_room_sid: Option<String>,
    pub direction: Option<String>,
    pub status: Option<String>,
    pub outcome: Option<String>,
    pub duration: Option<i32>,
    pub sip_call_id: Option<String>,
    pub recording_url: Option<String>,
    /// Absent from live pushes (`call_event`, a snapshot's recent calls): the call's own page
    /// reads it.
    #[serde(
        rename = "call_metadata",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub call_metadata: Option<serde_json::Value>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, format = DateTime))]
    pub last_heartbeat_at: Option<OffsetDateTime>,
}

impl CallSummary {
    /// Whether the call is still in progress.
    pub fn is_active(&self) -> bool {
        self.status.as_deref() == Some(CallStatus::Active.as_str())
    }
}

/// `GET /api/dashboard/recent-calls`, newest first. `next_cursor` (absent on the last page) is
/// passed back as `cursor` for the page after.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RecentCallsResponse {
    pub success: bool,
    pub calls: Vec<CallSummary>,
    pub count: usize,
    pub user_id: Option<String>,
    pub next_cursor: Option<String>,
}

/// One agent's figures over the period (same meanings as [`Metrics`]). Calls without an agent
/// are grouped under `agentConfigId: null`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AgentPerformance {
    #[serde(rename = "agentConfigId")]
    pub agent_config_id: Option<String>,
    /// The agent's display name, when one is registered.
    pub agent_name: Option<String>,
    pub total_calls: i64,
    pub average_duration: f64,
    pub success_rate: f64,
    pub completed_calls: i64,
    /// How long the agent took to answer, over its turns with a `latency_ms` in calls started
    /// in the period; `None` without any. From per-hour histograms, so each figure is the upper
    /// edge of its bucket ([`super::latency::LATENCY_BUCKETS_MS`]).
    pub response_latency: Option<ResponseLatency>,
}

/// `GET /api/dashboard/agent-performance`, busiest agent first.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AgentPerformanceResponse {
    pub success: bool,
    pub agents: Vec<AgentPerformance>,
    pub count: usize,
    pub period_hours: u32,
    pub user_id: Option<String>,
}

/// `GET /api/dashboard/calls-per-hour`: `"YYYY-MM-DD HH:00"` (UTC) → calls started in that hour.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CallsPerHourResponse {
    pub success: bool,
    pub data: BTreeMap<String, i64>,
    pub period_hours: u32,
    pub user_id: Option<String>,
}

/// A tenant and its display ("business") name.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Tenant {
    pub id: String,
    pub name: String,
}
