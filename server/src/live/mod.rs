//! Live call state and the event bus.
//!
//! - [`registry`]: the calls in progress with their last heartbeat and health, answered from
//!   memory (no query per call), rebuilt from the database at start.
//! - [`bus`]: every stored change as a typed event, for live push and other instances.
//! - [`redis`]: Redis mode — producer channels, the seed-002 key layout, cross-instance fan-out.
//! - [`hub`]: live push — every bus event as a push to the rooms that may see it, numbered,
//!   remembered for reconnects, with figures coalesced; `/ws` and Socket.IO (in [`crate::http`])
//!   are its two doors.
//! - [`quota`]: how many of those sockets one identity may hold open.

use self::{
    bus::{BusEvent, EventBus},
    redis::RedisLink,
};

/// Publishes `event` on this instance's `bus` and, in Redis mode, on every other instance's.
pub async fn announce(bus: &EventBus, redis: Option<&RedisLink>, event: BusEvent) {
    if let Some(redis) = redis {
        redis.announce(std::slice::from_ref(&event)).await;
    }
    bus.publish(event);
}

pub mod bus;
pub mod hub;
pub mod quota;
pub mod redis;
pub mod registry;
pub mod replay;
