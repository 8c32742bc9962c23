//! Static files: the Trunk-built bundle under `/pkg` and the favicon.
//!
//! Bundle names carry no content hash (Leptos' hydration script asks for fixed names), so they
//! are served `no-cache`: browsers keep them but revalidate with `If-Modified-Since`, which costs
//! a 304 instead of a download. The build writes brotli (`.br`) and gzip (`.gz`) twins at their
//! best settings, served to clients that accept them, so the wasm and ECharts are never
//! compressed again per request (and more tightly than a per-request compressor would).

use std::path::Path;

use axum::http::{HeaderValue, header};
use tower::Layer;
use tower_http::{
    services::{ServeDir, ServeFile},
    set_header::{SetResponseHeader, SetResponseHeaderLayer},
};

pub(super) fn bundle(site_root: &Path) -> SetResponseHeader<ServeDir, HeaderValue> {
    cache_control("no-cache").layer(
        ServeDir::new(site_root.join("pkg"))
            .precompressed_br()
            .precompressed_gzip(),
    )
}

pub(super) fn favicon(site_root: &Path) -> SetResponseHeader<ServeFile, HeaderValue> {
    cache_control("public, max-age=86400").layer(ServeFile::new(site_root.join("favicon.ico")))
}

fn cache_control(value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static(value))
}
