//! Call storage: one interface, [`Storage`], over SQLite (the embedded default) and PostgreSQL
//! (to scale out), chosen by the database URL.
//!
//! The semantics live in [`record`] (how an event changes a row) and [`plan`] (a batch as one
//! transaction's writes); `sqlite` and `postgres` hold only their SQL. Each batch is one
//! transaction: rows, hourly rollups and new tenants commit together or not at all.

/// `SELECT <every CallRecord column> FROM call_logs`, for `concat!`. Quoted camelCase names mean
/// the same column in SQLite and PostgreSQL, so both backends share it.
macro_rules! select_calls {
    () => {
        r#"SELECT id, "userId", "agentConfigId", "phoneNumber", "startedAt", "endedAt",
           "livekitRoomName", "livekitRoomSid", direction, status, outcome, duration, "sipCallId",
           "recordingUrl", call_metadata, "lastHeartbeatAt", "lastEventAt", "startConfirmed",
           "eventsLogged", "heartbeatCount", "firstHeartbeatAt", "longestHeartbeatGapMs",
           "turnCount", "endReason", "costMicros", "costCurrency", "latencyBuckets"
           FROM call_logs"#
    };
}

pub mod failure;
pub mod plan;
mod postgres;
pub mod record;
mod sqlite;
pub mod timeline;

use std::collections::HashMap;

pub use failure::Failure;
pub use plan::{BatchPlan, Bounds, Planned, RollupKey, RollupValues};
pub use record::CallRecord;
pub use timeline::Incoming;

/// What can go wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported DATABASE_URL (expected sqlite:… or postgres://…): {0}")]
    UnsupportedUrl(String),
}

impl StorageError {
    /// Whose fault the failure is ([`failure`] reads the codes).
    pub fn failure(&self) -> Failure {
        match self {
            Self::Database(error) => failure::classify(error),
            Self::Migrate(_) | Self::UnsupportedUrl(_) => Failure::Outage,
        }
    }
}

/// Which backend a [`Storage`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// Runs one sqlx expression on whichever pool this is, for SQL that both backends share
/// (sqlx's types differ per database, so each arm is compiled separately).
macro_rules! with_pool {
    ($self:ident, $pool:ident => $body:expr) => {
        match &$self.pool {
            $crate::storage::Pool::Sqlite($pool) => $body,
            $crate::storage::Pool::Postgres($pool) => $body,
        }
    };
}

mod all_tenants;
pub mod api_tokens;
pub mod call_detail;
pub mod one_time_links;
pub mod operations;
pub mod reads;
pub mod user_sessions;

/// The calls database, and what this server keeps in memory to read it faster.
#[derive(Clone, Debug)]
pub struct Storage {
    pool: Pool,
    bounds: Bounds,
    all_tenants: std::sync::Arc<all_tenants::AllTenantHours>,
}

/// The connection pool of whichever backend the URL named.
#[derive(Clone, Debug)]
pub enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Storage {
    /// Connects (creating the SQLite file and its folder when needed) without migrating.
    pub async fn connect(url: &str) -> Result<Self, StorageError> {
        let pool = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Pool::Postgres(postgres::connect(url).await?)
        } else if url.starts_with("sqlite:") {
            Pool::Sqlite(sqlite::connect(url).await?)
        } else {
            // Never echo credentials back.
            let scheme = url.split(':').next().unwrap_or_default();
            return Err(StorageError::UnsupportedUrl(format!("{scheme}:…")));
        };
        Ok(Self {
            pool,
            bounds: Bounds::default(),
            all_tenants: Default::default(),
        })
    }

    /// The same storage, holding each call's row to `bounds`.
    pub fn with_bounds(mut self, bounds: Bounds) -> Self {
        self.bounds = bounds;
        self
    }

    /// The pool itself, for SQL that has no method here (tests, benchmarks).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Connects and applies pending migrations.
    pub async fn open(url: &str) -> Result<Self, StorageError> {
        let storage = Self::connect(url).await?;
        storage.migrate().await?;
        Ok(storage)
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    pub async fn migrate(&self) -> Result<(), StorageError> {
        match &self.pool {
            Pool::Sqlite(pool) => sqlx::migrate!("../migrations/sqlite").run(pool).await?,
            Pool::Postgres(pool) => sqlx::migrate!("../migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// Cheap round trip, for health checks.
    pub async fn ping(&self) -> Result<(), StorageError> {
        with_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(drop))?;
        Ok(())
    }

    /// Applies `events` in one transaction and returns what was written.
    pub async fn write_batch(&self, events: &[Incoming]) -> Result<BatchPlan, StorageError> {
        let mut ids: Vec<&str> = events
            .iter()
            .map(|incoming| incoming.event.call_id.as_str())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let claimed = plan::claimed_room_sids(events);
        match &self.pool {
            Pool::Sqlite(pool) => {
                sqlite::write_batch(pool, &ids, &claimed, events, self.bounds).await
            }
            Pool::Postgres(pool) => {
                postgres::write_batch(pool, &ids, &claimed, events, self.bounds).await
            }
        }
    }

    pub async fn call(&self, id: &str) -> Result<Option<CallRecord>, StorageError> {
        Ok(self.calls(&[id]).await?.remove(id))
    }

    /// The calls among `ids` that exist, by id.
    pub async fn calls(&self, ids: &[&str]) -> Result<HashMap<String, CallRecord>, StorageError> {
        match &self.pool {
            Pool::Sqlite(pool) => sqlite::load(pool, ids).await,
            Pool::Postgres(pool) => postgres::load(pool, ids).await,
        }
    }

    /// Every call with status `active`, oldest first.
    pub async fn active_calls(&self) -> Result<Vec<CallRecord>, StorageError> {
        self.active_calls_of(None).await
    }

    /// A tenant's rollup rows, in key order.
    pub async fn rollup(
        &self,
        user_id: &str,
    ) -> Result<Vec<(RollupKey, RollupValues)>, StorageError> {
        Ok(match &self.pool {
            Pool::Sqlite(pool) => sqlite::rollup(pool, user_id).await?,
            Pool::Postgres(pool) => postgres::rollup(pool, user_id).await?,
        })
    }

    /// A tenant's display name, if the tenant is known.
    pub async fn tenant_name(&self, id: &str) -> Result<Option<String>, StorageError> {
        let query = "SELECT display_name FROM tenants WHERE id = $1";
        Ok(with_pool!(self, pool => sqlx::query_scalar(query).bind(id).fetch_optional(pool).await)?)
    }

    /// Registers a tenant or renames it (its "business name").
    pub async fn set_tenant_name(&self, id: &str, name: &str) -> Result<(), StorageError> {
        let query = "INSERT INTO tenants (id, display_name) VALUES ($1, $2) \
                     ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name";
        with_pool!(self, pool => sqlx::query(query).bind(id).bind(name).execute(pool).await.map(drop))?;
        Ok(())
    }

    /// Registers an agent (an `agentConfigId`) of a tenant under a display name.
    pub async fn set_agent(&self, id: &str, tenant: &str, name: &str) -> Result<(), StorageError> {
        let query = "INSERT INTO agents (id, tenant_id, display_name) VALUES ($1, $2, $3) \
                     ON CONFLICT (id) DO UPDATE SET tenant_id = excluded.tenant_id, display_name = excluded.display_name";
        with_pool!(self, pool => sqlx::query(query).bind(id).bind(tenant).bind(name).execute(pool).await.map(drop))?;
        Ok(())
    }

    /// Stores a dashboard user (the password already hashed); returns its id.
    pub async fn insert_user(
        &self,
        email: &str,
        password_hash: &str,
        role: &str,
        tenant: Option<&str>,
    ) -> Result<i64, StorageError> {
        let query = "INSERT INTO dashboard_users (email, password_hash, role, tenant_id) \
                     VALUES ($1, $2, $3, $4) RETURNING id";
        Ok(with_pool!(self, pool => sqlx::query_scalar(query)
            .bind(email)
            .bind(password_hash)
            .bind(role)
            .bind(tenant)
            .fetch_one(pool)
            .await)?)
    }

    /// Ends every session of the user `email` (its token version moves on); its id, or `None`
    /// for no such user.
    pub async fn bump_token_version(&self, email: &str) -> Result<Option<i64>, StorageError> {
        let query = "UPDATE dashboard_users SET token_version = token_version + 1 \
                     WHERE email = $1 RETURNING id";
        Ok(
            with_pool!(self, pool => sqlx::query_scalar(query).bind(email).fetch_optional(pool).await)?,
        )
    }

    /// Notes that user `id` signed in at `at` (unix seconds).
    pub async fn record_sign_in(&self, id: i64, at: i64) -> Result<(), StorageError> {
        let query = "UPDATE dashboard_users SET last_sign_in_at = $2 WHERE id = $1";
        with_pool!(self, pool => sqlx::query(query).bind(id).bind(at).execute(pool).await.map(drop))?;
        Ok(())
    }

    /// Stores `password_hash` as the password of `email` and ends its sessions (its token
    /// version moves on): its id and new token version, or `None` for no such user.
    pub async fn set_password_hash(
        &self,
        email: &str,
        password_hash: &str,
    ) -> Result<Option<(i64, i64)>, StorageError> {
        let query = "UPDATE dashboard_users SET password_hash = $2, \
                     token_version = token_version + 1 WHERE email = $1 \
                     RETURNING id, token_version";
        Ok(with_pool!(self, pool => sqlx::query_as(query)
            .bind(email)
            .bind(password_hash)
            .fetch_optional(pool)
            .await)?)
    }

    /// Gives the user `email` another role (and tenant, for a tenant user), ending its sessions:
    /// a token minted for the old role must not keep it. Its id, or `None` for no such user (or
    /// the last admin, asked to become something else).
    pub async fn set_user_role(
        &self,
        email: &str,
        role: &str,
        tenant: Option<&str>,
    ) -> Result<Option<i64>, StorageError> {
        // In the same statement as the change: the last admin is never demoted.
        let query = "UPDATE dashboard_users SET role = $2, tenant_id = $3, \
                     token_version = token_version + 1 WHERE email = $1 \
                     AND (role <> 'admin' OR $2 = 'admin' OR (SELECT COUNT(*) \
                     FROM dashboard_users WHERE role = 'admin') > 1) RETURNING id";
        Ok(with_pool!(self, pool => sqlx::query_scalar(query)
            .bind(email)
            .bind(role)
            .bind(tenant)
            .fetch_optional(pool)
            .await)?)
    }

    /// Removes the user `email`; its id, or `None` for no such user (or the last admin).
    pub async fn remove_user(&self, email: &str) -> Result<Option<i64>, StorageError> {
        // In the same statement as the removal: the last admin is never removed.
        let query = "DELETE FROM dashboard_users WHERE email = $1 AND (role <> 'admin' \
                     OR (SELECT COUNT(*) FROM dashboard_users WHERE role = 'admin') > 1) \
                     RETURNING id";
        Ok(
            with_pool!(self, pool => sqlx::query_scalar(query).bind(email).fetch_optional(pool).await)?,
        )
    }

    /// Marks the database as written by `mark` (`demo`); marking it again changes nothing.
    pub async fn mark(&self, mark: &str) -> Result<(), StorageError> {
        let query = "INSERT INTO database_marks (mark, set_at) VALUES ($1, $2) \
                     ON CONFLICT (mark) DO NOTHING";
        let at = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        with_pool!(self, pool => sqlx::query(query).bind(mark).bind(at).execute(pool).await.map(drop))?;
        Ok(())
    }

    pub async fn is_marked(&self, mark: &str) -> Result<bool, StorageError> {
        let query = "SELECT COUNT(*) FROM database_marks WHERE mark = $1";
        let count: i64 =
            with_pool!(self, pool => sqlx::query_scalar(query).bind(mark).fetch_one(pool).await)?;
        Ok(count > 0)
    }

    /// Dashboard users whose email is not at `domain`.
    pub async fn users_outside(&self, domain: &str) -> Result<i64, StorageError> {
        let query = "SELECT COUNT(*) FROM dashboard_users WHERE email NOT LIKE $1";
        let pattern = format!("%@{domain}");
        Ok(with_pool!(self, pool => sqlx::query_scalar(query).bind(pattern).fetch_one(pool).await)?)
    }

    /// Number of rows in `call_logs`.
    pub async fn count_calls(&self) -> Result<i64, StorageError> {
        let query = "SELECT COUNT(*) FROM call_logs";
        Ok(with_pool!(self, pool => sqlx::query_scalar(query).fetch_one(pool).await)?)
    }
}

type RollupRow = (
    String,
    time::PrimitiveDateTime,
    String,
    String,
    i64,
    i64,
    i64,
    i64,
);

fn rollup_row(
    (user_id, hour, agent_config_id, outcome, calls, ended, duration_sum, duration_count): RollupRow,
) -> (RollupKey, RollupValues) {
    (
        RollupKey {
            user_id,
            hour,
            agent_config_id,
            outcome,
        },
        RollupValues {
            calls,
            ended,
            duration_sum,
            duration_count,
        },
    )
}

fn by_id(rows: Vec<CallRecord>) -> HashMap<String, CallRecord> {
    rows.into_iter().map(|row| (row.id.clone(), row)).collect()
}

/// Binds one call row's columns, in `CALL_COLUMNS` order, into a `push_values` row.
macro_rules! bind_call_row {
    ($builder:expr, $row:expr, $now:expr) => {{
        let row: &$crate::storage::CallRecord = $row;
        $builder
            .push_bind(row.id.clone())
            .push_bind(row.user_id.clone())
            .push_bind(row.agent_config_id.clone())
            .push_bind(row.phone_number.clone())
            .push_bind(row.started_at)
            .push_bind(row.ended_at)
            .push_bind(row.livekit_room_name.clone())
            .push_bind(row.livekit_room_sid.clone())
            .push_bind(row.direction.clone())
            .push_bind(row.status.clone())
            .push_bind(row.outcome.clone())
            .push_bind(row.duration)
            .push_bind(row.sip_call_id.clone())
            .push_bind(row.recording_url.clone())
            .push_bind(row.call_metadata.clone())
            .push_bind(row.last_heartbeat_at)
            .push_bind(row.last_event_at)
            .push_bind(row.start_confirmed)
            .push_bind(row.tally.events_logged)
            .push_bind(row.tally.heartbeats)
            .push_bind(row.tally.first_heartbeat_at)
            .push_bind(row.tally.longest_heartbeat_gap_ms)
            .push_bind(row.tally.turns)
            .push_bind(row.tally.end_reason.clone())
            .push_bind(row.tally.cost_micros)
            .push_bind(row.tally.cost_currency.clone())
            .push_bind(row.tally.latency_buckets.clone())
            .push_bind($now);
    }};
}
use bind_call_row;

/// The wall clock as `call_logs` stores it.
fn now_utc() -> time::PrimitiveDateTime {
    record::utc(time::OffsetDateTime::now_utc())
}
