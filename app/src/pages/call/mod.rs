//! `/dashboard/calls/{id}`: one call's whole story — who, when, how it ended and what it cost,
//! the recording, the conversation with the agent's response times, the event timeline and the
//! metadata — complete as the server renders it, with a JSON download.
//!
//! While the call is active the page is live, hydrated by a bundle of its own (see
//! [`super`]): it joins the call's room on `/ws`, and each write's turns, log entries and row
//! arrive pushed and are put in place ([`CallDetailResponse::apply`]); the page says when the
//! call ends. Without JavaScript it is the page as loaded.
//!
//! The call is scoped like every read: another tenant's call is the same 404 as a missing one,
//! and so is its room.

pub mod parts;

use std::rc::Rc;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use self::parts::{CallHeader, EventTimeline, HeartbeatNote, MetadataTree, Recording, Transcript};
use crate::{
    clock::Clock,
    components::{
        connection_badge::ConnectionBadge,
        panel::{Failed, Loading, Panel},
    },
    dto::{
        call_detail::{CallDetailResponse, call_href},
        error::DataError,
        live::SocketQuery,
    },
    http_status::set_not_found,
    live::{ConnectionState, LiveFeed, client as live_client},
    server_fns,
};

#[component]
pub fn CallPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|params| params.get("id").unwrap_or_default()));
    let detail = Resource::new(move || id.get(), server_fns::call_detail);
    let clock = Clock::start();
    let (connection, set_connection) = signal(ConnectionState::Connecting);
    let feed = RwSignal::new(LiveFeed::default());
    let watching = StoredValue::new(false);
    // Browser only (Effects do not run on the server): watch the call while it is active.
    Effect::new(move |_| {
        let active = detail.with(|loaded| matches!(loaded, Some(Ok(loaded)) if is_active(loaded)));
        if active && !watching.get_value() {
            watching.set_value(true);
            let query = SocketQuery {
                call: Some(id.get_untracked()),
                ..SocketQuery::default()
            };
            // Once the call has ended nothing more will come: the socket is let go.
            let ended = |feed: &LiveFeed| feed.call().is_some_and(|call| !is_active(call));
            live_client::connect_until(
                query,
                set_connection,
                feed,
                Rc::new(|_| {}),
                Rc::new(ended),
            );
        }
    });
    // Memos: several parts read the call, and the feed is copied out once per push.
    let live = Memo::new(move |_| feed.with(|feed| feed.call().cloned()));
    // Fixed, not a closure over `id`: the head is rendered after the route's first render may
    // have been disposed (a 500 once, reading the disposed memo), and the id of this page never
    // changes without a full load (links to it are `rel="external"`).
    let title = format!("Call {} · Switchboard", id.get_untracked());

    view! {
        <Title text=title />
        <header class="topbar">
            <div class="topbar__brand">
                <span class="topbar__logo" aria-hidden="true">
                    "☎"
                </span>
                <a class="topbar__title" href="/dashboard/realtime" rel="external">
                    "Switchboard"
                </a>
                <span class="topbar__subtitle">"Call"</span>
            </div>
        </header>
        <main class="call-page">
            <nav class="call-page__back">
                <a href="/dashboard/realtime#recent-calls" rel="external">"← Recent calls"</a>
            </nav>
            <Transition fallback=Loading>
                {move || {
                    detail
                        .get()
                        .map(|loaded| match loaded {
                            Ok(loaded) => view! { <CallView loaded live=live.into() connection clock /> }.into_any(),
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

fn is_active(detail: &CallDetailResponse) -> bool {
    detail.call.is_active()
}

/// Everything about one call: as loaded, then (header, conversation and timeline) as pushed
/// while the page watches it. The recording and the metadata stay as loaded, so that a push
/// never restarts the player.
#[component]
fn CallView(
    loaded: CallDetailResponse,
    live: Signal<Option<CallDetailResponse>>,
    connection: ReadSignal<ConnectionState>,
    clock: Clock,
) -> impl IntoView {
    let download = format!("{}.json", loaded.call.id);
    // The page's REST twin: the same path under /api.
    let json_href = format!("/api{}", call_href(&loaded.call.id));
    let metadata = loaded.call.call_metadata.clone();
    let recording = loaded.call.recording_url.clone();
    let was_active = is_active(&loaded);
    let loaded = StoredValue::new(loaded);
    let shown = Memo::new(move |_| live.get().unwrap_or_else(|| loaded.get_value()));
    let ended_while_watched = move || was_active && !shown.with(is_active);
    // Each section follows only its part of the call, so a heartbeat's push redraws no turn.
    let turns = Memo::new(move |_| shown.with(|shown| shown.turns.clone()));
    let latency = Memo::new(move |_| shown.with(|shown| shown.response_latency));
    let heartbeats = Memo::new(move |_| shown.with(|shown| shown.heartbeats.clone()));
    let log = Memo::new(move |_| shown.with(|shown| (shown.events.clone(), shown.events_dropped)));
    view! {
        {move || shown.with(is_active).then(|| view! {
            <div class="call-page__live">
                <ConnectionBadge state=connection updated=Signal::derive(|| None::<String>) />
            </div>
        })}
        {move || ended_while_watched().then(|| view! {
            <p class="call-page__ended" role="status" data-testid="call-ended">
                "This call has ended."
            </p>
        })}
        {move || view! { <CallHeader detail=shown.get() clock /> }}
        <div class="panels">
            {recording.map(|url| view! { <Recording url /> })}
            <Panel title="Conversation" id="transcript" wide=true>
                <Transcript turns latency clock />
            </Panel>
            <Panel title="Timeline" id="timeline" wide=true>
                <HeartbeatNote heartbeats />
                <EventTimeline log clock />
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
