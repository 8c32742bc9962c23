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

use leptos::{prelude::*, task::spawn_local};
use leptos_router::{NavigateOptions, hooks::use_navigate};

use crate::{
    clock::{self, Clock, duration},
    components::panel::{Empty, Failed, Loading},
    dto::{
        admin::{
            AuditEntry, AuditLogResponse, DlqActionResponse, DlqMessage, DlqResponse, FailureKind,
            LiveCallHealth, ReconciliationStatusResponse, ReconciliationSummary, RunStatus,
            TenantsResponse,
        },
        calls::HeartbeatHealth,
        error::DataError,
        live::DlqSummary,
        query::{AuditQuery, DlqQuery, PageQuery, RunsQuery, TenantQuery},
    },
    live::LiveFeed,
    server_fns,
};

/// The panels, by the id the address uses.
const PANELS: [&str; 4] = ["calls", "dlq", "runs", "audit"];
/// Audit entries shown (the newest).
const AUDIT_SHOWN: usize = 50;
/// Characters of a DLQ error shown before "more".
const ERROR_SHOWN: usize = 80;

/// The four panels, fed by their server functions and then by the live link's ops room.
#[component]
pub fn OpsPanels(
    view: Memo<PageQuery>,
    feed: RwSignal<LiveFeed>,
    /// Audit entries pushed since the page loaded, newest first.
    audit_live: RwSignal<Vec<AuditEntry>>,
    tenants: Resource<Result<TenantsResponse, DataError>>,
    clock: Clock,
) -> impl IntoView {
    let live_calls = Resource::new(TenantQuery::default, server_fns::live_calls);
    let dlq = Resource::new(DlqQuery::default, server_fns::dlq);
    let runs = Resource::new(RunsQuery::default, server_fns::reconciliation);
    let audit = Resource::new(
        || AuditQuery {
            limit: Some(AUDIT_SHOWN as u32),
            cursor: None,
        },
        server_fns::audit_log,
    );
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

    // Memos: each is read by several parts of its panel, and sorting or copying once is enough.
    let calls = Memo::new(move |_| {
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
    let names = Memo::new(move |_| {
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
                <DlqPanel dlq names clock />
            </Disclosure>
            <Disclosure
                id="runs"
                title="Reconciliation"
                view
                default_open=Signal::stored(false)
                summary=runs_summary
            >
                <RunsPanel runs clock />
            </Disclosure>
            <Disclosure
                id="audit"
                title="Audit log"
                view
                default_open=Signal::stored(false)
                summary=Signal::stored("newest first".to_owned())
            >
                <AuditPanel audit audit_live clock />
            </Disclosure>
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

fn run_status_words(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Running => "◌ running",
        RunStatus::Succeeded => "● succeeded",
        RunStatus::Failed => "■ failed",
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

/// Live calls across tenants: stale first and called out, with ticking ages.
#[component]
fn LiveCallsTable(calls: Memo<Vec<LiveCallHealth>>, clock: Clock) -> impl IntoView {
    let stale = move || {
        calls.with(|calls| {
            calls
                .iter()
                .filter(|call| call.health == HeartbeatHealth::Stale)
                .count()
        })
    };
    view! {
        <Show
            when=move || calls.with(|calls| !calls.is_empty())
            fallback=|| view! { <Empty message="No live calls right now." /> }
        >
            <Show when=move || { stale() > 0 }>
                <p class="ops-callout" data-testid="stale-callout">
                    {move || {
                        let stale = stale();
                        format!(
                            "■ {stale} call{} stopped sending heartbeats: stale",
                            if stale == 1 { "" } else { "s" },
                        )
                    }}
                </p>
            </Show>
            <div class="table-scroll">
                <table class="rows" data-testid="live-calls">
                    <thead>
                        <tr>
                            <th scope="col">"Health"</th>
                            <th scope="col">"Tenant"</th>
                            <th scope="col">"Phone"</th>
                            <th scope="col">"Agent"</th>
                            <th scope="col">"Started"</th>
                            <th scope="col" class="num">"Duration"</th>
                            <th scope="col" class="num">"Last heartbeat"</th>
                        </tr>
                    </thead>
                    <tbody>
                        <For
                            each=move || calls.get()
                            key=|call| (call.call.id.clone(), call.health, call.last_heartbeat_at)
                            let(call)
                        >
                            <LiveCallRow call clock />
                        </For>
                    </tbody>
                </table>
            </div>
        </Show>
    }
}

#[component]
fn LiveCallRow(call: LiveCallHealth, clock: Clock) -> impl IntoView {
    let started_at = call.call.started_at;
    let heard_at = call.last_heartbeat_at.unwrap_or(started_at);
    let health = call.health;
    view! {
        <tr data-call-id=call.call.id.clone() data-health=health.label()>
            <td data-label="Health" class="health" data-tone=health.label()>
                <span aria-hidden="true">{health.icon()}</span>
                " "
                {health.label()}
            </td>
            <td data-label="Tenant">{call.business_name.clone()}</td>
            <td data-label="Phone" class="mono">
                {call.call.phone_number.clone().unwrap_or_else(|| "—".into())}
            </td>
            <td data-label="Agent">{call.call.agent_config_id.clone().unwrap_or_else(|| "—".into())}</td>
            <td data-label="Started">
                <time datetime=clock::machine(started_at)>{move || clock.time_of(started_at)}</time>
            </td>
            <td data-label="Duration" class="num">
                {move || duration(clock.seconds_since(started_at))}
            </td>
            <td data-label="Last heartbeat" class="num" data-testid="heartbeat-age">
                {move || format!("{} s ago", clock.seconds_since(heard_at))}
            </td>
        </tr>
    }
}

/// What an operator is about to do, waiting for a "yes".
#[derive(Clone, Debug, PartialEq)]
enum Intent {
    Retry(i64),
    Discard(i64),
    RetryAll(i64),
    RunNow,
}

impl Intent {
    fn question(&self) -> String {
        match self {
            Self::Retry(id) => format!("Retry message #{id} now?"),
            Self::Discard(id) => {
                format!("Discard message #{id}? Its event will never be written.")
            }
            Self::RetryAll(depth) => format!("Retry all {depth} messages now?"),
            Self::RunNow => "Start a reconciliation run now?".to_owned(),
        }
    }

    fn yes(&self) -> &'static str {
        match self {
            Self::Retry(_) => "Yes, retry",
            Self::Discard(_) => "Yes, discard",
            Self::RetryAll(_) => "Yes, retry all",
            Self::RunNow => "Yes, run now",
        }
    }

    fn done(&self, answer: &DlqActionResponse) -> String {
        let left = format!("{} left in the queue.", answer.depth);
        match self {
            Self::Retry(id) => format!("Message #{id} is being retried. {left}"),
            Self::Discard(id) => format!("Message #{id} was discarded. {left}"),
            _ => format!("{} message(s) are being retried. {left}", answer.affected),
        }
    }
}

/// What the last action came to: words, and whether it worked.
#[derive(Clone, Debug, PartialEq)]
struct Outcome {
    ok: bool,
    text: String,
}

/// The question, with "yes" focused so a thumb or Enter confirms and Escape / "Cancel" backs
/// out.
#[component]
fn Confirm(intent: Intent, on_yes: Callback<Intent>, on_no: Callback<()>) -> impl IntoView {
    let yes = NodeRef::<leptos::html::Button>::new();
    Effect::new(move |_| {
        if let Some(button) = yes.get() {
            let _ = button.focus();
        }
    });
    let question = intent.question();
    let label = intent.yes();
    view! {
        <div
            class="confirm"
            role="group"
            aria-label="Confirm"
            data-testid="confirm"
            on:keydown=move |event| {
                if event.key() == "Escape" {
                    on_no.run(());
                }
            }
        >
            <p class="confirm__question">{question}</p>
            <div class="confirm__actions">
                <button
                    type="button"
                    class="button button--primary"
                    node_ref=yes
                    on:click=move |_| on_yes.run(intent.clone())
                >
                    {label}
                </button>
                <button type="button" class="button" on:click=move |_| on_no.run(())>
                    "Cancel"
                </button>
            </div>
        </div>
    }
}

/// The last action's result, announced politely.
#[component]
fn OutcomeLine(outcome: RwSignal<Option<Outcome>>) -> impl IntoView {
    view! {
        <p
            class="ops-result"
            role="status"
            data-testid="action-result"
            data-tone=move || outcome.get().map(|outcome| if outcome.ok { "ok" } else { "bad" })
        >
            {move || outcome.get().map(|outcome| outcome.text)}
        </p>
    }
}

/// The dead-letter queue, oldest first, with retry / retry all / discard.
#[component]
fn DlqPanel(
    dlq: Resource<Result<DlqResponse, DataError>>,
    names: Memo<Vec<(String, String)>>,
    clock: Clock,
) -> impl IntoView {
    let pending = RwSignal::new(None::<Intent>);
    let outcome = RwSignal::new(None::<Outcome>);
    let ask = Callback::new(move |intent: Intent| {
        outcome.set(None);
        pending.set(Some(intent));
    });
    let run = Callback::new(move |intent: Intent| {
        pending.set(None);
        spawn_local(async move {
            let answer = match &intent {
                Intent::Retry(id) => server_fns::dlq_retry(id.to_string()).await,
                Intent::Discard(id) => server_fns::dlq_discard(id.to_string()).await,
                _ => server_fns::dlq_retry_all().await,
            };
            outcome.set(Some(match answer {
                Ok(answer) => Outcome {
                    ok: true,
                    text: intent.done(&answer),
                },
                Err(error) => Outcome {
                    ok: false,
                    text: format!("Not done: {error}"),
                },
            }));
            dlq.refetch();
        });
    });
    let cancel = Callback::new(move |()| pending.set(None));
    view! {
        <Transition fallback=Loading>
            {move || {
                dlq.get()
                    .map(|loaded| match loaded {
                        Err(error) => view! { <Failed error /> }.into_any(),
                        Ok(loaded) if loaded.messages.is_empty() => {
                            view! { <Empty message="Nothing waiting: every write went through." /> }
                                .into_any()
                        }
                        Ok(loaded) => {
                            let depth = loaded.depth;
                            let shown = loaded.messages.len() as i64;
                            view! {
                                <div class="ops-panel__actions">
                                    <button
                                        type="button"
                                        class="button"
                                        data-testid="retry-all"
                                        on:click=move |_| ask.run(Intent::RetryAll(depth))
                                    >
                                        {format!("Retry all ({depth})")}
                                    </button>
                                    {(depth > shown)
                                        .then(|| {
                                            view! {
                                                <span class="ops-panel__note">
                                                    {format!("the oldest {shown} of {depth} shown")}
                                                </span>
                                            }
                                        })}
                                </div>
                                <ul class="dlq-list" data-testid="dlq-messages">
                                    {loaded
                                        .messages
                                        .into_iter()
                                        .map(|message| view! { <DlqItem message names clock ask /> })
                                        .collect_view()}
                                </ul>
                            }
                                .into_any()
                        }
                    })
            }}
        </Transition>
        {move || {
            pending.get().map(|intent| view! { <Confirm intent on_yes=run on_no=cancel /> })
        }}
        <OutcomeLine outcome />
    }
}

#[component]
fn DlqItem(
    message: DlqMessage,
    names: Memo<Vec<(String, String)>>,
    clock: Clock,
    ask: Callback<Intent>,
) -> impl IntoView {
    let id = message.id;
    let tenant = message.user_id.clone();
    let tenant_name = move || {
        names.with(|names| {
            names
                .iter()
                .find(|(id, _)| *id == tenant)
                .filter(|(id, name)| id != name)
                .map_or_else(|| tenant.clone(), |(id, name)| format!("{name} ({id})"))
        })
    };
    let error = message.error.clone();
    let short: String = error.chars().take(ERROR_SHOWN).collect();
    let error_view = if short.len() < error.len() {
        view! {
            <details class="dlq-item__error">
                <summary>{format!("{short}…")}</summary>
                <p>{error}</p>
            </details>
        }
        .into_any()
    } else {
        view! { <p class="dlq-item__error">{error}</p> }.into_any()
    };
    let next_retry = message.next_retry_at;
    let retry_state = move || match next_retry {
        _ if message.final_failure => "no more automatic retries".to_owned(),
        Some(at) => {
            let left = (at - clock.now.get()).whole_seconds();
            if left > 0 {
                format!("next retry in {}", duration(left))
            } else {
                "retrying now".to_owned()
            }
        }
        None => "waiting".to_owned(),
    };
    view! {
        <li class="dlq-item" data-message-id=id data-final=message.final_failure.to_string()>
            <div class="dlq-item__head">
                <span class="dlq-item__id">{format!("#{id}")}</span>
                <span class="mono">{message.call_id.clone()}</span>
                <span>{tenant_name}</span>
                <span class="dlq-item__type">{message.event_type.clone()}</span>
                {message
                    .final_failure
                    .then(|| {
                        view! {
                            <span class="badge badge--bad" data-testid="final-failure">
                                "■ Final failure"
                            </span>
                        }
                    })}
            </div>
            {error_view}
            <p class="dlq-item__retries">
                <span data-testid="waits-on" data-failure=message.failure.as_str()>
                    {match message.failure {
                        FailureKind::Outage => "◌ Waits for the database (no attempt spent)",
                        FailureKind::Refusal => "✕ Refused by the database",
                    }}
                </span>
                " · "
                <span data-testid="retries">
                    {format!("retries {}/{}", message.attempts, message.max_attempts)}
                </span>
                " · "
                <span data-testid="next-retry">{retry_state}</span>
            </p>
            <div class="dlq-item__actions">
                <button type="button" class="button" on:click=move |_| ask.run(Intent::Retry(id))>
                    "Retry"
                </button>
                <button type="button" class="button" on:click=move |_| ask.run(Intent::Discard(id))>
                    "Discard"
                </button>
            </div>
        </li>
    }
}

/// Reconciliation: the schedule, "Run now" (confirmed, then followed live) and the history.
#[component]
fn RunsPanel(
    runs: Resource<Result<ReconciliationStatusResponse, DataError>>,
    clock: Clock,
) -> impl IntoView {
    let pending = RwSignal::new(None::<Intent>);
    let outcome = RwSignal::new(None::<Outcome>);
    let followed = RwSignal::new(None::<String>);
    let ask = move |_| {
        outcome.set(None);
        pending.set(Some(Intent::RunNow));
    };
    let run = Callback::new(move |_: Intent| {
        pending.set(None);
        spawn_local(async move {
            match server_fns::reconcile_now().await {
                Ok(started) => {
                    followed.set(Some(started.run_id));
                    runs.refetch();
                }
                Err(error) => outcome.set(Some(Outcome {
                    ok: false,
                    text: format!("Not started: {error}"),
                })),
            }
        });
    });
    let cancel = Callback::new(move |()| pending.set(None));
    // The followed run as the history shows it now.
    let followed_run = move || {
        let id = followed.get()?;
        let status = runs.get()?.ok()?;
        let found = status
            .running
            .iter()
            .chain(status.runs.iter())
            .find(|run| run.id == id)
            .cloned();
        Some((id, found))
    };
    view! {
        <div class="ops-panel__actions">
            <button type="button" class="button button--primary" data-testid="run-now" on:click=ask>
                "Run now"
            </button>
            <span class="ops-panel__note">
                {move || {
                    runs.get()
                        .and_then(Result::ok)
                        .map(|status| match status.schedule_interval_seconds {
                            0 => "the schedule is off".to_owned(),
                            every => format!("runs by itself every {}", duration(every as i64)),
                        })
                }}
            </span>
        </div>
        {move || {
            pending.get().map(|intent| view! { <Confirm intent on_yes=run on_no=cancel /> })
        }}
        {move || {
            followed_run()
                .map(|(id, run)| {
                    let short: String = id.chars().take(8).collect();
                    let text = match run {
                        None => format!("Run {short} started."),
                        Some(run) => {
                            match run.status {
                                RunStatus::Running => format!("Run {short} is running…"),
                                RunStatus::Succeeded => {
                                    format!("Run {short} succeeded: {}", repairs_words(&run))
                                }
                                RunStatus::Failed => {
                                    format!(
                                        "Run {short} failed: {}",
                                        run.error.as_deref().unwrap_or("no reason given"),
                                    )
                                }
                            }
                        }
                    };
                    view! {
                        <p class="ops-result" role="status" data-testid="followed-run" data-run-id=id>
                            {text}
                        </p>
                    }
                })
        }}
        <OutcomeLine outcome />
        <Transition fallback=Loading>
            {move || {
                runs.get()
                    .map(|loaded| match loaded {
                        Err(error) => view! { <Failed error /> }.into_any(),
                        Ok(status) => {
                            let history: Vec<ReconciliationSummary> = status
                                .running
                                .into_iter()
                                .chain(status.runs)
                                .collect();
                            if history.is_empty() {
                                return view! { <Empty message="No run yet." /> }.into_any();
                            }
                            view! { <RunsTable history clock /> }.into_any()
                        }
                    })
            }}
        </Transition>
    }
}

fn repairs_words(run: &ReconciliationSummary) -> String {
    run.repairs_words()
        .unwrap_or_else(|| "nothing to repair".to_owned())
}

#[component]
fn RunsTable(history: Vec<ReconciliationSummary>, clock: Clock) -> impl IntoView {
    view! {
        <div class="table-scroll">
            <table class="rows" data-testid="runs">
                <thead>
                    <tr>
                        <th scope="col">"Started"</th>
                        <th scope="col">"Trigger"</th>
                        <th scope="col">"Who"</th>
                        <th scope="col" class="num">"Took"</th>
                        <th scope="col">"Repairs"</th>
                        <th scope="col">"Status"</th>
                    </tr>
                </thead>
                <tbody>
                    {history
                        .into_iter()
                        .map(|run| {
                            let started_at = run.started_at;
                            let took = run
                                .finished_at
                                .map(|end| duration((end - started_at).whole_seconds()))
                                .unwrap_or_else(|| "—".to_owned());
                            let status = match &run.error {
                                Some(error) => format!("{}: {error}", run_status_words(run.status)),
                                None => run_status_words(run.status).to_owned(),
                            };
                            view! {
                                <tr data-run-id=run.id.clone() data-status=run.status.as_str()>
                                    <td data-label="Started">
                                        <time datetime=clock::machine(started_at)>
                                            {move || clock.time_of(started_at)}
                                        </time>
                                    </td>
                                    <td data-label="Trigger">{run.trigger.as_str()}</td>
                                    <td data-label="Who">
                                        {run.triggered_by.clone().unwrap_or_else(|| "schedule".into())}
                                    </td>
                                    <td data-label="Took" class="num">{took}</td>
                                    <td data-label="Repairs">{repairs_words(&run)}</td>
                                    <td data-label="Status">{status}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// The audit log, newest first: what was loaded, with what the live link added since on top.
#[component]
fn AuditPanel(
    audit: Resource<Result<AuditLogResponse, DataError>>,
    audit_live: RwSignal<Vec<AuditEntry>>,
    clock: Clock,
) -> impl IntoView {
    view! {
        <Transition fallback=Loading>
            {move || {
                audit
                    .get()
                    .map(|loaded| match loaded {
                        Err(error) => view! { <Failed error /> }.into_any(),
                        Ok(loaded) => {
                            let newest = loaded.entries.first().map_or(0, |entry| entry.id);
                            let mut entries: Vec<AuditEntry> = audit_live
                                .get()
                                .into_iter()
                                .filter(|entry| entry.id > newest)
                                .chain(loaded.entries)
                                .collect();
                            entries.truncate(AUDIT_SHOWN);
                            if entries.is_empty() {
                                return view! { <Empty message="Nothing recorded yet." /> }.into_any();
                            }
                            view! { <AuditTable entries clock /> }.into_any()
                        }
                    })
            }}
        </Transition>
    }
}

#[component]
fn AuditTable(entries: Vec<AuditEntry>, clock: Clock) -> impl IntoView {
    view! {
        <div class="table-scroll">
            <table class="rows" data-testid="audit">
                <thead>
                    <tr>
                        <th scope="col">"When"</th>
                        <th scope="col">"Who"</th>
                        <th scope="col">"Did"</th>
                        <th scope="col">"To"</th>
                        <th scope="col">"Result"</th>
                        <th scope="col">"From"</th>
                    </tr>
                </thead>
                <tbody>
                    {entries
                        .into_iter()
                        .map(|entry| {
                            let at = entry.at;
                            view! {
                                <tr data-audit-id=entry.id data-action=entry.action.clone()>
                                    <td data-label="When">
                                        <time datetime=clock::machine(at)>{move || clock.time_of(at)}</time>
                                    </td>
                                    <td data-label="Who">{format!("{} ({})", entry.actor, entry.role)}</td>
                                    <td data-label="Did">{entry.action.clone()}</td>
                                    <td data-label="To" class="mono">{entry.target.clone().unwrap_or_else(|| "—".into())}</td>
                                    <td data-label="Result">{entry.result.clone()}</td>
                                    <td data-label="From">{entry.client_addr.clone().unwrap_or_else(|| "—".into())}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}
