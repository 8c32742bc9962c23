//! The ops board's panels (admins): live calls across tenants with their heartbeat health, the
//! dead-letter queue and what an operator does to it, reconciliation runs with "Run now", and
//! the audit log.
//!
//! Each panel is a native disclosure (`<details>`): operable by keyboard and announced by
//! screen readers as it is, and it opens without JavaScript. Which panels are open is in the
//! address (`panels=`), so a view can be shared and survives a reload; until someone opens or
//! closes one, the dead-letter queue opens by itself when it holds messages and the live calls
//! when one is in trouble. Every action is confirmed in place, then says what happened; the
//! lists follow the live link (the ops room), asked again only when what they show moved.

pub mod actions;
pub mod audit;
pub mod dlq;
pub mod live_calls;
pub mod runs;

use self::{
    audit::AuditPanel,
    dlq::DlqPanel,
    live_calls::LiveCallsTable,
    runs::{RunsPanel, run_status_words},
};

use leptos::prelude::*;
use leptos_router::{NavigateOptions, hooks::use_navigate};

use crate::{
    clock::{self, Clock},
    components::panel::Loading,
    dto::{
        admin::{AuditEntry, TenantsResponse},
        auth::{Permission, Role},
        calls::HeartbeatHealth,
        error::DataError,
        live::DlqSummary,
        query::{DlqQuery, PageQuery, RunsQuery, TenantQuery},
    },
    live::LiveFeed,
    server_fns,
};

/// The panels, by the id the address uses.
const PANELS: [&str; 4] = ["calls", "dlq", "runs", "audit"];

/// The four panels, fed by their server functions and then by the live link's ops room.
#[component]
pub fn OpsPanels(
    view: Memo<PageQuery>,
    feed: RwSignal<LiveFeed>,
    /// Audit entries pushed since the page loaded, newest first.
    audit_live: RwSignal<Vec<AuditEntry>>,
    tenants: Resource<Result<TenantsResponse, DataError>>,
    /// What the viewer may do: the actions and panels it may not use are left out.
    role: Role,
    clock: Clock,
) -> impl IntoView {
    let can_act = role.allows(Permission::ActOnDlq);
    let can_run = role.allows(Permission::RunReconciliation);
    let reads_audit = role.allows(Permission::ReadAudit);
    let live_calls = Resource::new(TenantQuery::default, server_fns::live_calls);
    let dlq = Resource::new(DlqQuery::default, server_fns::dlq);
    let runs = Resource::new(RunsQuery::default, server_fns::reconciliation);
    let audit = reads_audit.then(audit::load);
    // The ops room as the live link has it, once per change (the feed also moves with every
    // call of the calls room).
    let ops = Memo::new(move |_| feed.with(|feed| feed.ops().cloned()));
    // Ask again when the live link says the queue or the runs moved.
    Effect::watch(
        move || ops.with(|ops| ops.as_ref().map(|ops| ops.dlq)),
        move |now, _, _| {
            let shown = dlq.get_untracked().and_then(Result::ok);
            let shown = shown.map(|shown| (shown.depth, shown.final_failures));
            if now.is_some_and(|now| Some((now.depth, now.final_failures)) != shown) {
                dlq.refetch();
            }
        },
        false,
    );
    Effect::watch(
        move || {
            ops.with(|ops| {
                let run = ops.as_ref()?.last_reconciliation.as_ref()?;
                Some((run.id.clone(), run.status))
            })
        },
        move |now, _, _| {
            if now.is_some() {
                runs.refetch();
            }
        },
        false,
    );

    // Derived, not memos: a memo reads its resource in its own scope, outside the panels'
    // <Transition>, which hydration warns of; these run in their readers' (a few per update).
    let calls = Signal::derive(move || {
        let live = ops.with(|ops| ops.as_ref().map(|ops| ops.live.active_calls.clone()));
        let mut calls = match (live, live_calls.get()) {
            (Some(live), _) => live,
            (None, Some(Ok(loaded))) => loaded.active_calls,
            _ => Vec::new(),
        };
        // Stale first, then warning, each the longest silent first.
        calls.sort_by_key(|call| {
            let rank = match call.health {
                HeartbeatHealth::Stale => 0,
                HeartbeatHealth::Warning => 1,
                HeartbeatHealth::Healthy => 2,
            };
            (rank, call.last_heartbeat_at.unwrap_or(call.call.started_at))
        });
        calls
    });
    let troubled = move || {
        calls.with(|calls| {
            calls
                .iter()
                .any(|call| call.health != HeartbeatHealth::Healthy)
        })
    };
    // The queue's size: the live link's once it has it, else the loaded one.
    let dlq_now = move || {
        ops.with(|ops| ops.as_ref().map(|ops| ops.dlq)).or_else(|| {
            dlq.get().and_then(Result::ok).map(|loaded| DlqSummary {
                depth: loaded.depth,
                final_failures: loaded.final_failures,
            })
        })
    };
    let queued = move || dlq_now().is_some_and(|now| now.depth > 0);
    let names = Signal::derive(move || {
        tenants
            .get()
            .and_then(Result::ok)
            .map(|tenants| {
                tenants
                    .tenants
                    .into_iter()
                    .map(|tenant| (tenant.id, tenant.name))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    });
    // The queue filling while someone watches opens it, whatever the address said before.
    let navigate = use_navigate();
    Effect::watch(
        queued,
        move |queued, was, _| {
            if *queued && was == Some(&false) {
                let view = view.get_untracked();
                if view.panel_open("dlq") == Some(false) {
                    let next = view.with_panel(&panels_open_but("dlq"), "dlq", true);
                    navigate(&format!("?{}", next.to_query_string()), quiet());
                }
            }
        },
        false,
    );

    let calls_summary = Signal::derive(move || {
        calls.with(|calls| {
            let count = |health| calls.iter().filter(|call| call.health == health).count();
            format!(
                "{} live · {} warning · {} stale",
                calls.len(),
                count(HeartbeatHealth::Warning),
                count(HeartbeatHealth::Stale)
            )
        })
    });
    let dlq_summary = Signal::derive(move || match dlq_now() {
        Some(now) => dlq_words(now.depth, now.final_failures),
        None if dlq.with(|loaded| matches!(loaded, Some(Err(_)))) => "could not be read".to_owned(),
        None => String::new(),
    });
    let runs_summary = Signal::derive(move || {
        runs.get()
            .and_then(Result::ok)
            .map(|status| match (&status.running, &status.last_run) {
                (Some(_), _) => "◌ a run is going".to_owned(),
                (None, Some(run)) => format!(
                    "last {} · {}",
                    clock::ago(clock.seconds_since(run.started_at)),
                    run_status_words(run.status)
                ),
                (None, None) => "no run yet".to_owned(),
            })
            .unwrap_or_default()
    });

    view! {
        <section class="ops-panels" aria-label="Operations panels" data-testid="ops-panels">
            // One Transition around all four: the server waits for every list (summaries
            // included) before it sends the page.
            <Transition fallback=Loading>
            <Disclosure
                id="calls"
                title="Live calls, every tenant"
                view
                default_open=Signal::derive(troubled)
                summary=calls_summary
            >
                <LiveCallsTable calls clock />
            </Disclosure>
            <Disclosure
                id="dlq"
                title="Dead-letter queue"
                view
                default_open=Signal::derive(queued)
                summary=dlq_summary
            >
                <DlqPanel dlq names can_act clock />
            </Disclosure>
            <Disclosure
                id="runs"
                title="Reconciliation"
                view
                default_open=Signal::stored(false)
                summary=runs_summary
            >
                <RunsPanel runs can_run clock />
            </Disclosure>
            {audit
                .map(|audit| {
                    view! {
                    <Disclosure
                        id="audit"
                        title="Audit log"
                        view
                        default_open=Signal::stored(false)
                        summary=Signal::stored("newest first".to_owned())
                    >
                        <AuditPanel audit audit_live clock />
                    </Disclosure>
                    }
                })}
            </Transition>
        </section>
    }
}

/// Navigation that changes only what the address remembers: no history entry, no scroll.
fn quiet() -> NavigateOptions {
    NavigateOptions {
        replace: true,
        scroll: false,
        ..NavigateOptions::default()
    }
}

fn dlq_words(depth: i64, final_failures: i64) -> String {
    if depth == 0 {
        "● empty".to_owned()
    } else {
        format!("▲ {depth} waiting · {final_failures} failed for good")
    }
}

/// One panel: a `<details>` whose open state follows the address and writes back to it.
#[component]
fn Disclosure(
    id: &'static str,
    title: &'static str,
    view: Memo<PageQuery>,
    /// Open while the address says nothing of the panels.
    default_open: Signal<bool>,
    summary: Signal<String>,
    children: Children,
) -> impl IntoView {
    let open = Memo::new(move |_| {
        view.with(|view| view.panel_open(id))
            .unwrap_or_else(|| default_open.get())
    });
    let details = NodeRef::<leptos::html::Details>::new();
    let navigate = use_navigate();
    let on_toggle = move |_| {
        let Some(element) = details.get_untracked() else {
            return;
        };
        let now_open = element.open();
        if now_open == open.get_untracked() {
            return;
        }
        // What the others show now (defaults included) becomes explicit, with this one changed.
        let next = view
            .get_untracked()
            .with_panel(&panels_open_but(id), id, now_open);
        navigate(&format!("?{}", next.to_query_string()), quiet());
    };
    let heading = format!("ops-panel-{id}-title");
    view! {
        <details
            class="ops-panel"
            data-panel=id
            open=move || open.get()
            node_ref=details
            on:toggle=on_toggle
        >
            <summary class="ops-panel__summary">
                <h2 class="ops-panel__title" id=heading>
                    {title}
                </h2>
                <span class="ops-panel__state" data-testid=format!("{id}-summary")>
                    {move || summary.get()}
                </span>
            </summary>
            <div class="ops-panel__body">{children()}</div>
        </details>
    }
}

/// The panels open on the page now, `id` aside (browser only): what the address says, or the
/// defaults while it says nothing, as each disclosure shows it.
fn panels_open_but(id: &str) -> Vec<&'static str> {
    let document = leptos::prelude::document();
    PANELS
        .into_iter()
        .filter(|other| *other != id)
        .filter(|other| {
            document
                .query_selector(&format!("details.ops-panel[data-panel=\"{other}\"]"))
                .ok()
                .flatten()
                .is_some_and(|element| element.has_attribute("open"))
        })
        .collect()
}
