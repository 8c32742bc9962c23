-- Reconciliation becomes a real job (who triggered each run, what it repaired call by call, a
-- lease so a crashed holder cannot block runs forever) and every operator action is audited.
UPDATE reconciliation_runs SET trigger = 'admin' WHERE trigger = 'manual';
ALTER TABLE reconciliation_runs DROP CONSTRAINT IF EXISTS reconciliation_runs_trigger_check;
ALTER TABLE reconciliation_runs ADD CONSTRAINT reconciliation_runs_trigger_check
    CHECK (trigger IN ('schedule', 'admin', 'internal'));
ALTER TABLE reconciliation_runs
    ADD COLUMN triggered_by TEXT,
    -- While running: the holder renews this; past it, the run counts as abandoned.
    ADD COLUMN lease_until  TIMESTAMP,
    ADD COLUMN dlq_rearmed  BIGINT NOT NULL DEFAULT 0,
    -- JSON array of the calls and messages the run touched (bounded).
    ADD COLUMN touched      TEXT NOT NULL DEFAULT '[]';
DROP INDEX IF EXISTS idx_reconciliation_runs_started;
CREATE INDEX idx_reconciliation_runs_started ON reconciliation_runs (started_at DESC, id DESC);
-- One run at a time, across every instance: a second 'running' row cannot be inserted.
CREATE UNIQUE INDEX idx_reconciliation_runs_one_running ON reconciliation_runs (status)
    WHERE status = 'running';

CREATE TABLE audit_log (
    id          BIGSERIAL PRIMARY KEY,
    at          TIMESTAMP NOT NULL,
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
-- Append-only, whatever connects: the API has no way to change an entry, and neither has SQL
-- (short of dropping the trigger, which needs the table's owner).
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
