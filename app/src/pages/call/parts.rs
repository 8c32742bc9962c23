//! The call page's sections: header, recording, conversation, timeline and metadata.

use leptos::prelude::*;
use serde_json::Value;

use crate::{
    clock::{self, Clock, duration},
    components::panel::{Empty, Panel},
    dto::{
        call_detail::{CallDetailResponse, HeartbeatSummary, TimelineEvent, TurnEntry},
        ingest::{EventType, TurnRole},
        latency::ResponseLatency,
    },
};

/// Who, when, how it ended and what it cost.
#[component]
pub fn CallHeader(detail: CallDetailResponse, clock: Clock) -> impl IntoView {
    let call = detail.call;
    let active = call.is_active();
    let started_at = call.started_at;
    let ended_at = call.ended_at;
    let last_heartbeat = detail.heartbeats.last_at;
    let shown_duration = move || match (active, call.duration) {
        (true, _) => duration(clock.seconds_since(started_at)),
        (false, Some(seconds)) => duration(i64::from(seconds)),
        (false, None) => "—".to_owned(),
    };
    let status = if active {
        "active".to_owned()
    } else {
        call.outcome
            .as_deref()
            .map_or("ended".to_owned(), |outcome| outcome.replace('_', " "))
    };
    let agent = match (&detail.agent_name, &call.agent_config_id) {
        (Some(name), Some(id)) => format!("{name} ({id})"),
        (None, Some(id)) => id.clone(),
        _ => "—".to_owned(),
    };
    let cost = detail
        .cost
        .map(|cost| format!("{} {}", amount(cost.amount), cost.currency));
    let row = |label: &'static str, value: String| {
        view! {
            <div class="facts__item">
                <dt>{label}</dt>
                <dd>{value}</dd>
            </div>
        }
    };
    view! {
        <section class="call-head" aria-labelledby="call-title" data-status=if active { "active" } else { "ended" }>
            <h1 id="call-title" class="call-head__title">
                <span class="mono">{call.phone_number.clone().unwrap_or_else(|| "Unknown number".to_owned())}</span>
                <span class="call-head__direction">{call.direction.clone().unwrap_or_default()}</span>
            </h1>
            <p class="call-head__status" data-testid="call-status">
                <span class="status" data-status=if active { "active" } else { "ended" }>{status}</span>
                {detail.end_reason.clone().map(|reason| view! { <span class="call-head__reason">{reason.replace('_', " ")}</span> })}
                {active.then(|| view! {
                    <span class="call-head__beat" data-testid="heartbeat-age">
                        {move || match last_heartbeat {
                            Some(at) => format!("last heartbeat {}", clock::ago(clock.seconds_since(at))),
                            None => "no heartbeat yet".to_owned(),
                        }}
                    </span>
                })}
            </p>
            <dl class="facts">
                <div class="facts__item">
                    <dt>"Started"</dt>
                    <dd><time datetime=clock::machine(started_at)>{move || clock.moment(started_at)}</time></dd>
                </div>
                <div class="facts__item">
                    <dt>"Ended"</dt>
                    <dd>
                        {match ended_at {
                            Some(at) => view! { <time datetime=clock::machine(at)>{move || clock.moment(at)}</time> }.into_any(),
                            None => "—".into_any(),
                        }}
                    </dd>
                </div>
                <div class="facts__item">
                    <dt>"Duration"</dt>
                    <dd data-testid="call-duration">{shown_duration}</dd>
                </div>
                {row("Agent", agent)}
                {row("Cost", cost.unwrap_or_else(|| "—".to_owned()))}
                {row("Call id", call.id.clone())}
                {call.livekit_room_name.clone().map(|room| row("Room", room))}
                {call.sip_call_id.clone().map(|sip| row("SIP call id", sip))}
                <div class="facts__item">
                    <dt>"Times in"</dt>
                    <dd data-testid="call-zone">{move || clock.zone()}</dd>
                </div>
            </dl>
        </section>
    }
}

/// The recording, when its address is one a browser can play.
#[component]
pub fn Recording(url: String) -> impl IntoView {
    let playable = url.starts_with("https://") || url.starts_with("http://");
    view! {
        <Panel title="Recording" id="recording" wide=true>
            {if playable {
                view! {
                    <audio class="recording" controls preload="none" src=url.clone()></audio>
                    <p class="panel__note"><a href=url rel="external noopener">"Open the recording"</a></p>
                }
                    .into_any()
            } else {
                view! { <p class="panel__note">"Recorded at " <code>{url}</code></p> }.into_any()
            }}
        </Panel>
    }
}

/// The conversation, turn by turn, with each agent turn's response time. Keyed by turn: a
/// pushed turn adds its own item, the others stay as they are.
#[component]
pub fn Transcript(
    turns: Memo<Vec<TurnEntry>>,
    latency: Memo<Option<ResponseLatency>>,
    clock: Clock,
) -> impl IntoView {
    let summary = move || {
        latency.get().map(|latency| {
            view! {
                <p class="transcript__latency" data-testid="response-latency">
                    "Agent response time: p50 " <strong>{format!("{} ms", latency.p50_ms)}</strong>
                    ", p95 " <strong>{format!("{} ms", latency.p95_ms)}</strong>
                    {format!(" over {} answers", latency.samples)}
                </p>
            }
        })
    };
    view! {
        <Show
            when=move || turns.with(|turns| !turns.is_empty())
            fallback=|| view! { <Empty message="No conversation was sent for this call." /> }
        >
            {summary}
            <ol class="transcript" data-testid="transcript">
                <For
                    each=move || turns.get()
                    key=|turn| turn.seq
                    children=move |turn| view! { <TurnItem turn clock /> }
                />
            </ol>
        </Show>
    }
}

#[component]
fn TurnItem(turn: TurnEntry, clock: Clock) -> impl IntoView {
    let at = turn.at;
    let who = match turn.role {
        TurnRole::Agent => "Agent",
        TurnRole::Caller => "Caller",
        TurnRole::Tool => "Tool",
    };
    view! {
        <li class="turn" data-role=turn.role.as_str()>
            <p class="turn__meta">
                <span class="turn__who">{who}</span>
                <time datetime=clock::machine(at)>{move || clock.time_of(at)}</time>
                {turn.latency_ms.map(|ms| view! { <span class="turn__latency">{format!("answered in {ms} ms")}</span> })}
                {turn.interrupted.then(|| view! { <span class="turn__cut">"interrupted"</span> })}
            </p>
            <p class="turn__text">{turn.text}</p>
        </li>
    }
}

/// How the call's heartbeats went (a push per heartbeat changes only this).
#[component]
pub fn HeartbeatNote(heartbeats: Memo<HeartbeatSummary>) -> impl IntoView {
    let note = move || {
        let beats = heartbeats.get();
        match beats.count {
            0 => "No heartbeats.".to_owned(),
            1 => "1 heartbeat.".to_owned(),
            count => {
                let gap = beats.longest_gap_ms as f64 / 1000.0;
                format!("{count} heartbeats, the longest gap between two {gap:.1} s")
            }
        }
    };
    // A gap over two minutes is what turns a call stale: called out.
    let long_gap = move || heartbeats.with(|beats| beats.longest_gap_ms > 120_000);
    view! {
        <p class="panel__note" class:panel__note--warn=long_gap data-testid="heartbeat-summary">
            {note}
        </p>
    }
}

/// What happened to the call, in order, with where each event came from (`log`: the kept
/// entries and how many were dropped between the log's head and tail).
#[component]
pub fn EventTimeline(log: Memo<(Vec<TimelineEvent>, i64)>, clock: Clock) -> impl IntoView {
    let rows = move || {
        let (events, dropped) = log.get();
        events
            .into_iter()
            .map(|event| {
                // The marker goes where the log's head (its first 50 events) ends.
                let marker = (dropped > 0 && event.seq == 50).then(|| {
                    view! {
                        <li class="timeline__gap" data-testid="events-dropped">
                            {format!("{dropped} events in between are not kept")}
                        </li>
                    }
                });
                view! {
                    {marker}
                    <TimelineRow event clock />
                }
            })
            .collect_view()
    };
    view! { <ol class="timeline" data-testid="timeline">{rows}</ol> }
}

#[component]
fn TimelineRow(event: TimelineEvent, clock: Clock) -> impl IntoView {
    let at = event.at;
    let received = event.received_at;
    let what = match event.event_type {
        EventType::CallStarted => "Started",
        EventType::CallUpdated => "Updated",
        EventType::CallEnded => "Ended",
        EventType::Heartbeat => "Heartbeat",
        EventType::Turn => "Turn",
    };
    let changes: Vec<(String, String)> = match event.changes {
        Value::Object(fields) => fields
            .into_iter()
            .map(|(key, value)| (key, compact(&value)))
            .collect(),
        _ => Vec::new(),
    };
    view! {
        <li class="timeline__event" data-type=event.event_type.as_str()>
            <p class="timeline__head">
                <time datetime=clock::machine(at)>{move || clock.time_of(at)}</time>
                <strong>{what}</strong>
                <span class="timeline__source" title=move || format!("received {}", clock.moment(received))>
                    {format!("via {}", event.source.label())}
                </span>
            </p>
            {(!changes.is_empty()).then(|| view! {
                <dl class="changes">
                    {changes.into_iter().map(|(key, value)| view! {
                        <div class="changes__item"><dt>{key}</dt><dd>{value}</dd></div>
                    }).collect_view()}
                </dl>
            })}
        </li>
    }
}

/// A price with two to four decimals: `0.05`, `0.1234`.
fn amount(value: f64) -> String {
    let text = format!("{value:.4}");
    let trimmed = text.trim_end_matches('0');
    let decimals = trimmed
        .split_once('.')
        .map_or(0, |(_, decimals)| decimals.len());
    if decimals < 2 {
        format!("{value:.2}")
    } else {
        trimmed.to_owned()
    }
}

/// A value on one line: strings as themselves, the rest as JSON.
fn compact(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The call's metadata as a readable tree.
#[component]
pub fn MetadataTree(metadata: Option<Value>) -> impl IntoView {
    match metadata {
        Some(Value::Object(fields)) if !fields.is_empty() => view! {
            <div class="tree" data-testid="metadata">{tree(&Value::Object(fields))}</div>
        }
        .into_any(),
        _ => view! { <Empty message="No metadata." /> }.into_any(),
    }
}

fn tree(value: &Value) -> AnyView {
    match value {
        Value::Object(fields) => view! {
            <dl class="tree__object">
                {fields.iter().map(|(key, value)| view! {
                    <div class="tree__item"><dt>{key.clone()}</dt><dd>{tree(value)}</dd></div>
                }).collect_view()}
            </dl>
        }
        .into_any(),
        Value::Array(items) => view! {
            <ol class="tree__array">
                {items.iter().map(|item| view! { <li>{tree(item)}</li> }).collect_view()}
            </ol>
        }
        .into_any(),
        other => compact(other).into_any(),
    }
}
