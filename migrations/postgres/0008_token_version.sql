-- A dashboard user's token version: every token minted at sign-in carries the version then, and
-- a request is let in only while it still matches. Bumping it (sign out everywhere, a role
-- change) ends every session of that user at once, on every instance.
ALTER TABLE dashboard_users ADD COLUMN token_version BIGINT NOT NULL DEFAULT 0;
