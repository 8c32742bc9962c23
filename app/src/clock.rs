//! The page's sense of time: a `now` that ticks every second in the browser (durations and
//! "N s ago" count up without a request), and the viewer's zone for showing times
//! ([`crate::zone`]), each at its own offset.
//!
//! The server renders with its own clock; the value it rendered with travels to the browser
//! inside the page, so hydration starts from exactly the same text, and only then does the
//! browser's ticking take over.

use leptos::prelude::*;
use time::{Date, OffsetDateTime};

use crate::zone::{ShownZone, Zone};

#[derive(Clone, Copy)]
pub struct Clock {
    /// Now, to the second.
    pub now: ReadSignal<OffsetDateTime>,
    /// Where times are shown: the viewer's zone ([`crate::zone::provide_shown_zone`]).
    pub zone: ReadSignal<Zone>,
}

impl Clock {
    /// A clock for this page; ticking starts once the page has hydrated.
    pub fn start() -> Self {
        let rendered_at = SharedValue::new(|| OffsetDateTime::UNIX_EPOCH + server_now());
        let (now, set_now) = signal(rendered_at.into_inner());
        let zone = use_context::<ShownZone>()
            .map_or_else(|| signal(Zone::default()).0, |shown| shown.zone);
        // Effects run only in the browser, after hydration.
        Effect::new(move |_| {
            set_now.set(browser::now());
            if let Ok(ticking) = set_interval_with_handle(
                move || set_now.set(browser::now()),
                std::time::Duration::from_secs(1),
            ) {
                on_cleanup(move || ticking.clear());
            }
        });
        Self { now, zone }
    }

    /// A clock stopped at `now`, showing times in `zone`.
    #[cfg(test)]
    pub(crate) fn fixed(now: OffsetDateTime, zone: &str) -> Self {
        Self {
            now: signal(now).0,
            zone: signal(Zone::named(zone).expect("a zone")).0,
        }
    }

    /// Seconds from `since` to now, never negative.
    pub fn seconds_since(&self, since: OffsetDateTime) -> i64 {
        (self.now.get() - since).whole_seconds().max(0)
    }

    /// `HH:MM:SS` in the shown zone, for an event of today; `YYYY-MM-DD HH:MM` otherwise.
    pub fn time_of(&self, at: OffsetDateTime) -> String {
        let zone = self.zone.read();
        let at = zone.local(at);
        let (hour, minute, second) = at.to_hms();
        if zone.local(self.now.get()).date() == at.date() {
            format!("{hour:02}:{minute:02}:{second:02}")
        } else {
            format!("{} {hour:02}:{minute:02}", day(at.date()))
        }
    }

    /// `YYYY-MM-DD HH:MM:SS` in the shown zone.
    pub fn moment(&self, at: OffsetDateTime) -> String {
        let at = self.zone.read().local(at);
        let (hour, minute, second) = at.to_hms();
        format!("{} {hour:02}:{minute:02}:{second:02}", day(at.date()))
    }

    /// The shown zone's name, e.g. "UTC" or "America/New_York".
    pub fn zone(&self) -> String {
        self.zone.read().name().to_owned()
    }
}

/// `YYYY-MM-DD`. Written out rather than with a `time` format description: those are read at
/// run time by an interpreter that was 13 KB (gzip) of the browser bundle, for six descriptions.
fn day(date: Date) -> String {
    let (sign, year) = if date.year() < 0 {
        ("-", -date.year())
    } else {
        ("", date.year())
    };
    format!(
        "{sign}{year:04}-{:02}-{:02}",
        u8::from(date.month()),
        date.day()
    )
}

/// RFC 3339, for `<time datetime=…>`.
pub fn machine(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A duration as a person reads it: `42 s`, `3:07`, `1:02:03`.
pub fn duration(seconds: i64) -> String {
    let seconds = seconds.max(0);
    let (hours, minutes, seconds) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if hours > 0 {
        format!("{hours}:{minutes:02}:{seconds:02}")
    } else if minutes > 0 {
        format!("{minutes}:{seconds:02}")
    } else {
        format!("{seconds} s")
    }
}

/// How long ago, as a person reads it: `just now`, `42 s ago`, `15 m ago`, `3 h ago`, `2 d ago`.
pub fn ago(seconds: i64) -> String {
    match seconds.max(0) {
        0..5 => "just now".to_owned(),
        seconds @ 5..60 => format!("{seconds} s ago"),
        seconds @ 60..3600 => format!("{} m ago", seconds / 60),
        seconds @ 3600..86_400 => format!("{} h ago", seconds / 3600),
        seconds => format!("{} d ago", seconds / 86_400),
    }
}

/// Since the Unix epoch, whole seconds (the server's clock; unused in the browser).
fn server_now() -> time::Duration {
    #[cfg(feature = "ssr")]
    {
        time::Duration::seconds(OffsetDateTime::now_utc().unix_timestamp())
    }
    #[cfg(not(feature = "ssr"))]
    {
        time::Duration::ZERO
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use time::OffsetDateTime;

    /// The browser's clock (the `time` crate has none on wasm32-unknown-unknown).
    pub(super) fn now() -> OffsetDateTime {
        let seconds = (js_sys::Date::now() / 1000.0) as i64;
        OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

#[cfg(not(feature = "hydrate"))]
mod browser {
    use time::OffsetDateTime;

    pub(super) fn now() -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + super::server_now()
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn ages_read_naturally_and_round_down() {
        for (seconds, shown) in [
            (-3, "just now"),
            (4, "just now"),
            (5, "5 s ago"),
            (59, "59 s ago"),
            (60, "1 m ago"),
            (15 * 60 + 59, "15 m ago"),
            (3600, "1 h ago"),
            (86_399, "23 h ago"),
            (2 * 86_400 + 5, "2 d ago"),
        ] {
            assert_eq!(ago(seconds), shown, "{seconds} s");
        }
    }

    #[test]
    fn times_carry_their_date_unless_they_are_of_today() {
        // Signals live in an owner's arena.
        let owner = Owner::new();
        owner.set();
        let now = datetime!(2026-11-21 23:30 UTC);
        let clock = Clock::fixed(now, "UTC");
        assert_eq!(
            clock.time_of(datetime!(2026-11-21 09:05:07 UTC)),
            "09:05:07"
        );
        assert_eq!(
            clock.time_of(datetime!(2026-11-20 09:05:07 UTC)),
            "2026-11-20 09:05"
        );
        // In a zone where it is already tomorrow, today's morning is another day.
        let tokyo = Clock::fixed(now, "Asia/Tokyo");
        assert_eq!(
            tokyo.time_of(datetime!(2026-11-21 09:05:07 UTC)),
            "2026-11-21 18:05"
        );
        assert_eq!(
            tokyo.time_of(datetime!(2026-11-21 23:00:00 UTC)),
            "08:00:00"
        );
        // Each time at its own offset: New York is UTC-5 in November, UTC-4 in July.
        let new_york = Clock::fixed(now, "America/New_York");
        assert_eq!(
            new_york.moment(datetime!(2026-11-21 17:00 UTC)),
            "2026-11-21 12:00:00"
        );
        assert_eq!(
            new_york.moment(datetime!(2026-07-04 16:00 UTC)),
            "2026-07-04 12:00:00"
        );
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(0), "0 s");
        assert_eq!(duration(42), "42 s");
        assert_eq!(duration(187), "3:07");
        assert_eq!(duration(3723), "1:02:03");
        assert_eq!(duration(-5), "0 s");
    }
}
