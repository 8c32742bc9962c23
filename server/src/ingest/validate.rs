//! Validation of incoming events. Each event is checked on its own, so one bad event gets its
//! own error and never sinks the others in its batch.

use app::dto::ingest::{CallEvent, EventType, MAX_BATCH, MAX_TURN_TEXT, Outcome};
use serde_json::Value;
use time::{Duration, OffsetDateTime, macros::datetime};

/// Why an event was refused: a stable `code`, a message naming the field, and the call id when
/// one could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub code: &'static str,
    pub message: String,
    pub call_id: Option<String>,
}

impl Rejection {
    fn invalid(call_id: Option<&str>, message: impl Into<String>) -> Self {
        Self {
            code: "invalid_event",
            message: message.into(),
            call_id: call_id.map(str::to_owned),
        }
    }
}

/// Why a whole request body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("request body is not valid JSON: {0}")]
    Json(String),
    #[error("expected one event (a JSON object) or a batch (a JSON array of events)")]
    NotAnEvent,
    #[error("the batch is empty")]
    EmptyBatch,
    #[error("a batch holds at most {MAX_BATCH} events, this one has {0}")]
    BatchTooLarge(usize),
}

/// Longest accepted values, from the `call_logs` column sizes.
pub const MAX_ID: usize = 36;
const MAX_PHONE: usize = 32;
const MAX_ROOM_NAME: usize = 255;
const MAX_ROOM_SID: usize = 100;
const MAX_SIP_CALL_ID: usize = 255;
const MAX_RECORDING_URL: usize = 512;
const MAX_METADATA_BYTES: usize = 16 * 1024;
/// A week: no call lasts longer.
const MAX_DURATION_SECS: i64 = 7 * 24 * 3600;
/// Producers' clocks may run a little ahead of ours.
const MAX_CLOCK_SKEW: Duration = Duration::minutes(5);
const EARLIEST: OffsetDateTime = datetime!(2000-01-01 00:00 UTC);
const MAX_END_REASON: usize = 64;
/// A billion of any currency: more is a unit mistake, not a call's price.
const MAX_COST: f64 = 1e9;
/// Ten minutes: an agent that took longer to answer did not answer.
const MAX_LATENCY_MS: i64 = 600_000;

/// Splits a request body into events, each parsed and validated on its own.
pub fn parse_body(
    body: &[u8],
    now: OffsetDateTime,
) -> Result<Vec<Result<CallEvent, Rejection>>, BodyError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|error| BodyError::Json(error.to_string()))?;
    let items = match value {
        Value::Array(items) if items.is_empty() => return Err(BodyError::EmptyBatch),
        Value::Array(items) if items.len() > MAX_BATCH => {
            return Err(BodyError::BatchTooLarge(items.len()));
        }
        Value::Array(items) => items,
        Value::Object(_) => vec![value],
        _ => return Err(BodyError::NotAnEvent),
    };
    Ok(items.into_iter().map(|item| validate(item, now)).collect())
}

/// Parses and checks one event.
pub fn validate(value: Value, now: OffsetDateTime) -> Result<CallEvent, Rejection> {
    let call_id = value
        .get("call_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let call_id = call_id.as_deref();
    if !value.is_object() {
        return Err(Rejection::invalid(None, "an event must be a JSON object"));
    }
    // The error names the field it is about, e.g. "at: the 'year' component could not be parsed".
    let event: CallEvent = serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let message = error.into_inner().to_string();
        let message = if path == "." {
            message
        } else {
            format!("{path}: {message}")
        };
        Rejection::invalid(call_id, message)
    })?;
    check(&event, now).map_err(|message| Rejection::invalid(call_id, message))?;
    Ok(event)
}

fn check(event: &CallEvent, now: OffsetDateTime) -> Result<(), String> {
    identifier("user_id", &event.user_id)?;
    identifier("call_id", &event.call_id)?;
    if event.at < EARLIEST {
        return Err(format!("at: {} is before 2000", event.at));
    }
    if event.at > now + MAX_CLOCK_SKEW {
        return Err(format!("at: {} is in the future", event.at));
    }
    match (event.event_type, event.outcome) {
        (EventType::CallEnded, None) => return Err("outcome: required for call_ended".to_owned()),
        (EventType::CallEnded, Some(Outcome::Stale)) => {
            return Err(
                "outcome: stale is set by reconciliation, not sent by producers".to_owned(),
            );
        }
        (EventType::CallEnded, Some(_)) => {}
        (_, Some(_)) => return Err("outcome: only call_ended carries an outcome".to_owned()),
        (_, None) => {}
    }
    match (event.event_type, event.duration) {
        (EventType::CallEnded, Some(duration)) if !(0..=MAX_DURATION_SECS).contains(&duration) => {
            return Err(format!(
                "duration: must be between 0 and {MAX_DURATION_SECS} seconds"
            ));
        }
        (EventType::CallEnded, _) | (_, None) => {}
        (_, Some(_)) => return Err("duration: only call_ended carries a duration".to_owned()),
    }
    ending_fields(event)?;
    turn_field(event)?;
    if let Some(call) = &event.call {
        match event.event_type {
            EventType::Heartbeat => {
                return Err("call: heartbeats carry no call fields".to_owned());
            }
            EventType::Turn => return Err("call: turns carry no call fields".to_owned()),
            _ => {}
        }
        text("call.phoneNumber", call.phone_number.as_deref(), MAX_PHONE)?;
        if let Some(agent) = call.agent_config_id.as_deref() {
            identifier("call.agentConfigId", agent)?;
        }
        text(
            "call.livekitRoomName",
            call.livekit_room_name.as_deref(),
            MAX_ROOM_NAME,
        )?;
        text(
            "call.livekitRoomSid",
            call.livekit_room_sid.as_deref(),
            MAX_ROOM_SID,
        )?;
        text(
            "call.sipCallId",
            call.sip_call_id.as_deref(),
            MAX_SIP_CALL_ID,
        )?;
        text(
            "call.recordingUrl",
            call.recording_url.as_deref(),
            MAX_RECORDING_URL,
        )?;
        if let Some(metadata) = &call.call_metadata {
            let size = serde_json::to_string(metadata).map_or(usize::MAX, |json| json.len());
            if size > MAX_METADATA_BYTES {
                return Err(format!(
                    "call.call_metadata: {size} bytes, at most {MAX_METADATA_BYTES}"
                ));
            }
            // PostgreSQL's jsonb cannot hold U+0000; refused here, the event gets its own error
            // instead of failing the transaction it would share with others.
            if let Some(path) = nul_in_fields(metadata, "call.call_metadata") {
                return Err(format!(
                    "{path}: contains U+0000 (NUL), which cannot be stored"
                ));
            }
        }
    }
    Ok(())
}

/// `end_reason` and `cost`: only on `call_ended`, and sensible there.
fn ending_fields(event: &CallEvent) -> Result<(), String> {
    let ended = event.event_type == EventType::CallEnded;
    if let Some(reason) = &event.end_reason {
        if !ended {
            return Err("end_reason: only call_ended carries an end_reason".to_owned());
        }
        text("end_reason", Some(reason), MAX_END_REASON)?;
    }
    if let Some(cost) = &event.cost {
        if !ended {
            return Err("cost: only call_ended carries a cost".to_owned());
        }
        if !(0.0..=MAX_COST).contains(&cost.amount) {
            return Err(format!("cost.amount: must be between 0 and {MAX_COST}"));
        }
        let code = cost.currency.as_bytes();
        if code.len() != 3 || !code.iter().all(u8::is_ascii_uppercase) {
            return Err("cost.currency: an ISO 4217 code, three capital letters".to_owned());
        }
    }
    Ok(())
}

/// `turn`: required on `turn` events and only there.
fn turn_field(event: &CallEvent) -> Result<(), String> {
    let turn = match (event.event_type, &event.turn) {
        (EventType::Turn, None) => return Err("turn: required for turn events".to_owned()),
        (EventType::Turn, Some(turn)) => turn,
        (_, Some(_)) => return Err("turn: only turn events carry a turn".to_owned()),
        (_, None) => return Ok(()),
    };
    if turn.text.trim().is_empty() {
        return Err("turn.text: must not be empty".to_owned());
    }
    if turn.text.chars().count() > MAX_TURN_TEXT {
        return Err(format!("turn.text: at most {MAX_TURN_TEXT} characters"));
    }
    // Line breaks are speech; other control characters (NUL above all) cannot be stored.
    if turn
        .text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err("turn.text: must not contain control characters".to_owned());
    }
    if let Some(latency) = turn.latency_ms
        && !(0..=MAX_LATENCY_MS).contains(&latency)
    {
        return Err(format!(
            "turn.latency_ms: must be between 0 and {MAX_LATENCY_MS}"
        ));
    }
    Ok(())
}

/// The path of the first key or string in `value` that holds U+0000.
fn nul_in(value: &Value, path: &str) -> Option<String> {
    match value {
        Value::String(text) if text.contains('\0') => Some(path.to_owned()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(index, item)| nul_in(item, &format!("{path}[{index}]"))),
        Value::Object(fields) => nul_in_fields(fields, path),
        _ => None,
    }
}

fn nul_in_fields(fields: &serde_json::Map<String, Value>, path: &str) -> Option<String> {
    fields.iter().find_map(|(key, item)| {
        let path = format!("{path}.{key}");
        if key.contains('\0') {
            Some(path)
        } else {
            nul_in(item, &path)
        }
    })
}

fn identifier(field: &str, value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err(format!("{field}: must not be empty"));
    }
    if value.chars().count() > MAX_ID {
        return Err(format!("{field}: at most {MAX_ID} characters"));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{field}: must not contain spaces or control characters"
        ));
    }
    Ok(())
}

fn text(field: &str, value: Option<&str>, max: usize) -> Result<(), String> {
    match value {
        Some("") => Err(format!("{field}: must not be empty (omit it instead)")),
        Some(value) if value.chars().count() > max => {
            Err(format!("{field}: at most {max} characters"))
        }
        Some(value) if value.chars().any(char::is_control) => {
            Err(format!("{field}: must not contain control characters"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod properties {
    //! Whatever a producer sends, validation answers — an event or a rejection — and never
    //! panics; what it accepts, storage can hold.

    use proptest::prelude::*;
    use serde_json::json;
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-11-21 12:00 UTC);

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            any::<String>().prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
                prop::collection::hash_map(
                    prop_oneof![
                        Just("type".to_owned()),
                        Just("user_id".to_owned()),
                        Just("call_id".to_owned()),
                        Just("at".to_owned()),
                        Just("call".to_owned()),
                        Just("outcome".to_owned()),
                        Just("duration".to_owned()),
                        Just("turn".to_owned()),
                        Just("end_reason".to_owned()),
                        Just("cost".to_owned()),
                        any::<String>(),
                    ],
                    inner,
                    0..6
                )
                .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_json_is_an_event_or_a_rejection(value in any_json()) {
            let _ = validate(value, NOW);
        }

        #[test]
        fn any_body_is_events_or_a_clear_error(body in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = parse_body(&body, NOW);
        }

        #[test]
        fn what_is_accepted_can_be_stored(
            event_type in prop_oneof![Just("call_started"), Just("heartbeat"), Just("call_ended")],
            user_id in ".{0,40}",
            call_id in ".{0,40}",
            at in prop_oneof![
                "[+-]?[0-9]{4,6}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9](Z|[+-][0-2][0-9]:[0-5][0-9])",
                Just("9999-12-31T23:59:59-01:00".to_owned()),
                any::<String>(),
            ],
            duration in any::<Option<i64>>(),
        ) {
            let value = json!({"type": event_type, "user_id": user_id, "call_id": call_id,
                               "at": at, "outcome": "completed", "duration": duration});
            if let Ok(event) = validate(value, NOW) {
                prop_assert!(event.at >= EARLIEST && event.at <= NOW + MAX_CLOCK_SKEW);
                prop_assert!(!event.user_id.is_empty() && event.user_id.len() <= MAX_ID);
                prop_assert!(!event.call_id.is_empty() && event.call_id.len() <= MAX_ID);
                prop_assert!(event.duration.is_none_or(|d| (0..=MAX_DURATION_SECS).contains(&d)));
                // The row's UTC time: the conversion that used to panic at the far edges.
                let _ = crate::storage::record::utc(event.at);
            }
        }

        #[test]
        fn accepted_metadata_never_holds_nul(metadata in any_json()) {
            let value = json!({"type": "call_started", "user_id": "t", "call_id": "c",
                               "at": "2026-11-21T11:59:00Z", "call": {"call_metadata": metadata}});
            if let Ok(event) = validate(value, NOW) {
                let stored = serde_json::to_string(&event.call.and_then(|call| call.call_metadata));
                prop_assert!(!stored.unwrap_or_default().contains("\\u0000"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-11-21 12:00 UTC);

    fn started() -> Value {
        json!({"type": "call_started", "user_id": "tenant-1", "call_id": "call-123",
               "at": "2026-11-21T11:59:00Z",
               "call": {"phoneNumber": "+12345678900", "direction": "inbound", "agentConfigId": "agent-xyz",
                        "livekitRoomName": "room-abc", "call_metadata": {}}})
    }

    fn with(mut event: Value, path: &[&str], value: Value) -> Value {
        let (last, parents) = path.split_last().unwrap();
        let mut target = &mut event;
        for key in parents {
            target = target.get_mut(*key).unwrap();
        }
        target[*last] = value;
        event
    }

    fn error_of(event: Value) -> String {
        validate(event, NOW).unwrap_err().message
    }

    #[test]
    fn the_spec_example_is_valid() {
        let event = validate(started(), NOW).unwrap();
        assert_eq!(event.call_id, "call-123");
        assert_eq!(event.at, datetime!(2026-11-21 11:59 UTC));
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases = [
            (
                with(started(), &["type"], json!("call_paused")),
                "type: unknown variant `call_paused`",
            ),
            (
                with(started(), &["user_id"], json!("")),
                "user_id: must not be empty",
            ),
            (
                with(started(), &["user_id"], json!("x".repeat(37))),
                "user_id: at most 36",
            ),
            (
                with(started(), &["call_id"], json!("a b")),
                "call_id: must not contain spaces",
            ),
            (
                with(started(), &["call_id"], json!(42)),
                "invalid type: integer",
            ),
            (with(started(), &["at"], json!("yesterday")), "at: "),
            (
                with(started(), &["at"], json!("2026-11-21T11:59:00")),
                "at: ",
            ),
            (
                with(started(), &["at"], json!("2026-11-21T13:00:00Z")),
                "at: 2026-11-21 13:00:00.0 +00:00:00 is in the future",
            ),
            (
                with(started(), &["at"], json!("1999-12-31T23:59:59Z")),
                "is before 2000",
            ),
            (
                with(started(), &["call", "direction"], json!("sideways")),
                "call.direction: unknown variant `sideways`",
            ),
            (
                with(started(), &["call", "phoneNumber"], json!("+1".repeat(20))),
                "call.phoneNumber: at most 32",
            ),
            (
                with(started(), &["call", "colour"], json!("red")),
                "unknown field `colour`",
            ),
            (
                with(started(), &["surprise"], json!(1)),
                "unknown field `surprise`",
            ),
            (
                with(started(), &["outcome"], json!("completed")),
                "outcome: only call_ended",
            ),
            (
                with(started(), &["duration"], json!(10)),
                "duration: only call_ended",
            ),
            (
                with(
                    started(),
                    &["call", "call_metadata"],
                    json!({"blob": "x".repeat(17_000)}),
                ),
                "call.call_metadata",
            ),
            (
                with(started(), &["call", "sipCallId"], json!("sip\u{0}1")),
                "call.sipCallId: must not contain control characters",
            ),
            (
                with(
                    started(),
                    &["call", "call_metadata"],
                    json!({"notes": ["fine", "a\u{0}b"]}),
                ),
                "call.call_metadata.notes[1]: contains U+0000",
            ),
            (
                with(
                    started(),
                    &["call", "call_metadata"],
                    json!({"nested": {"k\u{0}": 1}}),
                ),
                "call.call_metadata.nested.k\u{0}: contains U+0000",
            ),
        ];
        for (event, expected) in cases {
            let message = error_of(event.clone());
            assert!(
                message.contains(expected),
                "{event}: {message:?} should mention {expected:?}"
            );
        }
    }

    #[test]
    fn ended_needs_a_producer_outcome_and_a_sane_duration() {
        let ended = json!({"type": "call_ended", "user_id": "t", "call_id": "c", "at": "2026-11-21T11:59:00Z"});
        assert!(error_of(ended.clone()).contains("outcome: required"));
        assert!(
            error_of(with(ended.clone(), &["outcome"], json!("stale"))).contains("reconciliation")
        );
        let completed = with(ended, &["outcome"], json!("completed"));
        assert!(error_of(with(completed.clone(), &["duration"], json!(-1))).contains("duration"));
        assert!(
            error_of(with(completed.clone(), &["duration"], json!(1.5))).contains("invalid type")
        );
        assert!(validate(with(completed, &["duration"], json!(90)), NOW).is_ok());
    }

    #[test]
    fn turns_and_endings_are_checked_where_they_belong() {
        let turn = json!({"type": "turn", "user_id": "t", "call_id": "c", "at": "2026-11-21T11:59:00Z",
                          "turn": {"role": "agent", "text": "Hello!", "latency_ms": 640, "interrupted": false}});
        assert!(validate(turn.clone(), NOW).is_ok());
        let ended = json!({"type": "call_ended", "user_id": "t", "call_id": "c", "at": "2026-11-21T11:59:00Z",
                           "outcome": "completed", "end_reason": "caller_hung_up",
                           "cost": {"amount": 0.42, "currency": "USD"}});
        assert!(validate(ended.clone(), NOW).is_ok());
        let cases = [
            (
                with(turn.clone(), &["turn", "role"], json!("narrator")),
                "turn.role: unknown variant",
            ),
            (
                with(turn.clone(), &["turn", "text"], json!("  ")),
                "turn.text: must not be empty",
            ),
            (
                with(
                    turn.clone(),
                    &["turn", "text"],
                    json!("x".repeat(MAX_TURN_TEXT + 1)),
                ),
                "turn.text: at most 4000",
            ),
            (
                with(turn.clone(), &["turn", "text"], json!("a\u{0}b")),
                "turn.text: must not contain control",
            ),
            (
                with(turn.clone(), &["turn", "latency_ms"], json!(-5)),
                "turn.latency_ms: must be between",
            ),
            (
                with(turn.clone(), &["turn", "mood"], json!("happy")),
                "unknown field `mood`",
            ),
            (
                with(turn.clone(), &["call"], json!({"phoneNumber": "+1"})),
                "call: turns carry no call fields",
            ),
            (
                with(started(), &["turn"], json!({"role": "agent", "text": "hi"})),
                "turn: only turn events",
            ),
            (
                json!({"type": "turn", "user_id": "t", "call_id": "c", "at": "2026-11-21T11:59:00Z"}),
                "turn: required",
            ),
            (
                with(started(), &["end_reason"], json!("done")),
                "end_reason: only call_ended",
            ),
            (
                with(
                    started(),
                    &["cost"],
                    json!({"amount": 1, "currency": "USD"}),
                ),
                "cost: only call_ended",
            ),
            (
                with(ended.clone(), &["end_reason"], json!("x".repeat(65))),
                "end_reason: at most 64",
            ),
            (
                with(ended.clone(), &["cost", "amount"], json!(-0.01)),
                "cost.amount: must be between",
            ),
            (
                with(ended.clone(), &["cost", "currency"], json!("usd")),
                "cost.currency: an ISO 4217",
            ),
            (
                with(ended.clone(), &["cost", "amount"], json!("1.00")),
                "cost.amount: invalid type",
            ),
        ];
        for (event, expected) in cases {
            let message = error_of(event.clone());
            assert!(
                message.contains(expected),
                "{event}: {message:?} should mention {expected:?}"
            );
        }
        // A multi-line turn is speech, not a control character.
        assert!(validate(with(turn, &["turn", "text"], json!("Yes.\nAnd also…")), NOW).is_ok());
    }

    #[test]
    fn the_call_id_is_reported_when_readable() {
        let rejection = validate(with(started(), &["type"], json!("nope")), NOW).unwrap_err();
        assert_eq!(rejection.call_id.as_deref(), Some("call-123"));
        assert_eq!(rejection.code, "invalid_event");
    }

    #[test]
    fn bodies_are_one_event_or_a_bounded_batch() {
        assert_eq!(
            parse_body(b"{", NOW)
                .unwrap_err()
                .to_string()
                .split(':')
                .next(),
            Some("request body is not valid JSON")
        );
        assert_eq!(parse_body(b"42", NOW).unwrap_err(), BodyError::NotAnEvent);
        assert_eq!(parse_body(b"[]", NOW).unwrap_err(), BodyError::EmptyBatch);
        let too_many = Value::Array(vec![started(); MAX_BATCH + 1]).to_string();
        assert_eq!(
            parse_body(too_many.as_bytes(), NOW).unwrap_err(),
            BodyError::BatchTooLarge(MAX_BATCH + 1)
        );
        let mixed = json!([started(), 7, with(started(), &["type"], json!("x"))]).to_string();
        let results = parse_body(mixed.as_bytes(), NOW).unwrap();
        assert!(results[0].is_ok());
        assert!(results[1].is_err() && results[2].is_err());
    }
}
