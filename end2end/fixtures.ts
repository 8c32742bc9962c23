// The base URL of the server global-setup.ts started, and a console-error collector.
import { test as base, expect, type ConsoleMessage, type Page } from "@playwright/test";
import { E2E_EMAIL, E2E_PASSWORD } from "./credentials";

export { E2E_EMAIL, E2E_PASSWORD };

/** Signs the page's browser context in through the real login form's endpoint. */
export async function signIn(page: Page) {
  const response = await page.request.post("/login", {
    form: { email: E2E_EMAIL, password: E2E_PASSWORD },
    maxRedirects: 0,
  });
  expect(response.status()).toBe(303);
  expect(response.headers()["location"]).toBe("/dashboard/realtime");
}

export const test = base.extend<{ consoleErrors: string[] }>({
  baseURL: async ({}, use) => {
    const url = process.env.SWITCHBOARD_URL;
    if (!url) throw new Error("SWITCHBOARD_URL is unset: global-setup.ts did not run");
    await use(url);
  },
  consoleErrors: async ({ page }, use) => {
    const errors: string[] = [];
    page.on("console", (message: ConsoleMessage) => {
      if (message.type() === "error") errors.push(message.text());
    });
    page.on("pageerror", (error) => errors.push(`uncaught: ${error.message}`));
    await use(errors);
  },
});

export { expect };
