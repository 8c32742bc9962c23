// Steady ingest load for the fault suite (scripts/test-faults.sh), as a platform would send it:
// a batch of call_started events every 100 ms, at most 4 requests in flight. Every event the
// server acknowledges (HTTP 200 or 202, the event `stored` or `queued`) is written to
// `<out>.acked`, one id per line, the moment the answer arrives; a summary goes to `<out>.json`
// when the process gets SIGTERM (after the requests in flight are answered or time out).
//
//   node load.mjs <base url> <ingest key> <out prefix> <run name>
import { appendFileSync, writeFileSync } from "node:fs";

const [base, key, out, run] = process.argv.slice(2);
const BATCH = 5;
const TENANTS = ["fault-a", "fault-b", "fault-c"];
const counts = { sent: 0, acknowledged: 0, stored: 0, queued: 0, refused: 0, unanswered: 0, statuses: {} };
let next = 0;
let inFlight = 0;
let stopping = false;

async function send() {
  inFlight += 1;
  const at = new Date().toISOString();
  const events = Array.from({ length: BATCH }, () => {
    const n = next++;
    return {
      type: "call_started",
      user_id: TENANTS[n % TENANTS.length],
      call_id: `${run}-${n}`,
      at,
      call: { phoneNumber: `+1555${String(n).padStart(7, "0")}` },
    };
  });
  counts.sent += events.length;
  try {
    const response = await fetch(`${base}/api/v1/calls/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify(events),
      signal: AbortSignal.timeout(45_000),
    });
    counts.statuses[response.status] = (counts.statuses[response.status] ?? 0) + 1;
    const body = await response.json().catch(() => null);
    const results = Array.isArray(body?.results) ? body.results : [];
    const acked = [];
    for (const result of results) {
      const id = events[result.index]?.call_id;
      if (!id) continue;
      if (result.status === "stored" || result.status === "queued") {
        acked.push(id);
        counts[result.status] += 1;
      } else {
        counts.refused += 1;
      }
    }
    if (![200, 202].includes(response.status) && acked.length > 0) {
      // Only a 200 or 202 acknowledges; anything else the platform would send again.
      counts.unanswered += acked.length;
    } else if (acked.length > 0) {
      appendFileSync(`${out}.acked`, acked.join("\n") + "\n");
      counts.acknowledged += acked.length;
    }
    counts.unanswered += events.length - results.length;
  } catch {
    counts.unanswered += events.length;
    counts.statuses.error = (counts.statuses.error ?? 0) + 1;
  } finally {
    inFlight -= 1;
  }
}

writeFileSync(`${out}.acked`, "");
const ticker = setInterval(() => {
  if (!stopping && inFlight < 4) void send();
}, 100);

process.on("SIGTERM", async () => {
  stopping = true;
  clearInterval(ticker);
  while (inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 50));
  writeFileSync(`${out}.json`, JSON.stringify(counts));
  process.exit(0);
});
