// The dashboard's first load in headless Chromium (scripts/bench-page.sh runs it against a
// release server with the demo's data): bytes on the wire per kind of file, and the times from
// navigation to data on screen, hydration, the live link and the first live update, over fresh
// browser profiles (nothing cached). Prints a Markdown report for BENCHMARKS.md.
//
//   SWITCHBOARD_URL=http://127.0.0.1:5001 BENCH_EMAIL=… BENCH_PASSWORD=… node bench/first-load.mjs
import http from "node:http";
import { chromium } from "playwright-core";

const base = process.env.SWITCHBOARD_URL;
const email = process.env.BENCH_EMAIL;
const password = process.env.BENCH_PASSWORD;
const runs = Number(process.env.BENCH_RUNS ?? 10);
if (!base || !email || !password) throw new Error("SWITCHBOARD_URL, BENCH_EMAIL and BENCH_PASSWORD are required");
const page_path = "/dashboard/realtime";

/** Signs in the way the login form does; the session cookie's value. */
async function signIn() {
  const response = await fetch(`${base}/login`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ email, password }),
    redirect: "manual",
  });
  const cookie = response.headers.getSetCookie().find((c) => c.startsWith("switchboard_session="));
  if (!cookie) throw new Error(`sign-in failed: ${response.status} ${response.headers.get("location")}`);
  return cookie.split(";")[0].split("=")[1];
}

/** What a file is, for the breakdown. */
function kind(url) {
  const path = new URL(url).pathname;
  if (path === page_path) return "HTML";
  if (path.endsWith(".css")) return "CSS";
  if (path.endsWith("echarts.js")) return "ECharts";
  if (path.endsWith(".js")) return "JS";
  if (path.endsWith(".wasm")) return "WASM";
  if (path.startsWith("/rpc/")) return "server functions";
  return "other";
}

/** The size of a response's body as the server sends it for `encoding` (no decompression). */
function sizeAs(url, encoding, token) {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { "accept-encoding": encoding, cookie: `switchboard_session=${token}` } }, (response) => {
        let bytes = 0;
        response.on("data", (chunk) => (bytes += chunk.length));
        response.on("end", () => resolve({ bytes, encoding: response.headers["content-encoding"] ?? "identity" }));
      })
      .on("error", reject);
  });
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
};
const max = (values) => Math.max(...values);

const token = await signIn();
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const host = new URL(base).hostname;
const timings = { data: [], fcp: [], hydrated: [], live: [], update: [], charts: [] };
let transfer = null;
for (let run = 0; run < runs; run++) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.addCookies([{ name: "switchboard_session", value: token, domain: host, path: "/" }]);
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  const requests = new Map();
  cdp.on("Network.responseReceived", ({ requestId, response }) =>
    requests.set(requestId, { url: response.url, encoding: response.headers["content-encoding"] ?? response.headers["Content-Encoding"] ?? "identity" }),
  );
  cdp.on("Network.loadingFinished", ({ requestId, encodedDataLength }) => {
    const request = requests.get(requestId);
    if (request) request.bytes = encodedDataLength;
  });

  // Each moment is stamped by the page itself, on the first animation frame it holds.
  await page.addInitScript(() => {
    const text = (selector) => document.querySelector(selector)?.textContent ?? "";
    const checks = {
      data: () => /\d/.test(text('[data-metric="total"] .metric-card__value')),
      hydrated: () => document.querySelector("main")?.dataset.hydrated === "true",
      live: () => document.querySelector('[data-testid="connection-badge"]')?.dataset.state === "live",
      update: () => /updated/.test(text('[data-testid="last-update"]')),
      charts: () => document.querySelector('[data-testid="calls-per-hour-canvas"]')?.dataset.drawn !== undefined,
    };
    const marks = (window.__marks = {});
    const tick = () => {
      for (const [name, check] of Object.entries(checks)) if (!(name in marks) && check()) marks[name] = performance.now();
      if (Object.keys(marks).length < Object.keys(checks).length) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  const response = await page.goto(`${base}${page_path}`, { waitUntil: "commit" });
  const html = await response.text();
  // Data visible means: in the first HTML, so on screen at first paint.
  if (!/data-metric="total"[^]*?metric-card__value">[0-9]/.test(html)) throw new Error("the first HTML carries no total");
  await page.waitForFunction(() => Object.keys(window.__marks).length === 5, undefined, { timeout: 30_000 });
  const marks = await page.evaluate(() => window.__marks);
  for (const name of ["data", "hydrated", "live", "update", "charts"]) timings[name].push(marks[name]);
  timings.fcp.push(await page.evaluate(() => performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? NaN));
  await page.waitForLoadState("networkidle");
  if (run === 0) transfer = [...requests.values()].filter((r) => r.bytes !== undefined && r.url.startsWith("http"));
  await context.close();
}
await browser.close();

// The same files as an HTTPS browser gets them (Chromium offers brotli only over HTTPS).
const rows = new Map();
for (const request of transfer) {
  const row = rows.get(kind(request.url)) ?? { http: 0, encodings: new Set(), br: 0, gzip: 0, identity: 0 };
  row.http += request.bytes;
  row.encodings.add(request.encoding);
  for (const encoding of ["br", "gzip", "identity"]) row[encoding] += (await sizeAs(request.url, encoding, token)).bytes;
  rows.set(kind(request.url), row);
}
const kb = (bytes) => (bytes / 1024).toFixed(1);
console.log(`first load of ${page_path} (${runs} fresh profiles; transfer from the first)\n`);
console.log("| file | Chromium over HTTP (KB on the wire, encoding) | brotli KB | gzip KB | uncompressed KB |");
console.log("| --- | ---: | ---: | ---: | ---: |");
const sum = { http: 0, br: 0, gzip: 0, identity: 0 };
for (const [name, row] of [...rows].sort((a, b) => b[1].identity - a[1].identity)) {
  console.log(`| ${name} | ${kb(row.http)} (${[...row.encodings].join(", ")}) | ${kb(row.br)} | ${kb(row.gzip)} | ${kb(row.identity)} |`);
  for (const key of Object.keys(sum)) sum[key] += row[key];
}
console.log(`| **total** | **${kb(sum.http)}** | **${kb(sum.br)}** | **${kb(sum.gzip)}** | ${kb(sum.identity)} |`);
console.log("\n| from navigation to … | median ms | max ms |");
console.log("| --- | ---: | ---: |");
for (const [name, label] of [
  ["fcp", "first contentful paint"],
  ["data", "figures in the DOM (first animation frame: they are in the HTML)"],
  ["hydrated", "hydrated"],
  ["live", "live link up (badge: Live)"],
  ["update", "first live update applied (badge: updated …)"],
  ["charts", "charts drawn (ECharts)"],
]) {
  console.log(`| ${label} | ${median(timings[name]).toFixed(0)} | ${max(timings[name]).toFixed(0)} |`);
}
