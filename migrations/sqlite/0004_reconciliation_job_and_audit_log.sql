-- Reconciliation becomes a real job (who triggered each run, what it repaired call by call, a
-- lease so a crashed holder cannot block runs forever) and every operator action is audited.
-- SQLite cannot change a CHECK constraint in place: the runs table is rebuilt ('manual' runs
-- were an admin's).
CREATE TABLE reconciliation_runs_new (
    id           TEXT PRIMARY KEY NOT NULL,
    trigger      TEXT NOT NULL CHECK (trigger IN ('schedule', 'admin', 'internal')),
    triggered_by TEXT,
    status       TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    -- While running: the holder renews this; past it, the run counts as abandoned.
    lease_until  TEXT,
    stale_closed INTEGER NOT NULL DEFAULT 0,
    backfilled   INTEGER NOT NULL DEFAULT 0,
    live_cleared INTEGER NOT NULL DEFAULT 0,
    dlq_retried  INTEGER NOT NULL DEFAULT 0,
    dlq_rearmed  INTEGER NOT NULL DEFAULT 0,
    -- JSON array of the calls and messages the run touched (bounded).
    touched      TEXT NOT NULL DEFAULT '[]',
    error        TEXT
);
INSERT INTO reconciliation_runs_new
    (id, trigger, status, started_at, finished_at, stale_closed, backfilled, live_cleared,
     dlq_retried, error)
SELECT id, CASE trigger WHEN 'manual' THEN 'admin' ELSE trigger END, status, started_at,
       finished_at, stale_closed, backfilled, live_cleared, dlq_retried, error
FROM reconciliation_runs;
DROP TABLE reconciliation_runs;
ALTER TABLE reconciliation_runs_new RENAME TO reconciliation_runs;
CREATE INDEX idx_reconciliation_runs_started ON reconciliation_runs (started_at DESC, id DESC);
-- One run at a time, across every instance sharing the database: a second 'running' row cannot
-- be inserted.
CREATE UNIQUE INDEX idx_reconciliation_runs_one_running ON reconciliation_runs (status)
    WHERE status = 'running';

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    role        TEXT NOT NULL,
    tenant_id   TEXT,
    action      TEXT NOT NULL,
    target      TEXT,
    result      TEXT NOT NULL,
    client_addr TEXT,
    -- JSON object with what else the action carried (counts, the run id, …).
    detail      TEXT
);
-- Append-only, whatever connects: the API has no way to change an entry, and neither has SQL.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
