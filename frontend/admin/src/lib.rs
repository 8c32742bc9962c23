//! The admins' browser entry point: the same as the customers' (`frontend`), built with `app`'s
//! `ops-board` feature, switched on here and only here.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    app::hydrate();
}
