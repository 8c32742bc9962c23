-- Agents' response latency (issue 25), kept beside the rollup so that periods add up: per
-- tenant, start hour of the call, agent ('' for none) and fixed bucket (the index into
-- app::dto::latency::LATENCY_BUCKETS_MS), how many agent turns with a latency fell in it.
-- Written in the same statement as the turns; the hour's version in call_hour_versions moves
-- with it.
-- Each call keeps its own counts by bucket (call_logs.latencyBuckets, [[bucket, turns], …]), and
-- the histogram rows are derived from the rows like the rollup: a call whose agent or start hour
-- changes moves its turns along. Turns stored before this migration are not counted.
ALTER TABLE call_logs ADD COLUMN "latencyBuckets" JSONB NOT NULL DEFAULT '[]';
CREATE TABLE agent_latency_hourly (
    "userId"        TEXT NOT NULL,
    hour            TIMESTAMP NOT NULL,
    "agentConfigId" TEXT NOT NULL,
    bucket          INTEGER NOT NULL,
    turns           BIGINT NOT NULL,
    PRIMARY KEY ("userId", hour, "agentConfigId", bucket)
);
-- Every tenant's histograms for a period (see call_hourly_rollup's twin index).
CREATE INDEX idx_agent_latency_hourly_hour ON agent_latency_hourly (hour);
