// The charts once hydrated: ECharts (our own build, from our own origin) draws the same figures
// as the server's CSS charts and tables, follows live calls without a reload, and resizes with
// the window.
import { TENANT_A, TENANT_A_STATE } from "../credentials";
import type { Locator } from "@playwright/test";
import { endedCalls, expect, ingest, screenshot, test, uniquePhonePrefix } from "../fixtures";

test.use({ storageState: TENANT_A_STATE });

/** Polls until a canvas shows the total its server-rendered figure carries (both can move: other
 * tests post calls for the same tenant at the same time). */
async function agree(canvas: Locator, figure: Locator) {
  await expect
    .poll(async () => [await canvas.getAttribute("data-drawn"), await figure.getAttribute("data-total")])
    .toEqual([expect.stringMatching(/^\d+$/), expect.stringMatching(/^\d+$/)]);
  await expect
    .poll(async () => (await canvas.getAttribute("data-drawn")) === (await figure.getAttribute("data-total")))
    .toBe(true);
}

test("the charts are drawn by ECharts from our origin and follow live calls", async ({ page, request, baseURL, consoleErrors }) => {
  await ingest(request, endedCalls(TENANT_A, uniquePhonePrefix(), 2));
  const foreign: string[] = [];
  page.on("request", (r) => {
    if (!r.url().startsWith(`${baseURL}/`) && !r.url().startsWith("data:")) foreign.push(r.url());
  });
  const echarts = page.waitForResponse(`${baseURL}/pkg/echarts.js`);
  await page.goto("/dashboard/realtime");
  expect((await echarts).ok()).toBe(true);
  await expect(page.getByTestId("connection-badge")).toHaveAttribute("data-state", "live");

  const hourly = page.getByTestId("calls-per-hour-canvas");
  const outcomes = page.getByTestId("outcomes-canvas");
  await expect(hourly.locator("canvas")).toBeVisible();
  await expect(outcomes.locator("canvas")).toBeVisible();
  // The canvases show what the server's figures say; the CSS columns step aside.
  const figure = page.getByTestId("calls-per-hour");
  const table = page.getByTestId("outcomes");
  await agree(hourly, figure);
  await agree(outcomes, table);
  await expect(page.locator(".columns")).toBeHidden();
  const before = {
    hourly: Number(await hourly.getAttribute("data-drawn")),
    outcomes: Number(await outcomes.getAttribute("data-drawn")),
  };
  await screenshot(page, "charts-drawn");

  // Calls ending now: both charts take them over the live link, drawn on the same canvas.
  const canvas = await hourly.locator("canvas").elementHandle();
  await page.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));
  await ingest(request, endedCalls(TENANT_A, uniquePhonePrefix(), 2));
  await expect.poll(async () => Number(await hourly.getAttribute("data-drawn"))).toBeGreaterThanOrEqual(before.hourly + 2);
  await expect.poll(async () => Number(await outcomes.getAttribute("data-drawn"))).toBeGreaterThanOrEqual(before.outcomes + 2);
  await agree(hourly, figure);
  await agree(outcomes, table);
  expect(await canvas?.evaluate((node) => node.isConnected)).toBe(true);
  expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);

  expect(foreign).toEqual([]);
  expect(consoleErrors).toEqual([]);
});

test("the charts resize with the window", async ({ page, request }) => {
  await ingest(request, endedCalls(TENANT_A, uniquePhonePrefix(), 1));
  await page.goto("/dashboard/realtime");
  const canvas = page.getByTestId("calls-per-hour-canvas").locator("canvas");
  await expect(canvas).toBeVisible();
  const width = async () => (await canvas.boundingBox())?.width ?? 0;
  const viewport = page.viewportSize() ?? { width: 375, height: 667 };
  const first = await width();
  expect(first).toBeLessThanOrEqual(viewport.width);
  const wider = viewport.width < 700;
  await page.setViewportSize({ width: wider ? 900 : 375, height: viewport.height });
  if (wider) await expect.poll(width).toBeGreaterThan(first);
  else await expect.poll(width).toBeLessThan(first);
  expect(await width()).toBeLessThanOrEqual(page.viewportSize()?.width ?? 0);
});

test("in the dark scheme the charts draw in the page's dark colours", async ({ page, request }) => {
  await ingest(request, endedCalls(TENANT_A, uniquePhonePrefix(), 1));
  await page.emulateMedia({ colorScheme: "dark" });
  await page.goto("/dashboard/realtime");
  await expect(page.getByTestId("connection-badge")).toHaveAttribute("data-state", "live");
  await expect(page.getByTestId("outcomes-canvas")).toHaveAttribute("data-drawn", /\d+/);
  await expect(page.getByTestId("calls-per-hour-canvas")).toHaveAttribute("data-drawn", /\d+/);
  // The bars take the page's own brand colour, which is lighter in the dark scheme.
  const brand = await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue("--brand").trim());
  expect(brand).toBe("#6f9dff");
  await screenshot(page, "charts-dark");
});

test("the page, its bundle and its charts run under the page's Content Security Policy", async ({ page, request }) => {
  await ingest(request, endedCalls(TENANT_A, uniquePhonePrefix(), 1));
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { violations: string[] }).violations = seen;
    document.addEventListener("securitypolicyviolation", (event) => seen.push(`${event.violatedDirective} ${event.blockedURI}`));
  });
  const response = await page.goto("/dashboard/realtime");
  expect(response?.headers()["content-security-policy"]).toMatch(/script-src 'self' 'nonce-[^']+' 'wasm-unsafe-eval'/);
  await expect(page.getByTestId("connection-badge")).toHaveAttribute("data-state", "live");
  await expect(page.getByTestId("calls-per-hour-canvas")).toHaveAttribute("data-drawn", /\d+/);
  await expect(page.getByTestId("outcomes-canvas")).toHaveAttribute("data-drawn", /\d+/);
  expect(await page.evaluate(() => (window as unknown as { violations: string[] }).violations)).toEqual([]);
  // A script someone manages to inject does not run.
  const injected = await page.evaluate(async () => {
    const script = document.createElement("script");
    script.textContent = "window.injected = true";
    const refused = new Promise((resolve) => document.addEventListener("securitypolicyviolation", resolve, { once: true }));
    document.body.append(script);
    await refused;
    return (window as unknown as { injected?: boolean }).injected === true;
  });
  expect(injected).toBe(false);
});
