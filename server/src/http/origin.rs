//! Cross-site request forgery. A browser attaches our session cookie to any site's form post or
//! fetch, so a state-changing request must come from our own pages — sign-in and sign-out
//! included (a forged sign-in would put a victim in an attacker's session) — and so must a
//! WebSocket handshake to `/ws` (Socket.IO clients authenticate in their handshake, not by
//! cookie).
//!
//! The check is the one browsers make possible and Go's `http.CrossOriginProtection` uses:
//! safe methods pass; `Sec-Fetch-Site` (every current browser sends it) must say `same-origin`
//! or `none`; without it, `Origin` must name this server — the `Host` it was asked under, or
//! `SWITCHBOARD_PUBLIC_URL` when a proxy stands in front. A request with neither header was not
//! sent by a browser (scripts, the platform's backend, `curl`), so no cookie was attached behind
//! anyone's back and it passes to the usual authentication.

use axum::{
    extract::{Request, State},
    http::{HeaderMap, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use app::dto::error::DataError;

use super::ApiError;
use crate::runtime::state::AppState;

/// Refuses cross-origin state-changing requests with a 403 JSON error.
pub(super) async fn require_same_origin(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if (request.method().is_safe() && !opens_websocket(request.headers()))
        || same_origin(request.headers(), state.config.public_url.as_deref())
    {
        return next.run(request).await;
    }
    ApiError::from(DataError::Forbidden(
        "cross-origin request refused: state-changing requests must come from this site's own pages"
            .to_owned(),
    ))
    .into_response()
}

/// A WebSocket handshake is a GET, but the socket it opens acts for the cookie's owner (another
/// site's page could otherwise read a signed-in operator's live feed): checked like a write.
fn opens_websocket(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .is_some_and(|upgrade| upgrade.as_bytes().eq_ignore_ascii_case(b"websocket"))
}

/// Whether a state-changing request may be served (see the module's text).
fn same_origin(headers: &HeaderMap, public_origin: Option<&str>) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if public_origin.is_some_and(|public| public.eq_ignore_ascii_case(origin)) {
        return true;
    }
    // `Origin` is `scheme://host[:port]`; the scheme is not compared, as behind a TLS-ending
    // proxy this server cannot know it (set SWITCHBOARD_PUBLIC_URL to be exact).
    let authority = origin.split_once("://").map(|(_, rest)| rest);
    let host = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok());
    matches!((authority, host), (Some(authority), Some(host)) if authority.eq_ignore_ascii_case(host))
}

/// This site's origin as its users reach it, for links it hands out: `SWITCHBOARD_PUBLIC_URL`
/// when set, else the request's `Host` (HTTPS when a proxy says so).
pub(super) fn site_origin(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(public) = state.config.public_url.as_deref() {
        return public.trim_end_matches('/').to_owned();
    }
    let https = headers
        .get("x-forwarded-proto")
        .is_some_and(|proto| proto.as_bytes().eq_ignore_ascii_case(b"https"));
    let host = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .unwrap_or("localhost");
    format!("{}://{host}", if https { "https" } else { "http" })
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn browsers_must_say_same_origin() {
        let host = ("host", "board.example:5001");
        for (request, allowed) in [
            (vec![host, ("sec-fetch-site", "same-origin")], true),
            (vec![host, ("sec-fetch-site", "none")], true),
            (vec![host, ("sec-fetch-site", "cross-site")], false),
            (vec![host, ("sec-fetch-site", "same-site")], false),
            // Sec-Fetch-Site decides when present, whatever Origin says.
            (
                vec![
                    host,
                    ("sec-fetch-site", "cross-site"),
                    ("origin", "http://board.example:5001"),
                ],
                false,
            ),
            (vec![host, ("origin", "http://board.example:5001")], true),
            (vec![host, ("origin", "https://BOARD.example:5001")], true),
            (vec![host, ("origin", "https://evil.example")], false),
            (vec![host, ("origin", "http://board.example:5002")], false),
            (vec![host, ("origin", "null")], false),
            (vec![("origin", "http://board.example:5001")], false),
            // Not a browser: nothing was sent on anyone's behalf.
            (vec![host], true),
        ] {
            assert_eq!(
                same_origin(&headers(&request), None),
                allowed,
                "{request:?}"
            );
        }
    }

    #[test]
    fn the_public_url_is_this_site_behind_a_proxy() {
        let request = headers(&[
            ("host", "10.0.0.7:5001"),
            ("origin", "https://board.example"),
        ]);
        assert!(!same_origin(&request, None));
        assert!(same_origin(&request, Some("https://board.example")));
        assert!(!same_origin(&request, Some("https://other.example")));
    }
}
