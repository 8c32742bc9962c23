//! Redis mode (`REDIS_URL`): what makes several instances one dashboard, and keeps the seed-002
//! producers and readers working unchanged.
//!
//! - **Ingest** from producers' channels and stream: [`crate::ingest::redis`], over this link.
//! - **Key layout**: after each commit the writing instance updates `call_ctx:{call_id}` (hash)
//!   and `call_heartbeat:{call_id}` (unix seconds), with TTLs, and deletes both when a call ends,
//!   in the same round trip as:
//! - **Fan-out**: every stored change is published on `switchboard:bus`, signed (HMAC-SHA256
//!   with a key derived from `JWT_SECRET`, which every instance shares); the other instances
//!   check the signature, then apply it to their live registry and their local bus, so a browser
//!   connected anywhere sees every event, with no sticky sessions. A message anyone else
//!   publishes there (a producer, anything that can reach Redis) is refused.
//!
//! Mirroring runs after the commit and before the reply; if Redis is down the write still
//! stands (the database is the record) and the failure is logged.
//!
//! Every key and channel takes an optional prefix, so test suites never collide.

use std::sync::{
    Arc,
    atomic::{AtomicU8, AtomicU64, Ordering},
};

use futures::StreamExt;
use hmac::{Hmac, Mac};

use super::replay::ReplayGuard;
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::{
    bus::{BusEvent, EventBus},
    registry::LiveRegistry,
};
use crate::storage::CallRecord;

/// How long an entry of the `call_events` stream an instance took may go unacknowledged before
/// another instance takes it over: well past any write's time, so only a dead instance's are.
pub const STREAM_CLAIM_IDLE: std::time::Duration = std::time::Duration::from_secs(30);

/// `call_ctx:{id}` lives this long after the call's last change.
const CONTEXT_TTL_SECS: u64 = 6 * 3600;
/// `call_heartbeat:{id}` lives this long after the last heartbeat: well past "stale", so a
/// reader (or reconciliation) still sees that the call went quiet.
const HEARTBEAT_TTL_SECS: u64 = 3600;
const BUS_CHANNEL: &str = "switchboard:bus";
/// The longest wait between two attempts to reach Redis again. A try a second against a Redis
/// that is down costs nothing; waiting longer only delays live push once it is back (the fault
/// suite holds that to 5 s).
const RECONNECT_MAX_DELAY: std::time::Duration = std::time::Duration::from_secs(1);

/// What listens, as bits of [`RedisLink::ready`].
const BUS_READY: u8 = 0b001;
pub(crate) const PRODUCERS_READY: u8 = 0b010;
pub(crate) const STREAM_READY: u8 = 0b100;

#[derive(Clone)]
pub struct RedisLink {
    client: redis::Client,
    conn: ConnectionManager,
    prefix: Arc<str>,
    /// Tells this instance's own bus messages apart from the others'.
    instance: Arc<str>,
    /// Signs and checks bus messages.
    bus_key: Arc<BusKey>,
    /// Refuses bus messages seen before or sent long ago.
    replays: Arc<ReplayGuard>,
    /// What listens ([`BUS_READY`], [`PRODUCERS_READY`], [`STREAM_READY`]).
    ready: Arc<AtomicU8>,
    subscribed: watch::Sender<bool>,
    /// Producer messages this instance claimed and handed to the writer.
    taken: Arc<AtomicU64>,
    /// Producer messages dropped because the queue was full.
    dropped: Arc<AtomicU64>,
    /// How long a stream entry another instance took may go unacknowledged before this one
    /// takes it over.
    claim_idle: std::time::Duration,
}

/// The key instances sign their bus messages with.
struct BusKey([u8; 32]);

type HmacSha256 = Hmac<Sha256>;

impl BusKey {
    /// Derived from the shared secret, for this use only: a bus signature says nothing about
    /// tokens, and the other way round.
    fn derive(secret: &str) -> Self {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(secret.as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(b"switchboard instance bus v1");
        Self(mac.finalize().into_bytes().into())
    }

    fn mac(&self) -> HmacSha256 {
        <HmacSha256 as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"))
    }

    /// `body` as sent: `<hex signature>.<body>`.
    fn seal(&self, body: &str) -> String {
        let mut mac = self.mac();
        mac.update(body.as_bytes());
        format!("{}.{body}", hex::encode(mac.finalize().into_bytes()))
    }

    /// The body of a message signed with this key; `None` for anything else.
    fn open<'a>(&self, message: &'a str) -> Option<&'a str> {
        let (signature, body) = message.split_once('.')?;
        let signature = hex::decode(signature).ok()?;
        let mut mac = self.mac();
        mac.update(body.as_bytes());
        mac.verify_slice(&signature).ok()?;
        Some(body)
    }
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

/// A bus event on the wire, with the instance that wrote it, when (unix milliseconds) and a
/// random nonce, so a recorded message cannot be published again ([`ReplayGuard`]).
#[derive(Serialize, Deserialize)]
struct Envelope {
    origin: String,
    sent_at: i64,
    nonce: u64,
    event: BusEvent,
}

fn unix_millis(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

impl RedisLink {
    /// Connects; bus messages are signed with a key derived from `secret` (`JWT_SECRET`).
    pub async fn connect(url: &str, prefix: &str, secret: &str) -> redis::RedisResult<Self> {
        let client = redis::Client::open(url)?;
        let config = redis::aio::ConnectionManagerConfig::new().set_max_delay(RECONNECT_MAX_DELAY);
        let conn = client.get_connection_manager_with_config(config).await?;
        Ok(Self {
            client,
            conn,
            prefix: prefix.into(),
            instance: format!("{:016x}", rand::random::<u64>()).into(),
            bus_key: Arc::new(BusKey::derive(secret)),
            replays: Arc::default(),
            ready: Arc::default(),
            subscribed: watch::Sender::new(false),
            taken: Arc::default(),
            dropped: Arc::default(),
            claim_idle: STREAM_CLAIM_IDLE,
        })
    }

    /// Takes over another instance's stream entries once unacknowledged for `idle`.
    pub fn with_stream_claim_idle(mut self, idle: std::time::Duration) -> Self {
        self.claim_idle = idle;
        self
    }

    /// Producer messages this instance has claimed and handed to the writer.
    pub fn producer_messages_taken(&self) -> u64 {
        self.taken.load(Ordering::Relaxed)
    }

    /// Counts producer messages handed to the writer.
    pub(crate) fn count_taken(&self, messages: usize) {
        self.taken.fetch_add(messages as u64, Ordering::Relaxed);
    }

    /// Counts a producer message dropped; returns how many have been.
    pub(crate) fn count_dropped(&self) -> u64 {
        self.dropped.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// The client, for connections of their own (subscriptions, blocking stream reads).
    pub(crate) fn client(&self) -> &redis::Client {
        &self.client
    }

    /// This instance's name among the others (its stream consumer, its claims).
    pub(crate) fn instance(&self) -> &str {
        &self.instance
    }

    /// How long another instance's stream entries may go unacknowledged before this one takes
    /// them over.
    pub(crate) fn claim_idle(&self) -> std::time::Duration {
        self.claim_idle
    }

    /// Marks one listener as listening or not; `subscribed` is true while all are.
    pub(crate) fn mark(&self, subscription: u8, listening: bool) {
        let ready = if listening {
            self.ready.fetch_or(subscription, Ordering::SeqCst) | subscription
        } else {
            self.ready.fetch_and(!subscription, Ordering::SeqCst) & !subscription
        };
        self.subscribed
            .send_replace(ready == BUS_READY | PRODUCERS_READY | STREAM_READY);
    }

    pub(crate) fn name(&self, name: &str) -> String {
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

    /// Becomes true once the bus, the producer channels and the stream are listened to (and
    /// again after each reconnect).
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
            sent_at: unix_millis(OffsetDateTime::now_utc()),
            nonce: rand::random(),
            event: event.clone(),
        };
        match serde_json::to_string(&envelope) {
            Ok(json) => {
                pipe.cmd("PUBLISH")
                    .arg(self.name(BUS_CHANNEL))
                    .arg(self.bus_key.seal(&json))
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

    /// Listens on the bus until shutdown, reconnecting with backoff: other instances' changes
    /// go to this instance's live registry and bus.
    pub fn spawn_bus_listener(
        &self,
        bus: EventBus,
        registry: Arc<LiveRegistry>,
        shutdown: CancellationToken,
    ) {
        let link = self.clone();
        self.reconnecting(BUS_READY, shutdown, move || {
            let (link, bus, registry) = (link.clone(), bus.clone(), Arc::clone(&registry));
            async move { link.listen_bus(&bus, &registry).await }
        });
    }

    /// Runs `listen` until shutdown, again after each failure, with backoff.
    pub(crate) fn reconnecting<F, Fut>(
        &self,
        subscription: u8,
        shutdown: CancellationToken,
        mut listen: F,
    ) where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = redis::RedisError> + Send,
    {
        let link = self.clone();
        tokio::spawn(async move {
            let mut delay = std::time::Duration::from_millis(250);
            loop {
                let error = tokio::select! {
                    () = shutdown.cancelled() => return,
                    error = listen() => error,
                };
                warn!(%error, "redis subscriber lost; reconnecting");
                link.mark(subscription, false);
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(RECONNECT_MAX_DELAY);
            }
        });
    }

    /// The bus: other instances' changes, applied as they come.
    async fn listen_bus(&self, bus: &EventBus, registry: &LiveRegistry) -> redis::RedisError {
        let channel = self.name(BUS_CHANNEL);
        let mut messages = match self.subscribe(&[&channel], BUS_READY).await {
            Ok(messages) => messages,
            Err(error) => return error,
        };
        while let Some(message) = messages.next().await {
            match message.get_payload::<String>() {
                Ok(payload) => self.deliver(bus, registry, &payload),
                Err(_) => warn!("redis: ignoring a bus message that is not text"),
            }
        }
        subscription_closed()
    }

    /// A subscription to `channels`, marked listening once Redis confirmed it.
    pub(crate) async fn subscribe(
        &self,
        channels: &[&str],
        subscription: u8,
    ) -> redis::RedisResult<impl futures::Stream<Item = redis::Msg> + use<>> {
        let mut pubsub = self.client.get_async_pubsub().await?;
        pubsub.subscribe(channels).await?;
        info!(?channels, "redis: subscribed");
        self.mark(subscription, true);
        Ok(pubsub.into_on_message())
    }

    /// Applies another instance's change here: live registry first, then local subscribers.
    fn deliver(&self, bus: &EventBus, registry: &LiveRegistry, payload: &str) {
        let Some(body) = self.bus_key.open(payload) else {
            return warn!("redis: refused a bus message that no instance signed");
        };
        let envelope: Envelope = match serde_json::from_str(body) {
            Ok(envelope) => envelope,
            Err(error) => return warn!(%error, "redis: unreadable bus message"),
        };
        if *envelope.origin == *self.instance {
            return;
        }
        let now = unix_millis(OffsetDateTime::now_utc());
        let admitted = self
            .replays
            .admit(&envelope.origin, envelope.nonce, envelope.sent_at, now);
        if let Err(refusal) = admitted {
            return warn!(?refusal, origin = %envelope.origin, "redis: refused a replayed bus message");
        }
        if let BusEvent::Call { call, .. } | BusEvent::Heartbeat { call } = &envelope.event {
            registry.track(call, OffsetDateTime::now_utc());
        }
        bus.publish(envelope.event);
    }
}

pub(crate) fn subscription_closed() -> redis::RedisError {
    redis::RedisError::from((redis::ErrorKind::Io, "subscription closed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_messages_signed_with_the_shared_key_open() {
        let key = BusKey::derive("a secret every instance shares, 32+ chars");
        let sealed = key.seal(r#"{"origin":"a","event":1}"#);
        assert_eq!(key.open(&sealed), Some(r#"{"origin":"a","event":1}"#));
        // Changed in transit, signed with another secret, or not signed at all: refused.
        let tampered = sealed.replace("\"a\"", "\"b\"");
        assert_eq!(key.open(&tampered), None);
        let other = BusKey::derive("another secret, also long enough here");
        assert_eq!(other.open(&sealed), None);
        assert_eq!(key.open(r#"{"origin":"a","event":1}"#), None);
        assert_eq!(key.open("zz.{}"), None);
    }
}
