// The base URL of the server global-setup.ts started, and a console-error collector.
import { test as base, expect, type ConsoleMessage } from "@playwright/test";
import { E2E_EMAIL, E2E_PASSWORD } from "./credentials";

export { E2E_EMAIL, E2E_PASSWORD };

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
