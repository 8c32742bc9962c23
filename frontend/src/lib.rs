//! The browser entry point: hydrates the server-rendered page. Nothing else lives here, so the
//! bundle holds exactly what `app` compiles to under its `hydrate` feature.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
