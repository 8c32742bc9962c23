//! What an operator asks of the DLQ or reconciliation: confirmed in place, then said what happened.

use leptos::prelude::*;

use crate::dto::admin::DlqActionResponse;

/// What an operator is about to do, waiting for a "yes".
#[derive(Clone, Debug, PartialEq)]
pub enum Intent {
    Retry(i64),
    Discard(i64),
    RetryAll(i64),
    RunNow,
}

impl Intent {
    pub fn question(&self) -> String {
        match self {
            Self::Retry(id) => format!("Retry message #{id} now?"),
            Self::Discard(id) => {
                format!("Discard message #{id}? Its event will never be written.")
            }
            Self::RetryAll(depth) => format!("Retry all {depth} messages now?"),
            Self::RunNow => "Start a reconciliation run now?".to_owned(),
        }
    }

    pub fn yes(&self) -> &'static str {
        match self {
            Self::Retry(_) => "Yes, retry",
            Self::Discard(_) => "Yes, discard",
            Self::RetryAll(_) => "Yes, retry all",
            Self::RunNow => "Yes, run now",
        }
    }

    pub fn done(&self, answer: &DlqActionResponse) -> String {
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
pub struct Outcome {
    pub ok: bool,
    pub text: String,
}

/// The question, with "yes" focused so a thumb or Enter confirms and Escape / "Cancel" backs
/// out.
#[component]
pub fn Confirm(intent: Intent, on_yes: Callback<Intent>, on_no: Callback<()>) -> impl IntoView {
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
pub fn OutcomeLine(outcome: RwSignal<Option<Outcome>>) -> impl IntoView {
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
