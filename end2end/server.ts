// Starts the real `switchboard` binary on a free port (port 0: the kernel picks, no race): the
// suite's shared server (global-setup.ts) and the servers a test needs of its own, e.g. one whose
// writes fail, restarted on the same data once the cause is gone.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  E2E_EMAIL,
  E2E_PASSWORD,
  MEMBER_A_EMAIL,
  OPERATOR_EMAIL,
  PASSWORD_PROJECTS,
  managedUser,
  passwordUser,
  TENANT_A,
  TENANT_A_EMAIL,
  TENANT_B,
  TENANT_B_EMAIL,
  VIEWER_EMAIL,
} from "./credentials";

const root = path.resolve(__dirname, "..");
export const BIN = process.env.SWITCHBOARD_BIN ?? path.join(root, "target/debug/switchboard");
export const SITE_ROOT = process.env.SWITCHBOARD_SITE_ROOT ?? path.join(root, "target/site");

export interface Server {
  url: string;
  dataDir: string;
  process: ChildProcess;
  /** SIGTERM, as a process manager would; resolves once the process is gone. */
  stop(): Promise<void>;
}

/** A fresh data folder. */
export function dataDir(): string {
  return mkdtempSync(path.join(tmpdir(), "switchboard-e2e-"));
}

/** Adds a user to `dir` the way an operator would (the password on stdin, never in argv). */
export function addUser(dir: string, email: string, password: string, role: string[]) {
  const added = spawnSync(BIN, ["user", "add", "--data-dir", dir, "--email", email, ...role, "--password-stdin"], {
    input: `${password}\n`,
    encoding: "utf8",
  });
  if (added.status !== 0) throw new Error(`switchboard user add failed: ${added.stderr}`);
}

/**
 * Adds the suite's users to `dir`, always in this order: every server of the suite then holds
 * them under the same ids and token versions, so one browser session (which names its user) is
 * valid on each.
 */
export function addSuiteUsers(dir: string) {
  const users: [string, string[]][] = [
    [E2E_EMAIL, ["--role", "admin"]],
    [TENANT_A_EMAIL, ["--role", "owner", "--tenant", TENANT_A, "--tenant-name", "Tenant A (e2e)"]],
    [TENANT_B_EMAIL, ["--role", "owner", "--tenant", TENANT_B, "--tenant-name", "Tenant B (e2e)"]],
    [OPERATOR_EMAIL, ["--role", "operator"]],
    [VIEWER_EMAIL, ["--role", "viewer"]],
    [MEMBER_A_EMAIL, ["--role", "member", "--tenant", TENANT_A]],
    ...PASSWORD_PROJECTS.map((project): [string, string[]] => [passwordUser(project), ["--role", "member", "--tenant", TENANT_A]]),
    ...PASSWORD_PROJECTS.map((project): [string, string[]] => [managedUser(project), ["--role", "member", "--tenant", TENANT_A]]),
  ];
  for (const [email, role] of users) addUser(dir, email, E2E_PASSWORD, role);
}

/**
 * Serves `dir` with `args` added. The environment must carry the suite's `JWT_SECRET` and
 * `INGEST_API_KEY` (global-setup.ts sets them), so one browser session signs in to every server.
 */
export async function startServer(dir: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Server> {
  const child = spawn(BIN, ["serve", "--addr", "127.0.0.1:0", "--data-dir", dir, "--site-root", SITE_ROOT, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "warn", ...env },
  });
  child.stderr?.on("data", (chunk) => process.stderr.write(`[switchboard ${path.basename(dir)}] ${chunk}`));
  const url = await new Promise<string>((resolve, reject) => {
    let seen = "";
    child.stdout?.on("data", (chunk) => {
      seen += chunk;
      const match = seen.match(/http:\/\/127\.0\.0\.1:\d+/);
      if (match) resolve(match[0]);
    });
    child.on("exit", (code) => reject(new Error(`switchboard exited (${code}) before listening: ${seen}`)));
    child.on("error", reject);
  });
  return { url, dataDir: dir, process: child, stop: () => stopProcess(child.pid) };
}

/** SIGTERM, then waits up to 10 s for the process to go; throws (after SIGKILL) if it did not. */
export async function stopProcess(pid: number | undefined) {
  if (!pid) return;
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return; // already gone
  }
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return; // gone
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  process.kill(pid, "SIGKILL");
  throw new Error(`switchboard ${pid} did not stop within 10 s of SIGTERM`);
}
