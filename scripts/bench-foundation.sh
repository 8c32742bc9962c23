#!/usr/bin/env bash
# Foundation benchmarks for BENCHMARKS.md: cold and incremental build times, bundle size, and the
# SSR response time of /dashboard/realtime. Cold builds use a scratch target folder, so the
# regular target/ is left as it is.
#   scripts/bench-foundation.sh            everything (cold builds take ~10 minutes on 2 cores)
#   scripts/bench-foundation.sh --no-cold  skip the cold builds
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"
setup_build_tools
if ! command -v wrk >/dev/null; then
  log "installing wrk (HTTP load generator)"
  as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi

seconds() { local start=$SECONDS; "$@" >/dev/null 2>&1; echo $((SECONDS - start)); }
trunk_build() { trunk build --release --config Trunk.toml; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(rustc --version)"

if [[ "${1:-}" != "--no-cold" ]]; then
  scratch="$(mktemp -d)"
  trap 'rm -rf "$scratch"' EXIT
  echo "cold wasm bundle (trunk, wasm-release + wasm-opt -Oz): $(CARGO_TARGET_DIR="$scratch" seconds trunk_build) s"
  echo "cold server, debug:   $(CARGO_TARGET_DIR="$scratch" seconds cargo build -p server) s"
  echo "cold server, release: $(CARGO_TARGET_DIR="$scratch" seconds cargo build -p server --release) s"
fi

# Warm the regular target folder, then time a one-component edit on both sides.
trunk_build >/dev/null 2>&1
cargo build -p server --release >/dev/null 2>&1
component=app/src/components/metric_card.rs
cp "$component" "$component.bench-backup"
trap 'mv "$component.bench-backup" "$component"' EXIT
printf '\n// benchmark edit %s\n' "$(date +%s%N)" >>"$component"
echo "incremental after editing one component: wasm bundle $(seconds trunk_build) s, release server $(seconds cargo build -p server --release) s"
mv "$component.bench-backup" "$component"
trap - EXIT
trunk_build >/dev/null 2>&1
gzip -9 --keep --force target/site/pkg/*.js target/site/pkg/*.wasm target/site/pkg/*.css
cargo build -p server --release >/dev/null 2>&1

wasm=target/site/pkg/frontend_bg.wasm
js=target/site/pkg/frontend.js
echo "wasm: $(stat -c %s "$wasm") bytes raw, $(gzip -9 -c "$wasm" | wc -c) bytes gzip -9"
echo "js glue: $(stat -c %s "$js") bytes raw, $(gzip -9 -c "$js" | wc -c) bytes gzip -9"

# SSR: the release server on a free port, loaded by wrk from a second process.
data="$(mktemp -d)"
# wrk is one client asking as fast as it can: the per-client allowance would measure itself.
SWITCHBOARD_CLIENT_RATE=0 target/release/switchboard serve --addr 127.0.0.1:0 --data-dir "$data" >"$data/stdout" 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$data"' EXIT
until url=$(grep -o 'http://127.0.0.1:[0-9]*' "$data/stdout"); do sleep 0.1; done
page="$url/dashboard/realtime"
curl -fsS -o /dev/null "$page"
echo "SSR $page, 1 connection, 10 s:"
wrk -t1 -c1 -d10s --latency "$page" | grep -E "Latency|50%|99%|Requests/sec"
echo "SSR $page, 32 connections, 10 s:"
wrk -t2 -c32 -d10s --latency "$page" | grep -E "Latency|50%|99%|Requests/sec"
