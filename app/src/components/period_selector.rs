//! The 1 h / 6 h / 24 h / 7 d toggle. Buttons with `aria-pressed`, so it is a real control for
//! keyboards and screen readers; it acts only once the page has hydrated.

use leptos::prelude::*;

use crate::dto::period::Period;

#[component]
pub fn PeriodSelector(period: RwSignal<Period>) -> impl IntoView {
    view! {
        <div class="period-selector" role="group" aria-label="Period">
            {Period::ALL
                .into_iter()
                .map(|option| {
                    view! {
                        <button
                            type="button"
                            class="period-selector__option"
                            data-period=option.hours()
                            aria-pressed=move || (period.get() == option).to_string()
                            on:click=move |_| period.set(option)
                        >
                            {option.short_label()}
                        </button>
                    }
                })
                .collect_view()}
        </div>
    }
}
