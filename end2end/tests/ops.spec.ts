// The admin's ops board, with and without JavaScript and on a phone: a tenant picker that
// scopes every figure, and four ops cards (live calls, dead-letter queue, last reconciliation,
// system health) that say what they mean in words. A tenant sees none of it.
import { TENANT_A, TENANT_A_STATE, TENANT_B } from "../credentials";
import { endedCalls, expect, ingest, screenshot, test, uniquePhonePrefix } from "../fixtures";

const opsCard = (page: import("@playwright/test").Page, id: string) => page.locator(`[data-metric="ops-${id}"]`);

test("the admin sees the ops cards and picks a tenant for every figure", async ({ page, request }) => {
  const ours = uniquePhonePrefix();
  const theirs = uniquePhonePrefix();
  await ingest(request, [...endedCalls(TENANT_A, ours, 1), ...endedCalls(TENANT_B, theirs, 1)]);

  await page.goto("/dashboard/realtime?period=24h");
  const cards = page.getByTestId("ops-cards");
  await expect(cards.locator(".ops-card")).toHaveCount(4);
  await expect(opsCard(page, "active").locator(".metric-card__value")).toHaveText(/^\d+$/);
  await expect(opsCard(page, "active")).toContainText(/\d+ warning · \d+ stale/);
  await expect(opsCard(page, "dlq").locator(".metric-card__value")).toHaveText(/^\d+$/);
  await expect(opsCard(page, "health").locator(".metric-card__value")).toHaveText(/^[●▲■] (Healthy|Degraded|Down)$/);
  // Every tenant's calls, then one tenant's, chosen by business name.
  const recent = page.getByTestId("recent-calls");
  await page.goto(`/dashboard/realtime?period=24h&phone=${encodeURIComponent(ours.slice(0, 5))}`);
  await screenshot(page, "admin-ops-board");

  const picker = page.getByTestId("tenant-picker");
  const tenant = picker.getByLabel("Tenant");
  await expect(tenant.locator("option")).toContainText(["All tenants"]);
  await tenant.selectOption(TENANT_A);
  await picker.getByRole("button", { name: "Show" }).click();
  await expect(page).toHaveURL(new RegExp(`user_id=${TENANT_A}`));
  await expect(page).toHaveURL(/period=24h/);
  await expect(tenant).toHaveValue(TENANT_A);
  await page.goto(`/dashboard/realtime?user_id=${TENANT_A}&phone=${encodeURIComponent(theirs)}`);
  await expect(page.getByText("No calls match these filters.")).toBeVisible();
  await page.goto(`/dashboard/realtime?user_id=${TENANT_A}&phone=${encodeURIComponent(ours)}`);
  await expect(recent.locator("tbody tr")).toHaveCount(1);
  // The ops cards stay: they are about the system, not the tenant.
  await expect(page.getByTestId("ops-cards")).toBeVisible();
});

test.describe("as a tenant", () => {
  test.use({ storageState: TENANT_A_STATE });

  test("a tenant sees no ops board and no tenant picker", async ({ page }) => {
    await page.goto("/dashboard/realtime");
    await expect(page.locator('[data-metric="total"]')).toBeVisible();
    await expect(page.getByTestId("ops-cards")).toHaveCount(0);
    await expect(page.getByTestId("tenant-picker")).toHaveCount(0);
    await expect(page.locator("body")).not.toContainText(TENANT_B);
  });
});
