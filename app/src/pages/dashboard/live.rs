//! The dashboard page's live patching: what the page keeps in step with the live link beyond
//! the feed itself — recent calls patched in place, the chart and the agent table asked again
//! only when the figures moved, the audit entries an admin is pushed.

use leptos::prelude::*;
use time::OffsetDateTime;

use crate::{
    clock::Clock,
    dto::{
        admin::AuditEntry,
        dashboard::{CallSummary, Metrics, RecentCallsResponse},
        error::DataError,
        live::{Push, RoomState, ServerMessage},
        query::{PageQuery, encode_cursor},
    },
};

/// What the page keeps in step with the live link, beyond the feed itself. `Copy`: every
/// field is a handle.
///
/// Loaded data is never written to: a `Resource` written while it reloads drops the answer it
/// was waiting for (leptos keeps the newer write), so a live call arriving during a filter
/// change would leave the old, unfiltered list on screen. Live changes are kept beside the
/// loaded data instead and laid over it when shown.
#[derive(Clone, Copy)]
pub(super) struct Live {
    pub(super) view: Memo<PageQuery>,
    pub(super) metrics: Resource<Result<crate::dto::dashboard::MetricsResponse, DataError>>,
    pub(super) hourly: Resource<Result<crate::dto::dashboard::CallsPerHourResponse, DataError>>,
    pub(super) agents: Resource<Result<crate::dto::dashboard::AgentPerformanceResponse, DataError>>,
    pub(super) recent: Resource<Result<RecentCallsResponse, DataError>>,
    pub(super) patches: RwSignal<RecentPatches>,
    /// The figures the agent table was last asked again for.
    pub(super) agents_basis: StoredValue<Option<Metrics>>,
    /// Audit entries pushed since the page loaded, newest first (admins).
    pub(super) audit_live: RwSignal<Vec<AuditEntry>>,
    pub(super) last_update: RwSignal<Option<OffsetDateTime>>,
    pub(super) clock: Clock,
}

impl Live {
    /// One message that changed the feed.
    pub(super) fn receive(self, message: &ServerMessage) {
        match message {
            ServerMessage::Snapshot {
                state: RoomState::Calls(snapshot),
                ..
            } => {
                self.touched(snapshot.timestamp);
                // Whatever happened before this snapshot may be missing from the panels the
                // feed does not hold: ask again, unless the figures show nothing changed.
                let hours = self.view.with_untracked(|view| view.period().hours());
                let now = snapshot.periods.iter().find(|m| m.period_hours == hours);
                let shown = self.metrics.get_untracked().and_then(Result::ok);
                if now != shown.as_ref().map(|shown| &shown.metrics) {
                    self.hourly.refetch();
                    self.agents.refetch();
                    self.recent.refetch();
                }
            }
            ServerMessage::Push { push, .. } => match push {
                Push::CallEvent(event) => {
                    self.touched(event.timestamp);
                    self.patches.update(|patches| patches.record(&event.call));
                }
                Push::MetricsUpdate(update) => {
                    self.touched(update.timestamp);
                    let hours = self.view.with_untracked(|view| view.period().hours());
                    let Some(now) = update.periods.iter().find(|m| m.period_hours == hours) else {
                        return;
                    };
                    let charted = self.hourly.with_untracked(|loaded| match loaded {
                        Some(Ok(loaded)) => Some(loaded.data.values().sum::<i64>()),
                        _ => None,
                    });
                    if charted != Some(now.total_calls) {
                        self.hourly.refetch();
                    }
                    // Agent figures are averages over the period: ask for them only when
                    // a figure they are made of moved.
                    let basis = self.agents_basis.get_value().or_else(|| {
                        self.metrics
                            .get_untracked()
                            .and_then(Result::ok)
                            .map(|m| m.metrics)
                    });
                    if basis.is_none_or(|basis| !same_totals(&basis, now)) {
                        self.agents.refetch();
                    }
                    self.agents_basis.set_value(Some(now.clone()));
                }
                Push::ActiveCallsUpdate(update) => self.touched(update.timestamp),
                Push::AuditEntry(entry) => self.audit_live.update(|entries| {
                    entries.insert(0, (**entry).clone());
                    entries.truncate(AUDIT_KEPT);
                }),
                _ => {}
            },
            _ => {}
        }
    }

    fn touched(self, at: OffsetDateTime) {
        self.last_update
            .set(Some(at.max(self.clock.now.get_untracked())));
    }
}

/// The newest state of each call the live link reported, laid over whatever page of recent
/// calls is loaded. Bounded: the oldest reports are forgotten first (by then the loaded data
/// has them, or they are far down the list).
#[derive(Clone, Debug, Default)]
pub(super) struct RecentPatches {
    calls: std::collections::HashMap<String, CallSummary>,
    order: std::collections::VecDeque<String>,
}

/// Pushed audit entries kept (the panel shows fewer).
const AUDIT_KEPT: usize = 100;

/// Live reports kept for laying over loaded pages.
const PATCHES_KEPT: usize = 500;

impl RecentPatches {
    fn record(&mut self, call: &CallSummary) {
        if self.calls.insert(call.id.clone(), call.clone()).is_none() {
            self.order.push_back(call.id.clone());
        }
        while self.order.len() > PATCHES_KEPT {
            if let Some(oldest) = self.order.pop_front() {
                self.calls.remove(&oldest);
            }
        }
    }

    /// `loaded` with the live reports applied: a shown call takes its newest state (and leaves
    /// if it no longer matches the filters); on the newest page, reported calls that match and
    /// belong among the shown ones are added in order, the page keeping its length.
    pub(super) fn apply(
        &self,
        loaded: &RecentCallsResponse,
        view: &PageQuery,
    ) -> RecentCallsResponse {
        let mut page = loaded.clone();
        if self.calls.is_empty() {
            return page;
        }
        let Ok(filter) = view.calls.filter() else {
            return page;
        };
        let scope = view.calls.user_id.as_deref();
        let wanted = |call: &CallSummary| {
            filter.matches(call) && scope.is_none_or(|tenant| call.user_id == tenant)
        };
        page.calls
            .retain_mut(|shown| match self.calls.get(&shown.id) {
                Some(newer) => {
                    *shown = newer.clone();
                    wanted(shown)
                }
                None => true,
            });
        if view.calls.cursor.is_none() {
            let limit = view
                .calls
                .limit
                .unwrap_or(crate::dto::dashboard::DEFAULT_LIMIT) as usize;
            // Older than the last shown call of a full page: it belongs to a later page.
            let floor = (page.calls.len() >= limit)
                .then(|| {
                    page.calls
                        .last()
                        .map(|last| (last.started_at, last.id.clone()))
                })
                .flatten();
            for call in self.calls.values() {
                let shown = page.calls.iter().any(|shown| shown.id == call.id);
                let below = floor
                    .as_ref()
                    .is_some_and(|floor| (call.started_at, &call.id) < (floor.0, &floor.1));
                if !shown && !below && wanted(call) {
                    let at = page.calls.partition_point(|other| {
                        (other.started_at, &other.id) > (call.started_at, &call.id)
                    });
                    page.calls.insert(at, call.clone());
                }
            }
            if page.calls.len() > limit {
                page.calls.truncate(limit);
                // The "older" link now starts after a different call.
                page.next_cursor = page
                    .calls
                    .last()
                    .map(|last| encode_cursor(last.started_at, &last.id));
            }
        }
        page.count = page.calls.len();
        page
    }
}

/// Whether two metric sets count the same calls (the active count aside).
fn same_totals(a: &Metrics, b: &Metrics) -> bool {
    (a.total_calls, a.completed_calls, &a.outcome_counts)
        == (b.total_calls, b.completed_calls, &b.outcome_counts)
        && a.average_duration == b.average_duration
}
