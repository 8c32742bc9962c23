-- The dashboard's reads: active calls are a handful among millions of rows, so a partial index
-- holds exactly those; admins list every tenant's calls newest first.
CREATE INDEX IF NOT EXISTS idx_call_logs_active ON call_logs ("userId", "startedAt") WHERE status = 'active';
CREATE INDEX IF NOT EXISTS idx_call_logs_started ON call_logs ("startedAt", id);
