//! The header badge telling whether the page is receiving live data, and when the last update
//! arrived. Icon *and* text, never colour alone, and announced politely to screen readers when
//! the state changes. Without JavaScript there is no live link: the page says so instead.

use leptos::prelude::*;

use crate::live::ConnectionState;

#[component]
pub fn ConnectionBadge(
    state: ReadSignal<ConnectionState>,
    /// When the last live update was applied, as shown ("14:03:05"); `None` before the first.
    #[prop(into)]
    updated: Signal<Option<String>>,
) -> impl IntoView {
    let icon = move || match state.get() {
        ConnectionState::Live => "●",
        ConnectionState::Connecting | ConnectionState::Reconnecting { .. } => "◌",
        ConnectionState::Offline { .. } => "✕",
    };
    view! {
        <span class="connection">
            <span
                class="connection-badge"
                data-testid="connection-badge"
                data-state=move || state.get().key()
                role="status"
                aria-live="polite"
            >
                <span class="connection-badge__icon" aria-hidden="true">
                    {icon}
                </span>
                <span class="connection-badge__label">{move || state.get().label()}</span>
            </span>
            <span class="connection__updated" data-testid="last-update">
                {move || updated.get().map(|at| format!("updated {at}"))}
            </span>
            <noscript>
                <span class="connection__static">"Not live without JavaScript: reload for new data"</span>
            </noscript>
        </span>
    }
}
