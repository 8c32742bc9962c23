//! Each client's allowance of requests ([`RequestLimits`], `SWITCHBOARD_CLIENT_RATE`), checked
//! before anything else is done for the request — before its session is looked up in the
//! database — so a client past it costs the server almost nothing: a signed-in caller by its
//! verified token (a signature check), anyone else by address. Not counted: ingest (its gate
//! limits each producer key), Socket.IO (its sockets have their own allowances), the bundle's
//! files and the health checks a load balancer polls.

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::{ApiError, auth::client_ip};
use crate::{
    domain::{
        audit::ClientAddr,
        auth::{Asker, RequestLimits},
    },
    runtime::state::AppState,
};

/// The paths no client allowance is spent on.
pub(super) fn counted(path: &str) -> bool {
    !(path == "/api/v1/calls/events"
        || path.starts_with("/api/dashboard/health")
        || path.starts_with("/socket.io/")
        || path.starts_with("/pkg/")
        || path == "/favicon.ico")
}

/// A 429 (`too_many_requests`, with `Retry-After`) for a client past its allowance.
pub(super) async fn limit(
    State(state): State<AppState>,
    client: ClientAddr,
    request: Request,
    next: Next,
) -> Response {
    if counted(request.uri().path()) {
        let limits: &RequestLimits = &state.request_limits;
        let verified = state.jwt.identify(request.headers()).ok();
        let asker = match &verified {
            Some(verified) => Some(Asker::Caller {
                subject: &verified.identity.subject,
                tenant: verified.identity.tenant.as_deref(),
            }),
            None => client_ip(&state, &client, request.headers()).map(Asker::Address),
        };
        if let Some(Err(seconds)) = asker.map(|asker| limits.admit(asker)) {
            return ApiError::TooManyRequests(seconds).into_response();
        }
    }
    next.run(request).await
}
