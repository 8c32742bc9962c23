//! What operators and the server's own jobs leave behind: reconciliation runs and the audit log.
//!
//! "One run at a time" is kept by the database every instance shares: a unique partial index
//! admits one `running` row, and the holder renews a lease on it. A run whose lease lapsed (its
//! instance died) is marked failed by the next claim, so a crashed holder never blocks runs for
//! longer than one lease. The audit log is append-only down to the schema (triggers refuse
//! `UPDATE` and `DELETE`); this module only ever inserts into it.

use time::PrimitiveDateTime;

use super::{Storage, StorageError, reads::CallKey};

/// `SELECT <every ReconciliationRow column> FROM reconciliation_runs`.
const SELECT_RUNS: &str = "SELECT id, trigger, triggered_by, status, started_at, finished_at, \
    stale_closed, backfilled, live_cleared, dlq_retried, dlq_rearmed, touched, error \
    FROM reconciliation_runs";

/// A recorded reconciliation run.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ReconciliationRow {
    pub id: String,
    pub trigger: String,
    pub triggered_by: Option<String>,
    pub status: String,
    pub started_at: PrimitiveDateTime,
    pub finished_at: Option<PrimitiveDateTime>,
    pub stale_closed: i64,
    pub backfilled: i64,
    pub live_cleared: i64,
    pub dlq_retried: i64,
    pub dlq_rearmed: i64,
    /// JSON array of `RepairedItem`s.
    pub touched: String,
    pub error: Option<String>,
}

/// A run about to start.
#[derive(Debug, Clone)]
pub struct NewRun<'a> {
    pub id: &'a str,
    pub trigger: &'a str,
    pub triggered_by: Option<&'a str>,
    pub started_at: PrimitiveDateTime,
    pub lease_until: PrimitiveDateTime,
}

/// What [`Storage::claim_reconciliation`] got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunClaim {
    /// The new run is recorded as running; its caller does the work.
    Started,
    /// Another run holds the claim.
    AlreadyRunning(Box<ReconciliationRow>),
}

/// How a run ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunResult {
    pub status: &'static str,
    pub finished_at: Option<PrimitiveDateTime>,
    pub stale_closed: i64,
    pub backfilled: i64,
    pub live_cleared: i64,
    pub dlq_retried: i64,
    pub dlq_rearmed: i64,
    pub touched: String,
    pub error: Option<String>,
}

/// One audit log entry.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub at: PrimitiveDateTime,
    pub actor: String,
    pub role: String,
    pub tenant_id: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub result: String,
    pub client_addr: Option<String>,
    /// A JSON object, when the action carried more.
    pub detail: Option<String>,
}

/// Error of runs whose instance stopped renewing their lease.
pub const ABANDONED: &str = "abandoned: the instance running it stopped before it finished";

impl Storage {
    /// Records `run` as running unless another run is; a run whose lease lapsed is marked
    /// failed first. Returns the claim and the ids of runs found abandoned.
    pub async fn claim_reconciliation(
        &self,
        run: &NewRun<'_>,
    ) -> Result<(RunClaim, Vec<String>), StorageError> {
        let abandon = "UPDATE reconciliation_runs SET status = 'failed', finished_at = $1, \
                       lease_until = NULL, error = $2 \
                       WHERE status = 'running' AND lease_until < $1 RETURNING id";
        let abandoned: Vec<String> = with_pool!(self, pool => sqlx::query_scalar(abandon)
            .bind(run.started_at)
            .bind(ABANDONED)
            .fetch_all(pool)
            .await)?;
        let insert = "INSERT INTO reconciliation_runs \
                      (id, trigger, triggered_by, status, started_at, lease_until) \
                      VALUES ($1, $2, $3, 'running', $4, $5)";
        // The holder may finish between a refused insert and the look-up: then try again.
        for _ in 0..3 {
            let inserted = with_pool!(self, pool => sqlx::query(insert)
                .bind(run.id)
                .bind(run.trigger)
                .bind(run.triggered_by)
                .bind(run.started_at)
                .bind(run.lease_until)
                .execute(pool)
                .await
                .map(drop));
            match inserted {
                Ok(_) => return Ok((RunClaim::Started, abandoned)),
                Err(sqlx::Error::Database(error)) if error.is_unique_violation() => {
                    if let Some(holder) = self.running_reconciliation().await? {
                        return Ok((RunClaim::AlreadyRunning(Box::new(holder)), abandoned));
                    }
                }
                Err(error) => return Err(error.into()),
            }
        }
        Err(StorageError::Database(sqlx::Error::Protocol(
            "reconciliation runs kept starting and finishing while claiming".to_owned(),
        )))
    }

    /// Extends a running run's lease; `false` when it is no longer running (e.g. declared
    /// abandoned after its lease lapsed).
    pub async fn renew_reconciliation(
        &self,
        id: &str,
        lease_until: PrimitiveDateTime,
    ) -> Result<bool, StorageError> {
        let sql = "UPDATE reconciliation_runs SET lease_until = $2 \
                   WHERE id = $1 AND status = 'running'";
        let done = with_pool!(self, pool => sqlx::query(sql).bind(id).bind(lease_until).execute(pool).await.map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// Records how a run ended; `false` when it was no longer running.
    pub async fn finish_reconciliation(
        &self,
        id: &str,
        result: &RunResult,
    ) -> Result<bool, StorageError> {
        let sql = "UPDATE reconciliation_runs SET status = $2, finished_at = $3, \
                   lease_until = NULL, stale_closed = $4, backfilled = $5, live_cleared = $6, \
                   dlq_retried = $7, dlq_rearmed = $8, touched = $9, error = $10 \
                   WHERE id = $1 AND status = 'running'";
        let done = with_pool!(self, pool => sqlx::query(sql)
            .bind(id)
            .bind(result.status)
            .bind(result.finished_at)
            .bind(result.stale_closed)
            .bind(result.backfilled)
            .bind(result.live_cleared)
            .bind(result.dlq_retried)
            .bind(result.dlq_rearmed)
            .bind(&result.touched)
            .bind(&result.error)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    pub async fn reconciliation(
        &self,
        id: &str,
    ) -> Result<Option<ReconciliationRow>, StorageError> {
        let sql = format!("{SELECT_RUNS} WHERE id = $1");
        Ok(
            with_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(pool).await)?,
        )
    }

    pub async fn running_reconciliation(&self) -> Result<Option<ReconciliationRow>, StorageError> {
        let sql = format!("{SELECT_RUNS} WHERE status = 'running'");
        Ok(
            with_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).fetch_optional(pool).await)?,
        )
    }

    /// The most recent finished run (of `trigger` when given), if any.
    pub async fn last_reconciliation_of(
        &self,
        trigger: Option<&str>,
    ) -> Result<Option<ReconciliationRow>, StorageError> {
        let sql = format!(
            "{SELECT_RUNS} WHERE status <> 'running' AND ($1 IS NULL OR trigger = $1) \
             ORDER BY started_at DESC, id DESC LIMIT 1"
        );
        Ok(
            with_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(trigger).fetch_optional(pool).await)?,
        )
    }

    /// The most recent finished run, if any finished.
    pub async fn last_reconciliation(&self) -> Result<Option<ReconciliationRow>, StorageError> {
        self.last_reconciliation_of(None).await
    }

    /// Runs newest first, after `after` (the last run of the previous page).
    pub async fn reconciliations(
        &self,
        after: Option<&CallKey>,
        limit: i64,
    ) -> Result<Vec<ReconciliationRow>, StorageError> {
        let rows = match after {
            None => {
                let sql = format!("{SELECT_RUNS} ORDER BY started_at DESC, id DESC LIMIT $1");
                with_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(limit).fetch_all(pool).await)?
            }
            Some(after) => {
                let sql = format!(
                    "{SELECT_RUNS} WHERE started_at < $1 OR (started_at = $1 AND id < $2) \
                     ORDER BY started_at DESC, id DESC LIMIT $3"
                );
                with_pool!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(after.started_at)
                    .bind(&after.id)
                    .bind(limit)
                    .fetch_all(pool)
                    .await)?
            }
        };
        Ok(rows)
    }

    /// Appends one entry to the audit log; returns its id.
    pub async fn append_audit(&self, entry: &AuditRow) -> Result<i64, StorageError> {
        let sql = "INSERT INTO audit_log \
                   (at, actor, role, tenant_id, action, target, result, client_addr, detail) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id";
        Ok(with_pool!(self, pool => sqlx::query_scalar(sql)
            .bind(entry.at)
            .bind(&entry.actor)
            .bind(&entry.role)
            .bind(&entry.tenant_id)
            .bind(&entry.action)
            .bind(&entry.target)
            .bind(&entry.result)
            .bind(&entry.client_addr)
            .bind(&entry.detail)
            .fetch_one(pool)
            .await)?)
    }

    /// Audit entries newest first, those before id `before` when given.
    pub async fn audit_log(
        &self,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AuditRow>, StorageError> {
        let sql = "SELECT id, at, actor, role, tenant_id, action, target, result, client_addr, \
                   detail FROM audit_log WHERE id < $1 ORDER BY id DESC LIMIT $2";
        Ok(with_pool!(self, pool => sqlx::query_as(sql)
            .bind(before.unwrap_or(i64::MAX))
            .bind(limit)
            .fetch_all(pool)
            .await)?)
    }
}
