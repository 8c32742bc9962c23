//! The SQLite side of [`super::Storage`]: WAL journal, `synchronous = FULL` so an acknowledged
//! write survives a power cut, and one writer at a time (SQLite's own rule).

use std::{collections::HashMap, str::FromStr, time::Duration};

use sqlx::{
    QueryBuilder, Sqlite, SqlitePool,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

use super::{
    BatchPlan, Bounds, CallRecord, Incoming, RollupKey, RollupValues, StorageError, bind_call_row,
    by_id, now_utc,
    plan::{RoomSidHolders, holders, plan},
    timeline::TimelinePlan,
};

pub(super) async fn connect(url: &str) -> Result<SqlitePool, StorageError> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        // 64 MiB of page cache per connection (the default is 2 MiB): indexes of a busy
        // call_logs outgrow the default quickly, and every miss is a read.
        .pragma("cache_size", "-65536");
    if let Some(folder) = options
        .get_filename()
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
    {
        crate::secrets::create_private_dir(folder).map_err(sqlx::Error::Io)?;
    }
    Ok(SqlitePoolOptions::new()
        .max_connections(8)
        // A connection to a local file does not go stale; checking it first cost every
        // transaction an extra round trip to its worker thread (measured in the push latency).
        .test_before_acquire(false)
        .connect_with(options)
        .await?)
}

pub(super) async fn load(
    pool: &SqlitePool,
    ids: &[&str],
) -> Result<HashMap<String, CallRecord>, StorageError> {
    let mut conn = pool.acquire().await?;
    load_in(&mut conn, ids).await
}

async fn load_in(
    conn: &mut sqlx::SqliteConnection,
    ids: &[&str],
) -> Result<HashMap<String, CallRecord>, StorageError> {
    let ids = serde_json::to_string(ids).map_err(|error| sqlx::Error::Encode(Box::new(error)))?;
    let rows = sqlx::query_as::<_, CallRecord>(concat!(
        select_calls!(),
        " WHERE id IN (SELECT value FROM json_each(?))"
    ))
    .bind(ids)
    .fetch_all(conn)
    .await?;
    Ok(by_id(rows))
}

/// The stored calls holding the (tenant, room sid) pairs in `claimed`.
async fn room_sid_holders(
    conn: &mut sqlx::SqliteConnection,
    claimed: &[(String, String)],
) -> Result<RoomSidHolders, StorageError> {
    if claimed.is_empty() {
        return Ok(RoomSidHolders::new());
    }
    let pairs =
        serde_json::to_string(claimed).map_err(|error| sqlx::Error::Encode(Box::new(error)))?;
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT userId, livekitRoomSid, id FROM call_logs WHERE (userId, livekitRoomSid) IN \
         (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))",
    )
    .bind(pairs)
    .fetch_all(conn)
    .await?;
    Ok(holders(rows))
}

pub(super) async fn write_batch(
    pool: &SqlitePool,
    ids: &[&str],
    claimed: &[(String, String)],
    events: &[Incoming],
    bounds: Bounds,
) -> Result<BatchPlan, StorageError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let stored = load_in(&mut tx, ids).await?;
    let holders = room_sid_holders(&mut tx, claimed).await?;
    let now = now_utc();
    let plan = plan(&stored, holders, events, bounds, now);

    if !plan.new_tenants.is_empty() {
        let mut query = QueryBuilder::<Sqlite>::new("INSERT INTO tenants (id, display_name) ");
        query.push_values(&plan.new_tenants, |mut row, tenant| {
            row.push_bind(tenant.clone()).push_bind(tenant.clone());
        });
        query.push(" ON CONFLICT (id) DO NOTHING");
        query.build().execute(&mut *tx).await?;
    }
    if !plan.upserts.is_empty() {
        let mut query = QueryBuilder::<Sqlite>::new(
            "INSERT INTO call_logs (id, userId, agentConfigId, phoneNumber, startedAt, endedAt, \
             livekitRoomName, livekitRoomSid, direction, status, outcome, duration, sipCallId, \
             recordingUrl, call_metadata, lastHeartbeatAt, lastEventAt, startConfirmed, \
             eventsLogged, heartbeatCount, firstHeartbeatAt, longestHeartbeatGapMs, turnCount, \
             endReason, costMicros, costCurrency, latencyBuckets, updatedAt) ",
        );
        query.push_values(&plan.upserts, |mut builder, row| {
            bind_call_row!(builder, row, now)
        });
        query.push(
            " ON CONFLICT (id) DO UPDATE SET agentConfigId = excluded.agentConfigId, \
             phoneNumber = excluded.phoneNumber, startedAt = excluded.startedAt, \
             endedAt = excluded.endedAt, livekitRoomName = excluded.livekitRoomName, \
             livekitRoomSid = excluded.livekitRoomSid, direction = excluded.direction, \
             status = excluded.status, outcome = excluded.outcome, duration = excluded.duration, \
             sipCallId = excluded.sipCallId, recordingUrl = excluded.recordingUrl, \
             call_metadata = excluded.call_metadata, lastHeartbeatAt = excluded.lastHeartbeatAt, \
             lastEventAt = excluded.lastEventAt, startConfirmed = excluded.startConfirmed, \
             eventsLogged = excluded.eventsLogged, heartbeatCount = excluded.heartbeatCount, \
             firstHeartbeatAt = excluded.firstHeartbeatAt, \
             longestHeartbeatGapMs = excluded.longestHeartbeatGapMs, \
             turnCount = excluded.turnCount, endReason = excluded.endReason, \
             costMicros = excluded.costMicros, costCurrency = excluded.costCurrency, \
             latencyBuckets = excluded.latencyBuckets, updatedAt = excluded.updatedAt",
        );
        query.build().execute(&mut *tx).await?;
    }
    if !plan.rollup.is_empty() {
        let mut query = QueryBuilder::<Sqlite>::new(
            "INSERT INTO call_hourly_rollup (userId, hour, agentConfigId, outcome, calls, ended, duration_sum, duration_count) ",
        );
        query.push_values(&plan.rollup, |mut row, (key, values)| {
            row.push_bind(key.user_id.clone())
                .push_bind(key.hour)
                .push_bind(key.agent_config_id.clone())
                .push_bind(key.outcome.clone())
                .push_bind(values.calls)
                .push_bind(values.ended)
                .push_bind(values.duration_sum)
                .push_bind(values.duration_count);
        });
        query.push(
            " ON CONFLICT (userId, hour, agentConfigId, outcome) DO UPDATE SET \
             calls = calls + excluded.calls, ended = ended + excluded.ended, \
             duration_sum = duration_sum + excluded.duration_sum, \
             duration_count = duration_count + excluded.duration_count",
        );
        query.build().execute(&mut *tx).await?;
    }
    if !plan.latency.is_empty() {
        let mut query = QueryBuilder::<Sqlite>::new(
            "INSERT INTO agent_latency_hourly (userId, hour, agentConfigId, bucket, turns) ",
        );
        query.push_values(&plan.latency, |mut row, (key, turns)| {
            row.push_bind(key.user_id.clone())
                .push_bind(key.hour)
                .push_bind(key.agent_config_id.clone())
                .push_bind(key.bucket)
                .push_bind(*turns);
        });
        query.push(
            " ON CONFLICT (userId, hour, agentConfigId, bucket) DO UPDATE SET \
             turns = turns + excluded.turns",
        );
        query.build().execute(&mut *tx).await?;
    }
    let hours = plan.rollup_hours();
    if !hours.is_empty() {
        // See `storage::all_tenants`.
        let mut query =
            QueryBuilder::<Sqlite>::new("INSERT INTO call_hour_versions (hour, version) ");
        query.push_values(hours, |mut row, hour| {
            row.push_bind(hour).push_bind(1_i64);
        });
        query.push(" ON CONFLICT (hour) DO UPDATE SET version = version + 1");
        query.build().execute(&mut *tx).await?;
    }
    write_timeline(&mut tx, &plan.timeline).await?;
    tx.commit().await?;
    Ok(plan)
}

/// Most rows in one timeline insert: SQLite takes at most 32,766 bound values a statement.
const TIMELINE_ROWS_PER_STATEMENT: usize = 2_000;

async fn write_timeline(
    conn: &mut sqlx::SqliteConnection,
    timeline: &TimelinePlan,
) -> Result<(), StorageError> {
    for chunk in timeline.events.chunks(TIMELINE_ROWS_PER_STATEMENT) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "INSERT INTO call_events (call_id, seq, user_id, at, event_type, source, received_at, \
             changes) ",
        );
        query.push_values(chunk, |mut row, logged| {
            row.push_bind(logged.call_id.clone())
                .push_bind(logged.seq)
                .push_bind(logged.user_id.clone())
                .push_bind(logged.at)
                .push_bind(logged.event_type.clone())
                .push_bind(logged.source.clone())
                .push_bind(logged.received_at)
                .push_bind(logged.changes.clone());
        });
        query.build().execute(&mut *conn).await?;
    }
    for chunk in timeline.turns.chunks(TIMELINE_ROWS_PER_STATEMENT) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "INSERT INTO call_turns (call_id, seq, user_id, at, role, text, latency_ms, \
             interrupted) ",
        );
        query.push_values(chunk, |mut row, turn| {
            row.push_bind(turn.call_id.clone())
                .push_bind(turn.seq)
                .push_bind(turn.user_id.clone())
                .push_bind(turn.at)
                .push_bind(turn.role.clone())
                .push_bind(turn.text.clone())
                .push_bind(turn.latency_ms)
                .push_bind(turn.interrupted);
        });
        query.build().execute(&mut *conn).await?;
    }
    for prune in &timeline.prunes {
        sqlx::query("DELETE FROM call_events WHERE call_id = ? AND seq >= ? AND seq < ?")
            .bind(&prune.call_id)
            .bind(prune.from)
            .bind(prune.to)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

pub(super) async fn rollup(
    pool: &SqlitePool,
    user_id: &str,
) -> Result<Vec<(RollupKey, RollupValues)>, StorageError> {
    let rows: Vec<super::RollupRow> = sqlx::query_as(
        "SELECT userId, hour, agentConfigId, outcome, calls, ended, duration_sum, duration_count \
         FROM call_hourly_rollup WHERE userId = ? ORDER BY hour, agentConfigId, outcome",
    )
    .bind(user_id)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(super::rollup_row).collect())
}
