//! The dashboard's figures, computed from rollup sums. What each figure means is written once,
//! in [`app::dto::dashboard`]; this module is that text as code, kept free of I/O so every rule
//! is unit-tested.

use std::collections::{BTreeMap, HashMap};

use app::dto::{
    dashboard::{ActiveCall, AgentPerformance, CallSummary, Metrics, one_decimal},
    latency::{LATENCY_BUCKETS_MS, ResponseLatency},
};
use time::{Duration, OffsetDateTime, PrimitiveDateTime, Time, macros::format_description};

use crate::storage::{
    CallRecord,
    reads::{HourRange, LatencyTotals, PeriodTotals},
    record::utc,
};

const COMPLETED: &str = "completed";

/// The rollup hours of a period of `hours` ending now: the current hour and the `hours - 1`
/// before it.
pub fn period(now: OffsetDateTime, hours: u32) -> HourRange {
    let now = utc(now);
    let last = PrimitiveDateTime::new(
        now.date(),
        Time::from_hms(now.hour(), 0, 0).unwrap_or(Time::MIDNIGHT),
    );
    HourRange {
        first: last - Duration::hours(i64::from(hours.max(1)) - 1),
        last,
    }
}

/// Sums of a set of rollup rows.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Sums {
    calls: i64,
    ended: i64,
    completed: i64,
    duration_sum: i64,
    duration_count: i64,
}

impl Sums {
    fn add(&mut self, row: &PeriodTotals) {
        self.calls += row.calls;
        self.ended += row.ended;
        if row.outcome == COMPLETED {
            self.completed += row.ended;
        }
        self.duration_sum += row.duration_sum;
        self.duration_count += row.duration_count;
    }

    fn average_duration(&self) -> f64 {
        ratio(self.duration_sum, self.duration_count)
    }

    fn success_rate(&self) -> f64 {
        ratio(self.completed * 100, self.ended)
    }
}

/// `numerator ÷ denominator` to one decimal; 0 when there is nothing to divide by.
fn ratio(numerator: i64, denominator: i64) -> f64 {
    if denominator == 0 {
        0.0
    } else {
        one_decimal(numerator as f64 / denominator as f64)
    }
}

/// The metric cards' figures.
pub fn metrics(totals: &[PeriodTotals], active_calls: i64, period_hours: u32) -> Metrics {
    let mut sums = Sums::default();
    let mut outcome_counts = BTreeMap::new();
    for row in totals {
        sums.add(row);
        if !row.outcome.is_empty() && row.ended > 0 {
            *outcome_counts.entry(row.outcome.clone()).or_insert(0) += row.ended;
        }
    }
    Metrics {
        total_calls: sums.calls,
        active_calls,
        completed_calls: sums.completed,
        average_duration: sums.average_duration(),
        success_rate: sums.success_rate(),
        outcome_counts,
        period_hours,
    }
}

/// Per-agent figures, busiest first (ties by id; calls without an agent last among equals),
/// with each agent's response latency from its histogram rows in `latency`.
pub fn agent_performance(
    totals: &[PeriodTotals],
    latency: &[LatencyTotals],
    names: &HashMap<String, String>,
) -> Vec<AgentPerformance> {
    let mut by_agent: BTreeMap<&str, Sums> = BTreeMap::new();
    for row in totals {
        by_agent.entry(&row.agent_config_id).or_default().add(row);
    }
    let mut histograms: HashMap<&str, [i64; LATENCY_BUCKETS_MS.len()]> = HashMap::new();
    for row in latency {
        let histogram = histograms
            .entry(&row.agent_config_id)
            .or_insert([0; LATENCY_BUCKETS_MS.len()]);
        if let Some(count) = usize::try_from(row.bucket)
            .ok()
            .and_then(|bucket| histogram.get_mut(bucket))
        {
            *count += row.turns;
        }
    }
    let mut agents: Vec<AgentPerformance> = by_agent
        .into_iter()
        .map(|(agent, sums)| {
            let response_latency = histograms
                .get(agent)
                .and_then(|counts| ResponseLatency::of_histogram(counts));
            let agent = (!agent.is_empty()).then(|| agent.to_owned());
            AgentPerformance {
                response_latency,
                agent_name: agent.as_ref().and_then(|id| names.get(id).cloned()),
                agent_config_id: agent,
                total_calls: sums.calls,
                average_duration: sums.average_duration(),
                success_rate: sums.success_rate(),
                completed_calls: sums.completed,
            }
        })
        .collect();
    agents.sort_by(|a, b| {
        b.total_calls
            .cmp(&a.total_calls)
            .then_with(|| {
                a.agent_config_id
                    .is_none()
                    .cmp(&b.agent_config_id.is_none())
            })
            .then_with(|| a.agent_config_id.cmp(&b.agent_config_id))
    });
    agents
}

/// `"YYYY-MM-DD HH:00"`, the seed's hour key.
pub fn hour_key(hour: PrimitiveDateTime) -> String {
    hour.format(format_description!("[year]-[month]-[day] [hour]:00"))
        .unwrap_or_default()
}

/// Every hour of `range` → calls started in it, zero where none did.
pub fn calls_per_hour(
    range: HourRange,
    counts: &[(PrimitiveDateTime, i64)],
) -> BTreeMap<String, i64> {
    let counted: HashMap<PrimitiveDateTime, i64> = counts.iter().copied().collect();
    let mut data = BTreeMap::new();
    let mut hour = range.first;
    while hour <= range.last {
        data.insert(hour_key(hour), counted.get(&hour).copied().unwrap_or(0));
        hour += Duration::HOUR;
    }
    data
}

/// A live call as `active-calls` shows it; `duration` counts from the start to `now`.
pub fn active_call(call: &CallRecord, now: OffsetDateTime) -> ActiveCall {
    let started_at = call.started_at.assume_utc();
    ActiveCall {
        id: call.id.clone(),
        user_id: call.user_id.clone(),
        phone_number: call.phone_number.clone(),
        direction: call.direction.clone(),
        started_at,
        duration: (now - started_at).whole_seconds().max(0),
        livekit_room_name: call.livekit_room_name.clone(),
        agent_config_id: call.agent_config_id.clone(),
    }
}

/// A stored row with the seed's column names.
pub fn call_summary(call: CallRecord) -> CallSummary {
    CallSummary {
        id: call.id,
        user_id: call.user_id,
        agent_config_id: call.agent_config_id,
        phone_number: call.phone_number,
        started_at: call.started_at.assume_utc(),
        ended_at: call.ended_at.map(PrimitiveDateTime::assume_utc),
        livekit_room_name: call.livekit_room_name,
        livekit_room_sid: call.livekit_room_sid,
        direction: call.direction,
        status: call.status,
        outcome: call.outcome,
        duration: call.duration,
        sip_call_id: call.sip_call_id,
        recording_url: call.recording_url,
        call_metadata: call.call_metadata.map(|json| json.0),
        last_heartbeat_at: call.last_heartbeat_at.map(PrimitiveDateTime::assume_utc),
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn row(
        agent: &str,
        outcome: &str,
        calls: i64,
        ended: i64,
        sum: i64,
        count: i64,
    ) -> PeriodTotals {
        PeriodTotals {
            agent_config_id: agent.into(),
            outcome: outcome.into(),
            calls,
            ended,
            duration_sum: sum,
            duration_count: count,
        }
    }

    #[test]
    fn a_period_is_whole_hours_ending_with_the_current_one() {
        let range = period(datetime!(2026-11-21 14:20:05 UTC), 1);
        assert_eq!(range.first, datetime!(2026-11-21 14:00));
        assert_eq!(range.last, datetime!(2026-11-21 14:00));
        let range = period(datetime!(2026-11-21 01:00 +02:00), 24);
        // 01:00 at +02:00 is 23:00 UTC the day before.
        assert_eq!(range.last, datetime!(2026-11-20 23:00));
        assert_eq!(range.first, datetime!(2026-11-20 00:00));
    }

    #[test]
    fn figures_from_rollup_rows() {
        // Agent a: 3 completed (durations 10+20+30), 1 failed (no duration), 2 still active.
        // Agent b: 1 no_answer with duration 0. No agent: 1 completed, duration 60.
        let rows = [
            row("a", "completed", 3, 3, 60, 3),
            row("a", "failed", 1, 1, 0, 0),
            row("a", "", 2, 0, 0, 0),
            row("b", "no_answer", 1, 1, 0, 1),
            row("", "completed", 1, 1, 60, 1),
        ];
        let metrics = metrics(&rows, 7, 24);
        assert_eq!(metrics.total_calls, 8);
        assert_eq!(metrics.active_calls, 7);
        assert_eq!(metrics.completed_calls, 4);
        // (60 + 0 + 60) / (3 + 1 + 1) = 24.0
        assert_eq!(metrics.average_duration, 24.0);
        // 4 completed of 6 ended = 66.666… → 66.7
        assert_eq!(metrics.success_rate, 66.7);
        assert_eq!(
            metrics.outcome_counts,
            BTreeMap::from([
                ("completed".into(), 4),
                ("failed".into(), 1),
                ("no_answer".into(), 1)
            ])
        );

        let names = HashMap::from([("a".to_owned(), "Ava".to_owned())]);
        let latency = |agent: &str, bucket, turns| LatencyTotals {
            agent_config_id: agent.to_owned(),
            bucket,
            turns,
        };
        // Agent a: 3 turns in bucket 4 (≤ 500 ms), one in bucket 9 (≤ 1 s); bucket 99 is none.
        let latency = [
            latency("a", 4, 2),
            latency("a", 9, 1),
            latency("a", 4, 1),
            latency("a", 99, 5),
        ];
        let agents = agent_performance(&rows, &latency, &names);
        let ids: Vec<_> = agents
            .iter()
            .map(|a| a.agent_config_id.as_deref())
            .collect();
        assert_eq!(ids, [Some("a"), Some("b"), None]);
        assert_eq!(agents[0].agent_name.as_deref(), Some("Ava"));
        assert_eq!(agents[0].total_calls, 6);
        assert_eq!(agents[0].completed_calls, 3);
        assert_eq!(agents[0].average_duration, 20.0);
        assert_eq!(agents[0].success_rate, 75.0);
        assert_eq!(agents[1].success_rate, 0.0);
        assert_eq!(agents[1].average_duration, 0.0);
        assert_eq!(agents[2].success_rate, 100.0);
        let answered = agents[0].response_latency.unwrap();
        assert_eq!(
            (answered.samples, answered.p50_ms, answered.p95_ms),
            (4, 500, 1_000)
        );
        assert_eq!(agents[1].response_latency, None);
    }

    #[test]
    fn nothing_ended_is_zero_not_nan() {
        let metrics = metrics(&[row("a", "", 2, 0, 0, 0)], 2, 1);
        assert_eq!((metrics.average_duration, metrics.success_rate), (0.0, 0.0));
        assert!(metrics.outcome_counts.is_empty());
    }

    #[test]
    fn every_hour_is_present() {
        let range = HourRange {
            first: datetime!(2026-11-21 22:00),
            last: datetime!(2026-11-22 01:00),
        };
        let data = calls_per_hour(range, &[(datetime!(2026-11-21 23:00), 5)]);
        let expected: BTreeMap<String, i64> = [
            ("2026-11-21 22:00", 0),
            ("2026-11-21 23:00", 5),
            ("2026-11-22 00:00", 0),
            ("2026-11-22 01:00", 0),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        assert_eq!(data, expected);
    }
}
