//! What the doors call: the figures and operator actions every door shares, reconciliation, DLQ
//! retrying, live push's loops, managing users and API tokens, and the demo. The one layer below HTTP that may name
//! [`crate::runtime::state::AppState`].

pub mod api_tokens;
pub mod demo;
pub mod dlq_retry;
pub mod doors;
pub mod figures;
pub mod links;
pub mod ops;
pub mod push;
pub mod reconcile;
pub mod users;
