#!/usr/bin/env bash
# The hostile corpus of the fault suite: the probes of issue 11 and our own, sent to a running
# server (JWT_SECRET and INGEST_API_KEY in the environment, as scripts/test-faults.sh sets them).
# Prints a Markdown table; exits non-zero on any 5xx, any answer other than the one expected,
# or any cross-tenant read.
#
#   scripts/faults/hostile.sh <base url> <scratch folder>
set -uo pipefail
URL="$1"
WORK="$2"
BIN="${SWITCHBOARD_BIN:-$(dirname "$0")/../../target/debug/switchboard}"
source "$(dirname "$0")/../lib/tokens.sh"
# The server's database: FAULTS_DATABASE_URL, else the SQLite file in the scratch folder.
if [[ -n "${FAULTS_DATABASE_URL:-}" ]]; then
  STORAGE=(--database-url "$FAULTS_DATABASE_URL")
else
  STORAGE=(--data-dir "$WORK")
fi
A="$(script_token "${STORAGE[@]}" owner@fault-a.test owner fault-a)"
B="$(script_token "${STORAGE[@]}" owner@fault-b.test owner fault-b)"
script_token "${STORAGE[@]}" admin@fault.test admin >/dev/null
# A browser's session, for the cross-site probes: only a sign-in is a cookie.
sign_in() {
  curl -fsS -X POST "$URL/api/auth/token" -H "Content-Type: application/json" \
    -d "{\"email\": \"$1\", \"password\": \"$SCRIPT_USER_PASSWORD\"}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}
ADMIN_SESSION="$(sign_in admin@fault.test)"
A_SESSION="$(sign_in owner@fault-a.test)"
NOW="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
bad=0
rows=()

# probe <name> <expected status regex> <curl arguments…>: one request, its status checked.
probe() {
  local name="$1" expected="$2"
  shift 2
  local status
  status="$(curl -sS -o "$WORK/answer" -w '%{http_code}' --max-time 40 "$@" 2>/dev/null || echo 000)"
  local verdict="ok"
  if [[ "$status" =~ ^5 || "$status" == "000" || ! "$status" =~ ^($expected)$ ]]; then
    verdict="FAILED"
    bad=1
  fi
  rows+=("| $name | ${expected//|/ or } | $status | $verdict |")
}

ingest() { curl -sS --max-time 40 -X POST "$URL/api/v1/calls/events" -H "Authorization: Bearer $INGEST_API_KEY" \
  -H "Content-Type: application/json" "$@"; }
started() { printf '{"type":"call_started","user_id":"%s","call_id":"%s","at":"%s"%s}' "$1" "$2" "$NOW" "${3:-}"; }

# Tenant A's calls, which nobody else may read.
ingest -d "[$(started fault-a secret-a-1), $(started fault-a secret-a-2 ',"call":{"livekitRoomSid":"RM_held"}')]" >/dev/null

# Dates: far future with a negative offset (panicked once), negative years, garbage.
for to in "9999-12-31T23:59:59-01:00" "-9999-01-01T00:00:00Z" "+275760-09-13T00:00:00Z" "0000-00-00" "%00"; do
  probe "recent-calls to=$to" "400" -H "Authorization: Bearer $A" "$URL/api/dashboard/recent-calls?to=$to"
  probe "calls.csv from=$to" "400" -H "Authorization: Bearer $A" "$URL/api/dashboard/calls.csv?from=$to"
done
probe "hours=4294967296" "400" -H "Authorization: Bearer $A" "$URL/api/dashboard/metrics?hours=4294967296"
probe "limit=-1" "400" -H "Authorization: Bearer $A" "$URL/api/dashboard/recent-calls?limit=-1"

# Ingest: 20 good events and one whose room sid another of the tenant's calls holds: the 20 are
# stored, the one refused. Another tenant may use the same sid: a sid is unique per tenant, so
# nobody can squat another tenant's.
ingest -d "$(started fault-b holder-b ',"call":{"livekitRoomSid":"RM_b_held"}')" >/dev/null
batch="["
for n in $(seq 1 20); do batch+="$(started fault-b "good-$n"),"; done
batch+="$(started fault-b squatter ',"call":{"livekitRoomSid":"RM_b_held"}')]"
probe "20 good + 1 held room sid" "207" -X POST "$URL/api/v1/calls/events" \
  -H "Authorization: Bearer $INGEST_API_KEY" -H "Content-Type: application/json" -d "$batch"
stored="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["stored"])' "$WORK/answer" 2>/dev/null || echo 0)"
[[ "$stored" == "20" ]] || bad=1
rows+=("| … of which stored | 20 | $stored | $([[ $stored == 20 ]] && echo ok || echo FAILED) |")
probe "tenant B uses tenant A's room sid" "200" -X POST "$URL/api/v1/calls/events" \
  -H "Authorization: Bearer $INGEST_API_KEY" -H "Content-Type: application/json" \
  -d "$(started fault-b own-sid ',"call":{"livekitRoomSid":"RM_held"}')"
# Another tenant naming A's call id: refused, A's call untouched.
probe "tenant B writes A's call id" "422" -X POST "$URL/api/v1/calls/events" \
  -H "Authorization: Bearer $INGEST_API_KEY" -H "Content-Type: application/json" \
  -d "$(printf '{"type":"call_ended","user_id":"fault-b","call_id":"secret-a-1","at":"%s","outcome":"completed"}' "$NOW")"

# Malformed and oversized bodies, unicode edge cases.
python3 -c 'print("[" * 100000 + "]" * 100000)' >"$WORK/nested.json"
probe "JSON nested 100,000 deep" "400" -X POST "$URL/api/v1/calls/events" -H "Authorization: Bearer $INGEST_API_KEY" \
  -H "Content-Type: application/json" --data-binary "@$WORK/nested.json"
head -c 9000000 /dev/zero | tr '\0' ' ' >"$WORK/big.json"
probe "9 MB ingest body" "413|100000" -X POST "$URL/api/v1/calls/events" -H "Authorization: Bearer $INGEST_API_KEY" \
  -H "Content-Type: application/json" --data-binary "@$WORK/big.json"
probe "NUL in an id" "422" -X POST "$URL/api/v1/calls/events" -H "Authorization: Bearer $INGEST_API_KEY" \
  -H "Content-Type: application/json" -d "$(started fault-a 'nul\u0000id')"
probe "lone surrogate" "400|422" -X POST "$URL/api/v1/calls/events" -H "Authorization: Bearer $INGEST_API_KEY" \
  -H "Content-Type: application/json" -d "$(started fault-a 'sur\ud800')"
probe "RTL override and emoji in a phone" "200|422" -X POST "$URL/api/v1/calls/events" \
  -H "Authorization: Bearer $INGEST_API_KEY" -H "Content-Type: application/json" \
  -d "$(started fault-a rtl-1 ',"call":{"phoneNumber":"\u202e+1555☎️"}')"

# Sign-in: 2 MB emails, 40 times; the server must not grow by their size.
rss_before="$(ps -o rss= -p "$(pgrep -f "serve --addr 127.0.0.1:0 --data-dir $WORK/s3" | head -n1)" 2>/dev/null || echo 0)"
python3 -c 'import json; print(json.dumps({"email": "a" * 2_000_000 + "@x.test", "password": "whatever"}))' >"$WORK/login.json"
python3 -c 'print("email=" + "a" * 2_000_000 + "%40x.test&password=whatever")' >"$WORK/login.form"
for _ in $(seq 1 40); do
  probe "2 MB email to /api/auth/token" "400|413|429|100000" -X POST "$URL/api/auth/token" \
    -H "Content-Type: application/json" --data-binary "@$WORK/login.json"
  # The server stops reading at the form's 4 KB limit: curl then gets the 413, or (still
  # sending, after its 100 Continue) a closed connection, which it shows as 100000.
  probe "2 MB email to the /login form" "413|100000" -X POST "$URL/login" \
    -H "Content-Type: application/x-www-form-urlencoded" --data-binary "@$WORK/login.form"
done
rss_after="$(ps -o rss= -p "$(pgrep -f "serve --addr 127.0.0.1:0 --data-dir $WORK/s3" | head -n1)" 2>/dev/null || echo 0)"
growth=$(( (rss_after - rss_before) / 1024 ))
if (( growth > 50 )); then bad=1; fi
rows+=("| server growth over 80 × 2 MB sign-ins | < 50 MB | ${growth} MB | $([[ $growth -le 50 ]] && echo ok || echo FAILED) |")

# Forged and foreign credentials.
forged="$(python3 -c 'import base64, json
b = lambda o: base64.urlsafe_b64encode(json.dumps(o).encode()).rstrip(b"=").decode()
print(b({"alg": "none", "typ": "JWT"}) + "." + b({"sub": "x", "role": "admin", "aud": "switchboard", "exp": 4102444800}) + ".")')"
probe "alg=none admin token" "401" -H "Authorization: Bearer $forged" "$URL/api/admin/dlq"
probe "the ingest key as a dashboard token" "401" -H "Authorization: Bearer $INGEST_API_KEY" "$URL/api/dashboard/metrics"
probe "a dashboard token as the ingest key" "401" -X POST "$URL/api/v1/calls/events" -H "Authorization: Bearer $A" \
  -H "Content-Type: application/json" -d "$(started fault-a x)"
probe "tenant B names tenant A" "403" -H "Authorization: Bearer $B" "$URL/api/dashboard/recent-calls?user_id=fault-a"
probe "tenant reads the DLQ" "403" -H "Authorization: Bearer $B" "$URL/api/admin/dlq"
probe "tenant retries the DLQ" "403" -X POST -H "Authorization: Bearer $B" "$URL/api/admin/dlq/retry"
probe "cookie POST from another site" "403" -X POST -H "Origin: https://evil.example" \
  -H "Cookie: switchboard_session=$ADMIN_SESSION" "$URL/api/admin/dlq/retry"
probe "WebSocket from another site" "403" -H "Origin: https://evil.example" -H "Cookie: switchboard_session=$A_SESSION" \
  -H "Connection: Upgrade" -H "Upgrade: websocket" -H "Sec-WebSocket-Version: 13" \
  -H "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==" "$URL/ws"
probe "path traversal" "400|404" --path-as-is "$URL/pkg/../../../../etc/passwd"
probe "encoded path traversal" "400|404" --path-as-is "$URL/pkg/%2e%2e/%2e%2e/%2e%2e/etc/passwd"
hdrs=()
for n in $(seq 1 120); do hdrs+=(-H "X-Flood-$n: $(head -c 1000 /dev/zero | tr '\0' a)"); done
probe "120 KB of headers" "200|400|431" "${hdrs[@]}" "$URL/api/dashboard/health"

# Fair shares and no lockouts (issue 22).
# - A script's API tokens count against their user: tenant A's owner holding all its sockets
#   leaves tenant B's owner's share alone.
read -r a_held a_refused b_ok <<<"$(node "$(dirname "$0")/quota.mjs" "$URL" "$A" "$B" 32 || echo "0 0 0")"
quota_ok=$(( a_held == 32 && a_refused == 1 && b_ok == 1 ))
rows+=("| 32 Socket.IO sockets of tenant A's API token, then one more, then tenant B's | 32, refused, connected | $a_held, $([[ $a_refused == 1 ]] && echo refused || echo connected), $([[ $b_ok == 1 ]] && echo connected || echo refused) | $([[ $quota_ok == 1 ]] && echo ok || echo FAILED) |")
(( quota_ok == 1 )) || bad=1
# - Eleven wrong passwords from one address (127.0.0.2), then the owner from another.
if [[ -n "${FAULTS_DATABASE_URL:-}" ]]; then
  printf 'owner password of the fault suite\n' | "$BIN" user add --database-url "$FAULTS_DATABASE_URL" \
    --email owner@fault.test --role owner --tenant fault-a --password-stdin >/dev/null
  for _ in $(seq 1 11); do
    curl -sS -o /dev/null --interface 127.0.0.2 --max-time 20 -X POST "$URL/api/auth/token" \
      -H "Content-Type: application/json" -d '{"email":"owner@fault.test","password":"wrong, wrong, wrong"}'
  done
  probe "the guesser's 12th try" "429" --interface 127.0.0.2 -X POST "$URL/api/auth/token" \
    -H "Content-Type: application/json" -d '{"email":"owner@fault.test","password":"owner password of the fault suite"}'
  probe "the owner, from elsewhere, after 11 wrong guesses by another" "200" -X POST "$URL/api/auth/token" \
    -H "Content-Type: application/json" -d '{"email":"owner@fault.test","password":"owner password of the fault suite"}'
fi
# - Connections that send nothing, or only the HTTP/2 preface, are closed within the deadline.
idle="$(python3 - "${URL#http://}" <<'PY'
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
verdicts = []
for greeting in (b"", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"):
    s = socket.create_connection((host, int(port)))
    s.sendall(greeting)
    s.settimeout(25)
    started = time.monotonic()
    try:
        while s.recv(4096):
            pass
        verdicts.append(f"closed after {time.monotonic() - started:.0f} s")
    except socket.timeout:
        verdicts.append("open after 25 s")
    s.close()
print(" / ".join(verdicts))
PY
)"
idle_ok=$([[ "$idle" != *open* && "$idle" == *closed*closed* ]] && echo 1 || echo 0)
rows+=("| a connection sending nothing / only the HTTP/2 preface | closed within 10 s | $idle | $([[ $idle_ok == 1 ]] && echo ok || echo FAILED) |")
(( idle_ok == 1 )) || bad=1
# - The demo's data folder: a plain serve on it refuses to start, and says why.
"$BIN" serve --demo --addr 127.0.0.1:0 --data-dir "$WORK/demo" --site-root "$WORK" >"$WORK/demo.out" 2>&1 &
demo_pid=$!
for _ in $(seq 1 100); do grep -q 'http://127' "$WORK/demo.out" && break; sleep 0.1; done
kill -TERM "$demo_pid" 2>/dev/null; wait "$demo_pid" 2>/dev/null
if timeout 20 "$BIN" serve --addr 127.0.0.1:0 --data-dir "$WORK/demo" --site-root "$WORK" >/dev/null 2>"$WORK/plain.err"; then
  demo_verdict="served"
else
  demo_verdict="refused$(grep -q 'written by the demo' "$WORK/plain.err" && echo ', saying why')"
fi
rows+=("| plain serve on the demo's data folder | refused, saying why | $demo_verdict | $([[ $demo_verdict == 'refused, saying why' ]] && echo ok || echo FAILED) |")
[[ "$demo_verdict" == "refused, saying why" ]] || bad=1

# No cross-tenant read: nothing B can read names A's calls.
leak=0
for path in "/api/dashboard/recent-calls?limit=100" "/api/dashboard/active-calls" "/api/dashboard/calls.csv"; do
  if curl -sS --max-time 20 -H "Authorization: Bearer $B" "$URL$path" | grep -q "secret-a-"; then leak=1; fi
done
if curl -sS --max-time 20 -H "Authorization: Bearer $A" "$URL/api/dashboard/recent-calls?limit=100" | grep -q '"secret-a-1"'; then :; else
  rows+=("| tenant A reads its own calls | yes | no | FAILED |"); bad=1
fi
rows+=("| tenant B's reads naming A's calls | 0 | $leak | $([[ $leak == 0 ]] && echo ok || echo FAILED) |")
(( leak == 0 )) || bad=1

echo "Hostile corpus: ${#rows[@]} checks."
echo
echo "| probe | expected | answered | verdict |"
echo "| --- | --- | --- | --- |"
printf '%s\n' "${rows[@]}" | sort | uniq -c | sed -E 's/^ *([0-9]+) \| ([^|]*)\|/| \2(×\1) |/; s/ \(×1\) / /'
exit "$bad"
