// Invitations and reset links from the users page (issue 24), with and without JavaScript and on
// a phone: an owner invites a member, who joins through the link, reads its tenant's calls and
// is refused the owner's page; the link works once. An admin resets a user's password: the
// user's open dashboard is signed out at once (its live socket closes) and the link sets a new
// password.
import type { Browser, Page } from "@playwright/test";
import { TENANT_A_STATE } from "../credentials";
import { expect, screenshot, test, unique } from "../fixtures";

const PASSWORD = "velvet harbour counts eleven lanterns";

/** Makes an invitation from the users page; the link it shows once. */
async function invite(page: Page, email: string, role: string): Promise<string> {
  await page.goto("/users");
  await page.getByTestId("invite").locator("summary").click();
  const form = page.locator('form[action="/users/invite"]');
  await form.getByLabel("Email").fill(email);
  await form.getByLabel("Role").selectOption(role);
  await form.getByRole("button", { name: "Make invitation link" }).click();
  await expect(page.getByTestId("users-done")).toContainText("Invitation made");
  const shown = page.getByTestId("new-link");
  await expect(shown).toContainText(`For ${email}`);
  return ((await shown.locator("code").textContent()) ?? "").trim();
}

/** Opens `link` in a browser of its own (nobody signed in) and sets the password. */
async function useLink(browser: Browser, link: string, project: { javaScriptEnabled?: boolean }) {
  const context = await browser.newContext({ javaScriptEnabled: project.javaScriptEnabled ?? true });
  const page = await context.newPage();
  await page.goto(link);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByLabel("Password, again").fill(PASSWORD);
  await page.getByRole("button", { name: "Set password and sign in" }).click();
  await expect(page).toHaveURL(/\/dashboard\/realtime$/);
  return page;
}

test.describe("an owner", () => {
  test.use({ storageState: TENANT_A_STATE });

  test("invites a member, who joins once and reads its tenant only", async ({ page, browser }) => {
    const email = `${unique("invited")}@e2e.switchboard.test`;
    const link = await invite(page, email, "member");
    expect(link).toMatch(/\/welcome\/[A-Za-z0-9_-]{43}$/);
    await expect(page.locator(`li[data-invited="${email}"]`)).toContainText("member · e2e-tenant-a");
    await screenshot(page, "users-invited");

    const options = test.info().project.use;
    const member = await useLink(browser, link, options);
    await expect(member.getByRole("region", { name: "Recent calls" })).toBeVisible();
    await expect(member.getByTestId("account-role")).toHaveText("member: its tenant, read only");
    await member.goto("/users");
    await expect(member.getByRole("alert")).toContainText("owner and admins");
    await expect(member.getByTestId("users")).toHaveCount(0);

    // The link worked once.
    const response = await member.goto(link);
    expect(response?.status()).toBe(410);
    await expect(member.getByTestId("link-closed")).toContainText("used already");
    await screenshot(member, "link-used");
    await member.context().close();
  });

  test("cancels an invitation, whose link then no longer works", async ({ page }) => {
    const email = `${unique("cancelled")}@e2e.switchboard.test`;
    const link = await invite(page, email, "member");
    const pending = page.locator(`li[data-invited="${email}"]`);
    await pending.getByLabel("Sure").check();
    await pending.getByRole("button", { name: "Cancel invitation" }).click();
    await expect(page.getByTestId("users-done")).toContainText("Invitation cancelled");
    await expect(page.locator(`li[data-invited="${email}"]`)).toHaveCount(0);
    const response = await page.goto(link);
    expect(response?.status()).toBe(404);
    await expect(page.getByTestId("link-closed")).toContainText("not valid");
  });
});

test("an admin resets a password: the user's open page is signed out, the link sets a new one", async ({
  page,
  browser,
}) => {
  const email = `${unique("reset")}@e2e.switchboard.test`;
  const options = test.info().project.use;
  const user = await useLink(browser, await invite(page, email, "viewer"), options);
  const hydrated = options.javaScriptEnabled !== false;
  if (hydrated) await expect(user.getByTestId("connection-badge")).toHaveAttribute("data-state", "live");

  await page.goto("/users");
  const item = page.locator(`li[data-email="${email}"]`);
  await item.locator("summary").click();
  const reset = item.locator("form").filter({ hasText: "Reset password" });
  await reset.getByLabel("Sure").check();
  await reset.getByRole("button", { name: "Reset password" }).click();
  await expect(page.getByTestId("users-done")).toContainText("Its sessions have ended");
  const link = ((await page.getByTestId("new-link").locator("code").textContent()) ?? "").trim();
  expect(link).toMatch(/\/reset\/[A-Za-z0-9_-]{43}$/);
  await screenshot(page, "users-reset");

  // Its live socket closed: the open page goes to sign in by itself; without JavaScript, the
  // next page it loads does.
  if (!hydrated) await user.reload();
  await expect(user).toHaveURL(/\/login\?next=/);
  await user.goto(link);
  await expect(user.getByTestId("link-intro")).toContainText(`For ${email}`);
  await user.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await user.getByLabel("Password, again").fill("not the same at all, sorry");
  await user.getByRole("button", { name: "Set password and sign in" }).click();
  await expect(user.getByTestId("link-problem")).toContainText("differ");
  await user.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await user.getByLabel("Password, again").fill(PASSWORD);
  await user.getByRole("button", { name: "Set password and sign in" }).click();
  await expect(user).toHaveURL(/\/dashboard\/realtime$/);
  await user.context().close();
});
