//! Live call state and the event bus.
//!
//! - [`registry`]: the calls in progress with their last heartbeat and health, answered from
//!   memory (no query per call), rebuilt from the database at start.
//! - [`bus`]: every stored change as a typed event, for live push and other instances.
//! - [`redis`]: Redis mode — producer channels, the seed-002 key layout, cross-instance fan-out.
//! - [`hub`]: live push — every bus event as a push to the rooms that may see it, numbered,
//!   remembered for reconnects, with figures coalesced; `/ws` and Socket.IO (in [`crate::http`])
//!   are its two doors.

pub mod bus;
pub mod hub;
pub mod redis;
pub mod registry;
