//! Static assets: content types, cache headers, compression, and nothing outside `pkg/`.

use reqwest::{StatusCode, header::IF_MODIFIED_SINCE};

use crate::helpers::{BUNDLE_WASM, BUNDLE_WASM_GZ, STYLESHEET, header, spawn_app};

#[tokio::test]
async fn the_bundle_has_the_right_content_types() {
    let app = spawn_app().await;
    for (path, content_type) in [
        ("/pkg/frontend.js", "text/javascript"),
        ("/pkg/frontend_bg.wasm", "application/wasm"),
        ("/pkg/switchboard.css", "text/css"),
        ("/favicon.ico", "image/x-icon"),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(header(&response, "content-type"), content_type, "{path}");
    }
    let css = app.get("/pkg/switchboard.css").await.text().await.unwrap();
    assert_eq!(css, STYLESHEET);
}

#[tokio::test]
async fn the_bundle_is_revalidated_not_downloaded_again() {
    let app = spawn_app().await;
    let first = app.get("/pkg/frontend_bg.wasm").await;
    assert_eq!(header(&first, "cache-control"), "no-cache");
    let last_modified = header(&first, "last-modified").to_owned();
    assert_eq!(first.bytes().await.unwrap().as_ref(), BUNDLE_WASM);

    let again = app
        .client
        .get(app.url("/pkg/frontend_bg.wasm"))
        .header(IF_MODIFIED_SINCE, last_modified)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn the_favicon_is_cached_for_a_day() {
    let app = spawn_app().await;
    let response = app.get("/favicon.ico").await;
    assert_eq!(header(&response, "cache-control"), "public, max-age=86400");
}

#[tokio::test]
async fn gzip_clients_get_the_precompressed_twin() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/pkg/frontend_bg.wasm"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&response, "content-encoding"), "gzip");
    assert_eq!(header(&response, "content-type"), "application/wasm");
    assert_eq!(response.bytes().await.unwrap().as_ref(), BUNDLE_WASM_GZ);
}

#[tokio::test]
async fn pages_and_scripts_are_compressed_on_the_fly() {
    let app = spawn_app().await;
    for path in ["/dashboard/realtime", "/pkg/frontend.js"] {
        let response = app
            .client
            .get(app.url(path))
            .header("accept-encoding", "br")
            .header(
                "cookie",
                format!(
                    "{}={}",
                    server::domain::auth::SESSION_COOKIE,
                    app.token(None)
                ),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(header(&response, "content-encoding"), "br", "{path}");
    }
    let plain = app.get_signed_in("/dashboard/realtime", None).await;
    assert!(plain.headers().get("content-encoding").is_none());
}

#[tokio::test]
async fn nothing_outside_pkg_is_reachable() {
    let app = spawn_app().await;
    for path in [
        "/pkg/missing.js",
        "/pkg/../index.html",
        "/pkg/%2e%2e/index.html",
        "/pkg/..%2findex.html",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(
            !response.text().await.unwrap().contains("trunk manifest"),
            "{path}"
        );
    }
}
