#!/usr/bin/env bash
# The fault suite: real processes, a PostgreSQL cluster and a redis-server of its own (on free
# ports, so stopping them never touches the machine's shared services), ingest load running
# throughout, and every acknowledged event counted in the database afterwards.
#
#   1. PostgreSQL stopped for 120 s under load that starts calls, beats and ends them, with
#      reconciliation every 3 s: nothing acknowledged is lost, nothing becomes a final failure,
#      no call is closed wrongly, the DLQ drains by itself within 60 s of the database's return,
#      the dashboard answers 503 JSON meanwhile and never hangs.
#   2. Redis stopped and started under two instances in Redis mode: the database keeps serving,
#      a change made on one instance reaches the other again within 5 s, nothing is lost.
#   3. The server SIGKILLed under load and restarted: nothing acknowledged is lost, the live
#      registry is rebuilt from the database.
#   4. A producer growing one call's metadata turn by turn for 2,000 updates: the over-limit
#      updates refused (`metadata_too_large`), everything else stored, RSS under 300 MB.
#   5. One tenant's Socket.IO client toggling subscriptions flat out for 30 s: the server stays
#      up and under 300 MB, and none of another tenant's requests fails or waits over 5 s.
#   6. A hostile corpus (scripts/faults/hostile.sh): no 5xx, no panic, no cross-tenant read, no
#      lockout, no shared quota, no idle connection held, no demo data served.
#
# Figures go to target/faults/report.md (RELIABILITY.md holds a run's). Run by scripts/test.sh;
# alone, after scripts/build.sh --debug:  scripts/test-faults.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"

BIN="${SWITCHBOARD_BIN:-$ROOT/target/debug/switchboard}"
[[ -x "$BIN" ]] || { echo "no $BIN: run scripts/build.sh --debug first" >&2; exit 1; }
PGBIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
[[ -x "$PGBIN/initdb" ]] || { echo "PostgreSQL's initdb not found under /usr/lib/postgresql" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "redis-server not found" >&2; exit 1; }

WORK="$(mktemp -d /tmp/switchboard-faults.XXXXXX)"
chmod 755 "$WORK"
REPORT_DIR="$ROOT/target/faults"
mkdir -p "$REPORT_DIR"
REPORT="$REPORT_DIR/report.md"
PIDS=()
failed=0

cleanup() {
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  [[ -f "$WORK/pg/postmaster.pid" ]] && as_postgres "$PGBIN/pg_ctl" -D "$WORK/pg" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "FAULT SUITE FAILURE: $*" >&2; failed=1; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# initdb and postgres refuse to run as root.
as_postgres() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
now_ms() { date +%s%3N; }

# --- PostgreSQL and Redis of our own -----------------------------------------------------------
PGPORT="$(free_port)"
mkdir -p "$WORK/pg" "$WORK/pgsock"
[[ $(id -u) -eq 0 ]] && chown postgres "$WORK/pg" "$WORK/pgsock"
as_postgres "$PGBIN/initdb" -D "$WORK/pg" -A trust -U postgres >/dev/null
pg_start() {
  as_postgres "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pgsock/log" -w \
    -o "-p $PGPORT -k $WORK/pgsock -c listen_addresses=127.0.0.1 -c fsync=on" start >/dev/null
}
pg_stop() { as_postgres "$PGBIN/pg_ctl" -D "$WORK/pg" -m fast -w stop >/dev/null; }
psql_q() { "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -d "$1" -Atq -c "$2"; }
pg_start

REDIS_PORT="$(free_port)"
REDIS_PID=""
redis_start() {
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$WORK" --logfile "$WORK/redis.log" &
  REDIS_PID=$!
  PIDS+=("$REDIS_PID")
  until redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; do sleep 0.1; done
}
redis_stop() { kill "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null || true; }

export JWT_SECRET="faults-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export INGEST_API_KEY="faults-ingest-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export RUST_LOG="${RUST_LOG:-warn}"

# Starts a server on `$1` (data folder) with the rest as arguments; sets SERVER_PID, SERVER_URL.
start_server() {
  local dir="$1"
  shift
  "$BIN" serve --addr 127.0.0.1:0 --data-dir "$dir" --site-root "$ROOT/target/site" "$@" \
    >"$dir.out" 2>>"$dir.err" &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  SERVER_URL=""
  for _ in $(seq 1 300); do
    SERVER_URL="$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$dir.out" | head -n1 || true)"
    [[ -n "$SERVER_URL" ]] && return
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$dir.err" >&2; exit 1; }
    sleep 0.1
  done
  echo "the server did not start" >&2
  exit 1
}

# Each scenario's API tokens are made in its own database, by users made for the suite.
source "$ROOT/scripts/lib/tokens.sh"

# Starts the load generator against `$1`, named `$2`, in mode `$3` (default `starts`; see
# load.mjs); sets LOAD_PID.
start_load() {
  node "$ROOT/scripts/faults/load.mjs" "$1" "$INGEST_API_KEY" "$WORK/$2" "$2" "${3:-starts}" &
  LOAD_PID=$!
  PIDS+=("$LOAD_PID")
}
stop_load() { kill -TERM "$LOAD_PID"; wait "$LOAD_PID" || true; }

# Waits (up to $2 s) until the DLQ of the server at $1 is empty; prints the seconds it took.
drain_dlq() {
  local url="$1" deadline=$(( $(date +%s) + $2 )) started
  started="$(now_ms)"
  while (( $(date +%s) < deadline )); do
    local depth
    depth="$(curl -fsS --max-time 5 -H "Authorization: Bearer $ADMIN" "$url/api/admin/dlq?limit=1" \
      | python3 -c 'import json, sys; print(json.load(sys.stdin)["depth"])' 2>/dev/null || echo x)"
    if [[ "$depth" == "0" ]]; then
      echo "$(( ($(now_ms) - started) / 1000 ))"
      return 0
    fi
    sleep 1
  done
  echo "never"
  return 1
}

# Acknowledged events of run `$1` missing from the database `$2`; prints "acked stored lost".
count_lost() {
  local run="$1" db="$2"
  # One psql session: the temporary table lives as long as it.
  "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -d "$db" -Atq <<SQL
CREATE TEMP TABLE acked (id text);
\\copy acked FROM '$WORK/$run.acked'
SELECT (SELECT count(DISTINCT id) FROM acked) || ' ' ||
       (SELECT count(*) FROM call_logs c WHERE c.id IN (SELECT id FROM acked)) || ' ' ||
       (SELECT count(*) FROM (SELECT DISTINCT id FROM acked) a WHERE NOT EXISTS
          (SELECT 1 FROM call_logs c WHERE c.id = a.id));
SQL
}

# Samples the RSS (MB) of process `$1` every 0.2 s into `$2` until it is killed; sets SAMPLER_PID.
sample_rss() {
  ( while kill -0 "$1" 2>/dev/null; do
      awk '/^VmRSS/ { print int($2 / 1024) }' "/proc/$1/status" >>"$2" 2>/dev/null
      sleep 0.2
    done ) &
  SAMPLER_PID=$!
  PIDS+=("$SAMPLER_PID")
}

summary() { python3 -c 'import json, sys; c = json.load(open(sys.argv[1])); print(c["sent"], c["acknowledged"], c["queued"], json.dumps(c["statuses"]))' "$1"; }

{
  echo "# Fault suite — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -m)"
  echo
  echo "| scenario | sent | acknowledged (of which queued) | stored | lost | recovery |"
  echo "| --- | --- | --- | --- | --- | --- |"
} >"$REPORT"

# --- 1. PostgreSQL stopped for 120 s ----------------------------------------------------------
log "faults 1/6: PostgreSQL stopped for 120 s under load (starts, heartbeats, ends; reconciliation every 3 s)"
psql_q postgres "CREATE DATABASE outage" >/dev/null
# Calls go stale after 30 s without a heartbeat and reconciliation runs every 3 s, so a call
# wrongly closed while its events wait in the DLQ would show.
start_server "$WORK/s1" --database-url "postgres://postgres@127.0.0.1:$PGPORT/outage" \
  --reconcile-interval-secs 3 --heartbeat-warning-secs 15 --heartbeat-stale-secs 30
URL1="$SERVER_URL"
# Used before the outage, so the server vouches for it through the outage (the DLQ is its own).
ADMIN="$(script_token --database-url "postgres://postgres@127.0.0.1:$PGPORT/outage" admin@fault.test admin)"
curl -fsS -o /dev/null -H "Authorization: Bearer $ADMIN" "$URL1/api/admin/dlq?limit=1"
start_load "$URL1" outage lifecycle
sleep 5
pg_stop
outage_started="$(now_ms)"
# The dashboard while the database is down: an answer, 503 JSON, well within its 30 s deadline.
probe="$(curl -sS -o "$WORK/probe.json" -w '%{http_code} %{time_total}' --max-time 45 \
  -H "Authorization: Bearer $ADMIN" "$URL1/api/dashboard/metrics?hours=24" || echo "000 hang")"
read -r probe_status probe_secs <<<"$probe"
[[ "$probe_status" == "503" ]] || fail "dashboard during the outage answered $probe_status"
grep -q '"success":false' "$WORK/probe.json" 2>/dev/null || fail "dashboard during the outage: not our JSON"
health="$(curl -sS -o /dev/null -w '%{http_code}' --max-time 15 "$URL1/api/dashboard/health" || echo 000)"
[[ "$health" == "503" ]] || fail "health during the outage answered $health"
# Late in the outage: what waits in the DLQ waits on the outage, none of it final.
sleep 90
read -r waiting_outage waiting_refusal <<<"$(curl -fsS --max-time 10 -H "Authorization: Bearer $ADMIN" \
  "$URL1/api/admin/dlq?limit=1000" | python3 -c 'import json, sys
d = json.load(sys.stdin)["messages"]
print(sum(m["failure"] == "outage" for m in d), sum(m["failure"] == "refusal" for m in d))' || echo "0 x")"
(( waiting_outage > 0 )) || fail "nothing waited on the outage in the DLQ"
[[ "$waiting_refusal" == "0" ]] || fail "$waiting_refusal DLQ entries were taken for refusals during the outage"
remaining=$(( 120000 - ($(now_ms) - outage_started) ))
(( remaining > 0 )) && sleep "$(( remaining / 1000 )).$(( remaining % 1000 ))"
pg_start
back="$(now_ms)"
# Nobody acts: the DLQ drains by itself, the load still running.
drain_dlq "$URL1" 90 >/dev/null || fail "the DLQ did not drain after PostgreSQL came back"
drained_s="$(( ($(now_ms) - back) / 1000 ))"
(( drained_s <= 60 )) || fail "the DLQ drained ${drained_s} s after PostgreSQL came back (at most 60)"
sleep 5
stop_load
drain_dlq "$URL1" 30 >/dev/null || fail "the DLQ did not drain after the load's last ends"
finals="$(curl -fsS --max-time 10 -H "Authorization: Bearer $ADMIN" "$URL1/api/admin/dlq?limit=1" \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["final_failures"])' || echo x)"
[[ "$finals" == "0" ]] || fail "$finals final failures after the outage"
read -r sent acked queued statuses <<<"$(summary "$WORK/outage.json")"
read -r _ stored lost <<<"$(count_lost outage outage)"
(( lost == 0 )) || fail "$lost acknowledged events lost through the PostgreSQL outage"
(( acked > 0 )) || fail "nothing was acknowledged"
# Every acknowledged end is the load's (completed, 195 s); nothing was closed as stale.
read -r ends wrong stale <<<"$("$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -d outage -Atq <<SQL
CREATE TEMP TABLE ended (id text);
\\copy ended FROM '$WORK/outage.ended'
SELECT (SELECT count(DISTINCT id) FROM ended) || ' ' ||
       (SELECT count(*) FROM (SELECT DISTINCT id FROM ended) e LEFT JOIN call_logs c ON c.id = e.id
          WHERE c.outcome IS DISTINCT FROM 'completed' OR c.duration IS DISTINCT FROM 195) || ' ' ||
       (SELECT count(*) FROM call_logs WHERE outcome = 'stale');
SQL
)"
(( ends > 0 )) || fail "no call end was acknowledged"
(( wrong == 0 )) || fail "$wrong acknowledged call ends not stored as sent (closed wrongly)"
(( stale == 0 )) || fail "$stale calls closed as stale through the outage"
echo "| PostgreSQL down 120 s (starts, heartbeats, ends; reconciliation every 3 s) | $sent | $acked starts, $ends ends ($queued queued) | $stored | $lost | DLQ empty ${drained_s} s after PostgreSQL was back, nobody acting; during the outage $waiting_outage entries waited on it, $waiting_refusal on a refusal; final failures: $finals; calls closed wrongly: $wrong, as stale: $stale; dashboard meanwhile: $probe_status in ${probe_secs} s, health $health; answers $statuses |" >>"$REPORT"
kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true

# --- 2. Redis stopped and started, two instances -----------------------------------------------
log "faults 2/6: Redis stopped and started under two instances"
psql_q postgres "CREATE DATABASE redis_outage" >/dev/null
redis_start
REDIS_ARGS=(--database-url "postgres://postgres@127.0.0.1:$PGPORT/redis_outage" --redis-url "redis://127.0.0.1:$REDIS_PORT")
start_server "$WORK/s2a" "${REDIS_ARGS[@]}"
URL_A="$SERVER_URL"
PID_A="$SERVER_PID"
start_server "$WORK/s2b" "${REDIS_ARGS[@]}"
URL_B="$SERVER_URL"
PID_B="$SERVER_PID"
ADMIN="$(script_token "${REDIS_ARGS[@]:0:2}" admin@fault.test admin)"
start_load "$URL_A" redis
sleep 3
redis_stop
sleep 2
during="$(curl -sS -o /dev/null -w '%{http_code}' --max-time 15 -H "Authorization: Bearer $ADMIN" \
  "$URL_A/api/dashboard/metrics?hours=24" || echo 000)"
[[ "$during" == "200" ]] || fail "the dashboard did not keep serving without Redis: $during"
sleep 8
redis_start
redis_back="$(now_ms)"
# Push resumed: a call started on A shows in B's live registry, which only the bus feeds.
resumed="never"
for n in $(seq 1 300); do
  marker="marker-$n"
  curl -fsS -o /dev/null --max-time 5 -X POST "$URL_A/api/v1/calls/events" \
    -H "Authorization: Bearer $INGEST_API_KEY" -H "Content-Type: application/json" \
    -d "{\"type\":\"call_started\",\"user_id\":\"fault-a\",\"call_id\":\"$marker\",\"at\":\"$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)\"}" || true
  if curl -fsS --max-time 5 -H "Authorization: Bearer $ADMIN" "$URL_B/api/admin/active-calls" | grep -q "\"$marker\""; then
    resumed="$(( ($(now_ms) - redis_back) ))"
    break
  fi
  sleep 0.1
done
[[ "$resumed" != "never" ]] && (( resumed <= 5000 )) || fail "push between instances resumed after ${resumed} ms"
sleep 3
stop_load
drained="$(drain_dlq "$URL_A" 120)" || fail "the DLQ did not drain after Redis came back"
read -r sent acked queued statuses <<<"$(summary "$WORK/redis.json")"
read -r _ stored lost <<<"$(count_lost redis redis_outage)"
(( lost == 0 )) || fail "$lost acknowledged events lost through the Redis outage"
echo "| Redis down 10 s, 2 instances | $sent | $acked ($queued) | $stored | $lost | dashboard meanwhile: $during; push between instances again $resumed ms after Redis was back; answers $statuses |" >>"$REPORT"
kill -TERM "$PID_A" "$PID_B" 2>/dev/null || true
redis_stop

# --- 3. SIGKILL under load ---------------------------------------------------------------------
log "faults 3/6: the server SIGKILLed under load and restarted"
psql_q postgres "CREATE DATABASE killed" >/dev/null
KILL_ARGS=(--database-url "postgres://postgres@127.0.0.1:$PGPORT/killed")
start_server "$WORK/s3" "${KILL_ARGS[@]}"
URL3="$SERVER_URL"
ADMIN="$(script_token "${KILL_ARGS[@]}" admin@fault.test admin)"
# Restarted on the same address, as a process manager would, so clients can find it again.
KILL_ARGS+=(--addr "${URL3#http://}")
start_load "$URL3" killed
# A live client (the real socket.io-client, reconnecting as browsers' clients do), watching
# every tenant: it must be given a fresh state by the restarted server.
node "$ROOT/end2end/socketio/probe.mjs" \
  "{\"url\": \"$URL3\", \"auth\": {\"token\": \"$ADMIN\"}, \"transports\": [\"websocket\"], \"reconnection\": true}" \
  </dev/null >"$WORK/client.jsonl" 2>"$WORK/client.err" &
CLIENT_PID=$!
PIDS+=("$CLIENT_PID")
states() { grep -c '"event":"initial_state"' "$WORK/client.jsonl" || true; }
sleep 5
(( $(states) >= 1 )) || fail "the live client never got its first state"
kill -9 "$SERVER_PID"
killed_at="$(now_ms)"
# As a supervisor restarts it: once the process is gone. SIGKILL is delivered asynchronously;
# starting at once raced the dying process for its address ("Address already in use", seen once
# on a busy machine).
wait "$SERVER_PID" 2>/dev/null || true
"$BIN" serve --data-dir "$WORK/s3" --site-root "$ROOT/target/site" "${KILL_ARGS[@]}" \
  >"$WORK/s3.out" 2>>"$WORK/s3.err" &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
until curl -fsS -o /dev/null --max-time 2 "$URL3/api/dashboard/health"; do
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/s3.err" >&2; exit 1; }
  sleep 0.05
done
restarted="$(( $(now_ms) - killed_at ))"
resynced="never"
for _ in $(seq 1 300); do
  if (( $(states) >= 2 )); then resynced="$(( $(now_ms) - killed_at ))"; break; fi
  sleep 0.1
done
[[ "$resynced" != "never" ]] || fail "the live client was not resynced after the restart"
resync_calls="$(grep '"event":"initial_state"' "$WORK/client.jsonl" | tail -n1 \
  | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["data"]["active_calls"]))' 2>/dev/null || echo 0)"
(( resync_calls > 0 )) || fail "the resynced state holds no live calls"
sleep 5
stop_load
kill "$CLIENT_PID" 2>/dev/null || true
drained="$(drain_dlq "$URL3" 120)" || fail "the DLQ did not drain after the restart"
read -r sent acked queued statuses <<<"$(summary "$WORK/killed.json")"
read -r _ stored lost <<<"$(count_lost killed killed)"
(( lost == 0 )) || fail "$lost acknowledged events lost through SIGKILL"
live="$(curl -fsS -H "Authorization: Bearer $ADMIN" "$URL3/api/admin/active-calls" \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["count"])')"
active="$(psql_q killed "SELECT count(*) FROM call_logs WHERE status = 'active'")"
[[ "$live" == "$active" ]] || fail "live registry after restart holds $live calls, the database $active"
echo "| SIGKILL under load, restarted on its address | $sent | $acked ($queued) | $stored | $lost | serving again $restarted ms after the kill; live registry rebuilt: $live of $active active calls; a Socket.IO client resynced ${resynced} ms after the kill ($resync_calls live calls in its new state) |" >>"$REPORT"

# --- 4. A producer growing one call's metadata ------------------------------------------------
log "faults 4/6: a producer growing one call's metadata for 2,000 updates"
start_server "$WORK/s4"
URL4="$SERVER_URL"
sample_rss "$SERVER_PID" "$WORK/s4.rss"
grown="$(node "$ROOT/scripts/faults/grow.mjs" "$URL4" "$INGEST_API_KEY" 2000)" || fail "the growing producer failed"
kill "$SAMPLER_PID" 2>/dev/null || true
rss4="$(sort -n "$WORK/s4.rss" | tail -n1)"
read -r kept too_large beats failed_requests <<<"$(python3 -c 'import json, sys
s = json.loads(sys.argv[1])
print(s["updates"].get("stored", 0), s["updates"].get("metadata_too_large", 0), s["heartbeats"].get("stored", 0), s["failed_requests"])' "$grown")"
# 64 KiB of stored metadata hold four 14 KB turns; every other update is refused for itself.
(( kept == 4 && too_large == 1996 )) || fail "growing metadata: $kept stored, $too_large refused (expected 4 and 1,996)"
(( beats == 2000 && failed_requests == 0 )) || fail "growing metadata: $beats of 2,000 heartbeats stored, $failed_requests requests failed"
(( rss4 <= 300 )) || fail "the server grew to $rss4 MB under a growing producer (bound: 300 MB)"
echo "| producer growing one call's metadata, 2,000 updates of 14 KB each with a heartbeat | 4,001 requests | — | $kept updates, $beats heartbeats | 0 | $too_large updates refused \`metadata_too_large\`; server RSS at most $rss4 MB (bound 300 MB, debug build) |" >>"$REPORT"
kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true

# --- 5. One tenant's Socket.IO client toggling flat out ------------------------------------------
log "faults 5/6: one tenant's Socket.IO client toggling subscriptions flat out for 30 s"
start_server "$WORK/s5"
URL5="$SERVER_URL"
PID5="$SERVER_PID"
for tenant in fault-a fault-b; do
  curl -fsS -o /dev/null -X POST "$URL5/api/v1/calls/events" -H "Authorization: Bearer $INGEST_API_KEY" \
    -H "Content-Type: application/json" \
    -d "{\"type\":\"call_started\",\"user_id\":\"$tenant\",\"call_id\":\"$tenant-1\",\"at\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}"
done
TOKEN_A="$(script_token --data-dir "$WORK/s5" owner@fault-a.test owner fault-a)"
TOKEN_B="$(script_token --data-dir "$WORK/s5" owner@fault-b.test owner fault-b)"
sample_rss "$PID5" "$WORK/s5.rss"
node "$ROOT/scripts/faults/toggle.mjs" "$URL5" "$TOKEN_A" 30 >"$WORK/toggle.json" &
TOGGLE_PID=$!
PIDS+=("$TOGGLE_PID")
# Meanwhile tenant B reads its figures every 0.2 s: each must be answered, 200, within 5 s.
: >"$WORK/b.times"
while kill -0 "$TOGGLE_PID" 2>/dev/null; do
  curl -sS -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 10 -H "Authorization: Bearer $TOKEN_B" \
    "$URL5/api/dashboard/metrics?hours=24" >>"$WORK/b.times" 2>/dev/null || echo "000 10" >>"$WORK/b.times"
  sleep 0.2
done
wait "$TOGGLE_PID" || fail "the toggling client failed"
kill "$SAMPLER_PID" 2>/dev/null || true
rss5="$(sort -n "$WORK/s5.rss" | tail -n1)"
read -r b_count b_bad b_p50 b_p99 b_max <<<"$(python3 -c 'import sys
rows = [line.split() for line in open(sys.argv[1]) if line.strip()]
times = sorted(float(t) * 1000 for _, t in rows)
bad = sum(1 for s, t in rows if s != "200" or float(t) > 5)
q = lambda p: times[min(len(times) - 1, int(p * len(times)))]
print(len(rows), bad, f"{q(0.5):.0f}", f"{q(0.99):.0f}", f"{times[-1]:.0f}")' "$WORK/b.times")"
toggled="$(python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); print(s["sent"], s["answered"], s["refusals"])' "$WORK/toggle.json" || echo "0 0 0")"
read -r t_sent t_answered t_refusals <<<"$toggled"
kill -0 "$PID5" 2>/dev/null || fail "the server died under a toggling client"
(( b_count > 0 && b_bad == 0 )) || fail "$b_bad of tenant B's $b_count requests failed or took over 5 s"
(( rss5 <= 300 )) || fail "the server grew to $rss5 MB under a toggling client (bound: 300 MB)"
echo "| tenant A's Socket.IO client toggling \`metrics\` flat out for 30 s | $t_sent messages | $t_answered answered, $t_refusals refusal notices | — | — | tenant B's $b_count requests meanwhile: $b_bad failed or over 5 s, p50 $b_p50 ms, p99 $b_p99 ms, max $b_max ms; server RSS at most $rss5 MB |" >>"$REPORT"
kill -TERM "$PID5"; wait "$PID5" || true

# --- 6. Hostile corpus -------------------------------------------------------------------------
log "faults 6/6: hostile corpus"
if FAULTS_DATABASE_URL="postgres://postgres@127.0.0.1:$PGPORT/killed" \
  "$ROOT/scripts/faults/hostile.sh" "$URL3" "$WORK" >"$WORK/hostile.txt"; then
  echo >>"$REPORT"
  cat "$WORK/hostile.txt" >>"$REPORT"
else
  cat "$WORK/hostile.txt" >&2
  fail "the hostile corpus found a 5xx, a panic or a cross-tenant read"
fi
if grep -hE "panicked" "$WORK"/s*.err >/dev/null 2>&1; then
  fail "a server panicked: $(grep -hE 'panicked' "$WORK"/s*.err | head -3)"
fi

cat "$REPORT"
exit "$failed"
