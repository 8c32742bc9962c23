//! The two charts. Each is first plain HTML and CSS, so it is in the first HTML, works without
//! JavaScript and reads well to screen readers: calls per hour as columns (with the numbers in a
//! table one click away), outcomes as a table whose rows carry their own bar. Once the page is
//! hydrated, ECharts draws the same figures on a canvas (`crate::echarts`) that stays mounted
//! while the figures change, and the CSS columns step aside.

use std::collections::BTreeMap;

use leptos::{html::Div, prelude::*};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use crate::{
    clock::Clock,
    components::panel::Empty,
    echarts::{self, ChartSpec, Slice},
};

/// Calls started per hour of the period; every hour present (zero-filled by the server).
#[component]
pub fn CallsPerHourChart(
    /// `"YYYY-MM-DD HH:00"` (UTC) → calls.
    #[prop(into)]
    hours: Signal<BTreeMap<String, i64>>,
    clock: Clock,
) -> impl IntoView {
    let labelled = Memo::new(move |_| {
        hours
            .get()
            .iter()
            .map(|(key, calls)| (hour_label(key, &clock), *calls))
            .collect::<Vec<_>>()
    });
    let spec = Signal::derive(move || {
        let (labels, values) = labelled.get().into_iter().unzip();
        ChartSpec::Columns {
            series: "Calls",
            labels,
            values,
        }
    });
    let figures = move || {
        let labelled = labelled.get();
        let total: i64 = labelled.iter().map(|(_, calls)| calls).sum();
        if total == 0 {
            return view! { <Empty message="No calls in this period." /> }.into_any();
        }
        let peak = labelled
            .iter()
            .map(|(_, calls)| *calls)
            .max()
            .unwrap_or(1)
            .max(1);
        let busiest = labelled
            .iter()
            .max_by_key(|(_, calls)| *calls)
            .map(|(hour, calls)| format!("busiest {hour} ({calls})"))
            .unwrap_or_default();
        let summary = format!(
            "Calls per hour: {total} calls over {} hours, {busiest}",
            labelled.len()
        );
        // Axis labels on about six columns, whatever the period.
        let every = labelled.len().div_ceil(6).max(1);
        let columns = labelled
            .iter()
            .enumerate()
            .map(|(at, (hour, calls))| {
                let height = format!("height: {:.1}%", *calls as f64 / peak as f64 * 100.0);
                // The axis has room for the hour only; the date stays in the title and table.
                let axis =
                    (at % every == 0).then(|| hour.rsplit(' ').next().unwrap_or(hour).to_owned());
                view! {
                    <div class="columns__column" title=format!("{hour}: {calls}")>
                        <div class="columns__bar" style=height></div>
                        <span class="columns__axis">{axis}</span>
                    </div>
                }
            })
            .collect_view();
        let rows = labelled
            .into_iter()
            .map(|(hour, calls)| {
                view! {
                    <tr>
                        <th scope="row">{hour}</th>
                        <td class="num">{calls}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <figure class="chart" data-testid="calls-per-hour" data-total=total>
                <div class="columns" role="img" aria-label=summary.clone()>
                    {columns}
                </div>
                <figcaption class="chart__caption">{summary}</figcaption>
                <details class="chart__data">
                    <summary>"Show as a table"</summary>
                    <table class="rows rows--compact">
                        <thead>
                            <tr>
                                <th scope="col">{move || format!("Hour ({})", clock.zone())}</th>
                                <th scope="col" class="num">"Calls"</th>
                            </tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                </details>
            </figure>
        }
        .into_any()
    };
    view! { <ChartFrame kind="columns" testid="calls-per-hour-canvas" spec>{figures}</ChartFrame> }
}

/// `"2026-11-21 14:00"` (UTC) as the hour's local start in the shown zone, `"14:00"` (or
/// `"19:30"` in Kolkata); a day's first hour carries its date, `"21 Nov 00:00"`.
fn hour_label(key: &str, clock: &Clock) -> String {
    // The key is an RFC 3339 time without its `T`, seconds and zone (see `clock::day` on why
    // not a format description).
    let Ok(hour) = OffsetDateTime::parse(&format!("{}:00Z", key.replacen(' ', "T", 1)), &Rfc3339)
    else {
        return key.to_owned();
    };
    let local = clock.zone.read().local(hour);
    let (hour, minute, _) = local.to_hms();
    if hour == 0 {
        let month = local.month().to_string();
        let short = month.get(..3).unwrap_or(&month);
        format!("{:02} {short} {hour:02}:{minute:02}", local.day())
    } else {
        format!("{hour:02}:{minute:02}")
    }
}

/// Ended calls per outcome, largest first, each row with its share as a bar.
#[component]
pub fn OutcomeChart(#[prop(into)] outcomes: Signal<BTreeMap<String, i64>>) -> impl IntoView {
    let sorted = Memo::new(move |_| {
        let mut outcomes: Vec<(String, i64)> = outcomes.get().into_iter().collect();
        outcomes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        outcomes
    });
    let spec = Signal::derive(move || ChartSpec::Shares {
        series: "Outcomes",
        slices: sorted
            .get()
            .into_iter()
            .map(|(key, value)| Slice {
                label: key.replace('_', " "),
                key,
                value,
            })
            .collect(),
    });
    let figures = move || {
        let outcomes = sorted.get();
        let total: i64 = outcomes.iter().map(|(_, count)| count).sum();
        if total == 0 {
            return view! { <Empty message="No finished calls in this period." /> }.into_any();
        }
        let rows = outcomes
            .into_iter()
            .map(|(outcome, count)| {
                let share = count as f64 / total as f64 * 100.0;
                let width = format!("width: {share:.1}%");
                let label = outcome.replace('_', " ");
                let row_outcome = outcome.clone();
                view! {
                    <tr data-outcome=row_outcome>
                        <th scope="row">{label}</th>
                        <td class="num">{count}</td>
                        <td class="num">{format!("{share:.0} %")}</td>
                        <td class="share" aria-hidden="true">
                            <span class="share__bar" data-outcome=outcome style=width></span>
                        </td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <table class="rows rows--compact outcomes" data-testid="outcomes" data-total=total>
                <caption class="visually-hidden">"Finished calls by outcome"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Outcome"</th>
                        <th scope="col" class="num">"Calls"</th>
                        <th scope="col" class="num">"Share"</th>
                        <th scope="col" class="share">
                            <span class="visually-hidden">"Bar"</span>
                        </th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        }
        .into_any()
    };
    view! { <ChartFrame kind="shares" testid="outcomes-canvas" spec>{figures}</ChartFrame> }
}

/// The canvas ECharts draws `spec` on (hidden while it has no figures), with the server's
/// rendering of the same figures (`children`), which steps aside once the canvas is drawn.
/// `kind` places the canvas: `columns` over the CSS columns, `shares` above the table.
#[component]
fn ChartFrame(
    kind: &'static str,
    testid: &'static str,
    spec: Signal<ChartSpec>,
    children: Children,
) -> impl IntoView {
    let canvas = NodeRef::<Div>::new();
    let drawn = echarts::draw(canvas, spec);
    view! {
        <div
            class="chart-frame"
            class:chart-frame--drawn=move || drawn.get()
            class:chart-frame--empty=move || spec.with(|spec| spec.total() == 0)
        >
            <div
                class=format!("chart-frame__canvas chart-frame__canvas--{kind}")
                data-testid=testid
                node_ref=canvas
                aria-hidden="true"
            ></div>
            {children()}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn clock(zone: &str) -> Clock {
        Clock::fixed(datetime!(2026-11-21 12:00 UTC), zone)
    }

    #[test]
    fn hours_are_labelled_in_the_shown_zone_with_the_date_at_midnight() {
        // Signals live in an owner's arena.
        let owner = Owner::new();
        owner.set();
        let utc = clock("UTC");
        assert_eq!(hour_label("2026-11-21 14:00", &utc), "14:00");
        assert_eq!(hour_label("2026-11-22 00:00", &utc), "22 Nov 00:00");
        let paris = clock("Europe/Paris");
        assert_eq!(hour_label("2026-11-21 14:00", &paris), "15:00");
        assert_eq!(hour_label("2026-12-31 23:00", &paris), "01 Jan 00:00");
        // Each hour at its own offset: Paris is UTC+2 in summer.
        assert_eq!(hour_label("2026-07-01 14:00", &paris), "16:00");
        // A half-hour zone: each bar starts at half past, the day's first at 00:30.
        let kolkata = clock("Asia/Kolkata");
        assert_eq!(hour_label("2026-11-21 14:00", &kolkata), "19:30");
        assert_eq!(hour_label("2026-11-21 19:00", &kolkata), "22 Nov 00:30");
        // Not an hour key: shown as it came.
        assert_eq!(hour_label("soon", &utc), "soon");
    }
}
