-- API tokens (issue 24): the credentials of scripts and the platform's backend. Each belongs to
-- the user who made it (removing the user removes its tokens) and is stored as the SHA-256 of
-- its secret, which is shown once. `scope`: what it may do, never more than its user's role;
-- `tenant_id`: the tenant a platform user's `tenant_read` token reads (a tenant user's reads its
-- user's). Times in unix seconds. A revoked token keeps its row for a day (`revoked_at`), so
-- every instance's watch learns of it and closes its live sockets; then it goes, as expired
-- ones do a day after expiring.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES dashboard_users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    scope        TEXT NOT NULL CHECK (scope IN ('tenant_read', 'all_read', 'operator')),
    tenant_id    VARCHAR(36) REFERENCES tenants (id),
    secret_hash  TEXT NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX api_tokens_by_user ON api_tokens (user_id);
CREATE INDEX api_tokens_by_revocation ON api_tokens (revoked_at);
CREATE INDEX api_tokens_by_expiry ON api_tokens (expires_at);
