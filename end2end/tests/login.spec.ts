// Signing in and out through the real forms. Runs in every project: the forms need no JavaScript.
import type { Page } from "@playwright/test";
import { TENANT_A_EMAIL } from "../credentials";
import { test, expect, E2E_EMAIL, E2E_PASSWORD, ownServer, screenshot } from "../fixtures";

// These start signed out.
test.use({ storageState: { cookies: [], origins: [] } });

test("the dashboard asks an anonymous visitor to sign in, then opens", async ({ page }) => {
  await page.goto("/dashboard/realtime");
  await expect(page).toHaveURL(/\/login\?next=%2Fdashboard%2Frealtime$/);
  await expect(page).toHaveTitle("Sign in · Switchboard");

  await page.getByLabel("Email").fill(E2E_EMAIL);
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toHaveText(/Wrong email or password/);

  await page.getByLabel("Email").fill(E2E_EMAIL);
  await page.getByLabel("Password").fill(E2E_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/dashboard\/realtime$/);
  await expect(page.getByRole("heading", { level: 1, name: "Switchboard" })).toBeVisible();

  const cookie = (await page.context().cookies()).find((c) => c.name === "switchboard_session");
  expect(cookie?.httpOnly).toBe(true);
  expect(cookie?.sameSite).toBe("Lax");

  await page.getByRole("button", { name: "Log out", exact: true }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/dashboard/realtime");
  await expect(page).toHaveURL(/\/login\?next=/);
});

test("the login page fits a phone", async ({ page }) => {
  await page.goto("/login");
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  expect(scrollWidth).toBeLessThanOrEqual(innerWidth);
  for (const target of [page.getByLabel("Email"), page.getByLabel("Password"), page.getByRole("button", { name: "Sign in" })]) {
    const box = await target.boundingBox();
    expect(box?.height).toBeGreaterThanOrEqual(44);
  }
});

test("Log out everywhere ends the sessions of every browser", async ({ page, browser }, testInfo) => {
  await ownServer([], async (server) => {
    const signIn = async (target: Page) => {
      await target.goto(`${server.url}/login`);
      await target.getByLabel("Email").fill(TENANT_A_EMAIL);
      await target.getByLabel("Password").fill(E2E_PASSWORD);
      await target.getByRole("button", { name: "Sign in" }).click();
      await expect(target).toHaveURL(/\/dashboard\/realtime$/);
    };
    const elsewhere = await browser.newContext({ viewport: page.viewportSize() });
    const otherPage = await elsewhere.newPage();
    await signIn(otherPage);
    await signIn(page);
    const scripted = testInfo.project.name !== "ssr-only";
    if (scripted) {
      await expect(otherPage.getByTestId("connection-badge")).toHaveAttribute("data-state", "live");
    }

    // The account menu names who is signed in and offers to end every session.
    await page.locator("summary.topbar__user").click();
    await expect(page.getByText(TENANT_A_EMAIL)).toBeVisible();
    await screenshot(page, "account-menu");
    await page.getByRole("button", { name: "Log out everywhere" }).click();
    // (A live page may be sent to sign in by its own socket closing before the form's answer
    // arrives: either way, it is at the sign-in form.)
    await expect(page).toHaveURL(/\/login(\?next=|$)/);

    // The other browser is signed out too: a live page is sent to sign in as its socket closes;
    // without JavaScript, its next page asks.
    if (!scripted) await otherPage.goto(`${server.url}/dashboard/realtime`);
    await expect(otherPage).toHaveURL(/\/login\?next=%2Fdashboard%2Frealtime/);
    await elsewhere.close();
  });
});
