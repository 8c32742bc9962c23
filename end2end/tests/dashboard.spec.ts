// The page frame as the server renders it. Runs in every project, including with JavaScript off.
import { test, expect } from "../fixtures";

test("the dashboard frame is rendered by the server", async ({ page }) => {
  const response = await page.goto("/dashboard/realtime");
  expect(response?.status()).toBe(200);
  await expect(page).toHaveTitle("Realtime calls · Switchboard");
  await expect(page.getByRole("heading", { level: 1, name: "Switchboard" })).toBeVisible();
  await expect(page.getByTestId("connection-badge")).toBeVisible();

  // The call metrics (an admin also has the ops cards above them).
  const cards = page.getByRole("region", { name: "Call metrics" }).locator("[data-metric]");
  await expect(cards).toHaveCount(5);
  for (const label of ["Total calls", "Active now", "Completed", "Avg duration", "Success rate"]) {
    await expect(page.getByRole("heading", { level: 3, name: label })).toBeVisible();
  }
  for (const panel of ["Active calls", "Calls per hour", "Outcomes", "Agent performance", "Recent calls"]) {
    await expect(page.getByRole("region", { name: panel })).toBeVisible();
  }
  const periods = page.getByRole("navigation", { name: "Period" }).getByRole("link");
  await expect(periods).toHaveText(["1 h", "6 h", "24 h", "7 d"]);
  await expect(page.getByRole("link", { name: "24 h" })).toHaveAttribute("aria-current", "page");
});

test("/ redirects to the dashboard", async ({ page }) => {
  await page.goto("/");
  await expect(page).toHaveURL(/\/dashboard\/realtime$/);
});

test("unknown paths show the 404 page", async ({ page }) => {
  const response = await page.goto("/no/such/page");
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
  await page.getByRole("link", { name: "Open the realtime dashboard" }).click();
  await expect(page).toHaveURL(/\/dashboard\/realtime$/);
});

test("no sideways scroll, and touch targets are at least 44 px", async ({ page }) => {
  await page.goto("/dashboard/realtime");
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  expect(scrollWidth).toBeLessThanOrEqual(innerWidth);
  for (const button of await page.getByRole("navigation", { name: "Period" }).getByRole("link").all()) {
    const box = await button.boundingBox();
    expect(box?.height).toBeGreaterThanOrEqual(44);
    expect(box?.width).toBeGreaterThanOrEqual(44);
  }
});

test("the header stays one line on a phone whatever the badge says", async ({ page }) => {
  // A header that wraps while the badge says "Connecting…" and unwraps when it turns "Live"
  // moves the whole page under the user's finger.
  await page.setViewportSize({ width: 375, height: 667 });
  await page.goto("/dashboard/realtime");
  const header = page.locator("header.topbar");
  const button = page.getByRole("button", { name: "Log out", exact: true });
  const headerBox = await header.boundingBox();
  const buttonBox = await button.boundingBox();
  // One row: the header is no taller than its tallest item plus its padding.
  expect(headerBox!.height).toBeLessThanOrEqual(buttonBox!.height + 2 * 10 + 2);
  expect(buttonBox!.width).toBeGreaterThanOrEqual(44);
  expect(buttonBox!.height).toBeGreaterThanOrEqual(44);
});
