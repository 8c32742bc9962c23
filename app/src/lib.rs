//! Switchboard's user interface and the types it shares with the server.
//!
//! # Layout
//! - [`dto`]: the serde types of the REST API and the live push protocol, compiled into both the
//!   server and the browser bundle so the two can never disagree.
//! - [`pages`]: one module per route; [`App`] wires them into the router.
//! - [`components`]: building blocks the pages share (connection badge, metric cards, panels).
//! - [`ops`]: the admin's ops board (cards and panels), compiled only into the admins' bundle.
//! - [`clock`]: the page's ticking `now`, showing times in the viewer's zone ([`zone`]).
//! - [`echarts`]: the charts' canvases, drawn by charming on our own ECharts build once hydrated.
//! - [`live`]: the browser's side of live push: its WebSocket to `/ws` (a no-op when rendered
//!   on the server) and the feed that applies what arrives.
//! - [`session`]: who is signed in, shared from the server's render with the browser.
//! - [`server_fns`]: the page's data, as server functions under `/rpc/`; [`data`] (server only)
//!   is the interface the server implements for them.
//! - [`http_status`]: lets a page set its HTTP status during SSR (the 404 page).
//! - [`content_security`]: the page's Content Security Policy, sent with each render.

// Leptos views are deeply nested types; the page's tables go past the default limit of 128.
#![recursion_limit = "256"]

pub mod clock;
pub mod components;
pub mod content_security;
#[cfg(feature = "ssr")]
pub mod data;
pub mod dto;
pub mod echarts;
pub mod http_status;
pub mod live;
pub mod ops;
pub mod pages;
pub mod server_fns;
pub mod session;
pub mod zone;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    SsrMode,
    components::{Route, Router, Routes},
    path,
};

use crate::pages::{
    account::Account, call::CallPage, dashboard::RealtimeDashboard, link::LinkPage, login::Login,
    not_found::NotFound, users::Users,
};

/// The customers' browser bundle (`pkg/frontend.js`, `pkg/frontend_bg.wasm`: Trunk names the
/// files after the crate, `frontend`).
pub const BUNDLE_NAME: &str = "frontend";

/// The admins' bundle (`frontend/admin`): the customers' plus the ops board
/// ([`ops`] says why there are two).
pub const ADMIN_BUNDLE_NAME: &str = "frontend-admin";

/// A call's page (`frontend/call`): that page alone, live.
pub const CALL_BUNDLE_NAME: &str = "frontend-call";

/// The bundle [`HydrationAfterFirstPaint`] loads for the page at `path` and whoever is signed
/// in: a call's page has its own; elsewhere the ops board's for the roles that read operations.
fn bundle_for(path: &str, identity: Option<&dto::auth::Identity>) -> &'static str {
    match identity {
        _ if path.starts_with(dto::call_detail::CALL_PAGES) => CALL_BUNDLE_NAME,
        Some(identity) if identity.role.allows(dto::auth::Permission::ReadOps) => ADMIN_BUNDLE_NAME,
        _ => BUNDLE_NAME,
    }
}

/// The HTML document around the app; only the server renders it.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    content_security::set_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" href="/favicon.ico" sizes="any" />
                <HydrationAfterFirstPaint options />
                // Chart canvases are drawn by the browser bundle; without it they would be gaps.
                <noscript>
                    <style>".chart-frame__canvas { display: none; }"</style>
                </noscript>
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// Loads the browser bundle and hydrates the page once the server's document has been painted.
///
/// Instead of Leptos' `<HydrationScripts/>`, which preloads the wasm from `<head>`: the page is
/// complete without the bundle (figures, forms, links), so on a slow link its first paint should
/// not share the bandwidth with ~300 KB (brotli) of wasm. Lighthouse's simulated slow 4G counted that
/// preload into the page's largest paint.
#[component]
fn HydrationAfterFirstPaint(options: LeptosOptions) -> impl IntoView {
    let path = request_path().unwrap_or_default();
    if pages::is_server_only(&path) {
        return None;
    }
    let name = bundle_for(&path, session::request_identity().as_ref());
    let bundle = format!("/{}/{name}", options.site_pkg_dir);
    // A frame, then a task of its own: the callback runs after the first paint.
    let script = format!(
        "requestAnimationFrame(() => setTimeout(async () => {{ \
         const bundle = await import({js:?}); \
         await bundle.default({{ module_or_path: {wasm:?} }}); \
         bundle.hydrate(); }}));",
        js = format!("{bundle}.js"),
        wasm = format!("{bundle}_bg.wasm"),
    );
    Some(view! {
        <script type="module" nonce=leptos::nonce::use_nonce()>
            {script}
        </script>
    })
}

/// The path of the request being rendered (only the server renders the document).
fn request_path() -> Option<String> {
    #[cfg(feature = "ssr")]
    return use_context::<axum::http::request::Parts>().map(|parts| parts.uri.path().to_owned());
    #[cfg(not(feature = "ssr"))]
    None
}

/// The browser bundles' entry point (`frontend`, `frontend/admin`, `frontend/call`): hydrates
/// the page.
#[cfg(feature = "hydrate")]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}

/// The routes. (`/` is a plain HTTP redirect made by the server, so it needs no JavaScript.)
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    zone::provide_shown_zone();
    view! {
        <Stylesheet id="switchboard" href="/pkg/switchboard.css" />
        <Title text="Switchboard" />
        <Router>
            <Routes fallback=NotFound>
                // Async: the server waits for the page's data and sends it as one complete
                // document, readable without JavaScript (streamed parts would need a script).
                <Route path=path!("/dashboard/realtime") view=RealtimeDashboard ssr=SsrMode::Async />
                <Route path=path!("/dashboard/calls/:id") view=CallPage ssr=SsrMode::Async />
                <Route path=path!("/login") view=Login />
                <Route path=path!("/account") view=Account ssr=SsrMode::Async />
                <Route path=path!("/users") view=Users ssr=SsrMode::Async />
                <Route path=path!("/welcome/:secret") view=LinkPage ssr=SsrMode::Async />
                <Route path=path!("/reset/:secret") view=LinkPage ssr=SsrMode::Async />
            </Routes>
        </Router>
    }
}
