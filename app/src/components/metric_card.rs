//! One headline number with its label; shows an em dash until there is data.

use leptos::prelude::*;

#[component]
pub fn MetricCard(
    /// What the number is, e.g. "Success rate".
    label: &'static str,
    /// Stable id for tests and later live updates, e.g. "success-rate".
    id: &'static str,
    /// The formatted value; `None` while no data has arrived.
    #[prop(into)]
    value: Signal<Option<String>>,
) -> impl IntoView {
    view! {
        <article class="metric-card" data-metric=id>
            <h3 class="metric-card__label">{label}</h3>
            <p class="metric-card__value">{move || value.get().unwrap_or_else(|| "—".to_owned())}</p>
        </article>
    }
}
