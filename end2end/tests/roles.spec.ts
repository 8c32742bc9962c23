// What each role sees on the page (issue 24), with and without JavaScript and on a phone: the
// ops board is the platform's, its actions the admin's and operator's, the audit log the
// admin's; a tenant's member sees its own calls and no board. The server refuses the same
// things on every door (server/tests/api/permissions.rs); the page leaves them out.
import { MEMBER_A_STATE, OPERATOR_STATE, TENANT_A, TENANT_B, VIEWER_STATE } from "../credentials";
import { endedCalls, expect, ingest, screenshot, test, uniquePhonePrefix } from "../fixtures";

const EVERY_PANEL = "/dashboard/realtime?panels=calls,dlq,runs,audit";

test.describe("an operator", () => {
  test.use({ storageState: OPERATOR_STATE });

  test("runs reconciliation from the board, and has no audit log", async ({ page }) => {
    await page.goto(EVERY_PANEL);
    await expect(page.getByTestId("ops-panels")).toBeVisible();
    await expect(page.locator('details[data-panel="runs"]').getByTestId("run-now")).toBeVisible();
    await expect(page.locator('details[data-panel="dlq"]')).toBeVisible();
    await expect(page.locator('details[data-panel="audit"]')).toHaveCount(0);
    await expect(page.getByTestId("account-role")).toHaveText(
      "operator: every tenant; acts on the DLQ and reconciliation",
    );
    await screenshot(page, "role-operator");
  });
});

test.describe("a viewer", () => {
  test.use({ storageState: VIEWER_STATE });

  test("reads every tenant and the board, with no action to take", async ({ page, request }) => {
    const [ours, theirs] = [uniquePhonePrefix(), uniquePhonePrefix()];
    await ingest(request, [...endedCalls(TENANT_A, ours, 1), ...endedCalls(TENANT_B, theirs, 1)]);
    await page.goto(EVERY_PANEL);
    await expect(page.getByTestId("ops-panels")).toBeVisible();
    await expect(page.locator('details[data-panel="runs"]')).toBeVisible();
    await expect(page.getByTestId("run-now")).toHaveCount(0);
    await expect(page.getByTestId("retry-all")).toHaveCount(0);
    await expect(page.locator('details[data-panel="audit"]')).toHaveCount(0);
    const recent = page.getByTestId("recent-calls");
    await expect(recent).toContainText(`${ours}00`);
    await expect(recent).toContainText(`${theirs}00`);
    await screenshot(page, "role-viewer");
  });
});

test.describe("a tenant's member", () => {
  test.use({ storageState: MEMBER_A_STATE });

  test("reads its own tenant's calls and sees no board", async ({ page, request }) => {
    const [ours, theirs] = [uniquePhonePrefix(), uniquePhonePrefix()];
    await ingest(request, [...endedCalls(TENANT_A, ours, 1), ...endedCalls(TENANT_B, theirs, 1)]);
    await page.goto(EVERY_PANEL);
    const recent = page.getByTestId("recent-calls");
    await expect(recent).toContainText(`${ours}00`);
    await expect(recent).not.toContainText(`${theirs}00`);
    await expect(page.getByTestId("ops-panels")).toHaveCount(0);
    await expect(page.getByTestId("account-role")).toHaveText("member: its tenant, read only");
    await screenshot(page, "role-member");
    // Asking for another tenant by the address is refused, never answered with its calls.
    await page.goto(`/dashboard/realtime?user_id=${TENANT_B}&phone=${encodeURIComponent(theirs)}`);
    await expect(page.locator("body")).not.toContainText(`${theirs}00`);
  });
});
