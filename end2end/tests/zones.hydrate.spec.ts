// Times in the viewer's own zone (issue 25). A browser in New York and one in Kolkata each see
// the same calls at the same instants, shown at their own local times: the server's render
// (once hydration has remembered the zone) and the hydrated page show the same text, and a
// date filter, on the page and in its CSV export, selects the viewer's local day.
import { E2E_PASSWORD, TENANT_A, TENANT_A_EMAIL, TENANT_A_STATE } from "../credentials";
import { expect, ingest, screenshot, test, unique, uniquePhonePrefix } from "../fixtures";

test.use({ storageState: TENANT_A_STATE });

const DAY_MS = 86_400_000;

/** What a wall clock in `zone` shows at `at`, by Node's own `Intl`: `YYYY-MM-DD HH:MM`. */
function wallClock(at: Date, zone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-CA", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
    })
      .formatToParts(at)
      .map((part) => [part.type, part.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

/** The hourly chart's bars, as its table labels them. */
async function hourLabels(page: import("@playwright/test").Page) {
  return page.getByTestId("calls-per-hour").locator("tbody th").allTextContents();
}

/** The recent-calls rows as shown: each call's id, its instant and its started time's text. */
async function shownRows(page: import("@playwright/test").Page) {
  const rows = page.getByTestId("recent-calls").locator("tr[data-call-id]");
  return rows.evaluateAll((rows) =>
    rows.map((row) => {
      const time = row.querySelector("time");
      return [row.getAttribute("data-call-id"), time?.getAttribute("datetime"), time?.textContent?.trim()];
    }),
  );
}

// Which of the calls at 04:30, 12:00 and 20:00 UTC start on the filtered day, locally: New York
// (UTC-5) puts the first on the evening before, Kolkata (UTC+05:30) the last on the day after.
const ZONES: [string, number[]][] = [
  ["America/New_York", [1, 2]],
  ["Asia/Kolkata", [0, 1]],
];

for (const [zone, onTheDay] of ZONES) {
  test.describe(zone, () => {
    test.use({ timezoneId: zone });

    test(`times and days are ${zone}'s, the same before and after hydration`, async ({ page, browser, consoleErrors }) => {
      const day = new Date(Date.now() - 4 * DAY_MS).toISOString().slice(0, 10);
      const next = new Date(Date.parse(day) + DAY_MS).toISOString().slice(0, 10);
      const base = unique("tz");
      const phone = uniquePhonePrefix();
      const calls = ["04:30", "12:00", "20:00"].map((time, i) => ({
        id: `${base}-${i}`,
        at: new Date(`${day}T${time}:00Z`),
      }));
      await ingest(
        page.request,
        calls.flatMap(({ id, at }, i) => [
          { type: "call_started", user_id: TENANT_A, call_id: id, at: at.toISOString(), call: { phoneNumber: `${phone}${i}`, direction: "inbound" } },
          { type: "call_ended", user_id: TENANT_A, call_id: id, at: new Date(at.getTime() + 60_000).toISOString(), outcome: "completed" },
        ]),
      );

      // The first page is rendered in UTC (the server does not know the zone yet) and says so;
      // hydration switches it to the browser's zone and remembers that for the next render.
      await page.goto("/dashboard/realtime");
      await expect(page.locator("main.dashboard")).toHaveAttribute("data-hydrated", "true");
      // The browser's own name for the zone (Chromium says Asia/Calcutta for Kolkata).
      const named = await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
      expect(wallClock(new Date(), named)).toBe(wallClock(new Date(), zone));
      await expect(page.getByTestId("shown-zone")).toHaveText(named);
      const cookies = await page.context().cookies();
      expect(cookies.find((cookie) => cookie.name === "switchboard_tz")?.value).toBe(named);

      // A call now, so the last 24 hours' chart has bars: each labelled by its local start.
      await ingest(page.request, { type: "call_started", user_id: TENANT_A, call_id: `${base}-now`, at: new Date().toISOString() });
      await page.reload();
      await expect(page.locator("main.dashboard")).toHaveAttribute("data-hydrated", "true");
      const bars = await hourLabels(page);
      const minutes = wallClock(new Date(Date.UTC(2026, 0, 1)), zone).slice(-2);
      expect(bars.length).toBeGreaterThan(0);
      for (const bar of bars) expect(bar.endsWith(`:${minutes}`), bar).toBe(true);

      // The filtered day, as the server renders it (the same browser's cookies, no script) ...
      const address = `/dashboard/realtime?q=${encodeURIComponent(base)}&from=${day}&to=${next}`;
      const serverOnly = await browser.newContext({ javaScriptEnabled: false, timezoneId: zone });
      await serverOnly.addCookies(cookies);
      const ssrPage = await serverOnly.newPage();
      await ssrPage.goto("/dashboard/realtime");
      expect(await hourLabels(ssrPage)).toEqual(bars);
      await ssrPage.goto(address);
      await expect(ssrPage.getByTestId("shown-zone")).toHaveText(named);
      const rendered = await shownRows(ssrPage);
      await serverOnly.close();

      // ... and as the hydrated page shows it.
      await page.goto(address);
      await expect(page.locator("main.dashboard")).toHaveAttribute("data-hydrated", "true");
      const hydrated = await shownRows(page);
      expect(hydrated).toEqual(rendered);

      // The viewer's local day: the calls that started on it there, each at its local time.
      const expected = onTheDay
        .map((i) => calls[i])
        .reverse()
        .map(({ id, at }) => [id, at.toISOString().replace(".000Z", "Z"), wallClock(at, zone)]);
      expect(hydrated).toEqual(expected);
      for (const [, , text] of expected) expect(text.slice(0, 10)).toBe(day);
      await screenshot(page, `zone-${zone.replace("/", "-")}`);

      // The CSV export takes the same day.
      const href = await page.getByTestId("export-csv").getAttribute("href");
      expect(href).toContain(`tz=${encodeURIComponent(named)}`);
      const csv = await (await page.request.get(href ?? "")).text();
      for (const [i, { id }] of calls.entries()) {
        expect(csv.includes(id), `${id} in the export`).toBe(onTheDay.includes(i));
      }

      // A call's page shows its times in the zone too, and says which.
      await page.goto(`/dashboard/calls/${calls[onTheDay[0]].id}`);
      await expect(page.getByTestId("call-zone")).toHaveText(named);
      await expect(page.locator(".facts")).toContainText(`${wallClock(calls[onTheDay[0]].at, zone)}:00`);
      expect(consoleErrors).toEqual([]);
    });
  });
}

test.describe("signing in", () => {
  test.use({ storageState: { cookies: [], origins: [] }, timezoneId: "America/New_York" });

  test("the sign-in page remembers the browser's zone, so the first dashboard is already in it", async ({ page }) => {
    await page.goto("/login");
    await expect
      .poll(async () => (await page.context().cookies()).find((cookie) => cookie.name === "switchboard_tz")?.value)
      .toBe("America/New_York");
    await page.getByLabel("Email").fill(TENANT_A_EMAIL);
    await page.getByLabel("Password").fill(E2E_PASSWORD);
    const rendered = page.waitForResponse((response) => response.url().endsWith("/dashboard/realtime"));
    await page.getByRole("button", { name: "Sign in" }).click();
    // The server's own document, before any script ran.
    expect(await (await rendered).text()).toContain('data-testid="shown-zone">America/New_York<');
  });
});
