//! What an admin sees above the customer view: which tenant the page shows (a plain GET form,
//! so the page and its live link load again for that tenant) and four ops cards — live calls
//! with their heartbeat health, the dead-letter queue, the last reconciliation and the system's
//! health. The cards show the live link's ops room once it has it and the server's answer
//! before; words and icons carry every state, colour only repeats them.

use leptos::prelude::*;

use crate::{
    clock::{self, Clock},
    components::recent_calls::PanelsKept,
    dto::{
        admin::{AuditEntry, ReconciliationSummary, RunStatus, SystemHealth, TenantsResponse},
        auth::Role,
        error::DataError,
        health::HealthStatus,
        live::{DlqSummary, OpsState},
        query::PageQuery,
    },
    live::LiveFeed,
    ops::panels::OpsPanels,
    server_fns,
};

/// The admin's board: the tenant picker for the toolbar, and the ops cards and panels for above
/// the customer view. Its data comes from server functions of its own, never asked by a tenant.
pub fn board(
    role: Role,
    view: Memo<PageQuery>,
    feed: RwSignal<LiveFeed>,
    audit_live: RwSignal<Vec<AuditEntry>>,
    clock: Clock,
) -> (AnyView, AnyView) {
    let tenants = Resource::new(|| (), |_| server_fns::tenants());
    let health = Resource::new(|| (), |_| server_fns::health());
    let live_ops = move || feed.with(|feed| feed.ops().map(OpsFigures::from_ops));
    // The verdict is the server's: asked again when what it is made of moved.
    Effect::watch(
        move || live_ops().map(|figures| figures.health_basis()),
        move |basis, _, _| {
            let shown = health
                .get_untracked()
                .and_then(Result::ok)
                .map(|health| OpsFigures::from_health(&health).health_basis());
            if basis.is_some() && shown != *basis {
                health.refetch();
            }
        },
        false,
    );
    let figures = Signal::derive(move || {
        live_ops().or_else(|| {
            health
                .get()
                .and_then(Result::ok)
                .map(|health| OpsFigures::from_health(&health))
        })
    });
    (
        view! { <TenantPicker view tenants /> }.into_any(),
        view! {
            <Transition>
                <OpsCards figures health clock />
            </Transition>
            <OpsPanels view feed audit_live tenants role clock />
        }
        .into_any(),
    )
}

/// The ops figures the cards show, from the live link or from the health answer.
#[derive(Clone, Debug, PartialEq)]
pub struct OpsFigures {
    pub active: usize,
    pub warning: usize,
    pub stale: usize,
    /// `None` when the queue could not be read.
    pub dlq: Option<DlqSummary>,
    pub last_run: Option<ReconciliationSummary>,
}

impl OpsFigures {
    pub fn from_ops(ops: &OpsState) -> Self {
        Self {
            active: ops.live.count,
            warning: ops.live.warning_count,
            stale: ops.live.stale_count,
            dlq: Some(ops.dlq),
            last_run: ops.last_reconciliation.clone(),
        }
    }

    pub fn from_health(health: &SystemHealth) -> Self {
        Self {
            active: health.active_calls,
            warning: health.warning_calls,
            stale: health.stale_calls,
            dlq: health
                .dlq_depth
                .zip(health.dlq_final_failures)
                .map(|(depth, final_failures)| DlqSummary {
                    depth,
                    final_failures,
                }),
            last_run: health.last_reconciliation.clone(),
        }
    }

    /// What the health verdict is made of (besides the database and Redis): when it moves, the
    /// verdict is asked again.
    pub fn health_basis(&self) -> (usize, Option<i64>, Option<(String, RunStatus)>) {
        (
            self.stale,
            self.dlq.map(|dlq| dlq.final_failures),
            self.last_run
                .as_ref()
                .map(|run| (run.id.clone(), run.status)),
        )
    }
}

/// The tenant the page shows: every tenant, or one, by business name.
#[component]
pub fn TenantPicker(
    view: Memo<PageQuery>,
    tenants: Resource<Result<TenantsResponse, DataError>>,
) -> impl IntoView {
    let chosen = move || view.with(|view| view.calls.user_id.clone());
    view! {
        // A native form, not the router's: a new tenant is a new page, live link included.
        <form class="tenant-picker" method="get" action="/dashboard/realtime" data-testid="tenant-picker">
            <input type="hidden" name="period" value=move || view.get().period().key() />
            <PanelsKept view />
            <label class="field">
                <span class="field__label">"Tenant"</span>
                <select name="user_id">
                    <option value="" selected=move || chosen().is_none()>
                        "All tenants"
                    </option>
                    <Transition>
                        {move || {
                            tenants
                                .get()
                                .and_then(Result::ok)
                                .map(|loaded| {
                                    loaded
                                        .tenants
                                        .into_iter()
                                        .map(|tenant| {
                                            let label = if tenant.name == tenant.id {
                                                tenant.id.clone()
                                            } else {
                                                format!("{} ({})", tenant.name, tenant.id)
                                            };
                                            let id = tenant.id.clone();
                                            view! {
                                                <option
                                                    value=tenant.id
                                                    selected=move || chosen().as_deref() == Some(id.as_str())
                                                >
                                                    {label}
                                                </option>
                                            }
                                        })
                                        .collect_view()
                                })
                        }}
                    </Transition>
                </select>
            </label>
            <button type="submit" class="button">
                "Show"
            </button>
        </form>
    }
}

/// The four ops cards.
#[component]
pub fn OpsCards(
    /// The figures; `None` until either source has them.
    figures: Signal<Option<OpsFigures>>,
    health: Resource<Result<SystemHealth, DataError>>,
    clock: Clock,
) -> impl IntoView {
    let active = move || {
        figures.get().map(|figures| {
            let tone = if figures.stale > 0 {
                "bad"
            } else if figures.warning > 0 {
                "warn"
            } else {
                "ok"
            };
            (
                figures.active.to_string(),
                format!("{} warning · {} stale", figures.warning, figures.stale),
                tone,
            )
        })
    };
    let dlq = move || {
        figures.get().map(|figures| match figures.dlq {
            Some(dlq) if dlq.depth > 0 => (
                dlq.depth.to_string(),
                format!(
                    "▲ waiting to be written · {} failed for good",
                    dlq.final_failures
                ),
                "bad",
            ),
            Some(_) => ("0".to_owned(), "● nothing waiting".to_owned(), "ok"),
            None => ("?".to_owned(), "▲ could not be read".to_owned(), "warn"),
        })
    };
    let last_run = move || {
        figures.get().map(|figures| match figures.last_run {
            None => ("never".to_owned(), "no run yet".to_owned(), "warn"),
            Some(run) => {
                let age = clock::ago(clock.seconds_since(run.started_at));
                match run.status {
                    RunStatus::Running => (age, "◌ running now".to_owned(), "ok"),
                    RunStatus::Failed => (
                        age,
                        format!(
                            "■ failed: {}",
                            run.error.as_deref().unwrap_or("no reason given")
                        ),
                        "bad",
                    ),
                    RunStatus::Succeeded => (age, repairs(&run), "ok"),
                }
            }
        })
    };
    let verdict = move || {
        health.get().map(|loaded| match loaded {
            Ok(health) => {
                let (word, tone) = match health.status {
                    HealthStatus::Healthy => ("● Healthy", "ok"),
                    HealthStatus::Degraded => ("▲ Degraded", "warn"),
                    HealthStatus::Down => ("■ Down", "bad"),
                };
                let why = if health.reasons.is_empty() {
                    "every check passed".to_owned()
                } else {
                    health.reasons.join("; ")
                };
                (word.to_owned(), why, tone)
            }
            Err(error) => (
                "?".to_owned(),
                format!("could not be checked: {error}"),
                "warn",
            ),
        })
    };
    view! {
        <section class="metrics ops-cards" aria-labelledby="ops-heading" data-testid="ops-cards">
            <h2 id="ops-heading" class="visually-hidden">
                "Operations"
            </h2>
            <OpsCard label="Live calls" id="ops-active" shown=Signal::derive(active) />
            <OpsCard label="Dead-letter queue" id="ops-dlq" shown=Signal::derive(dlq) />
            <OpsCard label="Last reconciliation" id="ops-reconciliation" shown=Signal::derive(last_run) />
            <OpsCard label="System health" id="ops-health" shown=Signal::derive(verdict) />
        </section>
    }
}

/// What a finished run repaired, in words, for the card.
fn repairs(run: &ReconciliationSummary) -> String {
    match run.repairs_words() {
        Some(done) => format!("● repaired {done}"),
        None => "● nothing to repair".to_owned(),
    }
}

/// One ops card: a value, a line saying what it means, and a tone (`ok`, `warn`, `bad`) that
/// only repeats what the words say.
#[component]
fn OpsCard(
    label: &'static str,
    id: &'static str,
    shown: Signal<Option<(String, String, &'static str)>>,
) -> impl IntoView {
    let part = move |pick: fn((String, String, &'static str)) -> String| {
        move || shown.get().map(pick).unwrap_or_else(|| "—".to_owned())
    };
    view! {
        <article
            class="metric-card ops-card"
            data-metric=id
            data-tone=move || shown.get().map(|(_, _, tone)| tone).unwrap_or("none")
        >
            <h3 class="metric-card__label">{label}</h3>
            <p class="metric-card__value">{part(|(value, _, _)| value)}</p>
            <p class="ops-card__detail">{part(|(_, detail, _)| detail)}</p>
        </article>
    }
}
