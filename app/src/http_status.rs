//! Setting the HTTP status of a server-rendered page. In the browser there is no response to
//! set, so the same call does nothing there; this keeps `cfg`s out of the components.

/// Marks the page being rendered as "410 Gone": what it was for is over.
pub fn set_gone() {
    #[cfg(feature = "ssr")]
    if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::GONE);
    }
}

/// Marks the page being rendered as "404 Not Found".
pub fn set_not_found() {
    #[cfg(feature = "ssr")]
    if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
}
