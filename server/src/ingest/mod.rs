//! Ingest: from a request body (or a Redis message) to a durable row.
//!
//! - [`validate`]: strict, per-event validation.
//! - [`gate`]: what producers may make the server hold (live calls per tenant, new tenants per
//!   minute), checked before an event is queued.
//! - [`writer`]: the [`Ingestor`], which batches concurrent submissions into transactions and
//!   answers each event only once it is stored, or durably queued in the DLQ for retry.
//! - [`redis`]: the same events from producers' Redis channels and stream.

pub mod gate;
pub mod redis;
pub mod validate;
pub mod writer;

pub use gate::{Gate, Limits};
pub use writer::{FailureInjector, Ingestor, WriteOutcome};
