//! Extractors whose rejections are [`ApiError`]s naming the field at fault, where axum's own
//! answer in plain text.

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request, rejection::BytesRejection},
    http::{StatusCode, request::Parts},
};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::{
    domain::auth::{Caller, Verified},
    runtime::state::AppState,
};

/// Any signed-in caller; 401 otherwise.
impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(Caller(state.identify(&parts.headers).await?))
    }
}

/// Any signed-in caller with the session its token names (for the live sockets, which end with
/// it); 401 otherwise.
impl FromRequestParts<AppState> for Verified {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(state.verify_request(&parts.headers).await?)
    }
}

/// The `Authorization: Bearer` value of a request, trimmed; none for a malformed header.
pub(super) fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    crate::domain::auth::bearer(headers).ok().flatten()
}

/// Whether a request presented `expected` (an API key), compared in constant time.
pub(super) fn presents_key(presented: Option<&str>, expected: &str) -> bool {
    use subtle::ConstantTimeEq;
    presented.is_some_and(|key| bool::from(key.as_bytes().ct_eq(expected.as_bytes())))
}

/// The query string as `T`; a malformed value is a 400 naming its parameter.
pub(super) struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(ApiQuery)
            .map_err(|error| ApiError::invalid(error.path().to_string(), error.inner().to_string()))
    }
}

/// Largest JSON body outside ingest (which sets its own): credentials and the like are tiny.
pub(super) const JSON_BODY_LIMIT: usize = 64 * 1024;

/// A body that could not be read: 413 when it is over `limit`, 400 otherwise.
pub(super) fn body_rejection(rejection: &BytesRejection, limit: usize) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge(limit)
    } else {
        ApiError::BadRequest(rejection.body_text())
    }
}

/// A JSON body as `T`; malformed JSON or a wrong field is a 400 naming where.
pub(super) struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| body_rejection(&rejection, JSON_BODY_LIMIT))?;
        let deserializer = &mut serde_json::Deserializer::from_slice(&body);
        serde_path_to_error::deserialize(deserializer)
            .map(ApiJson)
            .map_err(|error| {
                let path = error.path().to_string();
                if path == "." || error.inner().is_syntax() || error.inner().is_eof() {
                    ApiError::BadRequest(format!("malformed JSON body: {}", error.inner()))
                } else {
                    ApiError::invalid(path, error.inner().to_string())
                }
            })
    }
}
