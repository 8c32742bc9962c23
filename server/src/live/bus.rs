//! The event bus: each stored change is published once as a [`BusEvent`]. Subscribers (live
//! push, tests) get every event from the moment they subscribe; a subscriber that falls more than
//! [`CAPACITY`] events behind loses the oldest and is told so (`RecvError::Lagged`), so a slow
//! consumer can never hold memory or delay the writers.

use app::dto::{
    admin::{AuditEntry, ReconciliationSummary},
    calls::HeartbeatHealth,
};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::storage::{
    CallRecord,
    timeline::{LoggedEvent, TurnRow},
};

/// Two writers' 1,000-event batches publish up to 4,000 events at once (a call event and a
/// call page's news per call): room for two such bursts.
pub const CAPACITY: usize = 8192;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CallChange {
    Started,
    Updated,
    Ended,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum BusEvent {
    /// A call row changed; `call` is its new state.
    Call {
        change: CallChange,
        call: Box<CallRecord>,
    },
    /// A live call's heartbeat was recorded; `call` is its new state.
    Heartbeat { call: Box<CallRecord> },
    /// What a write added to a call's page: the row as it now stands (tally and all, metadata
    /// aside), and the log entries and turns the write added. Pushed only into the call's own
    /// room, to the pages watching it.
    Timeline {
        call: Box<CallRecord>,
        events: Vec<LoggedEvent>,
        turns: Vec<TurnRow>,
    },
    /// A live call's heartbeat health crossed a threshold.
    HealthChanged {
        call_id: String,
        user_id: String,
        from: HeartbeatHealth,
        to: HeartbeatHealth,
    },
    /// The dead-letter queue changed; `depth` is its new size.
    DlqChanged { depth: i64 },
    /// A reconciliation run started or finished.
    ReconciliationRun(ReconciliationSummary),
    /// An entry was added to the audit log.
    Audited(Box<AuditEntry>),
}

#[derive(Clone, Debug)]
pub struct EventBus {
    sender: broadcast::Sender<BusEvent>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self {
            sender: broadcast::Sender::new(CAPACITY),
        }
    }
}

impl EventBus {
    pub fn publish(&self, event: BusEvent) {
        // No subscriber is not an error: nobody is watching right now.
        let _ = self.sender.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<BusEvent> {
        self.sender.subscribe()
    }
}
