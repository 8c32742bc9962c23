// A user changes its own password from the account page, with or without JavaScript and on a
// phone (issue 24): the current password is required, a weak new one is refused with a reason,
// and afterwards only the new password signs in.
import { E2E_PASSWORD, passwordUser } from "../credentials";
import { expect, screenshot, test } from "../fixtures";

// Starts signed out: it signs in as a user of its own.
test.use({ storageState: { cookies: [], origins: [] } });

const NEW_PASSWORD = "copper kettle orbits the quiet lantern";

async function signIn(page: import("@playwright/test").Page, email: string, password: string) {
  await page.goto("/login?next=%2Faccount");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

test("a user changes its password from the account page", async ({ page }) => {
  const email = passwordUser(test.info().project.name);
  await signIn(page, email, E2E_PASSWORD);
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId("account-who")).toContainText(email);
  await expect(page.getByTestId("account-who")).toContainText("member");

  const form = page.locator("form.login__form");
  await form.getByLabel("Current password").fill(E2E_PASSWORD);
  await form.getByLabel("New password", { exact: true }).fill("password12345");
  await form.getByLabel("New password, again").fill("password12345");
  await form.getByRole("button", { name: "Change password" }).click();
  await expect(page.getByTestId("password-problem")).toContainText("too easy to guess");

  await form.getByLabel("Current password").fill(E2E_PASSWORD);
  await form.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
  await form.getByLabel("New password, again").fill(NEW_PASSWORD);
  await form.getByRole("button", { name: "Change password" }).click();
  await expect(page.getByTestId("password-changed")).toBeVisible();
  await screenshot(page, "account-password-changed");

  // Still signed in here; the old password no longer signs in, the new one does.
  await page.goto("/dashboard/realtime");
  await expect(page.getByRole("region", { name: "Recent calls" })).toBeVisible();
  await page.context().clearCookies();
  await signIn(page, email, E2E_PASSWORD);
  await expect(page).toHaveURL(/\/login\?error=1/);
  await signIn(page, email, NEW_PASSWORD);
  await expect(page).toHaveURL(/\/account$/);
});
