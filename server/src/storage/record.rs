//! A `call_logs` row and how one event changes it.
//!
//! [`apply`] is the single definition of ingest semantics, shared by every backend. It is built
//! so that the final row does not depend on the order events arrive in, and replaying an event
//! changes nothing:
//! - `startedAt` comes from `call_started`; until one arrives it is the earliest time seen
//!   (`startConfirmed = false`), so "ended before started" still yields a sensible row.
//! - `call_ended` is terminal: later `call_started` / `call_updated` never reopen a call. Of two
//!   `call_ended`, the later `at` wins.
//! - Descriptive fields: an event at or after `lastEventAt` overwrites them; an older event only
//!   fills gaps.
//! - `lastHeartbeatAt` only moves forward.
//! - `duration`: as sent with `call_ended`, else `endedAt - startedAt` once the start is known
//!   (NULL until then).

use app::dto::ingest::{CallEvent, CallFields, EventType};
use serde_json::{Map, Value};
use sqlx::types::Json;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

pub const STATUS_ACTIVE: &str = "active";
pub const STATUS_ENDED: &str = "ended";

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize, serde::Deserialize)]
pub struct CallRecord {
    pub id: String,
    #[sqlx(rename = "userId")]
    pub user_id: String,
    #[sqlx(rename = "agentConfigId")]
    pub agent_config_id: Option<String>,
    #[sqlx(rename = "phoneNumber")]
    pub phone_number: Option<String>,
    #[sqlx(rename = "startedAt")]
    pub started_at: PrimitiveDateTime,
    #[sqlx(rename = "endedAt")]
    pub ended_at: Option<PrimitiveDateTime>,
    #[sqlx(rename = "livekitRoomName")]
    pub livekit_room_name: Option<String>,
    #[sqlx(rename = "livekitRoomSid")]
    pub livekit_room_sid: Option<String>,
    pub direction: Option<String>,
    pub status: Option<String>,
    pub outcome: Option<String>,
    pub duration: Option<i32>,
    #[sqlx(rename = "sipCallId")]
    pub sip_call_id: Option<String>,
    #[sqlx(rename = "recordingUrl")]
    pub recording_url: Option<String>,
    pub call_metadata: Option<Json<Value>>,
    #[sqlx(rename = "lastHeartbeatAt")]
    pub last_heartbeat_at: Option<PrimitiveDateTime>,
    #[sqlx(rename = "lastEventAt")]
    pub last_event_at: Option<PrimitiveDateTime>,
    #[sqlx(rename = "startConfirmed")]
    pub start_confirmed: bool,
    /// What the call's page counts beyond the row ([`super::timeline`]), kept in the row so a
    /// heartbeat or a turn costs no write beyond the row's own.
    #[sqlx(flatten)]
    #[serde(default)]
    pub tally: CallTally,
}

/// A call's counts beside its columns: events logged, heartbeats summarised, turns, and the
/// standing end's reason and cost.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow, serde::Serialize, serde::Deserialize,
)]
pub struct CallTally {
    /// Events logged since the call began (heartbeats and turns aside), including those the
    /// log no longer keeps.
    #[sqlx(rename = "eventsLogged")]
    pub events_logged: i64,
    #[sqlx(rename = "heartbeatCount")]
    pub heartbeats: i64,
    #[sqlx(rename = "firstHeartbeatAt")]
    pub first_heartbeat_at: Option<PrimitiveDateTime>,
    /// The longest wait between two heartbeats, in the order they happened as they arrived.
    #[sqlx(rename = "longestHeartbeatGapMs")]
    pub longest_heartbeat_gap_ms: i64,
    #[sqlx(rename = "turnCount")]
    pub turns: i64,
    #[sqlx(rename = "endReason")]
    pub end_reason: Option<String>,
    /// In millionths of the currency's unit.
    #[sqlx(rename = "costMicros")]
    pub cost_micros: Option<i64>,
    #[sqlx(rename = "costCurrency")]
    pub cost_currency: Option<String>,
    /// The call's agent turns by latency bucket (`app::dto::latency::LATENCY_BUCKETS_MS`), as
    /// (bucket, turns) pairs in bucket order: what the call adds to its agent's histogram for its
    /// start hour, so that the histogram moves with the call as the rollup does.
    #[sqlx(rename = "latencyBuckets")]
    pub latency_buckets: Json<Vec<(i32, i64)>>,
}

/// Why an event cannot be applied to the row it names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    #[error("call {call_id} belongs to another tenant")]
    TenantMismatch { call_id: String },
    /// Room sids are unique per tenant: the same room cannot host two of a tenant's calls.
    #[error("call {call_id}: livekitRoomSid {room_sid} is already held by call {holder}")]
    RoomSidTaken {
        call_id: String,
        room_sid: String,
        holder: String,
    },
    /// The call's merged metadata would pass the bound ([`super::Bounds`]).
    #[error("call {call_id}: call_metadata would be {bytes} bytes stored, at most {limit}")]
    MetadataTooLarge {
        call_id: String,
        bytes: usize,
        limit: usize,
    },
    /// The tenant has the most live calls it may have ([`crate::ingest::Gate`]).
    #[error("tenant {user_id} has {limit} live calls, the most it may have; end one first")]
    LiveCallLimit { user_id: String, limit: usize },
    /// Too many tenants appeared for the first time this minute ([`crate::ingest::Gate`]).
    #[error(
        "user_id {user_id}: too many new tenants this minute (at most {per_minute}); try again shortly"
    )]
    TenantLimit { user_id: String, per_minute: u32 },
    /// The call has the most turns one call may have ([`super::timeline`]).
    #[error("call {call_id} has {limit} turns, the most one call may have")]
    TurnLimit { call_id: String, limit: usize },
}

impl MergeError {
    /// The stable code producers see for this refusal.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TenantMismatch { .. } => "tenant_mismatch",
            Self::RoomSidTaken { .. } => "room_sid_taken",
            Self::MetadataTooLarge { .. } => "metadata_too_large",
            Self::LiveCallLimit { .. } => "live_call_limit",
            Self::TenantLimit { .. } => "tenant_limit",
            Self::TurnLimit { .. } => "turn_limit",
        }
    }
}

/// UTC wall-clock time without offset, as `call_logs` stores it.
pub fn utc(at: OffsetDateTime) -> PrimitiveDateTime {
    let at = at.to_offset(UtcOffset::UTC);
    PrimitiveDateTime::new(at.date(), at.time())
}

impl CallRecord {
    pub fn is_active(&self) -> bool {
        self.status.as_deref() == Some(STATUS_ACTIVE)
    }

    /// The row as live state keeps and publishes it (bus, registry, pushes): without its
    /// metadata, which nothing live shows (the call's page reads it) and which would make every
    /// copy cost up to the metadata bound. The metadata is never cloned to be dropped.
    pub fn live_copy(&self) -> Self {
        let Self {
            id,
            user_id,
            agent_config_id,
            phone_number,
            started_at,
            ended_at,
            livekit_room_name,
            livekit_room_sid,
            direction,
            status,
            outcome,
            duration,
            sip_call_id,
            recording_url,
            call_metadata: _,
            last_heartbeat_at,
            last_event_at,
            start_confirmed,
            tally,
        } = self;
        Self {
            id: id.clone(),
            user_id: user_id.clone(),
            agent_config_id: agent_config_id.clone(),
            phone_number: phone_number.clone(),
            started_at: *started_at,
            ended_at: *ended_at,
            livekit_room_name: livekit_room_name.clone(),
            livekit_room_sid: livekit_room_sid.clone(),
            direction: direction.clone(),
            status: status.clone(),
            outcome: outcome.clone(),
            duration: *duration,
            sip_call_id: sip_call_id.clone(),
            recording_url: recording_url.clone(),
            call_metadata: None,
            last_heartbeat_at: *last_heartbeat_at,
            last_event_at: *last_event_at,
            start_confirmed: *start_confirmed,
            tally: tally.clone(),
        }
    }

    /// The last sign of life: the last heartbeat, or the start when none came yet.
    pub fn last_seen(&self) -> PrimitiveDateTime {
        self.last_heartbeat_at
            .map_or(self.started_at, |beat| beat.max(self.started_at))
    }

    fn new(event: &CallEvent, at: PrimitiveDateTime) -> Self {
        Self {
            id: event.call_id.clone(),
            user_id: event.user_id.clone(),
            agent_config_id: None,
            phone_number: None,
            started_at: at,
            ended_at: None,
            livekit_room_name: None,
            livekit_room_sid: None,
            direction: None,
            status: Some(STATUS_ACTIVE.to_owned()),
            outcome: None,
            duration: None,
            sip_call_id: None,
            recording_url: None,
            call_metadata: None,
            last_heartbeat_at: None,
            last_event_at: None,
            start_confirmed: false,
            tally: CallTally::default(),
        }
    }

    fn computed_duration(&self) -> Option<i32> {
        let ended = self.ended_at?;
        let seconds = (ended - self.started_at).whole_seconds().max(0);
        Some(i32::try_from(seconds).unwrap_or(i32::MAX))
    }

    fn merge_fields(&mut self, fields: &CallFields, overwrite: bool) {
        fn set<T: Clone>(slot: &mut Option<T>, value: &Option<T>, overwrite: bool) {
            if value.is_some() && (overwrite || slot.is_none()) {
                slot.clone_from(value);
            }
        }
        set(&mut self.phone_number, &fields.phone_number, overwrite);
        set(
            &mut self.direction,
            &fields.direction.map(|d| d.as_str().to_owned()),
            overwrite,
        );
        set(
            &mut self.agent_config_id,
            &fields.agent_config_id,
            overwrite,
        );
        set(
            &mut self.livekit_room_name,
            &fields.livekit_room_name,
            overwrite,
        );
        set(
            &mut self.livekit_room_sid,
            &fields.livekit_room_sid,
            overwrite,
        );
        set(&mut self.sip_call_id, &fields.sip_call_id, overwrite);
        set(&mut self.recording_url, &fields.recording_url, overwrite);
        if let Some(incoming) = &fields.call_metadata {
            // Metadata merges key by key, with the same newer-wins rule.
            let mut merged = match self.call_metadata.take() {
                Some(Json(Value::Object(existing))) => existing,
                _ => Map::new(),
            };
            for (key, value) in incoming {
                if overwrite || !merged.contains_key(key) {
                    merged.insert(key.clone(), value.clone());
                }
            }
            self.call_metadata = Some(Json(Value::Object(merged)));
        }
    }
}

/// The row after `event`; `existing` is the row as stored (or as left by earlier events of the
/// same batch).
pub fn apply(existing: Option<&CallRecord>, event: &CallEvent) -> Result<CallRecord, MergeError> {
    let at = utc(event.at);
    let mut row = match existing {
        Some(row) if row.user_id != event.user_id => {
            return Err(MergeError::TenantMismatch {
                call_id: event.call_id.clone(),
            });
        }
        Some(row) => row.clone(),
        None => CallRecord::new(event, at),
    };
    let newest = row.last_event_at.is_none_or(|last| at >= last);

    match event.event_type {
        EventType::CallStarted => {
            // A duration is recomputed only if it was computed: with a confirmed start that is
            // when it equals `endedAt - startedAt`; before one, durations are explicit or unknown.
            let recompute = if row.start_confirmed {
                row.duration.is_some() && row.duration == row.computed_duration()
            } else {
                row.duration.is_none()
            };
            row.started_at = at;
            row.start_confirmed = true;
            if recompute {
                row.duration = row.computed_duration();
            }
        }
        EventType::CallUpdated | EventType::Heartbeat | EventType::Turn => {
            if !row.start_confirmed && at < row.started_at {
                row.started_at = at;
            }
        }
        EventType::CallEnded => {
            if !row.start_confirmed {
                let began = event
                    .duration
                    .map_or(at, |seconds| at - time::Duration::seconds(seconds));
                row.started_at = row.started_at.min(began);
            }
            let later_end = row.ended_at.is_none_or(|ended| at >= ended);
            if row.is_active() || later_end {
                row.status = Some(STATUS_ENDED.to_owned());
                row.ended_at = Some(at);
                row.outcome = event.outcome.map(|outcome| outcome.as_str().to_owned());
                row.duration = match event.duration {
                    Some(seconds) => Some(i32::try_from(seconds).unwrap_or(i32::MAX)),
                    // Without a known start the duration is unknown, not zero.
                    None if row.start_confirmed => row.computed_duration(),
                    None => None,
                };
            }
        }
    }
    match event.event_type {
        EventType::Heartbeat => {
            row.last_heartbeat_at = Some(row.last_heartbeat_at.map_or(at, |last| last.max(at)));
        }
        // A turn is kept beside the row (`super::timeline`): it changes no column.
        EventType::Turn => {}
        EventType::CallStarted | EventType::CallUpdated | EventType::CallEnded => {
            if let Some(fields) = &event.call {
                row.merge_fields(fields, newest);
            }
            row.last_event_at = Some(row.last_event_at.map_or(at, |last| last.max(at)));
        }
    }
    Ok(row)
}

#[cfg(test)]
mod tests {
    use app::dto::ingest::{Direction, Outcome};
    use time::macros::datetime;

    use super::*;

    fn event(event_type: EventType, at: OffsetDateTime) -> CallEvent {
        CallEvent::new(event_type, "tenant-1", "call-1", at)
    }

    fn started() -> CallEvent {
        CallEvent {
            call: Some(CallFields {
                phone_number: Some("+12345678900".into()),
                direction: Some(Direction::Inbound),
                agent_config_id: Some("agent-1".into()),
                ..CallFields::default()
            }),
            ..event(EventType::CallStarted, datetime!(2026-11-21 12:00:00 UTC))
        }
    }

    fn ended(duration: Option<i64>) -> CallEvent {
        CallEvent {
            outcome: Some(Outcome::Completed),
            duration,
            ..event(EventType::CallEnded, datetime!(2026-11-21 12:01:30 UTC))
        }
    }

    fn fold(events: &[CallEvent]) -> CallRecord {
        events
            .iter()
            .fold(None, |row: Option<CallRecord>, e| {
                Some(apply(row.as_ref(), e).unwrap())
            })
            .unwrap()
    }

    #[test]
    fn started_then_ended_gives_a_complete_row() {
        let row = fold(&[started(), ended(None)]);
        assert_eq!(row.status.as_deref(), Some("ended"));
        assert_eq!(row.outcome.as_deref(), Some("completed"));
        assert_eq!(row.started_at, datetime!(2026-11-21 12:00:00));
        assert_eq!(row.ended_at, Some(datetime!(2026-11-21 12:01:30)));
        assert_eq!(row.duration, Some(90));
        assert_eq!(row.phone_number.as_deref(), Some("+12345678900"));
        assert_eq!(row.direction.as_deref(), Some("inbound"));
        assert!(row.start_confirmed);
    }

    #[test]
    fn order_does_not_matter() {
        for duration in [None, Some(90), Some(75)] {
            let in_order = fold(&[started(), ended(duration)]);
            let reversed = fold(&[ended(duration), started()]);
            assert_eq!(in_order, reversed, "duration {duration:?}");
        }
    }

    #[test]
    fn replays_change_nothing() {
        let once = fold(&[started(), ended(None)]);
        let twice = fold(&[started(), ended(None), started(), ended(None), started()]);
        assert_eq!(once, twice);
    }

    #[test]
    fn ended_alone_estimates_the_start_from_the_duration() {
        let row = fold(&[ended(Some(60))]);
        assert_eq!(row.started_at, datetime!(2026-11-21 12:00:30));
        assert!(!row.start_confirmed);
        assert_eq!(row.duration, Some(60));
    }

    #[test]
    fn a_late_start_never_reopens_an_ended_call() {
        let row = fold(&[ended(None), started()]);
        assert_eq!(row.status.as_deref(), Some("ended"));
    }

    #[test]
    fn older_updates_only_fill_gaps() {
        let newer = CallEvent {
            call: Some(CallFields {
                phone_number: Some("+1999".into()),
                ..CallFields::default()
            }),
            ..event(EventType::CallUpdated, datetime!(2026-11-21 12:00:50 UTC))
        };
        let older = CallEvent {
            call: Some(CallFields {
                phone_number: Some("+1000".into()),
                recording_url: Some("https://rec/1".into()),
                ..CallFields::default()
            }),
            ..event(EventType::CallUpdated, datetime!(2026-11-21 12:00:10 UTC))
        };
        for order in [
            [newer.clone(), older.clone()],
            [older.clone(), newer.clone()],
        ] {
            let row = fold(&[started(), order[0].clone(), order[1].clone()]);
            assert_eq!(row.phone_number.as_deref(), Some("+1999"));
            assert_eq!(row.recording_url.as_deref(), Some("https://rec/1"));
        }
    }

    #[test]
    fn heartbeats_only_move_forward() {
        let late = event(EventType::Heartbeat, datetime!(2026-11-21 12:00:40 UTC));
        let early = event(EventType::Heartbeat, datetime!(2026-11-21 12:00:20 UTC));
        let row = fold(&[started(), late, early]);
        assert_eq!(row.last_heartbeat_at, Some(datetime!(2026-11-21 12:00:40)));
        assert!(row.is_active());
    }

    #[test]
    fn another_tenant_cannot_touch_a_call() {
        let row = fold(&[started()]);
        let intruder = CallEvent {
            user_id: "tenant-2".into(),
            ..ended(None)
        };
        assert_eq!(
            apply(Some(&row), &intruder),
            Err(MergeError::TenantMismatch {
                call_id: "call-1".into()
            })
        );
    }
}
