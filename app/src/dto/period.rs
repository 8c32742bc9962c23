//! The dashboard's period selector: the windows the seed's `hours` parameter is asked with.

use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Period {
    #[serde(rename = "1h")]
    Hour,
    #[serde(rename = "6h")]
    SixHours,
    #[serde(rename = "24h")]
    #[default]
    Day,
    #[serde(rename = "7d")]
    Week,
}

impl Period {
    pub const ALL: [Period; 4] = [Self::Hour, Self::SixHours, Self::Day, Self::Week];

    /// The `hours` query parameter of the seed-000 endpoints.
    pub const fn hours(self) -> u32 {
        match self {
            Self::Hour => 1,
            Self::SixHours => 6,
            Self::Day => 24,
            Self::Week => 168,
        }
    }

    /// The name in URLs (`period=6h`), as serde writes it.
    pub fn key(self) -> &'static str {
        match self {
            Self::Hour => "1h",
            Self::SixHours => "6h",
            Self::Day => "24h",
            Self::Week => "7d",
        }
    }

    /// Short label for the selector button.
    pub fn short_label(self) -> &'static str {
        match self {
            Self::Hour => "1 h",
            Self::SixHours => "6 h",
            Self::Day => "24 h",
            Self::Week => "7 d",
        }
    }

    /// Long form, for sentences ("the last 6 hours").
    pub fn long_label(self) -> &'static str {
        match self {
            Self::Hour => "hour",
            Self::SixHours => "6 hours",
            Self::Day => "24 hours",
            Self::Week => "7 days",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_cover_the_seed_range() {
        let hours: Vec<u32> = Period::ALL.iter().map(|p| p.hours()).collect();
        assert_eq!(hours, vec![1, 6, 24, 168]);
        assert!(hours.iter().all(|h| (1..=168).contains(h)));
    }
}
