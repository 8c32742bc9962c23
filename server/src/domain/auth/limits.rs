//! What keeps password guessing slow without letting anyone lock a user out.
//!
//! Every allowance belongs to the client that spends it — its address, an IPv6 client's whole
//! /64 (one subscriber's prefix) — so a guesser slows down only itself: attempts are limited
//! per (email, client) and per client, and a correct password from a client that has not been
//! guessing is never refused because others were. What others do against one email is watched
//! instead: a burst of failures for an email, from any number of clients, is reported once per
//! burst ([`SignInLimits::failed`]) for the audit log. Only a few hashes are computed at a time.
//!
//! Memory is bounded: each limiter and the burst watch forget what has refilled or quietened
//! (on a timer, and at once past [`LIMITER_KEYS`] keys).

use std::{
    collections::HashMap,
    hash::BuildHasher,
    net::IpAddr,
    num::NonZeroU32,
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

use governor::clock::{Clock, DefaultClock};

/// Sign-in attempts for one email from one client: a burst of this many, then one more every
/// 6 seconds.
pub const ATTEMPTS_PER_EMAIL_PER_CLIENT_PER_MINUTE: u32 = 10;
/// Sign-in attempts per client address, whatever the emails: guessing across many accounts
/// from one place is slowed too. Higher than per email, as an office shares one address.
pub const ATTEMPTS_PER_ADDRESS_PER_MINUTE: u32 = 30;
/// Failures for one email within [`BURST_WINDOW`], from any clients, that make a burst.
pub const BURST_FAILURES: u32 = 10;
/// A burst lasts while failures keep coming within this long of each other.
pub(crate) const BURST_WINDOW: Duration = Duration::from_secs(60);
/// Keys a limiter holds before it forgets those whose allowance has refilled, without waiting
/// for the timer (at most once a second: while a flood keeps them all recent, forgetting would
/// find nothing to forget on every attempt).
pub(crate) const LIMITER_KEYS: usize = 100_000;
/// Password hashes checked at once; more wait their turn rather than starve the server's cores.
const CONCURRENT_HASHES: usize = 4;
/// Sign-ins that may wait for a turn at hashing; past that the server is busy (503) rather than
/// holding ever more requests and their memory while a flood lasts.
const WAITING_HASHES: usize = 64;

/// The client an allowance belongs to: an IPv4 address, or an IPv6 /64.
pub fn client_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        },
    }
}

#[derive(Debug)]
pub struct SignInLimits {
    /// Keyed by a keyed hash of (email, client): every key is 8 bytes, however long the email.
    per_email_client: governor::DefaultKeyedRateLimiter<u64>,
    per_address: governor::DefaultKeyedRateLimiter<IpAddr>,
    keys: std::hash::RandomState,
    bursts: Mutex<HashMap<u64, Burst>>,
    early_purge: Throttle,
    hashing: tokio::sync::Semaphore,
    /// A place in the queue for `hashing`: held while waiting and while hashing.
    queue: tokio::sync::Semaphore,
    /// Failed attempts are audited, at a bounded rate.
    pub failures_logged: crate::domain::audit::SignInFailureLog,
}

/// Failures for one email, while they keep coming.
#[derive(Debug, Clone, Copy)]
struct Burst {
    last: Instant,
    failures: u32,
    reported: bool,
}

/// A burst of failures against one email, reported once when it reaches [`BURST_FAILURES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BurstReport {
    pub failures: u32,
    pub window_seconds: u64,
}

fn per_minute(attempts: u32) -> governor::Quota {
    governor::Quota::per_minute(NonZeroU32::new(attempts).unwrap_or(NonZeroU32::MIN))
}

impl Default for SignInLimits {
    fn default() -> Self {
        Self {
            per_email_client: governor::RateLimiter::keyed(per_minute(
                ATTEMPTS_PER_EMAIL_PER_CLIENT_PER_MINUTE,
            )),
            per_address: governor::RateLimiter::keyed(per_minute(ATTEMPTS_PER_ADDRESS_PER_MINUTE)),
            keys: std::hash::RandomState::new(),
            bursts: Mutex::default(),
            early_purge: Throttle::default(),
            hashing: tokio::sync::Semaphore::new(CONCURRENT_HASHES),
            queue: tokio::sync::Semaphore::new(CONCURRENT_HASHES + WAITING_HASHES),
            failures_logged: crate::domain::audit::SignInFailureLog::default(),
        }
    }
}

impl SignInLimits {
    /// Counts an attempt for `email` from `address` against that client's allowances;
    /// `Err(seconds)` when it must wait that long first.
    pub fn attempt(&self, email: &str, address: Option<IpAddr>) -> Result<(), u64> {
        // Between the timer's purges, a flood of new emails or addresses is bounded too.
        if (self.per_email_client.len() > LIMITER_KEYS || self.per_address.len() > LIMITER_KEYS)
            && self.early_purge.due()
        {
            self.purge();
        }
        let seconds = |wait: governor::NotUntil<_>| {
            wait.wait_time_from(DefaultClock::default().now())
                .as_secs()
                .max(1)
        };
        let client = address.map(client_key);
        if let Some(client) = client {
            self.per_address.check_key(&client).map_err(seconds)?;
        }
        let key = self.keys.hash_one((email, client));
        self.per_email_client.check_key(&key).map_err(seconds)
    }

    /// Counts a failed sign-in for `email`, from whichever client. Returns the burst once, when
    /// failures for the email reach [`BURST_FAILURES`] without a pause of [`BURST_WINDOW`].
    pub fn failed(&self, email: &str) -> Option<BurstReport> {
        let now = Instant::now();
        let mut bursts = self.bursts.lock().unwrap_or_else(PoisonError::into_inner);
        if bursts.len() >= LIMITER_KEYS {
            bursts.retain(|_, burst| now.duration_since(burst.last) < BURST_WINDOW);
        }
        if bursts.len() >= LIMITER_KEYS {
            // Still full of live bursts: keep those already reported, forget the rest.
            bursts.retain(|_, burst| burst.reported);
        }
        let fresh = Burst {
            last: now,
            failures: 0,
            reported: false,
        };
        let burst = bursts.entry(self.keys.hash_one(email)).or_insert(fresh);
        if now.duration_since(burst.last) >= BURST_WINDOW {
            *burst = fresh;
        }
        burst.last = now;
        burst.failures = burst.failures.saturating_add(1);
        (burst.failures >= BURST_FAILURES && !burst.reported).then(|| {
            burst.reported = true;
            BurstReport {
                failures: burst.failures,
                window_seconds: BURST_WINDOW.as_secs(),
            }
        })
    }

    /// Forgets the keys whose allowance has refilled and the bursts that are over: they would
    /// be let in or started afresh anyway. Run on a timer ([`crate::runtime::workers`]) and whenever a
    /// limiter holds too many keys, so guessing from many emails or addresses cannot grow
    /// memory without bound.
    pub fn purge(&self) {
        self.per_email_client.retain_recent();
        self.per_email_client.shrink_to_fit();
        self.per_address.retain_recent();
        self.per_address.shrink_to_fit();
        let now = Instant::now();
        let mut bursts = self.bursts.lock().unwrap_or_else(PoisonError::into_inner);
        bursts.retain(|_, burst| now.duration_since(burst.last) < BURST_WINDOW);
        bursts.shrink_to_fit();
        drop(bursts);
        self.failures_logged.purge();
    }

    /// A turn at hashing, once one is free; `None` at once when too many already wait.
    pub async fn hashing_turn(&self) -> Option<HashingTurn<'_>> {
        let place = self.queue.try_acquire().ok()?;
        let turn = self.hashing.acquire().await.ok()?;
        Some(HashingTurn {
            _place: place,
            _turn: turn,
        })
    }
}

/// Lets something happen at most once a second.
#[derive(Debug, Default)]
pub(crate) struct Throttle(Mutex<Option<Instant>>);

impl Throttle {
    /// Whether it may happen now (and then it counts as having happened).
    pub(crate) fn due(&self) -> bool {
        let mut last = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if last.is_some_and(|last| last.elapsed() < Duration::from_secs(1)) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }
}

/// The right to hash one password; given back when dropped.
pub struct HashingTurn<'a> {
    _place: tokio::sync::SemaphorePermit<'a>,
    _turn: tokio::sync::SemaphorePermit<'a>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_so_many_sign_ins_wait_to_be_hashed() {
        let limits = SignInLimits::default();
        let mut turns = Vec::new();
        for _ in 0..CONCURRENT_HASHES {
            turns.push(limits.hashing_turn().await.expect("a free turn"));
        }
        // Every core's turn is taken: the next ones queue, up to the bound…
        // (Each gives its turn back at once, so the queue can drain.)
        let waiting: Vec<_> = (0..WAITING_HASHES)
            .map(|_| Box::pin(async { limits.hashing_turn().await.is_some() }))
            .collect();
        let mut waiting = futures::future::join_all(waiting);
        assert!(
            futures::poll!(&mut waiting).is_pending(),
            "they wait for a turn"
        );
        // …and one more is turned away at once rather than held.
        assert!(limits.hashing_turn().await.is_none());
        // Turns given back let the queue through.
        turns.clear();
        let served = waiting.await;
        assert!(served.iter().all(|served| *served));
    }

    #[test]
    fn ipv6_clients_are_one_per_64_and_mapped_ipv4_is_ipv4() {
        let key = |raw: &str| client_key(raw.parse().unwrap());
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:203.0.113.7"), key("203.0.113.7"));
        assert_ne!(key("203.0.113.7"), key("203.0.113.8"));
    }

    #[test]
    fn one_clients_failures_never_spend_another_clients_allowance() {
        let limits = SignInLimits::default();
        let guesser = Some("203.0.113.7".parse().unwrap());
        for _ in 0..ATTEMPTS_PER_EMAIL_PER_CLIENT_PER_MINUTE {
            limits.attempt("ops@acme.test", guesser).unwrap();
        }
        assert!(limits.attempt("ops@acme.test", guesser).is_err());
        let owner = Some("198.51.100.1".parse().unwrap());
        assert!(limits.attempt("ops@acme.test", owner).is_ok());
    }

    #[test]
    fn a_burst_is_reported_once_then_again_after_a_pause() {
        let limits = SignInLimits::default();
        let reports: Vec<_> = (0..3 * BURST_FAILURES)
            .filter_map(|_| limits.failed("ops@acme.test"))
            .collect();
        assert_eq!(
            reports,
            [BurstReport {
                failures: BURST_FAILURES,
                window_seconds: 60
            }]
        );
        // Another email has a burst of its own.
        assert!(
            (0..BURST_FAILURES)
                .filter_map(|_| limits.failed("admin@acme.test"))
                .count()
                == 1
        );
        // A pause of a window ends the burst: the next one is reported again.
        {
            let mut bursts = limits.bursts.lock().unwrap();
            for burst in bursts.values_mut() {
                burst.last -= BURST_WINDOW;
            }
        }
        let again = (0..BURST_FAILURES)
            .filter_map(|_| limits.failed("ops@acme.test"))
            .count();
        assert_eq!(again, 1);
    }
}
