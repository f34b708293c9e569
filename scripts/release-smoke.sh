#!/usr/bin/env bash
# The container's contents, exercised without a Docker engine: build the release binary with the
# command and flags the Dockerfile uses, then run it the way the image does (`serve` with the
# shipped config/scimgate.yaml, secrets from the environment), check it with `scimgate
# healthcheck` (the image's HEALTHCHECK), probe it like Entra's Test connection, and stop it with
# SIGTERM (the image's STOPSIGNAL; the binary is PID 1 there) expecting a clean exit.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
bin="$target/release/scimgate"

cargo build --release --locked          # the Dockerfile's build command
bin=$(realpath "$bin")
config="$PWD/config/scimgate.yaml"

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
api_port=$(free_port)
gw_port=$(free_port)
token=release-smoke-token-0123456789

# The product the shipped settings point at: the bundled example API alone.
"$bin" example-api --listen "127.0.0.1:$api_port" --api-key demo-api-key >"$work/api.log" 2>&1 &
pids+=($!)

# The image runs `scimgate serve` with SCIMGATE_CONFIG=/etc/scimgate/config/scimgate.yaml from
# its working directory /var/lib/scimgate; here the same file from the repository, overrides and
# secrets from the environment as in `docker run -e`.
(cd "$work" && SCIMGATE_CONFIG="$config" \
  SCIMGATE__SERVER__LISTEN="127.0.0.1:$gw_port" \
  SCIMGATE__SERVER__PUBLIC_BASE_URL="http://127.0.0.1:$gw_port" \
  SCIMGATE_TOKEN="$token" DEMO_BACKEND_URL="http://127.0.0.1:$api_port" \
  exec "$bin" serve >"$work/gateway.log" 2>&1) &
gw=$!
pids+=("$gw")

healthy=
for _ in $(seq 1 100); do
  if SCIMGATE_CONFIG="$config" SCIMGATE__SERVER__LISTEN="127.0.0.1:$gw_port" \
    "$bin" healthcheck 2>/dev/null; then healthy=1; break; fi
  sleep 0.1
done
[ -n "$healthy" ] || { echo "scimgate healthcheck never succeeded"; cat "$work/gateway.log"; exit 1; }
echo "healthcheck: ok"

base="http://127.0.0.1:$gw_port/scim/v2"
ready=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$gw_port/readyz")
[ "$ready" = 200 ] || { echo "/readyz answered $ready"; cat "$work/gateway.log"; exit 1; }
echo "readyz: 200"
probe=$(curl -s -H "Authorization: Bearer $token" \
  "$base/Users?filter=userName+eq+%22$(python3 -c 'import uuid; print(uuid.uuid4())')%22&aadOptscim062020")
python3 - "$probe" <<'PY'
import json, sys
body = json.loads(sys.argv[1])
assert body["totalResults"] == 0 and body["Resources"] == [], body
PY
echo "Entra test-connection probe: 200, 0 results"
denied=$(curl -s -o /dev/null -w '%{http_code}' "$base/Users")
[ "$denied" = 401 ] || { echo "no token answered $denied"; exit 1; }
echo "no token: 401"
# Logs are JSON lines (log.format: json in the shipped settings) and never carry the token.
python3 - "$work/gateway.log" "$token" <<'PY'
import json, sys
lines = [l for l in open(sys.argv[1]) if l.strip()]
assert lines, "no log lines"
for line in lines:
    json.loads(line)
assert not any(sys.argv[2] in l for l in lines), "token in the log"
PY
echo "logs: JSON, no token"

kill -TERM "$gw"
for _ in $(seq 1 100); do kill -0 "$gw" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$gw" 2>/dev/null; then echo "serve did not stop on SIGTERM"; exit 1; fi
status=0; wait "$gw" || status=$?
[ "$status" = 0 ] || { echo "serve exited $status on SIGTERM"; cat "$work/gateway.log"; exit 1; }
echo "SIGTERM: clean exit"
