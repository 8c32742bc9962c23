//! A call's page entry point: `app` built with its `call-page` feature alone, so the bundle holds
//! that page (live over `/ws`) and none of the dashboard (app::pages says why).

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    app::hydrate();
}
