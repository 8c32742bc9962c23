// The admin global-setup.ts creates before the server starts, for tests that sign in.
export const E2E_EMAIL = "admin@e2e.switchboard.test";
export const E2E_PASSWORD = "e2e-password-123";
// Where global-setup.ts leaves its signed-in session; every test starts with it.
export const STORAGE_STATE = `${__dirname}/.artifacts/storage-state.json`;
// Two tenant users, for what a customer sees: tenant A's page must never show tenant B's calls.
export const TENANT_A = "e2e-tenant-a";
export const TENANT_B = "e2e-tenant-b";
export const TENANT_A_EMAIL = "tenant-a@e2e.switchboard.test";
export const TENANT_B_EMAIL = "tenant-b@e2e.switchboard.test";
export const TENANT_A_STATE = `${__dirname}/.artifacts/storage-state-tenant-a.json`;
export const TENANT_B_STATE = `${__dirname}/.artifacts/storage-state-tenant-b.json`;
// The platform's operator and viewer, and a member of tenant A: what each role may see (issue 24).
export const OPERATOR_EMAIL = "operator@e2e.switchboard.test";
export const VIEWER_EMAIL = "viewer@e2e.switchboard.test";
export const MEMBER_A_EMAIL = "member-a@e2e.switchboard.test";
export const OPERATOR_STATE = `${__dirname}/.artifacts/storage-state-operator.json`;
export const VIEWER_STATE = `${__dirname}/.artifacts/storage-state-viewer.json`;
export const MEMBER_A_STATE = `${__dirname}/.artifacts/storage-state-member-a.json`;
// One user per project for the password change, so each project changes a password of its own.
export const passwordUser = (project: string) => `password-${project}@e2e.switchboard.test`;
export const PASSWORD_PROJECTS = ["hydrated", "ssr-only", "phone"];
// One user per project for an admin to manage from the users page.
export const managedUser = (project: string) => `managed-${project}@e2e.switchboard.test`;
