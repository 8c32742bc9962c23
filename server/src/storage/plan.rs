//! Turning a batch of events into one transaction's worth of writes, independent of backend:
//! the rows to upsert, the rollup deltas, the tenants to register, and what happened to each
//! event. Backends only load rows and execute the plan.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use app::dto::ingest::CallEvent;
use time::PrimitiveDateTime;

use super::{
    record::{CallRecord, MergeError, apply},
    timeline::{Incoming, Timeline, TimelinePlan},
};

/// One `call_hourly_rollup` row's key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RollupKey {
    pub user_id: String,
    pub hour: PrimitiveDateTime,
    pub agent_config_id: String,
    pub outcome: String,
}

/// Additive counters of a rollup row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RollupValues {
    pub calls: i64,
    pub ended: i64,
    pub duration_sum: i64,
    pub duration_count: i64,
}

impl RollupValues {
    pub(crate) fn add(&mut self, other: Self, sign: i64) {
        self.calls += sign * other.calls;
        self.ended += sign * other.ended;
        self.duration_sum += sign * other.duration_sum;
        self.duration_count += sign * other.duration_count;
    }

    fn is_zero(&self) -> bool {
        *self == Self::default()
    }
}

/// One `agent_latency_hourly` row's key: the call's tenant, start hour and agent, and the
/// bucket of [`app::dto::latency::LATENCY_BUCKETS_MS`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LatencyKey {
    pub user_id: String,
    pub hour: PrimitiveDateTime,
    pub agent_config_id: String,
    pub bucket: i32,
}

/// The hour a call started in: its rollup hour.
fn start_hour(row: &CallRecord) -> PrimitiveDateTime {
    row.started_at
        .replace_minute(0)
        .and_then(|t| t.replace_second(0))
        .and_then(|t| t.replace_nanosecond(0))
        // replace_* only fail on out-of-range values; 0 is always in range.
        .unwrap_or(row.started_at)
}

/// What one row adds to the rollup: one call in the hour it started, under its agent and
/// outcome ('' while active).
pub fn contribution(row: &CallRecord) -> (RollupKey, RollupValues) {
    let active = row.is_active();
    let key = RollupKey {
        user_id: row.user_id.clone(),
        hour: start_hour(row),
        agent_config_id: row.agent_config_id.clone().unwrap_or_default(),
        outcome: if active {
            String::new()
        } else {
            row.outcome.clone().unwrap_or_default()
        },
    };
    let duration = if active { None } else { row.duration };
    let values = RollupValues {
        calls: 1,
        ended: i64::from(!active),
        duration_sum: duration.map_or(0, i64::from),
        duration_count: i64::from(duration.is_some()),
    };
    (key, values)
}

/// What one row adds to the latency histograms: its agent turns by bucket, under its tenant,
/// start hour and agent — so a call whose agent or start hour changes takes them along.
fn latency_contribution(row: &CallRecord) -> impl Iterator<Item = (LatencyKey, i64)> + '_ {
    let (hour, agent) = (
        start_hour(row),
        row.agent_config_id.clone().unwrap_or_default(),
    );
    row.tally
        .latency_buckets
        .0
        .iter()
        .map(move |&(bucket, turns)| {
            let key = LatencyKey {
                user_id: row.user_id.clone(),
                hour,
                agent_config_id: agent.clone(),
                bucket,
            };
            (key, turns)
        })
}

/// The outcome of planning one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Planned {
    /// Applied; `changed` is false for a replay that left the row as it was.
    Applied {
        changed: bool,
    },
    Rejected(MergeError),
}

#[derive(Debug, Default)]
pub struct BatchPlan {
    /// Rows to write, in id order (a fixed lock order across concurrent writers).
    pub upserts: Vec<CallRecord>,
    /// Non-zero rollup changes, in key order.
    pub rollup: Vec<(RollupKey, RollupValues)>,
    /// Non-zero latency histogram changes (agent turns by bucket), in key order.
    pub latency: Vec<(LatencyKey, i64)>,
    /// Tenants of rows not seen before, sorted.
    pub new_tenants: Vec<String>,
    /// One entry per input event, in input order.
    pub events: Vec<Planned>,
    /// The final state of every row an event changed, by id.
    pub changed: HashMap<String, CallRecord>,
    /// What the calls' pages keep beside their rows.
    pub timeline: TimelinePlan,
}

impl BatchPlan {
    /// The hours whose rollup or latency rows this plan changes, ascending: the order writers
    /// bump their versions in (see `storage::all_tenants`), so concurrent batches never
    /// deadlock on them.
    pub fn rollup_hours(&self) -> Vec<PrimitiveDateTime> {
        let rollup = self.rollup.iter().map(|(key, _)| key.hour);
        let latency = self.latency.iter().map(|(key, _)| key.hour);
        let hours: BTreeSet<PrimitiveDateTime> = rollup.chain(latency).collect();
        hours.into_iter().collect()
    }
}

/// Which call holds a room sid, by (tenant, sid).
pub type RoomSidHolders = HashMap<(String, String), String>;

/// Holders from rows of (tenant, room sid, call id), as both backends read them.
pub fn holders(rows: Vec<(String, String, String)>) -> RoomSidHolders {
    rows.into_iter()
        .map(|(tenant, sid, id)| ((tenant, sid), id))
        .collect()
}

/// The (tenant, room sid) pairs `events` claim: what [`plan`] needs to know the holders of.
pub fn claimed_room_sids(events: &[Incoming]) -> Vec<(String, String)> {
    let claimed: BTreeSet<(String, String)> = events
        .iter()
        .map(|incoming| &incoming.event)
        .filter_map(|event| {
            let sid = event.call.as_ref()?.livekit_room_sid.as_ref()?;
            Some((event.user_id.clone(), sid.clone()))
        })
        .collect();
    claimed.into_iter().collect()
}

/// What one call's row may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Bytes of a call's merged `call_metadata` (as JSON).
    pub max_metadata_bytes: usize,
}

/// 64 KiB of metadata per call: room for a long transcript's worth of keys, and a bound on what
/// every later write of the row costs.
pub const DEFAULT_MAX_METADATA_BYTES: usize = 64 * 1024;

impl Default for Bounds {
    fn default() -> Self {
        Self {
            max_metadata_bytes: DEFAULT_MAX_METADATA_BYTES,
        }
    }
}

impl Bounds {
    /// The row after `event`, unless the metadata `event` brought takes it past the bound (an
    /// event without metadata never does: it cannot have grown).
    fn check(self, event: &CallEvent, after: CallRecord) -> Result<CallRecord, MergeError> {
        let carried = event
            .call
            .as_ref()
            .is_some_and(|call| call.call_metadata.is_some());
        if !carried {
            return Ok(after);
        }
        let bytes = after.call_metadata.as_ref().map_or(0, |metadata| {
            serde_json::to_vec(&metadata.0).map_or(usize::MAX, |json| json.len())
        });
        if bytes > self.max_metadata_bytes {
            return Err(MergeError::MetadataTooLarge {
                call_id: event.call_id.clone(),
                bytes,
                limit: self.max_metadata_bytes,
            });
        }
        Ok(after)
    }
}

/// Plans `events` against `stored`, the current rows of the calls they name, and `holders`, the
/// stored calls holding the room sids they claim (see [`claimed_room_sids`]). `now` is when
/// they are written.
pub fn plan(
    stored: &HashMap<String, CallRecord>,
    mut holders: RoomSidHolders,
    events: &[Incoming],
    bounds: Bounds,
    now: PrimitiveDateTime,
) -> BatchPlan {
    let mut current: HashMap<&str, CallRecord> = HashMap::new();
    let mut timeline = Timeline::new(now);
    let mut planned = Vec::with_capacity(events.len());
    for incoming in events {
        let event = &incoming.event;
        let before = current
            .get(event.call_id.as_str())
            .or_else(|| stored.get(&event.call_id));
        let after = Timeline::admit(event, before)
            .and_then(|()| apply(before, event))
            .and_then(|after| bounds.check(event, after))
            .and_then(|after| hold_room_sid(&mut holders, before, after));
        match after {
            Ok(mut after) => {
                // What the call shows changed (its tally aside, which every event moves).
                let changed = before != Some(&after);
                planned.push(Planned::Applied { changed });
                let previous_heartbeat = before.and_then(|row| row.last_heartbeat_at);
                timeline.record(incoming, previous_heartbeat, &mut after);
                current.insert(event.call_id.as_str(), after);
            }
            Err(error) => planned.push(Planned::Rejected(error)),
        }
    }
    let timeline = timeline.finish(
        |id| stored.get(id).map_or(0, |row| row.tally.events_logged),
        current.values(),
    );

    let mut rollup: BTreeMap<RollupKey, RollupValues> = BTreeMap::new();
    let mut latency: BTreeMap<LatencyKey, i64> = BTreeMap::new();
    let mut new_tenants = BTreeSet::new();
    let mut upserts = Vec::new();
    let mut changed = HashMap::new();
    for (id, after) in current {
        let before = stored.get(id);
        if before == Some(&after) {
            continue;
        }
        match before {
            Some(before) => {
                let (key, values) = contribution(before);
                rollup.entry(key).or_default().add(values, -1);
                for (key, turns) in latency_contribution(before) {
                    *latency.entry(key).or_default() -= turns;
                }
            }
            None => {
                new_tenants.insert(after.user_id.clone());
            }
        }
        let (key, values) = contribution(&after);
        rollup.entry(key).or_default().add(values, 1);
        for (key, turns) in latency_contribution(&after) {
            *latency.entry(key).or_default() += turns;
        }
        changed.insert(after.id.clone(), after.clone());
        upserts.push(after);
    }
    upserts.sort_by(|a, b| a.id.cmp(&b.id));
    BatchPlan {
        upserts,
        rollup: rollup
            .into_iter()
            .filter(|(_, values)| !values.is_zero())
            .collect(),
        latency: latency
            .into_iter()
            .filter(|(_, turns)| *turns != 0)
            .collect(),
        new_tenants: new_tenants.into_iter().collect(),
        events: planned,
        changed,
        timeline,
    }
}

/// Refuses `after` if its room sid is another call's; otherwise records who holds what now.
fn hold_room_sid(
    holders: &mut RoomSidHolders,
    before: Option<&CallRecord>,
    after: CallRecord,
) -> Result<CallRecord, MergeError> {
    let released = before.and_then(|row| row.livekit_room_sid.as_ref());
    if released == after.livekit_room_sid.as_ref() {
        return Ok(after);
    }
    if let Some(sid) = &after.livekit_room_sid {
        let key = (after.user_id.clone(), sid.clone());
        match holders.get(&key) {
            Some(holder) if *holder != after.id => {
                return Err(MergeError::RoomSidTaken {
                    call_id: after.id,
                    room_sid: sid.clone(),
                    holder: holder.clone(),
                });
            }
            _ => {
                holders.insert(key, after.id.clone());
            }
        }
    }
    if let Some(sid) = released {
        let key = (after.user_id.clone(), sid.clone());
        if holders.get(&key) == Some(&after.id) {
            holders.remove(&key);
        }
    }
    Ok(after)
}

#[cfg(test)]
mod tests {
    use app::dto::ingest::{EventType, Outcome};
    use time::macros::datetime;

    use super::*;

    const NOW: PrimitiveDateTime = datetime!(2026-11-21 13:00:00);

    /// Plans `events` as if sent over HTTP, against `rows`.
    fn plan_of(
        rows: &HashMap<String, CallRecord>,
        holders: RoomSidHolders,
        events: &[CallEvent],
    ) -> BatchPlan {
        let incoming = Incoming::all(events.to_vec(), app::dto::call_detail::EventSource::Http);
        plan(rows, holders, &incoming, Bounds::default(), NOW)
    }

    fn event(event_type: EventType, call_id: &str, minute: u8) -> CallEvent {
        let at = datetime!(2026-11-21 12:00:00 UTC)
            .replace_minute(minute)
            .unwrap();
        CallEvent {
            event_type,
            user_id: "tenant-1".into(),
            call_id: call_id.into(),
            at,
            call: None,
            outcome: (event_type == EventType::CallEnded).then_some(Outcome::Completed),
            duration: None,
            end_reason: None,
            cost: None,
            turn: None,
        }
    }

    #[test]
    fn a_started_then_ended_call_moves_between_rollup_rows() {
        let first = plan_of(
            &HashMap::new(),
            RoomSidHolders::new(),
            &[event(EventType::CallStarted, "a", 5)],
        );
        assert_eq!(first.new_tenants, vec!["tenant-1".to_owned()]);
        assert_eq!(first.rollup.len(), 1);
        assert_eq!(first.rollup[0].0.outcome, "");
        assert_eq!(
            first.rollup[0].1,
            RollupValues {
                calls: 1,
                ended: 0,
                duration_sum: 0,
                duration_count: 0
            }
        );

        let stored: HashMap<_, _> = first
            .upserts
            .into_iter()
            .map(|row| (row.id.clone(), row))
            .collect();
        let second = plan_of(
            &stored,
            RoomSidHolders::new(),
            &[event(EventType::CallEnded, "a", 7)],
        );
        assert!(second.new_tenants.is_empty());
        let deltas: Vec<(&str, RollupValues)> = second
            .rollup
            .iter()
            .map(|(key, values)| (key.outcome.as_str(), *values))
            .collect();
        assert_eq!(
            deltas,
            vec![
                (
                    "",
                    RollupValues {
                        calls: -1,
                        ended: 0,
                        duration_sum: 0,
                        duration_count: 0
                    }
                ),
                (
                    "completed",
                    RollupValues {
                        calls: 1,
                        ended: 1,
                        duration_sum: 120,
                        duration_count: 1
                    }
                ),
            ]
        );
        assert_eq!(second.rollup[0].0.hour, datetime!(2026-11-21 12:00:00));
    }

    #[test]
    fn replays_change_no_figure_and_are_only_logged_again() {
        let events = [
            event(EventType::CallStarted, "a", 1),
            event(EventType::CallEnded, "a", 2),
        ];
        let first = plan_of(&HashMap::new(), RoomSidHolders::new(), &events);
        let stored: HashMap<_, _> = first
            .upserts
            .into_iter()
            .map(|row| (row.id.clone(), row))
            .collect();
        let again = plan_of(&stored, RoomSidHolders::new(), &events);
        assert!(again.rollup.is_empty());
        assert_eq!(again.events, vec![Planned::Applied { changed: false }; 2]);
        // The row is written only for its log's count: the events were received again.
        let mut replayed = again.upserts[0].clone();
        assert_eq!(replayed.tally.events_logged, 4);
        replayed.tally = stored["a"].tally.clone();
        assert_eq!(replayed, stored["a"]);
        let seqs: Vec<i64> = again.timeline.events.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [2, 3]);
    }

    fn in_room(mut event: CallEvent, sid: &str) -> CallEvent {
        event.call = Some(app::dto::ingest::CallFields {
            livekit_room_sid: Some(sid.into()),
            ..Default::default()
        });
        event
    }

    #[test]
    fn a_room_sid_is_held_by_one_call_of_a_tenant() {
        let stored_holder = HashMap::from([(("tenant-1".into(), "RM_1".into()), "a".into())]);
        let mut other_tenant = in_room(event(EventType::CallStarted, "x", 1), "RM_1");
        other_tenant.user_id = "tenant-2".into();
        let events = [
            // Taken by a stored call of the same tenant: refused, alone.
            in_room(event(EventType::CallStarted, "b", 1), "RM_1"),
            // Another tenant's room of the same sid is its own.
            other_tenant,
            // Claimed earlier in the batch: the first claim wins.
            in_room(event(EventType::CallStarted, "c", 1), "RM_2"),
            in_room(event(EventType::CallStarted, "d", 1), "RM_2"),
            // The holder itself may say it again.
            in_room(event(EventType::CallUpdated, "c", 2), "RM_2"),
        ];
        let planned = plan_of(&HashMap::new(), stored_holder, &events);
        let taken = |call_id: &str, room_sid: &str, holder: &str| {
            Planned::Rejected(MergeError::RoomSidTaken {
                call_id: call_id.into(),
                room_sid: room_sid.into(),
                holder: holder.into(),
            })
        };
        assert_eq!(
            planned.events,
            [
                taken("b", "RM_1", "a"),
                Planned::Applied { changed: true },
                Planned::Applied { changed: true },
                taken("d", "RM_2", "c"),
                Planned::Applied { changed: true },
            ]
        );
        let written: Vec<&str> = planned.upserts.iter().map(|row| row.id.as_str()).collect();
        assert_eq!(written, ["c", "x"]);
    }

    #[test]
    fn rows_are_written_in_id_order() {
        let events = [
            event(EventType::CallStarted, "c", 1),
            event(EventType::CallStarted, "a", 1),
            event(EventType::CallStarted, "b", 1),
        ];
        let ids: Vec<String> = plan_of(&HashMap::new(), RoomSidHolders::new(), &events)
            .upserts
            .into_iter()
            .map(|row| row.id)
            .collect();
        assert_eq!(ids, ["a", "b", "c"]);
    }
}
