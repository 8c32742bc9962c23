//! `/dashboard/calls/{id}`: one call's whole story — who, when, how it ended and what it cost,
//! the recording, the conversation with the agent's response times, the event timeline and the
//! metadata — rendered by the server only, complete, with a JSON download (see
//! [`super::SERVER_ONLY_FOLDERS`]).
//!
//! The call is scoped like every read: another tenant's call is the same 404 as a missing one.

pub mod parts;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use self::parts::{CallHeader, EventTimeline, MetadataTree, Recording, Transcript};
use crate::{
    clock::Clock,
    components::panel::{Failed, Loading, Panel},
    dto::{
        call_detail::{CallDetailResponse, call_href},
        error::DataError,
    },
    http_status::set_not_found,
    server_fns,
};

#[component]
pub fn CallPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|params| params.get("id").unwrap_or_default()));
    let detail = Resource::new(move || id.get(), server_fns::call_detail);
    let clock = Clock::start();

    view! {
        <Title text=move || format!("Call {} · Switchboard", id.get()) />
        <header class="topbar">
            <div class="topbar__brand">
                <span class="topbar__logo" aria-hidden="true">
                    "☎"
                </span>
                <a class="topbar__title" href="/dashboard/realtime">
                    "Switchboard"
                </a>
                <span class="topbar__subtitle">"Call"</span>
            </div>
        </header>
        <main class="call-page">
            <nav class="call-page__back">
                <a href="/dashboard/realtime#recent-calls">"← Recent calls"</a>
            </nav>
            <Transition fallback=Loading>
                {move || {
                    detail
                        .get()
                        .map(|loaded| match loaded {
                            Ok(loaded) => view! { <CallView detail=loaded clock /> }.into_any(),
                            Err(DataError::NotFound(_)) => {
                                set_not_found();
                                view! {
                                    <section class="panel" data-testid="call-missing">
                                        <h1>"No such call"</h1>
                                        <p>"There is no call " <code>{id.get()}</code> " among the calls you can see."</p>
                                    </section>
                                }
                                    .into_any()
                            }
                            Err(error) => view! { <Failed error /> }.into_any(),
                        })
                }}
            </Transition>
        </main>
    }
}

/// Everything about one call, as loaded.
#[component]
fn CallView(detail: CallDetailResponse, clock: Clock) -> impl IntoView {
    let download = format!("{}.json", detail.call.id);
    // The page's REST twin: the same path under /api.
    let json_href = format!("/api{}", call_href(&detail.call.id));
    let metadata = detail.call.call_metadata.clone();
    let recording = detail.call.recording_url.clone();
    let (turns, latency) = (detail.turns.clone(), detail.response_latency);
    view! {
        <CallHeader detail=detail.clone() clock />
        <div class="panels">
            {recording.map(|url| view! { <Recording url /> })}
            <Panel title="Conversation" id="transcript" wide=true>
                <Transcript turns latency clock />
            </Panel>
            <Panel title="Timeline" id="timeline" wide=true>
                <EventTimeline detail clock />
            </Panel>
            <Panel
                title="Metadata"
                id="metadata"
                wide=true
                actions=move || {
                    view! {
                        <a
                            class="button"
                            href=json_href.clone()
                            download=download.clone()
                            rel="external"
                            data-testid="download-json"
                        >
                            "Download JSON"
                        </a>
                    }
                }
            >
                <MetadataTree metadata />
            </Panel>
        </div>
    }
}
