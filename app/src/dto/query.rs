//! The questions the dashboard's readers ask, as every door takes them: the REST API's query
//! strings, the server functions' arguments and the page's own URL all deserialize into these
//! types, so a filter means the same thing everywhere.
//!
//! A blank value is no value: a plain HTML form sends every field, empty ones too
//! (`?status=&outcome=&phone=`), and an empty filter means "no filter", never a 400.

use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, de::IntoDeserializer};
use time::OffsetDateTime;

use crate::dto::{
    ingest::{Direction, Outcome},
    period::Period,
};

/// `Option<T>` from a query value, blank (empty or spaces) being `None`. Every value of a query
/// string is text, so numbers and enums are parsed from it here.
fn blank_as_none<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: std::fmt::Display,
{
    let value: Option<String> = Option::deserialize(deserializer)?;
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => text.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

/// Parses a unit enum from its serde name (`"no_answer"` → `Outcome::NoAnswer`).
fn enum_from_str<'de, T: Deserialize<'de>>(text: &'de str) -> Result<T, String> {
    T::deserialize(text.into_deserializer())
        .map_err(|error: serde::de::value::Error| error.to_string())
}

/// Whether a call is still going on.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum CallStatus {
    Active,
    Ended,
}

impl CallStatus {
    pub const ALL: [CallStatus; 2] = [Self::Active, Self::Ended];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Ended => "ended",
        }
    }
}

macro_rules! from_serde_name {
    ($($name:ty),*) => {$(
        impl FromStr for $name {
            type Err = String;

            fn from_str(text: &str) -> Result<Self, String> {
                enum_from_str(text)
            }
        }
    )*};
}

from_serde_name!(CallStatus, Direction, Outcome, Period);

/// `user_id` alone.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
pub struct TenantQuery {
    /// Tenant to read. Tenants may omit it (their own) but not name another; admins may omit it
    /// for every tenant together.
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_id: Option<String>,
}

/// `user_id` and `hours`, as the seed's period endpoints take them.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
pub struct PeriodQuery {
    /// Tenant to read (see `TenantQuery`).
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_id: Option<String>,
    /// Period in whole UTC hours ending with the current one, 1–168 (default 24).
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "ssr", param(minimum = 1, maximum = 168, default = 24))]
    pub hours: Option<u32>,
}

/// A page of the dead-letter queue (admins).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
pub struct DlqQuery {
    /// Messages to list (oldest first), 1–1000, default 100. The depth counts them all.
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "ssr", param(minimum = 1, maximum = 1000, default = 100))]
    pub limit: Option<u32>,
    /// `next_after` of the previous page: the messages after that one.
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub after: Option<i64>,
}

/// A page of reconciliation runs, newest first (admins).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
pub struct RunsQuery {
    /// Runs per page, 1–100, default 20.
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "ssr", param(minimum = 1, maximum = 100, default = 20))]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub cursor: Option<String>,
}

/// A page of the audit log, newest first (admins).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
pub struct AuditQuery {
    /// Entries per page, 1–500, default 100.
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "ssr", param(minimum = 1, maximum = 500, default = 100))]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub cursor: Option<String>,
}

/// A page of the users list, by email.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
pub struct UsersQuery {
    /// Users per page, 1–500, default 100.
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "ssr", param(minimum = 1, maximum = 500, default = 100))]
    pub limit: Option<u32>,
    /// `next_after` of the previous page: the users after this email.
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub after: Option<String>,
}

/// Filters of a call list (recent calls and the CSV export), and its page.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
pub struct CallsQuery {
    /// Tenant to read (see `TenantQuery`).
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_id: Option<String>,
    /// Calls per page, 1–100 (default 10). Not used by the export.
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "ssr", param(minimum = 1, maximum = 100, default = 10))]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub cursor: Option<String>,
    /// `active` or `ended`.
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "ssr", param(value_type = Option<CallStatus>))]
    pub status: Option<CallStatus>,
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "ssr", param(value_type = Option<Outcome>))]
    pub outcome: Option<Outcome>,
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "ssr", param(value_type = Option<Direction>))]
    pub direction: Option<Direction>,
    /// Finds a call by its id (a prefix), its phone number (the whole number, or its last 4 or
    /// more digits), its room name or its SIP call id (exact or a prefix): 1–100 characters.
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "ssr", param(max_length = 100))]
    pub q: Option<String>,
    /// The agent (`agentConfigId`) that took the call.
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "ssr", param(max_length = 36))]
    pub agent: Option<String>,
    /// Part of the phone number: digits, optionally a leading `+` (spaces, dashes, dots and
    /// brackets are ignored). The older filter; `q` finds numbers by their last digits.
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub phone: Option<String>,
    /// Started at or after: RFC 3339 time, or a date (`YYYY-MM-DD`, midnight UTC).
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub from: Option<String>,
    /// Started before: RFC 3339 time, or a date (midnight UTC, so exclusive of that day).
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub to: Option<String>,
    /// The IANA time zone (`America/New_York`) whose midnight a date-only `from` / `to` means,
    /// so that a date selects that zone's day; UTC when absent. RFC 3339 times carry their own
    /// offset and are unaffected, and a zone is checked only when a date needs it. The server
    /// resolves it from its own zone database (the browser holds none).
    #[serde(
        default,
        deserialize_with = "blank_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "ssr", param(max_length = 64, example = "America/New_York"))]
    pub tz: Option<String>,
}

impl CallsQuery {
    /// Whether any filter (not the page) is set.
    pub fn is_filtered(&self) -> bool {
        self.status.is_some()
            || self.outcome.is_some()
            || self.direction.is_some()
            || self.phone.is_some()
            || self.q.is_some()
            || self.agent.is_some()
            || self.from.is_some()
            || self.to.is_some()
    }
}

/// A list page's continuation point, opaque to clients: `<unix nanoseconds>:<id>` of the last
/// row shown, base64url. The server pages with it; the page makes one when a live call pushes a
/// row off its list.
pub fn encode_cursor(started_at: OffsetDateTime, id: &str) -> String {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    URL_SAFE_NO_PAD.encode(format!("{}:{id}", started_at.unix_timestamp_nanos()))
}

/// The row a cursor continues after; `None` when it is not one [`encode_cursor`] made.
pub fn decode_cursor(cursor: &str) -> Option<(OffsetDateTime, String)> {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (nanos, id) = text.split_once(':')?;
    let at = OffsetDateTime::from_unix_timestamp_nanos(nanos.parse().ok()?).ok()?;
    Some((at, id.to_owned()))
}

/// The dashboard page's own URL (`/dashboard/realtime?period=6h&status=ended&…`): the period, the
/// recent calls' filters and page, and (admins) the tenant. Links and the filter form build it,
/// so a view can be shared and survives a reload.
///
/// `panels=none`: every ops panel closed on purpose.
const PANELS_NONE: &str = "none";

/// Not a serde type: [`PageQuery::parse`] reads it field by field so that one bad value is
/// reported and ignored rather than failing the page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageQuery {
    pub period: Option<Period>,
    pub calls: CallsQuery,
    /// The ops board's open panels (admins): `None` until someone opens or closes one, then
    /// each open panel's id (`panels=calls,dlq`; `panels=none` when all are closed).
    pub panels: Option<Vec<String>>,
}

impl PageQuery {
    /// Parses the page's query string. A value that does not parse is ignored (that filter is
    /// off) and reported, so the page still shows the rest rather than failing.
    pub fn parse(query: &str) -> (Self, Vec<String>) {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        // The last of a repeated parameter wins, as in serde_urlencoded.
        let text = |name: &str| {
            pairs
                .iter()
                .rev()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        let mut problems = Vec::new();
        fn typed<T: FromStr>(
            problems: &mut Vec<String>,
            name: &str,
            value: Option<String>,
        ) -> Option<T>
        where
            T::Err: std::fmt::Display,
        {
            match value?.parse() {
                Ok(value) => Some(value),
                Err(error) => {
                    problems.push(format!("{name}: {error}"));
                    None
                }
            }
        }
        let view = Self {
            period: typed(&mut problems, "period", text("period")),
            calls: CallsQuery {
                user_id: text("user_id"),
                limit: typed(&mut problems, "limit", text("limit")),
                cursor: text("cursor"),
                status: typed(&mut problems, "status", text("status")),
                outcome: typed(&mut problems, "outcome", text("outcome")),
                direction: typed(&mut problems, "direction", text("direction")),
                q: text("q"),
                agent: text("agent"),
                phone: text("phone"),
                from: text("from"),
                to: text("to"),
                // Not from the address: the page sets the viewer's zone.
                tz: None,
            },
            panels: text("panels").map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|id| !id.is_empty() && *id != PANELS_NONE)
                    .map(str::to_owned)
                    .collect()
            }),
        };
        (view, problems)
    }

    /// The selected period (24 h unless the URL says otherwise).
    pub fn period(&self) -> Period {
        self.period.unwrap_or_default()
    }

    /// The period query of the figures.
    pub fn period_query(&self) -> PeriodQuery {
        PeriodQuery {
            user_id: self.calls.user_id.clone(),
            hours: Some(self.period().hours()),
        }
    }

    pub fn tenant_query(&self) -> TenantQuery {
        TenantQuery {
            user_id: self.calls.user_id.clone(),
        }
    }

    /// The query string of this view (without `?`); defaults and blanks left out.
    pub fn to_query_string(&self) -> String {
        let mut url = form_urlencoded::Serializer::new(String::new());
        if let Some(period) = self.period.filter(|period| *period != Period::default()) {
            url.append_pair("period", period.key());
        }
        let calls = &self.calls;
        let pairs = [
            ("user_id", calls.user_id.clone()),
            ("status", calls.status.map(|s| s.as_str().to_owned())),
            ("outcome", calls.outcome.map(|o| o.as_str().to_owned())),
            ("direction", calls.direction.map(|d| d.as_str().to_owned())),
            ("q", calls.q.clone()),
            ("agent", calls.agent.clone()),
            ("phone", calls.phone.clone()),
            ("from", calls.from.clone()),
            ("to", calls.to.clone()),
            ("limit", calls.limit.map(|l| l.to_string())),
            ("cursor", calls.cursor.clone()),
            ("panels", self.panels_param()),
        ];
        for (name, value) in pairs {
            if let Some(value) = value {
                url.append_pair(name, &value);
            }
        }
        url.finish()
    }

    /// This view with another period (the recent calls' page kept).
    pub fn with_period(&self, period: Period) -> Self {
        Self {
            period: Some(period),
            ..self.clone()
        }
    }

    /// Whether the URL says panel `id` is open; `None` when it says nothing of any panel.
    pub fn panel_open(&self, id: &str) -> Option<bool> {
        self.panels
            .as_ref()
            .map(|open| open.iter().any(|open| open == id))
    }

    /// This view with panel `id` opened or closed; `shown` are the panels open now.
    pub fn with_panel(&self, shown: &[&str], id: &str, open: bool) -> Self {
        let mut panels: Vec<String> = shown
            .iter()
            .filter(|shown| **shown != id)
            .map(|shown| (*shown).to_owned())
            .collect();
        if open {
            panels.push(id.to_owned());
        }
        panels.sort();
        Self {
            panels: Some(panels),
            ..self.clone()
        }
    }

    /// The `panels` parameter's value, as forms carry it along.
    pub fn panels_param(&self) -> Option<String> {
        self.panels.as_ref().map(|open| {
            if open.is_empty() {
                PANELS_NONE.to_owned()
            } else {
                open.join(",")
            }
        })
    }

    /// This view at another page of recent calls (`None`: the first).
    pub fn with_cursor(&self, cursor: Option<String>) -> Self {
        let mut view = self.clone();
        view.calls.cursor = cursor;
        view
    }
}

#[cfg(test)]
mod properties {
    //! Whatever a URL holds, the parsers answer — a value or a 400 — and never panic.

    use proptest::prelude::*;

    use super::*;

    /// Date-ish text: mostly near-misses of the accepted forms, at their edges.
    fn instant_text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[+-]?[0-9]{1,6}-[0-9]{1,2}-[0-9]{1,2}",
            "[+-]?[0-9]{4,6}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9](\\.[0-9]{1,12})?(Z|[+-][0-2][0-9]:[0-5][0-9])",
            Just("9999-12-31T23:59:59-01:00".to_owned()),
            Just("-0001-01-01".to_owned()),
            any::<String>(),
        ]
    }

    proptest! {
        #[test]
        fn every_filter_is_an_answer_or_a_400(
            from in proptest::option::of(instant_text()),
            to in proptest::option::of(instant_text()),
            phone in proptest::option::of(any::<String>()),
        ) {
            let query = CallsQuery { from, to, phone, ..CallsQuery::default() };
            match query.filter() {
                Ok(filter) => {
                    // What passes is something both databases can store and compare.
                    for at in [filter.from, filter.to].into_iter().flatten() {
                        prop_assert!((-9999..=9999).contains(&at.year()), "{at}");
                    }
                }
                Err(error) => prop_assert_eq!(error.status(), 400),
            }
        }

        #[test]
        fn the_page_address_reads_back_as_written(query in "[ -~]{0,120}") {
            let (page, _) = PageQuery::parse(&query);
            let (again, problems) = PageQuery::parse(&page.to_query_string());
            prop_assert_eq!(again, page);
            prop_assert!(problems.is_empty(), "{problems:?}");
        }

        #[test]
        fn any_cursor_decodes_or_is_refused(cursor in any::<String>()) {
            if let Some((at, id)) = decode_cursor(&cursor) {
                prop_assert_eq!(decode_cursor(&encode_cursor(at, &id)), Some((at, id)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dto::{call_filter::CallFilter, dashboard::CallSummary, error::DataError};

    #[test]
    fn blank_values_are_no_filter() {
        let query: CallsQuery =
            serde_urlencoded::from_str("status=&outcome=&direction=&phone=&from=&to=&limit=")
                .unwrap();
        assert_eq!(query, CallsQuery::default());
        let query: PeriodQuery = serde_urlencoded::from_str("hours=%20&user_id=").unwrap();
        assert_eq!(query, PeriodQuery::default());
    }

    #[test]
    fn dates_are_midnight_utc_and_years_have_four_digits() {
        let filter = |from: &str| {
            CallsQuery {
                from: Some(from.to_owned()),
                ..CallsQuery::default()
            }
            .filter()
        };
        assert_eq!(
            filter("2026-01-02").unwrap().from,
            Some(time::macros::datetime!(2026-01-02 00:00 UTC))
        );
        assert_eq!(
            filter("2026-01-02T05:30:00+01:00").unwrap().from,
            Some(time::macros::datetime!(2026-01-02 04:30 UTC))
        );
        for refused in [
            "-0001-01-01",
            "+2026-01-01",
            "2026-02-30",
            "2026-1-2",
            "20260102",
        ] {
            let error = filter(refused).unwrap_err();
            assert_eq!(error.status(), 400, "{refused}");
        }
    }

    #[test]
    fn values_parse_and_bad_ones_name_themselves() {
        let query: CallsQuery =
            serde_urlencoded::from_str("status=ended&outcome=no_answer&direction=inbound&limit=5")
                .unwrap();
        assert_eq!(query.status, Some(CallStatus::Ended));
        assert_eq!(query.outcome, Some(Outcome::NoAnswer));
        assert_eq!(query.direction, Some(Direction::Inbound));
        assert_eq!(query.limit, Some(5));
        let error = serde_urlencoded::from_str::<CallsQuery>("status=maybe").unwrap_err();
        assert!(error.to_string().contains("maybe"), "{error}");
    }

    fn call(
        status: &str,
        outcome: Option<&str>,
        phone: &str,
        started: OffsetDateTime,
    ) -> CallSummary {
        CallSummary {
            id: "c".into(),
            user_id: "t".into(),
            agent_config_id: None,
            phone_number: Some(phone.into()),
            started_at: started,
            ended_at: None,
            livekit_room_name: None,
            livekit_room_sid: None,
            direction: Some("inbound".into()),
            status: Some(status.into()),
            outcome: outcome.map(str::to_owned),
            duration: None,
            sip_call_id: None,
            recording_url: None,
            call_metadata: None,
            last_heartbeat_at: None,
        }
    }

    #[test]
    fn filters_check_their_values_and_match_calls() {
        let at = time::macros::datetime!(2026-11-21 10:00 UTC);
        let query = |text: &str| serde_urlencoded::from_str::<CallsQuery>(text).unwrap();
        let filter = query("status=ended&outcome=completed&phone=%2B1%20(555)&from=2026-11-21")
            .filter()
            .unwrap();
        assert_eq!(filter.phone.as_deref(), Some("+1555"));
        assert!(filter.matches(&call("ended", Some("completed"), "+15550001", at)));
        assert!(!filter.matches(&call("active", None, "+15550001", at)));
        assert!(!filter.matches(&call("ended", Some("busy"), "+15550001", at)));
        assert!(!filter.matches(&call("ended", Some("completed"), "+4455", at)));
        assert!(!filter.matches(&call(
            "ended",
            Some("completed"),
            "+15550001",
            at - time::Duration::days(1)
        )));
        // `to` is exclusive; a date is midnight UTC.
        let until = query("to=2026-11-21T10:00:00Z").filter().unwrap();
        assert!(!until.matches(&call("ended", None, "1", at)));
        assert!(until.matches(&call("ended", None, "1", at - time::Duration::SECOND)));

        let error = |text: &str| query(text).filter().unwrap_err();
        assert_eq!(
            error("phone=abc"),
            DataError::invalid("phone", "expected digits, optionally after a +")
        );
        assert!(
            matches!(error("from=yesterday"), DataError::Invalid { field, .. } if field == "from")
        );
        assert!(
            matches!(error("from=2026-11-21&to=2026-11-20"), DataError::Invalid { field, .. } if field == "to")
        );
        assert_eq!(query("").filter().unwrap(), CallFilter::default());
        assert!(
            matches!(error("to=9999-12-31T23:59:59-01:00"), DataError::Invalid { field, .. } if field == "to")
        );
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let started_at = time::macros::datetime!(2026-11-21 12:34:56.789 UTC);
        let (at, id) = decode_cursor(&encode_cursor(started_at, "call:1")).unwrap();
        assert_eq!((at, id.as_str()), (started_at, "call:1"));
        assert_eq!(decode_cursor("!!"), None);
        use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
        assert_eq!(decode_cursor(&URL_SAFE_NO_PAD.encode("x:y")), None);
    }

    #[test]
    fn the_page_url_round_trips() {
        let (view, problems) =
            PageQuery::parse("period=6h&status=ended&phone=%2B1555&outcome=&cursor=abc");
        assert!(problems.is_empty());
        assert_eq!(view.period(), Period::SixHours);
        assert_eq!(view.calls.status, Some(CallStatus::Ended));
        assert_eq!(view.calls.phone.as_deref(), Some("+1555"));
        assert_eq!(view.calls.outcome, None);
        let (again, _) = PageQuery::parse(&view.to_query_string());
        assert_eq!(again, view);
        assert_eq!(PageQuery::default().to_query_string(), "");
    }

    #[test]
    fn a_bad_page_parameter_is_reported_and_the_rest_kept() {
        let (view, problems) = PageQuery::parse("status=maybe&direction=inbound&period=2h");
        assert_eq!(view.calls.direction, Some(Direction::Inbound));
        assert_eq!(view.calls.status, None);
        assert_eq!(view.period, None);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("period") && problems[1].starts_with("status"));
    }
}
