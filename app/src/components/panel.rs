//! A titled dashboard panel.

use leptos::prelude::*;

#[component]
pub fn Panel(
    title: &'static str,
    /// Stable id, used as the heading's anchor and by tests.
    id: &'static str,
    #[prop(optional)] wide: bool,
    /// Shown at the end of the title row (an export link, a count).
    #[prop(optional, into)]
    actions: Option<ViewFn>,
    children: Children,
) -> impl IntoView {
    let heading_id = format!("panel-{id}-title");
    let labelled_by = heading_id.clone();
    view! {
        <section class="panel" class:panel--wide=wide data-panel=id aria-labelledby=labelled_by>
            <div class="panel__head">
                <h2 class="panel__title" id=heading_id>
                    {title}
                </h2>
                {actions.map(|actions| actions.run())}
            </div>
            {children()}
        </section>
    }
}

/// What a panel shows while it has nothing (or could not load).
#[component]
pub fn Empty(#[prop(into)] message: String) -> impl IntoView {
    view! { <p class="panel__empty">{message}</p> }
}

/// What a panel shows while its data loads.
#[component]
pub fn Loading() -> impl IntoView {
    view! { <Empty message="Loading…" /> }
}

/// A panel that could not load says why, in words (and the rest of the page stays useful).
#[component]
pub fn Failed(error: crate::dto::error::DataError) -> impl IntoView {
    view! {
        <p class="panel__error" role="alert">
            {format!("Could not load this: {error}")}
        </p>
    }
}
