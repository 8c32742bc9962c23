// Without JavaScript (the ssr-only project): the page still reads, and nothing pretends to be live.
import { TENANT_A } from "../credentials";
import { endedCalls, expect, ingest, test, uniquePhonePrefix } from "../fixtures";

test("without JavaScript the badge never claims to be live", async ({ page }) => {
  await page.goto("/dashboard/realtime");
  const badge = page.getByTestId("connection-badge");
  await expect(badge).toHaveAttribute("data-state", "connecting");
  await expect(page.locator("main")).toHaveAttribute("data-hydrated", "false");
});

test("without JavaScript the charts are the server's columns and tables, with no empty canvas", async ({ page, request }) => {
  await ingest(request, endedCalls(TENANT_A, uniquePhonePrefix(), 1));
  await page.goto("/dashboard/realtime");
  await expect(page.getByTestId("calls-per-hour").locator(".columns")).toBeVisible();
  await expect(page.getByTestId("outcomes")).toBeVisible();
  await expect(page.getByTestId("calls-per-hour-canvas")).toBeHidden();
  await expect(page.getByTestId("outcomes-canvas")).toBeHidden();
  const requests: string[] = [];
  page.on("request", (r) => requests.push(r.url()));
  await page.reload();
  expect(requests.filter((url) => url.includes("echarts"))).toEqual([]);
});
