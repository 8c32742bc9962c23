//! Live call state as the dashboards see it.

use serde::{Deserialize, Serialize};

/// How recently a call's heartbeat was heard: healthy under 60 s, warning up to 120 s, stale
/// beyond (thresholds configurable on the server).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum HeartbeatHealth {
    Healthy,
    Warning,
    Stale,
}

impl HeartbeatHealth {
    /// The icon shown next to the word, never instead of it.
    pub fn icon(self) -> &'static str {
        match self {
            Self::Healthy => "●",
            Self::Warning => "▲",
            Self::Stale => "■",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Warning => "warning",
            Self::Stale => "stale",
        }
    }
}
