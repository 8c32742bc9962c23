//! The admin's ops board: its cards (`cards`) and panels (`panels`), compiled only with the
//! `ops-board` feature, and here the seam where the realtime page asks for it.
//! The server and the admins' browser bundle are built with the `ops-board` feature; the
//! customers' bundle without it, so tenants never download the board's code (a fifth of the
//! bundle) and the page they hydrate has no board. The feature decides three things: this
//! function, whether the board's modules are compiled (below), and whether the
//! browser reads the ops room's messages (`dto::live`).

#[cfg(feature = "ops-board")]
pub mod cards;
#[cfg(feature = "ops-board")]
pub mod panels;

use leptos::prelude::*;

use crate::{
    clock::Clock,
    dto::{admin::AuditEntry, auth::Role, query::PageQuery},
    live::LiveFeed,
};

/// For the platform's roles: the tenant picker (for the toolbar) and the ops cards and panels.
/// Always `None` in the customers' bundle: the server sends it only the platform's pages, which
/// load the other one.
pub fn board(
    role: Option<Role>,
    view: Memo<PageQuery>,
    feed: RwSignal<LiveFeed>,
    audit_live: RwSignal<Vec<AuditEntry>>,
    clock: Clock,
) -> Option<(AnyView, AnyView)> {
    #[cfg(feature = "ops-board")]
    return role
        .filter(|role| role.allows(crate::dto::auth::Permission::ReadOps))
        .map(|role| cards::board(role, view, feed, audit_live, clock));
    #[cfg(not(feature = "ops-board"))]
    {
        let _ = (role, view, feed, audit_live, clock);
        None
    }
}
