//! `GET /api/dashboard/health`: liveness for load balancers and the old backend's clients,
//! answered without authentication in the seed's shape.

use app::dto::health::{HealthResponse, HealthStatus};
use axum::Json;

/// Liveness, without authentication.
#[utoipa::path(get, path = "/dashboard/health", tag = "dashboard",
    responses((status = 200, body = HealthResponse)))]
pub(super) async fn health() -> Json<HealthResponse> {
    Json(HealthResponse {
        status: HealthStatus::Healthy,
        websocket_enabled: true,
    })
}
