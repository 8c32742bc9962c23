//! The browser's live link to `/ws`.
//!
//! One task per page: connect with the cursors of what the page already holds, apply every
//! message to the page's [`LiveFeed`] (snapshots replace a room's state, pushes are applied in
//! order, replays and duplicates are skipped), ping every 25 s, and treat 60 s of silence as a
//! dead link (a half-open TCP connection never reports an error by itself). When the link drops
//! it retries with capped exponential backoff and jitter, so a restarted server is not hit by
//! every browser at the same instant; the server then replays what the page missed, or sends
//! fresh snapshots. A push that skips a number means the page is out of step: it reconnects at
//! once with its cursors. The badge shows "reconnecting" for the first few tries, then "offline
//! since …" while retries go on.
//!
//! Every message that changed the feed is also handed to the page's `on_message`, after the
//! feed has it: pages patch what the feed does not hold (a filtered list, a chart) from there.
//!
//! A page that will want nothing more at some point (a call's page, once the call has ended)
//! says so ([`connect_until`]), and the link is then closed for good.
//!
//! On the server, [`connect`] does nothing: there is no socket to open during SSR.

use std::rc::Rc;

use leptos::prelude::{RwSignal, WriteSignal};

use crate::{
    dto::live::{ServerMessage, SocketQuery},
    live::{ConnectionState, LiveFeed},
};

/// What a page does with each message that changed its feed.
pub type OnMessage = Rc<dyn Fn(&ServerMessage)>;

/// Whether the page has all it will ever want from its feed (a call's page once the call has
/// ended): then the link is closed for good.
pub type Done = Rc<dyn Fn(&LiveFeed) -> bool>;

/// Opens the live link for what `query` asks (its `user_id`, or `call`; its own cursors are
/// the feed's) and keeps `state` and `feed` up to date for as long as the page lives.
#[cfg(feature = "hydrate")]
pub fn connect(
    query: SocketQuery,
    state: WriteSignal<ConnectionState>,
    feed: RwSignal<LiveFeed>,
    on_message: OnMessage,
) {
    connect_until(query, state, feed, on_message, Rc::new(|_| false));
}

/// [`connect`], closing the link for good once `done` says the feed holds all the page wants.
#[cfg(feature = "hydrate")]
pub fn connect_until(
    query: SocketQuery,
    state: WriteSignal<ConnectionState>,
    feed: RwSignal<LiveFeed>,
    on_message: OnMessage,
    done: Done,
) {
    leptos::task::spawn_local(browser::run(query, state, feed, on_message, done));
}

/// Opens the live link for what `query` asks (its `user_id`, or `call`; its own cursors are
/// the feed's) and keeps `state` and `feed` up to date for as long as the page lives.
#[cfg(not(feature = "hydrate"))]
pub fn connect(
    _query: SocketQuery,
    _state: WriteSignal<ConnectionState>,
    _feed: RwSignal<LiveFeed>,
    _on_message: OnMessage,
) {
}

/// [`connect`], closing the link for good once `done` says the feed holds all the page wants.
#[cfg(not(feature = "hydrate"))]
pub fn connect_until(
    _query: SocketQuery,
    _state: WriteSignal<ConnectionState>,
    _feed: RwSignal<LiveFeed>,
    _on_message: OnMessage,
    _done: Done,
) {
}

#[cfg(feature = "hydrate")]
mod browser {
    use futures::{SinkExt, StreamExt, select};
    use gloo_net::websocket::{Message, WebSocketError, futures::WebSocket};
    use gloo_timers::future::{IntervalStream, TimeoutFuture};
    use leptos::prelude::{RwSignal, Set, Update, WithUntracked, WriteSignal};

    use super::{Done, OnMessage};
    use crate::{
        dto::live::{
            ClientMessage, PING_INTERVAL_SECS, PING_TIMEOUT_SECS, SESSION_ENDED, ServerMessage,
            SocketQuery, encode_resume,
        },
        live::{ConnectionState, LiveFeed},
    };

    const FIRST_RETRY_MS: f64 = 500.0;
    const MAX_RETRY_MS: f64 = 15_000.0;
    /// Failed tries shown as "reconnecting" before the badge says "offline".
    const OFFLINE_AFTER_ATTEMPTS: u32 = 3;

    /// How a connection ended.
    struct Ended {
        /// It went live before it ended.
        was_live: bool,
        /// The page fell out of step: reconnect at once rather than after a backoff.
        out_of_step: bool,
        /// The server ended the session: sign in again rather than reconnect.
        session_over: bool,
        /// The page has all it wants: close for good.
        finished: bool,
    }

    pub(super) async fn run(
        query: SocketQuery,
        state: WriteSignal<ConnectionState>,
        feed: RwSignal<LiveFeed>,
        on_message: OnMessage,
        done: Done,
    ) {
        let mut attempt = 0;
        let mut lost_at: Option<String> = None;
        loop {
            let ended = session(&query, state, feed, &on_message, &done).await;
            if ended.finished {
                return;
            }
            if ended.session_over {
                sign_in_again();
                return;
            }
            if ended.out_of_step {
                continue;
            }
            if ended.was_live || lost_at.is_none() {
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

    /// One connection, from open to close.
    async fn session(
        query: &SocketQuery,
        state: WriteSignal<ConnectionState>,
        feed: RwSignal<LiveFeed>,
        on_message: &OnMessage,
        done: &Done,
    ) -> Ended {
        let mut ended = Ended {
            was_live: false,
            out_of_step: false,
            session_over: false,
            finished: false,
        };
        let cursors = feed.with_untracked(LiveFeed::cursors);
        let Ok(socket) = WebSocket::open(&socket_url(query, &encode_resume(&cursors))) else {
            return ended;
        };
        let (mut outgoing, incoming) = socket.split();
        let mut incoming = incoming.fuse();
        let mut ping_timer = IntervalStream::new(secs_to_ms(PING_INTERVAL_SECS)).fuse();
        let mut last_heard = js_sys::Date::now();
        loop {
            select! {
                message = incoming.next() => match message {
                    Some(Ok(Message::Text(text))) => {
                        last_heard = js_sys::Date::now();
                        // Messages this build does not know (a newer server) are skipped, not fatal.
                        let Ok(message) = ServerMessage::from_json(&text) else {
                            continue;
                        };
                        if matches!(message, ServerMessage::Hello { .. }) {
                            ended.was_live = true;
                            state.set(ConnectionState::Live);
                        }
                        let mut in_step = true;
                        let mut changed = false;
                        feed.maybe_update(|feed| match feed.receive(&message) {
                            Ok(applied) => {
                                changed = applied;
                                applied
                            }
                            Err(_gap) => {
                                in_step = false;
                                false
                            }
                        });
                        if !in_step {
                            ended.out_of_step = true;
                            return ended;
                        }
                        if changed {
                            on_message(&message);
                            // Dropping the socket closes it.
                            if feed.with_untracked(|feed| done(feed)) {
                                ended.finished = true;
                                return ended;
                            }
                        }
                    }
                    Some(Ok(Message::Bytes(_))) => last_heard = js_sys::Date::now(),
                    Some(Err(WebSocketError::ConnectionClose(close))) => {
                        ended.session_over = close.code == 1008 && close.reason == SESSION_ENDED;
                        return ended;
                    }
                    Some(Err(_)) | None => return ended,
                },
                _ = ping_timer.next() => {
                    let silent_ms = js_sys::Date::now() - last_heard;
                    if silent_ms > f64::from(secs_to_ms(PING_TIMEOUT_SECS)) {
                        return ended;
                    }
                    let Ok(ping) = serde_json::to_string(&ClientMessage::Ping) else {
                        return ended;
                    };
                    if outgoing.send(Message::Text(ping)).await.is_err() {
                        return ended;
                    }
                }
            }
        }
    }

    fn socket_url(asked: &SocketQuery, resume: &str) -> String {
        let location = web_sys::window().map(|window| window.location());
        let secure = location
            .as_ref()
            .and_then(|l| l.protocol().ok())
            .is_some_and(|protocol| protocol == "https:");
        let host = location
            .and_then(|l| l.host().ok())
            .unwrap_or_else(|| "localhost".to_owned());
        let mut query = form_urlencoded::Serializer::new(String::new());
        if let Some(tenant) = &asked.user_id {
            query.append_pair("user_id", tenant);
        }
        if let Some(call) = &asked.call {
            query.append_pair("call", call);
        }
        let query = query.append_pair("resume", resume).finish();
        format!("{}://{host}/ws?{query}", if secure { "wss" } else { "ws" })
    }

    /// To the sign-in form, and back here afterwards.
    fn sign_in_again() {
        let Some(location) = web_sys::window().map(|window| window.location()) else {
            return;
        };
        let here = format!(
            "{}{}",
            location.pathname().unwrap_or_default(),
            location.search().unwrap_or_default()
        );
        let next: String = form_urlencoded::byte_serialize(here.as_bytes()).collect();
        let _ = location.set_href(&format!("/login?next={next}"));
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
