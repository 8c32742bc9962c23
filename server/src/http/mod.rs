//! The HTTP surface: one router for API, live socket, static assets and pages.
//!
//! Responses that do not set their own `Cache-Control` get `no-cache` (always revalidate): the
//! pages and the API carry live data.

mod assets;
mod error;
mod health;
mod ingest;
mod live;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::{HeaderValue, header},
    response::Redirect,
    routing::{any, get, post},
};
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list, render_app_to_stream_with_context};
use tower_http::{
    compression::CompressionLayer, set_header::SetResponseHeaderLayer, trace::TraceLayer,
};

pub use error::{ApiError, ErrorBody};

use crate::state::AppState;

/// The dashboard page; `/` redirects here.
pub const DASHBOARD_PATH: &str = "/dashboard/realtime";

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/dashboard/health", get(health::health))
        .route(
            "/v1/calls/events",
            post(ingest::post_events).layer(DefaultBodyLimit::max(ingest::BODY_LIMIT)),
        )
        .fallback(error::api_not_found);

    let leptos_options = state.leptos_options.clone();
    let shell = move || app::shell(leptos_options.clone());
    let context = {
        let state = state.clone();
        move || provide_context(state.clone())
    };
    let site_root = &state.config.site_root;

    Router::new()
        .nest("/api", api)
        // `nest` leaves the bare "/api/" to the page fallback; it is an API path all the same.
        .route("/api/", any(error::api_not_found))
        .route("/", get(|| async { Redirect::temporary(DASHBOARD_PATH) }))
        .route("/ws", get(live::upgrade))
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
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ))
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
