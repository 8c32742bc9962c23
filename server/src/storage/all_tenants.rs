//! Every tenant's period figures (an admin's "all tenants") without summing every tenant's
//! rollup rows on each request. A tenant's 168 h are a few thousand rollup rows; every tenant's
//! together grow with the number of tenants and agents (about 360,000 rows at the dashboard
//! benchmark's 10 M calls, 60–110 ms to sum in PostgreSQL).
//!
//! So each server keeps, per rollup hour, every tenant's sums per (agent, outcome) in memory,
//! and before it answers checks them against `call_hour_versions`: one row per hour, bumped in
//! the same transaction by every write that changes that hour's rollup rows. Only hours whose
//! version moved are read again — under steady ingest the current hour and the few before it
//! where calls are ending — so an answer is exactly what the rollup holds at that moment,
//! whichever server wrote it. The versions are read before the rows, so a write landing between
//! the two leaves rows newer than their version and is merely read again next time.
//!
//! The periods asked for (the page's four, mostly) keep their sums too, and an hour read again
//! moves them by its difference: a request costs the hours that changed plus its answer, never
//! a pass over 168 hours of sums.
//!
//! The agents' latency histograms (`agent_latency_hourly`, by agent and bucket) are kept the
//! same way, beside the rollup sums: their writes move the same hour versions.

use std::{
    collections::{BTreeMap, HashMap},
    hash::Hash,
};

use time::{Duration, PrimitiveDateTime};
use tokio::sync::{Mutex, MutexGuard};

use super::{
    RollupValues, Storage, StorageError,
    reads::{HourRange, LatencyTotals, PeriodTotals},
};

/// The longest period anyone may ask for (SPEC: `hours` 1–168); older hours are forgotten.
const KEPT_HOURS: i64 = 168;

/// What a server remembers of every tenant's rollup and latency histograms, by hour.
#[derive(Debug, Default)]
pub(super) struct AllTenantHours {
    hours: Mutex<Hours>,
}

/// Periods whose sums are kept; more distinct ones than this at once start the set afresh.
const KEPT_PERIODS: usize = 8;

#[derive(Debug, Default)]
struct Hours {
    /// The version each held hour was read at.
    versions: BTreeMap<PrimitiveDateTime, i64>,
    /// Rollup sums by (agent, outcome).
    rollup: Sums<(String, String), RollupValues>,
    /// Agent turns by (agent, latency bucket).
    latency: Sums<(String, i32), i64>,
}

/// What can be summed over hours, and taken back out.
trait Additive: Copy + Default {
    fn add_signed(&mut self, other: Self, sign: i64);
}

impl Additive for RollupValues {
    fn add_signed(&mut self, other: Self, sign: i64) {
        self.add(other, sign);
    }
}

impl Additive for i64 {
    fn add_signed(&mut self, other: Self, sign: i64) {
        *self += sign * other;
    }
}

/// Per-hour sums of one table by key, and the kept periods' sums. Keys are numbered, so that
/// summing a period adds into a vector.
#[derive(Debug)]
struct Sums<K, V> {
    keys: Vec<K>,
    numbers: HashMap<K, u32>,
    by_hour: BTreeMap<PrimitiveDateTime, Vec<(u32, V)>>,
    /// A period's sums by key number, with how many of its hours hold a row of the key (a key
    /// with none is not part of the period, as with `GROUP BY`).
    periods: HashMap<(PrimitiveDateTime, PrimitiveDateTime), Vec<(u32, V)>>,
}

impl<K, V> Default for Sums<K, V> {
    fn default() -> Self {
        Self {
            keys: Vec::new(),
            numbers: HashMap::new(),
            by_hour: BTreeMap::new(),
            periods: HashMap::new(),
        }
    }
}

fn apply<V: Additive>(period: &mut Vec<(u32, V)>, hour: &[(u32, V)], sign: i64) {
    for &(key, values) in hour {
        let index = key as usize;
        if index >= period.len() {
            period.resize(index + 1, Default::default());
        }
        let (rows, sum) = &mut period[index];
        *rows = rows.saturating_add_signed(sign as i32);
        sum.add_signed(values, sign);
    }
}

impl<K: Clone + Eq + Hash, V: Additive> Sums<K, V> {
    fn number(&mut self, key: K) -> u32 {
        if let Some(&number) = self.numbers.get(&key) {
            return number;
        }
        // Fewer than 2^32 distinct keys: each one is a row, and we forget them below.
        let number = u32::try_from(self.keys.len()).unwrap_or(u32::MAX);
        self.keys.push(key.clone());
        self.numbers.insert(key, number);
        number
    }

    /// Keys only ever accumulate: whether most of them belong to forgotten hours.
    fn mostly_unused(&self) -> bool {
        let held: usize = self.by_hour.values().map(Vec::len).sum();
        self.keys.len() > 4096 && self.keys.len() > 4 * held
    }

    /// Replaces hours `run` by `rows`, moving the kept periods' sums by the difference.
    fn replace(&mut self, run: &[PrimitiveDateTime], rows: Vec<(PrimitiveDateTime, K, V)>) {
        let mut fresh: BTreeMap<PrimitiveDateTime, Vec<(u32, V)>> =
            run.iter().map(|&hour| (hour, Vec::new())).collect();
        for (hour, key, values) in rows {
            let number = self.number(key);
            if let Some(sums) = fresh.get_mut(&hour) {
                sums.push((number, values));
            }
        }
        for (hour, sums) in fresh {
            let old = self.by_hour.insert(hour, sums);
            let new = &self.by_hour[&hour];
            for (&(first, last), period) in &mut self.periods {
                if (first..=last).contains(&hour) {
                    if let Some(old) = &old {
                        apply(period, old, -1);
                    }
                    apply(period, new, 1);
                }
            }
        }
    }

    /// Sums per key over `range` (whose hours are current): every key with a row in it.
    fn totals(&mut self, range: HourRange) -> impl Iterator<Item = (&K, V)> {
        let key = (range.first, range.last);
        if !self.periods.contains_key(&key) {
            if self.periods.len() >= KEPT_PERIODS {
                self.periods.clear();
            }
            let mut period = Vec::new();
            for (_, hour) in self.by_hour.range(range.first..=range.last) {
                apply(&mut period, hour, 1);
            }
            self.periods.insert(key, period);
        }
        let period = self.periods.get(&key).map_or(&[][..], Vec::as_slice);
        period
            .iter()
            .zip(&self.keys)
            .filter(|((rows, _), _)| *rows > 0)
            .map(|((_, values), key)| (key, *values))
    }

    /// Forgets hours before `oldest`.
    fn forget_before(&mut self, oldest: PrimitiveDateTime) {
        self.by_hour.retain(|hour, _| *hour >= oldest);
        self.periods.retain(|(first, _), _| *first >= oldest);
    }
}

impl Hours {
    /// Replaces hours `run` (consecutive, with their versions) by what was read of them.
    fn replace(
        &mut self,
        run: &[(PrimitiveDateTime, i64)],
        rollup: Vec<SumRow>,
        latency: Vec<LatencyRow>,
    ) {
        let hours: Vec<PrimitiveDateTime> = run.iter().map(|&(hour, _)| hour).collect();
        let rollup = rollup.into_iter().map(
            |(hour, agent, outcome, calls, ended, duration_sum, duration_count)| {
                let values = RollupValues {
                    calls,
                    ended,
                    duration_sum,
                    duration_count,
                };
                (hour, (agent, outcome), values)
            },
        );
        self.rollup.replace(&hours, rollup.collect());
        let latency = latency
            .into_iter()
            .map(|(hour, agent, bucket, turns)| (hour, (agent, bucket), turns));
        self.latency.replace(&hours, latency.collect());
        self.versions.extend(run.iter().copied());
    }

    /// Sums per (agent, outcome) over `range` (whose hours are current): every pair with a
    /// rollup row in it, as `GROUP BY "agentConfigId", outcome` over those rows would give.
    fn totals(&mut self, range: HourRange) -> Vec<PeriodTotals> {
        self.rollup
            .totals(range)
            .map(|((agent, outcome), values)| PeriodTotals {
                agent_config_id: agent.clone(),
                outcome: outcome.clone(),
                calls: values.calls,
                ended: values.ended,
                duration_sum: values.duration_sum,
                duration_count: values.duration_count,
            })
            .collect()
    }

    /// Agent turns per (agent, bucket) over `range` (whose hours are current); none where calls
    /// that moved away left a row at zero.
    fn latency(&mut self, range: HourRange) -> Vec<LatencyTotals> {
        self.latency
            .totals(range)
            .filter(|(_, turns)| *turns != 0)
            .map(|((agent, bucket), turns)| LatencyTotals {
                agent_config_id: agent.clone(),
                bucket: *bucket,
                turns,
            })
            .collect()
    }

    /// Calls started per hour of `range`, for hours with rollup rows.
    fn calls_per_hour(&self, range: HourRange) -> Vec<(PrimitiveDateTime, i64)> {
        self.rollup
            .by_hour
            .range(range.first..=range.last)
            .filter(|(_, sums)| !sums.is_empty())
            .map(|(hour, sums)| (*hour, sums.iter().map(|(_, values)| values.calls).sum()))
            .collect()
    }

    /// Keys only ever accumulate; once most of them belong to forgotten hours, start afresh.
    fn forget_unused_keys(&mut self) {
        if self.rollup.mostly_unused() || self.latency.mostly_unused() {
            *self = Self::default();
        }
    }

    /// Forgets hours before `oldest`.
    fn forget_before(&mut self, oldest: PrimitiveDateTime) {
        self.versions.retain(|hour, _| *hour >= oldest);
        self.rollup.forget_before(oldest);
        self.latency.forget_before(oldest);
    }
}

type SumRow = (PrimitiveDateTime, String, String, i64, i64, i64, i64);
type LatencyRow = (PrimitiveDateTime, String, i32, i64);

/// Hours `range.first..=range.last`, one by one.
fn each_hour(range: HourRange) -> impl Iterator<Item = PrimitiveDateTime> {
    std::iter::successors(Some(range.first), |hour| Some(*hour + Duration::HOUR))
        .take_while(move |hour| *hour <= range.last)
}

/// `stale` (ascending) cut where hours stop being consecutive.
fn runs(stale: &[(PrimitiveDateTime, i64)]) -> Vec<&[(PrimitiveDateTime, i64)]> {
    let mut runs = Vec::new();
    let mut start = 0;
    for index in 1..=stale.len() {
        let breaks = stale
            .get(index)
            .is_none_or(|(hour, _)| *hour != stale[index - 1].0 + Duration::HOUR);
        if breaks {
            runs.push(&stale[start..index]);
            start = index;
        }
    }
    runs
}

impl Storage {
    /// Every tenant's rollup sums per (agent, outcome) over `range`.
    pub(super) async fn all_tenant_totals(
        &self,
        range: HourRange,
    ) -> Result<Vec<PeriodTotals>, StorageError> {
        Ok(self.current_hours(range).await?.totals(range))
    }

    /// Calls started per hour of `range`, every tenant together (hours without calls absent).
    pub(super) async fn all_tenant_calls_per_hour(
        &self,
        range: HourRange,
    ) -> Result<Vec<(PrimitiveDateTime, i64)>, StorageError> {
        Ok(self.current_hours(range).await?.calls_per_hour(range))
    }

    /// Every tenant's agent turns per (agent, latency bucket) over `range`.
    pub(super) async fn all_tenant_latency(
        &self,
        range: HourRange,
    ) -> Result<Vec<LatencyTotals>, StorageError> {
        Ok(self.current_hours(range).await?.latency(range))
    }

    /// The remembered hours, with those of `range` brought up to date. One caller at a time:
    /// whoever waits behind a refresh finds it done.
    async fn current_hours(&self, range: HourRange) -> Result<MutexGuard<'_, Hours>, StorageError> {
        let mut hours = self.all_tenants.hours.lock().await;
        hours.forget_unused_keys();
        let versions: Vec<(PrimitiveDateTime, i64)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT hour, version FROM call_hour_versions WHERE hour >= $1 AND hour <= $2",
        )
        .bind(range.first)
        .bind(range.last)
        .fetch_all(pool)
        .await)?;
        let versions: HashMap<PrimitiveDateTime, i64> = versions.into_iter().collect();
        // An hour nobody has written since the versions began (migrated rows) is version 0.
        let stale: Vec<(PrimitiveDateTime, i64)> = each_hour(range)
            .map(|hour| (hour, versions.get(&hour).copied().unwrap_or(0)))
            .filter(|(hour, version)| hours.versions.get(hour) != Some(version))
            .collect();
        for run in runs(&stale) {
            let (Some(first), Some(last)) = (run.first(), run.last()) else {
                continue;
            };
            let rows: Vec<SumRow> = with_pool!(self, pool => sqlx::query_as(
                r#"SELECT hour, "agentConfigId", outcome, CAST(SUM(calls) AS BIGINT),
                          CAST(SUM(ended) AS BIGINT), CAST(SUM(duration_sum) AS BIGINT),
                          CAST(SUM(duration_count) AS BIGINT)
                   FROM call_hourly_rollup WHERE hour >= $1 AND hour <= $2
                   GROUP BY hour, "agentConfigId", outcome"#,
            )
            .bind(first.0)
            .bind(last.0)
            .fetch_all(pool)
            .await)?;
            let latency: Vec<LatencyRow> = with_pool!(self, pool => sqlx::query_as(
                r#"SELECT hour, "agentConfigId", bucket, CAST(SUM(turns) AS BIGINT)
                   FROM agent_latency_hourly WHERE hour >= $1 AND hour <= $2
                   GROUP BY hour, "agentConfigId", bucket"#,
            )
            .bind(first.0)
            .bind(last.0)
            .fetch_all(pool)
            .await)?;
            hours.replace(run, rows, latency);
        }
        hours.forget_before(range.last - Duration::hours(KEPT_HOURS - 1));
        Ok(hours)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn stale_hours_are_read_in_consecutive_runs() {
        let stale = [
            (datetime!(2026-11-22 01:00), 1),
            (datetime!(2026-11-22 02:00), 0),
            (datetime!(2026-11-22 05:00), 3),
        ];
        let runs = runs(&stale);
        assert_eq!(runs, vec![&stale[..2], &stale[2..]]);
        assert!(super::runs(&[]).is_empty());
    }

    #[test]
    fn a_period_sums_only_its_own_hours() {
        let mut hours = Hours::default();
        let row = |hour, agent: &str, outcome: &str, calls| {
            (
                hour,
                agent.to_owned(),
                outcome.to_owned(),
                calls,
                calls,
                10 * calls,
                calls,
            )
        };
        let (one, two) = (datetime!(2026-11-22 01:00), datetime!(2026-11-22 02:00));
        hours.replace(
            &[(one, 1), (two, 1)],
            vec![
                row(one, "a", "completed", 2),
                row(two, "a", "completed", 3),
                row(two, "b", "busy", 1),
            ],
            vec![(one, "a".to_owned(), 4, 2), (two, "a".to_owned(), 4, 1)],
        );
        let only_two = hours.totals(HourRange {
            first: two,
            last: two,
        });
        assert_eq!(only_two.len(), 2);
        assert!(
            only_two
                .iter()
                .any(|t| t.agent_config_id == "a" && t.calls == 3 && t.duration_sum == 30)
        );
        let both = hours.totals(HourRange {
            first: one,
            last: two,
        });
        assert!(
            both.iter()
                .any(|t| t.agent_config_id == "a" && t.calls == 5)
        );
        assert_eq!(
            hours.calls_per_hour(HourRange {
                first: one,
                last: two
            }),
            vec![(one, 2), (two, 4)]
        );

        // Hour two read again (agent b's call gone, a new pair): the kept period moves with it.
        hours.replace(
            &[(two, 2)],
            vec![row(two, "a", "completed", 4), row(two, "c", "", 1)],
            vec![(two, "a".to_owned(), 9, 1)],
        );
        let mut both = hours.totals(HourRange {
            first: one,
            last: two,
        });
        both.sort_by(|x, y| x.agent_config_id.cmp(&y.agent_config_id));
        let summary: Vec<(&str, i64)> = both
            .iter()
            .map(|t| (t.agent_config_id.as_str(), t.calls))
            .collect();
        assert_eq!(summary, vec![("a", 6), ("c", 1)]);
        // The latency histograms moved with it: bucket 4 lost hour two's turn, bucket 9 has it.
        let mut latency = hours.latency(HourRange {
            first: one,
            last: two,
        });
        latency.sort_by_key(|row| row.bucket);
        let buckets: Vec<(i32, i64)> = latency.iter().map(|row| (row.bucket, row.turns)).collect();
        assert_eq!(buckets, vec![(4, 2), (9, 1)]);
    }
}
