//! Per-agent figures over the period, busiest first, with each agent's response time (from
//! bucketed histograms, so the table says how close its figures are).

use leptos::prelude::*;

use crate::{clock::duration, components::panel::Empty, dto::dashboard::AgentPerformance};

#[component]
pub fn AgentTable(#[prop(into)] agents: Signal<Vec<AgentPerformance>>) -> impl IntoView {
    move || {
        let agents = agents.get();
        if agents.is_empty() {
            return view! { <Empty message="No agent activity in this period." /> }.into_any();
        }
        let rows = agents
            .into_iter()
            .map(|agent| {
                let name = agent
                    .agent_name
                    .clone()
                    .or_else(|| agent.agent_config_id.clone())
                    .unwrap_or_else(|| "No agent".to_owned());
                let id = agent.agent_config_id.clone().unwrap_or_default();
                let row_id = id.clone();
                view! {
                    <tr data-agent=row_id>
                        <th scope="row" data-label="Agent">
                            {name}
                            {(agent.agent_name.is_some())
                                .then(|| view! { <span class="muted mono">" "{id}</span> })}
                        </th>
                        <td data-label="Calls" class="num">{agent.total_calls}</td>
                        <td data-label="Completed" class="num">{agent.completed_calls}</td>
                        <td data-label="Success rate" class="num">{format!("{} %", agent.success_rate)}</td>
                        <td data-label="Avg duration" class="num">
                            {duration(agent.average_duration.round() as i64)}
                        </td>
                        <td data-label="Response p50 / p95" class="num" data-testid="agent-latency">
                            {agent.response_latency.map_or_else(
                                || "—".to_owned(),
                                |latency| format!("{} / {} ms", latency.p50_ms, latency.p95_ms),
                            )}
                        </td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <div class="table-scroll">
                <table class="rows" data-testid="agents">
                    <thead>
                        <tr>
                            <th scope="col">"Agent"</th>
                            <th scope="col" class="num">"Calls"</th>
                            <th scope="col" class="num">"Completed"</th>
                            <th scope="col" class="num">"Success rate"</th>
                            <th scope="col" class="num">"Avg duration"</th>
                            <th scope="col" class="num">"Response p50 / p95"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            <p class="panel__note">
                "Response times: agent turns of the period's calls, counted in buckets 100 ms \
                 wide below 1 s, 250 ms to 3 s, then wider; each figure is its bucket's upper \
                 edge."
            </p>
        }
        .into_any()
    }
}
