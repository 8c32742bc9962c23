// Signing in and out through the real forms. Runs in every project: the forms need no JavaScript.
import { test, expect, E2E_EMAIL, E2E_PASSWORD } from "../fixtures";

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

  await page.getByRole("button", { name: "Log out" }).click();
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
