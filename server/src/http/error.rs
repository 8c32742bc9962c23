//! The API's one error type and its JSON body. Every rejection under `/api/` answers with
//! [`ErrorBody`], never plain text and never a stack trace.
//!
//! Refusals the data layer can give (401, 403, 400 for a field, 404, 503, 500) are
//! [`DataError`]s, shared with the server functions so both doors answer alike; what only HTTP
//! can go wrong with (routes, bodies, rate limits) is added here. Internal errors are logged
//! where they are made (`crate::service::doors::internal`), so each is logged once whichever door answers.

use app::dto::error::DataError;
pub use app::dto::error::ErrorBody;
use axum::{
    Json,
    extract::OriginalUri,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

/// What went wrong, each with the status it answers with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A refusal of the data layer (see [`DataError`] for the statuses).
    #[error(transparent)]
    Data(#[from] DataError),
    /// 404: no such API route.
    #[error("no API route at {0}")]
    RouteNotFound(String),
    /// 400: the request as a whole cannot be read.
    #[error("{0}")]
    BadRequest(String),
    /// 413: the body is over the limit.
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// 429: too many requests (or sign-in attempts); retry after this many seconds.
    #[error("too many requests: try again in {0} s")]
    TooManyRequests(u64),
    /// 429: this identity holds as many live sockets as it may.
    #[error("too many live connections: at most {0} per user; close one first")]
    TooManySockets(usize),
}

impl ApiError {
    /// 400 for the input `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        DataError::invalid(field, message).into()
    }

    /// 401 (which of missing or wrong credentials is not said).
    pub fn unauthorized(message: &str) -> Self {
        DataError::Unauthorized(message.to_owned()).into()
    }

    /// 404: the thing named does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        DataError::NotFound(message.into()).into()
    }

    /// 500: logged with `detail`; the client sees no detail.
    pub fn internal(detail: impl Into<String>) -> Self {
        crate::service::doors::internal(detail).into()
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::Data(error) => {
                StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            Self::RouteNotFound(_) => StatusCode::NOT_FOUND,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TooManyRequests(_) | Self::TooManySockets(_) => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    fn body(&self) -> ErrorBody {
        let code = match self {
            Self::Data(error) => return error.body(),
            Self::RouteNotFound(_) => "not_found",
            Self::BadRequest(_) => "bad_request",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::TooManyRequests(_) => "too_many_requests",
            Self::TooManySockets(_) => "too_many_connections",
        };
        ErrorBody {
            success: false,
            error: self.to_string(),
            code: code.to_owned(),
            field: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), Json(self.body())).into_response();
        match self {
            Self::Data(DataError::Unauthorized(_)) => {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Self::TooManyRequests(seconds) => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, seconds.into());
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
        code: "method_not_allowed".to_owned(),
        field: None,
    };
    (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response()
}

impl From<crate::domain::auth::AuthError> for ApiError {
    fn from(error: crate::domain::auth::AuthError) -> Self {
        DataError::from(error).into()
    }
}

impl From<crate::storage::StorageError> for ApiError {
    fn from(error: crate::storage::StorageError) -> Self {
        DataError::from(error).into()
    }
}

impl From<crate::service::figures::FiguresError> for ApiError {
    fn from(error: crate::service::figures::FiguresError) -> Self {
        DataError::from(error).into()
    }
}

impl From<crate::dlq::DlqError> for ApiError {
    fn from(error: crate::dlq::DlqError) -> Self {
        DataError::from(error).into()
    }
}

/// Fallback for `/api/*` paths no route matches.
pub(super) async fn api_not_found(OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::RouteNotFound(uri.path().to_owned())
}
