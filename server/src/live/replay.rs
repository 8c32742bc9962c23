//! Refuses replayed instance-bus messages. A signature ([`super::redis`]) proves an instance
//! wrote a message, not that it is new: anyone who can read Redis could publish a recorded
//! `call ended` again. Each message carries when it was sent and a random nonce; a message sent
//! outside a short window of now, or whose (origin, nonce) was seen within it, is refused.
//!
//! Bounded: the nonces of one window, at most [`MAX_REMEMBERED`] (past that the oldest are
//! forgotten early, which only narrows the window for the oldest messages).

use std::{
    collections::{HashSet, VecDeque},
    sync::{Mutex, PoisonError},
    time::Duration,
};

/// How far a message's send time may be from now (either way: clocks of instances differ).
pub const REPLAY_WINDOW: Duration = Duration::from_secs(30);
/// Nonces remembered at most.
const MAX_REMEMBERED: usize = 1_000_000;

/// Why a bus message was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Sent outside the window of now.
    OutOfWindow,
    /// Seen before.
    Replayed,
}

#[derive(Debug, Default)]
pub struct ReplayGuard {
    seen: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    keys: HashSet<(String, u64)>,
    /// In arrival order, with their send times (unix milliseconds).
    order: VecDeque<(i64, String, u64)>,
}

impl ReplayGuard {
    /// Admits the message `nonce` from `origin`, sent at `sent_at_ms`, when `now_ms` is now.
    pub fn admit(
        &self,
        origin: &str,
        nonce: u64,
        sent_at_ms: i64,
        now_ms: i64,
    ) -> Result<(), Refusal> {
        let window = i64::try_from(REPLAY_WINDOW.as_millis()).unwrap_or(i64::MAX);
        if now_ms.abs_diff(sent_at_ms) > window.unsigned_abs() {
            return Err(Refusal::OutOfWindow);
        }
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let Seen { keys, order } = &mut *seen;
        while let Some((sent, _, _)) = order.front() {
            if now_ms - *sent <= window && order.len() < MAX_REMEMBERED {
                break;
            }
            if let Some((_, origin, nonce)) = order.pop_front() {
                keys.remove(&(origin, nonce));
            }
        }
        if !keys.insert((origin.to_owned(), nonce)) {
            return Err(Refusal::Replayed);
        }
        order.push_back((sent_at_ms, origin.to_owned(), nonce));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    #[test]
    fn a_message_is_admitted_once_and_only_near_now() {
        let guard = ReplayGuard::default();
        assert_eq!(guard.admit("a", 1, NOW, NOW), Ok(()));
        assert_eq!(guard.admit("a", 1, NOW, NOW + 5), Err(Refusal::Replayed));
        // The same nonce from another instance is another message.
        assert_eq!(guard.admit("b", 1, NOW, NOW + 5), Ok(()));
        let window = REPLAY_WINDOW.as_millis() as i64;
        assert_eq!(
            guard.admit("a", 2, NOW - window - 1, NOW),
            Err(Refusal::OutOfWindow)
        );
        assert_eq!(
            guard.admit("a", 3, NOW + window + 1, NOW),
            Err(Refusal::OutOfWindow)
        );
        // Past the window the nonce is forgotten, and its message refused by its time anyway.
        assert_eq!(
            guard.admit("a", 1, NOW, NOW + window + 1),
            Err(Refusal::OutOfWindow)
        );
        assert_eq!(guard.admit("a", 4, NOW + window, NOW + window + 1), Ok(()));
        assert_eq!(guard.seen.lock().unwrap().keys.len(), 1);
    }
}
