-- call_logs keeps the seed-000 columns, types and indexes, so a table the old backend created is
-- read as it is (IF NOT EXISTS); quoted names keep their camelCase. Timestamps are UTC.
CREATE TABLE IF NOT EXISTS call_logs (
    id                VARCHAR(36) PRIMARY KEY,
    "userId"          VARCHAR(36) NOT NULL,
    "agentConfigId"   VARCHAR(36),
    "phoneNumber"     TEXT,
    "startedAt"       TIMESTAMP NOT NULL,
    "endedAt"         TIMESTAMP,
    "livekitRoomName" VARCHAR(255),
    "livekitRoomSid"  VARCHAR(100) UNIQUE,
    direction         VARCHAR(20) DEFAULT 'inbound',
    status            VARCHAR(50) DEFAULT 'ended',
    outcome           VARCHAR(50),
    duration          INTEGER,
    "sipCallId"       VARCHAR(255),
    "recordingUrl"    VARCHAR(512),
    call_metadata     JSONB,
    "createdAt"       TIMESTAMP DEFAULT NOW(),
    "updatedAt"       TIMESTAMP DEFAULT NOW()
);

-- Ours, added beside the seed's: liveness and event bookkeeping for order-independent merges.
ALTER TABLE call_logs ADD COLUMN IF NOT EXISTS "lastHeartbeatAt" TIMESTAMP;
ALTER TABLE call_logs ADD COLUMN IF NOT EXISTS "lastEventAt" TIMESTAMP;
ALTER TABLE call_logs ADD COLUMN IF NOT EXISTS "startConfirmed" BOOLEAN NOT NULL DEFAULT TRUE;

CREATE INDEX IF NOT EXISTS "idx_call_logs_userId" ON call_logs ("userId");
CREATE INDEX IF NOT EXISTS idx_call_logs_status ON call_logs (status);
CREATE INDEX IF NOT EXISTS idx_call_logs_outcome ON call_logs (outcome);
CREATE INDEX IF NOT EXISTS idx_call_logs_direction ON call_logs (direction);
CREATE INDEX IF NOT EXISTS "idx_call_logs_livekitRoomName" ON call_logs ("livekitRoomName");
CREATE INDEX IF NOT EXISTS idx_call_logs_user_outcome ON call_logs ("userId", outcome);
CREATE INDEX IF NOT EXISTS idx_call_logs_user_started ON call_logs ("userId", "startedAt");

-- Calls per tenant, hour started, agent and outcome ('' = none / not ended yet), maintained in the
-- same transaction as every call_logs write, so dashboard aggregates read hours, not rows.
CREATE TABLE IF NOT EXISTS call_hourly_rollup (
    "userId"        VARCHAR(36) NOT NULL,
    hour            TIMESTAMP   NOT NULL,
    "agentConfigId" VARCHAR(36) NOT NULL DEFAULT '',
    outcome         VARCHAR(50) NOT NULL DEFAULT '',
    calls           BIGINT NOT NULL DEFAULT 0,
    ended           BIGINT NOT NULL DEFAULT 0,
    duration_sum    BIGINT NOT NULL DEFAULT 0,
    duration_count  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY ("userId", hour, "agentConfigId", outcome)
);

-- An existing table's history counts from the first start.
INSERT INTO call_hourly_rollup ("userId", hour, "agentConfigId", outcome, calls, ended, duration_sum, duration_count)
SELECT "userId", date_trunc('hour', "startedAt"), COALESCE("agentConfigId", ''),
       CASE WHEN status = 'active' THEN '' ELSE COALESCE(outcome, '') END,
       COUNT(*),
       COUNT(*) FILTER (WHERE status <> 'active'),
       COALESCE(SUM(duration) FILTER (WHERE status <> 'active'), 0),
       COUNT(duration) FILTER (WHERE status <> 'active')
FROM call_logs
GROUP BY 1, 2, 3, 4
ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS tenants (
    id           VARCHAR(36) PRIMARY KEY,
    display_name TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL DEFAULT NOW()
);
INSERT INTO tenants (id, display_name)
SELECT DISTINCT "userId", "userId" FROM call_logs
ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS agents (
    id           VARCHAR(36) PRIMARY KEY,
    tenant_id    VARCHAR(36) REFERENCES tenants (id),
    display_name TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS dashboard_users (
    id            BIGSERIAL PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'tenant')),
    tenant_id     VARCHAR(36) REFERENCES tenants (id),
    created_at    TIMESTAMP NOT NULL DEFAULT NOW(),
    CHECK ((role = 'tenant') = (tenant_id IS NOT NULL))
);

CREATE TABLE IF NOT EXISTS reconciliation_runs (
    id           VARCHAR(36) PRIMARY KEY,
    trigger      TEXT NOT NULL CHECK (trigger IN ('schedule', 'manual')),
    status       TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
    started_at   TIMESTAMP NOT NULL,
    finished_at  TIMESTAMP,
    stale_closed BIGINT NOT NULL DEFAULT 0,
    backfilled   BIGINT NOT NULL DEFAULT 0,
    live_cleared BIGINT NOT NULL DEFAULT 0,
    dlq_retried  BIGINT NOT NULL DEFAULT 0,
    error        TEXT
);
CREATE INDEX IF NOT EXISTS idx_reconciliation_runs_started ON reconciliation_runs (started_at DESC);
