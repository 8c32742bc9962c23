//! HTTP-level tests: each builds a real server on port 0 with its own data folder and site root.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin;
mod assets;
mod audit;
mod auth;
mod binary;
mod bounded;
mod connections;
mod dashboard;
mod databases;
mod fair_shares;
mod helpers;
mod ingest;
mod ingest_refusals;
mod live;
mod live_clients;
mod lockout;
mod outages;
mod pages;
mod permissions;
mod reconciliation;
mod redis;
mod server_fns;
mod sessions;
mod socketio;
mod storage;
