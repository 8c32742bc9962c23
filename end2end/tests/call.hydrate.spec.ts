// A call's page while the call is on (issue 25): the page joins the call's room on /ws, and each
// turn POSTed by the producer appears in the conversation as it arrives, without the page asking
// for anything again; the heartbeat summary follows, and the page says when the call ends.
import { TENANT_A, TENANT_A_STATE } from "../credentials";
import { expect, ingest, screenshot, test, unique, uniquePhonePrefix } from "../fixtures";

test.use({ storageState: TENANT_A_STATE });

test("an active call's conversation grows turn by turn, and the page sees it end", async ({ page, request, consoleErrors }) => {
  const id = unique("live");
  const phone = `${uniquePhonePrefix()}55`;
  const now = () => new Date().toISOString();
  const turn = (role: string, text: string, latency_ms?: number) => ({
    type: "turn",
    user_id: TENANT_A,
    call_id: id,
    at: now(),
    turn: { role, text, latency_ms },
  });
  await ingest(request, [
    { type: "call_started", user_id: TENANT_A, call_id: id, at: now(), call: { phoneNumber: phone, direction: "inbound", agentConfigId: "agent-e2e" } },
    turn("agent", "Thanks for calling, how can I help?", 380),
  ]);

  await page.goto(`/dashboard/calls/${id}`);
  await expect(page.getByTestId("connection-badge")).toHaveAttribute("data-state", "live");
  const turns = page.getByTestId("transcript").locator(".turn");
  await expect(turns).toHaveCount(1);
  // Pushes add turns beside this one: it is never drawn again (the same element throughout).
  const firstTurn = await turns.first().elementHandle();
  // From here on the page asks the server for nothing: everything arrives pushed.
  const asked: string[] = [];
  page.on("request", (sent) => {
    if (!sent.url().includes("/pkg/")) asked.push(sent.url());
  });

  await ingest(request, [turn("caller", "I need to reschedule my cleaning.")]);
  await expect(turns).toHaveCount(2);
  await expect(turns.last()).toContainText("I need to reschedule my cleaning.");
  await ingest(request, [turn("agent", "Friday at 9 is open.", 1100)]);
  await expect(turns).toHaveCount(3);
  await expect(turns.last()).toContainText("answered in 1100 ms");
  await expect(page.getByTestId("response-latency")).toContainText("p95 1100 ms");
  await ingest(request, [{ type: "heartbeat", user_id: TENANT_A, call_id: id, at: now() }]);
  await expect(page.getByTestId("heartbeat-summary")).toContainText("1 heartbeat");
  await expect(page.getByTestId("call-ended")).toHaveCount(0);
  expect(await firstTurn?.evaluate((turn) => turn.isConnected)).toBe(true);
  await screenshot(page, "call-live");

  await ingest(request, [
    { type: "call_ended", user_id: TENANT_A, call_id: id, at: now(), outcome: "completed", end_reason: "caller_hung_up", cost: { amount: 0.02, currency: "USD" } },
  ]);
  await expect(page.getByTestId("call-ended")).toContainText("This call has ended.");
  // Nothing more will come: the page lets its live link go.
  await expect(page.getByTestId("connection-badge")).toHaveCount(0);
  await expect(page.getByTestId("call-status")).toContainText("completed");
  await expect(page.getByTestId("call-status")).toContainText("caller hung up");
  await expect(page.locator(".facts")).toContainText("0.02 USD");
  await expect(page.getByTestId("timeline").locator(".timeline__event")).toHaveCount(2);
  await screenshot(page, "call-live-ended");
  expect(asked).toEqual([]);

  // The agent's answers count toward its response time on the dashboard (bucketed figures).
  await page.goto("/dashboard/realtime");
  const latency = page.getByTestId("agents").locator('[data-agent="agent-e2e"] [data-testid="agent-latency"]');
  await expect(latency).toHaveText(/^\d+ \/ \d+ ms$/);
  await latency.scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${__dirname}/../.artifacts/screenshots/${test.info().project.name}-agent-latency.png` });
  expect(consoleErrors).toEqual([]);
});
