//! Redis mode (`REDIS_URL`): what makes several instances one dashboard, and keeps the seed-002
//! producers and readers working unchanged.
//!
//! - **Ingest**: events published on `call_logs` (event JSON) and `call_heartbeat` (event JSON;
//!   `type` and `at` may be left out) go through the same validation and writer as HTTP.
//! - **Key layout**: after each commit the writing instance updates `call_ctx:{call_id}` (hash)
//!   and `call_heartbeat:{call_id}` (unix seconds), with TTLs, and deletes both when a call ends,
//!   in the same round trip as:
//! - **Fan-out**: every stored change is published on `switchboard:bus`; the other instances
//!   apply it to their live registry and their local bus, so a browser connected anywhere sees
//!   every event, with no sticky sessions.
//!
//! Mirroring runs after the commit and before the reply; if Redis is down the write still
//! stands (the database is the record) and the failure is logged.
//!
//! Every key and channel takes an optional prefix, so test suites never collide.

use std::sync::Arc;

use futures::StreamExt;
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::bus::BusEvent;
use crate::{ingest::validate::validate, state::AppState, storage::CallRecord};

/// `call_ctx:{id}` lives this long after the call's last change.
const CONTEXT_TTL_SECS: u64 = 6 * 3600;
/// `call_heartbeat:{id}` lives this long after the last heartbeat: well past "stale", so a
/// reader (or reconciliation) still sees that the call went quiet.
const HEARTBEAT_TTL_SECS: u64 = 3600;
const BUS_CHANNEL: &str = "switchboard:bus";

#[derive(Clone)]
pub struct RedisLink {
    client: redis::Client,
    conn: ConnectionManager,
    prefix: Arc<str>,
    /// Tells this instance's own bus messages apart from the others'.
    instance: Arc<str>,
    subscribed: watch::Sender<bool>,
}

/// What Redis holds about one live call: the `call_ctx` hash and the `call_heartbeat` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveKeys {
    pub call_id: String,
    pub context: std::collections::HashMap<String, String>,
    pub last_heartbeat: Option<i64>,
}

/// Every key matching `pattern`, with `SCAN` (never `KEYS`, which blocks Redis).
async fn scan(conn: &mut ConnectionManager, pattern: &str) -> redis::RedisResult<Vec<String>> {
    let mut keys = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(conn)
            .await?;
        keys.extend(batch);
        if next == 0 {
            return Ok(keys);
        }
        cursor = next;
    }
}

/// A bus event on the wire, with the instance that wrote it.
#[derive(Serialize, Deserialize)]
struct Envelope {
    origin: String,
    event: BusEvent,
}

impl RedisLink {
    pub async fn connect(url: &str, prefix: &str) -> redis::RedisResult<Self> {
        let client = redis::Client::open(url)?;
        let conn = client.get_connection_manager().await?;
        Ok(Self {
            client,
            conn,
            prefix: prefix.into(),
            instance: format!("{:016x}", rand::random::<u64>()).into(),
            subscribed: watch::Sender::new(false),
        })
    }

    fn name(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// A handle on the shared connection (it multiplexes and reconnects by itself).
    pub fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// One round trip, for health checks.
    pub async fn ping(&self) -> redis::RedisResult<()> {
        redis::cmd("PING")
            .query_async::<String>(&mut self.connection())
            .await
            .map(drop)
    }

    /// Becomes true once the subscriber listens (and again after each reconnect).
    pub fn subscribed(&self) -> watch::Receiver<bool> {
        self.subscribed.subscribe()
    }

    /// Mirrors committed changes into the seed-002 keys and publishes them to the other
    /// instances, in one round trip.
    pub async fn after_commit(&self, events: &[BusEvent]) {
        let mut pipe = redis::pipe();
        for event in events {
            if let BusEvent::Call { call, .. } | BusEvent::Heartbeat { call } = event {
                self.mirror(&mut pipe, call);
            }
            self.stage_publish(&mut pipe, event);
        }
        self.send(pipe, "live keys and fan-out not updated for this batch")
            .await;
    }

    /// Publishes `events` to the other instances (they publish them on their own bus).
    /// Health changes are not for this: every instance sweeps its own registry.
    pub async fn announce(&self, events: &[BusEvent]) {
        let mut pipe = redis::pipe();
        for event in events {
            self.stage_publish(&mut pipe, event);
        }
        self.send(pipe, "an event did not reach the other instances")
            .await;
    }

    fn stage_publish(&self, pipe: &mut redis::Pipeline, event: &BusEvent) {
        let envelope = Envelope {
            origin: self.instance.to_string(),
            event: event.clone(),
        };
        match serde_json::to_string(&envelope) {
            Ok(json) => {
                pipe.cmd("PUBLISH")
                    .arg(self.name(BUS_CHANNEL))
                    .arg(json)
                    .ignore();
            }
            Err(error) => warn!(%error, "cannot encode a bus event"),
        }
    }

    async fn send(&self, pipe: redis::Pipeline, what_failed: &str) {
        if pipe.cmd_iter().next().is_none() {
            return;
        }
        let mut conn = self.conn.clone();
        if let Err(error) = pipe.query_async::<()>(&mut conn).await {
            warn!(%error, "redis: {what_failed}");
        }
    }

    /// Deletes the seed-002 keys of calls that are no longer live; returns how many of
    /// `call_ids` had any.
    pub async fn clear_live_keys(&self, call_ids: &[&str]) -> redis::RedisResult<usize> {
        if call_ids.is_empty() {
            return Ok(0);
        }
        let mut pipe = redis::pipe();
        for id in call_ids {
            pipe.cmd("DEL")
                .arg(self.name(&format!("call_ctx:{id}")))
                .arg(self.name(&format!("call_heartbeat:{id}")));
        }
        let deleted: Vec<i64> = pipe.query_async(&mut self.connection()).await?;
        Ok(deleted.into_iter().filter(|count| *count > 0).count())
    }

    /// Every call with a live key (`call_ctx:*` or `call_heartbeat:*`): its context fields
    /// (empty when only a heartbeat key is left) and last heartbeat (unix seconds).
    pub async fn live_keys(&self) -> redis::RedisResult<Vec<LiveKeys>> {
        let mut conn = self.connection();
        let mut ids = std::collections::BTreeSet::new();
        for kind in ["call_ctx:", "call_heartbeat:"] {
            let prefix = self.name(kind);
            let keys: Vec<String> = scan(&mut conn, &format!("{prefix}*")).await?;
            ids.extend(
                keys.into_iter()
                    .filter_map(|key| key.strip_prefix(&prefix).map(str::to_owned)),
            );
        }
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.cmd("HGETALL")
                .arg(self.name(&format!("call_ctx:{id}")));
            pipe.cmd("GET")
                .arg(self.name(&format!("call_heartbeat:{id}")));
        }
        let replies: Vec<redis::Value> = pipe.query_async(&mut conn).await?;
        let mut replies = replies.into_iter();
        let mut live = Vec::with_capacity(ids.len());
        for call_id in ids {
            let (Some(context), Some(heartbeat)) = (replies.next(), replies.next()) else {
                break;
            };
            live.push(LiveKeys {
                call_id,
                context: redis::from_redis_value(context).unwrap_or_default(),
                last_heartbeat: redis::from_redis_value::<Option<String>>(heartbeat)
                    .ok()
                    .flatten()
                    .and_then(|seconds| seconds.trim().parse().ok()),
            });
        }
        Ok(live)
    }

    fn mirror(&self, pipe: &mut redis::Pipeline, call: &CallRecord) {
        let context = self.name(&format!("call_ctx:{}", call.id));
        let heartbeat = self.name(&format!("call_heartbeat:{}", call.id));
        if !call.is_active() {
            pipe.cmd("DEL").arg(&context).arg(&heartbeat).ignore();
            return;
        }
        let started = call.started_at.assume_utc().unix_timestamp();
        let mut fields: Vec<(&str, String)> = vec![
            ("call_id", call.id.clone()),
            ("user_id", call.user_id.clone()),
            ("status", call.status.clone().unwrap_or_default()),
            ("started_at", started.to_string()),
        ];
        let optional = [
            ("phone_number", &call.phone_number),
            ("direction", &call.direction),
            ("agent_config_id", &call.agent_config_id),
            ("livekit_room_name", &call.livekit_room_name),
        ];
        fields.extend(
            optional
                .into_iter()
                .filter_map(|(name, value)| value.clone().map(|value| (name, value))),
        );
        pipe.cmd("HSET").arg(&context).arg(fields).ignore();
        pipe.cmd("EXPIRE")
            .arg(&context)
            .arg(CONTEXT_TTL_SECS)
            .ignore();
        if let Some(beat) = call.last_heartbeat_at {
            let seconds = beat.assume_utc().unix_timestamp();
            pipe.cmd("SET")
                .arg(&heartbeat)
                .arg(seconds)
                .arg("EX")
                .arg(HEARTBEAT_TTL_SECS)
                .ignore();
        }
    }

    /// Listens on the ingest channels and the bus until shutdown, reconnecting with backoff.
    pub fn spawn_subscriber(&self, state: AppState, shutdown: CancellationToken) {
        let link = self.clone();
        tokio::spawn(async move {
            let mut delay = std::time::Duration::from_millis(250);
            loop {
                match link.listen(&state, &shutdown).await {
                    Ok(()) => return,
                    Err(error) => warn!(%error, "redis subscriber lost; reconnecting"),
                }
                link.subscribed.send_replace(false);
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(std::time::Duration::from_secs(10));
            }
        });
    }

    async fn listen(
        &self,
        state: &AppState,
        shutdown: &CancellationToken,
    ) -> redis::RedisResult<()> {
        let (calls, heartbeats, bus) = (
            self.name("call_logs"),
            self.name("call_heartbeat"),
            self.name(BUS_CHANNEL),
        );
        let mut pubsub = self.client.get_async_pubsub().await?;
        pubsub.subscribe(&[&calls, &heartbeats, &bus]).await?;
        self.subscribed.send_replace(true);
        info!(channels = ?[&calls, &heartbeats, &bus], "redis: subscribed");
        let mut messages = pubsub.on_message();
        loop {
            let message = tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                message = messages.next() => message,
            };
            let Some(message) = message else {
                return Err(redis::RedisError::from((
                    redis::ErrorKind::Io,
                    "subscription closed",
                )));
            };
            let Ok(payload) = message.get_payload::<String>() else {
                warn!(
                    channel = message.get_channel_name(),
                    "redis: ignoring a message that is not text"
                );
                continue;
            };
            let channel = message.get_channel_name();
            if channel == bus {
                self.deliver(state, &payload);
            } else {
                ingest(state, &payload, channel == heartbeats).await;
            }
        }
    }

    /// Applies another instance's change here: live registry first, then local subscribers.
    fn deliver(&self, state: &AppState, payload: &str) {
        let envelope: Envelope = match serde_json::from_str(payload) {
            Ok(envelope) => envelope,
            Err(error) => return warn!(%error, "redis: unreadable bus message"),
        };
        if *envelope.origin == *self.instance {
            return;
        }
        if let BusEvent::Call { call, .. } | BusEvent::Heartbeat { call } = &envelope.event {
            state.registry.track(call, OffsetDateTime::now_utc());
        }
        state.bus.publish(envelope.event);
    }
}

/// One event from a producer's channel. Nobody can be answered on pub/sub, so refusals are
/// logged with their reason.
async fn ingest(state: &AppState, payload: &str, heartbeat_channel: bool) {
    let mut value: Value = match serde_json::from_str(payload) {
        Ok(value) => value,
        Err(error) => return warn!(%error, "redis: ignoring a message that is not JSON"),
    };
    if heartbeat_channel && let Some(object) = value.as_object_mut() {
        object
            .entry("type")
            .or_insert_with(|| Value::from("heartbeat"));
        let now = OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        object.entry("at").or_insert_with(|| Value::from(now));
    }
    match validate(value, OffsetDateTime::now_utc()) {
        Ok(event) => {
            let outcomes = state.ingestor.submit(vec![event]).await;
            if let Some(crate::ingest::WriteOutcome::Rejected(error)) = outcomes.first() {
                warn!(%error, "redis: event refused");
            }
        }
        Err(rejection) => {
            warn!(call_id = ?rejection.call_id, error = %rejection.message, "redis: event refused")
        }
    }
}
