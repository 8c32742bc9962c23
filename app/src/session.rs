//! Who is signed in, as the server saw the request. Rendered on the server and handed to the
//! browser inside the page (a `SharedValue`), so hydration shows the same name without a request.

use leptos::prelude::*;

use crate::dto::auth::Identity;

/// The signed-in identity of this page view, if any.
pub fn current_identity() -> Option<Identity> {
    SharedValue::new(server_side::identity).into_inner()
}

/// The identity the server saw, for what only the server renders (the document around the app):
/// unlike [`current_identity`] it adds nothing to the data the page hands to hydration.
pub fn request_identity() -> Option<Identity> {
    server_side::identity()
}

/// A secret just made (an API token, an invitation link) for the page to show this once: the
/// server takes it out of its short-lived cookie into the request's extensions, and clears the
/// cookie with the same response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShownOnce(pub String);

/// The secret this render shows once, if any.
pub fn shown_once() -> Option<ShownOnce> {
    #[cfg(feature = "ssr")]
    return leptos::prelude::use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<ShownOnce>().cloned());
    #[cfg(not(feature = "ssr"))]
    None
}

#[cfg(feature = "ssr")]
mod server_side {
    use leptos::prelude::use_context;

    use crate::dto::auth::Identity;

    /// The server's sign-in middleware puts the identity in the request's extensions.
    pub(super) fn identity() -> Option<Identity> {
        use_context::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Identity>().cloned())
    }
}

#[cfg(not(feature = "ssr"))]
mod server_side {
    use crate::dto::auth::Identity;

    /// Only reached outside hydration; the value then comes from the page.
    pub(super) fn identity() -> Option<Identity> {
        None
    }
}
