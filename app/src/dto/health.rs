//! `GET /api/dashboard/health`, in the shape of the old backend (seed 000).

use serde::{Deserialize, Serialize};

/// Overall state of a component or of the whole service.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Healthy,
    Degraded,
    Down,
}

/// The body of `GET /api/dashboard/health`: the seed's two fields, and whether the database
/// answers. `status` is `down` (and the HTTP status 503) while it does not.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HealthResponse {
    pub status: HealthStatus,
    pub websocket_enabled: bool,
    /// `healthy` when the database answered a ping within 2 s, else `down`.
    pub database: HealthStatus,
}

/// The body of `GET /api/dashboard/health/ready`: whether this instance should get traffic
/// (HTTP 200) or not (503).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReadinessResponse {
    pub ready: bool,
    /// `healthy` when the database answered a ping within 2 s, else `down`.
    pub database: HealthStatus,
    /// Redis in Redis mode (`down` when it does not answer); the embedded registry otherwise.
    pub live_state: HealthStatus,
    /// True once the server has begun shutting down: finish, but send nothing new.
    pub draining: bool,
}
