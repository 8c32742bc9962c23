//! How often one client may ask anything of the server — pages, the REST API, server functions,
//! forms, live-socket handshakes: each client has its own allowance, a burst of
//! [`BURST_SECONDS`] seconds' worth and then a steady rate, so a script or a page gone wild
//! slows only itself (a 429 with `Retry-After`), never another tenant. A client is a signed-in
//! caller (its verified token's subject and tenant) wherever it asks from, so an office behind
//! one address, or every user behind a proxy that does not say who they are, still gets one
//! allowance each; anyone else is its address (an IPv6 client's /64).
//! Ingest is not counted here (its gate limits each producer key), nor static files and health
//! checks.
//!
//! Memory is bounded as sign-in's is: clients whose allowance has refilled are forgotten on the
//! workers' timer, and at once past [`LIMITER_KEYS`] clients.

use std::{hash::BuildHasher, net::IpAddr, num::NonZeroU32};

use governor::clock::{Clock, DefaultClock};

use super::limits::{LIMITER_KEYS, Throttle, client_key};

/// A client's burst: this many seconds of its rate, at once (a dashboard's first load asks for
/// a dozen things together).
pub const BURST_SECONDS: u32 = 4;

/// Who spends an allowance.
#[derive(Debug, Clone, Copy, Hash)]
pub enum Asker<'a> {
    /// A caller whose token or session cookie verified (signature and expiry: no database).
    Caller {
        subject: &'a str,
        tenant: Option<&'a str>,
    },
    /// Anyone else, by address.
    Address(IpAddr),
}

#[derive(Debug)]
pub struct RequestLimits {
    /// Keyed by a keyed hash of the [`Asker`]: every key is 8 bytes, however long a subject.
    /// `None`: unlimited (a rate of 0).
    per_client: Option<governor::DefaultKeyedRateLimiter<u64>>,
    keys: std::hash::RandomState,
    early_purge: Throttle,
}

impl RequestLimits {
    /// `per_second` requests a second for each client, after a burst of [`BURST_SECONDS`] times
    /// that; 0 lets every request through.
    pub fn new(per_second: u32) -> Self {
        let per_client = NonZeroU32::new(per_second).map(|rate| {
            let burst =
                rate.saturating_mul(NonZeroU32::new(BURST_SECONDS).unwrap_or(NonZeroU32::MIN));
            governor::RateLimiter::keyed(governor::Quota::per_second(rate).allow_burst(burst))
        });
        Self {
            per_client,
            keys: std::hash::RandomState::new(),
            early_purge: Throttle::default(),
        }
    }

    /// Counts a request of `asker`; `Err(seconds)` when it must wait that long.
    pub fn admit(&self, asker: Asker<'_>) -> Result<(), u64> {
        let Some(limiter) = &self.per_client else {
            return Ok(());
        };
        if limiter.len() > LIMITER_KEYS && self.early_purge.due() {
            self.purge();
        }
        let asker = match asker {
            Asker::Address(address) => Asker::Address(client_key(address)),
            caller => caller,
        };
        limiter
            .check_key(&self.keys.hash_one(asker))
            .map_err(|wait| {
                wait.wait_time_from(DefaultClock::default().now())
                    .as_secs()
                    .max(1)
            })
    }

    /// Forgets the clients whose allowance has refilled: they would be let in anyway.
    pub fn purge(&self) {
        if let Some(limiter) = &self.per_client {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(text: &str) -> Asker<'static> {
        Asker::Address(text.parse().unwrap())
    }

    #[test]
    fn each_client_spends_its_own_allowance() {
        let limits = RequestLimits::new(2);
        // A burst of four seconds' worth, then a wait of about a second.
        for _ in 0..2 * BURST_SECONDS {
            assert_eq!(limits.admit(address("203.0.113.7")), Ok(()));
        }
        assert_eq!(limits.admit(address("203.0.113.7")), Err(1));
        assert_eq!(limits.admit(address("198.51.100.9")), Ok(()));
        // An IPv6 client is its /64: another address in it shares the allowance.
        for _ in 0..2 * BURST_SECONDS {
            assert_eq!(limits.admit(address("2001:db8::1")), Ok(()));
        }
        assert!(limits.admit(address("2001:db8::ffff")).is_err());
        assert_eq!(limits.admit(address("2001:db8:0:1::1")), Ok(()));
    }

    #[test]
    fn a_signed_in_caller_has_its_own_allowance_wherever_it_asks_from() {
        let limits = RequestLimits::new(1);
        let ops = Asker::Caller {
            subject: "ops@acme.test",
            tenant: Some("acme"),
        };
        for _ in 0..BURST_SECONDS {
            assert_eq!(limits.admit(ops), Ok(()));
        }
        assert!(limits.admit(ops).is_err());
        // Another user, and an anonymous visitor from the same office, are not held back.
        let colleague = Asker::Caller {
            subject: "desk@acme.test",
            tenant: Some("acme"),
        };
        assert_eq!(limits.admit(colleague), Ok(()));
        assert_eq!(limits.admit(address("203.0.113.7")), Ok(()));
    }

    #[test]
    fn a_rate_of_zero_is_no_limit() {
        let limits = RequestLimits::new(0);
        assert!((0..10_000).all(|_| limits.admit(address("203.0.113.7")).is_ok()));
    }
}
