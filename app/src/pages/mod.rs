//! One module per route.

pub mod account;
pub mod dashboard;
pub mod login;
pub mod not_found;
pub mod users;
