//! The live calls panel's table: every tenant's live calls with their heartbeat health.

use leptos::prelude::*;

use crate::{
    clock::{Clock, duration},
    components::{panel::Empty, started_cell::StartedCell},
    dto::{admin::LiveCallHealth, calls::HeartbeatHealth},
};

/// Live calls across tenants: stale first and called out, with ticking ages.
#[component]
pub fn LiveCallsTable(calls: Signal<Vec<LiveCallHealth>>, clock: Clock) -> impl IntoView {
    let stale = move || {
        calls.with(|calls| {
            calls
                .iter()
                .filter(|call| call.health == HeartbeatHealth::Stale)
                .count()
        })
    };
    view! {
        <Show
            when=move || calls.with(|calls| !calls.is_empty())
            fallback=|| view! { <Empty message="No live calls right now." /> }
        >
            <Show when=move || { stale() > 0 }>
                <p class="ops-callout" data-testid="stale-callout">
                    {move || {
                        let stale = stale();
                        format!(
                            "■ {stale} call{} stopped sending heartbeats: stale",
                            if stale == 1 { "" } else { "s" },
                        )
                    }}
                </p>
            </Show>
            <div class="table-scroll">
                <table class="rows" data-testid="live-calls">
                    <thead>
                        <tr>
                            <th scope="col">"Health"</th>
                            <th scope="col">"Tenant"</th>
                            <th scope="col">"Phone"</th>
                            <th scope="col">"Agent"</th>
                            <th scope="col">"Started"</th>
                            <th scope="col" class="num">"Duration"</th>
                            <th scope="col" class="num">"Last heartbeat"</th>
                        </tr>
                    </thead>
                    <tbody>
                        <For
                            each=move || calls.get()
                            key=|call| (call.call.id.clone(), call.health, call.last_heartbeat_at)
                            let(call)
                        >
                            <LiveCallRow call clock />
                        </For>
                    </tbody>
                </table>
            </div>
        </Show>
    }
}

#[component]
pub fn LiveCallRow(call: LiveCallHealth, clock: Clock) -> impl IntoView {
    let started_at = call.call.started_at;
    let heard_at = call.last_heartbeat_at.unwrap_or(started_at);
    let health = call.health;
    view! {
        <tr data-call-id=call.call.id.clone() data-health=health.label()>
            <td data-label="Health" class="health" data-tone=health.label()>
                <span aria-hidden="true">{health.icon()}</span>
                " "
                {health.label()}
            </td>
            <td data-label="Tenant">{call.business_name.clone()}</td>
            <td data-label="Phone" class="mono">
                {call.call.phone_number.clone().unwrap_or_else(|| "—".into())}
            </td>
            <td data-label="Agent">{call.call.agent_config_id.clone().unwrap_or_else(|| "—".into())}</td>
            <StartedCell id=call.call.id.clone() started_at clock />
            <td data-label="Duration" class="num">
                {move || duration(clock.seconds_since(started_at))}
            </td>
            <td data-label="Last heartbeat" class="num" data-testid="heartbeat-age">
                {move || format!("{} s ago", clock.seconds_since(heard_at))}
            </td>
        </tr>
    }
}
