// What a customer does on the dashboard that works with and without JavaScript and on a phone:
// reading their own calls from the first HTML, filtering and paging recent calls through the
// address, and exporting what the filters select.
import { TENANT_A, TENANT_A_STATE, TENANT_B } from "../credentials";
import { endedCalls, expect, ingest, screenshot, test, uniquePhonePrefix } from "../fixtures";

test.use({ storageState: TENANT_A_STATE });

/** `count` ended calls for `tenant`, a minute apart, with phone numbers `prefix` + 2 digits. */
test("the first HTML carries the tenant's own calls and figures, and no one else's", async ({ page, request }) => {
  const ours = uniquePhonePrefix();
  const theirs = uniquePhonePrefix();
  await ingest(request, [...endedCalls(TENANT_B, theirs, 1), ...endedCalls(TENANT_A, ours, 1)]);

  await page.goto(`/dashboard/realtime?phone=${encodeURIComponent(ours)}`);
  const recent = page.getByTestId("recent-calls");
  await expect(recent.locator("tbody tr")).toHaveCount(1);
  await expect(recent).toContainText(`${ours}00`);
  // The cards hold numbers, not placeholders.
  await expect(page.locator('[data-metric="total"] .metric-card__value')).toHaveText(/^\d+$/);
  await expect(page.getByTestId("calls-per-hour")).toBeVisible();
  await expect(page.getByTestId("agents")).toContainText("agent-e2e");

  // Tenant B's call is not on tenant A's page, even when asked for by its number.
  await page.goto(`/dashboard/realtime?phone=${encodeURIComponent(theirs)}`);
  await expect(page.getByText("No calls match these filters.")).toBeVisible();
  await expect(page.locator("body")).not.toContainText(TENANT_B);
  await screenshot(page, "tenant-filtered-empty");
});

test("recent calls filter through the form, page through links, and keep the view in the address", async ({ page, request }) => {
  const prefix = uniquePhonePrefix();
  await ingest(request, endedCalls(TENANT_A, prefix, 12));

  await page.goto("/dashboard/realtime?period=6h");
  const filters = page.getByRole("group", { name: "Filter recent calls" });
  await filters.getByLabel("Phone").fill(prefix);
  await filters.getByLabel("Status").selectOption("ended");
  await filters.getByLabel("Outcome").selectOption("completed");
  await filters.getByRole("button", { name: "Apply" }).click();

  await expect(page).toHaveURL(/status=ended/);
  await expect(page).toHaveURL(/outcome=completed/);
  await expect(page).toHaveURL(/period=6h/);
  const rows = page.getByTestId("recent-calls").locator("tbody tr");
  await expect(rows).toHaveCount(10);
  // Newest first: the last call posted leads.
  await expect(rows.first()).toContainText(`${prefix}11`);
  await expect(page.getByRole("link", { name: "6 h" })).toHaveAttribute("aria-current", "page");
  await screenshot(page, "recent-calls-filtered");

  await page.getByRole("link", { name: "Older →" }).click();
  await expect(page).toHaveURL(/cursor=/);
  await expect(rows).toHaveCount(2);
  await expect(rows.first()).toContainText(`${prefix}01`);
  await expect(page.getByRole("link", { name: "Older →" })).toHaveCount(0);

  // The view survives a reload, filters included.
  await page.reload();
  await expect(rows).toHaveCount(2);
  await expect(page.getByRole("group", { name: "Filter recent calls" }).getByLabel("Phone")).toHaveValue(prefix);

  await page.getByRole("link", { name: "← Newest" }).click();
  await expect(rows).toHaveCount(10);
  await page.getByRole("link", { name: "Clear" }).click();
  await expect(page).not.toHaveURL(/phone=/);
});

test("the CSV export holds exactly what the filters select", async ({ page, request }) => {
  const prefix = uniquePhonePrefix();
  await ingest(request, endedCalls(TENANT_A, prefix, 12));
  await page.goto(`/dashboard/realtime?phone=${encodeURIComponent(prefix)}`);
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-csv").click()]);
  expect(download.suggestedFilename()).toBe(`calls-${TENANT_A}.csv`);
  const csv = await (await import("node:fs/promises")).readFile(await download.path(), "utf8");
  const lines = csv.trim().split("\n");
  expect(lines[0]).toContain("phoneNumber");
  // Every page, not only the ten shown.
  expect(lines).toHaveLength(1 + 12);
  for (const line of lines.slice(1)) expect(line).toContain(prefix);
});

test("the period selector is links: it works with and without JavaScript", async ({ page }) => {
  await page.goto("/dashboard/realtime");
  const periods = page.getByRole("navigation", { name: "Period" }).getByRole("link");
  await expect(periods).toHaveText(["1 h", "6 h", "24 h", "7 d"]);
  await expect(page.getByRole("link", { name: "24 h" })).toHaveAttribute("aria-current", "page");
  await page.getByRole("link", { name: "7 d" }).click();
  await expect(page).toHaveURL(/period=7d/);
  await expect(page.getByTestId("period-note")).toContainText("Showing the last 7 days");
  await expect(page.getByRole("link", { name: "7 d" })).toHaveAttribute("aria-current", "page");
});

test("on a phone nothing scrolls sideways and every control is a 44 px target", async ({ page, request }) => {
  await ingest(request, endedCalls(TENANT_A, uniquePhonePrefix(), 3));
  await page.setViewportSize({ width: 375, height: 667 });
  await page.goto("/dashboard/realtime");
  await expect(page.getByTestId("recent-calls")).toBeVisible();
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  expect(scrollWidth).toBeLessThanOrEqual(innerWidth);
  const controls = page.locator(
    ".period-selector a, .filters select, .filters input:not([type=hidden]), .filters button, .filters a, .pager a, [data-testid=export-csv], .chart__data summary",
  );
  expect(await controls.count()).toBeGreaterThan(8);
  for (const control of await controls.all()) {
    const box = await control.boundingBox();
    expect(box?.height, await control.evaluate((e) => e.outerHTML.slice(0, 80))).toBeGreaterThanOrEqual(44);
  }
  await screenshot(page, "phone");
});
