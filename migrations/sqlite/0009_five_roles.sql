-- Five roles (issue 24): the platform's admin, operator and viewer read every tenant; a tenant's
-- owner and member read their own. A user with the old `tenant` role owned its tenant's view, so
-- it becomes its tenant's owner. SQLite cannot change a CHECK in place: the table is rebuilt
-- (nothing references it by key).
CREATE TABLE dashboard_users_new (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer', 'owner', 'member')),
    tenant_id     TEXT REFERENCES tenants (id),
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
    token_version INTEGER NOT NULL DEFAULT 0,
    CHECK ((role IN ('owner', 'member')) = (tenant_id IS NOT NULL))
);

INSERT INTO dashboard_users_new (id, email, password_hash, role, tenant_id, created_at, token_version)
SELECT id, email, password_hash, CASE role WHEN 'tenant' THEN 'owner' ELSE role END, tenant_id,
       created_at, token_version
FROM dashboard_users;

DROP TABLE dashboard_users;
ALTER TABLE dashboard_users_new RENAME TO dashboard_users;
