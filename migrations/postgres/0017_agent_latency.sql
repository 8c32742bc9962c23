-- Agents' response latency (issue 25), kept beside the rollup so that periods add up: per
-- tenant, start hour of the call, agent ('' for none) and fixed bucket (the index into
-- app::dto::latency::LATENCY_BUCKETS_MS), how many agent turns with a latency fell in it.
-- Written in the same statement as the turns; the hour's version in call_hour_versions moves
-- with it. Turns stored before this migration are not counted.
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
