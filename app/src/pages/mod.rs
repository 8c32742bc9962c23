//! One module per route.
//!
//! Some pages are rendered by the server only: plain forms that need no JavaScript, so the
//! browser bundle carries none of their code and the page loads no bundle
//! ([`is_server_only`]). In the bundle they are empty stand-ins, and every link to them is
//! `rel="external"` so the client router leaves them to a full page load.
//!
//! The pages that hydrate are split the same way between bundles, so that each stays within
//! its size budget: the dashboard (feature `dashboard`) in the customers' and the admins'
//! bundles, a call's page (feature `call-page`) in a bundle of its own ([`crate::bundle_for`]).
//! Links between the two are `rel="external"` too.

#[cfg(feature = "ssr")]
pub mod account;
#[cfg(any(feature = "ssr", feature = "call-page"))]
pub mod call;
#[cfg(any(feature = "ssr", feature = "dashboard"))]
pub mod dashboard;
#[cfg(feature = "ssr")]
pub mod link;
pub mod login;
pub mod not_found;
#[cfg(feature = "ssr")]
pub mod tokens;
#[cfg(feature = "ssr")]
pub mod users;

/// The paths whose pages only the server renders.
pub const SERVER_ONLY_PATHS: [&str; 2] = ["/account", "/users"];
/// The folders whose pages only the server renders: one-time links.
pub const SERVER_ONLY_FOLDERS: [&str; 2] = ["/welcome/", "/reset/"];

/// Whether the page at `path` is rendered by the server only (and so loads no bundle).
pub fn is_server_only(path: &str) -> bool {
    SERVER_ONLY_PATHS.contains(&path.trim_end_matches('/'))
        || SERVER_ONLY_FOLDERS
            .iter()
            .any(|folder| path.starts_with(folder))
}

/// The bundle's stand-ins for the server-only pages: never hydrated, never navigated to.
#[cfg(not(feature = "ssr"))]
pub mod account {
    #[leptos::component]
    pub fn Account() -> impl leptos::IntoView {}
}

/// The stand-in of a page another bundle hydrates.
#[cfg(not(any(feature = "ssr", feature = "call-page")))]
pub mod call {
    #[leptos::component]
    pub fn CallPage() -> impl leptos::IntoView {}
}

/// The stand-in of a page another bundle hydrates.
#[cfg(not(any(feature = "ssr", feature = "dashboard")))]
pub mod dashboard {
    #[leptos::component]
    pub fn RealtimeDashboard() -> impl leptos::IntoView {}
}

#[cfg(not(feature = "ssr"))]
pub mod link {
    #[leptos::component]
    pub fn LinkPage() -> impl leptos::IntoView {}
}

#[cfg(not(feature = "ssr"))]
pub mod users {
    #[leptos::component]
    pub fn Users() -> impl leptos::IntoView {}
}
