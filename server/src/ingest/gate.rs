//! What producers may make the server hold, checked before an event is queued for writing: live
//! calls per tenant, and tenants appearing for the first time per minute. Each bound refuses the
//! event that would pass it, for itself, with its own code (`live_call_limit`, `tenant_limit`);
//! everything else in the request is written.
//!
//! The live-call count is the registry's, which follows commits: requests admitted at the same
//! time (at most what the ingest body budget lets in), and on other instances, may each take a
//! tenant up to the cap, and events queued through an outage count once written (the DLQ's
//! retries and reconciliation's repairs were admitted already and do not pass here). So the
//! registry holds at most the cap per tenant plus what those admit: bounded, not exact. In Redis
//! mode each instance keeps its own list of the tenants it has seen, so a tenant new to this
//! instance spends from this instance's allowance once.
//!
//! With the per-call bounds of [`crate::storage::Bounds`] (metadata) and the request size limits,
//! they bound what any sequence of valid ingest requests can make this server hold: each live
//! call is kept without its metadata, and tenants grow by at most `new_tenants_per_minute`.

use std::{
    collections::{HashMap, HashSet},
    num::NonZeroU32,
    sync::{Arc, Mutex, PoisonError},
};

use app::dto::ingest::{CallEvent, EventType};

use crate::{live::registry::LiveRegistry, storage::record::MergeError};

/// The bounds, as configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_live_calls_per_tenant: usize,
    pub new_tenants_per_minute: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_live_calls_per_tenant: 10_000,
            new_tenants_per_minute: 600,
        }
    }
}

#[derive(Debug)]
pub struct Gate {
    limits: Limits,
    registry: Arc<LiveRegistry>,
    known: Mutex<HashSet<String>>,
    new_tenants: governor::DefaultDirectRateLimiter,
}

impl Gate {
    /// A gate knowing `tenants` already (those in the database at start).
    pub fn new(limits: Limits, registry: Arc<LiveRegistry>, tenants: Vec<String>) -> Self {
        let per_minute = NonZeroU32::new(limits.new_tenants_per_minute).unwrap_or(NonZeroU32::MIN);
        Self {
            limits,
            registry,
            known: Mutex::new(tenants.into_iter().collect()),
            new_tenants: governor::RateLimiter::direct(governor::Quota::per_minute(per_minute)),
        }
    }

    /// For each event, `Some(refusal)` when it would pass a bound.
    pub fn admit(&self, events: &[CallEvent]) -> Vec<Option<MergeError>> {
        let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        let mut starting: HashMap<&str, usize> = HashMap::new();
        let mut seen: HashSet<&str> = HashSet::new();
        events
            .iter()
            .map(|event| {
                if !known.contains(&event.user_id) {
                    if self.new_tenants.check().is_err() {
                        return Some(MergeError::TenantLimit {
                            user_id: event.user_id.clone(),
                            per_minute: self.limits.new_tenants_per_minute,
                        });
                    }
                    known.insert(event.user_id.clone());
                }
                // Any event but an end makes a call live when it is not yet (events may come in
                // any order); counted once per call and request.
                let opens = event.event_type != EventType::CallEnded
                    && !self.registry.contains(&event.call_id)
                    && seen.insert(&event.call_id);
                if opens {
                    let tenant = starting.entry(&event.user_id).or_default();
                    let live = self.registry.count_of(&event.user_id) + *tenant;
                    if live >= self.limits.max_live_calls_per_tenant {
                        seen.remove(event.call_id.as_str());
                        return Some(MergeError::LiveCallLimit {
                            user_id: event.user_id.clone(),
                            limit: self.limits.max_live_calls_per_tenant,
                        });
                    }
                    *tenant += 1;
                }
                None
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: EventType, tenant: &str, call: &str) -> CallEvent {
        CallEvent::new(kind, tenant, call, time::OffsetDateTime::now_utc())
    }

    #[test]
    fn a_tenant_past_its_live_calls_is_refused_and_others_are_not() {
        let limits = Limits {
            max_live_calls_per_tenant: 2,
            new_tenants_per_minute: 100,
        };
        let gate = Gate::new(limits, Arc::default(), vec!["acme".into(), "globex".into()]);
        let events = [
            event(EventType::CallStarted, "acme", "a1"),
            event(EventType::Heartbeat, "acme", "a1"),
            event(EventType::Heartbeat, "acme", "a2"),
            event(EventType::CallStarted, "acme", "a3"),
            event(EventType::CallEnded, "acme", "a4"),
            event(EventType::CallStarted, "globex", "g1"),
        ];
        let refused: Vec<_> = gate
            .admit(&events)
            .into_iter()
            .map(|refusal| refusal.map(|error| error.code()))
            .collect();
        assert_eq!(
            refused,
            [None, None, None, Some("live_call_limit"), None, None]
        );
    }

    #[test]
    fn unseen_tenants_are_admitted_at_the_configured_rate() {
        let limits = Limits {
            max_live_calls_per_tenant: 100,
            new_tenants_per_minute: 3,
        };
        let gate = Gate::new(limits, Arc::default(), vec!["known".into()]);
        let events: Vec<_> = (0..5)
            .map(|n| {
                event(
                    EventType::CallStarted,
                    &format!("new-{n}"),
                    &format!("c{n}"),
                )
            })
            .chain([event(EventType::CallStarted, "known", "k")])
            .chain([event(EventType::Heartbeat, "new-0", "c0")])
            .collect();
        let refused: Vec<_> = gate
            .admit(&events)
            .into_iter()
            .map(|refusal| refusal.map(|error| error.code()))
            .collect();
        assert_eq!(
            refused,
            [
                None,
                None,
                None,
                Some("tenant_limit"),
                Some("tenant_limit"),
                None,
                None
            ]
        );
    }
}
