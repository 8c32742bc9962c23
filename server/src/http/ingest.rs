//! `POST /api/v1/calls/events`: call events from the platform, one or a batch of up to 1,000.
//!
//! Status: 200 when every event is stored, 202 when some are queued for retry (durably, in the
//! DLQ) and none refused, 207 when some were refused and others accepted, 422 when all were
//! refused, 503 when some could be neither written nor queued (send those again). The body always
//! holds one result per event, in request order.

use app::dto::{
    call_detail::EventSource,
    ingest::{EventResult, EventStatus, IngestResponse},
};
use axum::{
    Json,
    body::Bytes,
    extract::{FromRequestParts, State, rejection::BytesRejection},
    http::{StatusCode, request::Parts},
};
use time::OffsetDateTime;

use super::{
    error::ApiError,
    extract::{bearer, body_rejection, presents_key},
};
use crate::{
    ingest::{WriteOutcome, validate::parse_body},
    runtime::state::AppState,
};

/// Largest accepted body: room for a full batch of large events.
pub(super) const BODY_LIMIT: usize = 8 * 1024 * 1024;

/// Proof that the request carries the ingest key, and its body's room in the ingest budget
/// (both before the body is read): its `Content-Length`, or the largest body when it names none.
pub(super) struct IngestAuth {
    _room: tokio::sync::OwnedSemaphorePermit,
}

impl FromRequestParts<AppState> for IngestAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if !presents_key(bearer(&parts.headers), &state.ingest_key.value) {
            return Err(ApiError::unauthorized(
                "a valid ingest key is required (Authorization: Bearer <INGEST_API_KEY>)",
            ));
        }
        let length = parts
            .headers
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok()?.parse::<usize>().ok())
            .map_or(BODY_LIMIT, |length| length.min(BODY_LIMIT));
        let room = state.ingestor.body_room(length).await.ok_or_else(|| {
            ApiError::from(app::dto::error::DataError::Unavailable(
                "the server is shutting down".to_owned(),
            ))
        })?;
        Ok(Self { _room: room })
    }
}

/// Call events from the platform: one event or an array of up to 1,000.
#[utoipa::path(post, path = "/v1/calls/events", tag = "ingest",
    request_body(content = app::dto::ingest::EventBatch,
                 description = "One event, or an array of up to 1,000"),
    security(("ingest_key" = [])),
    responses((status = 200, body = IngestResponse, description = "Every event stored"),
              (status = 202, body = IngestResponse, description = "Some queued for retry"),
              (status = 207, body = IngestResponse, description = "Some refused"),
              (status = 422, body = IngestResponse, description = "All refused"),
              (status = 503, body = IngestResponse, description = "Some neither stored nor queued"),
              (status = 400, body = super::ErrorBody), (status = 401, body = super::ErrorBody),
              (status = 413, body = super::ErrorBody)))]
pub(super) async fn post_events(
    _auth: IngestAuth,
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<IngestResponse>), ApiError> {
    let body = body.map_err(|rejection| body_rejection(&rejection, BODY_LIMIT))?;
    let parsed = parse_body(&body, OffsetDateTime::now_utc())
        .map_err(|error| ApiError::BadRequest(error.to_string()))?;

    // Valid events go to the writer together; each slot keeps its call id (or its rejection)
    // so the answers come back in request order.
    let mut valid = Vec::new();
    let slots: Vec<_> = parsed
        .into_iter()
        .map(|item| {
            item.map(|event| {
                let call_id = event.call_id.clone();
                valid.push(event);
                call_id
            })
        })
        .collect();
    let mut outcomes = if valid.is_empty() {
        Vec::new()
    } else {
        state.ingestor.submit(valid, EventSource::Http).await
    }
    .into_iter();
    let results: Vec<EventResult> = slots
        .into_iter()
        .enumerate()
        .map(|(index, slot)| {
            let (call_id, status, code, error) = match slot {
                Err(rejection) => (
                    rejection.call_id,
                    EventStatus::Rejected,
                    Some(rejection.code),
                    Some(rejection.message),
                ),
                Ok(call_id) => {
                    let outcome = outcomes
                        .next()
                        .unwrap_or_else(|| WriteOutcome::Unavailable("not processed".to_owned()));
                    let (status, code, error) = match outcome {
                        WriteOutcome::Stored => (EventStatus::Stored, None, None),
                        WriteOutcome::Queued => (EventStatus::Queued, None, None),
                        WriteOutcome::Rejected(error) => (
                            EventStatus::Rejected,
                            Some(error.code()),
                            Some(error.to_string()),
                        ),
                        WriteOutcome::Unavailable(error) => {
                            (EventStatus::Rejected, Some("unavailable"), Some(error))
                        }
                    };
                    (Some(call_id), status, code, error)
                }
            };
            EventResult {
                index,
                call_id,
                status,
                code: code.map(str::to_owned),
                error,
            }
        })
        .collect();

    let count = |status| {
        results
            .iter()
            .filter(|result| result.status == status)
            .count()
    };
    let (stored, queued, rejected) = (
        count(EventStatus::Stored),
        count(EventStatus::Queued),
        count(EventStatus::Rejected),
    );
    let unavailable = results
        .iter()
        .any(|result| result.code.as_deref() == Some("unavailable"));
    let status = if unavailable {
        StatusCode::SERVICE_UNAVAILABLE
    } else if rejected == results.len() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else if rejected > 0 {
        StatusCode::MULTI_STATUS
    } else if queued > 0 {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(IngestResponse {
            success: rejected == 0,
            stored,
            queued,
            rejected,
            results,
        }),
    ))
}
