-- The embedded dead-letter queue lives in its own SQLite file (data/dlq.db), apart from the call
-- store: it must take writes exactly when the call store is failing.
CREATE TABLE IF NOT EXISTS dead_letters (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id       TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    event         TEXT NOT NULL,          -- the event as received (JSON)
    error         TEXT NOT NULL,          -- the last failure
    attempts      INTEGER NOT NULL DEFAULT 0,
    max_attempts  INTEGER NOT NULL,
    next_retry_at TEXT,                   -- NULL once it is a final failure
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_dead_letters_due ON dead_letters (next_retry_at) WHERE next_retry_at IS NOT NULL;
