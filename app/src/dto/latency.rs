//! How fast an agent answers: p50 and p95 of its response latencies, exact over one call's turns
//! or, over a period, from histograms of fixed buckets ([`LATENCY_BUCKETS_MS`]).

use serde::{Deserialize, Serialize};

/// The upper edges (inclusive, in milliseconds) of the buckets agents' response latencies are
/// counted in: 100 ms wide up to 1 s, 250 ms to 3 s, 500 ms to 5 s, then coarser. Figures from
/// them are exact to the width of their bucket.
pub const LATENCY_BUCKETS_MS: [i64; 28] = [
    100, 200, 300, 400, 500, 600, 700, 800, 900, 1_000, 1_250, 1_500, 1_750, 2_000, 2_250, 2_500,
    2_750, 3_000, 3_500, 4_000, 4_500, 5_000, 7_500, 10_000, 15_000, 30_000, 60_000, 600_000,
];

/// The bucket of [`LATENCY_BUCKETS_MS`] a latency of `ms` is counted in (the last for any
/// longer: validation allows no more than its edge).
pub fn latency_bucket(ms: i64) -> usize {
    LATENCY_BUCKETS_MS
        .partition_point(|&edge| edge < ms)
        .min(LATENCY_BUCKETS_MS.len() - 1)
}

/// How long an agent took to answer, over its turns that carry a `latency_ms`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ResponseLatency {
    /// Agent turns with a latency.
    pub samples: usize,
    pub p50_ms: i64,
    pub p95_ms: i64,
}

impl ResponseLatency {
    /// p50 and p95 (nearest rank) of `latencies`; `None` without any.
    pub fn of(latencies: impl IntoIterator<Item = i64>) -> Option<Self> {
        let mut sorted: Vec<i64> = latencies.into_iter().collect();
        if sorted.is_empty() {
            return None;
        }
        sorted.sort_unstable();
        let rank = |percent: usize| {
            let index = (sorted.len() * percent).div_ceil(100).max(1) - 1;
            sorted[index.min(sorted.len() - 1)]
        };
        Some(Self {
            samples: sorted.len(),
            p50_ms: rank(50),
            p95_ms: rank(95),
        })
    }

    /// From a histogram (`counts[i]` latencies in bucket `i` of [`LATENCY_BUCKETS_MS`]): each
    /// figure is the upper edge of the bucket holding its rank, so at most one bucket's width
    /// above the exact nearest-rank figure.
    pub fn of_histogram(counts: &[i64]) -> Option<Self> {
        let samples: i64 = counts.iter().sum();
        if samples <= 0 {
            return None;
        }
        let rank = |percent: i64| {
            let wanted = ((samples * percent + 99) / 100).max(1);
            let mut seen = 0;
            let bucket = counts
                .iter()
                .position(|&count| {
                    seen += count;
                    seen >= wanted
                })
                .unwrap_or(counts.len() - 1);
            LATENCY_BUCKETS_MS[bucket.min(LATENCY_BUCKETS_MS.len() - 1)]
        };
        Some(Self {
            samples: usize::try_from(samples).unwrap_or(usize::MAX),
            p50_ms: rank(50),
            p95_ms: rank(95),
        })
    }
}
