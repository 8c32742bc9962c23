// A call's own page (issue 25): opened from its row in recent calls, it tells the whole story —
// header with end reason and cost, the conversation with the agent's response times, the
// timeline with where each event came from, the metadata, and a JSON download. With JavaScript
// on or off, on a laptop or a phone. Another tenant's call is "No such call", answered 404.
import { TENANT_A, TENANT_A_STATE, TENANT_B } from "../credentials";
import { expect, ingest, screenshot, test, unique, uniquePhonePrefix } from "../fixtures";

test.use({ storageState: TENANT_A_STATE });

/** A finished call of `tenant` with a short conversation, and its phone number. */
async function finishedCall(request: import("@playwright/test").APIRequestContext, tenant: string, id: string) {
  const phone = `${uniquePhonePrefix()}77`;
  const at = (secondsAgo: number) => new Date(Date.now() - secondsAgo * 1000).toISOString();
  const turn = (secondsAgo: number, role: string, text: string, latency_ms?: number) => ({
    type: "turn",
    user_id: tenant,
    call_id: id,
    at: at(secondsAgo),
    turn: { role, text, latency_ms },
  });
  await ingest(request, [
    {
      type: "call_started",
      user_id: tenant,
      call_id: id,
      at: at(100),
      call: { phoneNumber: phone, direction: "inbound", agentConfigId: "agent-e2e", call_metadata: { campaign: "spring", crm: { lead: 42 } } },
    },
    turn(95, "agent", "Hello, this is the front desk.", 420),
    turn(90, "caller", "Can I move my appointment?"),
    turn(85, "tool", "lookup_availability → 3 open slots"),
    turn(80, "agent", "Thursday at 4 pm works.", 1300),
    { type: "heartbeat", user_id: tenant, call_id: id, at: at(70) },
    { type: "call_ended", user_id: tenant, call_id: id, at: at(60), outcome: "completed", end_reason: "caller_hung_up", cost: { amount: 0.05, currency: "USD" } },
  ]);
  return phone;
}

test("a call's page tells what was said, how fast the agent answered and how it ended", async ({ page, request, consoleErrors }) => {
  const id = unique("detail");
  const phone = await finishedCall(request, TENANT_A, id);
  await page.goto(`/dashboard/realtime?phone=${encodeURIComponent(phone)}`);
  const row = page.getByTestId("recent-calls").locator(`[data-call-id="${id}"]`);
  await row.locator(`a[href="/dashboard/calls/${id}"]`).click();
  await expect(page).toHaveURL(new RegExp(`/dashboard/calls/${id}$`));

  await expect(page.getByRole("heading", { level: 1 })).toContainText(phone);
  await expect(page.getByTestId("call-status")).toContainText("completed");
  await expect(page.getByTestId("call-status")).toContainText("caller hung up");
  await expect(page.locator(".facts")).toContainText("0.05 USD");
  const transcript = page.getByTestId("transcript");
  await expect(transcript.locator(".turn")).toHaveCount(4);
  await expect(transcript.locator(".turn").first()).toContainText("Hello, this is the front desk.");
  await expect(transcript.locator('.turn[data-role="agent"]').last()).toContainText("answered in 1300 ms");
  await expect(page.getByTestId("response-latency")).toContainText("p50 420 ms");
  await expect(page.getByTestId("response-latency")).toContainText("p95 1300 ms");
  const timeline = page.getByTestId("timeline");
  await expect(timeline.locator(".timeline__event")).toHaveCount(2);
  await expect(timeline.locator(".timeline__event").first()).toContainText("via HTTP");
  await expect(page.getByTestId("heartbeat-summary")).toContainText("1 heartbeat");
  await expect(page.getByTestId("metadata")).toContainText("lead");
  await screenshot(page, "call-detail");

  const download = page.waitForEvent("download");
  await page.getByTestId("download-json").click();
  const saved = await download;
  expect(saved.suggestedFilename()).toBe(`${id}.json`);
  const body = JSON.parse(await (await import("node:fs/promises")).readFile((await saved.path()) as string, "utf8"));
  expect(body.call.id).toBe(id);
  expect(body.turns).toHaveLength(4);
  expect(body.end_reason).toBe("caller_hung_up");
  expect(consoleErrors).toEqual([]);
});

test("a call is found by the last four digits of its number, and opened", async ({ page, request }) => {
  const id = unique("found");
  const phone = await finishedCall(request, TENANT_A, id);
  await page.goto("/dashboard/realtime");
  const box = page.getByTestId("call-search");
  await box.fill(phone.slice(-4));
  await box.press("Enter");
  await expect(page).toHaveURL(new RegExp(`[?&]q=${phone.slice(-4)}`));
  const row = page.getByTestId("recent-calls").locator(`[data-call-id="${id}"]`);
  await expect(row).toContainText(phone);
  // Every listed call's number ends with the digits searched.
  const numbers = await page.getByTestId("recent-calls").locator('td[data-label="Phone"]').allTextContents();
  for (const number of numbers) expect(number.replace(/\D/g, "").endsWith(phone.slice(-4))).toBe(true);
  await screenshot(page, "call-search");
  await row.locator(`a[href="/dashboard/calls/${id}"]`).click();
  await expect(page.getByRole("heading", { level: 1 })).toContainText(phone);
});

test("another tenant's call is no such call", async ({ page, request }) => {
  const id = unique("other");
  await finishedCall(request, TENANT_B, id);
  const response = await page.goto(`/dashboard/calls/${id}`);
  expect(response?.status()).toBe(404);
  await expect(page.getByTestId("call-missing")).toContainText("No such call");
  await expect(page.locator("body")).not.toContainText("front desk");
});
