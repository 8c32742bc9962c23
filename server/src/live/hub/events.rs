//! Bus events as the hub sees them: each becomes pushes into the rooms it concerns, and marks
//! the figures it changed as dirty for the coalescer.

use app::dto::live::{
    CallEventPayload, CallEventType, HealthChange, Push, ReconciliationUpdate, Room,
};
use time::OffsetDateTime;

use super::Hub;
use crate::{
    domain::{call_detail, figures},
    live::bus::{BusEvent, CallChange},
    storage::{
        CallRecord,
        timeline::{LoggedEvent, TurnRow},
    },
};

impl Hub {
    /// What a write added to call `call`'s page, pushed to its room. Most calls have no page
    /// open: the push is built only for those that do.
    fn push_call_detail(&self, call: CallRecord, events: Vec<LoggedEvent>, turns: Vec<TurnRow>) {
        let room = [Room::Call(call.id.clone())];
        if self.has_room(&room[0]) {
            let update = call_detail::update(call, events, turns);
            self.publish(&room, &Push::CallDetail(Box::new(update)));
        }
    }

    /// Turns one bus event into pushes and dirty figures.
    pub fn on_event(&self, event: BusEvent) {
        let now = OffsetDateTime::now_utc();
        match event {
            BusEvent::Call { change, call } => {
                let rooms = [Room::Tenant(call.user_id.clone()), Room::AllTenants];
                let kind = match change {
                    CallChange::Started => CallEventType::CallStarted,
                    CallChange::Updated => CallEventType::CallUpdated,
                    CallChange::Ended => CallEventType::CallEnded,
                };
                let push = Push::CallEvent(Box::new(CallEventPayload {
                    kind,
                    call: figures::call_summary(*call),
                    timestamp: now,
                }));
                self.publish(&rooms, &push);
                self.mark(&rooms, |dirty| {
                    dirty.metrics = true;
                    dirty.active_calls = true;
                });
                self.mark(&[Room::Ops], |dirty| dirty.live_calls = true);
            }
            BusEvent::Heartbeat { call } => {
                self.mark(&[Room::Ops], |dirty| dirty.live_calls = true);
                // The writer sends no timeline for heartbeats alone: their row is the page's news.
                self.push_call_detail(*call, Vec::new(), Vec::new());
            }
            BusEvent::Timeline {
                call,
                events,
                turns,
            } => self.push_call_detail(*call, events, turns),
            BusEvent::HealthChanged {
                call_id,
                user_id,
                from,
                to,
            } => {
                let push = Push::HeartbeatHealth(HealthChange {
                    call_id,
                    user_id,
                    from,
                    to,
                    timestamp: now,
                });
                self.publish(&[Room::Ops], &push);
                self.mark(&[Room::Ops], |dirty| dirty.live_calls = true);
            }
            BusEvent::DlqChanged { .. } => self.mark(&[Room::Ops], |dirty| dirty.dlq = true),
            BusEvent::ReconciliationRun(run) => {
                let push = Push::ReconciliationUpdate(ReconciliationUpdate {
                    run,
                    timestamp: now,
                });
                self.publish(&[Room::Ops], &push);
            }
            BusEvent::Audited(entry) => self.publish(&[Room::Ops], &Push::AuditEntry(entry)),
        }
    }
}
