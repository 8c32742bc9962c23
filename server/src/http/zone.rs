//! The viewer's time zone chosen on the account page (`POST /account/zone`, no JavaScript
//! needed): pinned in the cookies pages are rendered with, or given back to the browser, which
//! otherwise remembers its own on hydration (`app::zone` says how a page finds its zone).

use app::zone::{ZONE_COOKIE, ZONE_PINNED_COOKIE, Zone};
use axum::{
    Form,
    extract::{State, rejection::FormRejection},
    http::HeaderMap,
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use super::{account::ACCOUNT_PATH, auth::site_cookie};
use crate::runtime::state::AppState;

/// The form's largest body: a zone's name, percent-encoded, with room to spare.
pub(super) const FORM_BODY_LIMIT: usize = 1024;

/// How long a choice is kept.
const KEPT: time::Duration = time::Duration::days(365);

#[derive(Deserialize)]
pub(super) struct ZoneChoice {
    /// An IANA name, or empty for the browser's own zone.
    tz: String,
}

/// Pins the chosen zone, or unpins it (the browser's own zone is then taken on its next page),
/// and goes back to the account page.
pub(super) async fn choose_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    form: Result<Form<ZoneChoice>, FormRejection>,
) -> Response {
    if state.verify_request(&headers).await.is_err() {
        return Redirect::to("/login?next=%2Faccount").into_response();
    }
    let back = |outcome: &str| Redirect::to(&format!("{ACCOUNT_PATH}?zone={outcome}#zone"));
    let Ok(Form(choice)) = form else {
        return back("invalid").into_response();
    };
    // Readable by scripts: the page's own script replaces the zone when it is not pinned.
    let public_url = state.config.public_url.as_deref();
    let cookie = |name: &'static str, value: String, kept: time::Duration| {
        site_cookie(name, value, "/", kept, &headers, public_url)
    };
    let name = choice.tz.trim();
    if name.is_empty() {
        // Expired, whether or not this request carried them (a jar's removal would need that).
        let jar = jar
            .add(cookie(
                ZONE_PINNED_COOKIE,
                String::new(),
                time::Duration::ZERO,
            ))
            .add(cookie(ZONE_COOKIE, String::new(), time::Duration::ZERO));
        return (jar, back("browser")).into_response();
    }
    let Ok(zone) = Zone::named(name) else {
        return back("invalid").into_response();
    };
    let jar = jar
        .add(cookie(ZONE_COOKIE, zone.name().to_owned(), KEPT))
        .add(cookie(ZONE_PINNED_COOKIE, "1".to_owned(), KEPT));
    (jar, back("saved")).into_response()
}
