//! The header badge telling whether the page is receiving live data. Icon *and* text, never
//! colour alone, and announced politely to screen readers when it changes.

use leptos::prelude::*;

use crate::dto::live::ConnectionState;

#[component]
pub fn ConnectionBadge(state: ReadSignal<ConnectionState>) -> impl IntoView {
    let icon = move || match state.get() {
        ConnectionState::Live => "●",
        ConnectionState::Connecting | ConnectionState::Reconnecting { .. } => "◌",
        ConnectionState::Offline { .. } => "✕",
    };
    view! {
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
    }
}
