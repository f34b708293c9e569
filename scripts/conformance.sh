#!/usr/bin/env bash
# External conformance suites against `scimgate demo`, each result held exactly.
#
# Usage: scripts/conformance.sh [BINARY]
#   BINARY  the scimgate binary to test (default: $CARGO_TARGET_DIR or ./target, debug/scimgate;
#           build it first with `cargo build`).
# Env:    CONFORMANCE_DIR  where the suites live (default: tests/conformance in this repository)
#         EXT_DIR          where the Microsoft runner installs newman (default: /tmp/extsuites)
#
# Two runs, each against a fresh demo (empty in-memory backend and store):
#   microsoft  Microsoft's SCIMReferenceCode Postman collection as published (newman): request
#              bodies and test scripts untouched, only the URLs and the token pointed at the demo
#              (tests/conformance/postman_prep.py);
#   okta       Okta's SCIM 2.0 SPEC test (the runner seeds two users and a group first).
# The expected result of each run is data, not code: tests/conformance/expected/RUN.tsv holds
# its exact `N passed, M failed` and every failing check with the reason it fails (see the
# file's header). Any difference fails, a regression or an unexpected improvement alike, and the
# checks that changed are printed; after an improvement update that file.
#
# Exit status: 0 as expected, 1 a result differs, 2 the run itself could not be done.
set -uo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-${CARGO_TARGET_DIR:-$REPO/target}/debug/scimgate}
SUITES=${CONFORMANCE_DIR:-$REPO/tests/conformance}
EXT_DIR=${EXT_DIR:-/tmp/extsuites}
export EXT_DIR
TOKEN=conformance-token-0123456789

die() { echo "conformance: $*" >&2; exit 2; }

for tool in python3 node npm curl; do
  command -v "$tool" >/dev/null || die "$tool is required (python3, node and npm for newman, curl)"
done
[ -x "$BIN" ] || die "no scimgate binary at $BIN (build it with \`cargo build\` or pass its path)"
if ! [ -x "$SUITES/run_ms_postman.sh" ] || ! [ -x "$SUITES/run_okta_spec.sh" ]; then
  die "the suites are not at $SUITES (set CONFORMANCE_DIR)"
fi

WORK=$(mktemp -d -t scimgate-conformance.XXXXXX)
DEMO_PID=
stop_demo() {
  if [ -n "$DEMO_PID" ]; then
    kill "$DEMO_PID" 2>/dev/null
    wait "$DEMO_PID" 2>/dev/null
    DEMO_PID=
  fi
}
trap 'stop_demo; rm -rf "$WORK"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_demo NAME: a fresh demo on a free loopback port, healthy; sets BASE.
start_demo() {
  local name=$1 port
  port=$(free_port) || die "no free port"
  "$BIN" demo --listen "127.0.0.1:$port" --token "$TOKEN" >"$WORK/$name.log" 2>&1 &
  DEMO_PID=$!
  for _ in $(seq 1 100); do
    if curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then
      BASE="http://127.0.0.1:$port/scim/v2"
      return 0
    fi
    if ! kill -0 "$DEMO_PID" 2>/dev/null; then
      tail -n 20 "$WORK/$name.log" >&2
      die "scimgate demo exited before it was ready"
    fi
    sleep 0.1
  done
  tail -n 20 "$WORK/$name.log" >&2
  die "scimgate demo was not healthy within 10 s"
}

# expected RUN: reads $SUITES/expected/RUN.tsv into $WORK/RUN.want (sorted failing checks) and
# prints the expected result line. Every failing check must give its reason.
expected() {
  local file=$SUITES/expected/$1.tsv
  [ -r "$file" ] || die "no expectations at $file"
  awk -F '\t' -v file="$file" -v fails="$WORK/$1.want.raw" '
    /^#/ || /^$/ { next }
    $1 == "result" && NF == 2 { result = $2; next }
    $1 == "fail" && NF == 3 && $3 != "" { print $2 > fails; next }
    { printf "%s:%d: neither `result<TAB>N passed, M failed` nor `fail<TAB>check<TAB>reason`\n",
        file, NR > "/dev/stderr"; bad = 1 }
    END { if (result == "") { printf "%s: no result line\n", file > "/dev/stderr"; bad = 1 }
          if (bad) exit 1; print result }
  ' "$file" || die "$file is malformed"
  touch "$WORK/$1.want.raw"
  LC_ALL=C sort "$WORK/$1.want.raw" >"$WORK/$1.want"
}

# check RUN: compares $WORK/RUN.out (last line) and $WORK/RUN.fails with the expectations;
# prints what changed; returns 1 when anything differs.
check() {
  local run=$1 want got
  want=$(expected "$run") || exit 2
  got=$(tail -n 1 "$WORK/$run.out")
  if ! [[ $got =~ ^[0-9]+\ passed,\ [0-9]+\ failed$ ]]; then
    tail -n 30 "$WORK/$run.out" >&2
    die "$run: the runner did not end with \`N passed, M failed\`"
  fi
  LC_ALL=C sort "$WORK/$run.fails" >"$WORK/$run.got"
  if [ "$got" = "$want" ] && cmp -s "$WORK/$run.want" "$WORK/$run.got"; then
    echo "$run: as expected ($got)"
    return 0
  fi
  echo "$run: $got, EXPECTED $want"
  LC_ALL=C comm -13 "$WORK/$run.want" "$WORK/$run.got" | sed 's/^/  now failing:  /'
  LC_ALL=C comm -23 "$WORK/$run.want" "$WORK/$run.got" | sed 's/^/  now passing:  /'
  return 1
}

start=$SECONDS
status=0

echo "==> microsoft: SCIMReferenceCode Postman collection as published (fresh demo)"
start_demo microsoft
"$SUITES/run_ms_postman.sh" "$BASE" "$TOKEN" >"$WORK/microsoft.out" 2>&1
stop_demo
# `FAIL [name] test: message` -> `[name] test`
sed -n 's/^FAIL \(\[[^]]*\] [^:]*\):.*$/\1/p' "$WORK/microsoft.out" >"$WORK/microsoft.fails"
check microsoft || status=1

echo "==> okta: SCIM 2.0 SPEC test (fresh demo, seeded by the runner)"
start_demo okta
"$SUITES/run_okta_spec.sh" "$BASE" "$TOKEN" >"$WORK/okta.out" 2>&1
stop_demo
# `== METHOD url -> status (ms)  [step]`, then `  FAIL source.property comparison value ...`
# -> `[step] source.property comparison` (the expected value holds random names).
awk '/^== /{ step = $0; sub(/^.*\[/, "[", step) }
     /^  FAIL /{ print step, $2, $3 }' "$WORK/okta.out" >"$WORK/okta.fails"
check okta || status=1

echo "<== conformance: $((SECONDS - start)) s"
if [ "$status" != 0 ]; then
  echo "Results differ from the expectations in tests/conformance/expected/. A regression: fix" \
       "it. An improvement: update the result line and the failing checks there."
fi
exit "$status"
