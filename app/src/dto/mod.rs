//! The wire types: everything the server sends and the browser (or any other client) reads.
//! One definition each, shared by both sides.

pub mod admin;
pub mod auth;
pub mod call_detail;
pub mod call_filter;
pub mod calls;
pub mod dashboard;
pub mod error;
pub mod health;
pub mod ingest;
pub mod latency;
pub mod live;
pub mod period;
pub mod query;
pub mod search;
pub mod tokens;
pub mod users;
