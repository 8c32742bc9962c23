//! How many live sockets — `/ws` and Socket.IO together — one identity may hold open on this
//! instance. Each costs a task and buffers; a signed-in script opening sockets in a loop would
//! otherwise grow the server without bound. A browser tab holds one, so the cap leaves room for
//! an operator's many tabs and devices.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use app::dto::auth::Identity;

/// Sockets one identity may hold open at once.
pub const MAX_SOCKETS_PER_IDENTITY: usize = 32;

/// Open sockets per identity (its token's subject).
#[derive(Debug, Default)]
pub struct SocketQuota {
    open: Mutex<HashMap<String, usize>>,
}

/// One socket's place in its identity's quota, given back when dropped (when the socket ends).
#[derive(Debug)]
pub struct SocketSlot {
    quota: Arc<SocketQuota>,
    subject: String,
}

impl SocketQuota {
    /// A place for one more socket of `identity`, or `None` when it holds the most already.
    pub fn take(self: &Arc<Self>, identity: &Identity) -> Option<SocketSlot> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(identity.subject.clone()).or_default();
        if *count >= MAX_SOCKETS_PER_IDENTITY {
            return None;
        }
        *count += 1;
        Some(SocketSlot {
            quota: Arc::clone(self),
            subject: identity.subject.clone(),
        })
    }

    /// Sockets `subject` holds open.
    pub fn open(&self, subject: &str) -> usize {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.get(subject).copied().unwrap_or(0)
    }
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut open = self
            .quota
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.subject) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.subject);
            }
        }
    }
}
