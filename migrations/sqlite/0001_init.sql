-- The same schema as migrations/postgres/0001_init.sql, in SQLite's dialect. Timestamps are UTC
-- text ('YYYY-MM-DD HH:MM:SS.fff…'), which sorts and compares in time order.
CREATE TABLE IF NOT EXISTS call_logs (
    id                TEXT PRIMARY KEY NOT NULL,
    userId            TEXT NOT NULL,
    agentConfigId     TEXT,
    phoneNumber       TEXT,
    startedAt         TEXT NOT NULL,
    endedAt           TEXT,
    livekitRoomName   TEXT,
    livekitRoomSid    TEXT UNIQUE,
    direction         TEXT DEFAULT 'inbound',
    status            TEXT DEFAULT 'ended',
    outcome           TEXT,
    duration          INTEGER,
    sipCallId         TEXT,
    recordingUrl      TEXT,
    call_metadata     TEXT,
    createdAt         TEXT DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
    updatedAt         TEXT DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
    lastHeartbeatAt   TEXT,
    lastEventAt       TEXT,
    startConfirmed    INTEGER NOT NULL DEFAULT 1
);

CREATE INDEX IF NOT EXISTS idx_call_logs_userId ON call_logs (userId);
CREATE INDEX IF NOT EXISTS idx_call_logs_status ON call_logs (status);
CREATE INDEX IF NOT EXISTS idx_call_logs_outcome ON call_logs (outcome);
CREATE INDEX IF NOT EXISTS idx_call_logs_direction ON call_logs (direction);
CREATE INDEX IF NOT EXISTS idx_call_logs_livekitRoomName ON call_logs (livekitRoomName);
CREATE INDEX IF NOT EXISTS idx_call_logs_user_outcome ON call_logs (userId, outcome);
CREATE INDEX IF NOT EXISTS idx_call_logs_user_started ON call_logs (userId, startedAt);

CREATE TABLE IF NOT EXISTS call_hourly_rollup (
    userId         TEXT NOT NULL,
    hour           TEXT NOT NULL,
    agentConfigId  TEXT NOT NULL DEFAULT '',
    outcome        TEXT NOT NULL DEFAULT '',
    calls          INTEGER NOT NULL DEFAULT 0,
    ended          INTEGER NOT NULL DEFAULT 0,
    duration_sum   INTEGER NOT NULL DEFAULT 0,
    duration_count INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (userId, hour, agentConfigId, outcome)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS tenants (
    id           TEXT PRIMARY KEY NOT NULL,
    display_name TEXT NOT NULL,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now'))
);

CREATE TABLE IF NOT EXISTS agents (
    id           TEXT PRIMARY KEY NOT NULL,
    tenant_id    TEXT REFERENCES tenants (id),
    display_name TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS dashboard_users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'tenant')),
    tenant_id     TEXT REFERENCES tenants (id),
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
    CHECK ((role = 'tenant') = (tenant_id IS NOT NULL))
);

CREATE TABLE IF NOT EXISTS reconciliation_runs (
    id           TEXT PRIMARY KEY NOT NULL,
    trigger      TEXT NOT NULL CHECK (trigger IN ('schedule', 'manual')),
    status       TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    stale_closed INTEGER NOT NULL DEFAULT 0,
    backfilled   INTEGER NOT NULL DEFAULT 0,
    live_cleared INTEGER NOT NULL DEFAULT 0,
    dlq_retried  INTEGER NOT NULL DEFAULT 0,
    error        TEXT
);
CREATE INDEX IF NOT EXISTS idx_reconciliation_runs_started ON reconciliation_runs (started_at DESC);
