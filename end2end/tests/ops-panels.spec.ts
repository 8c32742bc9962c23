// The ops board's panels as the server renders them, with or without JavaScript: every
// tenant's live calls with their heartbeat health, and a dead-letter queue that opens by itself
// once writes failed. Each flow runs on a server of its own (fixtures.ts `ownServer`).
import { TENANT_A, TENANT_A_STATE, TENANT_B } from "../credentials";
import { expect, ingest, ownServer, screenshot, test, unique } from "../fixtures";

test("the admin sees every tenant's live calls with their health", async ({ page, request }) => {
  await ownServer([], async (server) => {
    const [a, b] = [unique("live-a"), unique("live-b")];
    const at = new Date().toISOString();
    await ingest(
      request,
      [
        { type: "call_started", user_id: TENANT_A, call_id: a, at, call: { phoneNumber: "+15550100001", agentConfigId: "agent-a" } },
        { type: "call_started", user_id: TENANT_B, call_id: b, at, call: { phoneNumber: "+15550100002", agentConfigId: "agent-b" } },
      ],
      server.url,
    );
    await page.goto(`${server.url}/dashboard/realtime?panels=calls`);
    const panel = page.locator('details[data-panel="calls"]');
    await expect(panel).toHaveAttribute("open", "");
    await expect(panel.getByTestId("calls-summary")).toHaveText("2 live · 0 warning · 0 stale");
    for (const [id, name, phone] of [
      [a, "Tenant A (e2e)", "+15550100001"],
      [b, "Tenant B (e2e)", "+15550100002"],
    ]) {
      const row = panel.locator(`tr[data-call-id="${id}"]`);
      await expect(row).toContainText(name);
      await expect(row).toContainText(phone);
      // Health in words (and an icon), never by colour alone.
      await expect(row.locator('[data-label="Health"]')).toHaveText("● healthy");
      await expect(row.getByTestId("heartbeat-age")).toHaveText(/^\d+ s ago$/);
    }
    await screenshot(page, "ops-live-calls");
  });
});

test("failed writes open the dead-letter queue by itself", async ({ page, request }) => {
  // Writes fail on the first server; once they are final failures, the same data is served
  // again without the fault, as after a repaired database.
  const dir = await ownServer(["--inject-write-failures=100", "--dlq-max-retries=1"], async (failing) => {
    const at = new Date().toISOString();
    const calls = [unique("lost-a"), unique("lost-b")];
    await ingest(
      request,
      calls.map((call_id, i) => ({ type: "call_started", user_id: i ? TENANT_B : TENANT_A, call_id, at })),
      failing.url,
      202,
    );
    await expect
      .poll(async () => (await (await request.get(`${failing.url}/api/admin/dlq`)).json()).final_failures, { timeout: 20_000 })
      .toBe(2);
    return failing.dataDir;
  });
  await ownServer([], async (server) => {
    await page.goto(`${server.url}/dashboard/realtime`);
    const panel = page.locator('details[data-panel="dlq"]');
    await expect(panel).toHaveAttribute("open", "");
    await expect(panel.getByTestId("dlq-summary")).toHaveText("▲ 2 waiting · 2 failed for good");
    const items = panel.locator(".dlq-item");
    await expect(items).toHaveCount(2);
    await expect(items.first().getByTestId("final-failure")).toHaveText("■ Final failure");
    await expect(items.first().getByTestId("retries")).toHaveText("retries 1/1");
    // Whose fault it was, in words: injected failures stand for the database refusing events.
    await expect(items.first().getByTestId("waits-on")).toHaveText("✕ Refused by the database");
    await expect(items.first().getByTestId("waits-on")).toHaveAttribute("data-failure", "refusal");
    await expect(items.first()).toContainText("injected write failure");
    await expect(items.first()).toContainText("Tenant A (e2e)");
    await expect(panel.getByTestId("retry-all")).toHaveText("Retry all (2)");
    await screenshot(page, "ops-dlq-open");
  }, dir);
});

test("a tenant sees none of the panels and every admin action is refused", async ({ browser }) => {
  const context = await browser.newContext({ storageState: TENANT_A_STATE });
  const page = await context.newPage();
  await page.goto("/dashboard/realtime?panels=calls,dlq,runs,audit");
  await expect(page.locator('[data-panel="active-calls"]')).toBeVisible();
  await expect(page.getByTestId("ops-panels")).toHaveCount(0);
  await expect(page.locator("details.ops-panel")).toHaveCount(0);
  for (const path of ["/rpc/dlq_retry_all", "/rpc/dlq_retry", "/rpc/dlq_discard", "/rpc/reconcile_now"]) {
    const refused = await context.request.post(path, { form: { id: "1" } });
    expect(refused.status(), path).toBe(403);
    const body = await refused.json();
    expect(body.code, path).toBe("forbidden");
    expect(body.error, path).toContain("admin");
  }
  for (const path of ["/rpc/dlq", "/rpc/live_calls", "/rpc/reconciliation", "/rpc/audit_log"]) {
    expect((await context.request.get(path)).status(), path).toBe(403);
  }
  await context.close();
});
