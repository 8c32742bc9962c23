//! What the demo's calls say and how they end: a short conversation per call (agent, caller
//! and the odd tool call, agent turns with a response latency), an end reason that fits the
//! outcome, and a price by the minute.

use app::dto::ingest::{CallEvent, Cost, EventType, Outcome, Turn, TurnRole};
use rand::{Rng, seq::IndexedRandom};
use time::OffsetDateTime;

const GREETINGS: [&str; 3] = [
    "Hi, thanks for calling! How can I help you today?",
    "Hello, you've reached us. What can I do for you?",
    "Good day! Who am I speaking with, and how can I help?",
];
const ASKS: [&str; 4] = [
    "I'd like to book an appointment for next week.",
    "I'm calling about my bill, there's a charge I don't recognise.",
    "Can I change the time of my visit on Thursday?",
    "Do you have anything available tomorrow morning?",
];
const LOOKUPS: [&str; 2] = [
    "lookup_availability → 3 open slots",
    "find_customer → 1 match",
];
const ANSWERS: [&str; 3] = [
    "Sure — I have Tuesday at 10:30 or Wednesday at 2:15. Which works better?",
    "Let me check that for you. I can see the charge; it's last month's visit.",
    "Of course. I've moved it to Thursday at 4 pm. Anything else?",
];
const FOLLOW_UPS: [&str; 3] = [
    "Tuesday works, thank you.",
    "Okay, that makes sense.",
    "No, that's everything.",
];
const CLOSINGS: [&str; 2] = [
    "You're all set. Have a great day!",
    "Thanks for calling, goodbye!",
];

/// A call's conversation, turn by turn.
pub(super) fn script(rng: &mut impl Rng) -> Vec<Turn> {
    let mut turns = vec![agent(pick(&GREETINGS, rng), rng), caller(pick(&ASKS, rng))];
    if rng.random_bool(0.4) {
        turns.push(Turn {
            role: TurnRole::Tool,
            text: pick(&LOOKUPS, rng).to_owned(),
            latency_ms: None,
            interrupted: None,
        });
    }
    turns.push(agent(pick(&ANSWERS, rng), rng));
    turns.push(caller(pick(&FOLLOW_UPS, rng)));
    turns.push(agent(pick(&CLOSINGS, rng), rng));
    turns
}

/// A `turn` event.
pub(super) fn turn_event(tenant: &str, id: &str, at: OffsetDateTime, turn: Turn) -> CallEvent {
    CallEvent {
        turn: Some(turn),
        ..CallEvent::new(EventType::Turn, tenant, id, at)
    }
}

/// Why a call with `outcome` ended, as a platform would say it.
pub(super) fn end_reason(outcome: Outcome, rng: &mut impl Rng) -> &'static str {
    match outcome {
        Outcome::Completed => {
            if rng.random_bool(0.7) {
                "caller_hung_up"
            } else {
                "agent_ended_call"
            }
        }
        Outcome::NoAnswer => "no_answer",
        Outcome::Busy => "busy",
        Outcome::Voicemail => "voicemail_detected",
        Outcome::Transferred => "agent_transfer",
        Outcome::Failed => {
            if rng.random_bool(0.5) {
                "silence_timeout"
            } else {
                "sip_error"
            }
        }
        Outcome::Stale => "heartbeats_stopped",
    }
}

/// Seven cents a minute, in dollars.
pub(super) fn cost(duration_secs: i64) -> Cost {
    let cents = (duration_secs as f64 * 7.0 / 60.0).round();
    Cost {
        amount: cents / 100.0,
        currency: "USD".to_owned(),
    }
}

fn pick(lines: &[&'static str], rng: &mut impl Rng) -> &'static str {
    lines.choose(rng).copied().unwrap_or_default()
}

/// An agent turn, answering after 350–1,400 ms, or now and then much later.
fn agent(text: &str, rng: &mut impl Rng) -> Turn {
    let latency = if rng.random_bool(0.08) {
        rng.random_range(1_800..4_000)
    } else {
        rng.random_range(350..1_400)
    };
    Turn {
        role: TurnRole::Agent,
        text: text.to_owned(),
        latency_ms: Some(latency),
        interrupted: rng.random_bool(0.05).then_some(true),
    }
}

fn caller(text: &str) -> Turn {
    Turn {
        role: TurnRole::Caller,
        text: text.to_owned(),
        latency_ms: None,
        interrupted: None,
    }
}
