//! `/dashboard/realtime`: the page frame — header with the connection badge, period selector,
//! metric cards and panels. Server-rendered so it is useful before the bundle arrives; live once
//! hydrated: the metric cards follow the live feed of `/ws`.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    components::{
        connection_badge::ConnectionBadge, metric_card::MetricCard, panel::Panel,
        period_selector::PeriodSelector,
    },
    dto::{
        dashboard::Metrics,
        live::{ConnectionState, LiveFeed},
        period::Period,
    },
    live_client, session,
};

#[component]
pub fn RealtimeDashboard() -> impl IntoView {
    let (connection, set_connection) = signal(ConnectionState::Connecting);
    let period = RwSignal::new(Period::default());
    let feed = RwSignal::new(LiveFeed::default());
    // Effects run only in the browser: this marks hydration and opens the live link.
    let (hydrated, set_hydrated) = signal(false);
    Effect::new(move |_| {
        set_hydrated.set(true);
        live_client::connect(set_connection, feed);
    });
    // The selected period's figures, once the live feed has them.
    let card = move |format: fn(&Metrics) -> String| {
        Signal::derive(move || {
            let hours = period.get().hours();
            feed.with(|feed| {
                feed.calls()?
                    .periods
                    .iter()
                    .find(|metrics| metrics.period_hours == hours)
                    .map(format)
            })
        })
    };

    view! {
        <Title text="Realtime calls · Switchboard" />
        <header class="topbar">
            <div class="topbar__brand">
                <span class="topbar__logo" aria-hidden="true">
                    "☎"
                </span>
                <h1 class="topbar__title">"Switchboard"</h1>
                <span class="topbar__subtitle">"Realtime calls"</span>
            </div>
            <div class="topbar__end">
                <ConnectionBadge state=connection />
                {session::current_identity()
                    .map(|identity| {
                        let scope = identity
                            .tenant
                            .clone()
                            .unwrap_or_else(|| "all tenants".to_owned());
                        view! {
                            <form class="topbar__session" method="post" action="/logout">
                                <span class="topbar__user" title=identity.subject.clone()>
                                    {scope}
                                </span>
                                <button type="submit" class="topbar__logout">
                                    <svg
                                        class="topbar__logout-icon"
                                        aria-hidden="true"
                                        viewBox="0 0 24 24"
                                        width="20"
                                        height="20"
                                        fill="none"
                                        stroke="currentColor"
                                        stroke-width="2"
                                        stroke-linecap="round"
                                        stroke-linejoin="round"
                                    >
                                        <path d="M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4" />
                                        <polyline points="16 17 21 12 16 7" />
                                        <line x1="21" y1="12" x2="9" y2="12" />
                                    </svg>
                                    <span class="topbar__logout-text">"Log out"</span>
                                </button>
                            </form>
                        }
                    })}
            </div>
        </header>
        <main class="dashboard" data-hydrated=move || hydrated.get().to_string()>
            <div class="toolbar">
                <PeriodSelector period />
                <p class="toolbar__note" data-testid="period-note">
                    "Showing the last "
                    {move || period.get().long_label()}
                </p>
            </div>
            <section class="metrics" aria-label="Call metrics">
                <MetricCard label="Total calls" id="total" value=card(|m| m.total_calls.to_string()) />
                <MetricCard label="Active now" id="active" value=card(|m| m.active_calls.to_string()) />
                <MetricCard label="Completed" id="completed" value=card(|m| m.completed_calls.to_string()) />
                <MetricCard
                    label="Avg duration"
                    id="average-duration"
                    value=card(|m| format!("{} s", m.average_duration))
                />
                <MetricCard
                    label="Success rate"
                    id="success-rate"
                    value=card(|m| format!("{} %", m.success_rate))
                />
            </section>
            <div class="panels">
                <Panel title="Active calls" id="active-calls" empty_message="No active calls right now." wide=true />
                <Panel title="Calls per hour" id="calls-per-hour" empty_message="No calls in this period." />
                <Panel title="Outcomes" id="outcomes" empty_message="No finished calls in this period." />
                <Panel title="Agent performance" id="agents" empty_message="No agent activity in this period." wide=true />
                <Panel title="Recent calls" id="recent-calls" empty_message="No calls yet." wide=true />
            </div>
        </main>
    }
}
