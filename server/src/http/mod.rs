//! The HTTP surface: one router for API, live socket, static assets and pages.
//!
//! Every `/api/` route is registered through [`utoipa_axum`], which records it in the OpenAPI
//! document served at `/api/openapi.json` as it adds it to the router: a route cannot exist
//! without being documented. Responses that do not set their own `Cache-Control` get `no-cache`
//! (always revalidate): the pages and the API carry live data.

mod account;
mod admin;
mod assets;
mod auth;
mod client_rate;
mod deadline;
mod error;
mod extract;
mod figures;
mod health;
mod ingest;
mod links;
mod origin;
mod pages;
mod reconciliation;
mod socketio;
mod tokens;
mod users;
mod ws;
mod zone;

use std::sync::Arc;

use axum::{
    Extension, Json, Router,
    extract::DefaultBodyLimit,
    http::{HeaderValue, header},
    middleware,
    response::Redirect,
    routing::{any, get, post},
};
use leptos_axum::{LeptosRoutes, generate_route_list, render_app_to_stream_with_context};
use tower_http::{
    compression::CompressionLayer, set_header::SetResponseHeaderLayer, trace::TraceLayer,
};
use utoipa::{
    Modify, OpenApi,
    openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
};
use utoipa_axum::{router::OpenApiRouter, routes};

pub use error::{ApiError, ErrorBody};

use crate::runtime::state::AppState;

/// The dashboard page; `/` redirects here.
pub const DASHBOARD_PATH: &str = "/dashboard/realtime";

/// Where the calls' own pages are: `/dashboard/calls/{id}`.
const CALL_PAGES: &str = "/dashboard/calls/";

/// Where the users page is.
const USERS_PATH: &str = "/users";

/// Where the API describes itself.
pub const OPENAPI_PATH: &str = "/api/openapi.json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Switchboard API",
        description = "Real-time call monitoring: the seed-000 dashboard endpoints, ingest, \
                       sign-in and the admin API. Errors are always `ErrorBody` JSON."
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "dashboard", description = "The seed-000 endpoints, scoped to the caller's tenant"),
        (name = "admin", description = "Cross-tenant operations (the platform's roles; acting \
                                          on the DLQ and reconciliation: admins and operators)"),
        (name = "users", description = "Dashboard users (admins: every user; owners: their \
                                          tenant's)"),
        (name = "auth", description = "Tokens and identity"),
        (name = "tokens", description = "API tokens for scripts: made by a signed-in user, \
                                           scoped no wider than its role, revocable"),
        (name = "ingest", description = "Call events from the platform (ingest key)"),
        (name = "internal", description = "Seed 002's internal paths (INTERNAL_API_KEY)"),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::domain::auth::SESSION_COOKIE,
            ))),
        );
        components.add_security_scheme(
            "internal_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new(
                reconciliation::INTERNAL_KEY_HEADER,
            ))),
        );
        components.add_security_scheme(
            "ingest_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "dashboard",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object)))]
async fn openapi_json(
    Extension(document): Extension<Arc<utoipa::openapi::OpenApi>>,
) -> Json<Arc<utoipa::openapi::OpenApi>> {
    Json(document)
}

/// The `/api` routes and the OpenAPI document describing exactly them.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let routes = OpenApiRouter::new()
        .routes(routes!(openapi_json))
        .routes(routes!(health::health))
        .routes(routes!(health::ready))
        // Ingest batches are the largest bodies; nothing else comes near.
        .merge(
            OpenApiRouter::new()
                .routes(routes!(ingest::post_events))
                .layer(DefaultBodyLimit::max(ingest::BODY_LIMIT)),
        )
        .routes(routes!(auth::token))
        .routes(routes!(auth::me))
        .routes(routes!(auth::sign_out_everywhere))
        .routes(routes!(account::change))
        .routes(routes!(users::list))
        .routes(routes!(users::set_role))
        .routes(routes!(users::sign_out))
        .routes(routes!(users::remove))
        .routes(routes!(links::invite, links::invitations))
        .routes(routes!(links::cancel_invitation))
        .routes(routes!(links::reset))
        .routes(routes!(links::use_link))
        .routes(routes!(tokens::list, tokens::create))
        .routes(routes!(tokens::revoke))
        .routes(routes!(figures::metrics))
        .routes(routes!(figures::active_calls))
        .routes(routes!(figures::recent_calls))
        .routes(routes!(figures::call_detail))
        .routes(routes!(figures::agent_performance))
        .routes(routes!(figures::calls_per_hour))
        .routes(routes!(figures::export_calls))
        .routes(routes!(admin::active_calls))
        .routes(routes!(admin::dlq))
        .routes(routes!(admin::retry_all))
        .routes(routes!(admin::retry_one))
        .routes(routes!(admin::discard))
        .routes(routes!(admin::health))
        .routes(routes!(admin::tenants))
        .routes(routes!(admin::audit_log))
        .routes(routes!(reconciliation::admin_status))
        .routes(routes!(reconciliation::admin_trigger))
        .routes(routes!(reconciliation::admin_run))
        .routes(routes!(reconciliation::internal_status))
        .routes(routes!(reconciliation::internal_trigger));
    let (router, mut document) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/api", routes)
        .split_for_parts();
    allow_blank_query_values(&mut document);
    document_client_rate(&mut document);
    (router, document)
}

/// Says of every optional query parameter what the server does with it: an empty value is no
/// value (`?status=&phone=`, as a plain HTML form sends it — see `app::dto::query`), so a
/// contract checker does not call it a bad value the server should refuse. utoipa has no field
/// for OpenAPI's `allowEmptyValue`; its extensions map is written into the parameter as is.
fn allow_blank_query_values(document: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{Required, path::ParameterIn};
    for operation in operations(document) {
        let parameters = operation.parameters.iter_mut().flatten();
        for parameter in parameters.filter(|parameter| {
            parameter.parameter_in == ParameterIn::Query && parameter.required == Required::False
        }) {
            parameter
                .extensions
                .get_or_insert_with(Default::default)
                .insert("allowEmptyValue".to_owned(), serde_json::Value::Bool(true));
        }
    }
}

/// Every operation the client allowance counts may answer 429 ([`client_rate`]): said once here
/// rather than on each path.
fn document_client_rate(document: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let too_many = ResponseBuilder::new()
        .description(
            "This client asked too often (`SWITCHBOARD_CLIENT_RATE`): wait `Retry-After` seconds",
        )
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build();
    let counted = document
        .paths
        .paths
        .iter_mut()
        .filter(|(path, _)| client_rate::counted(path))
        .flat_map(|(_, item)| item_operations(item));
    for operation in counted {
        operation
            .responses
            .responses
            .entry("429".to_owned())
            .or_insert_with(|| too_many.clone().into());
    }
}

/// Every operation of `document`.
fn operations(
    document: &mut utoipa::openapi::OpenApi,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    document.paths.paths.values_mut().flat_map(item_operations)
}

fn item_operations(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        &mut item.get,
        &mut item.post,
        &mut item.put,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .flatten()
}

/// A panic in a handler is a bug: logged, and answered with the same 500 JSON as any internal
/// error, instead of a dropped connection.
pub fn catch_panics() -> tower_http::catch_panic::CatchPanicLayer<
    fn(Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response,
> {
    fn answer(panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
        let detail = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("a panic without a message");
        axum::response::IntoResponse::into_response(ApiError::internal(format!(
            "handler panicked: {detail}"
        )))
    }
    tower_http::catch_panic::CatchPanicLayer::custom(answer as fn(_) -> _)
}

pub fn router(state: AppState) -> Router {
    let (api, document) = api();
    let api = api
        .layer(Extension(Arc::new(document)))
        .layer(DefaultBodyLimit::max(extract::JSON_BODY_LIMIT))
        // A known path with the wrong method: our JSON error, not axum's empty 405.
        .method_not_allowed_fallback(error::method_not_allowed);

    let leptos_options = state.leptos_options.clone();
    let shell = move || app::shell(leptos_options.clone());
    let context = {
        let state = state.clone();
        move || pages::provide_page_context(&state)
    };
    let site_root = &state.config.site_root;

    Router::new()
        .merge(api)
        .route("/api", any(error::api_not_found))
        .route("/api/", any(error::api_not_found))
        .route("/api/{*rest}", any(error::api_not_found))
        // Server functions are registered by `leptos_routes_with_context` under their own
        // prefix; any other path there is a JSON 404 like the API's.
        .route(
            &format!("{}/{{*rest}}", app::server_fns::PREFIX),
            any(error::api_not_found),
        )
        .route("/", get(|| async { Redirect::temporary(DASHBOARD_PATH) }))
        .route(
            "/login",
            post(auth::login).layer(DefaultBodyLimit::max(auth::LOGIN_BODY_LIMIT)),
        )
        .route("/logout", post(auth::logout))
        .route("/users/manage", post(users::manage_form))
        .route("/users/invite", post(links::invite_form))
        .route(
            "/link",
            post(links::use_link_form).layer(DefaultBodyLimit::max(account::FORM_BODY_LIMIT)),
        )
        .route("/account/tokens", post(tokens::create_form))
        .route("/account/tokens/revoke", post(tokens::revoke_form))
        .route(
            "/account/password",
            post(account::change_form).layer(DefaultBodyLimit::max(account::FORM_BODY_LIMIT)),
        )
        .route(
            "/account/zone",
            post(zone::choose_form).layer(DefaultBodyLimit::max(zone::FORM_BODY_LIMIT)),
        )
        .route("/ws", get(ws::upgrade))
        .nest_service("/pkg", assets::bundle(site_root))
        .route_service("/favicon.ico", assets::favicon(site_root))
        .leptos_routes_with_context(
            &state,
            generate_route_list(app::App),
            context.clone(),
            shell.clone(),
        )
        // Unknown paths render the app, whose router shows the 404 page with status 404.
        .fallback(render_app_to_stream_with_context(context, shell))
        // Inside Socket.IO's layer too: its long-polling requests are held open on purpose.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            deadline::limit,
        ))
        // Inside Socket.IO's layer: its clients authenticate in the handshake, never by cookie.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            origin::require_same_origin,
        ))
        // Everything under /socket.io/ is Socket.IO's; the rest passes through.
        .layer(socketio::layer(state.clone()))
        .layer(middleware::map_request(socketio::detach_request))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            pages::require_session,
        ))
        .layer(middleware::from_fn(tokens::show_once))
        // Before the session is looked up (a client past its allowance costs next to nothing),
        // and before a secret shown once is taken out of its cookie for a page never rendered.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            client_rate::limit,
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ))
        // Headers every response carries. Pages bring their own Content Security Policy (with
        // the render's script nonce, see `app::content_security`); anything else — JSON, CSV,
        // files — gets one that allows nothing, as none of it is meant to be a document. No
        // response may be framed, sniffed into another type, or leak its address elsewhere.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(CompressionLayer::new())
        .layer(catch_panics())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
