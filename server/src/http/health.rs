//! `GET /api/dashboard/health` and its readiness variant, for load balancers and the old
//! backend's clients: answered without authentication, in the seed's shape plus what a balancer
//! needs to know — whether the database answers, and whether this instance should get traffic.

use app::dto::health::{HealthResponse, HealthStatus, ReadinessResponse};
use axum::{Json, extract::State, http::StatusCode};

use crate::{
    runtime::state::AppState,
    service::doors::{database_health, live_state_health},
};

fn code(ok: bool) -> StatusCode {
    if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

/// Liveness and the database's reachability, without authentication. 503 while the database
/// does not answer: this instance can then neither store nor show calls.
#[utoipa::path(get, path = "/dashboard/health", tag = "dashboard",
    responses((status = 200, body = HealthResponse),
              (status = 503, description = "The database does not answer", body = HealthResponse)))]
pub(super) async fn health(State(state): State<AppState>) -> (StatusCode, Json<HealthResponse>) {
    let database = database_health(&state).await.status;
    let reachable = database == HealthStatus::Healthy;
    let body = HealthResponse {
        status: if reachable {
            HealthStatus::Healthy
        } else {
            HealthStatus::Down
        },
        websocket_enabled: true,
        database,
    };
    (code(reachable), Json(body))
}

/// Readiness: 200 when the database and, in Redis mode, Redis answer and the server is not
/// shutting down; 503 otherwise, so a balancer sends new traffic elsewhere.
#[utoipa::path(get, path = "/dashboard/health/ready", tag = "dashboard",
    responses((status = 200, body = ReadinessResponse),
              (status = 503, description = "Not ready for traffic", body = ReadinessResponse)))]
pub(super) async fn ready(State(state): State<AppState>) -> (StatusCode, Json<ReadinessResponse>) {
    let (database, live_state) = tokio::join!(database_health(&state), live_state_health(&state));
    let draining = state.shutdown.is_cancelled();
    let ready = database.status == HealthStatus::Healthy
        && live_state.status == HealthStatus::Healthy
        && !draining;
    let body = ReadinessResponse {
        ready,
        database: database.status,
        live_state: live_state.status,
        draining,
    };
    (code(ready), Json(body))
}
