//! One module per route.
//!
//! Some pages are rendered by the server only: plain forms that need no JavaScript, so the
//! browser bundle carries none of their code and the page loads no bundle
//! ([`is_server_only`]). In the bundle they are empty stand-ins, and every link to them is
//! `rel="external"` so the client router leaves them to a full page load.

#[cfg(feature = "ssr")]
pub mod account;
#[cfg(feature = "ssr")]
pub mod call;
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
/// The folders whose pages only the server renders: one-time links, and the calls' own pages
/// (complete as served; their live updates will need a bundle of their own, as the customers'
/// has no room left under its budget).
pub const SERVER_ONLY_FOLDERS: [&str; 3] = ["/welcome/", "/reset/", "/dashboard/calls/"];

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

#[cfg(not(feature = "ssr"))]
pub mod call {
    #[leptos::component]
    pub fn CallPage() -> impl leptos::IntoView {}
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
