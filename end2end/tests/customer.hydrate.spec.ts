// The customer's live dashboard once hydrated: a call posted through the ingest API appears
// without a reload, its duration ticks, and when it ends it moves to recent calls and the cards
// count it. Another tenant's calls never arrive.
import { TENANT_A, TENANT_A_STATE, TENANT_B } from "../credentials";
import { expect, ingest, screenshot, test, unique, uniquePhonePrefix } from "../fixtures";

test.use({ storageState: TENANT_A_STATE });

const card = (page: import("@playwright/test").Page, metric: string) =>
  page.locator(`[data-metric="${metric}"] .metric-card__value`);

test("a call appears live, ticks, ends and moves to recent calls with the cards changed", async ({ page, request, consoleErrors }) => {
  await page.goto("/dashboard/realtime");
  await expect(page.getByTestId("connection-badge")).toHaveAttribute("data-state", "live");
  // A marker that a reload would wipe.
  await page.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));
  const before = {
    total: Number(await card(page, "total").textContent()),
    completed: Number(await card(page, "completed").textContent()),
  };

  const id = unique("live");
  const phone = `${uniquePhonePrefix()}42`;
  const started = new Date();
  await ingest(request, {
    type: "call_started",
    user_id: TENANT_A,
    call_id: id,
    at: started.toISOString(),
    call: { phoneNumber: phone, direction: "outbound", agentConfigId: "agent-live" },
  });
  const activeRow = page.getByTestId("active-calls").locator(`[data-call-id="${id}"]`);
  await expect(activeRow).toBeVisible();
  await expect(activeRow).toContainText(phone);
  // Newest calls lead the recent list too, still active.
  const recentRow = page.getByTestId("recent-calls").locator(`[data-call-id="${id}"]`);
  await expect(recentRow).toHaveAttribute("data-status", "active");
  await expect(page.getByTestId("last-update")).toHaveText(/updated \d{2}:\d{2}:\d{2}/);
  await screenshot(page, "live-call-active");

  // The duration counts up in the browser, with no message from the server.
  const duration = activeRow.getByTestId("duration");
  const first = await duration.textContent();
  await expect(duration).not.toHaveText(first ?? "", { timeout: 5_000 });

  await ingest(request, {
    type: "call_ended",
    user_id: TENANT_A,
    call_id: id,
    at: new Date(started.getTime() + 7_000).toISOString(),
    outcome: "completed",
    duration: 7,
  });
  await expect(activeRow).toHaveCount(0);
  await expect(recentRow).toHaveAttribute("data-status", "ended");
  await expect(recentRow).toContainText("completed");
  await expect(recentRow).toContainText("7 s");
  // Other tests post calls at the same time: at least ours is counted.
  await expect.poll(async () => Number(await card(page, "total").textContent())).toBeGreaterThanOrEqual(before.total + 1);
  await expect.poll(async () => Number(await card(page, "completed").textContent())).toBeGreaterThanOrEqual(before.completed + 1);
  await expect(page.getByTestId("outcomes").locator('tr[data-outcome="completed"]')).toBeVisible();
  expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);
  await screenshot(page, "live-call-ended");
  expect(consoleErrors).toEqual([]);
});

test("another tenant's live calls never reach the page", async ({ page, request }) => {
  await page.goto("/dashboard/realtime");
  await expect(page.getByTestId("connection-badge")).toHaveAttribute("data-state", "live");
  const theirs = unique("other");
  const ours = unique("ours");
  const at = new Date().toISOString();
  // Theirs first, then ours: once ours is shown, theirs had every chance to arrive.
  await ingest(request, { type: "call_started", user_id: TENANT_B, call_id: theirs, at, call: { phoneNumber: "+15550000001" } });
  await ingest(request, { type: "call_started", user_id: TENANT_A, call_id: ours, at, call: { phoneNumber: "+15550000002" } });
  await expect(page.getByTestId("active-calls").locator(`[data-call-id="${ours}"]`)).toBeVisible();
  await expect(page.locator(`[data-call-id="${theirs}"]`)).toHaveCount(0);
  await expect(page.locator("body")).not.toContainText(TENANT_B);
  await ingest(request, [
    { type: "call_ended", user_id: TENANT_B, call_id: theirs, at, outcome: "completed", duration: 1 },
    { type: "call_ended", user_id: TENANT_A, call_id: ours, at, outcome: "completed", duration: 1 },
  ]);
});

test("a filtered list takes only the live calls that match it", async ({ page, request }) => {
  const prefix = uniquePhonePrefix();
  await page.goto(`/dashboard/realtime?phone=${encodeURIComponent(prefix)}`);
  await expect(page.getByTestId("connection-badge")).toHaveAttribute("data-state", "live");
  const matching = unique("match");
  const other = unique("nomatch");
  const at = new Date().toISOString();
  await ingest(request, [
    { type: "call_started", user_id: TENANT_A, call_id: other, at, call: { phoneNumber: "+15559999999" } },
    { type: "call_started", user_id: TENANT_A, call_id: matching, at, call: { phoneNumber: `${prefix}7` } },
  ]);
  const recent = page.getByTestId("recent-calls");
  await expect(recent.locator(`[data-call-id="${matching}"]`)).toBeVisible();
  await expect(recent.locator(`[data-call-id="${other}"]`)).toHaveCount(0);
  await ingest(request, [
    { type: "call_ended", user_id: TENANT_A, call_id: other, at, outcome: "failed", duration: 0 },
    { type: "call_ended", user_id: TENANT_A, call_id: matching, at, outcome: "failed", duration: 0 },
  ]);
});

test("what someone types before the page is interactive stays in the filters", async ({ page }) => {
  // The bundle is held back until the fields are filled: on a slow link people type first.
  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  await page.route("**/pkg/frontend_bg.wasm", async (route) => {
    await held;
    await route.continue();
  });
  await page.goto("/dashboard/realtime?period=6h");
  const filters = page.getByRole("group", { name: "Filter recent calls" });
  await filters.getByLabel("Phone").fill("+1555");
  await filters.getByLabel("Started from").fill("2026-01-02");
  await expect(page.locator("main")).toHaveAttribute("data-hydrated", "false");
  release();
  await expect(page.locator("main")).toHaveAttribute("data-hydrated", "true");
  await expect(filters.getByLabel("Phone")).toHaveValue("+1555");
  await expect(filters.getByLabel("Started from")).toHaveValue("2026-01-02");

  // Once hydrated, the fields follow the address: Clear empties them without a page load.
  await filters.getByRole("button", { name: "Apply" }).click();
  await expect(page).toHaveURL(/phone=%2B1555/);
  await page.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));
  await filters.getByRole("link", { name: "Clear" }).click();
  await expect(page).not.toHaveURL(/phone=/);
  await expect(filters.getByLabel("Phone")).toHaveValue("");
  await expect(filters.getByLabel("Started from")).toHaveValue("");
  expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);
});
