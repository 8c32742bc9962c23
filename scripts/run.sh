#!/usr/bin/env bash
# The README's first command: build everything and run the dashboard on the embedded default,
# with demo traffic. Extra arguments go to `switchboard serve` (e.g. --addr 127.0.0.1:8080).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"

"$ROOT/scripts/build.sh"
log "starting Switchboard (Ctrl-C stops it)"
exec target/release/switchboard serve --demo "$@"
