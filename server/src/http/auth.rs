//! Signing in and out: `POST /api/auth/token` for scripts (JSON in, bearer token out), and the
//! browser's `POST /login` / `POST /logout` (a form and a session cookie, so both work without
//! JavaScript).

use app::dto::{
    auth::{Credentials, Identity, MeResponse, Role, SignedOutResponse, TokenResponse},
    error::DataError,
};
use axum::{
    Form, Json,
    extract::{Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::{
    CookieJar,
    cookie::{Cookie, SameSite},
};
use serde::Deserialize;
use std::net::IpAddr;

use super::{
    DASHBOARD_PATH,
    error::{ApiError, ErrorBody},
    extract::ApiJson,
};
use crate::{
    domain::audit::{Action, Actor, ClientAddr, Entry},
    domain::auth::{
        Caller, HashingTurn, Revocation, SESSION_COOKIE, SESSION_TTL, UserSession, Verified,
    },
    domain::users::verify_password,
    runtime::state::AppState,
};

/// Why a request whose token names no user cannot act on "its" account.
pub(super) const NO_USER: &str = "this token names no user (`switchboard token` or the old \
                                  platform minted it): it lasts until it expires or JWT_SECRET \
                                  changes";

/// The sign-in form's largest body: an email and a password at their limits, and room to spare.
pub(super) const LOGIN_BODY_LIMIT: usize = 4 * 1024;

/// A real argon2id hash of a random password: checked when the email is unknown, so a wrong
/// email costs the same time as a wrong password and timing does not reveal who has an account.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Y8b7fDwM8m8xQmGx5hY0rmcsH4p0OfO3pCg9iKc1E8I";

/// The address a sign-in attempt counts against: what the proxy named by
/// `SWITCHBOARD_CLIENT_IP_HEADER` says — for `X-Forwarded-For` its last entry, the one that proxy
/// added, as earlier ones are whatever the client wrote — else the connection's peer.
pub(super) fn client_ip(
    state: &AppState,
    client: &ClientAddr,
    headers: &HeaderMap,
) -> Option<IpAddr> {
    let peer = client.peer.as_deref().and_then(|peer| peer.parse().ok());
    let Some(name) = &state.config.client_ip_header else {
        return peer;
    };
    headers
        .get_all(name)
        .iter()
        .next_back()
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.rsplit(',').next())
        .and_then(|last| last.trim().parse().ok())
        .or(peer)
}

/// A token and the identity `credentials` sign in as, or `None` when they are wrong.
/// Failed attempts go to the audit log (at a bounded rate).
async fn sign_in(
    state: &AppState,
    credentials: &Credentials,
    client: ClientAddr,
    headers: &HeaderMap,
) -> Result<Option<(String, Identity)>, ApiError> {
    credentials.check()?;
    let address = client_ip(state, &client, headers);
    let email = crate::domain::users::normalized_email(&credentials.email);
    let failure = |result| {
        let entry = Entry::new(
            Actor::anonymous(&email),
            Action::SignInFailed,
            client.clone(),
        );
        entry.target(&email).result(result)
    };
    let limits = &state.sign_in_limits;
    if let Err(wait) = limits.attempt(&email, address) {
        let log = &limits.failures_logged;
        log.record(state, address, failure("throttled")).await;
        return Err(ApiError::TooManyRequests(wait));
    }
    let user = state.storage.user_by_email(&email).await?;
    let password = credentials.password.clone();
    let hash = user
        .as_ref()
        .map_or_else(|| DUMMY_HASH.to_owned(), |user| user.password_hash.clone());
    let _turn = hashing_turn(state).await?;
    let matches = tokio::task::spawn_blocking(move || verify_password(&hash, &password))
        .await
        .map_err(|error| ApiError::internal(error.to_string()))?;
    let Some(user) = user.filter(|_| matches) else {
        if let Some(burst) = limits.failed(&email) {
            let entry = Entry::new(
                Actor::anonymous(&email),
                Action::SignInBurst,
                client.clone(),
            )
            .target(&email)
            .result("burst")
            .detail("failures", burst.failures)
            .detail("within_seconds", burst.window_seconds);
            state.audit(entry).await;
        }
        limits
            .failures_logged
            .record(state, address, failure("refused"))
            .await;
        return Ok(None);
    };
    session_for(state, &user).await.map(Some)
}

/// Notes a session handed out at `now`, for the users list's count; never a reason to fail.
pub(super) async fn note_session(state: &AppState, session: UserSession, now: i64) {
    let expires_at = now + SESSION_TTL.whole_seconds();
    let noted = state
        .storage
        .record_session(session.user, session.version, now, expires_at)
        .await;
    if let Err(error) = noted {
        tracing::warn!(%error, user = session.user, "cannot note a session");
    }
}

/// A new session of `user`, just signed in (its time noted for the users list).
pub(super) async fn session_for(
    state: &AppState,
    user: &crate::storage::reads::UserRow,
) -> Result<(String, Identity), ApiError> {
    let role = Role::parse(&user.role)
        .ok_or_else(|| ApiError::internal(format!("user {} has role {:?}", user.id, user.role)))?;
    let session = UserSession {
        user: user.id,
        version: user.token_version,
    };
    // For the users list; a sign-in does not fail for want of this note.
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    if let Err(error) = state.storage.record_sign_in(user.id, now).await {
        tracing::warn!(%error, user = user.id, "cannot note a sign-in's time");
    }
    note_session(state, session, now).await;
    state
        .jwt
        .mint(
            &user.email,
            role,
            user.tenant_id.as_deref(),
            Some(session),
            SESSION_TTL,
        )
        .map_err(|error| ApiError::internal(error.to_string()))
}

/// Exchange email and password for a bearer token.
#[utoipa::path(post, path = "/auth/token", tag = "auth", request_body = Credentials,
    responses((status = 200, body = TokenResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 413, body = ErrorBody),
              (status = 429, description = "Too many attempts for this email or from this \
                address; `Retry-After` says when to try again", body = ErrorBody),
              (status = 503, description = "Too many sign-ins at once", body = ErrorBody)))]
pub(super) async fn token(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    ApiJson(credentials): ApiJson<Credentials>,
) -> Result<Json<TokenResponse>, ApiError> {
    let (token, identity) = sign_in(&state, &credentials, client, &headers)
        .await?
        .ok_or(ApiError::unauthorized("wrong email or password"))?;
    Ok(Json(TokenResponse {
        success: true,
        token,
        token_type: "Bearer".to_owned(),
        expires_in: SESSION_TTL.whole_seconds(),
        identity,
    }))
}

/// Who the credentials of this request belong to.
#[utoipa::path(get, path = "/auth/me", tag = "auth",
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = MeResponse), (status = 401, body = ErrorBody)))]
pub(super) async fn me(Caller(identity): Caller) -> Json<MeResponse> {
    Json(MeResponse {
        success: true,
        identity,
    })
}

/// Ends every session of the signed-in user — each token and cookie handed out, on every
/// instance — and its live sockets.
async fn end_sessions(
    state: &AppState,
    verified: &Verified,
    client: ClientAddr,
) -> Result<(), ApiError> {
    let Some(session) = verified.session else {
        return Err(DataError::Forbidden(NO_USER.to_owned()).into());
    };
    let by = Actor::user(&verified.identity);
    crate::domain::users::sign_out_everywhere(
        &state.storage,
        &verified.identity.subject,
        by,
        client,
    )
    .await
    .map_err(|error| match error {
        crate::domain::users::UserError::Storage(error) => ApiError::from(error),
        // Removed since this request's check: nothing of it left to end.
        _ => ApiError::from(crate::domain::auth::AuthError::Revoked),
    })?;
    state.revocations.revoke(Revocation::User {
        user: session.user,
        version: None,
    });
    Ok(())
}

/// Sign out everywhere: every token and session cookie of this user ends at once, on every
/// instance, and its live sockets close.
#[utoipa::path(post, path = "/auth/sign-out-everywhere", tag = "auth",
    security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = SignedOutResponse),
              (status = 401, body = ErrorBody),
              (status = 403, description = "The token names no user, or a cookie was sent \
                from another site", body = ErrorBody),
              (status = 503, body = ErrorBody)))]
pub(super) async fn sign_out_everywhere(
    State(state): State<AppState>,
    client: ClientAddr,
    verified: Verified,
) -> Result<Json<SignedOutResponse>, ApiError> {
    end_sessions(&state, &verified, client).await?;
    Ok(Json(SignedOutResponse {
        success: true,
        subject: verified.identity.subject,
    }))
}

#[derive(Debug, Deserialize)]
pub(super) struct LoginTarget {
    next: Option<String>,
}

/// Where to go after signing in: a path on this site, never another site. Browsers drop tabs
/// and newlines from URLs and read `\` as `/`, so `/<tab>/evil.example` would be
/// `//evil.example`: any of those, or a second leading slash, falls back to the dashboard.
fn local_target(next: Option<&str>) -> &str {
    next.filter(|next| {
        next.starts_with('/')
            && !next[1..].starts_with('/')
            && !next
                .chars()
                .any(|c| c == '\\' || c.is_whitespace() || c.is_control())
    })
    .unwrap_or(DASHBOARD_PATH)
}

/// The session cookie: never readable by scripts, not sent on cross-site requests (except
/// top-level navigation), and `Secure` when the request came over HTTPS through a proxy that says
/// so, so it never travels in clear text after that.
fn session_cookie(
    value: String,
    max_age: time::Duration,
    headers: &HeaderMap,
    public_url: Option<&str>,
) -> Cookie<'static> {
    private_cookie(SESSION_COOKIE, value, "/", max_age, headers, public_url)
}

/// A cookie sent back only to `path`, not on cross-site requests (except top-level
/// navigation), and only over HTTPS when the dashboard is served over it: its public URL says
/// so, or the proxy in front.
pub(super) fn site_cookie(
    name: &'static str,
    value: String,
    path: &'static str,
    max_age: time::Duration,
    headers: &HeaderMap,
    public_url: Option<&str>,
) -> Cookie<'static> {
    let https = public_url.is_some_and(|url| url.starts_with("https://"))
        || headers
            .get("x-forwarded-proto")
            .is_some_and(|proto| proto.as_bytes().eq_ignore_ascii_case(b"https"));
    Cookie::build((name, value))
        .same_site(SameSite::Lax)
        .secure(https)
        .path(path)
        .max_age(max_age)
        .build()
}

/// A [`site_cookie`] scripts cannot read.
pub(super) fn private_cookie(
    name: &'static str,
    value: String,
    path: &'static str,
    max_age: time::Duration,
    headers: &HeaderMap,
    public_url: Option<&str>,
) -> Cookie<'static> {
    let mut cookie = site_cookie(name, value, path, max_age, headers, public_url);
    cookie.set_http_only(true);
    cookie
}

/// `jar` with a session cookie holding `token`, for as long as a sign-in lasts.
pub(super) fn with_session(
    jar: CookieJar,
    state: &AppState,
    headers: &HeaderMap,
    token: String,
) -> CookieJar {
    let public_url = state.config.public_url.as_deref();
    jar.add(session_cookie(token, SESSION_TTL, headers, public_url))
}

/// A turn at checking or making a password hash: tens of milliseconds of CPU, so off the async
/// workers and a few at a time; 503 while too many already wait.
pub(super) async fn hashing_turn(state: &AppState) -> Result<HashingTurn<'_>, ApiError> {
    state.sign_in_limits.hashing_turn().await.ok_or_else(|| {
        DataError::Unavailable("too many sign-ins at once: try again in a few seconds".to_owned())
            .into()
    })
}

/// The login form's target: a session cookie and on to `next` (or the dashboard); back to the
/// form with an error otherwise.
pub(super) async fn login(
    State(state): State<AppState>,
    Query(target): Query<LoginTarget>,
    headers: HeaderMap,
    client: ClientAddr,
    jar: CookieJar,
    form: Result<Form<Credentials>, axum::extract::rejection::FormRejection>,
) -> Result<Response, ApiError> {
    let next = local_target(target.next.as_deref()).to_owned();
    let signed_in = match form {
        Ok(Form(credentials)) => match sign_in(&state, &credentials, client, &headers).await {
            Err(ApiError::TooManyRequests(_)) => Err("throttled"),
            // Over-long values: as wrong as any other, said the same way.
            Err(ApiError::Data(DataError::Invalid { .. })) => Err("1"),
            other => other?.ok_or("1"),
        },
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(ApiError::PayloadTooLarge(LOGIN_BODY_LIMIT));
        }
        Err(_) => Err("1"),
    };
    let token = match signed_in {
        Ok((token, _)) => token,
        Err(error) => {
            let back = format!("/login?error={error}&next={}", url_encoded(&next));
            return Ok(Redirect::to(&back).into_response());
        }
    };
    Ok((
        with_session(jar, &state, &headers, token),
        Redirect::to(&next),
    )
        .into_response())
}

/// The logout form: `everywhere=1` (its second button) signs out every session of the user.
#[derive(Debug, Default, Deserialize)]
pub(super) struct LogoutForm {
    #[serde(default)]
    everywhere: Option<String>,
}

/// Ends the browser session, or with `everywhere` every session of its user.
pub(super) async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: ClientAddr,
    jar: CookieJar,
    form: Result<Form<LogoutForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, ApiError> {
    let everywhere = form.is_ok_and(|Form(form)| form.everywhere.is_some());
    if everywhere {
        // An ended or missing session has nothing left to end: signing out is all there is.
        if let Ok(verified) = state.verify_request(&headers).await {
            end_sessions(&state, &verified, client).await?;
        }
    }
    let jar = jar.remove(session_cookie(
        String::new(),
        time::Duration::ZERO,
        &headers,
        state.config.public_url.as_deref(),
    ));
    Ok((jar, Redirect::to("/login")).into_response())
}

/// `value` as one query-string value.
pub(super) fn url_encoded(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_targets() {
        assert_eq!(
            local_target(Some("/dashboard/realtime?x=1")),
            "/dashboard/realtime?x=1"
        );
        assert_eq!(local_target(Some("https://evil.example")), DASHBOARD_PATH);
        assert_eq!(local_target(Some("//evil.example")), DASHBOARD_PATH);
        assert_eq!(local_target(Some("/\\evil.example")), DASHBOARD_PATH);
        assert_eq!(local_target(Some("/\t/evil.example")), DASHBOARD_PATH);
        assert_eq!(local_target(Some("/\n/evil.example")), DASHBOARD_PATH);
        assert_eq!(local_target(Some("/ /evil.example")), DASHBOARD_PATH);
        assert_eq!(local_target(None), DASHBOARD_PATH);
    }

    #[test]
    fn the_dummy_hash_is_a_valid_hash() {
        assert!(argon2::PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!verify_password(DUMMY_HASH, "anything"));
    }
}
