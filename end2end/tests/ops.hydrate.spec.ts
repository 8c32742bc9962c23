// The ops cards once hydrated follow the live link's ops room: a call starting anywhere is
// counted without a reload.
import { TENANT_A_STATE, TENANT_B } from "../credentials";
import { expect, ingest, test, unique } from "../fixtures";

test("the live-calls card counts a call that starts, without a reload", async ({ page, request }) => {
  await page.goto("/dashboard/realtime");
  await expect(page.getByTestId("connection-badge")).toHaveAttribute("data-state", "live");
  const value = page.locator('[data-metric="ops-active"] .metric-card__value');
  await expect(value).toHaveText(/^\d+$/);
  await page.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));
  const call = unique("ops");
  const at = new Date().toISOString();
  await ingest(request, { type: "call_started", user_id: TENANT_B, call_id: call, at, call: { phoneNumber: "+15550001111" } });
  // Other tests start and end calls meanwhile: the card must agree with the admin API at a
  // moment when our call is one of them (the first HTML did not count it).
  await expect
    .poll(async () => {
      const live = await (await request.get("/api/admin/active-calls")).json();
      const ids = live.active_calls.map((c: { id: string }) => c.id);
      return ids.includes(call) && Number(await value.textContent()) === live.count;
    })
    .toBe(true);
  await ingest(request, { type: "call_ended", user_id: TENANT_B, call_id: call, at, outcome: "completed", duration: 1 });
  expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);
});

test("admins load the bundle with the ops board; tenants one without its code", async ({ browser, page, request, consoleErrors }) => {
  const bundleOf = async (p: import("@playwright/test").Page) => {
    const wasm = p.waitForRequest(/\/pkg\/[^/]+_bg\.wasm$/);
    await p.goto("/dashboard/realtime");
    await expect(p.locator("main")).toHaveAttribute("data-hydrated", "true");
    return new URL((await wasm).url()).pathname;
  };
  expect(await bundleOf(page)).toBe("/pkg/frontend-admin_bg.wasm");
  await expect(page.getByTestId("ops-cards")).toBeVisible();

  const tenant = await browser.newContext({ storageState: TENANT_A_STATE });
  const tenantPage = await tenant.newPage();
  const tenantErrors: string[] = [];
  tenantPage.on("pageerror", (error) => tenantErrors.push(error.message));
  expect(await bundleOf(tenantPage)).toBe("/pkg/frontend_bg.wasm");
  await expect(tenantPage.getByTestId("connection-badge")).toHaveAttribute("data-state", "live");
  await tenant.close();
  expect(tenantErrors).toEqual([]);
  expect(consoleErrors).toEqual([]);

  // The board's words are in the admins' bundle only; the customer view's are in both.
  const text = async (path: string) => (await (await request.get(path)).body()).toString("latin1");
  const [admins, customers] = await Promise.all([text("/pkg/frontend-admin_bg.wasm"), text("/pkg/frontend_bg.wasm")]);
  expect(admins).toContain("messages now?");
  expect(customers).not.toContain("messages now?");
  for (const bundle of [admins, customers]) expect(bundle).toContain("Export CSV");
});
