//! What the dashboard and admin API read. Period figures come from `call_hourly_rollup` (hours,
//! never a scan of a period's `call_logs` rows; every tenant's together from the per-hour sums
//! of [`super::all_tenants`]); call lists are keyset pages over the
//! `(userId, startedAt)` index. The SQL is shared by both backends (quoted camelCase names mean
//! the same column in SQLite and PostgreSQL), so each statement is written once.

use std::collections::HashMap;

use sqlx::AssertSqlSafe;
use time::PrimitiveDateTime;

use app::dto::search::{MIN_PREFIX, Search};

use super::{CallRecord, Pool, Storage, StorageError};

/// Rollup sums of one (agent, outcome) pair over a period. `''` stands for "none" in both keys
/// (no agent; not ended yet).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PeriodTotals {
    #[sqlx(rename = "agentConfigId")]
    pub agent_config_id: String,
    pub outcome: String,
    pub calls: i64,
    pub ended: i64,
    pub duration_sum: i64,
    pub duration_count: i64,
}

/// Agent turns of one agent (`''`: none) counted in one latency bucket over a period.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LatencyTotals {
    #[sqlx(rename = "agentConfigId")]
    pub agent_config_id: String,
    pub bucket: i32,
    pub turns: i64,
}

/// [`PeriodTotals`] of one tenant among several.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TenantTotals {
    #[sqlx(rename = "userId")]
    pub user_id: String,
    #[sqlx(flatten)]
    pub totals: PeriodTotals,
}

/// Rollup hours `first..=last` (each truncated to the hour, UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HourRange {
    pub first: PrimitiveDateTime,
    pub last: PrimitiveDateTime,
}

/// Filters of a call list; every set field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallFilter {
    pub status: Option<String>,
    pub outcome: Option<String>,
    pub direction: Option<String>,
    /// Digits (and `+`) the phone number contains.
    pub phone: Option<String>,
    /// The search box ([`Search::matches`] is the rule this query mirrors).
    pub search: Option<Search>,
    /// `agentConfigId`.
    pub agent: Option<String>,
    /// Started at or after.
    pub from: Option<PrimitiveDateTime>,
    /// Started before.
    pub to: Option<PrimitiveDateTime>,
}

/// Where a page of calls (newest first) continues: after this call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallKey {
    pub started_at: PrimitiveDateTime,
    pub id: String,
}

/// The columns of [`UserRow`], for each way of finding a user.
macro_rules! user_columns {
    () => {
        "id, email, password_hash, role, tenant_id, token_version, last_sign_in_at"
    };
}

/// A dashboard user as sign-in needs it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub tenant_id: Option<String>,
    /// Sessions minted at an older version are over.
    pub token_version: i64,
    /// Unix seconds of its last sign-in; `None` when it has not signed in since this was kept.
    pub last_sign_in_at: Option<i64>,
}

/// A user of a page of the users list, with its active sessions.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UserPageRow {
    #[sqlx(flatten)]
    pub user: UserRow,
    pub active_sessions: i64,
}

/// The columns of [`PeriodTotals`], summed.
const PERIOD_SUMS: &str = r#""agentConfigId", outcome,
    CAST(SUM(calls) AS BIGINT) AS calls, CAST(SUM(ended) AS BIGINT) AS ended,
    CAST(SUM(duration_sum) AS BIGINT) AS duration_sum,
    CAST(SUM(duration_count) AS BIGINT) AS duration_count"#;

/// Runs a statement whose first parameter is a set of tenants ([`Storage::tenant_in`]): a JSON
/// array for SQLite, a text array for PostgreSQL; `$query` binds the rest and fetches.
macro_rules! tenant_set {
    ($self:ident, $tenants:expr, $sql:expr, $pool:ident, $query:ident => $fetch:expr) => {
        match &$self.pool {
            Pool::Sqlite($pool) => {
                let tenants = serde_json::to_string($tenants)
                    .map_err(|error| sqlx::Error::Encode(Box::new(error)))?;
                let $query = sqlx::query_as(AssertSqlSafe($sql)).bind(tenants);
                $fetch
            }
            Pool::Postgres($pool) => {
                let $query = sqlx::query_as(AssertSqlSafe($sql)).bind($tenants);
                $fetch
            }
        }
    };
}

/// One value bound into a statement built at run time.
enum Bind {
    Text(String),
    Time(PrimitiveDateTime),
    Int(i64),
}

impl Storage {
    /// Rollup sums per (agent, outcome) over `hours`, for one tenant or all.
    pub async fn period_totals(
        &self,
        tenant: Option<&str>,
        hours: HourRange,
    ) -> Result<Vec<PeriodTotals>, StorageError> {
        Ok(match tenant {
            Some(tenant) => self
                .period_totals_of(&[tenant.to_owned()], hours)
                .await?
                .into_iter()
                .map(|row| row.totals)
                .collect(),
            None => self.all_tenant_totals(hours).await?,
        })
    }

    /// Agent turns per (agent, latency bucket) over `hours` (by their calls' start hours), for
    /// one tenant or all.
    pub async fn latency_totals(
        &self,
        tenant: Option<&str>,
        hours: HourRange,
    ) -> Result<Vec<LatencyTotals>, StorageError> {
        let Some(tenant) = tenant else {
            return self.all_tenant_latency(hours).await;
        };
        let sql = r#"SELECT "agentConfigId", bucket, CAST(SUM(turns) AS BIGINT) AS turns
                     FROM agent_latency_hourly
                     WHERE "userId" = $1 AND hour >= $2 AND hour <= $3
                     GROUP BY "agentConfigId", bucket HAVING SUM(turns) <> 0"#;
        Ok(with_pool!(self, pool => sqlx::query_as(sql)
            .bind(tenant).bind(hours.first).bind(hours.last).fetch_all(pool).await)?)
    }

    /// Rollup sums per (tenant, agent, outcome) over `hours`, for each of `tenants`, in one
    /// statement: what the live hub reads for every room that changed.
    pub async fn period_totals_of(
        &self,
        tenants: &[String],
        hours: HourRange,
    ) -> Result<Vec<TenantTotals>, StorageError> {
        let sql = format!(
            r#"SELECT "userId", {PERIOD_SUMS} FROM call_hourly_rollup
               WHERE {} AND hour >= $2 AND hour <= $3 GROUP BY "userId", "agentConfigId", outcome"#,
            self.tenant_in("$1")
        );
        Ok(tenant_set!(self, tenants, sql, pool, query => query
            .bind(hours.first).bind(hours.last).fetch_all(pool).await)?)
    }

    /// Calls started per rollup hour over `hours` (hours without calls are absent).
    pub async fn calls_per_hour(
        &self,
        tenant: Option<&str>,
        hours: HourRange,
    ) -> Result<Vec<(PrimitiveDateTime, i64)>, StorageError> {
        let rows = match tenant {
            Some(tenant) => {
                let sql = r#"SELECT hour, CAST(SUM(calls) AS BIGINT) FROM call_hourly_rollup
                    WHERE "userId" = $1 AND hour >= $2 AND hour <= $3 GROUP BY hour"#;
                with_pool!(self, pool => sqlx::query_as(sql)
                    .bind(tenant).bind(hours.first).bind(hours.last).fetch_all(pool).await)?
            }
            None => self.all_tenant_calls_per_hour(hours).await?,
        };
        Ok(rows)
    }

    /// How many calls are active now (a partial index holds exactly those).
    pub async fn count_active(&self, tenant: Option<&str>) -> Result<i64, StorageError> {
        Ok(match tenant {
            Some(tenant) => self
                .count_active_of(&[tenant.to_owned()])
                .await?
                .remove(tenant)
                .unwrap_or(0),
            None => {
                let sql = "SELECT COUNT(*) FROM call_logs WHERE status = 'active'";
                with_pool!(self, pool => sqlx::query_scalar(sql).fetch_one(pool).await)?
            }
        })
    }

    /// Active calls per tenant among `tenants` (tenants without any are absent).
    pub async fn count_active_of(
        &self,
        tenants: &[String],
    ) -> Result<HashMap<String, i64>, StorageError> {
        let sql = format!(
            r#"SELECT "userId", COUNT(*) FROM call_logs WHERE status = 'active' AND {} GROUP BY "userId""#,
            self.tenant_in("$1")
        );
        let rows: Vec<(String, i64)> =
            tenant_set!(self, tenants, sql, pool, query => query.fetch_all(pool).await)?;
        Ok(rows.into_iter().collect())
    }

    /// The active calls of one tenant or all, oldest first.
    pub async fn active_calls_of(
        &self,
        tenant: Option<&str>,
    ) -> Result<Vec<CallRecord>, StorageError> {
        Ok(match tenant {
            Some(tenant) => self.active_calls_of_tenants(&[tenant.to_owned()]).await?,
            None => {
                let sql = concat!(
                    select_calls!(),
                    r#" WHERE status = 'active' ORDER BY "startedAt", id"#
                );
                with_pool!(self, pool => sqlx::query_as(sql).fetch_all(pool).await)?
            }
        })
    }

    /// The active calls of each of `tenants`, oldest first.
    pub async fn active_calls_of_tenants(
        &self,
        tenants: &[String],
    ) -> Result<Vec<CallRecord>, StorageError> {
        let sql = format!(
            r#"{} WHERE status = 'active' AND {} ORDER BY "startedAt", id"#,
            select_calls!(),
            self.tenant_in("$1")
        );
        Ok(tenant_set!(self, tenants, sql, pool, query => query.fetch_all(pool).await)?)
    }

    /// `"userId"` is one of the tenants bound as `param` ([`tenant_set!`] binds them).
    fn tenant_in(&self, param: &str) -> String {
        match self.pool {
            // A JSON array: one statement text (and one cached plan) for any number of tenants.
            Pool::Sqlite(_) => format!(r#""userId" IN (SELECT value FROM json_each({param}))"#),
            Pool::Postgres(_) => format!(r#""userId" = ANY({param})"#),
        }
    }

    /// Up to `limit` calls matching `filter`, newest first, continuing after `after`.
    pub async fn list_calls(
        &self,
        tenant: Option<&str>,
        filter: &CallFilter,
        after: Option<&CallKey>,
        limit: i64,
    ) -> Result<Vec<CallRecord>, StorageError> {
        let mut query = CallQuery::default();
        match &filter.search {
            None => {
                query.sql.push_str(concat!(select_calls!(), " WHERE 1 = 1"));
                query.filters(tenant, filter, after, Indexed::Filters);
            }
            Some(search) => {
                // One branch per index that can find the call (id, room name, SIP call id, the
                // number's last four digits), each with every other filter, so the database
                // reads the matches and nothing else; UNION drops a call found twice.
                query.sql.push_str("SELECT * FROM (");
                for (index, (branch, indexed)) in search_branches(search).into_iter().enumerate() {
                    if index > 0 {
                        query.sql.push_str(" UNION ");
                    }
                    query.sql.push_str(concat!(select_calls!(), " WHERE 1 = 1"));
                    for (template, value) in branch {
                        query.condition(template, value);
                    }
                    query.filters(tenant, filter, after, indexed);
                }
                query.sql.push_str(") AS found");
            }
        }
        query.sql.push_str(r#" ORDER BY "startedAt" DESC, id DESC"#);
        query.condition(" LIMIT ?", Bind::Int(limit));

        let CallQuery { sql, binds } = query;
        let rows = with_pool!(self, pool => {
            let mut query = sqlx::query_as::<_, CallRecord>(AssertSqlSafe(sql));
            for bind in binds {
                query = match bind {
                    Bind::Text(value) => query.bind(value),
                    Bind::Time(value) => query.bind(value),
                    Bind::Int(value) => query.bind(value),
                };
            }
            query.fetch_all(pool).await
        })?;
        Ok(rows)
    }

    /// Every tenant: id → display name.
    pub async fn tenants(&self) -> Result<Vec<(String, String)>, StorageError> {
        let sql = "SELECT id, display_name FROM tenants ORDER BY id";
        Ok(with_pool!(self, pool => sqlx::query_as(sql).fetch_all(pool).await)?)
    }

    /// Agent display names (of one tenant, or all): id → name.
    pub async fn agent_names(
        &self,
        tenant: Option<&str>,
    ) -> Result<HashMap<String, String>, StorageError> {
        let rows: Vec<(String, String)> = match tenant {
            Some(tenant) => {
                let sql = "SELECT id, display_name FROM agents WHERE tenant_id = $1";
                with_pool!(self, pool => sqlx::query_as(sql).bind(tenant).fetch_all(pool).await)?
            }
            None => {
                let sql = "SELECT id, display_name FROM agents";
                with_pool!(self, pool => sqlx::query_as(sql).fetch_all(pool).await)?
            }
        };
        Ok(rows.into_iter().collect())
    }

    /// A dashboard user by (lower-case) email.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>, StorageError> {
        let sql = concat!(
            "SELECT ",
            user_columns!(),
            " FROM dashboard_users WHERE email = $1"
        );
        Ok(with_pool!(self, pool => sqlx::query_as(sql).bind(email).fetch_optional(pool).await)?)
    }

    /// The user with `id`, if it still exists: every signed-in request asks.
    pub async fn user_by_id(&self, id: i64) -> Result<Option<UserRow>, StorageError> {
        let sql = concat!(
            "SELECT ",
            user_columns!(),
            " FROM dashboard_users WHERE id = $1"
        );
        Ok(with_pool!(self, pool => sqlx::query_as(sql).bind(id).fetch_optional(pool).await)?)
    }

    /// Every dashboard user, or `tenant`'s, by email.
    pub async fn users(&self, tenant: Option<&str>) -> Result<Vec<UserRow>, StorageError> {
        let sql = concat!(
            "SELECT ",
            user_columns!(),
            " FROM dashboard_users WHERE ($1 IS NULL OR tenant_id = $1) ORDER BY email"
        );
        Ok(with_pool!(self, pool => sqlx::query_as(sql).bind(tenant).fetch_all(pool).await)?)
    }

    /// A page of the users (or `tenant`'s) after the email `after`, by email: at most `limit`,
    /// each with its sessions active at `now` (unexpired, at its current token version).
    pub async fn users_page(
        &self,
        tenant: Option<&str>,
        after: Option<&str>,
        limit: i64,
        now: i64,
    ) -> Result<Vec<UserPageRow>, StorageError> {
        let sql = concat!(
            "SELECT ",
            user_columns!(),
            ", (SELECT CAST(COUNT(*) AS BIGINT) FROM user_sessions s WHERE s.user_id = dashboard_users.id ",
            "AND s.expires_at > $4 AND s.token_version = dashboard_users.token_version) ",
            "AS active_sessions FROM dashboard_users WHERE ($1 IS NULL OR tenant_id = $1) ",
            "AND ($2 IS NULL OR email > $2) ORDER BY email LIMIT $3"
        );
        Ok(with_pool!(self, pool => sqlx::query_as(sql)
            .bind(tenant)
            .bind(after)
            .bind(limit)
            .bind(now)
            .fetch_all(pool)
            .await)?)
    }

    /// Every user's token version, by user id.
    pub async fn token_versions(
        &self,
    ) -> Result<std::collections::HashMap<i64, i64>, StorageError> {
        let sql = "SELECT id, token_version FROM dashboard_users";
        let rows: Vec<(i64, i64)> =
            with_pool!(self, pool => sqlx::query_as(sql).fetch_all(pool).await)?;
        Ok(rows.into_iter().collect())
    }
}

/// The least string greater than every string starting with `prefix` (its last character one
/// higher), for a range an index can serve.
fn prefix_upper_bound(prefix: &str) -> String {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        // The next scalar value, skipping the surrogate gap.
        let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return chars.into_iter().collect();
        }
    }
    // Only U+10FFFF characters: nothing above; a bound past every text.
    format!("{prefix}\u{10FFFF}")
}

/// Which conditions of a call list may use an index. A search branch must be read through its
/// own index range: the planner, unable to see how few rows a range holds (generic plans),
/// otherwise intersects it with the tenant's whole index (measured: 37 ms of a 63 ms search
/// of a tenant with a million calls).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Indexed {
    /// No search: the filters and the tenant's time order.
    Filters,
    /// The search range alone.
    Search,
    /// The search range and the tenant (an index holds both).
    SearchAndTenant,
}

/// A call list's statement as it is built: `?` in each piece becomes the next `$n`.
#[derive(Default)]
struct CallQuery {
    sql: String,
    binds: Vec<Bind>,
}

impl CallQuery {
    fn condition(&mut self, template: &str, value: Bind) {
        self.binds.push(value);
        self.sql
            .push_str(&template.replace('?', &format!("${}", self.binds.len())));
    }

    /// Every filter but the search, and the page's continuation; `indexed` says which of them
    /// the database may use an index for.
    fn filters(
        &mut self,
        tenant: Option<&str>,
        filter: &CallFilter,
        after: Option<&CallKey>,
        indexed: Indexed,
    ) {
        // `column || ''` is the same value with no index behind it (both backends).
        let unindexed = |column: &str, used: bool| {
            if used {
                column.to_owned()
            } else {
                format!("{column} || ''")
            }
        };
        if let Some(tenant) = tenant {
            let column = unindexed(r#""userId""#, indexed != Indexed::Search);
            self.condition(&format!(" AND {column} = ?"), Bind::Text(tenant.to_owned()));
        }
        for (column, value) in [
            ("status", &filter.status),
            ("outcome", &filter.outcome),
            ("direction", &filter.direction),
            (r#""agentConfigId""#, &filter.agent),
        ] {
            if let Some(value) = value {
                let column = unindexed(column, indexed == Indexed::Filters);
                self.condition(&format!(" AND {column} = ?"), Bind::Text(value.clone()));
            }
        }
        if let Some(phone) = &filter.phone {
            self.condition(
                r#" AND "phoneNumber" LIKE ?"#,
                Bind::Text(format!("%{phone}%")),
            );
        }
        if let Some(from) = filter.from {
            self.condition(r#" AND "startedAt" >= ?"#, Bind::Time(from));
        }
        if let Some(to) = filter.to {
            self.condition(r#" AND "startedAt" < ?"#, Bind::Time(to));
        }
        if let Some(after) = after {
            // A row-value comparison (both backends have them) walks the index from the key on.
            self.condition(
                r#" AND ("startedAt", id) < (?"#,
                Bind::Time(after.started_at),
            );
            self.condition(", ?)", Bind::Text(after.id.clone()));
        }
    }
}

/// The conditions of each way `search` can find a call ([`Search::matches`] is the rule):
/// an index range, then the exact test (a prefix whatever the collation; the number's digits
/// ending with the searched ones). Text shorter than [`MIN_PREFIX`] matches whole values only.
fn search_branches(search: &Search) -> Vec<(Vec<(&'static str, Bind)>, Indexed)> {
    let text = || Bind::Text(search.text.clone());
    let mut branches: Vec<(Vec<(&'static str, Bind)>, Indexed)> = Vec::new();
    let columns: [(&'static str, &'static str, &'static str, &'static str); 3] = [
        (
            " AND id = ?",
            " AND id >= ?",
            " AND id < ?",
            " AND substr(id, 1, CAST(? AS INTEGER))",
        ),
        (
            r#" AND "livekitRoomName" = ?"#,
            r#" AND "livekitRoomName" >= ?"#,
            r#" AND "livekitRoomName" < ?"#,
            r#" AND substr("livekitRoomName", 1, CAST(? AS INTEGER))"#,
        ),
        (
            r#" AND "sipCallId" = ?"#,
            r#" AND "sipCallId" >= ?"#,
            r#" AND "sipCallId" < ?"#,
            r#" AND substr("sipCallId", 1, CAST(? AS INTEGER))"#,
        ),
    ];
    let length = search.text.chars().count();
    for (exact, from, below, start) in columns {
        if length < MIN_PREFIX {
            branches.push((vec![(exact, text())], Indexed::Search));
        } else {
            let conditions = vec![
                (from, text()),
                (below, Bind::Text(prefix_upper_bound(&search.text))),
                (start, Bind::Int(i64::try_from(length).unwrap_or(i64::MAX))),
                (" = ?", text()),
            ];
            branches.push((conditions, Indexed::Search));
        }
    }
    if let Some(digits) = &search.digits {
        let last4 = digits[digits.len().saturating_sub(4)..].to_owned();
        let conditions = vec![
            (r#" AND "phoneLast4" = ?"#, Bind::Text(last4)),
            (
                r#" AND "phoneDigits" LIKE ?"#,
                Bind::Text(format!("%{digits}")),
            ),
        ];
        branches.push((conditions, Indexed::SearchAndTenant));
    }
    branches
}
