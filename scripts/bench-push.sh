#!/usr/bin/env bash
# Live push under load (server/benches/push.rs), for BENCHMARKS.md: Switchboard over /ws and over
# Socket.IO (release build, embedded SQLite, every event stored before it is pushed) and a minimal
# Node socket.io 4.8 server doing the same room fan-out, driven by one load generator on this
# machine. Knobs: BENCH_CLIENTS, BENCH_TENANTS, BENCH_RATE, BENCH_SECONDS, BENCH_STEP_SECONDS,
# BENCH_IDLE_CLIENTS, BENCH_DATABASE_URL (see the top of server/benches/push.rs).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"
npm_install_locked "$ROOT/server/benches/push-peer"
# 10,000 clients, and as many connections on the server side: far more than 1,024 open files.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(rustc --version), node $(node --version)"
RUST_LOG="${RUST_LOG:-error}" cargo bench -p server --bench push
