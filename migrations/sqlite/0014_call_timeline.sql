-- What a call's page tells beyond its call_logs columns (issue 25), written in the same
-- transaction as the row. In the row itself, so they cost no write of their own: how many events
-- it logged (the log below may keep fewer), its heartbeats summarised instead of kept one by one,
-- its turns counted against their bound, and call_ended's end reason and cost.
-- call_events: the accepted events, bounded per call (the first 50 and the latest 200; see
-- storage::timeline). call_turns: the conversation, at most 1,000 turns per call.
-- Timestamps are UTC text, as in call_logs.
ALTER TABLE call_logs ADD COLUMN eventsLogged INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_logs ADD COLUMN heartbeatCount INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_logs ADD COLUMN firstHeartbeatAt TEXT;
ALTER TABLE call_logs ADD COLUMN longestHeartbeatGapMs INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_logs ADD COLUMN turnCount INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_logs ADD COLUMN endReason TEXT;
ALTER TABLE call_logs ADD COLUMN costMicros INTEGER;
ALTER TABLE call_logs ADD COLUMN costCurrency TEXT;

CREATE TABLE call_events (
    call_id     TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    user_id     TEXT NOT NULL,
    at          TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    source      TEXT NOT NULL,
    received_at TEXT NOT NULL,
    changes     TEXT NOT NULL,
    PRIMARY KEY (call_id, seq)
) WITHOUT ROWID;

CREATE TABLE call_turns (
    call_id     TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    user_id     TEXT NOT NULL,
    at          TEXT NOT NULL,
    role        TEXT NOT NULL,
    text        TEXT NOT NULL,
    latency_ms  INTEGER,
    interrupted INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (call_id, seq)
) WITHOUT ROWID;
