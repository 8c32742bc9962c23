//! One call as its page tells it: the row, its summary, its event log and its turns. Scoped by
//! the caller: a tenant's reader asks with its tenant, and another tenant's call is as absent
//! as a missing one.

use super::{
    CallRecord, Storage, StorageError,
    timeline::{LoggedEvent, TurnRow},
};

/// Everything kept about one call.
#[derive(Debug, Clone, PartialEq)]
pub struct CallTimeline {
    /// The row, its tally with it.
    pub call: CallRecord,
    /// In order of `at` (then arrival).
    pub events: Vec<LoggedEvent>,
    /// In order of `at` (then arrival).
    pub turns: Vec<TurnRow>,
}

impl Storage {
    /// The call `id`, when it exists and (with `tenant`) is that tenant's.
    pub async fn call_timeline(
        &self,
        tenant: Option<&str>,
        id: &str,
    ) -> Result<Option<CallTimeline>, StorageError> {
        let Some(call) = self.call(id).await? else {
            return Ok(None);
        };
        if tenant.is_some_and(|tenant| tenant != call.user_id) {
            return Ok(None);
        }
        let events_sql = "SELECT call_id, seq, user_id, at, event_type, source, received_at, \
            changes FROM call_events WHERE call_id = $1 ORDER BY at, seq";
        let events = with_pool!(self, pool => sqlx::query_as::<_, LoggedEvent>(events_sql)
            .bind(id).fetch_all(pool).await)?;
        let turns_sql = "SELECT call_id, seq, user_id, at, role, text, latency_ms, interrupted \
            FROM call_turns WHERE call_id = $1 ORDER BY at, seq";
        let turns = with_pool!(self, pool => sqlx::query_as::<_, TurnRow>(turns_sql)
            .bind(id).fetch_all(pool).await)?;
        Ok(Some(CallTimeline {
            call,
            events,
            turns,
        }))
    }
}
