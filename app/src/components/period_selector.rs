//! The 1 h / 6 h / 24 h / 7 d selector. Plain links to the page with `period=` set, so it works
//! without JavaScript and the choice lives in the URL (shareable, survives a reload); once
//! hydrated the router follows them without reloading the page.

use leptos::prelude::*;

use crate::dto::{period::Period, query::PageQuery};

#[component]
pub fn PeriodSelector(view: Memo<PageQuery>) -> impl IntoView {
    view! {
        <nav class="period-selector" aria-label="Period">
            {Period::ALL
                .into_iter()
                .map(|option| {
                    let href = move || {
                        // A new period starts the recent calls from their newest page.
                        let target = view.get().with_period(option).with_cursor(None);
                        format!("?{}", target.to_query_string())
                    };
                    let current = move || (view.get().period() == option).then_some("page");
                    view! {
                        <a
                            class="period-selector__option"
                            data-period=option.hours()
                            href=href
                            aria-current=current
                        >
                            {option.short_label()}
                        </a>
                    }
                })
                .collect_view()}
        </nav>
    }
}
