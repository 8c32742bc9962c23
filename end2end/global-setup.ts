// Starts the real `switchboard` binary on a free port (port 0: the kernel picks, no race) with a
// fresh data folder, and hands its URL to the tests through the environment.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import {
  E2E_EMAIL,
  E2E_PASSWORD,
  STORAGE_STATE,
  TENANT_A,
  TENANT_A_EMAIL,
  TENANT_A_STATE,
  TENANT_B,
  TENANT_B_EMAIL,
  TENANT_B_STATE,
} from "./credentials";

const root = path.resolve(__dirname, "..");

export default async function globalSetup() {
  const bin = process.env.SWITCHBOARD_BIN ?? path.join(root, "target/debug/switchboard");
  const siteRoot = process.env.SWITCHBOARD_SITE_ROOT ?? path.join(root, "target/site");
  const dataDir = mkdtempSync(path.join(tmpdir(), "switchboard-e2e-"));

  // A signed-in browser needs a user: an admin and two tenant users with a known password, added
  // the way an operator would (the password on stdin, never in argv).
  const users: [string, string[]][] = [
    [E2E_EMAIL, ["--role", "admin"]],
    [TENANT_A_EMAIL, ["--role", "tenant", "--tenant", TENANT_A, "--tenant-name", "Tenant A (e2e)"]],
    [TENANT_B_EMAIL, ["--role", "tenant", "--tenant", TENANT_B, "--tenant-name", "Tenant B (e2e)"]],
  ];
  for (const [email, role] of users) {
    const added = spawnSync(
      bin,
      ["user", "add", "--data-dir", dataDir, "--email", email, ...role, "--password-stdin"],
      { input: `${E2E_PASSWORD}\n`, encoding: "utf8" },
    );
    if (added.status !== 0) throw new Error(`switchboard user add failed: ${added.stderr}`);
  }

  // Tests that need calls post them to the ingest endpoint with this key.
  const ingestKey = randomBytes(24).toString("hex");
  const server = spawn(
    bin,
    ["serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--site-root", siteRoot],
    {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "warn", INGEST_API_KEY: ingestKey },
    },
  );
  server.stderr.on("data", (chunk) => process.stderr.write(`[switchboard] ${chunk}`));

  const url = await new Promise<string>((resolve, reject) => {
    let seen = "";
    server.stdout.on("data", (chunk) => {
      seen += chunk;
      const match = seen.match(/http:\/\/127\.0\.0\.1:\d+/);
      if (match) resolve(match[0]);
    });
    server.on("exit", (code) => reject(new Error(`switchboard exited (${code}) before listening: ${seen}`)));
    server.on("error", reject);
  });

  // Sign in once per user, through the real login form, and hand the sessions to the tests
  // (sign-in is rate-limited per email, as it should be, so tests do not each sign in again).
  mkdirSync(path.dirname(STORAGE_STATE), { recursive: true });
  for (const [email, state] of [
    [E2E_EMAIL, STORAGE_STATE],
    [TENANT_A_EMAIL, TENANT_A_STATE],
    [TENANT_B_EMAIL, TENANT_B_STATE],
  ]) {
    const login = await fetch(`${url}/login`, {
      method: "POST",
      body: new URLSearchParams({ email, password: E2E_PASSWORD }),
      redirect: "manual",
    });
    const session = login.headers.get("set-cookie")?.split(";")[0];
    if (login.status !== 303 || !session) throw new Error(`sign-in of ${email} failed: ${login.status}`);
    const [name, value] = session.split("=");
    writeFileSync(
      state,
      JSON.stringify({
        cookies: [{ name, value, domain: "127.0.0.1", path: "/", expires: -1, httpOnly: true, secure: false, sameSite: "Lax" }],
        origins: [],
      }),
    );
  }

  process.env.SWITCHBOARD_URL = url;
  process.env.SWITCHBOARD_INGEST_KEY = ingestKey;
  process.env.SWITCHBOARD_PID = String(server.pid);
  writeFileSync(path.join(dataDir, "e2e-url"), url);
}
