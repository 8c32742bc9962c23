//! The PostgreSQL side of [`super::Storage`].
//!
//! Concurrent writers serialise per call with transaction-scoped advisory locks on the call ids:
//! a row lock cannot guard a call that has no row yet, and two first events for one call must
//! not both plan it as new. Locks are taken in a fixed order — call-id hashes ascending, then
//! tenants, then rollup rows by key — so batches never deadlock each other.

use std::{collections::HashMap, str::FromStr, time::Duration};

use sqlx::{
    PgPool,
    postgres::{PgConnectOptions, PgPoolOptions},
};

use super::{
    BatchPlan, Bounds, CallRecord, Incoming, RollupKey, RollupValues, StorageError, by_id, now_utc,
    plan::{RoomSidHolders, holders, plan},
};

pub(super) async fn connect(url: &str) -> Result<PgPool, StorageError> {
    // Our statements are key lookups and array inserts, so:
    // - one generic plan each is right; re-planning per execution (PostgreSQL's default for
    //   array parameters) cost more CPU than the writes themselves (measured);
    // - a sequential scan is never right. call_logs grows from empty, and plans made while its
    //   statistics still said "tiny" scanned the whole table for every `id = ANY($1)` lookup;
    //   a profile of the ingest benchmark showed those scans as most of PostgreSQL's CPU;
    // - JIT compilation never pays for a statement that reads a few rows. A generic plan cannot
    //   see a `LIMIT $n`'s value and costs it as a tenth of the table, so a page of every
    //   tenant's recent calls was JIT-compiled on each request (~20 ms for 0.2 ms of reading).
    let options = PgConnectOptions::from_str(url)?.options([
        ("plan_cache_mode", "force_generic_plan"),
        ("enable_seqscan", "off"),
        ("jit", "off"),
    ]);
    Ok(PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await?)
}

pub(super) async fn load(
    pool: &PgPool,
    ids: &[&str],
) -> Result<HashMap<String, CallRecord>, StorageError> {
    let mut conn = pool.acquire().await?;
    load_in(&mut conn, ids, false).await
}

async fn load_in(
    conn: &mut sqlx::PgConnection,
    ids: &[&str],
    lock: bool,
) -> Result<HashMap<String, CallRecord>, StorageError> {
    if lock {
        sqlx::query(
            "SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtextextended(id, 0) AS h \
             FROM unnest($1::text[]) AS id ORDER BY h) AS ordered",
        )
        .bind(ids)
        .execute(&mut *conn)
        .await?;
    }
    let rows = sqlx::query_as::<_, CallRecord>(concat!(select_calls!(), " WHERE id = ANY($1)"))
        .bind(ids)
        .fetch_all(conn)
        .await?;
    Ok(by_id(rows))
}

/// The stored calls holding the (tenant, room sid) pairs in `claimed`. Two batches may claim
/// one sid at once; the unique index refuses the second commit, and the writer's retry of that
/// event alone then finds the holder here.
async fn room_sid_holders(
    conn: &mut sqlx::PgConnection,
    claimed: &[(String, String)],
) -> Result<RoomSidHolders, StorageError> {
    if claimed.is_empty() {
        return Ok(RoomSidHolders::new());
    }
    let (tenants, sids): (Vec<&str>, Vec<&str>) = claimed
        .iter()
        .map(|(tenant, sid)| (tenant.as_str(), sid.as_str()))
        .unzip();
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        r#"SELECT "userId", "livekitRoomSid", id FROM call_logs
           WHERE ("userId", "livekitRoomSid") IN (SELECT * FROM unnest($1::text[], $2::text[]))"#,
    )
    .bind(tenants)
    .bind(sids)
    .fetch_all(conn)
    .await?;
    Ok(holders(rows))
}

pub(super) async fn write_batch(
    pool: &PgPool,
    ids: &[&str],
    claimed: &[(String, String)],
    events: &[Incoming],
    bounds: Bounds,
) -> Result<BatchPlan, StorageError> {
    let mut tx = pool.begin().await?;
    let stored = load_in(&mut tx, ids, true).await?;
    let holders = room_sid_holders(&mut tx, claimed).await?;
    let now = now_utc();
    let plan = plan(&stored, holders, events, bounds, now);

    if !plan.upserts.is_empty() || !plan.rollup.is_empty() || !plan.latency.is_empty() {
        write_plan(&mut tx, &plan, now).await?;
    }
    let hours = plan.rollup_hours();
    if !hours.is_empty() {
        // After every rollup and latency row: hour versions are the last locks a batch takes.
        sqlx::query(BUMP_HOUR_VERSIONS)
            .bind(hours)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(plan)
}

pub(super) async fn rollup(
    pool: &PgPool,
    user_id: &str,
) -> Result<Vec<(RollupKey, RollupValues)>, StorageError> {
    let rows: Vec<super::RollupRow> = sqlx::query_as(
        r#"SELECT "userId", hour, "agentConfigId", outcome, calls, ended, duration_sum, duration_count
         FROM call_hourly_rollup WHERE "userId" = $1 ORDER BY hour, "agentConfigId", outcome"#,
    )
    .bind(user_id)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(super::rollup_row).collect())
}

/// Marks rollup hours changed (see `storage::all_tenants`), in ascending hour order.
const BUMP_HOUR_VERSIONS: &str = "INSERT INTO call_hour_versions (hour, version) \
    SELECT hour, 1 FROM unnest($1::timestamp[]) AS t(hour) ORDER BY hour \
    ON CONFLICT (hour) DO UPDATE SET version = call_hour_versions.version + 1";

/// Every write of a batch in one fixed statement: rows travel as one array per column, so the
/// statement text never changes with the batch size. It is prepared once per connection, and
/// the writes cost one round trip. Arrays are in `plan` order (ids, keys sorted), which keeps
/// the lock order fixed. Beside the rows: the calls' log entries and turns, the log entries
/// that fell out of their call's log, as (call, from, to) ranges (`storage::timeline`), and the
/// agent turns counted into the latency histograms.
const WRITE_PLAN: &str = r#"
WITH new_tenants AS (
    INSERT INTO tenants (id, display_name)
    SELECT id, id FROM unnest($1::text[]) AS t(id)
    ON CONFLICT (id) DO NOTHING RETURNING 1
), calls AS (
    INSERT INTO call_logs (id, "userId", "agentConfigId", "phoneNumber", "startedAt", "endedAt",
        "livekitRoomName", "livekitRoomSid", direction, status, outcome, duration, "sipCallId",
        "recordingUrl", call_metadata, "lastHeartbeatAt", "lastEventAt", "startConfirmed",
        "eventsLogged", "heartbeatCount", "firstHeartbeatAt", "longestHeartbeatGapMs", "turnCount",
        "endReason", "costMicros", "costCurrency", "latencyBuckets", "updatedAt")
    SELECT *, $20::timestamp FROM unnest($2::text[], $3::text[], $4::text[], $5::text[],
        $6::timestamp[], $7::timestamp[], $8::text[], $9::text[], $10::text[], $11::text[],
        $12::text[], $13::int4[], $14::text[], $15::text[], $16::jsonb[], $17::timestamp[],
        $18::timestamp[], $19::bool[], $29::int8[], $30::int8[], $31::timestamp[], $32::int8[],
        $33::int8[], $34::text[], $35::int8[], $36::text[], $61::jsonb[])
    ON CONFLICT (id) DO UPDATE SET "agentConfigId" = excluded."agentConfigId",
        "phoneNumber" = excluded."phoneNumber", "startedAt" = excluded."startedAt",
        "endedAt" = excluded."endedAt", "livekitRoomName" = excluded."livekitRoomName",
        "livekitRoomSid" = excluded."livekitRoomSid", direction = excluded.direction,
        status = excluded.status, outcome = excluded.outcome, duration = excluded.duration,
        "sipCallId" = excluded."sipCallId", "recordingUrl" = excluded."recordingUrl",
        call_metadata = excluded.call_metadata, "lastHeartbeatAt" = excluded."lastHeartbeatAt",
        "lastEventAt" = excluded."lastEventAt", "startConfirmed" = excluded."startConfirmed",
        "eventsLogged" = excluded."eventsLogged", "heartbeatCount" = excluded."heartbeatCount",
        "firstHeartbeatAt" = excluded."firstHeartbeatAt",
        "longestHeartbeatGapMs" = excluded."longestHeartbeatGapMs",
        "turnCount" = excluded."turnCount", "endReason" = excluded."endReason",
        "costMicros" = excluded."costMicros", "costCurrency" = excluded."costCurrency",
        "latencyBuckets" = excluded."latencyBuckets", "updatedAt" = excluded."updatedAt"
    RETURNING 1
), rollup AS (
    INSERT INTO call_hourly_rollup ("userId", hour, "agentConfigId", outcome, calls, ended, duration_sum, duration_count)
    SELECT * FROM unnest($21::text[], $22::timestamp[], $23::text[], $24::text[], $25::int8[],
        $26::int8[], $27::int8[], $28::int8[])
    ON CONFLICT ("userId", hour, "agentConfigId", outcome) DO UPDATE SET
        calls = call_hourly_rollup.calls + excluded.calls,
        ended = call_hourly_rollup.ended + excluded.ended,
        duration_sum = call_hourly_rollup.duration_sum + excluded.duration_sum,
        duration_count = call_hourly_rollup.duration_count + excluded.duration_count
    RETURNING 1
), logged AS (
    INSERT INTO call_events (call_id, seq, user_id, at, event_type, source, received_at, changes)
    SELECT * FROM unnest($37::text[], $38::int8[], $39::text[], $40::timestamp[], $41::text[],
        $42::text[], $43::timestamp[], $44::jsonb[])
    RETURNING 1
), turns AS (
    INSERT INTO call_turns (call_id, seq, user_id, at, role, text, latency_ms, interrupted)
    SELECT * FROM unnest($45::text[], $46::int8[], $47::text[], $48::timestamp[], $49::text[],
        $50::text[], $51::int8[], $52::bool[])
    RETURNING 1
), pruned AS (
    DELETE FROM call_events AS e
    USING unnest($53::text[], $54::int8[], $55::int8[]) AS p(call_id, first, last)
    WHERE e.call_id = p.call_id AND e.seq >= p.first AND e.seq < p.last
    RETURNING 1
), latency AS (
    INSERT INTO agent_latency_hourly ("userId", hour, "agentConfigId", bucket, turns)
    SELECT * FROM unnest($56::text[], $57::timestamp[], $58::text[], $59::int4[], $60::int8[])
    ON CONFLICT ("userId", hour, "agentConfigId", bucket) DO UPDATE SET
        turns = agent_latency_hourly.turns + excluded.turns
    RETURNING 1
)
SELECT 1"#;

async fn write_plan(
    conn: &mut sqlx::PgConnection,
    plan: &BatchPlan,
    now: time::PrimitiveDateTime,
) -> Result<(), StorageError> {
    fn column<R, T>(rows: &[R], get: impl Fn(&R) -> T) -> Vec<T> {
        rows.iter().map(get).collect()
    }
    let rows = &plan.upserts;
    let (rollup, latency) = (&plan.rollup, &plan.latency);
    let (events, turns, prunes) = (
        &plan.timeline.events,
        &plan.timeline.turns,
        &plan.timeline.prunes,
    );
    sqlx::query(WRITE_PLAN)
        .bind(&plan.new_tenants)
        .bind(column(rows, |r| r.id.clone()))
        .bind(column(rows, |r| r.user_id.clone()))
        .bind(column(rows, |r| r.agent_config_id.clone()))
        .bind(column(rows, |r| r.phone_number.clone()))
        .bind(column(rows, |r| r.started_at))
        .bind(column(rows, |r| r.ended_at))
        .bind(column(rows, |r| r.livekit_room_name.clone()))
        .bind(column(rows, |r| r.livekit_room_sid.clone()))
        .bind(column(rows, |r| r.direction.clone()))
        .bind(column(rows, |r| r.status.clone()))
        .bind(column(rows, |r| r.outcome.clone()))
        .bind(column(rows, |r| r.duration))
        .bind(column(rows, |r| r.sip_call_id.clone()))
        .bind(column(rows, |r| r.recording_url.clone()))
        .bind(column(rows, |r| r.call_metadata.clone()))
        .bind(column(rows, |r| r.last_heartbeat_at))
        .bind(column(rows, |r| r.last_event_at))
        .bind(column(rows, |r| r.start_confirmed))
        .bind(now)
        .bind(
            rollup
                .iter()
                .map(|(key, _)| key.user_id.clone())
                .collect::<Vec<_>>(),
        )
        .bind(rollup.iter().map(|(key, _)| key.hour).collect::<Vec<_>>())
        .bind(
            rollup
                .iter()
                .map(|(key, _)| key.agent_config_id.clone())
                .collect::<Vec<_>>(),
        )
        .bind(
            rollup
                .iter()
                .map(|(key, _)| key.outcome.clone())
                .collect::<Vec<_>>(),
        )
        .bind(
            rollup
                .iter()
                .map(|(_, values)| values.calls)
                .collect::<Vec<_>>(),
        )
        .bind(
            rollup
                .iter()
                .map(|(_, values)| values.ended)
                .collect::<Vec<_>>(),
        )
        .bind(
            rollup
                .iter()
                .map(|(_, values)| values.duration_sum)
                .collect::<Vec<_>>(),
        )
        .bind(
            rollup
                .iter()
                .map(|(_, values)| values.duration_count)
                .collect::<Vec<_>>(),
        )
        .bind(column(rows, |r| r.tally.events_logged))
        .bind(column(rows, |r| r.tally.heartbeats))
        .bind(column(rows, |r| r.tally.first_heartbeat_at))
        .bind(column(rows, |r| r.tally.longest_heartbeat_gap_ms))
        .bind(column(rows, |r| r.tally.turns))
        .bind(column(rows, |r| r.tally.end_reason.clone()))
        .bind(column(rows, |r| r.tally.cost_micros))
        .bind(column(rows, |r| r.tally.cost_currency.clone()))
        .bind(column(events, |e| e.call_id.clone()))
        .bind(column(events, |e| e.seq))
        .bind(column(events, |e| e.user_id.clone()))
        .bind(column(events, |e| e.at))
        .bind(column(events, |e| e.event_type.clone()))
        .bind(column(events, |e| e.source.clone()))
        .bind(column(events, |e| e.received_at))
        .bind(column(events, |e| e.changes.clone()))
        .bind(column(turns, |t| t.call_id.clone()))
        .bind(column(turns, |t| t.seq))
        .bind(column(turns, |t| t.user_id.clone()))
        .bind(column(turns, |t| t.at))
        .bind(column(turns, |t| t.role.clone()))
        .bind(column(turns, |t| t.text.clone()))
        .bind(column(turns, |t| t.latency_ms))
        .bind(column(turns, |t| t.interrupted))
        .bind(column(prunes, |p| p.call_id.clone()))
        .bind(column(prunes, |p| p.from))
        .bind(column(prunes, |p| p.to))
        .bind(column(latency, |(key, _)| key.user_id.clone()))
        .bind(column(latency, |(key, _)| key.hour))
        .bind(column(latency, |(key, _)| key.agent_config_id.clone()))
        .bind(column(latency, |(key, _)| key.bucket))
        .bind(column(latency, |(_, turns)| *turns))
        .bind(column(rows, |r| r.tally.latency_buckets.clone()))
        .execute(conn)
        .await?;
    Ok(())
}
