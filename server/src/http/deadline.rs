//! Every request has until `SWITCHBOARD_REQUEST_TIMEOUT_SECS` for its answer to start: a client
//! that never finishes sending its body, or a database that stopped answering, would otherwise
//! hold a task, a connection and its buffers for as long as it lasts. What streams after the
//! answer started (a CSV export's rows) and sockets after their upgrade are not limited.

use app::dto::error::DataError;
use axum::{
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::ApiError;
use crate::runtime::state::AppState;

/// Answers 503 JSON when the request's answer has not started in time.
pub(super) async fn limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limit = state.config.request_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::from(DataError::Unavailable(format!(
            "no answer within {} s: the request took too long (or never finished arriving)",
            limit.as_secs()
        )))
        .into_response(),
    }
}
