// The ops board's panels once the page is live: health turning as heartbeats stop, DLQ actions
// (confirmed, then followed), "Run now", the audit log filling as things are done, and the
// panels' open state in the address, by keyboard. Each flow runs on a server of its own
// (fixtures.ts `ownServer`).
import type { Page } from "@playwright/test";
import { OPERATOR_STATE, TENANT_A, TENANT_B } from "../credentials";
import { expect, ingest, ownServer, screenshot, test, unique } from "../fixtures";

async function openLive(page: Page, url: string) {
  await page.goto(url);
  await expect(page.getByTestId("connection-badge")).toHaveAttribute("data-state", "live");
}

test("a call whose heartbeats stop turns warning, then stale, and is called out first", async ({ page, request }) => {
  // Warning after 2 s of silence, stale after 12 s: a window wide enough to be seen on a busy
  // machine, where a page load alone can take seconds.
  await ownServer(["--heartbeat-warning-secs=2", "--heartbeat-stale-secs=12"], async (server) => {
    const quiet = unique("quiet");
    const beating = unique("beating");
    await openLive(page, `${server.url}/dashboard/realtime?panels=calls`);
    // Stamped after the page is live, so the silence starts now and not during the page load.
    const at = new Date().toISOString();
    await ingest(
      request,
      [
        { type: "call_started", user_id: TENANT_B, call_id: beating, at, call: { phoneNumber: "+15550200002" } },
        { type: "call_started", user_id: TENANT_A, call_id: quiet, at, call: { phoneNumber: "+15550200001" } },
      ],
      server.url,
    );
    const panel = page.locator('details[data-panel="calls"]');
    const health = (id: string) => panel.locator(`tr[data-call-id="${id}"] [data-label="Health"]`);
    // It arrives healthy, but may already be past that by the time it is looked at: 2 s.
    await expect(health(quiet)).toHaveText(/^(● healthy|▲ warning)$/);
    // One call keeps beating; the other falls silent.
    const beat = setInterval(() => {
      void ingest(request, { type: "heartbeat", user_id: TENANT_B, call_id: beating, at: new Date().toISOString() }, server.url).catch(() => {});
    }, 500);
    try {
      await expect(health(quiet)).toHaveText("▲ warning", { timeout: 10_000 });
      await expect(health(quiet)).toHaveText("■ stale", { timeout: 15_000 });
      await expect(panel.getByTestId("stale-callout")).toHaveText("■ 1 call stopped sending heartbeats: stale");
      await expect(panel.locator("tbody tr").first()).toHaveAttribute("data-call-id", quiet);
      await expect(health(beating)).toHaveText("● healthy");
      await expect(panel.getByTestId("calls-summary")).toHaveText("2 live · 0 warning · 1 stale");
      // The silence keeps counting, in the browser.
      const age = panel.locator(`tr[data-call-id="${quiet}"]`).getByTestId("heartbeat-age");
      const first = Number((await age.textContent())?.match(/\d+/)?.[0]);
      await expect.poll(async () => Number((await age.textContent())?.match(/\d+/)?.[0])).toBeGreaterThan(first);
      await screenshot(page, "ops-stale-call");
    } finally {
      clearInterval(beat);
    }
  });
});

test("failed writes are retried from the DLQ panel, each action confirmed and recorded", async ({ page, request }) => {
  const calls = [unique("lost-a"), unique("lost-b"), unique("lost-c")];
  const dir = await ownServer(["--inject-write-failures=100", "--dlq-max-retries=1"], async (failing) => {
    const at = new Date().toISOString();
    await ingest(request, calls.map((call_id) => ({ type: "call_started", user_id: TENANT_A, call_id, at })), failing.url, 202);
    await expect
      .poll(async () => (await (await request.get(`${failing.url}/api/admin/dlq`)).json()).final_failures, { timeout: 20_000 })
      .toBe(3);
    return failing.dataDir;
  });
  await ownServer([], async (server) => {
    await openLive(page, `${server.url}/dashboard/realtime`);
    const panel = page.locator('details[data-panel="dlq"]');
    await expect(panel).toHaveAttribute("open", "");
    const items = panel.locator(".dlq-item");
    await expect(items).toHaveCount(3);

    // Discard asks first; "Cancel" leaves everything as it was.
    await items.first().getByRole("button", { name: "Discard" }).click();
    const confirm = panel.getByTestId("confirm");
    await expect(confirm).toContainText("Its event will never be written.");
    await expect(confirm.getByRole("button", { name: "Yes, discard" })).toBeFocused();
    await confirm.getByRole("button", { name: "Cancel" }).click();
    await expect(confirm).toHaveCount(0);
    await expect(items).toHaveCount(3);

    // Retry one: confirmed, then said, and the list follows.
    await items.first().getByRole("button", { name: "Retry" }).click();
    await confirm.getByRole("button", { name: "Yes, retry" }).click();
    await expect(panel.getByTestId("action-result")).toContainText("is being retried");
    await expect(items).toHaveCount(2);
    // Retry all: the queue empties and every call is written.
    await panel.getByTestId("retry-all").click();
    await expect(confirm).toContainText("Retry all 2 messages now?");
    await confirm.getByRole("button", { name: "Yes, retry all" }).click();
    await expect(panel.getByTestId("action-result")).toContainText("2 message(s) are being retried");
    await expect(panel).toContainText("Nothing waiting", { timeout: 10_000 });
    await expect(panel.getByTestId("dlq-summary")).toHaveText("● empty");
    const live = await (await request.get(`${server.url}/api/admin/active-calls`)).json();
    expect(live.active_calls.map((call: { id: string }) => call.id).sort()).toEqual([...calls].sort());

    // Each action is in the audit log, newest first, without a reload.
    await page.locator('details[data-panel="audit"] > summary').click();
    const audit = page.locator('details[data-panel="audit"] tbody tr');
    await expect(audit.first()).toHaveAttribute("data-action", "dlq.retry_all");
    await expect(audit.nth(1)).toHaveAttribute("data-action", "dlq.retry");
    await screenshot(page, "ops-dlq-retried");
  }, dir);
});

test("\"Run now\" asks, shows the run and follows it to its result", async ({ page }) => {
  await ownServer(["--reconcile-interval-secs=0"], async (server) => {
    await openLive(page, `${server.url}/dashboard/realtime?panels=runs`);
    const panel = page.locator('details[data-panel="runs"]');
    await expect(panel).toContainText("No run yet.");
    await expect(panel).toContainText("the schedule is off");
    await panel.getByTestId("run-now").click();
    await panel.getByTestId("confirm").getByRole("button", { name: "Yes, run now" }).click();
    const followed = panel.getByTestId("followed-run");
    await expect(followed).toHaveText(/^Run [0-9a-f]{8} succeeded: nothing to repair$/, { timeout: 10_000 });
    const runId = await followed.getAttribute("data-run-id");
    const row = panel.locator(`tr[data-run-id="${runId}"]`);
    await expect(row).toHaveAttribute("data-status", "succeeded");
    await expect(row.locator('[data-label="Trigger"]')).toHaveText("admin");
    await expect(row.locator('[data-label="Status"]')).toHaveText("● succeeded");
    await expect(page.locator('[data-metric="ops-reconciliation"]')).toContainText("nothing to repair");
    await screenshot(page, "ops-run-now");
  });
});

test("panels open and close by keyboard, and the address remembers which", async ({ page }) => {
  await ownServer([], async (server) => {
    await openLive(page, `${server.url}/dashboard/realtime`);
    const audit = page.locator('details[data-panel="audit"]');
    await expect(audit).not.toHaveAttribute("open");
    const summary = audit.locator("> summary");
    await summary.focus();
    await page.keyboard.press("Enter");
    await expect(audit).toHaveAttribute("open", "");
    await expect(page).toHaveURL(/[?&]panels=audit(&|$)/);
    await page.keyboard.press("Space");
    await expect(audit).not.toHaveAttribute("open");
    await expect(page).toHaveURL(/[?&]panels=none(&|$)/);
    // Shared or reloaded, the address opens the same panels.
    await page.goto(`${server.url}/dashboard/realtime?panels=audit,runs`);
    await expect(audit).toHaveAttribute("open", "");
    await expect(page.locator('details[data-panel="runs"]')).toHaveAttribute("open", "");
    await expect(page.locator('details[data-panel="calls"]')).not.toHaveAttribute("open");
  });
});

test.describe("an operator", () => {
  test.use({ storageState: OPERATOR_STATE });

  test("retries the DLQ from the panel but cannot open user management", async ({ page, request }) => {
    const call = unique("lost-op");
    const dir = await ownServer(["--inject-write-failures=100", "--dlq-max-retries=1"], async (failing) => {
      const at = new Date().toISOString();
      await ingest(request, [{ type: "call_started", user_id: TENANT_A, call_id: call, at }], failing.url, 202);
      await expect
        .poll(async () => (await (await request.get(`${failing.url}/api/admin/dlq`)).json()).final_failures, { timeout: 20_000 })
        .toBe(1);
      return failing.dataDir;
    });
    await ownServer([], async (server) => {
      await openLive(page, `${server.url}/dashboard/realtime`);
      const panel = page.locator('details[data-panel="dlq"]');
      await expect(panel.locator(".dlq-item")).toHaveCount(1);
      await panel.locator(".dlq-item").first().getByRole("button", { name: "Retry" }).click();
      await panel.getByTestId("confirm").getByRole("button", { name: "Yes, retry" }).click();
      await expect(panel.getByTestId("action-result")).toContainText("is being retried");
      await expect(panel).toContainText("Nothing waiting", { timeout: 10_000 });
      await expect(page.locator('details[data-panel="audit"]')).toHaveCount(0);
      await expect(page.locator('a[href="/users"]')).toHaveCount(0);
      await page.goto(`${server.url}/users`);
      await expect(page.getByRole("alert")).toContainText("owner and admins");
      await screenshot(page, "operator-no-users");
    }, dir);
  });
});
