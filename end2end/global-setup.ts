// Starts the suite's shared server (server.ts), with the defaults an operator gets, signs its
// users in, and hands its URL to the tests through the environment (SWITCHBOARD_URL). The JWT
// secret and ingest key it is given stay in the environment for the servers tests start of
// their own (fixtures.ts `ownServer`), so one signed-in browser session works on every one.
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";

import {
  E2E_EMAIL,
  E2E_PASSWORD,
  MEMBER_A_EMAIL,
  MEMBER_A_STATE,
  OPERATOR_EMAIL,
  OPERATOR_STATE,
  STORAGE_STATE,
  TENANT_A_EMAIL,
  TENANT_A_STATE,
  TENANT_B_EMAIL,
  TENANT_B_STATE,
  VIEWER_EMAIL,
  VIEWER_STATE,
} from "./credentials";
import { addSuiteUsers, dataDir, startServer } from "./server";

export default async function globalSetup() {
  process.env.JWT_SECRET = randomBytes(32).toString("hex");
  process.env.INGEST_API_KEY = randomBytes(24).toString("hex");
  const main = dataDir();
  addSuiteUsers(main);
  const server = await startServer(main);
  const url = server.url;

  // Sign in once per user, through the real login form, and hand the sessions to the tests
  // (sign-in is rate-limited per email, as it should be, so tests do not each sign in again).
  mkdirSync(path.dirname(STORAGE_STATE), { recursive: true });
  for (const [email, state] of [
    [E2E_EMAIL, STORAGE_STATE],
    [TENANT_A_EMAIL, TENANT_A_STATE],
    [TENANT_B_EMAIL, TENANT_B_STATE],
    [OPERATOR_EMAIL, OPERATOR_STATE],
    [VIEWER_EMAIL, VIEWER_STATE],
    [MEMBER_A_EMAIL, MEMBER_A_STATE],
  ]) {
    const login = await fetch(`${url}/login`, {
      method: "POST",
      body: new URLSearchParams({ email, password: E2E_PASSWORD }),
      redirect: "manual",
    });
    const session = login.headers.get("set-cookie")?.split(";")[0];
    if (login.status !== 303 || !session) throw new Error(`sign-in of ${email} failed: ${login.status}`);
    const [name, value] = session.split("=");
    // A cookie for 127.0.0.1 goes to every port: the session works on every server here.
    writeFileSync(
      state,
      JSON.stringify({
        cookies: [{ name, value, domain: "127.0.0.1", path: "/", expires: -1, httpOnly: true, secure: false, sameSite: "Lax" }],
        origins: [],
      }),
    );
  }

  process.env.SWITCHBOARD_URL = url;
  process.env.SWITCHBOARD_INGEST_KEY = process.env.INGEST_API_KEY;
  process.env.SWITCHBOARD_PIDS = String(server.process.pid);
  writeFileSync(path.join(main, "e2e-url"), url);
}
