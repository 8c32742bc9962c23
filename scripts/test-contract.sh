#!/usr/bin/env bash
# The API contract, checked by a machine: Schemathesis (pinned in setup.sh) reads
# /api/openapi.json of a real server and sends what the schema allows and what it forbids —
# as a tenant, as an admin, and as the platform with the ingest key — and every answer must be
# one the schema declares, with no 5xx anywhere. Run by scripts/test.sh; alone:
#
#   scripts/test-contract.sh [--max-examples N]     (after scripts/build.sh --debug)
#
# Reports (JUnit, and a pytest file reproducing any failure) land in target/contract/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"

MAX_EXAMPLES=50
if [[ "${1:-}" == "--max-examples" ]]; then
  MAX_EXAMPLES="$2"
fi

setup_contract_tests

BIN="${SWITCHBOARD_BIN:-$ROOT/target/debug/switchboard}"
[[ -x "$BIN" ]] || { echo "no $BIN: run scripts/build.sh --debug first" >&2; exit 1; }

WORK="$(mktemp -d)"
REPORTS="$ROOT/target/contract"
rm -rf "$REPORTS" && mkdir -p "$REPORTS"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# A server of its own on a fresh data folder; secrets of its own, passed as the platform would.
export JWT_SECRET="contract-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export INGEST_API_KEY="contract-ingest-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export RUST_LOG="${RUST_LOG:-error}"
# Sign-in throttling answers 429 by design; the fuzzer signs in far faster than a person.
# It also asks far faster than a client may (SWITCHBOARD_CLIENT_RATE, whose 429 the document
# declares and an API test checks): the allowance is lifted so every operation gets an answer.
SWITCHBOARD_CLIENT_RATE=0 "$BIN" serve --addr 127.0.0.1:0 --data-dir "$WORK/data" --site-root "$ROOT/target/site" \
  >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_PID=$!
for _ in $(seq 1 200); do
  URL="$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$WORK/server.out" | head -n1 || true)"
  [[ -n "$URL" ]] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.err" >&2; exit 1; }
  sleep 0.1
done
[[ -n "${URL:-}" ]] || { echo "the server did not start" >&2; exit 1; }
log "contract: server at $URL"

# Calls to read, so the schema's paths with ids and the tenant's figures have something behind them.
now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
curl -fsS -X POST "$URL/api/v1/calls/events" -H "Authorization: Bearer $INGEST_API_KEY" \
  -H "Content-Type: application/json" -d "[
    {\"type\": \"call_started\", \"user_id\": \"acme\", \"call_id\": \"contract-1\", \"at\": \"$now\",
     \"call\": {\"phoneNumber\": \"+12025550100\", \"agentConfigId\": \"agent-a\"}},
    {\"type\": \"call_started\", \"user_id\": \"acme\", \"call_id\": \"contract-2\", \"at\": \"$now\"},
    {\"type\": \"call_ended\", \"user_id\": \"acme\", \"call_id\": \"contract-2\", \"at\": \"$now\",
     \"outcome\": \"completed\", \"duration\": 42}
  ]" >/dev/null

# API tokens of users of this database, as a script would hold them: acme's owner's reads acme;
# an admin's acts as an operator (no token manages users).
source "$ROOT/scripts/lib/tokens.sh"
TENANT_TOKEN="$(script_token --data-dir "$WORK/data" owner@acme.contract.test owner acme)"
ADMIN_TOKEN="$(script_token --data-dir "$WORK/data" admin@contract.test admin)"

failed=0
# One fuzzer run: a name, the bearer to send, and which operations.
fuzz() {
  local name="$1" bearer="$2"
  shift 2
  log "contract: $name"
  # One worker: with two, CPython 3.11's parser fails now and then when Hypothesis parses
  # lambdas from both threads at once ("AST constructor recursion depth mismatch").
  if ! (cd "$REPORTS" && "$ST" --config-file "$ROOT/scripts/schemathesis.toml" run "$URL/api/openapi.json" \
      --header "Authorization: Bearer $bearer" \
      --checks all \
      --max-examples "$MAX_EXAMPLES" \
      --seed 1 \
      --workers 1 \
      --request-timeout 30 \
      --suppress-health-check all \
      --report junit,pytest \
      --report-junit-path "$REPORTS/$name.xml" \
      --report-pytest-path "$REPORTS/$name.py" \
      --output-truncate true \
      "$@"); then
    failed=1
  fi
}

# A tenant: the dashboard, its own calls and sign-in (the admin routes answer it 403, as the
# schema says).
fuzz tenant "$TENANT_TOKEN" --include-path-regex '^/api/(dashboard|auth|admin)/'
# An admin: every tenant, the ops board, the DLQ and reconciliation.
fuzz admin "$ADMIN_TOKEN" --include-path-regex '^/api/(dashboard|admin)/'
# The audit log is for admins themselves, whose sign-in no API token stands for.
ADMIN_SESSION="$(curl -fsS -X POST "$URL/api/auth/token" -H "Content-Type: application/json" \
  -d "{\"email\": \"admin@contract.test\", \"password\": \"$SCRIPT_USER_PASSWORD\"}" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')"
fuzz audit "$ADMIN_SESSION" --include-path-regex '^/api/admin/audit$'
# The platform: ingest with its key.
fuzz ingest "$INGEST_API_KEY" --include-path-regex '^/api/v1/calls/'

# A 5xx the schema happened to declare is still a failure: the server's log must hold no panic
# and no internal error.
if grep -E "panicked|internal error" "$WORK/server.err" >/dev/null; then
  echo "the server logged a panic or an internal error during the contract run:" >&2
  grep -E "panicked|internal error" "$WORK/server.err" | head -20 >&2
  failed=1
fi
exit "$failed"
