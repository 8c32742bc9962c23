// API tokens from the account page (issue 24), with and without JavaScript and on a phone: an
// operator makes a token, sees it once, a script uses it on REST and holds a Socket.IO connection
// with it (the real socket.io-client); revoking it from the page refuses it on REST at once and
// closes that connection.
import { io } from "socket.io-client";
import { OPERATOR_STATE } from "../credentials";
import { expect, screenshot, test, unique } from "../fixtures";

test.use({ storageState: OPERATOR_STATE });

test("an operator makes an API token, a script uses it, and revoking it ends it everywhere", async ({
  page,
  request,
  baseURL,
}) => {
  const name = unique(`ci-${test.info().project.name}`);
  await page.goto("/account");
  const form = page.locator('form[action="/account/tokens"]');
  await form.getByLabel("Name").fill(name);
  await form.getByLabel("Scope").selectOption("operator");
  await form.getByRole("button", { name: "Make token" }).click();
  await expect(page).toHaveURL(/\/account\?token_created=1$/);
  const shown = page.getByTestId("token-secret");
  await expect(shown).toContainText("shown only once");
  const secret = (await shown.locator("code").textContent())?.trim() ?? "";
  expect(secret).toMatch(/^sbt_[A-Za-z0-9_-]{43}$/);
  const item = page.locator(`li[data-token="${name}"]`);
  await expect(item.getByTestId("token-scope")).toHaveText(/^operator · every tenant/);
  await expect(item.getByTestId("token-dates")).toContainText("never used");
  await screenshot(page, "account-token-made");

  // Once: the page does not show it again.
  await page.goto("/account");
  await expect(page.getByTestId("token-secret")).toHaveCount(0);

  const bearer = { Authorization: `Bearer ${secret}` };
  expect((await request.get("/api/admin/dlq", { headers: bearer })).status()).toBe(200);
  const socket = io(baseURL, { auth: { token: secret }, transports: ["websocket"], reconnection: false, forceNew: true });
  const closed = new Promise<string>((resolve) => socket.on("disconnect", resolve));
  try {
    await new Promise((resolve, reject) => {
      socket.on("connected", resolve);
      socket.on("connect_error", reject);
    });
    await page.reload();
    await expect(item.getByTestId("token-dates")).toContainText("used");
    await expect(item.getByTestId("token-dates")).not.toContainText("never used");

    await item.getByLabel("Sure").check();
    await item.getByRole("button", { name: "Revoke" }).click();
    await expect(page.getByTestId("token-revoked")).toBeVisible();
    await expect(page.locator(`li[data-token="${name}"]`)).toHaveCount(0);
    expect((await request.get("/api/admin/dlq", { headers: bearer })).status()).toBe(401);
    expect(await closed).toBe("io server disconnect");
  } finally {
    socket.close();
  }
});

test("a scope beyond the role is refused with a reason", async ({ page }) => {
  await page.goto("/account");
  // An operator is offered no more than its own scopes; a forged form asking for more of a
  // tenant it does not name is refused and says why.
  const scopes = page.locator('form[action="/account/tokens"] select[name="scope"] option');
  await expect(scopes).toHaveText([/^tenant_read/, /^all_read/, /^operator/]);
  const form = page.locator('form[action="/account/tokens"]');
  await form.getByLabel("Name").fill("no tenant named");
  await form.getByLabel("Scope").selectOption("tenant_read");
  await form.getByRole("button", { name: "Make token" }).click();
  await expect(page.getByTestId("token-problem")).toContainText("known tenant");
  await screenshot(page, "account-token-refused");
});
