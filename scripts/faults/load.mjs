// Steady ingest load for the fault suite (scripts/test-faults.sh), as a platform would send it,
// every 100 ms, at most 4 requests in flight:
// - `starts` (the default): a batch of 5 call_started events;
// - `lifecycle`: 2 new calls started, a heartbeat for each live call that has not beaten for a
//   second, and call_ended (outcome `completed`, duration 195 s) for each call live for 6 s; on
//   SIGTERM every call still live is ended before the summary.
// Every event the server acknowledges (HTTP 200 or 202, the event `stored` or `queued`) is
// recorded the moment the answer arrives: call_started ids in `<out>.acked`, call_ended ids in
// `<out>.ended`, one per line. A summary goes to `<out>.json` when the process gets SIGTERM
// (after the requests in flight are answered or time out).
//
//   node load.mjs <base url> <ingest key> <out prefix> <run name> [starts|lifecycle]
import { appendFileSync, writeFileSync } from "node:fs";

const [base, key, out, run, mode = "starts"] = process.argv.slice(2);
const TENANTS = ["fault-a", "fault-b", "fault-c"];
const DURATION = 195;
const counts = { sent: 0, acknowledged: 0, stored: 0, queued: 0, refused: 0, unanswered: 0, ended: 0, statuses: {} };
let next = 0;
let inFlight = 0;
let stopping = false;
/** Live calls of the lifecycle mode: id → {user_id, started (ms), beat (ms)}. */
const live = new Map();

function newCall() {
  const n = next++;
  return {
    type: "call_started",
    user_id: TENANTS[n % TENANTS.length],
    call_id: `${run}-${n}`,
    at: new Date().toISOString(),
    call: { phoneNumber: `+1555${String(n).padStart(7, "0")}` },
  };
}

function lifecycleBatch(endAll) {
  const now = Date.now();
  const at = new Date(now).toISOString();
  const events = [];
  for (const [id, call] of live) {
    if (endAll || now - call.started >= 6_000) {
      events.push({ type: "call_ended", user_id: call.user_id, call_id: id, at, outcome: "completed", duration: DURATION });
      live.delete(id);
    } else if (now - call.beat >= 1_000) {
      events.push({ type: "heartbeat", user_id: call.user_id, call_id: id, at });
      call.beat = now;
    }
  }
  if (!endAll) {
    for (let i = 0; i < 2; i += 1) {
      const started = newCall();
      live.set(started.call_id, { user_id: started.user_id, started: now, beat: now });
      events.push(started);
    }
  }
  return events;
}

async function send(events) {
  if (events.length === 0) return;
  inFlight += 1;
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
    const started = [];
    const ended = [];
    for (const result of results) {
      const event = events[result.index];
      if (!event) continue;
      if (result.status === "stored" || result.status === "queued") {
        if (event.type === "call_started") started.push(event.call_id);
        if (event.type === "call_ended") ended.push(event.call_id);
        counts[result.status] += 1;
      } else {
        counts.refused += 1;
      }
    }
    if (![200, 202].includes(response.status)) {
      // Only a 200 or 202 acknowledges; anything else the platform would send again.
      counts.unanswered += started.length + ended.length;
    } else {
      if (started.length > 0) appendFileSync(`${out}.acked`, started.join("\n") + "\n");
      if (ended.length > 0) appendFileSync(`${out}.ended`, ended.join("\n") + "\n");
      counts.acknowledged += started.length;
      counts.ended += ended.length;
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
writeFileSync(`${out}.ended`, "");
const ticker = setInterval(() => {
  if (stopping || inFlight >= 4) return;
  void send(mode === "lifecycle" ? lifecycleBatch(false) : Array.from({ length: 5 }, newCall));
}, 100);

process.on("SIGTERM", async () => {
  stopping = true;
  clearInterval(ticker);
  while (inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 50));
  if (mode === "lifecycle") await send(lifecycleBatch(true));
  writeFileSync(`${out}.json`, JSON.stringify(counts));
  process.exit(0);
});
