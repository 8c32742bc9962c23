//! The viewer's time zone, by IANA name, and what an instant or a day is in it.
//!
//! Which zone: the browser's own, remembered in a cookie on hydration (so the next page the
//! server renders is already in it), unless the account page pinned one; UTC until either
//! happened (a JavaScript-off visitor's first pages), and the page says so.
//!
//! Each instant is shown at its own offset (DST-correct): on the server from the zone database
//! (`jiff`), in the browser from its `Intl`, so the bundle carries no zone database and both
//! render the same text. A day starts at its midnight in the zone, found from those offsets by
//! one rule ([`Zone::midnight`]) on both sides.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime, UtcOffset};

use crate::dto::error::DataError;

/// The cookie holding the viewer's zone.
pub const ZONE_COOKIE: &str = "switchboard_tz";
/// Present when the viewer chose the zone on the account page: the browser's own then does
/// not replace it.
pub const ZONE_PINNED_COOKIE: &str = "switchboard_tz_pinned";
/// Longer names are no zone's (the longest is 32 characters).
pub const MAX_ZONE_NAME: usize = 64;

/// A time zone by IANA name; UTC by default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Zone(Option<String>);

impl Zone {
    /// The zone named `name`, or a 400 on `tz`.
    pub fn named(name: &str) -> Result<Self, DataError> {
        let name = rules::canonical(Self::bounded(name)?).ok_or_else(refused)?;
        Ok(Self((name != "UTC").then_some(name)))
    }

    /// `name` if it is as long as a zone's name may be (whether it is one aside), or a 400 on
    /// `tz`.
    pub fn bounded(name: &str) -> Result<&str, DataError> {
        if name.is_empty() || name.len() > MAX_ZONE_NAME {
            return Err(refused());
        }
        Ok(name)
    }

    /// Its IANA name ("UTC" for UTC).
    pub fn name(&self) -> &str {
        self.0.as_deref().unwrap_or("UTC")
    }

    /// The API's `tz=` for this zone (none for UTC, the API's default).
    pub fn tz_param(&self) -> Option<String> {
        self.0.clone()
    }

    /// The zone's offset from UTC at `at`.
    pub fn offset_at(&self, at: OffsetDateTime) -> UtcOffset {
        self.0
            .as_deref()
            .and_then(|name| rules::offset_at(name, at))
            .unwrap_or(UtcOffset::UTC)
    }

    /// `at` as the zone's wall clock shows it.
    pub fn local(&self, at: OffsetDateTime) -> OffsetDateTime {
        at.to_offset(self.offset_at(at))
    }

    /// The first instant of `date` in the zone: its midnight (the first one, where clocks go
    /// back over it), or where a DST change skips midnight, the end of the gap. (`None` only at
    /// the ends of the representable range.)
    pub fn midnight(&self, date: Date) -> Option<OffsetDateTime> {
        // The wall clock's midnight read as UTC, moved back by each offset the zone has around
        // it; a guess is right when the zone has that offset there.
        let wall = date.midnight().assume_utc();
        let guess = |around: Option<OffsetDateTime>| {
            let offset = self.offset_at(around?);
            Some((offset, wall.checked_sub(duration(offset))?))
        };
        let guesses = [
            guess(Some(wall)),
            guess(wall.checked_sub(DAY)),
            guess(wall.checked_add(DAY)),
        ];
        let guesses = guesses.iter().flatten();
        let right = guesses
            .clone()
            .filter(|(offset, at)| self.offset_at(*at) == *offset)
            .map(|(_, at)| *at)
            .min();
        // Midnight falls in a gap: its clock starts where the earlier offset's midnight is.
        right.or_else(|| guesses.map(|(_, at)| *at).max())
    }
}

const DAY: time::Duration = time::Duration::DAY;

fn refused() -> DataError {
    DataError::invalid(
        "tz",
        "expected an IANA time zone name, such as America/New_York",
    )
}

fn duration(offset: UtcOffset) -> time::Duration {
    time::Duration::seconds(i64::from(offset.whole_seconds()))
}

/// The zone a page is rendered in, as the server read it from the request's cookies.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewerZone {
    pub zone: Zone,
    /// Chosen on the account page rather than taken from the browser.
    pub pinned: bool,
}

impl ViewerZone {
    /// From the cookies' values; a zone nobody has is UTC.
    pub fn from_cookies(zone: Option<&str>, pinned: bool) -> Self {
        match zone.and_then(|name| Zone::named(name).ok()) {
            Some(zone) => Self { zone, pinned },
            // A pin without a zone pins nothing: the browser's own is taken.
            None => Self::default(),
        }
    }
}

/// The zone this page shows its times in, for [`crate::clock::Clock`].
#[derive(Clone, Copy)]
pub struct ShownZone {
    pub zone: ReadSignal<Zone>,
    /// Chosen on the account page.
    pub pinned: bool,
}

/// Starts the page in the zone the server rendered it in (so hydration sees the same text), then,
/// once hydrated, switches to the browser's own zone unless one is pinned, remembering it in the
/// cookie for the pages the server renders next.
pub fn provide_shown_zone() {
    let rendered = SharedValue::new(server_side::viewer_zone).into_inner();
    let (shown, set_shown) = signal(rendered.zone.clone());
    // Effects run only in the browser, after hydration.
    Effect::new(move |_| {
        if rendered.pinned {
            return;
        }
        if let Some(own) = rules::browser_zone()
            && own != shown.get_untracked()
        {
            rules::remember(&own);
            set_shown.set(own);
        }
    });
    provide_context(ShownZone {
        zone: shown,
        pinned: rendered.pinned,
    });
}

#[cfg(feature = "ssr")]
mod server_side {
    /// The server's page middleware puts the zone in the request's extensions.
    pub(super) fn viewer_zone() -> super::ViewerZone {
        leptos::prelude::use_context::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<super::ViewerZone>().cloned())
            .unwrap_or_default()
    }
}

#[cfg(not(feature = "ssr"))]
mod server_side {
    pub(super) fn viewer_zone() -> super::ViewerZone {
        super::ViewerZone::default()
    }
}

/// Every zone's name, UTC first, for the account page's choice (server only).
#[cfg(not(feature = "hydrate"))]
pub fn all_names() -> Vec<String> {
    let mut names: Vec<String> = rules::DATABASE
        .available()
        .map(|name| name.as_str().to_owned())
        .filter(|name| name.contains('/') && !name.starts_with("Etc/"))
        .collect();
    names.sort();
    names.dedup();
    names.insert(0, "UTC".to_owned());
    names
}

/// The zone database's offsets (the server, and native tests).
#[cfg(not(feature = "hydrate"))]
mod rules {
    use std::sync::LazyLock;

    use jiff::{Timestamp, tz::TimeZoneDatabase};
    use time::{OffsetDateTime, UtcOffset};

    /// The zone database built into the server, not the machine's: the same names and rules
    /// wherever it runs (a machine's zoneinfo may lack the old names browsers still report,
    /// such as Asia/Calcutta), and no surprise when the machine's is updated.
    pub(super) static DATABASE: LazyLock<TimeZoneDatabase> =
        LazyLock::new(TimeZoneDatabase::bundled);

    /// The database's own spelling of zone `name` (names are matched without case).
    pub(super) fn canonical(name: &str) -> Option<String> {
        let zone = DATABASE.get(name).ok()?;
        Some(zone.iana_name().unwrap_or(name).to_owned())
    }

    pub(super) fn offset_at(name: &str, at: OffsetDateTime) -> Option<UtcOffset> {
        let zone = DATABASE.get(name).ok()?;
        let at = Timestamp::from_second(at.unix_timestamp()).ok()?;
        UtcOffset::from_whole_seconds(zone.to_offset(at).seconds()).ok()
    }

    pub(super) fn browser_zone() -> Option<super::Zone> {
        None
    }

    pub(super) fn remember(_: &super::Zone) {}
}

/// The browser's `Intl` offsets: one formatter per zone, kept, since making one is slow.
#[cfg(feature = "hydrate")]
mod rules {
    use std::cell::RefCell;

    use js_sys::{Array, Date, Intl::DateTimeFormat, Object, Reflect};
    use time::{OffsetDateTime, UtcOffset};
    use wasm_bindgen::{JsCast, JsValue};

    thread_local! {
        /// The last zone's formatter: a page shows one zone.
        static FORMATTER: RefCell<Option<(String, Option<DateTimeFormat>)>> = RefCell::default();
    }

    /// A formatter that names each instant's offset ("GMT-05:00"), or `None` for a zone the
    /// browser does not know (its constructor throws).
    fn formatter(name: &str) -> Option<DateTimeFormat> {
        FORMATTER.with(|kept| {
            let mut kept = kept.borrow_mut();
            if let Some((kept_name, formatter)) = kept.as_ref()
                && kept_name == name
            {
                return formatter.clone();
            }
            let made = make_formatter(name);
            *kept = Some((name.to_owned(), made.clone()));
            made
        })
    }

    fn make_formatter(name: &str) -> Option<DateTimeFormat> {
        let options = Object::new();
        let set =
            |key: &str, value: &str| Reflect::set(&options, &key.into(), &value.into()).is_ok();
        if !(set("timeZone", name) && set("timeZoneName", "longOffset")) {
            return None;
        }
        let constructor = Reflect::get(&js_sys::global(), &"Intl".into())
            .and_then(|intl| Reflect::get(&intl, &"DateTimeFormat".into()))
            .ok()?
            .dyn_into::<js_sys::Function>()
            .ok()?;
        let arguments = Array::of2(&Array::of1(&"en-US".into()), &options);
        Reflect::construct(&constructor, &arguments)
            .ok()
            .map(JsCast::unchecked_into)
    }

    pub(super) fn canonical(name: &str) -> Option<String> {
        formatter(name).map(|_| name.to_owned())
    }

    pub(super) fn offset_at(name: &str, at: OffsetDateTime) -> Option<UtcOffset> {
        let date = Date::new(&JsValue::from_f64(at.unix_timestamp() as f64 * 1000.0));
        let parts = formatter(name)?.format_to_parts(&date);
        let named = parts.iter().find_map(|part| {
            let kind = Reflect::get(&part, &"type".into()).ok()?.as_string()?;
            (kind == "timeZoneName")
                .then(|| Reflect::get(&part, &"value".into()).ok()?.as_string())
                .flatten()
        })?;
        parse_gmt(&named)
    }

    /// "GMT", "GMT+05:30", "GMT-04:00" (and "GMT-03:30:45" for a zone's seconds).
    fn parse_gmt(text: &str) -> Option<UtcOffset> {
        let rest = text.strip_prefix("GMT")?;
        if rest.is_empty() {
            return Some(UtcOffset::UTC);
        }
        let (sign, rest) = if let Some(rest) = rest.strip_prefix('+') {
            (1, rest)
        } else {
            (-1, rest.strip_prefix(['-', '\u{2212}'])?)
        };
        let mut fields = rest.split(':').map(str::parse::<i32>);
        let hours = fields.next()?.ok()?;
        let minutes = fields.next().unwrap_or(Ok(0)).ok()?;
        let seconds = fields.next().unwrap_or(Ok(0)).ok()?;
        UtcOffset::from_whole_seconds(sign * (hours * 3600 + minutes * 60 + seconds)).ok()
    }

    /// The browser's own zone, as `Intl` resolves it.
    pub(super) fn browser_zone() -> Option<super::Zone> {
        let options = DateTimeFormat::new(&Array::new(), &Object::new()).resolved_options();
        let name = Reflect::get(&options, &"timeZone".into())
            .ok()?
            .as_string()?;
        super::Zone::named(&name).ok()
    }

    /// Keeps `zone` for a year in the cookie the server renders pages with.
    pub(super) fn remember(zone: &super::Zone) {
        let Some(document) = web_sys::window().and_then(|window| window.document()) else {
            return;
        };
        let secure = document
            .location()
            .and_then(|location| location.protocol().ok())
            .is_some_and(|protocol| protocol == "https:");
        let cookie = format!(
            "{}={}; Path=/; Max-Age=31536000; SameSite=Lax{}",
            super::ZONE_COOKIE,
            zone.name(),
            if secure { "; Secure" } else { "" }
        );
        if let Ok(document) = document.dyn_into::<web_sys::HtmlDocument>() {
            let _ = document.set_cookie(&cookie);
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;

    #[test]
    fn each_instant_takes_its_own_offset() {
        let new_york = Zone::named("America/New_York").unwrap();
        assert_eq!(
            new_york.offset_at(datetime!(2026-12-04 12:00 UTC)),
            UtcOffset::from_hms(-5, 0, 0).unwrap()
        );
        assert_eq!(
            new_york.offset_at(datetime!(2026-07-04 12:00 UTC)),
            UtcOffset::from_hms(-4, 0, 0).unwrap()
        );
        let kolkata = Zone::named("Asia/Kolkata").unwrap();
        assert_eq!(
            kolkata.local(datetime!(2026-12-04 12:00 UTC)),
            datetime!(2026-12-04 17:30 +05:30)
        );
        assert_eq!(Zone::named("UTC").unwrap(), Zone::default());
        // Names are the database's own, whatever their case, old names included.
        assert_eq!(Zone::named("utc").unwrap(), Zone::default());
        assert_eq!(Zone::named("asia/kolkata").unwrap().name(), "Asia/Kolkata");
        assert!(Zone::named("Asia/Calcutta").is_ok());
    }

    #[test]
    fn a_day_starts_at_its_zones_midnight_whatever_the_offset() {
        for (zone, date, starts) in [
            // Winter (UTC-5) and summer (UTC-4): each date at its own offset.
            (
                "America/New_York",
                date!(2026 - 12 - 04),
                datetime!(2026-12-04 05:00 UTC),
            ),
            (
                "America/New_York",
                date!(2026 - 07 - 04),
                datetime!(2026-07-04 04:00 UTC),
            ),
            // The day of a change starts at the offset before it (the change is at 02:00).
            (
                "America/New_York",
                date!(2026 - 03 - 08),
                datetime!(2026-03-08 05:00 UTC),
            ),
            (
                "America/New_York",
                date!(2026 - 11 - 01),
                datetime!(2026-11-01 04:00 UTC),
            ),
            // Half-hour offsets, ahead of UTC: Kolkata's day starts the evening before.
            (
                "Asia/Kolkata",
                date!(2026 - 12 - 04),
                datetime!(2026-12-03 18:30 UTC),
            ),
            // Santiago skips from 00:00 to 01:00 on 6 September 2026: the day starts after the gap.
            (
                "America/Santiago",
                date!(2026 - 09 - 06),
                datetime!(2026-09-06 04:00 UTC),
            ),
            // Amman went back from 01:00 (UTC+3) to 00:00 (UTC+2) on 29 October 2021: the day
            // starts at its first midnight.
            (
                "Asia/Amman",
                date!(2021 - 10 - 29),
                datetime!(2021-10-28 21:00 UTC),
            ),
            (
                "UTC",
                date!(2026 - 12 - 04),
                datetime!(2026-12-04 00:00 UTC),
            ),
        ] {
            let zone = Zone::named(zone).unwrap();
            assert_eq!(zone.midnight(date), Some(starts), "{zone:?} {date}");
        }
    }

    #[test]
    fn only_real_zones_are_named() {
        for bad in ["", "Mars/Olympus_Mons", "America/New York", &"x".repeat(65)] {
            let error = Zone::named(bad).unwrap_err();
            assert_eq!(error.status(), 400, "{bad:?}");
        }
        assert_eq!(
            ViewerZone::from_cookies(Some("Mars/Olympus_Mons"), false).zone,
            Zone::default()
        );
        assert_eq!(
            ViewerZone::from_cookies(Some("Mars/Olympus_Mons"), true),
            ViewerZone::default()
        );
        assert!(all_names().iter().any(|name| name == "Asia/Kolkata"));
        assert_eq!(all_names()[0], "UTC");
    }
}
