-- What a call's page tells beyond its call_logs columns (issue 25), written in the same
-- transaction as the row. In the row itself, so they cost no write of their own: how many events
-- it logged (the log below may keep fewer), its heartbeats summarised instead of kept one by one,
-- its turns counted against their bound, and call_ended's end reason and cost. Adding a column
-- with a constant default rewrites no rows.
-- call_events: the accepted events, bounded per call (the first 50 and the latest 200; see
-- storage::timeline). call_turns: the conversation, at most 1,000 turns per call.
ALTER TABLE call_logs
    ADD COLUMN IF NOT EXISTS "eventsLogged" BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS "heartbeatCount" BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS "firstHeartbeatAt" TIMESTAMP,
    ADD COLUMN IF NOT EXISTS "longestHeartbeatGapMs" BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS "turnCount" BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS "endReason" TEXT,
    ADD COLUMN IF NOT EXISTS "costMicros" BIGINT,
    ADD COLUMN IF NOT EXISTS "costCurrency" TEXT;

CREATE TABLE call_events (
    call_id     VARCHAR(36) NOT NULL,
    seq         BIGINT NOT NULL,
    user_id     VARCHAR(36) NOT NULL,
    at          TIMESTAMP NOT NULL,
    event_type  TEXT NOT NULL,
    source      TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    changes     JSONB NOT NULL,
    PRIMARY KEY (call_id, seq)
);

CREATE TABLE call_turns (
    call_id     VARCHAR(36) NOT NULL,
    seq         BIGINT NOT NULL,
    user_id     VARCHAR(36) NOT NULL,
    at          TIMESTAMP NOT NULL,
    role        TEXT NOT NULL,
    text        TEXT NOT NULL,
    latency_ms  BIGINT,
    interrupted BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (call_id, seq)
);
