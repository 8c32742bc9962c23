-- Five roles (issue 24): the platform's admin, operator and viewer read every tenant; a tenant's
-- owner and member read their own. A user with the old `tenant` role owned its tenant's view, so
-- it becomes its tenant's owner.
ALTER TABLE dashboard_users DROP CONSTRAINT IF EXISTS dashboard_users_role_check;
ALTER TABLE dashboard_users DROP CONSTRAINT IF EXISTS dashboard_users_check;
UPDATE dashboard_users SET role = 'owner' WHERE role = 'tenant';
ALTER TABLE dashboard_users ADD CONSTRAINT dashboard_users_role_check
    CHECK (role IN ('admin', 'operator', 'viewer', 'owner', 'member'));
ALTER TABLE dashboard_users ADD CONSTRAINT dashboard_users_tenant_check
    CHECK ((role IN ('owner', 'member')) = (tenant_id IS NOT NULL));
