//! A call list's filters, checked ([`CallsQuery::filter`]): one set of rules for what the
//! server's query selects and for which live calls the page shows in a filtered list. A date
//! means midnight in the query's `tz` (UTC without one), found by [`crate::zone::Zone`].

use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use super::{
    dashboard::CallSummary,
    error::DataError,
    ingest::{Direction, Outcome},
    query::{CallStatus, CallsQuery},
    search::Search,
};
use crate::zone::Zone;

/// A call list's filters, checked: what the server's query selects, and what the page matches a
/// live call against before showing it in a filtered list. One set of rules for both.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallFilter {
    pub status: Option<CallStatus>,
    pub outcome: Option<Outcome>,
    pub direction: Option<Direction>,
    /// Digits, optionally after a `+`, that the phone number contains.
    pub phone: Option<String>,
    pub search: Option<Search>,
    pub agent: Option<String>,
    /// Started at or after (UTC).
    pub from: Option<OffsetDateTime>,
    /// Started before (UTC).
    pub to: Option<OffsetDateTime>,
}

impl CallFilter {
    /// Whether `call` is one the filter selects.
    pub fn matches(&self, call: &CallSummary) -> bool {
        let text_is = |value: &Option<String>, wanted: Option<&str>| {
            wanted.is_none_or(|wanted| value.as_deref() == Some(wanted))
        };
        text_is(&call.status, self.status.map(CallStatus::as_str))
            && text_is(&call.outcome, self.outcome.map(Outcome::as_str))
            && text_is(&call.direction, self.direction.map(Direction::as_str))
            && self.phone.as_deref().is_none_or(|phone| {
                call.phone_number
                    .as_deref()
                    .is_some_and(|number| number.contains(phone))
            })
            && self
                .search
                .as_ref()
                .is_none_or(|search| search.matches(call))
            && self
                .agent
                .as_deref()
                .is_none_or(|agent| call.agent_config_id.as_deref() == Some(agent))
            && self.from.is_none_or(|from| call.started_at >= from)
            && self.to.is_none_or(|to| call.started_at < to)
    }
}

/// A `from`/`to` value: an RFC 3339 time, or a date (its midnight in `zone`, which is checked
/// only then: a zone the server cannot name fails only a filter that needs it).
fn instant(
    field: &str,
    value: Option<&str>,
    zone: &Result<Zone, DataError>,
) -> Result<Option<OffsetDateTime>, DataError> {
    let Some(value) = value.map(str::trim).filter(|value| !value.is_empty()) else {
        return Ok(None);
    };
    if let Ok(at) = OffsetDateTime::parse(value, &Rfc3339) {
        // Checked: the last instants of year 9999 at a negative offset have no UTC form.
        return at
            .checked_to_offset(time::UtcOffset::UTC)
            .map(Some)
            .ok_or_else(|| DataError::invalid(field, "out of range"));
    }
    // A date is read as the RFC 3339 time of its midnight UTC (one parser for both forms; see
    // `clock::day` on why not a format description). So a year has four digits and no sign:
    // `-0001-01-01` and `+2026-01-01` are 400s, as RFC 3339 would have them.
    let date = OffsetDateTime::parse(&format!("{value}T00:00:00Z"), &Rfc3339)
        .map_err(|_| DataError::invalid(field, "expected an RFC 3339 time or a YYYY-MM-DD date"))?
        .date();
    zone.clone()?
        .midnight(date)
        .map(Some)
        .ok_or_else(|| DataError::invalid(field, "out of range in the time zone"))
}

impl CallsQuery {
    /// The filters, checked, each date-only `from` / `to` at its midnight in `tz` (UTC without
    /// one): a 400 naming the field that is wrong (`tz` only when a date needs it).
    pub fn filter(&self) -> Result<CallFilter, DataError> {
        let zone = match self.tz.as_deref() {
            // Past its documented length a `tz` is refused whatever the dates.
            Some(name) => Zone::named(Zone::bounded(name)?),
            None => Ok(Zone::default()),
        };
        let phone = super::search::phone_filter(self.phone.as_deref())?;
        let agent = super::search::agent_filter(self.agent.as_deref())?;
        let filter = CallFilter {
            status: self.status,
            outcome: self.outcome,
            direction: self.direction,
            phone,
            search: Search::parse(self.q.as_deref().unwrap_or_default())?,
            agent,
            from: instant("from", self.from.as_deref(), &zone)?,
            to: instant("to", self.to.as_deref(), &zone)?,
        };
        if let (Some(from), Some(to)) = (filter.from, filter.to)
            && from >= to
        {
            return Err(DataError::invalid("to", "must be after from"));
        }
        Ok(filter)
    }
}
