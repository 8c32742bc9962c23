//! The customers' browser entry point: hydrates the server-rendered page. Nothing else lives
//! here, so the bundle holds exactly what `app` compiles to under its `hydrate` feature.
//!
//! A `cdylib` only: with a second crate type (`rlib`) cargo silently builds the bundle without
//! link-time optimisation (rust-lang/cargo#9672): it was 12 % larger.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    app::hydrate();
}
