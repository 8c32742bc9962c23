-- Admins read every tenant's figures for a period: without this the rollup's primary key (tenant
-- first) leaves only a full scan for "these hours, all tenants".
CREATE INDEX IF NOT EXISTS idx_call_hourly_rollup_hour ON call_hourly_rollup (hour);
