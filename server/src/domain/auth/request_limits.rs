//! How often one client may ask anything of the server — pages, the REST API, server functions,
//! forms, live-socket handshakes: each client (its address, an IPv6 client's /64) has its own
//! allowance, a burst of [`BURST_SECONDS`] seconds' worth and then a steady rate, so a script
//! or a page gone wild slows only itself (a 429 with `Retry-After`), never another tenant.
//! Ingest is not counted here (its gate limits each producer key), nor static files and health
//! checks.
//!
//! Memory is bounded as sign-in's is: clients whose allowance has refilled are forgotten on the
//! workers' timer, and at once past [`LIMITER_KEYS`] clients.

use std::{net::IpAddr, num::NonZeroU32};

use governor::clock::{Clock, DefaultClock};

use super::limits::{LIMITER_KEYS, Throttle, client_key};

/// A client's burst: this many seconds of its rate, at once (a dashboard's first load asks for
/// a dozen things together).
pub const BURST_SECONDS: u32 = 4;

#[derive(Debug)]
pub struct RequestLimits {
    /// `None`: unlimited (a rate of 0).
    per_client: Option<governor::DefaultKeyedRateLimiter<IpAddr>>,
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
            early_purge: Throttle::default(),
        }
    }

    /// Counts a request from `address`; `Err(seconds)` when the client must wait that long.
    pub fn admit(&self, address: IpAddr) -> Result<(), u64> {
        let Some(limiter) = &self.per_client else {
            return Ok(());
        };
        if limiter.len() > LIMITER_KEYS && self.early_purge.due() {
            self.purge();
        }
        limiter.check_key(&client_key(address)).map_err(|wait| {
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

    #[test]
    fn each_client_spends_its_own_allowance() {
        let limits = RequestLimits::new(2);
        let (greedy, other): (IpAddr, IpAddr) = (
            "203.0.113.7".parse().unwrap(),
            "198.51.100.9".parse().unwrap(),
        );
        // A burst of four seconds' worth, then a wait of about a second.
        for _ in 0..2 * BURST_SECONDS {
            assert_eq!(limits.admit(greedy), Ok(()));
        }
        assert_eq!(limits.admit(greedy), Err(1));
        assert_eq!(limits.admit(other), Ok(()));
        // An IPv6 client is its /64: another address in it shares the allowance.
        let v6 = |text: &str| text.parse::<IpAddr>().unwrap();
        for _ in 0..2 * BURST_SECONDS {
            assert_eq!(limits.admit(v6("2001:db8::1")), Ok(()));
        }
        assert!(limits.admit(v6("2001:db8::ffff")).is_err());
        assert_eq!(limits.admit(v6("2001:db8:0:1::1")), Ok(()));
    }

    #[test]
    fn a_rate_of_zero_is_no_limit() {
        let limits = RequestLimits::new(0);
        let client: IpAddr = "203.0.113.7".parse().unwrap();
        assert!((0..10_000).all(|_| limits.admit(client).is_ok()));
    }
}
