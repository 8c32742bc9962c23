#!/usr/bin/env bash
# Ingest throughput into SQLite and PostgreSQL over HTTP (server/benches/ingest.rs), for
# BENCHMARKS.md. BENCH_SINGLE_CALLS / BENCH_BATCH_CALLS scale the run (4 events per call).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(rustc --version)"
RUST_LOG="${RUST_LOG:-error}" cargo bench -p server --bench ingest
