-- Whether an entry waits on an outage (retried for as long as it lasts, spending no attempts) or
-- on a refusal of the event. Entries queued before the two were told apart read as refusals.
ALTER TABLE dead_letters ADD COLUMN kind TEXT NOT NULL DEFAULT 'refusal';
-- Reconciliation asks which of the calls it would close still have an event being retried.
CREATE INDEX IF NOT EXISTS idx_dead_letters_retrying_call ON dead_letters (call_id) WHERE next_retry_at IS NOT NULL;
