//! One module per route.

pub mod dashboard;
pub mod not_found;
