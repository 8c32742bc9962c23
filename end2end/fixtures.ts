// The base URL of the server global-setup.ts started, and a console-error collector.
import { test as base, expect, type ConsoleMessage } from "@playwright/test";
import { E2E_EMAIL, E2E_PASSWORD } from "./credentials";
import { addSuiteUsers, dataDir, startServer, type Server } from "./server";

export { E2E_EMAIL, E2E_PASSWORD };

export const test = base.extend<{ consoleErrors: string[] }>({
  baseURL: async ({}, use) => {
    const url = process.env.SWITCHBOARD_URL;
    if (!url) throw new Error("SWITCHBOARD_URL is unset: global-setup.ts did not run");
    await use(url);
  },
  consoleErrors: async ({ page }, use) => {
    const errors: string[] = [];
    page.on("console", (message: ConsoleMessage) => {
      if (message.type() === "error") errors.push(message.text());
    });
    page.on("pageerror", (error) => errors.push(`uncaught: ${error.message}`));
    await use(errors);
  },
});

export { expect };

/**
 * A server of the test's own, serving with `args` added, stopped when `body` is done: on a fresh
 * data folder with the suite's users and tenants (business names included), or on `dir`, the folder of
 * one stopped before. For flows that change the whole server (failing writes, short heartbeat
 * thresholds, reconciliation runs) without touching what other tests see.
 */
export async function ownServer<T>(args: string[], body: (server: Server) => Promise<T>, dir?: string): Promise<T> {
  if (!dir) {
    dir = dataDir();
    addSuiteUsers(dir);
  }
  const server = await startServer(dir, args);
  try {
    return await body(server);
  } finally {
    await server.stop();
  }
}

/** A name no other test (or project running at the same time) uses. */
export function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e9).toString(36)}`;
}

/** Digits no other test uses, for phone numbers a filter can find: `+1` and 9 digits. */
export function uniquePhonePrefix(): string {
  return `+1${String(Math.floor(Math.random() * 1e9)).padStart(9, "0")}`;
}

/**
 * Posts call events to the ingest API as the platform does (of the shared server, or of the one
 * at `base`); fails the test unless it answers `status` (200: every event stored; 202: some
 * queued for retry).
 */
export async function ingest(
  request: import("@playwright/test").APIRequestContext,
  events: object | object[],
  base = "",
  status = 200,
) {
  const response = await request.post(`${base}/api/v1/calls/events`, {
    headers: { Authorization: `Bearer ${process.env.SWITCHBOARD_INGEST_KEY}` },
    data: events,
  });
  expect(response.status(), await response.text()).toBe(status);
}

/** A screenshot kept with the test artifacts, named by project, for people to look at. */
export async function screenshot(page: import("@playwright/test").Page, name: string) {
  const project = test.info().project.name;
  await page.screenshot({ path: `${__dirname}/.artifacts/screenshots/${project}-${name}.png`, fullPage: true });
}

/** Events for `count` calls of `tenant` that started in the last minutes and ended completed. */
export function endedCalls(tenant: string, prefix: string, count: number) {
  const now = Date.now();
  return Array.from({ length: count }, (_, i) => {
    const id = unique(`call-${i}`);
    const started = new Date(now - (count - i) * 60_000);
    const ended = new Date(started.getTime() + 30_000);
    return [
      {
        type: "call_started",
        user_id: tenant,
        call_id: id,
        at: started.toISOString(),
        call: { phoneNumber: `${prefix}${String(i).padStart(2, "0")}`, direction: "inbound", agentConfigId: "agent-e2e" },
      },
      { type: "call_ended", user_id: tenant, call_id: id, at: ended.toISOString(), outcome: "completed", duration: 30 },
    ];
  }).flat();
}
