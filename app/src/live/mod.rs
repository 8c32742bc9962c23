//! The browser's side of live push: [`client`] holds the link to `/ws`, [`feed`] applies what
//! arrives on it to the page's state. The protocol itself is in [`crate::dto::live`], shared with
//! the server.

pub mod client;
pub mod feed;

pub use feed::{ConnectionState, FeedGap, LiveFeed};
