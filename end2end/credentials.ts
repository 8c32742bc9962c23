// The admin global-setup.ts creates before the server starts, for tests that sign in.
export const E2E_EMAIL = "admin@e2e.switchboard.test";
export const E2E_PASSWORD = "e2e-password-123";
// Where global-setup.ts leaves its signed-in session; every test starts with it.
export const STORAGE_STATE = `${__dirname}/.artifacts/storage-state.json`;
