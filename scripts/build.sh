#!/usr/bin/env bash
# Builds the browser bundles (Trunk → target/site) and the server.
#   scripts/build.sh            release server (target/release/switchboard)
#   scripts/build.sh --debug    debug server (target/debug/switchboard), as the tests use
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"

setup_build_tools

log "building the browser bundles"
trunk build --release --config Trunk.toml
log "building ECharts (only what the charts draw)"
esbuild frontend/echarts/entry.js --bundle --minify --format=iife --global-name=echarts \
  --target=es2020 --legal-comments=none --log-level=warning --outfile=target/site/pkg/echarts.js
# Brotli and gzip twins, served instead of compressing on every request.
node scripts/lib/compress.mjs target/site/pkg/*.js target/site/pkg/*.wasm target/site/pkg/*.css

if [[ "${1:-}" == "--debug" ]]; then
  log "building the server (debug)"
  cargo build -p server
else
  log "building the server (release)"
  cargo build -p server --release
fi
