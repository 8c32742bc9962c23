#!/usr/bin/env bash
# Dashboard reads at 10 million rows in PostgreSQL, ours vs the seed's way, over HTTP
# (server/benches/dashboard.rs), for BENCHMARKS.md. Generating the data takes several minutes and
# about 5 GB of disk; BENCH_KEEP=1 keeps the database for the next run, otherwise it is dropped.
# BENCH_REQUESTS / BENCH_SEED_REQUESTS set how many requests each way gets.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(rustc --version), $(psql --version 2>/dev/null || echo 'PostgreSQL')"
RUST_LOG="${RUST_LOG:-error}" cargo bench -p server --bench dashboard
