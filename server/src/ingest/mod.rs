//! Ingest: from a request body (or a Redis message) to a durable row.
//!
//! - [`validate`]: strict, per-event validation.
//! - [`writer`]: the [`Ingestor`], which batches concurrent submissions into transactions and
//!   answers each event only once it is stored, or durably queued in the DLQ for retry.

pub mod validate;
pub mod writer;

pub use writer::{FailureInjector, Ingestor, WriteOutcome};
