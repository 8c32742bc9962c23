//! Redis mode against the real Redis on this machine: producer channels, the seed-002 key
//! layout, and two instances sharing every change. Each test uses its own key prefix. Redis
//! unreachable: skipped with a note, except under CI (see `databases::services_required`).

use redis::AsyncCommands;
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::live::bus::{BusEvent, CallChange};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use tokio::sync::broadcast;

use crate::{
    databases::{TestDatabase, services_required},
    helpers::{TestApp, spawn_app, spawn_app_with},
    live_clients::{
        ServerProcess, SocketIoClient, WsClient, call_ended, call_events, call_started, ws_connect,
        ws_url,
    },
};

fn redis_url() -> String {
    std::env::var("SWITCHBOARD_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A connection and a fresh prefix, or `None` when Redis is unreachable and not required.
async fn redis() -> Option<(redis::aio::MultiplexedConnection, String)> {
    let connected = async {
        redis::Client::open(redis_url())?
            .get_multiplexed_async_connection()
            .await
    };
    match tokio::time::timeout(std::time::Duration::from_secs(5), connected).await {
        Ok(Ok(conn)) => Some((
            conn,
            format!("switchboard-test:{:016x}:", rand::random::<u64>()),
        )),
        _ if !services_required() => {
            eprintln!("Redis unreachable at {}: Redis case not run", redis_url());
            None
        }
        result => panic!(
            "Redis is required here but unreachable at {}: {result:?}",
            redis_url()
        ),
    }
}

/// Redis and a PostgreSQL database of its own (several instances share it), or `None` when
/// either is unreachable and not required.
async fn redis_and_postgres() -> Option<(redis::aio::MultiplexedConnection, String, TestDatabase)> {
    let (conn, prefix) = redis().await?;
    let Some(db) = TestDatabase::postgres().await else {
        assert!(!services_required());
        return None;
    };
    Some((conn, prefix, db))
}

async fn spawn_redis_app(prefix: &str, database_url: Option<String>) -> TestApp {
    let prefix = prefix.to_owned();
    let app = spawn_app_with(|config| {
        config.redis_url = Some(redis_url());
        config.redis_prefix = prefix;
        if let Some(url) = database_url {
            config.database_url = url;
        }
    })
    .await;
    let mut subscribed = app.state.redis.as_ref().expect("redis mode").subscribed();
    subscribed.wait_for(|ready| *ready).await.unwrap();
    app
}

fn now() -> String {
    OffsetDateTime::now_utc().format(&Rfc3339).unwrap()
}

fn started(call_id: &str, at: &str) -> Value {
    json!({"type": "call_started", "user_id": "tenant-1", "call_id": call_id, "at": at,
           "call": {"phoneNumber": "+12345678900", "direction": "outbound", "agentConfigId": "agent-1"}})
}

/// The next call or heartbeat event on a bus, skipping DLQ and health news.
async fn next_change(bus: &mut broadcast::Receiver<BusEvent>) -> (String, Option<CallChange>) {
    loop {
        match bus.recv().await.unwrap() {
            BusEvent::Call { change, call } => return (call.id, Some(change)),
            BusEvent::Heartbeat { call } => return (call.id, None),
            _ => {}
        }
    }
}

#[tokio::test]
async fn events_published_on_the_seed_channels_are_stored_once() {
    let Some((mut conn, prefix)) = redis().await else {
        return;
    };
    let app = spawn_redis_app(&prefix, None).await;
    let mut bus = app.state.bus.subscribe();
    let at = now();

    let _: i64 = conn
        .publish(
            format!("{prefix}call_logs"),
            started("call-1", &at).to_string(),
        )
        .await
        .unwrap();
    assert_eq!(
        next_change(&mut bus).await,
        ("call-1".to_owned(), Some(CallChange::Started))
    );
    // The seed's heartbeat messages carry no type or time: both default.
    let beat = json!({"user_id": "tenant-1", "call_id": "call-1"}).to_string();
    let _: i64 = conn
        .publish(format!("{prefix}call_heartbeat"), beat)
        .await
        .unwrap();
    assert_eq!(next_change(&mut bus).await, ("call-1".to_owned(), None));

    // A replay, garbage and an invalid event change nothing; the marker after them proves they
    // were all processed (one subscriber, in order).
    // A turn comes in on the same channel as other events.
    let turn = json!({"type": "turn", "user_id": "tenant-1", "call_id": "call-1", "at": at,
                      "turn": {"role": "agent", "text": "Hi there", "latency_ms": 700}});
    for junk in [
        started("call-1", &at).to_string(),
        "not json".to_owned(),
        json!({"type": "call_started"}).to_string(),
        turn.to_string(),
    ] {
        let _: i64 = conn
            .publish(format!("{prefix}call_logs"), junk)
            .await
            .unwrap();
    }
    let _: i64 = conn
        .publish(
            format!("{prefix}call_logs"),
            started("marker", &at).to_string(),
        )
        .await
        .unwrap();
    assert_eq!(
        next_change(&mut bus).await,
        ("marker".to_owned(), Some(CallChange::Started))
    );
    assert_eq!(app.state.storage.count_calls().await.unwrap(), 2);
    let row = app.state.storage.call("call-1").await.unwrap().unwrap();
    assert!(row.last_heartbeat_at.is_some());
    assert_eq!(row.direction.as_deref(), Some("outbound"));
    let timeline = app
        .state
        .storage
        .call_timeline(None, "call-1")
        .await
        .unwrap()
        .unwrap();
    let turns: Vec<&str> = timeline.turns.iter().map(|t| t.text.as_str()).collect();
    assert_eq!(turns, ["Hi there"]);
    assert_eq!(timeline.events[0].source, "redis_channel");
}

#[tokio::test]
async fn the_seed_002_keys_follow_each_call() {
    let Some((mut conn, prefix)) = redis().await else {
        return;
    };
    let app = spawn_redis_app(&prefix, None).await;
    let context = format!("{prefix}call_ctx:call-1");
    let heartbeat = format!("{prefix}call_heartbeat:call-1");

    let start = OffsetDateTime::now_utc() - time::Duration::seconds(30);
    assert_eq!(
        app.ingest(&started("call-1", &start.format(&Rfc3339).unwrap()))
            .await
            .status(),
        StatusCode::OK
    );
    // Written before the reply: no waiting needed.
    let fields: std::collections::HashMap<String, String> = conn.hgetall(&context).await.unwrap();
    assert_eq!(fields.get("user_id").map(String::as_str), Some("tenant-1"));
    assert_eq!(
        fields.get("phone_number").map(String::as_str),
        Some("+12345678900")
    );
    assert_eq!(
        fields.get("started_at"),
        Some(&start.unix_timestamp().to_string())
    );
    let ttl: i64 = conn.ttl(&context).await.unwrap();
    assert!((1..=6 * 3600).contains(&ttl), "ttl {ttl}");

    let beat_at = OffsetDateTime::now_utc() - time::Duration::seconds(5);
    let beat = json!({"type": "heartbeat", "user_id": "tenant-1", "call_id": "call-1", "at": beat_at.format(&Rfc3339).unwrap()});
    app.ingest(&beat).await;
    let last: i64 = conn.get(&heartbeat).await.unwrap();
    assert_eq!(last, beat_at.unix_timestamp());
    let ttl: i64 = conn.ttl(&heartbeat).await.unwrap();
    assert!((1..=3600).contains(&ttl), "ttl {ttl}");

    let end = json!({"type": "call_ended", "user_id": "tenant-1", "call_id": "call-1", "at": now(), "outcome": "busy"});
    app.ingest(&end).await;
    let left: i64 = conn.exists(&[&context, &heartbeat]).await.unwrap();
    assert_eq!(left, 0, "an ended call leaves no live keys");
}

#[tokio::test]
async fn two_instances_share_every_change() {
    let Some((_, prefix, db)) = redis_and_postgres().await else {
        return;
    };
    let first = spawn_redis_app(&prefix, Some(db.url().to_owned())).await;
    let second = spawn_redis_app(&prefix, Some(db.url().to_owned())).await;
    let mut on_first = first.state.bus.subscribe();
    let mut on_second = second.state.bus.subscribe();
    let at = now();

    // Ingested on the first instance, seen live on the second: bus and registry.
    first.ingest(&started("call-1", &at)).await;
    assert_eq!(
        next_change(&mut on_second).await,
        ("call-1".to_owned(), Some(CallChange::Started))
    );
    let live = second
        .state
        .registry
        .snapshot(Some("tenant-1"), OffsetDateTime::now_utc());
    assert_eq!(
        live.iter()
            .map(|(call, _)| call.call.id.as_str())
            .collect::<Vec<_>>(),
        ["call-1"]
    );

    // And the other way round, with the end of the call.
    let end = json!({"type": "call_ended", "user_id": "tenant-1", "call_id": "call-1", "at": now(), "outcome": "completed"});
    second.ingest(&end).await;
    assert_eq!(
        next_change(&mut on_first).await,
        ("call-1".to_owned(), Some(CallChange::Started))
    );
    assert_eq!(
        next_change(&mut on_first).await,
        ("call-1".to_owned(), Some(CallChange::Ended))
    );
    assert!(first.state.registry.is_empty());

    // No instance hears its own changes twice.
    first.ingest(&started("call-2", &at)).await;
    assert_eq!(
        next_change(&mut on_second).await,
        ("call-1".to_owned(), Some(CallChange::Ended))
    );
    assert_eq!(
        next_change(&mut on_second).await,
        ("call-2".to_owned(), Some(CallChange::Started))
    );
    let mut seen_on_first = Vec::new();
    while let Ok(event) = on_first.try_recv() {
        if let BusEvent::Call { call, change } = event {
            seen_on_first.push((call.id, change));
        }
    }
    assert_eq!(seen_on_first, [("call-2".to_owned(), CallChange::Started)]);
    assert_eq!(first.state.storage.count_calls().await.unwrap(), 2);
}

#[tokio::test]
async fn a_call_page_on_one_instance_hears_the_turns_and_heartbeats_written_on_another() {
    let Some((_, prefix, db)) = redis_and_postgres().await else {
        return;
    };
    let first = spawn_redis_app(&prefix, Some(db.url().to_owned())).await;
    let second = spawn_redis_app(&prefix, Some(db.url().to_owned())).await;
    first.ingest(&started("call-1", &now())).await;
    let url = ws_url(second.addr, &[("call", "call-1")]);
    let mut page = ws_connect(&url, &second.token(Some("tenant-1")))
        .await
        .unwrap();
    page.recv_until(|message| matches!(message, app::dto::live::ServerMessage::Snapshot { .. }))
        .await;
    let turn = json!({"type": "turn", "user_id": "tenant-1", "call_id": "call-1", "at": now(),
                      "turn": {"role": "agent", "text": "Hello from the first instance", "latency_ms": 300}});
    first.ingest(&turn).await;
    page.recv_until_feed(|feed| feed.call().is_some_and(|call| !call.turns.is_empty()))
        .await;
    let held = page.feed.call().unwrap();
    assert_eq!(held.turns[0].text, "Hello from the first instance");
    assert_eq!(held.call.user_id, "tenant-1");
    // A heartbeat crosses as its own event only (no timeline), and the page still hears it.
    let beat =
        json!({"type": "heartbeat", "user_id": "tenant-1", "call_id": "call-1", "at": now()});
    first.ingest(&beat).await;
    page.recv_until_feed(|feed| feed.call().is_some_and(|call| call.heartbeats.count == 1))
        .await;
}

#[tokio::test]
async fn a_recorded_bus_message_published_again_is_refused() {
    use futures::StreamExt;
    let Some((mut conn, prefix, db)) = redis_and_postgres().await else {
        return;
    };
    let first = spawn_redis_app(&prefix, Some(db.url().to_owned())).await;
    let second = spawn_redis_app(&prefix, Some(db.url().to_owned())).await;
    let mut on_second = second.state.bus.subscribe();
    let channel = format!("{prefix}switchboard:bus");
    let mut recorder = redis::Client::open(redis_url())
        .unwrap()
        .get_async_pubsub()
        .await
        .unwrap();
    recorder.subscribe(&channel).await.unwrap();

    first.ingest(&started("call-1", &now())).await;
    let recorded: String = recorder
        .on_message()
        .next()
        .await
        .unwrap()
        .get_payload()
        .unwrap();
    assert_eq!(
        next_change(&mut on_second).await,
        ("call-1".to_owned(), Some(CallChange::Started))
    );
    // Anyone who can read Redis publishes it again: signed, but not new.
    let _: i64 = conn.publish(&channel, &recorded).await.unwrap();
    first.ingest(&started("call-2", &now())).await;
    assert_eq!(
        next_change(&mut on_second).await,
        ("call-2".to_owned(), Some(CallChange::Started)),
        "the replayed call-1 start must not come first"
    );
}

#[tokio::test]
async fn the_dlq_lives_in_redis_and_outlives_an_instance() {
    let Some((mut conn, prefix)) = redis().await else {
        return;
    };
    let app = spawn_redis_app(&prefix, None).await;
    app.state.ingestor.injector().set_percent(100);
    let at = now();
    let batch: Vec<Value> = (0..10)
        .map(|n| started(&format!("call-{n}"), &at))
        .collect();
    let response = app.ingest(&json!(batch)).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(app.state.dlq.depth().await.unwrap(), 10);
    let stored: i64 = conn
        .hlen(format!("{prefix}switchboard:dlq:entries"))
        .await
        .unwrap();
    assert_eq!(stored, 10);

    // A failed retry is counted and rescheduled 10 s on.
    let first = app.state.dlq.list(1).await.unwrap().remove(0);
    app.state.dlq.retry_now(first.id).await.unwrap();
    let retried = server::service::dlq_retry::retry_due_dead_letters(&app.state)
        .await
        .unwrap();
    assert!(matches!(
        retried[..],
        [server::service::dlq_retry::Retried {
            result: server::service::dlq_retry::RetryResult::Failed(_),
            ..
        }]
    ));
    let entry = app.state.dlq.get(first.id).await.unwrap().unwrap();
    assert_eq!(entry.attempts, 1);
    assert_eq!(
        entry
            .next_retry_at
            .map(|next| (next - entry.updated_at).whole_seconds()),
        Some(10)
    );

    // The instance goes away; another one finds the queue and drains it.
    app.stop().await.unwrap();
    let app = spawn_redis_app(&prefix, None).await;
    assert_eq!(app.state.dlq.depth().await.unwrap(), 10);
    let mut bus = app.state.bus.subscribe();
    assert_eq!(app.state.dlq.retry_all_now().await.unwrap(), 10);
    // This pass and the instance's own retrier (which may claim some entries first) drain it
    // together; each pass announces the depth it left.
    server::service::dlq_retry::retry_due_dead_letters(&app.state)
        .await
        .unwrap();
    while app.state.dlq.depth().await.unwrap() != 0 {
        while !matches!(bus.recv().await.unwrap(), BusEvent::DlqChanged { .. }) {}
    }
    assert_eq!(
        app.state.storage.count_calls().await.unwrap(),
        10,
        "every queued call is written"
    );
    let due: i64 = conn
        .zcard(format!("{prefix}switchboard:dlq:due"))
        .await
        .unwrap();
    assert_eq!(due, 0);
}

#[tokio::test]
async fn entries_waiting_on_an_outage_are_probed_then_brought_forward_in_redis() {
    use app::dto::{
        admin::FailureKind,
        ingest::{CallEvent, EventType},
    };
    use server::dlq::{DeadLetterQueue, RetryPolicy};
    let Some((_conn, prefix)) = redis().await else {
        return;
    };
    // A queue of its own, with no server retrying it meanwhile.
    let conn = redis::Client::open(redis_url())
        .unwrap()
        .get_connection_manager()
        .await
        .unwrap();
    let dlq = DeadLetterQueue::redis(conn, &prefix, RetryPolicy::default())
        .await
        .unwrap();
    let event = |n: usize| {
        CallEvent::new(
            EventType::CallStarted,
            "tenant-1",
            format!("call-{n}"),
            OffsetDateTime::now_utc(),
        )
    };
    dlq.push(&[event(0)], "refused", FailureKind::Refusal)
        .await
        .unwrap();
    dlq.push(&[event(1), event(2)], "database away", FailureKind::Outage)
        .await
        .unwrap();
    let now = OffsetDateTime::now_utc();
    assert!(dlq.due(now, 10).await.unwrap().is_empty());
    // One entry waiting on the outage is tried ahead of its time…
    assert!(dlq.probe_outage(now).await.unwrap());
    let probed = dlq.due(now, 10).await.unwrap();
    assert_eq!(probed.len(), 1);
    assert_eq!(probed[0].kind, FailureKind::Outage);
    // …and once the database is back the other comes forward too; the refusal keeps its time.
    assert_eq!(dlq.rearm_outages(now).await.unwrap(), 1);
    let rearmed = dlq.due(now, 10).await.unwrap();
    assert_eq!(rearmed.len(), 1);
    assert_eq!(rearmed[0].kind, FailureKind::Outage);
    assert_ne!(rearmed[0].id, probed[0].id);
    assert!(!dlq.probe_outage(now).await.unwrap());
}

#[tokio::test]
async fn a_discard_landing_during_a_retry_stays_a_discard() {
    let Some((_conn, prefix)) = redis().await else {
        return;
    };
    let app = spawn_redis_app(&prefix, None).await;
    app.state.ingestor.injector().set_percent(100);
    let at = now();
    let batch: Vec<Value> = (0..50)
        .map(|n| started(&format!("call-{n}"), &at))
        .collect();
    app.ingest(&json!(batch)).await;
    let letters = app.state.dlq.list(100).await.unwrap();
    assert_eq!(letters.len(), 50);
    // A retrier reads each entry, an admin discards it, then the retrier saves its result:
    // the save must not bring the entry back.
    let dlq = &app.state.dlq;
    for letter in &letters {
        let (saved, discarded) = tokio::join!(
            dlq.record_failure(
                letter.id,
                "failed again",
                app::dto::admin::FailureKind::Refusal
            ),
            dlq.discard(letter.id)
        );
        saved.unwrap();
        assert!(discarded.unwrap());
    }
    assert_eq!(app.state.dlq.depth().await.unwrap(), 0);
    assert_eq!(app.state.dlq.final_failures().await.unwrap(), 0);
}

#[tokio::test]
async fn only_instances_speak_on_the_bus_and_each_producer_event_is_written_once() {
    let Some((mut conn, prefix, db)) = redis_and_postgres().await else {
        return;
    };
    let first = spawn_redis_app(&prefix, Some(db.url().to_owned())).await;
    let second = spawn_redis_app(&prefix, Some(db.url().to_owned())).await;
    let mut on_second = second.state.bus.subscribe();
    let mut wire = redis::Client::open(redis_url())
        .unwrap()
        .get_async_pubsub()
        .await
        .unwrap();
    let bus_channel = format!("{prefix}switchboard:bus");
    wire.subscribe(&bus_channel).await.unwrap();
    let mut wire = wire.into_on_message();
    let at = now();

    // A real message between instances, as it travels.
    first.ingest(&started("call-1", &at)).await;
    assert_eq!(
        next_change(&mut on_second).await,
        ("call-1".to_owned(), Some(CallChange::Started))
    );
    let signed: String = futures::StreamExt::next(&mut wire)
        .await
        .unwrap()
        .get_payload()
        .unwrap();
    let (_, body) = signed.split_once('.').expect("signature.body");
    assert!(body.contains("tenant-1"), "{body}");

    // Anyone else who can reach Redis: the message altered to inject a call into another
    // tenant, the same without a signature, and one signed with another secret.
    let forged = [
        signed
            .replace("tenant-1", "tenant-evil")
            .replace("call-1", "forged-1"),
        body.replace("tenant-1", "tenant-evil")
            .replace("call-1", "forged-2"),
        format!(
            "{}.{}",
            "ab".repeat(32),
            body.replace("tenant-1", "tenant-evil")
                .replace("call-1", "forged-3")
        ),
    ];
    for message in forged {
        let _: i64 = conn.publish(&bus_channel, message).await.unwrap();
    }
    // The next change the second instance hears is the next real one: the forged ones, sent
    // before it on the same channel, were refused.
    first.ingest(&started("call-2", &at)).await;
    assert_eq!(
        next_change(&mut on_second).await,
        ("call-2".to_owned(), Some(CallChange::Started))
    );
    let live = second
        .state
        .registry
        .snapshot(None, OffsetDateTime::now_utc());
    assert!(
        live.iter().all(|(call, _)| call.call.user_id == "tenant-1"),
        "a forged call reached the registry"
    );

    // Producer events on the seed's channel reach both instances; each is written by one.
    let producer_ids: Vec<String> = (0..20).map(|n| format!("produced-{n}")).collect();
    for id in &producer_ids {
        let _: i64 = conn
            .publish(format!("{prefix}call_logs"), started(id, &at).to_string())
            .await
            .unwrap();
    }
    let mut seen = std::collections::BTreeSet::new();
    while seen.len() < producer_ids.len() {
        let (id, change) = next_change(&mut on_second).await;
        if change == Some(CallChange::Started) && id.starts_with("produced-") {
            seen.insert(id);
        }
    }
    let taken = |app: &TestApp| app.state.redis.as_ref().unwrap().producer_messages_taken();
    assert_eq!(
        taken(&first) + taken(&second),
        20,
        "first took {}, second {}",
        taken(&first),
        taken(&second)
    );
    assert_eq!(first.state.storage.count_calls().await.unwrap(), 22);
    db.drop_now().await;
}

/// `XADD {prefix}call_events * event <json>` of a call starting.
async fn add_to_stream(conn: &mut redis::aio::MultiplexedConnection, prefix: &str, id: &str) {
    let _: String = redis::cmd("XADD")
        .arg(format!("{prefix}call_events"))
        .arg("*")
        .arg("event")
        .arg(started(id, &now()).to_string())
        .query_async(conn)
        .await
        .unwrap();
}

/// Entries of the stream taken and not yet acknowledged.
async fn pending(conn: &mut redis::aio::MultiplexedConnection, prefix: &str) -> i64 {
    let summary: redis::Value = redis::cmd("XPENDING")
        .arg(format!("{prefix}call_events"))
        .arg("switchboard")
        .query_async(conn)
        .await
        .unwrap();
    match summary {
        redis::Value::Array(fields) => redis::from_redis_value(fields[0].clone()).unwrap(),
        other => panic!("XPENDING answered {other:?}"),
    }
}

#[tokio::test]
async fn stream_entries_are_written_once_across_instances_and_outlive_a_dead_one() {
    let Some((mut conn, prefix, db)) = redis_and_postgres().await else {
        return;
    };
    // An instance that died holding entries: it took them from the group and never
    // acknowledged them.
    let stream = format!("{prefix}call_events");
    let _: () = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&stream)
        .arg("switchboard")
        .arg("0")
        .arg("MKSTREAM")
        .query_async(&mut conn)
        .await
        .unwrap();
    for n in 0..3 {
        add_to_stream(&mut conn, &prefix, &format!("orphan-{n}")).await;
    }
    let _: redis::Value = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg("switchboard")
        .arg("dead-instance")
        .arg("STREAMS")
        .arg(&stream)
        .arg(">")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(pending(&mut conn, &prefix).await, 3);

    let spawn = |url: String| {
        let prefix = prefix.clone();
        async move {
            let app = spawn_app_with(|config| {
                config.redis_url = Some(redis_url());
                config.redis_prefix = prefix;
                config.database_url = url;
                config.stream_claim_idle = std::time::Duration::from_millis(500);
            })
            .await;
            let mut subscribed = app.state.redis.as_ref().unwrap().subscribed();
            subscribed.wait_for(|ready| *ready).await.unwrap();
            app
        }
    };
    let first = spawn(db.url().to_owned()).await;
    let second = spawn(db.url().to_owned()).await;
    let mut on_first = first.state.bus.subscribe();
    for n in 0..20 {
        add_to_stream(&mut conn, &prefix, &format!("streamed-{n}")).await;
    }
    // Every entry reaches the store — the dead instance's taken over — and is seen live.
    let mut seen = std::collections::BTreeSet::new();
    while seen.len() < 23 {
        let (id, change) = next_change(&mut on_first).await;
        if change == Some(CallChange::Started) {
            seen.insert(id);
        }
    }
    assert_eq!(first.state.storage.count_calls().await.unwrap(), 23);
    // Each logged with the door it came in by.
    let timeline = first
        .state
        .storage
        .call_timeline(None, "streamed-7")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(timeline.events[0].source, "redis_stream");
    // Each written by one instance, and all acknowledged.
    let taken = |app: &TestApp| app.state.redis.as_ref().unwrap().producer_messages_taken();
    assert_eq!(taken(&first) + taken(&second), 23);
    while pending(&mut conn, &prefix).await != 0 {
        // The acknowledgement follows the write's commit; the bus told of the commit first.
        tokio::task::yield_now().await;
    }
    let _: i64 = redis::cmd("DEL")
        .arg(&stream)
        .query_async(&mut conn)
        .await
        .unwrap();
    db.drop_now().await;
}

/// Call events (id, type) a `/ws` client receives up to and including `last` starting.
async fn ws_calls_until(client: &mut WsClient, last: &str) -> Vec<(String, String)> {
    let done = (last.to_owned(), "call_started".to_owned());
    let seen = client
        .recv_until(|message| call_events(std::slice::from_ref(message)).contains(&done))
        .await;
    call_events(&seen)
}

/// The same from a Socket.IO client.
async fn socketio_calls_until(client: &mut SocketIoClient, last: &str) -> Vec<(String, String)> {
    let mut calls = Vec::new();
    loop {
        let (data, _) = client.until("call_event").await;
        let call = (
            data["call"]["id"].as_str().unwrap().to_owned(),
            data["type"].as_str().unwrap().to_owned(),
        );
        let done = call.0 == last && call.1 == "call_started";
        calls.push(call);
        if done {
            return calls;
        }
    }
}

#[tokio::test]
async fn two_server_processes_push_every_call_once_on_both_transports() {
    let Some((_, prefix, db)) = redis_and_postgres().await else {
        return;
    };
    let redis_url = redis_url();
    let args = [
        "--database-url",
        db.url(),
        "--redis-url",
        &redis_url,
        "--redis-prefix",
        &prefix,
    ];
    let mut a = ServerProcess::start(&args).await;
    let mut b = ServerProcess::start(&args).await;
    a.logged("redis: subscribed").await;
    b.logged("redis: subscribed").await;

    let mut on_a = ws_connect(&ws_url(a.addr, &[]), &ServerProcess::token(Some("acme")))
        .await
        .unwrap();
    let mut admin_on_b = ws_connect(&ws_url(b.addr, &[]), &ServerProcess::token(None))
        .await
        .unwrap();
    let Some(mut socketio_on_b) = SocketIoClient::connect(
        b.addr,
        json!({"token": ServerProcess::token(Some("acme"))}),
        &["websocket"],
    )
    .await
    else {
        return;
    };
    socketio_on_b.until("initial_state").await;
    for client in [&mut on_a, &mut admin_on_b] {
        client
            .recv_until(|message| matches!(message, app::dto::live::ServerMessage::Snapshot { .. }))
            .await;
    }
    // The admin has two rooms (every tenant, ops): wait for the second snapshot too.
    admin_on_b
        .recv_until(|message| matches!(message, app::dto::live::ServerMessage::Snapshot { .. }))
        .await;

    // Started on A, ended on B, and a last call on A to close the window.
    a.ingest(&call_started("acme", "c1")).await;
    b.ingest(&call_ended("acme", "c1")).await;
    a.ingest(&call_started("acme", "last")).await;
    let expected = [
        ("c1".to_owned(), "call_started".to_owned()),
        ("c1".to_owned(), "call_ended".to_owned()),
        ("last".to_owned(), "call_started".to_owned()),
    ];
    assert_eq!(
        ws_calls_until(&mut on_a, "last").await,
        expected,
        "/ws on A"
    );
    assert_eq!(
        ws_calls_until(&mut admin_on_b, "last").await,
        expected,
        "/ws on B, each exactly once"
    );
    assert_eq!(
        socketio_calls_until(&mut socketio_on_b, "last").await,
        expected,
        "Socket.IO on B, each exactly once"
    );
    socketio_on_b.close().await;
}

/// Waits on `bus` for the end of run `id`.
async fn run_finished(
    bus: &mut broadcast::Receiver<BusEvent>,
    id: &str,
) -> app::dto::admin::ReconciliationSummary {
    loop {
        if let BusEvent::ReconciliationRun(run) = bus.recv().await.unwrap()
            && run.id == id
            && run.status != app::dto::admin::RunStatus::Running
        {
            return run;
        }
    }
}

#[tokio::test]
async fn reconciliation_makes_redis_the_registry_and_the_database_agree() {
    let Some((conn, prefix)) = redis().await else {
        return;
    };
    for (index, db) in crate::databases::each_backend().await.iter().enumerate() {
        let prefix = format!("{prefix}{index}:");
        reconcile_against(conn.clone(), &prefix, db.url()).await;
    }
}

async fn reconcile_against(
    mut conn: redis::aio::MultiplexedConnection,
    prefix: &str,
    database_url: &str,
) {
    let app = spawn_redis_app(prefix, Some(database_url.to_owned())).await;
    let now = OffsetDateTime::now_utc();
    let key = |name: &str| format!("{prefix}{name}");

    // Live in Redis, never reached the database (its producer's message was lost).
    let _: () = conn
        .hset_multiple(
            key("call_ctx:lost"),
            &[
                ("call_id", "lost"),
                ("user_id", "acme"),
                ("started_at", &(now.unix_timestamp() - 60).to_string()),
                ("phone_number", "+12025550111"),
                ("direction", "inbound"),
                ("agent_config_id", "agent-a"),
            ],
        )
        .await
        .unwrap();
    let _: () = conn
        .set(key("call_heartbeat:lost"), now.unix_timestamp() - 10)
        .await
        .unwrap();
    // A context nobody can write: no tenant.
    let _: () = conn
        .hset(key("call_ctx:nameless"), "started_at", now.unix_timestamp())
        .await
        .unwrap();
    // Ended in the database, but its keys came back (a delete that never happened).
    assert_eq!(
        app.ingest(&started("done", &self::now())).await.status(),
        StatusCode::OK
    );
    let ended = json!({"type": "call_ended", "user_id": "tenant-1", "call_id": "done",
                       "at": self::now(), "outcome": "completed"});
    assert_eq!(app.ingest(&ended).await.status(), StatusCode::OK);
    let _: () = conn
        .hset(key("call_ctx:done"), "user_id", "acme")
        .await
        .unwrap();
    let _: () = conn
        .set(key("call_heartbeat:done"), now.unix_timestamp())
        .await
        .unwrap();
    // Ended in the database, still live in the registry (a fan-out message that was lost).
    assert_eq!(
        app.ingest(&started("gone", &self::now())).await.status(),
        StatusCode::OK
    );
    let mut live_copy = app.state.storage.call("gone").await.unwrap().unwrap();
    let ended = json!({"type": "call_ended", "user_id": "tenant-1", "call_id": "gone",
                       "at": self::now(), "outcome": "completed"});
    assert_eq!(app.ingest(&ended).await.status(), StatusCode::OK);
    live_copy.status = Some("active".to_owned());
    app.state.registry.track(&live_copy, now);
    // A dead letter an instance claimed for a retry an hour ago and never settled.
    app.state.ingestor.injector().set_percent(100);
    assert_eq!(
        app.ingest(&started("queued", &self::now())).await.status(),
        StatusCode::ACCEPTED
    );
    app.state.ingestor.injector().set_percent(0);
    let entry = app.state.dlq.list(1).await.unwrap().remove(0);
    let claimed = app
        .state
        .dlq
        .due(now + time::Duration::hours(1), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let an_hour_ago = (now - time::Duration::hours(1)).unix_timestamp() * 1000;
    let _: () = conn
        .zadd(key("switchboard:dlq:claimed"), entry.id, an_hour_ago)
        .await
        .unwrap();

    let mut bus = app.state.bus.subscribe();
    let run = server::service::reconcile::start(
        &app.state,
        app::dto::admin::ReconciliationTrigger::Admin,
        Some("tests"),
    )
    .await
    .unwrap();
    let run = run_finished(&mut bus, &run.run_id).await;
    assert_eq!(run.status, app::dto::admin::RunStatus::Succeeded, "{run:?}");
    assert_eq!(
        (run.backfilled, run.live_cleared, run.dlq_rearmed),
        (1, 2, 1),
        "{run:?}"
    );

    // Backfilled from what Redis held, through the write path (registry, keys, rollup).
    let lost = app.state.storage.call("lost").await.unwrap().unwrap();
    assert_eq!(lost.status.as_deref(), Some("active"));
    assert_eq!(lost.phone_number.as_deref(), Some("+12025550111"));
    assert_eq!(lost.direction.as_deref(), Some("inbound"));
    assert_eq!(
        lost.last_heartbeat_at
            .map(|at| at.assume_utc().unix_timestamp()),
        Some(now.unix_timestamp() - 10)
    );
    let live = app.state.registry.ids();
    assert!(live.contains(&"lost".to_owned()), "{live:?}");
    assert!(!live.contains(&"gone".to_owned()), "{live:?}");
    // What the database ended is gone from Redis; what could not be written stays, named.
    let exists = |name: &str| {
        let mut conn = conn.clone();
        let name = key(name);
        async move { conn.exists::<_, bool>(name).await.unwrap() }
    };
    assert!(!exists("call_ctx:done").await);
    assert!(!exists("call_heartbeat:done").await);
    assert!(exists("call_ctx:nameless").await);
    let detail = app
        .admin_json(&format!("/api/admin/reconciliation/{}", run.id))
        .await;
    let refused = detail["touched"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["repair"] == "backfill_refused")
        .unwrap()
        .clone();
    assert_eq!(refused["call_id"], "nameless");
    assert!(refused["note"].as_str().unwrap().contains("user_id"));
    // The abandoned claim is back in line and, retried by the run or the retrier, written.
    while app.state.storage.call("queued").await.unwrap().is_none() {
        while !matches!(bus.recv().await.unwrap(), BusEvent::Call { call, .. } if call.id == "queued")
        {
        }
    }
    assert_eq!(app.state.dlq.depth().await.unwrap(), 0);
}

/// Pages of `/api/admin/dlq` until the last: the call ids in order, and the pages' sizes.
async fn dlq_pages(app: &TestApp, limit: u32) -> (Vec<String>, Vec<usize>) {
    let (mut calls, mut sizes, mut after) = (Vec::new(), Vec::new(), None::<i64>);
    loop {
        let path = match after {
            Some(after) => format!("/api/admin/dlq?limit={limit}&after={after}"),
            None => format!("/api/admin/dlq?limit={limit}"),
        };
        let page = app.admin_json(&path).await;
        let messages = page["messages"].as_array().unwrap();
        sizes.push(messages.len());
        calls.extend(
            messages
                .iter()
                .map(|message| message["call_id"].as_str().unwrap().to_owned()),
        );
        assert_eq!(page["depth"], 5);
        match page["next_after"].as_i64() {
            Some(next) => after = Some(next),
            None => return (calls, sizes),
        }
    }
}

#[tokio::test]
async fn the_dlq_is_read_a_page_at_a_time_in_both_stores() {
    let redis = redis().await;
    let mut apps = vec![spawn_app().await];
    if let Some((_, prefix)) = &redis {
        apps.push(spawn_redis_app(prefix, None).await);
    }
    for app in apps {
        app.state.ingestor.injector().set_percent(100);
        let at = now();
        let calls: Vec<String> = (0..5).map(|n| format!("paged-{n}")).collect();
        let batch: Vec<Value> = calls.iter().map(|id| started(id, &at)).collect();
        assert_eq!(
            app.ingest(&json!(batch)).await.status(),
            StatusCode::ACCEPTED
        );

        let (seen, sizes) = dlq_pages(&app, 2).await;
        assert_eq!(
            sizes,
            [2, 2, 1],
            "oldest first, two at a time, then the rest"
        );
        assert_eq!(seen, calls, "each message once, in the order they failed");

        // Final failures are counted as they come and go.
        let letters = app.state.dlq.list(5).await.unwrap();
        for letter in &letters[..3] {
            app.state
                .dlq
                .mark_final(letter.id, "gave up")
                .await
                .unwrap();
        }
        assert_eq!(app.state.dlq.final_failures().await.unwrap(), 3);
        app.state.dlq.discard(letters[0].id).await.unwrap();
        app.state.dlq.retry_now(letters[1].id).await.unwrap();
        assert_eq!(app.state.dlq.final_failures().await.unwrap(), 1);

        app.state.ingestor.injector().set_percent(0);
        assert_eq!(app.state.dlq.retry_all_now().await.unwrap(), 4);
        assert_eq!(app.state.dlq.final_failures().await.unwrap(), 0);
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn final_failures_saved_by_an_older_version_are_counted_after_an_upgrade() {
    let Some((mut conn, prefix)) = redis().await else {
        return;
    };
    let app = spawn_redis_app(&prefix, None).await;
    app.state.ingestor.injector().set_percent(100);
    let at = now();
    let batch: Vec<Value> = (0..3).map(|n| started(&format!("old-{n}"), &at)).collect();
    assert_eq!(
        app.ingest(&json!(batch)).await.status(),
        StatusCode::ACCEPTED
    );
    for letter in app.state.dlq.list(2).await.unwrap() {
        app.state
            .dlq
            .mark_final(letter.id, "gave up")
            .await
            .unwrap();
    }
    app.stop().await.unwrap();
    // What an older version left: the entries, without the index of final failures.
    let _: () = conn
        .del(format!("{prefix}switchboard:dlq:final"))
        .await
        .unwrap();

    let app = spawn_redis_app(&prefix, None).await;
    assert_eq!(app.state.dlq.final_failures().await.unwrap(), 2);
    assert_eq!(app.state.dlq.depth().await.unwrap(), 3);
}
