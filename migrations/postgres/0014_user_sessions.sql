-- Sign-ins (issue 24), for the users list's "active sessions": one row per session handed out,
-- with the user's token version then. Active: unexpired, at the user's current version (signing
-- out everywhere, a role change or a new password moves the version on and so ends the rest).
-- A user's ended rows go when it signs in again; removing the user removes them.
CREATE TABLE user_sessions (
    id            BIGSERIAL PRIMARY KEY,
    user_id       BIGINT NOT NULL REFERENCES dashboard_users (id) ON DELETE CASCADE,
    token_version BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX user_sessions_by_user ON user_sessions (user_id, expires_at);
