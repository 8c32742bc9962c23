//! The page for any path no route matches; answers with HTTP 404.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::http_status::set_not_found;

#[component]
pub fn NotFound() -> impl IntoView {
    set_not_found();
    view! {
        <Title text="Not found · Switchboard" />
        <main class="not-found">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address."</p>
            <a class="button" href="/dashboard/realtime">
                "Open the realtime dashboard"
            </a>
        </main>
    }
}
