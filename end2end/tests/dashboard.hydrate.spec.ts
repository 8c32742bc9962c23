// What only works once the WASM bundle has hydrated the page: controls and the live link.
import type { WebSocketRoute } from "@playwright/test";
import { test, expect } from "../fixtures";

test("hydrates without console errors and goes live", async ({ page, consoleErrors }) => {
  await page.goto("/dashboard/realtime");
  await expect(page.locator("main")).toHaveAttribute("data-hydrated", "true");
  const badge = page.getByTestId("connection-badge");
  await expect(badge).toHaveAttribute("data-state", "live");
  await expect(badge).toHaveText(/Live/);
  expect(consoleErrors).toEqual([]);
});

test("the period selector changes the figures without reloading the page", async ({ page }) => {
  await page.goto("/dashboard/realtime");
  await expect(page.locator("main")).toHaveAttribute("data-hydrated", "true");
  await page.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));
  const sixHours = page.getByRole("link", { name: "6 h" });
  await sixHours.click();
  await expect(sixHours).toHaveAttribute("aria-current", "page");
  await expect(page.getByRole("link", { name: "24 h" })).not.toHaveAttribute("aria-current", "page");
  await expect(page.getByTestId("period-note")).toContainText("Showing the last 6 hours");
  // Keyboard works too.
  await page.getByRole("link", { name: "7 d" }).focus();
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("period-note")).toContainText("Showing the last 7 days");
  await expect(page).toHaveURL(/period=7d/);
  expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);
});

test("a dropped link shows reconnecting, then offline since …, then live again", async ({ page }) => {
  const sockets: WebSocketRoute[] = [];
  let refuse = false;
  await page.routeWebSocket(/\/ws(\?|$)/, async (socket) => {
    sockets.push(socket);
    if (refuse) {
      await socket.close({ code: 1011, reason: "test: server unavailable" });
      return;
    }
    socket.connectToServer();
  });
  await page.goto("/dashboard/realtime");
  const badge = page.getByTestId("connection-badge");
  await expect(badge).toHaveAttribute("data-state", "live");

  // The server goes away and refuses new connections for a while.
  refuse = true;
  await sockets[0].close({ code: 1001, reason: "test: server going away" });
  await expect(badge).toHaveAttribute("data-state", "reconnecting");
  await expect(badge).toHaveText(/Reconnecting/);
  await expect(badge).toHaveAttribute("data-state", "offline", { timeout: 15_000 });
  await expect(badge).toHaveText(/Offline since \d{2}:\d{2}:\d{2}/);
  const triesWhileDown = sockets.length;
  expect(triesWhileDown).toBeGreaterThan(3);

  // It comes back: the next retry (backoff is capped at 15 s) finds it.
  refuse = false;
  await expect(badge).toHaveAttribute("data-state", "live", { timeout: 20_000 });
  expect(sockets.length).toBeGreaterThan(triesWhileDown);
});

test("the metric cards follow calls pushed over the live link", async ({ page, request }) => {
  // A tenant of this test's own, picked by the admin: other tests' calls cannot move its cards.
  const tenant = `e2e-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  await page.goto(`/dashboard/realtime?user_id=${tenant}`);
  await expect(page.getByTestId("connection-badge")).toHaveAttribute("data-state", "live");
  const total = page.locator('[data-metric="total"] .metric-card__value');
  const active = page.locator('[data-metric="active"] .metric-card__value');
  await expect(total).toHaveText("0");
  await expect(active).toHaveText("0");

  const posted = await request.post("/api/v1/calls/events", {
    headers: { Authorization: `Bearer ${process.env.SWITCHBOARD_INGEST_KEY}` },
    data: {
      type: "call_started",
      user_id: tenant,
      call_id: `${tenant}-call`,
      at: new Date().toISOString(),
      call: { phoneNumber: "+12345678900", direction: "inbound" },
    },
  });
  expect(posted.status()).toBe(200);
  await expect(total).toHaveText("1");
  await expect(active).toHaveText("1");
});
