#!/usr/bin/env bash
# The scimgate benchmark (issue 7): the release gateway in front of the bundled example API,
# against the same API called directly, driven by wrk. Writes docs/benchmarks.md.
#
#   bench/run.sh                      # everything, ~4 minutes on 2 cores
#   DURATION=10s bench/run.sh         # longer runs per scenario (default 5s)
#   SCIMGATE_BIN=path bench/run.sh    # use this binary instead of building one
#   ONLY=big_group bench/run.sh       # only the 10,000-member group scenario (issue 13), printed
#   ONLY=writes bench/run.sh          # only create and PATCH at c=1 and c=8, with syncs per request
#                                     # (issue 16); rewrites that section of docs/benchmarks.md
#   BASE_BIN=path ONLY=writes ...     # the same for another build too (e.g. the previous commit's),
#                                     # in the same run, for a before/after comparison;
#                                     # BASE_MAPPING=path: that build's own demo.yaml when it differs
#
# Passes: 10,000 users over plain HTTP, the same over TLS (gateway only), 100,000 users over plain
# HTTP. Each scenario runs at concurrency 1 and 32; the writes pass (also part of the full run)
# runs create and PATCH at 1 and 8. Needs wrk, strace, openssl, python3 and curl; wrk and strace
# are installed with apt-get when missing and the script runs as root.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
DURATION="${DURATION:-5s}"
BACKEND_PORT="${BACKEND_PORT:-18081}"
GATEWAY_PORT="${GATEWAY_PORT:-18443}"
API_KEY="bench-api-key"
TOKEN="bench-token-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
TOKEN_HASH="sha256:$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)"
WORK="$(mktemp -d /tmp/scimgate-bench.XXXXXX)"
RESULTS="$WORK/results.jsonl"
LUA="$ROOT/bench/scimgate.lua"
BIN="${SCIMGATE_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/scimgate}"
BACKEND_PID=""
GATEWAY_PID=""

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

stop() {
  local pid="$1"
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
}
cleanup() {
  stop "$GATEWAY_PID"
  stop "$BACKEND_PID"
  rm -rf "$WORK"
}
trap cleanup EXIT

for tool in wrk strace; do
  if ! command -v "$tool" >/dev/null; then
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
      log "installing $tool (apt-get install -y $tool)"
      apt-get install -y "$tool" >&2 || { apt-get update >&2 && apt-get install -y "$tool" >&2; }
    fi
    command -v "$tool" >/dev/null || { log "$tool is missing: apt-get install -y $tool"; exit 1; }
  fi
done

if [[ -z "${SCIMGATE_BIN:-}" ]]; then
  log "building the release binary"
  cargo build --release --locked >&2
fi

# --- helpers --------------------------------------------------------------------------------

wait_http() { # URL [curl options...]
  local url="$1"; shift
  for _ in $(seq 1 200); do
    curl -fsS -o /dev/null "$@" "$url" 2>/dev/null && return 0
    sleep 0.05
  done
  log "no answer from $url"; return 1
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
vm_kb() { awk -v key="$2:" '$1 == key {print $2}' "/proc/$1/status"; }
backend_calls() { curl -fsS "http://127.0.0.1:$BACKEND_PORT/_admin/calls" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])'; }

start_backend() { # USERS
  stop "$BACKEND_PID"
  "$BIN" example-api --listen "127.0.0.1:$BACKEND_PORT" --api-key "$API_KEY" --seed-users "$1" \
    >"$WORK/backend.log" 2>&1 &
  BACKEND_PID=$!
  wait_http "http://127.0.0.1:$BACKEND_PORT/_admin/calls"
}

start_gateway() { # none|files
  local mode="$1" scheme=http tls_extra=""
  stop "$GATEWAY_PID"
  rm -f "$WORK/scimgate.sqlite3"*
  if [[ "$mode" == files ]]; then
    scheme=https
    tls_extra="    cert_file: $WORK/tls.crt
    key_file: $WORK/tls.key"
  fi
  cat >"$WORK/scimgate.yaml" <<YAML
server:
  listen: "127.0.0.1:$GATEWAY_PORT"
  public_base_url: "$scheme://127.0.0.1:$GATEWAY_PORT"
  tls:
    mode: $mode
$tls_extra
store:
  sqlite_path: "$WORK/scimgate.sqlite3"
log:
  format: json
  level: warn
tenants:
  - name: bench
    base_path: /scim/v2
    mapping: ${GW_MAPPING:-$ROOT/mappings/demo.yaml}
    auth:
      bearer:
        token_hashes: ["$TOKEN_HASH"]
YAML
  DEMO_BACKEND_URL="http://127.0.0.1:$BACKEND_PORT" DEMO_API_KEY="$API_KEY" \
    ${GW_WRAP:-} "${GW_BIN:-$BIN}" serve --config "$WORK/scimgate.yaml" >"$WORK/gateway.log" 2>&1 &
  GATEWAY_PID=$!
  GATEWAY_URL="$scheme://127.0.0.1:$GATEWAY_PORT"
  wait_http "$GATEWAY_URL/healthz" -k || { cat "$WORK/gateway.log" >&2; exit 1; }
}

# run_wrk PASS MODE TARGET SCENARIO CONCURRENCY USERS: one measurement, appended to $RESULTS.
run_wrk() {
  local pass="$1" mode="$2" target="$3" scenario="$4" conc="$5" users="$6"
  local url threads=1 pid
  if [[ "$target" == gateway ]]; then url="$GATEWAY_URL"; pid="$GATEWAY_PID"
  else url="http://127.0.0.1:$BACKEND_PORT"; pid="$BACKEND_PID"; fi
  [[ "$conc" -gt 1 ]] && threads=2
  local calls0 ticks0 calls1 ticks1 out result
  calls0=$(backend_calls); ticks0=$(cpu_ticks "$pid")
  out=$(SCENARIO="$scenario" TOKEN="$TOKEN" API_KEY="$API_KEY" USERS="$users" BASE=/scim/v2 \
    GROUP_ID="${GROUP_ID:-1}" BIG_GROUP_ID="${BIG_GROUP_ID:-1}" RUN_TAG="$pass-$mode-$conc-$RANDOM" \
    wrk -t"$threads" -c"$conc" -d"$DURATION" --timeout 5s -s "$LUA" "$url")
  calls1=$(backend_calls); ticks1=$(cpu_ticks "$pid")
  result=$(grep '^RESULT ' <<<"$out" | cut -d' ' -f2-)
  [[ -n "$result" ]] || { log "wrk gave no result:"; echo "$out" >&2; exit 1; }
  printf '{"pass":"%s","mode":"%s","target":"%s","scenario":"%s","conc":%s,"cpu_ticks":%s,"backend_calls":%s,"wrk":%s}\n' \
    "$pass" "$mode" "$target" "$scenario" "$conc" "$((ticks1 - ticks0))" "$((calls1 - calls0))" \
    "$result" >>"$RESULTS"
  log "$pass $mode $target $scenario c=$conc: $result"
}

# memory PASS MODE: idle RSS, RSS with 512 open connections, peak RSS, appended to $RESULTS.
memory() {
  local pass="$1" mode="$2" tls_arg="" conns
  [[ "$mode" == files ]] && tls_arg=tls
  conns=$(python3 "$ROOT/bench/conns.py" "$GATEWAY_PID" 127.0.0.1 "$GATEWAY_PORT" 512 $tls_arg)
  printf '{"pass":"%s","mode":"%s","memory":{"idle_kb":%s,"conns_kb":%s,"conns_open":%s,"conns_failed":%s,"hwm_kb":%s}}\n' \
    "$pass" "$mode" "$IDLE_KB" $(cut -d' ' -f1 <<<"$conns") $(cut -d' ' -f2 <<<"$conns") \
    $(cut -d' ' -f3 <<<"$conns") "$(vm_kb "$GATEWAY_PID" VmHWM)" >>"$RESULTS"
  log "$pass $mode memory: idle ${IDLE_KB} kB, 512 connections: $conns, peak $(vm_kb "$GATEWAY_PID" VmHWM) kB"
}

auth=(-H "Authorization: Bearer $TOKEN" -H "Content-Type: application/scim+json")

# gateway_pass PASS MODE USERS: every gateway scenario at c=1 and c=32, then memory.
gateway_pass() {
  local pass="$1" mode="$2" users="$3"
  start_gateway "$mode"
  sleep 0.5
  IDLE_KB=$(vm_kb "$GATEWAY_PID" VmRSS)
  GROUP_ID=$(curl -fsSk "${auth[@]}" -d "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"displayName\":\"bench-$pass-$mode\"}" \
    "$GATEWAY_URL/scim/v2/Groups" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  # Warm-up: connections, caches, the sqlite store.
  DURATION=1s run_wrk warmup "$mode" gateway get 8 "$users" && sed -i '$d' "$RESULTS"
  for scenario in filter get create patch group_add; do
    for conc in 1 32; do
      run_wrk "$pass" "$mode" gateway "$scenario" "$conc" "$users"
    done
  done
  memory "$pass" "$mode"
}

# big_group_pass USERS: a group of 10,000 members (seeded straight into the example API): GET of
# the group with its members, and a one-member add to it, at c=1. Prints calls per operation.
big_group_pass() {
  local users="$1" team
  start_gateway none
  BIG_GROUP_ID=$(curl -fsS "${auth[@]}" -d '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"bench-big-group"}' \
    "$GATEWAY_URL/scim/v2/Groups" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  team="$BIG_GROUP_ID"   # the demo mapping's SCIM ids are the backend ids
  curl -fsS -o /dev/null -d "{\"users\": 10000, \"team\": $team}" "http://127.0.0.1:$BACKEND_PORT/_admin/seed"
  for scenario in big_group_get big_group_add; do
    run_wrk big_group none gateway "$scenario" 1 "$users"
  done
  python3 - "$RESULTS" <<'PY' >&2
import json, sys
for line in open(sys.argv[1]):
    row = json.loads(line)
    if row.get("pass") != "big_group":
        continue
    w = row["wrk"]
    print(f"{row['scenario']}: {w['requests']} requests, "
          f"{row['backend_calls'] / max(w['requests'], 1):.1f} backend calls per operation, "
          f"p50 {w['p50'] / 1000:.2f} ms, p99 {w['p99'] / 1000:.2f} ms, "
          f"errors {w['errors_status']}")
PY
}

# writes_pass BUILD BIN: create and PATCH at c=1 and c=8 against a fresh backend and store, then
# the same under `strace -f -c` (short runs) for fsync/fdatasync calls per request.
writes_pass() {
  local build="$1" bin="$2" scenario conc
  start_backend 10000
  GW_BIN="$bin" start_gateway none
  DURATION=1s run_wrk warmup "$build" gateway create 8 10000 && sed -i '$d' "$RESULTS"
  for scenario in create patch; do
    for conc in 1 8; do
      run_wrk writes "$build" gateway "$scenario" "$conc" 10000
    done
  done
  stop "$GATEWAY_PID"; GATEWAY_PID=""
  local idle
  idle=$(strace_gateway "$bin" "$build" none 1 0)
  for scenario in create patch; do
    for conc in 1 8; do
      strace_gateway "$bin" "$build" "$scenario" "$conc" "$idle" >/dev/null
    done
  done
}

# strace_gateway BIN BUILD SCENARIO CONC IDLE_SYNCS: one short wrk run (none: no requests) with
# the gateway under strace -f -c; appends a `syncs` row, prints the fsync+fdatasync count.
strace_gateway() {
  local bin="$1" build="$2" scenario="$3" conc="$4" idle="$5" out="$WORK/strace.txt" child requests=0 syncs
  rm -f "$out"
  GW_WRAP="strace -f -c -o $out -e trace=fsync,fdatasync" GW_BIN="$bin" start_gateway none
  if [[ "$scenario" != none ]]; then
    local result threads=1
    [[ "$conc" -gt 1 ]] && threads=2
    result=$(SCENARIO="$scenario" TOKEN="$TOKEN" USERS=10000 BASE=/scim/v2 RUN_TAG="strace-$build-$conc-$RANDOM" \
      wrk -t"$threads" -c"$conc" -d"${STRACE_DURATION:-2s}" --timeout 5s -s "$LUA" "$GATEWAY_URL" | grep '^RESULT ' | cut -d' ' -f2-)
    requests=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["requests"])' "$result")
  fi
  # strace detaches on a signal; the gateway itself is stopped, and strace then reports.
  child=$(pgrep -P "$GATEWAY_PID" || true)
  [[ -n "$child" ]] && kill -TERM "$child"
  wait "$GATEWAY_PID" 2>/dev/null || true
  GATEWAY_PID=""
  # strace -c rows: % time, seconds, usecs/call, calls, [errors,] syscall.
  syncs=$(awk '$NF == "fsync" || $NF == "fdatasync" {n += $4} END {print n + 0}' "$out")
  if [[ "$scenario" != none ]]; then
    printf '{"pass":"syncs","build":"%s","scenario":"%s","conc":%s,"requests":%s,"syncs":%s,"idle_syncs":%s,"per_request":%s}\n' \
      "$build" "$scenario" "$conc" "$requests" "$syncs" "$idle" \
      "$(python3 -c 'import sys; r=int(sys.argv[1]); print(round(max(int(sys.argv[2])-int(sys.argv[3]),0)/max(r,1),3))' "$requests" "$syncs" "$idle")" >>"$RESULTS"
    log "syncs $build $scenario c=$conc: $syncs fsync/fdatasync for $requests requests (idle run: $idle)"
  fi
  echo "$syncs"
}

# Replaces the writes section of docs/benchmarks.md (between its markers) with a new one.
write_writes_section() {
  local section="$WORK/writes.md" doc="$ROOT/docs/benchmarks.md"
  python3 "$ROOT/bench/writes.py" "$RESULTS" >"$section"
  python3 - "$doc" "$section" <<'PY'
import sys
doc_path, section_path = sys.argv[1], sys.argv[2]
begin, end = "<!-- writes:begin -->", "<!-- writes:end -->"
doc = open(doc_path).read()
section = open(section_path).read().rstrip("\n")
if begin in doc and end in doc:
    doc = doc[:doc.index(begin)] + section + doc[doc.index(end) + len(end):]
else:
    doc = doc.rstrip("\n") + "\n\n" + section + "\n"
open(doc_path, "w").write(doc)
PY
}

direct_pass() {
  local pass="$1" users="$2"
  for scenario in direct_filter direct_get; do
    for conc in 1 32; do
      run_wrk "$pass" none direct "$scenario" "$conc" "$users"
    done
  done
}

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$WORK/tls.key" -out "$WORK/tls.crt" 2>/dev/null

if [[ "${ONLY:-}" == writes ]]; then
  [[ -n "${BASE_BIN:-}" ]] && GW_MAPPING="${BASE_MAPPING:-}" writes_pass base "$BASE_BIN"
  writes_pass this "$BIN"
  stop "$BACKEND_PID"; BACKEND_PID=""
  write_writes_section
  log "wrote the writes section of docs/benchmarks.md"
  sed -n '/<!-- writes:begin -->/,/<!-- writes:end -->/p' "$ROOT/docs/benchmarks.md"
  exit 0
fi

if [[ "${ONLY:-}" == big_group ]]; then
  start_backend 10000
  big_group_pass 10000
  exit 0
fi

for users in 10000 100000; do
  log "example API with $users users"
  start_backend "$users"
  DURATION=1s run_wrk warmup none direct direct_get 8 "$users" && sed -i '$d' "$RESULTS"
  direct_pass "$users" "$users"
  gateway_pass "$users" none "$users"
  if [[ "$users" == 10000 ]]; then
    gateway_pass "$users" files "$users"
    big_group_pass "$users"
  fi
done
stop "$GATEWAY_PID"; GATEWAY_PID=""
[[ -n "${BASE_BIN:-}" ]] && GW_MAPPING="${BASE_MAPPING:-}" writes_pass base "$BASE_BIN"
writes_pass this "$BIN"
stop "$BACKEND_PID"; BACKEND_PID=""

python3 "$ROOT/bench/report.py" "$RESULTS" "$DURATION" >"$ROOT/docs/benchmarks.md"
write_writes_section
log "wrote docs/benchmarks.md"
cat "$ROOT/docs/benchmarks.md"
