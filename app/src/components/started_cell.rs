//! A call row's start time, as every table of calls shows it: the way into the call's page.

use leptos::prelude::*;
use time::OffsetDateTime;

use crate::{
    clock::{self, Clock},
    dto::call_detail::call_href,
};

/// The "Started" cell of call `id`'s row, linking to its page (a full page load: the page
/// has a bundle of its own).
#[component]
pub fn StartedCell(id: String, started_at: OffsetDateTime, clock: Clock) -> impl IntoView {
    view! {
        <td data-label="Started">
            <a href=call_href(&id) rel="external" title="Open this call">
                <time datetime=clock::machine(started_at)>{move || clock.time_of(started_at)}</time>
            </a>
        </td>
    }
}
