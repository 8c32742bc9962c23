// Without JavaScript (the ssr-only project): the page still reads, and nothing pretends to be live.
import { test, expect } from "../fixtures";

test("without JavaScript the badge never claims to be live", async ({ page }) => {
  await page.goto("/dashboard/realtime");
  const badge = page.getByTestId("connection-badge");
  await expect(badge).toHaveAttribute("data-state", "connecting");
  await expect(page.locator("main")).toHaveAttribute("data-hydrated", "false");
});
