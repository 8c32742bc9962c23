//! The native WebSocket protocol at `/ws`: JSON text frames, one message each, tagged by `type`.
//!
//! Keep-alive follows the Socket.IO contract of the old backend: the client pings every
//! [`PING_INTERVAL_SECS`]; either side treats [`PING_TIMEOUT_SECS`] of silence as a dead link.

use serde::{Deserialize, Serialize};

/// How often the client sends [`ClientMessage::Ping`].
pub const PING_INTERVAL_SECS: u64 = 25;
/// Silence after which either side drops the connection.
pub const PING_TIMEOUT_SECS: u64 = 60;

/// Server → client.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// First message on every connection: the link is live.
    Hello {
        /// The server's version, so a client can notice a deploy.
        version: String,
        /// Server time, RFC 3339, UTC.
        server_time: String,
    },
    /// Answer to [`ClientMessage::Ping`].
    Pong { timestamp: String },
}

/// Client → server.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    Ping,
}

/// What the connection badge shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnectionState {
    /// Before the first connection is up (and for good, without JavaScript).
    Connecting,
    Live,
    /// The link dropped; retrying with backoff.
    Reconnecting {
        attempt: u32,
    },
    /// Several retries failed or the browser is offline; still retrying. `since` is a local
    /// wall-clock time (`HH:MM:SS`) of when the link was lost.
    Offline {
        since: String,
    },
}

impl ConnectionState {
    /// Stable machine-readable name, used as `data-state` on the badge.
    pub fn key(&self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Live => "live",
            Self::Reconnecting { .. } => "reconnecting",
            Self::Offline { .. } => "offline",
        }
    }

    /// The text next to the badge's icon.
    pub fn label(&self) -> String {
        match self {
            Self::Connecting => "Connecting…".to_owned(),
            Self::Live => "Live".to_owned(),
            Self::Reconnecting { attempt } => format!("Reconnecting (try {attempt})…"),
            Self::Offline { since } => format!("Offline since {since}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_tagged_by_snake_case_type() {
        let ping: ClientMessage = serde_json::from_str(r#"{"type":"ping"}"#).unwrap();
        assert_eq!(ping, ClientMessage::Ping);
        let pong = serde_json::to_value(ServerMessage::Pong {
            timestamp: "t".into(),
        })
        .unwrap();
        assert_eq!(pong, serde_json::json!({"type": "pong", "timestamp": "t"}));
    }

    #[test]
    fn unknown_client_messages_are_rejected() {
        assert!(serde_json::from_str::<ClientMessage>(r#"{"type":"shutdown"}"#).is_err());
    }
}
