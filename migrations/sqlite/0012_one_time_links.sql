-- One-time links (issue 24): an invitation (a new user, with its role and tenant, sets its
-- password) or a password reset (an existing user sets a new one). Stored as the SHA-256 of the
-- secret the link carries, which is shown once to whoever made it; used at most once
-- (`used_at`), before `expires_at` (unix seconds). A new invitation to the same email replaces
-- the unused one.
CREATE TABLE one_time_links (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL CHECK (kind IN ('invite', 'reset')),
    secret_hash TEXT NOT NULL UNIQUE,
    email       TEXT NOT NULL,
    role        TEXT NOT NULL,
    tenant_id   VARCHAR(36) REFERENCES tenants (id),
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);
CREATE INDEX one_time_links_by_email ON one_time_links (email);
