//! The dead-letter queue panel: its messages, and retrying or discarding them.

use leptos::{prelude::*, task::spawn_local};

use crate::{
    clock::{Clock, duration},
    components::panel::{Empty, Failed, Loading},
    dto::{
        admin::{DlqMessage, DlqResponse, FailureKind},
        error::DataError,
    },
    server_fns,
};

/// Characters of a DLQ error shown before "more".
const ERROR_SHOWN: usize = 80;

use super::actions::{Confirm, Intent, Outcome, OutcomeLine};

/// The dead-letter queue, oldest first, with retry / retry all / discard.
#[component]
pub fn DlqPanel(
    dlq: Resource<Result<DlqResponse, DataError>>,
    names: Signal<Vec<(String, String)>>,
    /// Whether the viewer may retry and discard (else the queue is shown read only).
    can_act: bool,
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
                                    {can_act
                                        .then(|| {
                                            view! {
                                                <button
                                                    type="button"
                                                    class="button"
                                                    data-testid="retry-all"
                                                    on:click=move |_| ask.run(Intent::RetryAll(depth))
                                                >
                                                    {format!("Retry all ({depth})")}
                                                </button>
                                            }
                                        })}
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
                                        .map(|message| view! { <DlqItem message names clock ask can_act /> })
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
pub fn DlqItem(
    message: DlqMessage,
    names: Signal<Vec<(String, String)>>,
    clock: Clock,
    ask: Callback<Intent>,
    can_act: bool,
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
            {can_act
                .then(|| {
                    view! {
                        <div class="dlq-item__actions">
                            <button type="button" class="button" on:click=move |_| ask.run(Intent::Retry(id))>
                                "Retry"
                            </button>
                            <button type="button" class="button" on:click=move |_| ask.run(Intent::Discard(id))>
                                "Discard"
                            </button>
                        </div>
                    }
                })}
        </li>
    }
}
