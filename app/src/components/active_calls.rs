//! Calls in progress, oldest first, with durations that tick every second in the browser.

use leptos::prelude::*;

use crate::{
    clock::{Clock, duration},
    components::{panel::Empty, started_cell::StartedCell},
    dto::dashboard::ActiveCall,
};

#[component]
pub fn ActiveCallsTable(
    #[prop(into)] calls: Signal<Vec<ActiveCall>>,
    /// Show each call's tenant (admins looking at every tenant).
    #[prop(into)]
    show_tenant: Signal<bool>,
    clock: Clock,
) -> impl IntoView {
    move || {
        let calls = calls.get();
        if calls.is_empty() {
            return view! { <Empty message="No active calls right now." /> }.into_any();
        }
        let tenant = show_tenant.get();
        view! {
            <div class="table-scroll">
                <table class="rows" data-testid="active-calls">
                    <thead>
                        <tr>
                            {tenant.then(|| view! { <th scope="col">"Tenant"</th> })}
                            <th scope="col">"Phone"</th>
                            <th scope="col">"Direction"</th>
                            <th scope="col">"Agent"</th>
                            <th scope="col">"Started"</th>
                            <th scope="col" class="num">"Duration"</th>
                        </tr>
                    </thead>
                    <tbody>
                        <For each=move || calls.clone() key=|call| call.id.clone() let(call)>
                            <ActiveCallRow call show_tenant=tenant clock />
                        </For>
                    </tbody>
                </table>
            </div>
        }
        .into_any()
    }
}

#[component]
fn ActiveCallRow(call: ActiveCall, show_tenant: bool, clock: Clock) -> impl IntoView {
    let started_at = call.started_at;
    view! {
        <tr data-call-id=call.id.clone()>
            {show_tenant
                .then(|| view! { <td data-label="Tenant">{call.user_id.clone()}</td> })}
            <td data-label="Phone" class="mono">
                {call.phone_number.clone().unwrap_or_else(|| "—".into())}
            </td>
            <td data-label="Direction">{call.direction.clone().unwrap_or_else(|| "—".into())}</td>
            <td data-label="Agent">{call.agent_config_id.clone().unwrap_or_else(|| "—".into())}</td>
            <StartedCell id=call.id.clone() started_at clock />
            <td data-label="Duration" class="num" data-testid="duration">
                {move || duration(clock.seconds_since(started_at))}
            </td>
        </tr>
    }
}
