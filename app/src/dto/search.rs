//! The search box above recent calls (`q`): one rule for what it finds, which the page applies
//! to live calls and the server's query mirrors in SQL (`storage::reads`).

use super::{dashboard::CallSummary, error::DataError};

/// What the search box (`q`) finds: a call whose id, room name or SIP call id starts with
/// `text` (is `text`, when shorter than [`MIN_PREFIX`]), or — when `text` reads as a phone
/// number with 4 or more digits — whose number's digits end with `digits`. The server's query selects exactly what [`Search::matches`] says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Search {
    pub text: String,
    pub digits: Option<String>,
}

/// Longest search text, in characters.
pub const MAX_SEARCH: usize = 100;
/// Fewest digits that search phone numbers (by their end).
pub const MIN_PHONE_DIGITS: usize = 4;
/// Fewest characters that search ids, room names and SIP call ids by prefix; shorter text
/// finds only the whole value (a one-letter prefix would select most calls).
pub const MIN_PREFIX: usize = 3;

impl Search {
    /// The search for `text` (trimmed, 1–[`MAX_SEARCH`] characters, no control characters).
    pub fn parse(text: &str) -> Result<Option<Self>, DataError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        if text.chars().count() > MAX_SEARCH {
            return Err(DataError::invalid(
                "q",
                format!("at most {MAX_SEARCH} characters"),
            ));
        }
        if text.chars().any(char::is_control) {
            return Err(DataError::invalid(
                "q",
                "must not contain control characters",
            ));
        }
        let phone_like = text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '.' | '(' | ')'));
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        Ok(Some(Self {
            text: text.to_owned(),
            digits: (phone_like && digits.len() >= MIN_PHONE_DIGITS).then_some(digits),
        }))
    }

    /// The digits of a phone number as search compares them (separators dropped).
    pub fn phone_digits(number: &str) -> String {
        number
            .chars()
            .filter(|c| !matches!(c, '+' | ' ' | '-' | '.' | '(' | ')'))
            .collect()
    }

    pub fn matches(&self, call: &CallSummary) -> bool {
        let prefix = self.text.chars().count() >= MIN_PREFIX;
        let found = |value: &str| {
            if prefix {
                value.starts_with(&self.text)
            } else {
                value == self.text
            }
        };
        found(&call.id)
            || call.livekit_room_name.as_deref().is_some_and(found)
            || call.sip_call_id.as_deref().is_some_and(found)
            || self.digits.as_deref().is_some_and(|digits| {
                call.phone_number
                    .as_deref()
                    .is_some_and(|number| Self::phone_digits(number).ends_with(digits))
            })
    }
}

/// The older `phone` filter, checked: digits (a leading `+` kept; spaces, dashes, dots and
/// brackets dropped) that the number must contain.
pub fn phone_filter(value: Option<&str>) -> Result<Option<String>, DataError> {
    Ok(match value.map(str::trim) {
        None | Some("") => None,
        Some(phone) => {
            let kept: String = phone
                .chars()
                .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
                .collect();
            let digits = kept.strip_prefix('+').unwrap_or(&kept);
            if digits.is_empty() || kept.len() > 32 || !digits.chars().all(|c| c.is_ascii_digit()) {
                return Err(DataError::invalid(
                    "phone",
                    "expected digits, optionally after a +",
                ));
            }
            Some(kept)
        }
    })
}

/// The `agent` filter, checked: an agent id (1–36 characters, no spaces).
pub fn agent_filter(value: Option<&str>) -> Result<Option<String>, DataError> {
    Ok(match value.map(str::trim) {
        None | Some("") => None,
        Some(agent)
            if agent.chars().count() <= 36
                && !agent.chars().any(|c| c.is_whitespace() || c.is_control()) =>
        {
            Some(agent.to_owned())
        }
        Some(_) => {
            return Err(DataError::invalid(
                "agent",
                "an agent id: 1–36 characters, no spaces",
            ));
        }
    })
}
