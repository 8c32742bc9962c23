// Managing users from the page (issue 24), with and without JavaScript and on a phone: an admin
// changes a user's role and removes it, each action confirmed; an owner sees only its tenant's
// users; an operator is refused the page.
import { OPERATOR_STATE, TENANT_A_STATE, managedUser } from "../credentials";
import { expect, screenshot, test } from "../fixtures";

test("an admin changes a user's role, then removes it, each confirmed", async ({ page }) => {
  const email = managedUser(test.info().project.name);
  await page.goto("/users");
  const item = page.locator(`li[data-email="${email}"]`);
  await expect(item.getByTestId("user-role")).toHaveText("member · e2e-tenant-a");
  await item.locator("summary").click();
  const roleForm = item.locator("form").filter({ hasText: "Change role" });
  await roleForm.getByLabel("Role").selectOption("owner");
  await roleForm.getByLabel("Sure").check();
  await screenshot(page, "users-manage");
  await roleForm.getByRole("button", { name: "Change role" }).click();
  await expect(page.getByTestId("users-done")).toContainText("Role changed");
  await expect(item.getByTestId("user-role")).toHaveText("owner · e2e-tenant-a");

  await item.locator("summary").click();
  const removeForm = item.locator("form").filter({ hasText: "Remove" });
  await removeForm.getByLabel("Sure").check();
  await removeForm.getByRole("button", { name: "Remove" }).click();
  await expect(page.getByTestId("users-done")).toContainText("Removed");
  await expect(page.locator(`li[data-email="${email}"]`)).toHaveCount(0);
});

test.describe("an owner", () => {
  test.use({ storageState: TENANT_A_STATE });

  test("sees its own tenant's users only", async ({ page }) => {
    await page.goto("/users");
    const users = page.getByTestId("users");
    await expect(users).toContainText("tenant-a@e2e.switchboard.test");
    await expect(users).not.toContainText("tenant-b@e2e.switchboard.test");
    await expect(users).not.toContainText("admin@e2e.switchboard.test");
    // The owner signed in (global-setup.ts); its page says when.
    const self = page.locator('li[data-email="tenant-a@e2e.switchboard.test"]');
    await expect(self.getByTestId("user-seen")).toHaveText(/^signed in /);
    await screenshot(page, "users-owner");
  });
});

test.describe("an operator", () => {
  test.use({ storageState: OPERATOR_STATE });

  test("is refused user management", async ({ page }) => {
    await page.goto("/users");
    await expect(page.getByRole("alert")).toContainText("owner and admins");
    await expect(page.getByTestId("users")).toHaveCount(0);
  });
});
