#!/usr/bin/env bash
# The dashboard's first load, for BENCHMARKS.md: a release build with the demo's data, then
#   1. the two browser bundles' sizes, then end2end/bench/first-load.mjs in headless Chromium, as
#      a tenant and as the admin: bytes per kind of file (as Chromium gets them over HTTP, and as
#      brotli / gzip), times to data, hydration, live link, first update;
#   2. Lighthouse (mobile profile, simulated throttling) as a demo tenant.
# The page's server-side render at 1 million calls is in scripts/bench-dashboard.sh.
# BENCH_RUNS sets the Chromium runs (default 10); BENCH_SKIP_BUILD=1 uses the existing build.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"
setup_browser_tests
[[ "${BENCH_SKIP_BUILD:-}" == 1 ]] || scripts/build.sh
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(chromium --version 2>/dev/null), node $(node --version)"

data="$(mktemp -d)"
out="$ROOT/target/bench"
mkdir -p "$out"
target/release/switchboard serve --demo --addr 127.0.0.1:0 --data-dir "$data" > "$out/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 300); do
  url="$(grep -om1 'http://127\.0\.0\.1:[0-9]*' "$out/server.log" || true)"
  [[ -n "$url" ]] && curl -sf "$url/api/dashboard/health" > /dev/null && break
  sleep 0.2
done
[[ -n "$url" ]] || { cat "$out/server.log"; exit 1; }
export SWITCHBOARD_URL="$url" BENCH_EMAIL="acme-dental@demo.switchboard.test" BENCH_PASSWORD="switchboard-demo"

log "the two browser bundles"
echo "| bundle | raw bytes | gzip -9 bytes | brotli bytes (as served) |"
echo "| --- | ---: | ---: | ---: |"
for name in frontend frontend-admin; do
  wasm="target/site/pkg/${name}_bg.wasm"
  echo "| \`$name\` | $(stat -c %s "$wasm") | $(gzip -9 -c "$wasm" | wc -c) | $(stat -c %s "$wasm.br") |"
done

log "first load in Chromium: a tenant (the customers' bundle)"
(cd end2end && node bench/first-load.mjs)
log "first load in Chromium: the admin (the admins' bundle)"
(cd end2end && BENCH_EMAIL="admin@demo.switchboard.test" node bench/first-load.mjs)

log "Lighthouse (mobile)"
token="$(curl -si -X POST "$url/login" --data-urlencode "email=$BENCH_EMAIL" --data-urlencode "password=$BENCH_PASSWORD" \
  | sed -n 's/^set-cookie: switchboard_session=\([^;]*\).*/\1/ip' | head -1)"
CHROME_PATH=/usr/bin/chromium end2end/node_modules/.bin/lighthouse "$url/dashboard/realtime" --quiet \
  --chrome-flags="--headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update --disable-sync --no-first-run" \
  --only-categories=performance,accessibility,best-practices \
  --extra-headers="{\"Cookie\":\"switchboard_session=$token\"}" \
  --output=json --output-path="$out/lighthouse.json"
node -e '
const r = require(process.argv[1]);
const score = (c) => Math.round(r.categories[c].score * 100);
const a = (id) => r.audits[id];
console.log("\n| Lighthouse (mobile, simulated throttling) | |\n| --- | ---: |");
for (const c of ["performance", "accessibility", "best-practices"]) console.log(`| ${c} | ${score(c)} |`);
for (const id of ["first-contentful-paint", "largest-contentful-paint", "total-blocking-time", "cumulative-layout-shift", "speed-index", "total-byte-weight"])
  console.log(`| ${a(id).title} | ${a(id).displayValue} |`);
const failed = Object.values(r.audits).filter((x) => x.score !== null && x.score < 1 && r.categories.accessibility.auditRefs.some((ref) => ref.id === x.id));
if (failed.length) console.log("\naccessibility findings: " + failed.map((x) => x.id).join(", "));
' "$out/lighthouse.json"
