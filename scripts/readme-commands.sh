#!/usr/bin/env bash
# Every command in README.md, run (or, where it cannot run here, checked) so the README cannot rot.
#
#   scripts/readme-commands.sh target/debug/scimgate
#
# What it does, top to bottom of README.md:
# - Every fenced block needs a language. ```sh, ```bash and ```console blocks are run, in README
#   order; others (```yaml, ```json, ```text) are not. A block may be indented (inside a list).
# - The quick start: the first ```sh block must start with exactly `cargo run --release -- demo`;
#   that line is run as the built binary, `BIN demo`, in the background (the demo's state is in
#   memory; every later block runs against it). The README's demo URL `http://127.0.0.1:8080`
#   must be `demo`'s default `--listen`; the script starts the demo on a free port and rewrites
#   `127.0.0.1:8080` in every block to it (so a busy 8080 on a shared machine does not matter).
#   `scripts/test.sh` (which runs this script) is not run: it must exist and be executable.
# - Every block runs in the repository root with `bash -euo pipefail`, `scimgate` on PATH as BIN,
#   `TOKEN` set to the token the demo printed, and `DEMO_API_KEY` set. A failing command fails the
#   run, naming the README line of its block.
# - ```console blocks: a line starting with `$ ` is a command (a trailing `\` continues it), the
#   lines up to the next command are its output (stdout and stderr), compared line by line.
#   In an output line `...` matches any text; a line of only `...` matches any number of lines.
# - A block whose first lines hold `# readme: needs SERVICE` (e.g. `# readme: needs postgres`) is
#   skipped with "needs SERVICE" printed: for blocks that need an external service this script
#   does not start.
# - Not runnable here, listed in NOT_RUNNABLE below with the reason, and checked another way:
#   `docker build` / `docker run` (no Docker engine: the flags, mounts, env var names and paths
#   are checked against Dockerfile, config/scimgate.yaml and the mappings), the Entra admin
#   center steps (a web UI: the Tenant URL's path and flag and the Test-connection probe are run
#   against the demo; `scimgate token`'s hash line is checked against its token).
# - Every script the README names in inline code (`scripts/….sh`, `bench/….sh`) must exist and
#   be executable.
# A new README section is picked up as it is; nothing here lists the README's blocks.
set -euo pipefail
BIN=${1:?usage: scripts/readme-commands.sh SCIMGATE_BINARY}
root=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(realpath "$BIN")
cd "$root"
README=${README_COMMANDS_FILE:-README.md}   # another file only to test this script
began=$SECONDS
work=$(mktemp -d)
demo_pid=

cleanup() {
  if [ -n "$demo_pid" ]; then
    kill -TERM "$demo_pid" 2>/dev/null || true
    wait "$demo_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# The commands that cannot run here: first word(s) → why. Each has a check_* function below.
declare -A NOT_RUNNABLE=(
  ["docker build"]="no Docker engine on CI machines; checked against the Dockerfile"
  ["docker run"]="no Docker engine on CI machines; flags, mounts and env vars checked against Dockerfile, config and mappings"
  ["Entra admin center"]="a web UI (README: Connecting Microsoft Entra ID); the Tenant URL and Test connection probe run against the demo"
)
QUICK_START="cargo run --release -- demo"

fail() { # fail LINE MESSAGE
  echo "FAIL README.md:$1: $2" >&2
  exit 1
}
note() { echo "  $*"; }

# --- extract the blocks ------------------------------------------------------------------------
cat >"$work/extract.py" <<'PY'
"""Splits README.md into fenced blocks: blocks/NNN.txt (the body, de-indented), and an index
line per block on stdout: NNN<TAB>LINE<TAB>LANG. Console blocks also get NNN.cmdK / NNN.outK."""
import os, re, sys

readme, out = sys.argv[1], sys.argv[2]
lines = open(readme, encoding="utf-8").read().split("\n")
fence = re.compile(r"^(\s*)(`{3,})(\S*)\s*$")
i, n = 0, 0
while i < len(lines):
    m = fence.match(lines[i])
    if not m:
        i += 1
        continue
    indent, ticks, lang = len(m.group(1)), m.group(2), m.group(3)
    start = i + 1
    body = []
    i += 1
    while i < len(lines) and not re.match(r"^\s*" + ticks + r"\s*$", lines[i]):
        line = lines[i]
        body.append(line[indent:] if line[:indent].strip() == "" else line.lstrip())
        i += 1
    if i >= len(lines):
        sys.exit(f"FAIL README.md:{start}: unterminated code fence")
    i += 1
    n += 1
    name = f"{n:03d}"
    with open(os.path.join(out, name + ".txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(body) + "\n")
    if lang == "console":
        cmds, k = [], -1
        for line in body:
            if line.startswith("$ ") and not (cmds and cmds[-1][0].endswith("\\")):
                cmds.append([line[2:], []])
            elif cmds and cmds[-1][0].endswith("\\") and not cmds[-1][1]:
                cmds[-1][0] += "\n" + line
            elif cmds:
                cmds[-1][1].append(line)
            elif line.strip():
                sys.exit(f"FAIL README.md:{start}: console block text before its first `$ ` command")
        for k, (cmd, expected) in enumerate(cmds):
            with open(os.path.join(out, f"{name}.cmd{k}"), "w", encoding="utf-8") as f:
                f.write(cmd + "\n")
            with open(os.path.join(out, f"{name}.out{k}"), "w", encoding="utf-8") as f:
                f.write("\n".join(expected).rstrip("\n") + "\n" if any(l.strip() for l in expected) else "")
    print(f"{name}\t{start}\t{lang}")
PY

# --- output comparison -------------------------------------------------------------------------
cat >"$work/match.py" <<'PY'
"""match.py EXPECTED ACTUAL: exit 0 when ACTUAL matches EXPECTED (`...` wildcards), else print
the first difference."""
import re, sys

want = open(sys.argv[1], encoding="utf-8").read().rstrip("\n").split("\n")
got = open(sys.argv[2], encoding="utf-8", errors="replace").read().rstrip("\n").split("\n")
if want == [""]:
    want = []
if got == [""]:
    got = []
parts = []
for line in want:
    if line.strip() == "...":
        parts.append(r"(?:[^\n]*\n)*?")
    else:
        parts.append(".*".join(re.escape(p) for p in line.split("...")) + r"[ \t]*\n")
pattern = "".join(parts)
text = "".join(l + "\n" for l in got)
if re.fullmatch(pattern, text):
    sys.exit(0)
# Say where: the longest expected prefix that still matches.
k = len(parts)
while k > 0 and not re.match("".join(parts[:k]), text):
    k -= 1
print(f"    output differs at expected line {k + 1}: {want[k] if k < len(want) else '(end)'!r}")
print("    actual output:")
for line in got[:40]:
    print("    | " + line)
sys.exit(1)
PY

mkdir -p "$work/blocks"
python3 "$work/extract.py" "$README" "$work/blocks" >"$work/index" || exit 1

# --- scimgate on PATH as the binary under test ---------------------------------------------------
mkdir -p "$work/bin"
ln -s "$BIN" "$work/bin/scimgate"
export PATH="$work/bin:$PATH"
export DEMO_API_KEY=readme-demo-api-key

# --- the stand-in checks -----------------------------------------------------------------------
# check_docker BLOCKFILE LINE: the docker lines of a block, checked against the repository.
check_docker() {
  python3 - "$1" "$2" <<'PY'
import re, shlex, sys, os

block, line0 = sys.argv[1], sys.argv[2]
def fail(msg):
    sys.exit(f"FAIL README.md:{line0}: {msg}")

text = open(block, encoding="utf-8").read().replace("\\\n", " ")
logical = [l.strip() for l in text.split("\n") if l.strip() and not l.strip().startswith("#")]
other = [l for l in logical if not l.startswith("docker ")]
if other:
    fail(f"a docker block holds other commands too (`{other[0]}`): keep docker lines in a block of their own")
docker = logical
dockerfile = open("Dockerfile", encoding="utf-8").read().replace("\\\n", " ")
config_text = open("config/scimgate.yaml", encoding="utf-8").read()

def directives(name):
    return [l.split(None, 1)[1].strip() for l in dockerfile.split("\n")
            if l.strip().upper().startswith(name + " ")]

# Key paths of config/scimgate.yaml (a small indentation walk: no YAML library needed).
keys, stack = set(), []
for raw in config_text.split("\n"):
    m = re.match(r"^(\s*)(- )?([A-Za-z_][A-Za-z0-9_]*):", raw.split("#", 1)[0])
    if not m:
        continue
    indent = len(m.group(1)) + (2 if m.group(2) else 0)
    while stack and stack[-1][0] >= indent:
        stack.pop()
    stack.append((indent, m.group(3)))
    keys.add(".".join(k for _, k in stack))
def value(key):
    m = re.search(r"^\s*" + re.escape(key) + r":\s*\"?([^\"#\n]*)", config_text, re.M)
    return m.group(1).strip() if m else None

image = None
for cmd in docker:
    words = shlex.split(cmd, comments=True)
    if words[:2] == ["docker", "build"]:
        if "-t" not in words:
            fail("docker build without -t: the run line names the image")
        image = words[words.index("-t") + 1]
        context = words[-1]
        if not os.path.isfile(os.path.join(context, "Dockerfile")):
            fail(f"docker build context {context} has no Dockerfile")
        print(f"  docker build: context {context} has the Dockerfile, image {image}")
    elif words[:2] == ["docker", "run"]:
        rest, i, env, mounts, ports = words[2:], 0, [], [], []
        positional = []
        while i < len(rest):
            w = rest[i]
            if w in ("--rm", "-d", "-it", "-i", "-t"):
                i += 1
            elif w in ("-p", "-v", "-e", "--name", "--env-file"):
                {"-p": ports, "-v": mounts, "-e": env}.get(w, []).append(rest[i + 1])
                i += 2
            elif w.startswith("-"):
                fail(f"docker run flag {w} is not known to this check (add it to scripts/readme-commands.sh)")
            else:
                positional = rest[i:]
                break
        if not positional:
            fail("docker run names no image")
        if image is not None and positional[0] != image:
            fail(f"docker run image {positional[0]} is not the one built ({image})")
        args = positional[1:]
        cmd_line = directives("CMD")
        entry = directives("ENTRYPOINT")
        if not entry or "scimgate" not in entry[-1]:
            fail("the Dockerfile's ENTRYPOINT is not the scimgate binary")
        if not args and (not cmd_line or '"serve"' not in cmd_line[-1]):
            fail("docker run gives no command, but the Dockerfile's CMD is not serve")
        exposed = " ".join(directives("EXPOSE")).split()
        listen = value("listen") or ""
        for p in ports:
            container = p.rsplit(":", 1)[-1]
            if container not in exposed:
                fail(f"-p {p}: the Dockerfile EXPOSEs {exposed}, not {container}")
            if not listen.endswith(":" + container):
                fail(f"-p {p}: config/scimgate.yaml server.listen is {listen}")
            print(f"  -p {p}: EXPOSE {container}, server.listen {listen}")
        copies = {}
        for c in directives("COPY"):
            parts = c.split()
            if parts[0].startswith("--"):
                continue
            copies[parts[-1].rstrip("/")] = parts[0].rstrip("/")
        env_config = [e for e in directives("ENV") if e.startswith("SCIMGATE_CONFIG=")]
        if not env_config:
            fail("the Dockerfile sets no SCIMGATE_CONFIG")
        config_in_image = env_config[-1].split("=", 1)[1]
        workdir = directives("WORKDIR")[-1]
        mounted = {}
        for v in mounts:
            src, dst = v.split(":")[0], v.split(":")[1]
            if src.startswith("$PWD/"):
                local = src[len("$PWD/"):]
                if not os.path.isdir(local):
                    fail(f"-v {v}: ./{local} does not exist")
                if copies.get(dst) != local:
                    fail(f"-v {v}: the Dockerfile does not bake {local}/ into {dst} (COPY {local}/ {dst}/)")
                mounted[dst] = local
                print(f"  -v {v}: ./{local} is baked into {dst} and mounted over it")
            else:
                if dst != workdir:
                    fail(f"-v {v}: the data volume must be the Dockerfile's WORKDIR {workdir}")
                sqlite = value("sqlite_path") or ""
                if sqlite.startswith("/") and not sqlite.startswith(dst):
                    fail(f"-v {v}: store.sqlite_path {sqlite} is not on the volume")
                print(f"  -v {v}: WORKDIR {workdir}, store.sqlite_path {sqlite} lands on it")
        config_dir = os.path.dirname(config_in_image)
        if config_dir not in mounted:
            fail(f"SCIMGATE_CONFIG={config_in_image} is not under a mounted directory")
        local_config = os.path.join(mounted[config_dir], os.path.basename(config_in_image))
        if not os.path.isfile(local_config):
            fail(f"SCIMGATE_CONFIG={config_in_image}: ./{local_config} does not exist")
        print(f"  SCIMGATE_CONFIG={config_in_image} is ./{local_config}")
        mappings = re.findall(r"^\s*mapping:\s*\"?([^\"#\s]+)", config_text, re.M)
        mapping_texts = []
        for m in mappings:
            in_image = os.path.normpath(os.path.join(config_dir, m))
            home = [d for d in mounted if in_image.startswith(d + "/")]
            if not home:
                fail(f"tenant mapping {m} resolves to {in_image}, which is not mounted")
            local = os.path.join(mounted[home[0]], in_image[len(home[0]) + 1:])
            if not os.path.isfile(local):
                fail(f"tenant mapping {in_image} is ./{local}, which does not exist")
            mapping_texts.append(open(local, encoding="utf-8").read())
            print(f"  tenant mapping {m} → {in_image} (./{local})")
        for e in env:
            name = e.split("=", 1)[0]
            if name.startswith("SCIMGATE__"):
                key = ".".join(name[len("SCIMGATE__"):].lower().split("__"))
                if key not in keys:
                    fail(f"-e {name}: config/scimgate.yaml has no key {key}")
                print(f"  -e {name}: key {key}")
            elif re.search(r"\b" + re.escape(name) + r"\b", config_text):
                print(f"  -e {name}: read by config/scimgate.yaml")
            elif any("${" + name in t for t in mapping_texts):
                print(f"  -e {name}: read by the tenant's mapping")
            else:
                fail(f"-e {name}: neither config/scimgate.yaml nor its mappings read it")
    else:
        fail(f"`{cmd}`: a docker command this script cannot check (add it to NOT_RUNNABLE)")
PY
}

# check_entra PORT: the Entra admin center steps' facts, against the running demo.
check_entra() {
  local port=$1 url flag probe
  url=$(grep -o 'https://scim.example.com/scim/v2?[A-Za-z0-9]*' "$README" | head -n1)
  [ -n "$url" ] || fail 1 "the Entra steps give no Tenant URL https://scim.example.com/scim/v2?…"
  flag=${url#*\?}
  grep -q '^ *base_path: /scim/v2' config/scimgate.yaml ||
    fail 1 "the Tenant URL's path /scim/v2 is not config/scimgate.yaml's base_path"
  # Test connection: GET /Users?filter=userName eq "<random guid>" → 200 with zero results.
  probe=$(curl -sS -H "Authorization: Bearer $TOKEN" \
    "http://127.0.0.1:$port/scim/v2/Users?filter=userName+eq+%22$(python3 -c 'import uuid; print(uuid.uuid4())')%22&$flag")
  python3 -c 'import json, sys; b = json.loads(sys.argv[1]); assert b["totalResults"] == 0, b' "$probe" ||
    fail 1 "Entra's Test connection probe (with ?$flag) did not answer 0 results: $probe"
  note "Tenant URL $url: path is base_path, the probe with ?$flag answers 200 and 0 results"
  # Make a token: `scimgate token`'s settings line is the sha256 of its token.
  python3 - "$("$BIN" token)" <<'PY' || fail 1 "scimgate token: the sha256 line is not the token's hash"
import hashlib, re, sys
out = sys.argv[1]
token = re.search(r"Secret Token[^:]*: (\S+)", out).group(1)
line = re.search(r"(sha256:[0-9a-f]{64})", out).group(1)
assert line == "sha256:" + hashlib.sha256(token.encode()).hexdigest(), out
PY
  note "scimgate token: the sha256 line hashes the token (tenants[].auth.bearer.token_hashes)"
}

# --- scripts the README names ------------------------------------------------------------------
echo "==> scripts named in README.md"
while IFS=: read -r line script; do
  [ -x "$script" ] || fail "$line" "\`$script\` is named but is not an executable file"
  note "$script (line $line) exists and is executable"
done < <(grep -noE '`(scripts|bench)/[A-Za-z0-9_./-]+\.sh' "$README" | tr -d '`' | sort -t: -k2 -u)

# --- run the blocks ----------------------------------------------------------------------------
port=
run_block() { # run_block FILE LINE: a shell block, 8080 rewritten to the demo's port
  local out=$work/out
  sed "s/127\.0\.0\.1:8080/127.0.0.1:$port/g" "$1" >"$work/run.sh"
  if ! (bash -euo pipefail "$work/run.sh") >"$out" 2>&1; then
    sed 's/^/    | /' "$out" | head -40 >&2
    fail "$2" "a command of this block failed"
  fi
}

start_demo() { # start_demo LINE
  local default base i
  default=$("$BIN" demo --help | grep -o 'default: [0-9.:]*' | head -n1 | cut -d' ' -f2)
  [ "$default" = "127.0.0.1:8080" ] ||
    fail "$1" "the README's demo URL is 127.0.0.1:8080 but demo's default --listen is $default"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$BIN" demo --listen "127.0.0.1:$port" >"$work/demo.log" 2>&1 </dev/null &
  demo_pid=$!
  for i in $(seq 1 100); do
    grep -q "Bearer token" "$work/demo.log" && curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && break
    kill -0 "$demo_pid" 2>/dev/null || { cat "$work/demo.log" >&2; fail "$1" "demo exited"; }
    [ "$i" -lt 100 ] || { cat "$work/demo.log" >&2; fail "$1" "demo did not come up"; }
    sleep 0.1
  done
  TOKEN=$(sed -n "s/.*Bearer token (Entra's Secret Token): *//p" "$work/demo.log" | head -n1 | tr -d '[:space:]')
  [ -n "$TOKEN" ] || fail "$1" "demo printed no bearer token"
  export TOKEN
  base=$(sed -n 's/.*SCIM base URL[^:]*: *//p' "$work/demo.log" | head -n1 | tr -d '[:space:]')
  [ "$base" = "http://127.0.0.1:$port/scim/v2" ] || fail "$1" "demo printed the base URL $base"
  note "demo on 127.0.0.1:$port (README: 127.0.0.1:8080, demo's default), its token in \$TOKEN"
}

ran=0
skipped=()
first_sh=1
while IFS=$'\t' read -r id line lang; do
  file=$work/blocks/$id.txt
  case $lang in
    sh | bash | console) ;;
    "") fail "$line" "a code fence without a language (sh/bash/console are run; yaml/json/text are not)" ;;
    *) continue ;;
  esac
  need=$(sed -n '1,3s/^# readme: needs \(.*\)$/\1/p' "$file" | head -n1)
  if [ -n "$need" ]; then
    skipped+=("line $line: needs $need")
    echo "--  README.md:$line ($lang): skipped, needs $need"
    continue
  fi
  echo "==> README.md:$line ($lang)"
  if [ "$lang" != console ]; then
    if [ "$first_sh" = 1 ]; then
      first_sh=0
      first=$(grep -v '^\s*$' "$file" | head -n1 | sed 's/\s*#.*$//')
      [ "$first" = "$QUICK_START" ] ||
        fail "$line" "the quick start's first command is \`$first\`, not \`$QUICK_START\` (what this script runs as \`BIN demo\`)"
      grep -qE '^scripts/test\.sh(\s|$)' "$file" || fail "$line" "the quick start does not give scripts/test.sh"
      [ -x scripts/test.sh ] || fail "$line" "scripts/test.sh is not executable"
      start_demo "$line"
      note "scripts/test.sh: not run (it runs this script), exists and is executable"
      rest=$(grep -vE "^(cargo run --release -- demo|scripts/test\.sh)(\s|$)" "$file" | grep -v '^\s*$' || true)
      [ -z "$rest" ] || fail "$line" "the quick start block has more than its two commands: $rest"
      ran=$((ran + 1))
      continue
    fi
    [ -n "$port" ] || fail "$line" "a runnable block before the quick start"
    if grep -qE '^\s*docker ' "$file"; then
      for key in "docker build" "docker run"; do
        if grep -qE "^\s*$key " "$file"; then note "not runnable here: $key: ${NOT_RUNNABLE[$key]}"; fi
      done
      check_docker "$file" "$line"
      ran=$((ran + 1))
      continue
    fi
    run_block "$file" "$line"
    ran=$((ran + 1))
    note "ok"
    continue
  fi
  [ -n "$port" ] || fail "$line" "a console block before the quick start"
  for cmd in "$work/blocks/$id".cmd*; do
    k=${cmd##*.cmd}
    sed "s/127\.0\.0\.1:8080/127.0.0.1:$port/g" "$work/blocks/$id.out$k" >"$work/expected"
    if ! (sed "s/127\.0\.0\.1:8080/127.0.0.1:$port/g" "$cmd" | bash -euo pipefail) >"$work/actual" 2>&1; then
      sed 's/^/    | /' "$work/actual" | head -40 >&2
      fail "$line" "\`$(head -n1 "$cmd")\` failed"
    fi
    if ! python3 "$work/match.py" "$work/expected" "$work/actual" >&2; then
      fail "$line" "\`$(head -n1 "$cmd")\`: output differs from the README"
    fi
    note "\$ $(head -n1 "$cmd")"
  done
  ran=$((ran + 1))
done <"$work/index"
[ -n "$port" ] || fail 1 "no quick start block (\`$QUICK_START\`) found"

echo "==> not runnable here: Entra admin center (docker: above)"
note "${NOT_RUNNABLE["Entra admin center"]}"
check_entra "$port"
kill -0 "$demo_pid" 2>/dev/null || fail 1 "the demo died during the run"

echo "README commands: $ran blocks run or checked, ${#skipped[@]} skipped${skipped[*]:+ (${skipped[*]})}; $((SECONDS - began)) s"
