// A viewer chooses the zone times are shown in on the account page (issue 25): how a visitor
// without JavaScript leaves UTC, and how anyone pins a zone other than their browser's. Runs with
// JavaScript on and off, and on a phone.
import { TENANT_A, TENANT_A_STATE } from "../credentials";
import { expect, ingest, screenshot, test, unique } from "../fixtures";

test.use({ storageState: TENANT_A_STATE });

test("a zone chosen on the account page is the one every time is shown in", async ({ page }) => {
  const id = unique("pinned");
  const at = new Date(Date.now() - 2 * 86_400_000);
  at.setUTCHours(9, 15, 0, 0);
  await ingest(page.request, [
    { type: "call_started", user_id: TENANT_A, call_id: id, at: at.toISOString(), call: { direction: "outbound" } },
  ]);

  await page.goto("/account");
  await page.getByTestId("zone-select").selectOption("Asia/Kolkata");
  await page.getByRole("button", { name: "Save time zone" }).click();
  await expect(page.getByTestId("zone-saved")).toContainText("Saved");
  await expect(page.getByTestId("zone-shown")).toContainText("Asia/Kolkata (chosen here)");
  await screenshot(page, "account-zone");

  // 09:15 UTC is 14:45 in Kolkata, whatever zone the browser itself is in.
  await page.goto(`/dashboard/realtime?q=${encodeURIComponent(id)}`);
  await expect(page.getByTestId("shown-zone")).toHaveText("Asia/Kolkata");
  const day = at.toISOString().slice(0, 10);
  await expect(page.getByTestId("recent-calls").locator(`tr[data-call-id="${id}"] time`)).toHaveText(`${day} 14:45`);

  // A name that is no zone's is refused, and the choice stays.
  const refused = await page.request.post("/account/zone", { form: { tz: "Mars/Olympus_Mons" }, maxRedirects: 0 });
  expect(refused.status()).toBe(303);
  expect(refused.headers()["location"]).toContain("zone=invalid");

  // Back to the browser's own zone.
  await page.goto("/account");
  await page.getByTestId("zone-select").selectOption("");
  await page.getByRole("button", { name: "Save time zone" }).click();
  await expect(page.getByTestId("zone-saved")).toContainText("browser");
  const pinned = (await page.context().cookies()).find((cookie) => cookie.name === "switchboard_tz_pinned");
  expect(pinned).toBeUndefined();
});
