//! Recent calls: filters as a plain GET form (the view lives in the URL, so it works without
//! JavaScript and can be shared), the list newest first, paging by cursor links, and the CSV
//! export of everything the filters select.

use leptos::{html::Input, prelude::*};
use leptos_router::components::Form;

use crate::{
    clock::{Clock, duration},
    components::{panel::Empty, started_cell::StartedCell},
    dto::{
        dashboard::{CallSummary, RecentCallsResponse},
        ingest::{Direction, Outcome},
        query::{CallStatus, PageQuery},
    },
};

/// Where the CSV export of a view is downloaded from (every page, the filters applied, dates
/// in the view's zone).
pub fn export_href(view: &PageQuery) -> String {
    let mut filters = view.with_cursor(None);
    filters.period = None;
    filters.calls.limit = None;
    let mut query = form_urlencoded::Serializer::new(filters.to_query_string());
    if let Some(zone) = &view.calls.tz {
        query.append_pair("tz", zone);
    }
    format!("/api/dashboard/calls.csv?{}", query.finish())
}

#[component]
pub fn CallFilters(view: Memo<PageQuery>) -> impl IntoView {
    let current = move || view.get().calls;
    let option = |value: &'static str, label: String, selected: Signal<bool>| {
        view! {
            <option value=value selected=move || selected.get()>
                {label}
            </option>
        }
    };
    let status_options = CallStatus::ALL
        .into_iter()
        .map(|status| {
            option(
                status.as_str(),
                status.as_str().to_owned(),
                Signal::derive(move || current().status == Some(status)),
            )
        })
        .collect_view();
    let outcome_options = Outcome::ALL
        .into_iter()
        .map(|outcome| {
            option(
                outcome.as_str(),
                outcome.as_str().replace('_', " "),
                Signal::derive(move || current().outcome == Some(outcome)),
            )
        })
        .collect_view();
    let direction_options = [Direction::Inbound, Direction::Outbound]
        .into_iter()
        .map(|direction| {
            option(
                direction.as_str(),
                direction.as_str().to_owned(),
                Signal::derive(move || current().direction == Some(direction)),
            )
        })
        .collect_view();
    let text =
        move |pick: fn(&PageQuery) -> Option<String>| move || pick(&view.get()).unwrap_or_default();
    let (search, agent) = (NodeRef::new(), NodeRef::new());
    follow_view(search, text(|view| view.calls.q.clone()));
    follow_view(agent, text(|view| view.calls.agent.clone()));
    let (phone, from, to) = (NodeRef::new(), NodeRef::new(), NodeRef::new());
    follow_view(phone, text(|view| view.calls.phone.clone()));
    follow_view(from, text(|view| view.calls.from.clone()));
    follow_view(to, text(|view| view.calls.to.clone()));
    view! {
        <Form method="GET" action="" noscroll=true>
            <div class="filters" role="group" aria-label="Filter recent calls">
                <input type="hidden" name="period" value=move || view.get().period().key() />
                {move || {
                    view.get()
                        .calls
                        .user_id
                        .map(|tenant| view! { <input type="hidden" name="user_id" value=tenant /> })
                }}
                <PanelsKept view />
                <label class="field field--search">
                    <span class="field__label">"Find a call"</span>
                    <input
                        type="search"
                        name="q"
                        autocomplete="off"
                        maxlength="100"
                        placeholder="Call id, last 4+ digits of the number, room or SIP id"
                        data-testid="call-search"
                        node_ref=search
                        value=text(|view| view.calls.q.clone())
                    />
                </label>
                <label class="field">
                    <span class="field__label">"Agent"</span>
                    <input
                        type="search"
                        name="agent"
                        autocomplete="off"
                        maxlength="36"
                        placeholder="agent id"
                        node_ref=agent
                        value=text(|view| view.calls.agent.clone())
                    />
                </label>
                <label class="field">
                    <span class="field__label">"Status"</span>
                    <select name="status">
                        <option value="" selected=move || current().status.is_none()>
                            "Any"
                        </option>
                        {status_options}
                    </select>
                </label>
                <label class="field">
                    <span class="field__label">"Outcome"</span>
                    <select name="outcome">
                        <option value="" selected=move || current().outcome.is_none()>
                            "Any"
                        </option>
                        {outcome_options}
                    </select>
                </label>
                <label class="field">
                    <span class="field__label">"Direction"</span>
                    <select name="direction">
                        <option value="" selected=move || current().direction.is_none()>
                            "Any"
                        </option>
                        {direction_options}
                    </select>
                </label>
                <label class="field">
                    <span class="field__label">"Phone"</span>
                    <input
                        type="search"
                        name="phone"
                        inputmode="tel"
                        autocomplete="off"
                        placeholder="+1555…"
                        node_ref=phone
                        value=text(|view| view.calls.phone.clone())
                    />
                </label>
                <label class="field">
                    <span class="field__label">"Started from"</span>
                    <input
                        type="date"
                        name="from"
                        node_ref=from
                        value=text(|view| view.calls.from.clone())
                    />
                </label>
                <label class="field">
                    <span class="field__label">"Started before"</span>
                    <input
                        type="date"
                        name="to"
                        node_ref=to
                        value=text(|view| view.calls.to.clone())
                    />
                </label>
                <div class="filters__actions">
                    <button type="submit" class="button button--primary">
                        "Apply"
                    </button>
                    <a
                        class="button"
                        href=move || {
                            let mut cleared = PageQuery {
                                period: view.get().period,
                                ..PageQuery::default()
                            };
                            cleared.calls.user_id = view.get().calls.user_id;
                            cleared.panels = view.get().panels;
                            format!("?{}", cleared.to_query_string())
                        }
                    >
                        "Clear"
                    </a>
                </div>
            </div>
        </Form>
    }
}

/// The ops board's open panels, carried along by a GET form that changes the rest of the view.
#[component]
pub fn PanelsKept(view: Memo<PageQuery>) -> impl IntoView {
    move || {
        view.get()
            .panels_param()
            .map(|panels| view! { <input type="hidden" name="panels" value=panels /> })
    }
}

/// Keeps a text field showing the view's value when the view changes without a page load (a
/// link, the back button). Not when the page hydrates: whatever someone typed while the bundle
/// loaded stays in the field (the server's `value` attribute already shows the view).
fn follow_view(input: NodeRef<Input>, value: impl Fn() -> String + 'static) {
    Effect::watch(
        value,
        move |value, _, _| {
            if let Some(input) = input.get_untracked() {
                input.set_value(value);
            }
        },
        false,
    );
}

#[component]
pub fn RecentCallsTable(
    view: Memo<PageQuery>,
    #[prop(into)] page: Signal<RecentCallsResponse>,
    #[prop(into)] show_tenant: Signal<bool>,
    clock: Clock,
) -> impl IntoView {
    move || {
        let page = page.get();
        let filtered = view.with(|view| view.calls.is_filtered());
        let first_page = view.with(|view| view.calls.cursor.is_none());
        let pager = view! {
            <nav class="pager" aria-label="Recent calls pages">
                {(!first_page)
                    .then(|| {
                        view! {
                            <a class="button" href=move || format!("?{}", view.get().with_cursor(None).to_query_string())>
                                "← Newest"
                            </a>
                        }
                    })}
                {page
                    .next_cursor
                    .clone()
                    .map(|next| {
                        view! {
                            <a
                                class="button"
                                rel="next"
                                href=move || {
                                    format!("?{}", view.get().with_cursor(Some(next.clone())).to_query_string())
                                }
                            >
                                "Older →"
                            </a>
                        }
                    })}
            </nav>
        };
        if page.calls.is_empty() {
            let message = if filtered {
                "No calls match these filters."
            } else {
                "No calls yet."
            };
            return view! {
                <Empty message=message />
                {pager}
            }
            .into_any();
        }
        let tenant = show_tenant.get();
        view! {
            <div class="table-scroll">
                <table class="rows" data-testid="recent-calls">
                    <thead>
                        <tr>
                            {tenant.then(|| view! { <th scope="col">"Tenant"</th> })}
                            <th scope="col">"Started"</th>
                            <th scope="col">"Phone"</th>
                            <th scope="col">"Direction"</th>
                            <th scope="col">"Agent"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col">"Outcome"</th>
                            <th scope="col" class="num">"Duration"</th>
                        </tr>
                    </thead>
                    <tbody>
                        <For each=move || page.calls.clone() key=|call| call_key(call) let(call)>
                            <RecentCallRow call show_tenant=tenant clock />
                        </For>
                    </tbody>
                </table>
            </div>
            {pager}
        }
        .into_any()
    }
}

/// A row's identity for `<For>`: the call and what can change about it, so an ended call is
/// redrawn.
fn call_key(call: &CallSummary) -> (String, Option<String>, Option<String>, Option<i32>) {
    (
        call.id.clone(),
        call.status.clone(),
        call.outcome.clone(),
        call.duration,
    )
}

#[component]
fn RecentCallRow(call: CallSummary, show_tenant: bool, clock: Clock) -> impl IntoView {
    let started_at = call.started_at;
    let active = call.is_active();
    let status = if active {
        ("●", "active")
    } else {
        ("○", "ended")
    };
    let shown_duration = move || match (active, call.duration) {
        (true, _) => duration(clock.seconds_since(started_at)),
        (false, Some(seconds)) => duration(i64::from(seconds)),
        (false, None) => "—".to_owned(),
    };
    view! {
        <tr data-call-id=call.id.clone() data-status=status.1>
            {show_tenant
                .then(|| view! { <td data-label="Tenant">{call.user_id.clone()}</td> })}
            <StartedCell id=call.id.clone() started_at clock />
            <td data-label="Phone" class="mono">
                {call.phone_number.clone().unwrap_or_else(|| "—".into())}
            </td>
            <td data-label="Direction">{call.direction.clone().unwrap_or_else(|| "—".into())}</td>
            <td data-label="Agent">{call.agent_config_id.clone().unwrap_or_else(|| "—".into())}</td>
            <td data-label="Status">
                <span class="status" data-status=status.1>
                    <span aria-hidden="true">{status.0}" "</span>
                    {status.1}
                </span>
            </td>
            <td data-label="Outcome">
                {call.outcome.clone().map(|o| o.replace('_', " ")).unwrap_or_else(|| "—".into())}
            </td>
            <td data-label="Duration" class="num">{shown_duration}</td>
        </tr>
    }
}
