//! The reconciliation panel: recent runs, and "Run now".

use leptos::{prelude::*, task::spawn_local};

use crate::{
    clock::{self, Clock, duration},
    components::panel::{Empty, Failed, Loading},
    dto::{
        admin::{ReconciliationStatusResponse, ReconciliationSummary, RunStatus},
        error::DataError,
    },
    server_fns,
};

use super::actions::{Confirm, Intent, Outcome, OutcomeLine};

/// Reconciliation: the schedule, "Run now" (confirmed, then followed live) and the history.
#[component]
pub fn RunsPanel(
    runs: Resource<Result<ReconciliationStatusResponse, DataError>>,
    /// Whether the viewer may start a run.
    can_run: bool,
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
            {can_run
                .then(|| {
                    view! {
                        <button type="button" class="button button--primary" data-testid="run-now" on:click=ask>
                            "Run now"
                        </button>
                    }
                })}
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

pub(super) fn repairs_words(run: &ReconciliationSummary) -> String {
    run.repairs_words()
        .unwrap_or_else(|| "nothing to repair".to_owned())
}

#[component]
pub fn RunsTable(history: Vec<ReconciliationSummary>, clock: Clock) -> impl IntoView {
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

pub(super) fn run_status_words(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Running => "◌ running",
        RunStatus::Succeeded => "● succeeded",
        RunStatus::Failed => "■ failed",
    }
}
