//! Whose fault a failed write is — the one place that reads database error codes. The dead-letter
//! queue spends an event's attempts only on a [`Failure::Refusal`] (the database said no to what
//! the event carries); an outage, however long, costs no attempts and leaves nothing for a human.
//! The ingest writer halves a batch only when a part of it may be at fault (a refusal or a
//! conflict with another writer).

use app::dto::admin::FailureKind;

/// What a failed statement says about the event it carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The database could not run it: unreachable, overloaded, shutting down, out of disk,
    /// busy or locked. Nothing is wrong with the event.
    Outage,
    /// Another writer got in the way (serialization failure, deadlock): the same statements
    /// succeed when run again, alone or later.
    Conflict,
    /// The database refused what the statements carry: a constraint, a value, a trigger.
    Refusal,
}

impl Failure {
    /// How the dead-letter queue treats an event that failed this way.
    pub fn kind(self) -> FailureKind {
        match self {
            Self::Outage | Self::Conflict => FailureKind::Outage,
            Self::Refusal => FailureKind::Refusal,
        }
    }

    /// Whether writing the batch in smaller parts can get the rest of it stored.
    pub fn may_split(self) -> bool {
        matches!(self, Self::Refusal | Self::Conflict)
    }
}

/// Classifies a sqlx error. An error that names no database code and is not about encoding a
/// value (a pool timeout, a dropped connection, TLS, a crashed worker) is an outage; so is a
/// database code this does not know: nothing is given up on unless the database blamed the
/// event.
pub fn classify(error: &sqlx::Error) -> Failure {
    match error {
        sqlx::Error::Database(error) => {
            let code = error.code().unwrap_or_default();
            if error
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .is_some()
            {
                sqlstate(&code)
            } else {
                code.parse().map_or(Failure::Outage, sqlite_code)
            }
        }
        sqlx::Error::Encode(_) | sqlx::Error::InvalidArgument(_) => Failure::Refusal,
        _ => Failure::Outage,
    }
}

/// A PostgreSQL SQLSTATE: classes 22 (data exception), 23 (integrity constraint) and P0
/// (raised by a PL/pgSQL trigger) blame the event; 40001 and 40P01 (serialization failure,
/// deadlock) another writer; everything else — 08 connection, 53 resources, 57 operator
/// intervention (shutdown, cancel), 58 system error, and codes not listed — the database.
fn sqlstate(code: &str) -> Failure {
    match code {
        "40001" | "40P01" => Failure::Conflict,
        _ if ["22", "23", "P0"]
            .iter()
            .any(|class| code.starts_with(class)) =>
        {
            Failure::Refusal
        }
        _ => Failure::Outage,
    }
}

/// A SQLite result code (extended codes carry the primary one in their low byte): TOOBIG (18),
/// CONSTRAINT (19, triggers' RAISE included), MISMATCH (20) and RANGE (25) blame the event;
/// BUSY (5), LOCKED (6), NOMEM (7), READONLY (8), IOERR (10), FULL (13), CANTOPEN (14) and
/// anything else the database.
fn sqlite_code(code: i32) -> Failure {
    match code & 0xff {
        18 | 19 | 20 | 25 => Failure::Refusal,
        _ => Failure::Outage,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstates_are_classified_per_code() {
        for code in [
            "08000", "08006", "08001", "53100", "53300", "57P01", "57P03", "58030",
        ] {
            assert_eq!(sqlstate(code), Failure::Outage, "{code}");
        }
        for code in ["40001", "40P01"] {
            assert_eq!(sqlstate(code), Failure::Conflict, "{code}");
        }
        for code in [
            "22001", "22P02", "22021", "23505", "23503", "23514", "P0001",
        ] {
            assert_eq!(sqlstate(code), Failure::Refusal, "{code}");
        }
        // Not the event's fault, and unknown: kept retrying.
        assert_eq!(sqlstate("42P01"), Failure::Outage);
        assert_eq!(sqlstate("XX000"), Failure::Outage);
    }

    #[test]
    fn sqlite_codes_are_classified_per_code() {
        // BUSY, LOCKED, NOMEM, READONLY, IOERR, FULL, CANTOPEN, and extended forms of them.
        for code in [5, 6, 7, 8, 10, 13, 14, 261, 262, 266, 778] {
            assert_eq!(sqlite_code(code), Failure::Outage, "{code}");
        }
        // TOOBIG, CONSTRAINT (UNIQUE 2067, TRIGGER 1811, CHECK 275), MISMATCH, RANGE.
        for code in [18, 19, 2067, 1811, 275, 20, 25] {
            assert_eq!(sqlite_code(code), Failure::Refusal, "{code}");
        }
    }

    #[test]
    fn errors_without_a_code_are_outages_unless_a_value_was_at_fault() {
        assert_eq!(classify(&sqlx::Error::PoolTimedOut), Failure::Outage);
        assert_eq!(classify(&sqlx::Error::PoolClosed), Failure::Outage);
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(classify(&sqlx::Error::Io(io)), Failure::Outage);
        assert_eq!(
            classify(&sqlx::Error::Encode("not encodable".into())),
            Failure::Refusal
        );
    }

    #[test]
    fn only_refusals_spend_attempts_and_only_the_event_or_a_rival_splits_a_batch() {
        assert_eq!(Failure::Outage.kind(), FailureKind::Outage);
        assert_eq!(Failure::Conflict.kind(), FailureKind::Outage);
        assert_eq!(Failure::Refusal.kind(), FailureKind::Refusal);
        assert!(!Failure::Outage.may_split());
        assert!(Failure::Conflict.may_split() && Failure::Refusal.may_split());
    }
}
