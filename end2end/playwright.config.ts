import { defineConfig, devices } from "@playwright/test";
import { STORAGE_STATE } from "./credentials";

// Specs: `*.spec.ts` run in every project, `*.hydrate.spec.ts` need JavaScript, `*.ssr.spec.ts`
// run with JavaScript off only.

// Debian's Chromium, never a downloaded browser. The flags keep it off the (closed) network.
const chromium = {
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
};

export default defineConfig({
  testDir: "./tests",
  // The server is started once by global-setup.ts on a free port; see fixtures.ts.
  globalSetup: "./global-setup.ts",
  globalTeardown: "./global-teardown.ts",
  forbidOnly: !!process.env.CI,
  retries: 0,
  // A deadline for awaited events, not a speed target: on a shared 2-core machine a debug bundle
  // can take more than the default 5 s to hydrate and draw while the other worker loads pages.
  expect: { timeout: 10_000 },
  workers: 2,
  reporter: [["list"], ["json", { outputFile: "./.artifacts/results.json" }]],
  outputDir: "./.artifacts/test-results",
  use: {
    // Signed in as the e2e admin (global-setup.ts); login.spec.ts starts anonymous instead.
    storageState: STORAGE_STATE,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
  },
  projects: [
    {
      name: "hydrated",
      testIgnore: /\.ssr\.spec\.ts$/,
      use: { ...devices["Desktop Chrome"], channel: undefined, launchOptions: chromium },
    },
    {
      // The page as it arrives from the server, before (or without) the bundle.
      name: "ssr-only",
      testIgnore: /\.hydrate\.spec\.ts$/,
      use: { ...devices["Desktop Chrome"], channel: undefined, launchOptions: chromium, javaScriptEnabled: false },
    },
    {
      name: "phone",
      testIgnore: /\.ssr\.spec\.ts$/,
      use: {
        viewport: { width: 375, height: 667 },
        deviceScaleFactor: 2,
        isMobile: true,
        hasTouch: true,
        launchOptions: chromium,
      },
    },
  ],
});
