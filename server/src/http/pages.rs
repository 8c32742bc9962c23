//! What the pages need from the server: the context Leptos renders them with, and sign-in in
//! front of the dashboard, the account and the users pages (an anonymous visitor is sent to
//! `/login` and back afterwards).

use app::{
    data::DataSource,
    dto::auth::{Identity, LoginHints},
    zone::{ViewerZone, ZONE_COOKIE, ZONE_PINNED_COOKIE},
};
use axum::{
    extract::{Request, State},
    http::HeaderMap,
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::CookieJar;
use leptos::prelude::provide_context;

use crate::{runtime::state::AppState, service::demo};

/// Context for rendering a page: the state, and the login page's demo hints (demo mode only).
pub(super) fn provide_page_context(state: &AppState) {
    provide_context(state.clone());
    // The page's server functions read through this (see `crate::service::doors`).
    provide_context(DataSource::new(state.clone()));
    let hints = if state.config.demo {
        LoginHints {
            demo_users: demo::demo_users()
                .into_iter()
                .map(|(email, role, tenant)| {
                    let sees = tenant.map_or_else(
                        || format!("every tenant ({})", role.as_str()),
                        |tenant| format!("tenant {tenant} ({})", role.as_str()),
                    );
                    (email, sees)
                })
                .collect(),
            demo_password: Some(demo::DEMO_PASSWORD.to_owned()),
        }
    } else {
        LoginHints::default()
    };
    provide_context(hints);
    provide_context(app::content_security::MediaOrigins(
        state.config.recording_origins.clone(),
    ));
}

/// The zone the viewer's cookies name, for the page to render its times in.
fn viewer_zone(headers: &HeaderMap) -> ViewerZone {
    let cookies = CookieJar::from_headers(headers);
    ViewerZone::from_cookies(
        cookies.get(ZONE_COOKIE).map(|cookie| cookie.value()),
        cookies.get(ZONE_PINNED_COOKIE).is_some(),
    )
}

/// The dashboard needs a session; the signed-in identity rides along in the request's
/// extensions for the page to show.
pub(super) async fn require_session(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if path.starts_with("/api/")
        || path.starts_with("/pkg/")
        || path.starts_with("/socket.io/")
        || path == "/ws"
    {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    parts.extensions.insert(viewer_zone(&parts.headers));
    match state.identify(&parts.headers).await {
        Ok(identity) => {
            parts.extensions.insert::<Identity>(identity);
        }
        Err(_)
            if [super::DASHBOARD_PATH, super::account::ACCOUNT_PATH]
                .contains(&parts.uri.path())
                || parts.uri.path().starts_with(super::CALL_PAGES) =>
        {
            let wanted = parts
                .uri
                .path_and_query()
                .map_or(super::DASHBOARD_PATH, |target| target.as_str());
            let next = super::auth::url_encoded(wanted);
            return Redirect::to(&format!("/login?next={next}")).into_response();
        }
        Err(_) => {}
    }
    next.run(Request::from_parts(parts, body)).await
}
