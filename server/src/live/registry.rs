//! The live-call registry: every active call with its last heartbeat, kept in memory and fed by
//! the writer after each commit, so "which calls are live and how healthy" never costs a query
//! per call (the old board's N+1). Rebuilt from `call_logs` at start.

use std::{
    collections::HashMap,
    sync::{PoisonError, RwLock},
};

use app::dto::calls::HeartbeatHealth;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

use crate::storage::CallRecord;

/// Heartbeat age thresholds: under `warning` is healthy, from `stale` on it is stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthThresholds {
    pub warning: Duration,
    pub stale: Duration,
}

impl Default for HealthThresholds {
    fn default() -> Self {
        Self {
            warning: Duration::seconds(60),
            stale: Duration::seconds(120),
        }
    }
}

impl HealthThresholds {
    pub fn classify(&self, age: Duration) -> HeartbeatHealth {
        if age >= self.stale {
            HeartbeatHealth::Stale
        } else if age >= self.warning {
            HeartbeatHealth::Warning
        } else {
            HeartbeatHealth::Healthy
        }
    }
}

/// One active call as the registry knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveCall {
    pub call: CallRecord,
    /// Health when last swept; the sweeper reports changes against it.
    pub health: HeartbeatHealth,
}

impl LiveCall {
    /// The last sign of life: the last heartbeat, or the start when none came yet.
    pub fn last_seen(&self) -> PrimitiveDateTime {
        self.call.last_seen()
    }

    pub fn age(&self, now: OffsetDateTime) -> Duration {
        now - self.last_seen().assume_utc()
    }
}

#[derive(Debug, Default)]
pub struct LiveRegistry {
    calls: RwLock<Calls>,
    thresholds: HealthThresholds,
}

/// The live calls, and how many each tenant has.
#[derive(Debug, Default)]
struct Calls {
    by_id: HashMap<String, LiveCall>,
    per_tenant: HashMap<String, usize>,
}

impl LiveRegistry {
    pub fn new(thresholds: HealthThresholds) -> Self {
        Self {
            calls: RwLock::default(),
            thresholds,
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Calls> {
        // A poisoned lock only means another thread panicked mid-update of plain data.
        self.calls.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn contains(&self, call_id: &str) -> bool {
        self.read().by_id.contains_key(call_id)
    }

    /// Live calls of `tenant`.
    pub fn count_of(&self, tenant: &str) -> usize {
        self.read().per_tenant.get(tenant).copied().unwrap_or(0)
    }

    pub fn thresholds(&self) -> HealthThresholds {
        self.thresholds
    }

    /// Brings the registry in line with a row's new state (its [`CallRecord::live_copy`]).
    pub fn track(&self, row: &CallRecord, now: OffsetDateTime) {
        let mut calls = self.calls.write().unwrap_or_else(PoisonError::into_inner);
        let Calls { by_id, per_tenant } = &mut *calls;
        if row.is_active() {
            let health = by_id.get(&row.id).map(|live| live.health);
            let mut live = LiveCall {
                call: row.live_copy(),
                health: HeartbeatHealth::Healthy,
            };
            live.health = health.unwrap_or_else(|| self.thresholds.classify(live.age(now)));
            if by_id.insert(row.id.clone(), live).is_none() {
                *per_tenant.entry(row.user_id.clone()).or_default() += 1;
            }
        } else if let Some(gone) = by_id.remove(&row.id)
            && let Some(count) = per_tenant.get_mut(&gone.call.user_id)
        {
            *count -= 1;
            if *count == 0 {
                per_tenant.remove(&gone.call.user_id);
            }
        }
    }

    /// Active calls (of one tenant, or all), oldest first, with their health now.
    pub fn snapshot(
        &self,
        tenant: Option<&str>,
        now: OffsetDateTime,
    ) -> Vec<(LiveCall, HeartbeatHealth)> {
        let calls = self.read();
        let mut live: Vec<_> = calls
            .by_id
            .values()
            .filter(|live| tenant.is_none_or(|tenant| live.call.user_id == tenant))
            .map(|live| (live.clone(), self.thresholds.classify(live.age(now))))
            .collect();
        live.sort_by(|(a, _), (b, _)| {
            a.call
                .started_at
                .cmp(&b.call.started_at)
                .then_with(|| a.call.id.cmp(&b.call.id))
        });
        live
    }

    /// The ids of every call the registry holds.
    pub fn ids(&self) -> Vec<String> {
        self.read().by_id.keys().cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.read().by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Re-classifies every call and returns those whose health changed: (call, from, to).
    pub fn sweep(
        &self,
        now: OffsetDateTime,
    ) -> Vec<(CallRecord, HeartbeatHealth, HeartbeatHealth)> {
        let mut calls = self.calls.write().unwrap_or_else(PoisonError::into_inner);
        let mut changed = Vec::new();
        for live in calls.by_id.values_mut() {
            let health = self.thresholds.classify(live.age(now));
            if health != live.health {
                changed.push((live.call.clone(), live.health, health));
                live.health = health;
            }
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn call(id: &str, tenant: &str, active: bool) -> CallRecord {
        CallRecord {
            id: id.into(),
            user_id: tenant.into(),
            agent_config_id: None,
            phone_number: None,
            started_at: datetime!(2026-11-21 12:00:00),
            ended_at: None,
            livekit_room_name: None,
            livekit_room_sid: None,
            direction: None,
            status: Some(if active { "active" } else { "ended" }.into()),
            outcome: None,
            duration: None,
            sip_call_id: None,
            recording_url: None,
            call_metadata: None,
            last_heartbeat_at: Some(datetime!(2026-11-21 12:00:30)),
            last_event_at: None,
            start_confirmed: true,
            tally: Default::default(),
        }
    }

    #[test]
    fn health_follows_the_spec_thresholds() {
        let thresholds = HealthThresholds::default();
        assert_eq!(
            thresholds.classify(Duration::seconds(59)),
            HeartbeatHealth::Healthy
        );
        assert_eq!(
            thresholds.classify(Duration::seconds(60)),
            HeartbeatHealth::Warning
        );
        assert_eq!(
            thresholds.classify(Duration::seconds(119)),
            HeartbeatHealth::Warning
        );
        assert_eq!(
            thresholds.classify(Duration::seconds(120)),
            HeartbeatHealth::Stale
        );
    }

    #[test]
    fn ended_calls_leave_and_tenants_see_only_theirs() {
        let registry = LiveRegistry::default();
        let now = datetime!(2026-11-21 12:01:00 UTC);
        registry.track(&call("a", "t1", true), now);
        registry.track(&call("b", "t2", true), now);
        assert_eq!(registry.snapshot(Some("t1"), now).len(), 1);
        assert_eq!(registry.snapshot(None, now).len(), 2);
        registry.track(&call("a", "t1", false), now);
        assert!(registry.snapshot(Some("t1"), now).is_empty());
    }

    #[test]
    fn the_sweep_reports_each_change_once() {
        let registry = LiveRegistry::default();
        registry.track(&call("a", "t1", true), datetime!(2026-11-21 12:00:40 UTC));
        assert!(
            registry
                .sweep(datetime!(2026-11-21 12:01:00 UTC))
                .is_empty()
        );
        let changes = registry.sweep(datetime!(2026-11-21 12:01:45 UTC));
        assert_eq!(changes.len(), 1);
        assert_eq!(
            (changes[0].1, changes[0].2),
            (HeartbeatHealth::Healthy, HeartbeatHealth::Warning)
        );
        assert!(
            registry
                .sweep(datetime!(2026-11-21 12:01:50 UTC))
                .is_empty()
        );
        let changes = registry.sweep(datetime!(2026-11-21 12:02:31 UTC));
        assert_eq!(
            (changes[0].1, changes[0].2),
            (HeartbeatHealth::Warning, HeartbeatHealth::Stale)
        );
    }
}
