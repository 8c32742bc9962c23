//! A titled dashboard panel with an empty-state message until its content arrives.

use leptos::prelude::*;

#[component]
pub fn Panel(
    title: &'static str,
    /// Stable id, used as the heading's anchor and by tests.
    id: &'static str,
    /// Shown while the panel has nothing to display.
    empty_message: &'static str,
    #[prop(optional)] wide: bool,
) -> impl IntoView {
    let heading_id = format!("panel-{id}-title");
    let labelled_by = heading_id.clone();
    view! {
        <section
            class="panel"
            class:panel--wide=wide
            data-panel=id
            aria-labelledby=labelled_by
        >
            <h2 class="panel__title" id=heading_id>
                {title}
            </h2>
            <p class="panel__empty">{empty_message}</p>
        </section>
    }
}
