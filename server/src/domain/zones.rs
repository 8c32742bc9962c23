//! Time zones by IANA name, for what a viewer means by a day: `tz=America/New_York` makes a
//! date-only filter start at New York's midnight. The zone database lives on the server only.

use app::dto::error::DataError;
use jiff::tz::TimeZone;
use time::{Date, OffsetDateTime};

/// Longer names are no zone's (the longest is 32 characters).
const MAX_ZONE_NAME: usize = 64;

/// The zone named `name`, or a 400 on `tz`.
pub fn zone(name: &str) -> Result<TimeZone, DataError> {
    let refused = || {
        DataError::invalid(
            "tz",
            "expected an IANA time zone name, such as America/New_York",
        )
    };
    if name.is_empty() || name.len() > MAX_ZONE_NAME {
        return Err(refused());
    }
    TimeZone::get(name).map_err(|_| refused())
}

/// The first instant of `date` in `zone` (where a DST change skips midnight, the first instant
/// after the gap).
pub fn midnight(zone: &TimeZone, date: Date) -> Option<OffsetDateTime> {
    let civil = jiff::civil::Date::new(
        i16::try_from(date.year()).ok()?,
        i8::try_from(u8::from(date.month())).ok()?,
        i8::try_from(date.day()).ok()?,
    )
    .ok()?;
    let start = civil.to_zoned_datetime(zone.clone()).ok()?;
    OffsetDateTime::from_unix_timestamp_nanos(start.timestamp().as_nanosecond()).ok()
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;

    #[test]
    fn a_day_starts_at_its_zones_midnight_whatever_the_offset() {
        let new_york = zone("America/New_York").unwrap();
        // Winter (UTC-5) and summer (UTC-4): each date at its own offset.
        assert_eq!(
            midnight(&new_york, date!(2026 - 12 - 04)),
            Some(datetime!(2026-12-04 05:00 UTC))
        );
        assert_eq!(
            midnight(&new_york, date!(2026 - 07 - 04)),
            Some(datetime!(2026-07-04 04:00 UTC))
        );
        // Half-hour offsets, ahead of UTC: Kolkata's day starts the evening before.
        let kolkata = zone("Asia/Kolkata").unwrap();
        assert_eq!(
            midnight(&kolkata, date!(2026 - 12 - 04)),
            Some(datetime!(2026-12-03 18:30 UTC))
        );
        for bad in ["", "Mars/Olympus_Mons", "America/New York", &"x".repeat(65)] {
            assert!(zone(bad).is_err(), "{bad:?}");
        }
    }
}
