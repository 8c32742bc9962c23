//! The page's Content Security Policy. Leptos gives each server render a fresh nonce and puts it
//! on the scripts it writes inline (the resources' data); ours, which loads the bundle, takes it
//! too. The policy then allows exactly those scripts, the bundle and ECharts from our origin, and
//! compiling our wasm — an injected `<script>` runs nowhere. In the browser there is no response
//! to set, so the call does nothing there; this keeps `cfg`s out of the components.

/// The origins call recordings may be played from, as the server was configured; a page
/// rendered without them plays recordings from its own origin only.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MediaOrigins(pub Vec<String>);

/// The policy for a page whose inline scripts carry `nonce`, playing media from `media`.
pub fn policy(nonce: &str, media: &MediaOrigins) -> String {
    let media: String = media.0.iter().map(|origin| format!(" {origin}")).collect();
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
         media-src 'self'{media}; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    )
}

/// Sends the policy with the page being rendered.
pub fn set_policy() {
    #[cfg(feature = "ssr")]
    if let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        leptos::prelude::use_context::<leptos_axum::ResponseOptions>(),
    ) && let Ok(value) = axum::http::HeaderValue::from_str(&policy(
        &nonce,
        &leptos::prelude::use_context::<MediaOrigins>().unwrap_or_default(),
    )) {
        response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, value);
    }
}
