//! The top: settings gathered from the CLI and environment, [`state::AppState`] built from
//! them, the server started, its connections accepted and every background task spawned.

pub mod build;
pub mod config;
pub mod serve;
pub mod startup;
pub mod state;
pub mod workers;
