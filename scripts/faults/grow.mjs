// A producer growing one call's metadata turn by turn, as a transcript appended per turn would:
// call_started, then `<turns>` requests each carrying a call_updated that adds a new 14 KB key
// and a heartbeat of the same call. Prints a JSON summary: how each kind of event was answered.
//
//   node grow.mjs <base url> <ingest key> <turns>
const [base, key, turns] = process.argv.slice(2);
const call = { user_id: "grow", call_id: `grow-${Date.now()}` };
const summary = { requests: 0, failed_requests: 0, updates: {}, heartbeats: {} };

async function post(events) {
  summary.requests += 1;
  const response = await fetch(`${base}/api/v1/calls/events`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify(events),
    signal: AbortSignal.timeout(30_000),
  });
  if (response.status >= 500) summary.failed_requests += 1;
  const body = await response.json();
  return body.results;
}

await post([{ type: "call_started", ...call, at: new Date().toISOString() }]);
const text = "x".repeat(14_000);
for (let n = 0; n < Number(turns); n += 1) {
  const at = new Date().toISOString();
  const [update, beat] = await post([
    { type: "call_updated", ...call, at, call: { call_metadata: { [`turn-${n}`]: `${n} ${text}` } } },
    { type: "heartbeat", ...call, at },
  ]);
  const outcome = update.code ?? update.status;
  summary.updates[outcome] = (summary.updates[outcome] ?? 0) + 1;
  summary.heartbeats[beat.status] = (summary.heartbeats[beat.status] ?? 0) + 1;
}
process.stdout.write(JSON.stringify(summary) + "\n");
