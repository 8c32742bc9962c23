-- Every tenant's figures for a period come from per-hour sums each server keeps in memory
-- (server/src/storage/all_tenants.rs). This table tells a server which of those hours are out of
-- date: every write that changes an hour's rollup rows bumps the hour's version in the same
-- transaction, so a server reads again only the hours whose version moved, whoever wrote them.
CREATE TABLE IF NOT EXISTS call_hour_versions (
    hour    TIMESTAMP PRIMARY KEY,
    version BIGINT NOT NULL
);
