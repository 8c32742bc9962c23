//! Producers' events over Redis (`REDIS_URL`), as the seed-002 producers send them: the
//! channels `call_logs` and `call_heartbeat`, and the stream `call_events`.
//!
//! Events published on `call_logs` (event JSON) and `call_heartbeat` (event JSON;
//!   `type` and `at` may be left out) go through the same validation and writer as HTTP. Every
//!   instance hears every message; the one that claims it first (`SET NX` on its digest, for a
//!   couple of seconds) writes it, so N instances make one write, not N. The producer channels
//!   have a subscription of their own, read at once into a bounded queue and written in
//!   batches: a slow database never leaves Redis holding our unread messages until it drops
//!   the subscriber (which loses everything in its buffer). Pub/sub keeps nothing for a
//!   consumer that is down, so the stream `call_events` is read too (`XADD call_events *
//!   event <event JSON>`), by one consumer group across the instances: each entry is
//!   delivered to one instance and acknowledged once it is stored or in the DLQ; entries an
//!   instance took and did not acknowledge (it died) are taken over by another after
//!   [`crate::live::redis::STREAM_CLAIM_IDLE`].

use app::dto::call_detail::EventSource;
use futures::StreamExt;
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::{Ingestor, WriteOutcome, validate::validate};
use crate::live::redis::{PRODUCERS_READY, RedisLink, STREAM_READY, subscription_closed};

/// Producer messages read but not yet written; past this (a database that stopped taking
/// writes) new ones are dropped and counted, rather than held until memory runs out.
const PRODUCER_QUEUE: usize = 10_000;
/// Producer messages written together, at most.
const PRODUCER_BATCH: usize = 500;
/// How long a claim on a producer message lasts: far longer than the instances take to hear it,
/// far shorter than a producer's interval between two identical heartbeats.
const CLAIM_MILLIS: u64 = 2_000;

/// The stream producers may write to instead of the channels, and the one consumer group the
/// instances share.
const STREAM: &str = "call_events";
const GROUP: &str = "switchboard";
/// Entries read at once, and how long a read waits for one.
const STREAM_BATCH: usize = 500;
const STREAM_BLOCK_MS: usize = 2_000;

/// Listens on the producer channels and reads the stream until shutdown, each reconnecting with
/// backoff; channel messages are written by a task of their own.
pub fn spawn_intake(link: &RedisLink, ingestor: Ingestor, shutdown: CancellationToken) {
    let (queue, queued) = mpsc::channel(PRODUCER_QUEUE);
    tokio::spawn(write_producer_messages(
        link.clone(),
        ingestor.clone(),
        queued,
    ));
    let producers = link.clone();
    link.reconnecting(PRODUCERS_READY, shutdown.clone(), move || {
        let (link, queue) = (producers.clone(), queue.clone());
        async move { listen_producers(&link, &queue).await }
    });
    let stream = link.clone();
    link.reconnecting(STREAM_READY, shutdown, move || {
        let (link, ingestor) = (stream.clone(), ingestor.clone());
        async move { read_stream(&link, &ingestor).await }
    });
}

/// The stream: entries of this instance's share, and those a dead instance left.
async fn read_stream(link: &RedisLink, ingestor: &Ingestor) -> redis::RedisError {
    use redis::{
        AsyncCommands,
        streams::{StreamAutoClaimOptions, StreamReadOptions, StreamReadReply},
    };
    // A connection of its own: a blocking read would hold up everything behind it.
    let config = redis::AsyncConnectionConfig::new().set_response_timeout(None);
    let mut conn = match link
        .client()
        .get_multiplexed_async_connection_with_config(&config)
        .await
    {
        Ok(conn) => conn,
        Err(error) => return error,
    };
    let key = link.name(STREAM);
    // From the stream's start the first time: what producers wrote before any instance
    // listened is read too.
    let created: redis::RedisResult<()> = conn.xgroup_create_mkstream(&key, GROUP, "0").await;
    if let Err(error) = created
        && error.code() != Some("BUSYGROUP")
    {
        return error;
    }
    link.mark(STREAM_READY, true);
    let reclaim_every = link.claim_idle() / 2;
    let min_idle_ms = u64::try_from(link.claim_idle().as_millis()).unwrap_or(u64::MAX);
    let mut reclaim_at = tokio::time::Instant::now();
    loop {
        if tokio::time::Instant::now() >= reclaim_at {
            let mut start = "0-0".to_owned();
            loop {
                let options = StreamAutoClaimOptions::default().count(STREAM_BATCH);
                let reply: redis::streams::StreamAutoClaimReply = match conn
                    .xautoclaim_options(&key, GROUP, link.instance(), min_idle_ms, &start, options)
                    .await
                {
                    Ok(reply) => reply,
                    Err(error) => return error,
                };
                if !reply.claimed.is_empty() {
                    info!(
                        entries = reply.claimed.len(),
                        "redis: took over stream entries an instance left"
                    );
                }
                if let Err(error) =
                    write_entries(link, ingestor, &mut conn, &key, reply.claimed).await
                {
                    return error;
                }
                if reply.next_stream_id == "0-0" {
                    break;
                }
                start = reply.next_stream_id;
            }
            reclaim_at = tokio::time::Instant::now() + reclaim_every;
        }
        let options = StreamReadOptions::default()
            .group(GROUP, link.instance())
            .count(STREAM_BATCH)
            .block(STREAM_BLOCK_MS);
        let reply: StreamReadReply = match conn.xread_options(&[&key], &[">"], &options).await {
            Ok(reply) => reply,
            Err(error) => return error,
        };
        for stream in reply.keys {
            if let Err(error) = write_entries(link, ingestor, &mut conn, &key, stream.ids).await {
                return error;
            }
        }
    }
}

/// Writes stream entries and acknowledges each once it is stored, in the DLQ, or refused
/// for good (logged); one neither stored nor queued stays pending, for whoever reclaims it.
async fn write_entries(
    link: &RedisLink,
    ingestor: &Ingestor,
    conn: &mut redis::aio::MultiplexedConnection,
    key: &str,
    entries: Vec<redis::streams::StreamId>,
) -> redis::RedisResult<()> {
    use redis::AsyncCommands;
    if entries.is_empty() {
        return Ok(());
    }
    let mut done = Vec::with_capacity(entries.len());
    let mut ids = Vec::with_capacity(entries.len());
    let mut events = Vec::with_capacity(entries.len());
    for entry in entries {
        let payload = entry.get::<String>("event").unwrap_or_default();
        match validated(&payload, false) {
            Some(event) => {
                ids.push(entry.id);
                events.push(event);
            }
            None => done.push(entry.id),
        }
    }
    if !events.is_empty() {
        link.count_taken(events.len());
        for (id, outcome) in ids
            .into_iter()
            .zip(ingestor.submit(events, EventSource::RedisStream).await)
        {
            match outcome {
                WriteOutcome::Stored | WriteOutcome::Queued => done.push(id),
                WriteOutcome::Rejected(error) => {
                    warn!(%error, "redis: stream event refused");
                    done.push(id);
                }
                WriteOutcome::Unavailable(reason) => {
                    warn!(%reason, "redis: stream event left pending");
                }
            }
        }
    }
    if !done.is_empty() {
        let _: i64 = conn.xack(key, GROUP, &done).await?;
    }
    Ok(())
}

/// The producer channels: every message into the queue at once, or dropped (and counted)
/// when it is full.
async fn listen_producers(
    link: &RedisLink,
    queue: &mpsc::Sender<ProducerMessage>,
) -> redis::RedisError {
    let (calls, heartbeats) = (link.name("call_logs"), link.name("call_heartbeat"));
    let mut messages = match link
        .subscribe(&[&calls, &heartbeats], PRODUCERS_READY)
        .await
    {
        Ok(messages) => messages,
        Err(error) => return error,
    };
    while let Some(message) = messages.next().await {
        let Ok(payload) = message.get_payload::<String>() else {
            warn!(
                channel = message.get_channel_name(),
                "redis: ignoring a message that is not text"
            );
            continue;
        };
        let heartbeat = message.get_channel_name() == heartbeats;
        if queue
            .try_send(ProducerMessage { payload, heartbeat })
            .is_err()
        {
            let dropped = link.count_dropped();
            if dropped.is_power_of_two() {
                warn!(
                    dropped,
                    "redis: producer messages dropped: the database is not keeping up"
                );
            }
        }
    }
    subscription_closed()
}

/// Of `messages`, those this instance claims first: each producer message is written by
/// one instance however many hear it. When Redis cannot say, all of them (a write twice is
/// harmless: writes are idempotent).
async fn claim(link: &RedisLink, messages: &[ProducerMessage]) -> Vec<bool> {
    let mut pipe = redis::pipe();
    for message in messages {
        let digest = Sha256::new()
            .chain_update([u8::from(message.heartbeat)])
            .chain_update(message.payload.as_bytes())
            .finalize();
        pipe.cmd("SET")
            .arg(link.name(&format!("claim:{}", hex::encode(digest))))
            .arg(link.instance())
            .arg("NX")
            .arg("PX")
            .arg(CLAIM_MILLIS);
    }
    match pipe
        .query_async::<Vec<Option<String>>>(&mut link.connection())
        .await
    {
        Ok(replies) => replies.into_iter().map(|reply| reply.is_some()).collect(),
        Err(error) => {
            warn!(%error, "redis: cannot claim producer messages; writing them here");
            vec![true; messages.len()]
        }
    }
}

/// One message from a producer's channel.
struct ProducerMessage {
    payload: String,
    /// From `call_heartbeat`, whose messages may leave out `type` and `at`.
    heartbeat: bool,
}

/// Writes queued producer messages until the queue closes: as many as are waiting at once, the
/// ones this instance claims.
async fn write_producer_messages(
    link: RedisLink,
    ingestor: Ingestor,
    mut queued: mpsc::Receiver<ProducerMessage>,
) {
    let mut messages = Vec::with_capacity(PRODUCER_BATCH);
    while queued.recv_many(&mut messages, PRODUCER_BATCH).await > 0 {
        let claimed = claim(&link, &messages).await;
        let events: Vec<_> = messages
            .drain(..)
            .zip(claimed)
            .filter(|(_, claimed)| *claimed)
            .filter_map(|(message, _)| validated(&message.payload, message.heartbeat))
            .collect();
        if events.is_empty() {
            continue;
        }
        link.count_taken(events.len());
        for outcome in ingestor.submit(events, EventSource::RedisChannel).await {
            if let WriteOutcome::Rejected(error) = outcome {
                warn!(%error, "redis: event refused");
            }
        }
    }
}

/// The event a producer message holds. Nobody can be answered on pub/sub, so refusals are
/// logged with their reason.
fn validated(payload: &str, heartbeat: bool) -> Option<app::dto::ingest::CallEvent> {
    let mut value: Value = match serde_json::from_str(payload) {
        Ok(value) => value,
        Err(error) => {
            warn!(%error, "redis: ignoring a message that is not JSON");
            return None;
        }
    };
    if heartbeat && let Some(object) = value.as_object_mut() {
        object
            .entry("type")
            .or_insert_with(|| Value::from("heartbeat"));
        let now = OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        object.entry("at").or_insert_with(|| Value::from(now));
    }
    match validate(value, OffsetDateTime::now_utc()) {
        Ok(event) => Some(event),
        Err(rejection) => {
            warn!(call_id = ?rejection.call_id, error = %rejection.message, "redis: event refused");
            None
        }
    }
}
