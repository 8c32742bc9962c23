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
    /// 403: signed in, but not allowed to read or do this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// 400: one input is wrong; `field` names it.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// 404: the thing named does not exist.
    #[error("{0}")]
    NotFound(String),
    /// 400: the request as a whole cannot be read.
    #[error("{0}")]
    BadRequest(String),
    /// 413: the body is over the limit.
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// 429: too many attempts; retry after this many seconds.
    #[error("too many attempts: try again in {0} s")]
    TooManyRequests(u64),
    /// 503: a dependency is down; retrying later may work.
    #[error("{0}")]
    Unavailable(String),
    /// 500: a bug or an unexpected failure. Logged; the client sees no detail.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// 400 for the input `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// `requested` (or `default` when absent) if it is within `1..=max`, else a 400 for `field`.
    pub fn bounded(
        field: &str,
        requested: Option<u32>,
        default: u32,
        max: u32,
    ) -> Result<u32, Self> {
        match requested.unwrap_or(default) {
            value if (1..=max).contains(&value) => Ok(value),
            _ => Err(Self::invalid(field, format!("must be between 1 and {max}"))),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::RouteNotFound(_) => StatusCode::NOT_FOUND,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Invalid { .. } => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::RouteNotFound(_) => "not_found",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::Invalid { .. } => "invalid_parameter",
            Self::NotFound(_) => "not_found",
            Self::BadRequest(_) => "bad_request",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::TooManyRequests(_) => "too_many_requests",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }
}

/// The body of every API error: `success: false` as the old backend's clients expect, a
/// human-readable `error`, and a stable machine-readable `code`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub success: bool,
    pub error: String,
    pub code: &'static str,
    /// The input at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
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
                field: match &self {
                    Self::Invalid { field, .. } => Some(field.clone()),
                    _ => None,
                },
            }),
        )
            .into_response();
        match self {
            Self::Unauthorized(_) => {
                response.headers_mut().insert(
                    axum::http::header::WWW_AUTHENTICATE,
                    axum::http::HeaderValue::from_static("Bearer"),
                );
            }
            Self::TooManyRequests(seconds) => {
                response
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, seconds.into());
            }
            _ => {}
        }
        response
    }
}

/// A known API path asked with a method it does not answer.
pub(super) async fn method_not_allowed(
    method: axum::http::Method,
    OriginalUri(uri): OriginalUri,
) -> Response {
    let body = ErrorBody {
        success: false,
        error: format!("{method} is not allowed on {}", uri.path()),
        code: "method_not_allowed",
        field: None,
    };
    (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response()
}

impl From<crate::auth::AuthError> for ApiError {
    fn from(error: crate::auth::AuthError) -> Self {
        if error.is_forbidden() {
            Self::Forbidden(error.message())
        } else {
            Self::Unauthorized(error.message())
        }
    }
}

impl From<crate::storage::StorageError> for ApiError {
    fn from(error: crate::storage::StorageError) -> Self {
        use crate::storage::StorageError;
        match &error {
            StorageError::Database(
                sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed,
            ) => Self::Unavailable("the database is unavailable; try again shortly".into()),
            _ => Self::Internal(error.to_string()),
        }
    }
}

impl From<crate::figures::FiguresError> for ApiError {
    fn from(error: crate::figures::FiguresError) -> Self {
        match error {
            crate::figures::FiguresError::Storage(error) => error.into(),
            crate::figures::FiguresError::Dlq(error) => error.into(),
        }
    }
}

impl From<crate::dlq::DlqError> for ApiError {
    fn from(error: crate::dlq::DlqError) -> Self {
        Self::Internal(format!("dead-letter queue: {error}"))
    }
}

/// Fallback for `/api/*` paths no route matches.
pub(super) async fn api_not_found(OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::RouteNotFound(uri.path().to_owned())
}
