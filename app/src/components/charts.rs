//! The two charts, drawn with plain HTML and CSS so they are there in the first HTML, without
//! JavaScript, and readable by screen readers: calls per hour as columns (with the numbers in a
//! table one click away), outcomes as a table whose rows carry their own bar.

use std::collections::BTreeMap;

use leptos::prelude::*;
use time::{PrimitiveDateTime, macros::format_description};

use crate::{clock::Clock, components::panel::Empty};

/// Calls started per hour of the period; every hour present (zero-filled by the server).
#[component]
pub fn CallsPerHourChart(
    /// `"YYYY-MM-DD HH:00"` (UTC) → calls.
    #[prop(into)]
    hours: Signal<BTreeMap<String, i64>>,
    clock: Clock,
) -> impl IntoView {
    move || {
        let hours = hours.get();
        let total: i64 = hours.values().sum();
        if total == 0 {
            return view! { <Empty message="No calls in this period." /> }.into_any();
        }
        let peak = hours.values().copied().max().unwrap_or(1).max(1);
        let labelled: Vec<(String, i64)> = hours
            .iter()
            .map(|(key, calls)| (hour_label(key, &clock), *calls))
            .collect();
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
    }
}

/// `"2026-11-21 14:00"` (UTC) as the hour in the shown zone, `"14:00"`; a day's first hour
/// carries its date, `"21 Nov 00:00"`.
fn hour_label(key: &str, clock: &Clock) -> String {
    let Ok(hour) = PrimitiveDateTime::parse(
        key,
        format_description!("[year]-[month]-[day] [hour]:[minute]"),
    ) else {
        return key.to_owned();
    };
    let local = hour.assume_utc().to_offset(clock.offset.get());
    let format = if local.hour() == 0 {
        format_description!("[day] [month repr:short] [hour]:[minute]")
    } else {
        format_description!("[hour]:[minute]")
    };
    local.format(format).unwrap_or_else(|_| key.to_owned())
}

/// Ended calls per outcome, largest first, each row with its share as a bar.
#[component]
pub fn OutcomeChart(#[prop(into)] outcomes: Signal<BTreeMap<String, i64>>) -> impl IntoView {
    move || {
        let mut outcomes: Vec<(String, i64)> = outcomes.get().into_iter().collect();
        let total: i64 = outcomes.iter().map(|(_, count)| count).sum();
        if total == 0 {
            return view! { <Empty message="No finished calls in this period." /> }.into_any();
        }
        outcomes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
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
    }
}
