//! `/dashboard/realtime`: the calls of the signed-in tenant (an admin: every tenant, or the one
//! in the URL), server-rendered with real data and live once hydrated.
//!
//! # Where each figure comes from
//! Every panel is loaded by its server function (a `Resource`), so the first HTML carries the
//! numbers and hydration reuses them without asking again. The view — period, filters, page —
//! is the URL ([`PageQuery`]): links and a GET form change it, with or without JavaScript.
//!
//! Once hydrated, the live link's feed holds the room's state, kept gap-free by sequence
//! numbers: the metric cards and the active calls show the feed as soon as it has them. What
//! the feed does not hold is patched from its messages, never refetched wholesale:
//! - a call event updates the recent calls in place (when the call matches the filters);
//! - a metrics update (coalesced by the server, at most one a second) says whether the
//!   calls-per-hour chart and the agent table changed; only then are those two asked again;
//! - a snapshot (first connection, or after a gap the server could not replay) is compared
//!   with what the page shows, and only if they differ is the rest asked again.

mod live;

use std::rc::Rc;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_location;
use time::OffsetDateTime;

use self::live::{Live, RecentPatches};
use crate::{
    clock::Clock,
    components::{
        active_calls::ActiveCallsTable,
        agent_table::AgentTable,
        charts::{CallsPerHourChart, OutcomeChart},
        connection_badge::ConnectionBadge,
        metric_card::MetricCard,
        panel::{Failed, Loading, Panel},
        period_selector::PeriodSelector,
        recent_calls::{CallFilters, RecentCallsTable, export_href},
    },
    dto::{
        auth::Permission,
        dashboard::Metrics,
        live::{ServerMessage, SocketQuery},
        query::PageQuery,
    },
    live::{ConnectionState, LiveFeed, client as live_client},
    ops, server_fns, session,
};

#[component]
pub fn RealtimeDashboard() -> impl IntoView {
    let location = use_location();
    let parsed = Memo::new(move |_| {
        location
            .search
            .with(|search| PageQuery::parse(search.trim_start_matches('?')))
    });
    let clock = Clock::start();
    // The address carries no zone: dates in the filters are the viewer's days.
    let view = Memo::new(move |_| {
        let mut view = parsed.with(|(view, _)| view.clone());
        view.calls.tz = clock.zone.read().tz_param();
        view
    });
    let problems = Memo::new(move |_| parsed.with(|(_, problems)| problems.clone()));
    let identity = session::current_identity();
    let role = identity.as_ref().map(|identity| identity.role);
    // The platform's roles looking at every tenant see whose each call is.
    let every_tenant = role.is_some_and(|role| role.allows(Permission::ReadAllTenants));
    let show_tenant =
        Signal::derive(move || every_tenant && view.with(|v| v.calls.user_id.is_none()));

    let metrics = Resource::new(move || view.get().period_query(), server_fns::metrics);
    let active = Resource::new(move || view.get().tenant_query(), server_fns::active_calls);
    let hourly = Resource::new(
        move || view.get().period_query(),
        server_fns::calls_per_hour,
    );
    let agents = Resource::new(
        move || view.get().period_query(),
        server_fns::agent_performance,
    );
    let recent = Resource::new(move || view.get().calls, server_fns::recent_calls);

    // The live link (browser only: Effects do not run on the server).
    let (connection, set_connection) = signal(ConnectionState::Connecting);
    let feed = RwSignal::new(LiveFeed::default());
    let last_update = RwSignal::new(None::<OffsetDateTime>);
    let patches = RwSignal::new(RecentPatches::default());
    let audit_live = RwSignal::new(Vec::new());
    let (hydrated, set_hydrated) = signal(false);
    let live = Live {
        view,
        metrics,
        hourly,
        agents,
        recent,
        patches,
        agents_basis: StoredValue::new(None),
        audit_live,
        last_update,
        clock,
    };
    Effect::new(move |_| {
        set_hydrated.set(true);
        let user_id = view.with_untracked(|view| view.calls.user_id.clone());
        live_client::connect(
            SocketQuery {
                user_id,
                ..SocketQuery::default()
            },
            set_connection,
            feed,
            Rc::new(move |message: &ServerMessage| live.receive(message)),
        );
    });

    // The selected period's figures: the feed's once it has them, else the loaded ones.
    let live_metrics = move || {
        let hours = view.with(|view| view.period().hours());
        feed.with(|feed| {
            feed.calls()?
                .periods
                .iter()
                .find(|metrics| metrics.period_hours == hours)
                .cloned()
        })
    };
    // Read inside a Transition: the loaded value is always read, so the Transition waits for it.
    let shown_metrics = move || {
        let loaded = metrics
            .get()
            .map(|loaded| loaded.map(|response| response.metrics));
        live_metrics().map(Ok).or(loaded)
    };
    let live_active =
        move || feed.with(|feed| feed.calls().map(|calls| calls.active_calls.clone()));
    let updated = Signal::derive(move || last_update.get().map(|at| clock.time_of(at)));
    let (tenant_picker, ops_cards) = ops::board(role, view, feed, audit_live, clock).unzip();
    let scope_label = identity.as_ref().map(|identity| {
        identity
            .tenant
            .clone()
            .unwrap_or_else(|| "all tenants".to_owned())
    });
    let subject = identity.map(|identity| identity.subject);
    let role_words = role.map(|role| format!("{}: {}", role.as_str(), role.describe()));
    let manages_users = role.is_some_and(|role| {
        role.allows(Permission::ManageUsers) || role.allows(Permission::ManageTenantUsers)
    });

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
                <ConnectionBadge state=connection updated />
                {scope_label
                    .map(|scope| {
                        view! {
                            <div class="topbar__session">
                                <details class="topbar__account">
                                    <summary class="topbar__user" title=subject.clone()>
                                        <span class="topbar__user-text">{scope}</span>
                                        <svg
                                            class="topbar__user-icon"
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
                                            <circle cx="12" cy="8" r="4" />
                                            <path d="M4 21a8 8 0 0 1 16 0" />
                                        </svg>
                                    </summary>
                                    <form
                                        class="topbar__menu"
                                        method="post"
                                        action="/logout"
                                    >
                                        <p class="topbar__menu-who">{subject.clone()}</p>
                                        <p class="topbar__menu-note" data-testid="account-role">
                                            {role_words.clone()}
                                        </p>
                                        <a class="topbar__menu-link" href="/account" rel="external">
                                            "Your account and password"
                                        </a>
                                        {manages_users
                                            .then(|| {
                                                view! {
                                                    <a class="topbar__menu-link" href="/users" rel="external">
                                                        "Users"
                                                    </a>
                                                }
                                            })}
                                        <input type="hidden" name="everywhere" value="1" />
                                        <button type="submit" class="topbar__menu-action">
                                            "Log out everywhere"
                                        </button>
                                        <p class="topbar__menu-note">
                                            "Ends your sessions on every device and in every script."
                                        </p>
                                    </form>
                                </details>
                                <form method="post" action="/logout">
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
                            </div>
                        }
                    })}
            </div>
        </header>
        <main class="dashboard" data-hydrated=move || hydrated.get().to_string()>
            <div class="toolbar">
                <PeriodSelector view />
                {tenant_picker}
                <p class="toolbar__note" data-testid="period-note">
                    "Showing the last "
                    {move || view.get().period().long_label()}
                    ", times in "
                    <span data-testid="shown-zone">{move || clock.zone()}</span>
                    " ("
                    <a href="/account#zone" rel="external">"change"</a>
                    ")"
                </p>
            </div>
            {move || {
                let problems = problems.get();
                (!problems.is_empty())
                    .then(|| {
                        view! {
                            <p class="notice" role="alert" data-testid="query-problems">
                                "Ignored in the address: "
                                {problems.join("; ")}
                            </p>
                        }
                    })
            }}
            {ops_cards}
            <Transition fallback=|| view! { <MetricCards metrics=None /> }>
                {move || match shown_metrics() {
                    Some(Ok(shown)) => view! { <MetricCards metrics=Some(shown) /> }.into_any(),
                    Some(Err(error)) => {
                        view! {
                            <MetricCards metrics=None />
                            <Failed error />
                        }
                            .into_any()
                    }
                    None => view! { <MetricCards metrics=None /> }.into_any(),
                }}
            </Transition>
            <div class="panels">
                <Panel title="Active calls" id="active-calls" wide=true>
                    <Transition fallback=Loading>
                        {move || {
                            let calls = match (live_active(), active.get()) {
                                (Some(live), _) => live,
                                (None, Some(Ok(loaded))) => loaded.active_calls,
                                (None, Some(Err(error))) => return view! { <Failed error /> }.into_any(),
                                (None, None) => Vec::new(),
                            };
                            view! { <ActiveCallsTable calls show_tenant clock /> }.into_any()
                        }}
                    </Transition>
                </Panel>
                <Panel title="Calls per hour" id="calls-per-hour">
                    // The chart stays mounted while its figures change, so its canvas is
                    // updated in place rather than drawn again.
                    <Transition fallback=Loading>
                        {move || hourly.get().and_then(Result::err).map(|error| view! { <Failed error /> })}
                        <div hidden=move || hourly.with(|loaded| matches!(loaded, Some(Err(_))))>
                            <CallsPerHourChart
                                hours=Signal::derive(move || {
                                    hourly.get().and_then(Result::ok).map(|loaded| loaded.data).unwrap_or_default()
                                })
                                clock
                            />
                        </div>
                    </Transition>
                </Panel>
                <Panel title="Outcomes" id="outcomes">
                    <Transition fallback=Loading>
                        {move || shown_metrics().and_then(Result::err).map(|error| view! { <Failed error /> })}
                        <div hidden=move || matches!(shown_metrics(), Some(Err(_)))>
                            <OutcomeChart outcomes=Signal::derive(move || {
                                shown_metrics().and_then(Result::ok).map(|shown| shown.outcome_counts).unwrap_or_default()
                            }) />
                        </div>
                    </Transition>
                </Panel>
                <Panel title="Agent performance" id="agents" wide=true>
                    <Transition fallback=Loading>
                        {move || {
                            agents
                                .get()
                                .map(|loaded| match loaded {
                                    Ok(loaded) => view! { <AgentTable agents=loaded.agents /> }.into_any(),
                                    Err(error) => view! { <Failed error /> }.into_any(),
                                })
                        }}
                    </Transition>
                </Panel>
                <Panel
                    title="Recent calls"
                    id="recent-calls"
                    wide=true
                    actions=move || {
                        view! {
                            <a
                                class="button"
                                href=move || export_href(&view.get())
                                download
                                rel="external"
                                data-testid="export-csv"
                            >
                                "Export CSV"
                            </a>
                        }
                    }
                >
                    <CallFilters view />
                    <Transition fallback=Loading>
                        {move || {
                            recent
                                .get()
                                .map(|loaded| match loaded {
                                    Ok(loaded) => {
                                        let page = Signal::derive(move || {
                                            patches.with(|patches| view.with(|view| patches.apply(&loaded, view)))
                                        });
                                        view! { <RecentCallsTable view page show_tenant clock /> }.into_any()
                                    }
                                    Err(error) => view! { <Failed error /> }.into_any(),
                                })
                        }}
                    </Transition>
                </Panel>
            </div>
        </main>
    }
}

/// The five headline numbers; em dashes while there are none.
#[component]
fn MetricCards(metrics: Option<Metrics>) -> impl IntoView {
    let card = |format: fn(&Metrics) -> String| metrics.as_ref().map(format);
    view! {
        <section class="metrics" aria-labelledby="metrics-heading">
            // The cards' labels are h3s: the section heading keeps the outline in order.
            <h2 id="metrics-heading" class="visually-hidden">
                "Call metrics"
            </h2>
            <MetricCard label="Total calls" id="total" value=card(|m| m.total_calls.to_string()) />
            <MetricCard label="Active now" id="active" value=card(|m| m.active_calls.to_string()) />
            <MetricCard label="Completed" id="completed" value=card(|m| m.completed_calls.to_string()) />
            <MetricCard
                label="Avg duration"
                id="average-duration"
                value=card(|m| crate::clock::duration(m.average_duration.round() as i64))
            />
            <MetricCard label="Success rate" id="success-rate" value=card(|m| format!("{} %", m.success_rate)) />
        </section>
    }
}
