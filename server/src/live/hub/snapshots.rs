//! Snapshots shared by subscribers that start at the same push: a connect storm computes a
//! room's state once, not once per client.

use std::{sync::Arc, time::Instant};

use app::dto::live::{Room, RoomState};

use super::{Hub, SNAPSHOT_REUSE, SharedSnapshot};

impl Hub {
    /// The snapshot cell for subscribers of `room` starting at `seq`: the room's cached one when
    /// it still reflects them (nothing pushed since it was started, and recent), else a new one.
    pub fn snapshot_cell(
        &self,
        room: &Room,
        seq: u64,
    ) -> Arc<tokio::sync::OnceCell<Arc<RoomState>>> {
        let mut entries = self.rooms();
        let Some(entry) = entries.get_mut(room) else {
            return Arc::default();
        };
        match &entry.snapshot {
            Some(shared)
                if shared.seq == seq
                    && shared.epoch == entry.epoch
                    && shared.at.elapsed() < SNAPSHOT_REUSE =>
            {
                Arc::clone(&shared.state)
            }
            _ => {
                let state: Arc<tokio::sync::OnceCell<Arc<RoomState>>> = Arc::default();
                entry.snapshot = Some(SharedSnapshot {
                    seq,
                    epoch: entry.epoch,
                    at: Instant::now(),
                    state: Arc::clone(&state),
                });
                state
            }
        }
    }
}
