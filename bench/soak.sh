#!/usr/bin/env bash
# The scimgate soak run (issue 8): the release gateway in front of the bundled example API under a
# moderate, steady, Entra-like mix of reads and writes for SECONDS (default 600), sampling the
# gateway's resident memory every 10 s. Prints a table and a verdict: flat when the mean RSS of
# the last quarter is within 10% of the mean of the second quarter (the first quarter is warm-up).
#
#   bench/soak.sh            # 10 minutes
#   bench/soak.sh 30         # a quick check
#   SCIMGATE_BIN=path bench/soak.sh
#   RATE=80 bench/soak.sh    # requests per second in total (default 60)
#
# Needs python3 and curl. Exit status 0 when flat, 1 when memory grew.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
SECONDS_TOTAL="${1:-600}"
RATE="${RATE:-60}"
SAMPLE_EVERY="${SAMPLE_EVERY:-10}"
BACKEND_PORT="${BACKEND_PORT:-18181}"
GATEWAY_PORT="${GATEWAY_PORT:-18543}"
API_KEY="soak-api-key"
TOKEN="soak-token-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
TOKEN_HASH="sha256:$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)"
WORK="$(mktemp -d /tmp/scimgate-soak.XXXXXX)"
BIN="${SCIMGATE_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/scimgate}"
SEED=2000
BACKEND_PID=""
GATEWAY_PID=""
LOAD_PID=""

log() { printf '[soak %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
stop() {
  local pid="$1"
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
}
cleanup() {
  stop "$LOAD_PID"
  stop "$GATEWAY_PID"
  stop "$BACKEND_PID"
  rm -rf "$WORK"
}
trap cleanup EXIT

if [[ ! -x "$BIN" ]]; then
  log "building the release binary"
  cargo build --release --locked >&2
fi

wait_http() {
  for _ in $(seq 1 200); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  log "no answer from $1"; return 1
}
rss_kb() { awk '$1 == "VmRSS:" {print $2}' "/proc/$1/status"; }

"$BIN" example-api --listen "127.0.0.1:$BACKEND_PORT" --api-key "$API_KEY" --seed-users "$SEED" \
  >"$WORK/backend.log" 2>&1 &
BACKEND_PID=$!
wait_http "http://127.0.0.1:$BACKEND_PORT/_admin/calls"

cat >"$WORK/scimgate.yaml" <<YAML
server:
  listen: "127.0.0.1:$GATEWAY_PORT"
  public_base_url: "http://127.0.0.1:$GATEWAY_PORT"
  tls:
    mode: none
store:
  sqlite_path: "$WORK/scimgate.sqlite3"
log:
  format: json
  level: warn
tenants:
  - name: soak
    base_path: /scim/v2
    mapping: $ROOT/mappings/demo.yaml
    auth:
      bearer:
        token_hashes: ["$TOKEN_HASH"]
YAML
DEMO_BACKEND_URL="http://127.0.0.1:$BACKEND_PORT" DEMO_API_KEY="$API_KEY" \
  "$BIN" serve --config "$WORK/scimgate.yaml" >"$WORK/gateway.log" 2>&1 &
GATEWAY_PID=$!
wait_http "http://127.0.0.1:$GATEWAY_PORT/healthz" || { cat "$WORK/gateway.log" >&2; exit 1; }

# The load: two keep-alive clients at RATE/2 requests per second each, mixing what an Entra cycle
# sends: filters by userName (half), reads by id, creates followed later by a PATCH, a
# deactivation and a delete (so the data set stays bounded), and group member adds/removes.
cat >"$WORK/load.py" <<'PY'
import http.client, json, os, random, sys, threading, time, urllib.parse
port, token, seconds, rate, seed = (int(os.environ["PORT"]), os.environ["TOKEN"],
    float(os.environ["SECONDS_TOTAL"]), float(os.environ["RATE"]), int(os.environ["SEED"]))
counts = {"requests": 0, "errors": 0}
lock = threading.Lock()
H = {"Authorization": "Bearer " + token, "Content-Type": "application/scim+json"}
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

def call(conn, method, path, body=None):
    try:
        conn.request(method, "/scim/v2" + path, body=None if body is None else json.dumps(body), headers=H)
        r = conn.getresponse(); data = r.read()
        ok = r.status < 500 and r.status != 429
    except Exception:
        conn.close(); ok, data, r = False, b"", None
    with lock:
        counts["requests"] += 1; counts["errors"] += 0 if ok else 1
    return (r.status if r else 0), data

def worker(n, group):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    rnd = random.Random(n); live = []; i = 0
    end = time.time() + seconds; interval = 2.0 / rate; nxt = time.time()
    while time.time() < end:
        i += 1; roll = rnd.random()
        if roll < 0.5:
            q = urllib.parse.quote('userName eq "user%d@example.com"' % rnd.randint(1, seed))
            call(conn, "GET", "/Users?filter=" + q)
        elif roll < 0.7:
            call(conn, "GET", "/Users/%d" % rnd.randint(1, seed))
        elif roll < 0.8 or not live:
            name = "soak-%d-%d-%d@example.com" % (n, i, int(time.time()))
            s, data = call(conn, "POST", "/Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": name, "externalId": "ext-%d-%d" % (n, i), "active": True,
                "name": {"givenName": "Soak", "familyName": str(i)}})
            if s == 201: live.append(json.loads(data)["id"])
        elif roll < 0.87:
            uid = rnd.choice(live)
            call(conn, "PATCH", "/Users/" + uid, {"schemas": [PATCH], "Operations": [
                {"op": "Replace", "path": "displayName", "value": "Soak %d" % i}]})
        elif roll < 0.92:
            uid = rnd.choice(live)
            call(conn, "PATCH", "/Groups/" + group, {"schemas": [PATCH], "Operations": [
                {"op": "Add", "path": "members", "value": [{"value": uid}]}]})
        else:
            uid = live.pop(0)
            call(conn, "PATCH", "/Users/" + uid, {"schemas": [PATCH], "Operations": [
                {"op": "Replace", "path": "active", "value": "False"}]})
            call(conn, "DELETE", "/Users/" + uid)
        nxt += interval
        time.sleep(max(0.0, nxt - time.time()))

conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
s, data = call(conn, "POST", "/Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
    "displayName": "soak-%d" % time.time()})
group = json.loads(data)["id"]
threads = [threading.Thread(target=worker, args=(n, group)) for n in range(2)]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps(counts))
PY
PORT="$GATEWAY_PORT" TOKEN="$TOKEN" SECONDS_TOTAL="$SECONDS_TOTAL" RATE="$RATE" SEED="$SEED" \
  python3 "$WORK/load.py" >"$WORK/load.json" 2>"$WORK/load.err" &
LOAD_PID=$!
log "load running for ${SECONDS_TOTAL}s at ~${RATE} req/s; sampling RSS every ${SAMPLE_EVERY}s"

START=$(date +%s)
: >"$WORK/samples"
while kill -0 "$LOAD_PID" 2>/dev/null; do
  printf '%s %s\n' "$(( $(date +%s) - START ))" "$(rss_kb "$GATEWAY_PID")" >>"$WORK/samples"
  sleep "$SAMPLE_EVERY"
done
wait "$LOAD_PID" || true
printf '%s %s\n' "$(( $(date +%s) - START ))" "$(rss_kb "$GATEWAY_PID")" >>"$WORK/samples"
kill -0 "$GATEWAY_PID" 2>/dev/null || { log "the gateway died"; cat "$WORK/gateway.log" >&2; exit 1; }

python3 - "$WORK/samples" "$WORK/load.json" <<'PY'
import json, sys
samples = [tuple(map(int, line.split())) for line in open(sys.argv[1]) if line.strip()]
try:
    load = json.load(open(sys.argv[2]))
except Exception:
    load = {"requests": 0, "errors": 0}
print("| elapsed s | gateway RSS MiB |")
print("|---:|---:|")
for t, kb in samples:
    print(f"| {t} | {kb / 1024:.1f} |")
n = len(samples)
q = max(1, n // 4)
second = [kb for _, kb in samples[q:2 * q]] or [samples[0][1]]
last = [kb for _, kb in samples[n - q:]]
m2, m4 = sum(second) / len(second), sum(last) / len(last)
change = (m4 - m2) / m2 * 100
flat = abs(change) <= 10
print()
print(f"requests: {load['requests']}, errors (5xx, 429, transport): {load['errors']}")
print(f"second-quarter mean {m2 / 1024:.1f} MiB, last-quarter mean {m4 / 1024:.1f} MiB "
      f"({change:+.1f}%), peak {max(kb for _, kb in samples) / 1024:.1f} MiB")
print("verdict:", "FLAT (within 10%)" if flat else "GROWING (more than 10%)")
sys.exit(0 if flat else 1)
PY
