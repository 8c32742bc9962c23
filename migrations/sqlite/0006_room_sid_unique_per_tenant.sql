-- A room sid is unique within a tenant, no longer across tenants (see the PostgreSQL twin,
-- 0007). SQLite cannot drop a column's UNIQUE, so call_logs is rebuilt the documented way: a new
-- table, the rows copied, the old one dropped, the new one renamed, its indexes made again.
CREATE TABLE call_logs_rebuilt (
    id                TEXT PRIMARY KEY NOT NULL,
    userId            TEXT NOT NULL,
    agentConfigId     TEXT,
    phoneNumber       TEXT,
    startedAt         TEXT NOT NULL,
    endedAt           TEXT,
    livekitRoomName   TEXT,
    livekitRoomSid    TEXT,
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

INSERT INTO call_logs_rebuilt (id, userId, agentConfigId, phoneNumber, startedAt, endedAt,
    livekitRoomName, livekitRoomSid, direction, status, outcome, duration, sipCallId, recordingUrl,
    call_metadata, createdAt, updatedAt, lastHeartbeatAt, lastEventAt, startConfirmed)
SELECT id, userId, agentConfigId, phoneNumber, startedAt, endedAt,
    livekitRoomName, livekitRoomSid, direction, status, outcome, duration, sipCallId, recordingUrl,
    call_metadata, createdAt, updatedAt, lastHeartbeatAt, lastEventAt, startConfirmed
FROM call_logs;

DROP TABLE call_logs;
ALTER TABLE call_logs_rebuilt RENAME TO call_logs;

CREATE INDEX idx_call_logs_userId ON call_logs (userId);
CREATE INDEX idx_call_logs_status ON call_logs (status);
CREATE INDEX idx_call_logs_outcome ON call_logs (outcome);
CREATE INDEX idx_call_logs_direction ON call_logs (direction);
CREATE INDEX idx_call_logs_livekitRoomName ON call_logs (livekitRoomName);
CREATE INDEX idx_call_logs_user_outcome ON call_logs (userId, outcome);
CREATE INDEX idx_call_logs_user_started ON call_logs (userId, startedAt);
CREATE INDEX idx_call_logs_active ON call_logs ("userId", "startedAt") WHERE status = 'active';
CREATE INDEX idx_call_logs_started ON call_logs ("startedAt", id);
CREATE UNIQUE INDEX idx_call_logs_user_room_sid ON call_logs (userId, livekitRoomSid);
