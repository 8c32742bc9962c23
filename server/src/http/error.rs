//! The API's one error type and its JSON body. Every rejection under `/api/` answers with
//! [`ErrorBody`], never plain text and never a stack trace.

use axum::{
    Json,
    extract::OriginalUri,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Serialize;
use tracing::error;

/// What went wrong, each with the status it answers with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 404: no such API route.
    #[error("no API route at {0}")]
    RouteNotFound(String),
    /// 401: missing or wrong credentials. Which of the two is not said.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// 400: the request as a whole cannot be read.
    #[error("{0}")]
    BadRequest(String),
    /// 413: the body is over the limit.
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// 503: a dependency is down; retrying later may work.
    #[error("{0}")]
    Unavailable(String),
    /// 500: a bug or an unexpected failure. Logged; the client sees no detail.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            Self::RouteNotFound(_) => StatusCode::NOT_FOUND,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::RouteNotFound(_) => "not_found",
            Self::Unauthorized(_) => "unauthorized",
            Self::BadRequest(_) => "bad_request",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }
}

/// The body of every API error: `success: false` as the old backend's clients expect, a
/// human-readable `error`, and a stable machine-readable `code`.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    pub success: bool,
    pub error: String,
    pub code: &'static str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(detail) = &self {
            error!(%detail, "internal error");
        }
        let mut response = (
            self.status(),
            Json(ErrorBody {
                success: false,
                error: self.to_string(),
                code: self.code(),
            }),
        )
            .into_response();
        if matches!(self, Self::Unauthorized(_)) {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

/// Fallback for `/api/*` paths no route matches.
pub(super) async fn api_not_found(OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::RouteNotFound(uri.path().to_owned())
}
