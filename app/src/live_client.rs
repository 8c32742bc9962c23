//! The browser's live link to `/ws`.
//!
//! One task per page: connect, wait for the server's `hello`, ping every 25 s, and treat 60 s of
//! silence as a dead link (a half-open TCP connection never reports an error by itself). When the
//! link drops it retries with capped exponential backoff and jitter, so a restarted server is not
//! hit by every browser at the same instant. The badge shows "reconnecting" for the first few
//! tries, then "offline since …" while retries go on.
//!
//! On the server, [`connect`] does nothing: there is no socket to open during SSR.

use leptos::prelude::WriteSignal;

use crate::dto::live::ConnectionState;

/// Opens the live link and keeps `state` up to date for as long as the page lives.
#[cfg(feature = "hydrate")]
pub fn connect(state: WriteSignal<ConnectionState>) {
    leptos::task::spawn_local(browser::run(state));
}

/// Opens the live link and keeps `state` up to date for as long as the page lives.
#[cfg(not(feature = "hydrate"))]
pub fn connect(_state: WriteSignal<ConnectionState>) {}

#[cfg(feature = "hydrate")]
mod browser {
    use futures::{SinkExt, StreamExt, select};
    use gloo_net::websocket::{Message, futures::WebSocket};
    use gloo_timers::future::{IntervalStream, TimeoutFuture};
    use leptos::prelude::{Set, WriteSignal};

    use crate::dto::live::{
        ClientMessage, ConnectionState, PING_INTERVAL_SECS, PING_TIMEOUT_SECS, ServerMessage,
    };

    const FIRST_RETRY_MS: f64 = 500.0;
    const MAX_RETRY_MS: f64 = 15_000.0;
    /// Failed tries shown as "reconnecting" before the badge says "offline".
    const OFFLINE_AFTER_ATTEMPTS: u32 = 3;

    pub(super) async fn run(state: WriteSignal<ConnectionState>) {
        let url = socket_url();
        let mut attempt = 0;
        let mut lost_at: Option<String> = None;
        loop {
            let was_live = session(&url, state).await;
            if was_live || lost_at.is_none() {
                attempt = 0;
                lost_at = Some(wall_clock());
            }
            attempt += 1;
            let offline = attempt > OFFLINE_AFTER_ATTEMPTS || !browser_online();
            state.set(match (&lost_at, offline) {
                (Some(since), true) => ConnectionState::Offline {
                    since: since.clone(),
                },
                _ => ConnectionState::Reconnecting { attempt },
            });
            TimeoutFuture::new(backoff_ms(attempt)).await;
        }
    }

    /// One connection, from open to close. Returns whether it ever went live.
    async fn session(url: &str, state: WriteSignal<ConnectionState>) -> bool {
        let Ok(socket) = WebSocket::open(url) else {
            return false;
        };
        let (mut outgoing, incoming) = socket.split();
        let mut incoming = incoming.fuse();
        let mut ping_timer = IntervalStream::new(secs_to_ms(PING_INTERVAL_SECS)).fuse();
        let mut live = false;
        let mut last_heard = js_sys::Date::now();
        loop {
            select! {
                message = incoming.next() => match message {
                    Some(Ok(Message::Text(text))) => {
                        last_heard = js_sys::Date::now();
                        // Messages this build does not know (a newer server) are skipped, not fatal.
                        if let Ok(ServerMessage::Hello { .. }) = serde_json::from_str(&text) {
                            live = true;
                            state.set(ConnectionState::Live);
                        }
                    }
                    Some(Ok(Message::Bytes(_))) => last_heard = js_sys::Date::now(),
                    Some(Err(_)) | None => return live,
                },
                _ = ping_timer.next() => {
                    let silent_ms = js_sys::Date::now() - last_heard;
                    if silent_ms > f64::from(secs_to_ms(PING_TIMEOUT_SECS)) {
                        return live;
                    }
                    let Ok(ping) = serde_json::to_string(&ClientMessage::Ping) else {
                        return live;
                    };
                    if outgoing.send(Message::Text(ping)).await.is_err() {
                        return live;
                    }
                }
            }
        }
    }

    fn socket_url() -> String {
        let location = web_sys::window().map(|window| window.location());
        let secure = location
            .as_ref()
            .and_then(|l| l.protocol().ok())
            .is_some_and(|protocol| protocol == "https:");
        let host = location
            .and_then(|l| l.host().ok())
            .unwrap_or_else(|| "localhost".to_owned());
        format!("{}://{host}/ws", if secure { "wss" } else { "ws" })
    }

    fn browser_online() -> bool {
        web_sys::window().is_none_or(|window| window.navigator().on_line())
    }

    fn wall_clock() -> String {
        String::from(js_sys::Date::new_0().to_locale_time_string("en-GB"))
    }

    fn secs_to_ms(secs: u64) -> u32 {
        u32::try_from(secs * 1000).unwrap_or(u32::MAX)
    }

    /// Capped exponential backoff with "equal jitter": half fixed, half random.
    fn backoff_ms(attempt: u32) -> u32 {
        let exponent = attempt.saturating_sub(1).min(16);
        let ceiling = (FIRST_RETRY_MS * f64::from(1u32 << exponent)).min(MAX_RETRY_MS);
        let jittered = ceiling * (0.5 + js_sys::Math::random() * 0.5);
        // In range by construction: at most MAX_RETRY_MS.
        jittered as u32
    }
}
