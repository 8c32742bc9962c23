//! What a password a person chooses must be: long enough, and not easy to guess. Strength is
//! zxcvbn's estimate (common passwords, names, words, dates, keyboard patterns, l33t speak, and
//! the user's own email), computed here on the server and never shipped to a browser.

use zxcvbn::Score;

/// Shortest password a person may choose.
pub const MIN_CHOSEN_PASSWORD_CHARS: usize = 12;
/// zxcvbn's score a chosen password must reach: about 10^10 guesses ("safely unguessable:
/// moderate protection from offline slow-hash scenario").
const MIN_SCORE: Score = Score::Three;

/// Why a chosen password is refused, in words for the person choosing it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct WeakPassword(pub String);

/// Accepts `password` for the user `email` when it is long and hard enough to guess.
pub fn check_chosen_password(password: &str, email: &str) -> Result<(), WeakPassword> {
    if password.chars().count() < MIN_CHOSEN_PASSWORD_CHARS {
        return Err(WeakPassword(format!(
            "at least {MIN_CHOSEN_PASSWORD_CHARS} characters"
        )));
    }
    let local = email.split('@').next().unwrap_or_default();
    let estimate = zxcvbn::zxcvbn(password, &[email, local, "switchboard"]);
    if estimate.score() >= MIN_SCORE {
        return Ok(());
    }
    let mut why = "too easy to guess".to_owned();
    if let Some(feedback) = estimate.feedback() {
        if let Some(warning) = feedback.warning() {
            why = format!("{why}: {warning}");
        }
        for suggestion in feedback.suggestions() {
            why = format!("{why} {suggestion}");
        }
    }
    Err(WeakPassword(why))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_common_and_personal_passwords_are_refused_and_a_passphrase_is_not() {
        let email = "maria.lopez@acme.test";
        assert_eq!(
            check_chosen_password("Tr0ub4dor&3", email),
            Err(WeakPassword("at least 12 characters".to_owned()))
        );
        for weak in [
            "password1234",
            "qwertyuiop123",
            "maria.lopez2024",
            "switchboard123",
        ] {
            let refused = check_chosen_password(weak, email).unwrap_err();
            assert!(
                refused.0.starts_with("too easy to guess"),
                "{weak}: {refused}"
            );
        }
        assert_eq!(
            check_chosen_password("copper kettle orbits the quiet lantern", email),
            Ok(())
        );
    }
}
