# shellcheck shell=bash
# Shared by scripts/redmine/*.sh and scripts/request-tracker/*.sh, sourced by their common.sh
# after it set NAME (log prefix), PRODUCT, PACKAGES, STATE_DIR, PORT, PIDFILE, LOGFILE and
# SERVER_CMD: logging, dpkg and ucf bookkeeping, starting, waiting for and stopping the server,
# the export lines. Sourced, not run. Human output goes to stderr; stdout is for the export lines.

log() { printf '%s: %s\n' "$NAME" "$*" >&2; }
die() { log "error: $*"; exit 1; }
need_root() { [ "$(id -u)" -eq 0 ] || die "must run as root (installs packages, runs $PRODUCT as www-data)"; }

# is_installed PKG: dpkg says the package is fully installed.
is_installed() { [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = installed ]; }
all_installed() {
  local p
  for p in "${PACKAGES[@]}"; do is_installed "$p" || return 1; done
}

timed() { # timed NAME CMD...: one phase, its duration on stderr
  local name=$1 start=$SECONDS; shift
  "$@"
  log "$name: $((SECONDS - start)) s"
}

# apt_install ARG...: apt-get install, remembering which packages it added (also when it fails
# half-way) in $STATE_DIR/packages.installed, so that a purge removes exactly them.
apt_install() {
  local rc=0 list=$STATE_DIR/packages.installed
  dpkg-query -W -f='${Package}\n' | sort >"$STATE_DIR/packages.before"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >&2 || rc=$?
  dpkg-query -W -f='${Package}\n' | sort >"$STATE_DIR/packages.after"
  touch "$list"
  comm -13 "$STATE_DIR/packages.before" "$STATE_DIR/packages.after" | sort -u - "$list" -o "$list"
  rm -f "$STATE_DIR/packages.before" "$STATE_DIR/packages.after"
  [ "$rc" -eq 0 ] || die "apt-get install failed (exit $rc)"
}

# apt_purge: purge what apt_install recorded (else PACKAGES) and is still present; runs the
# caller's before_purge first when it defines one and something is left to purge.
apt_purge() {
  local pkgs=() present=() p
  if [ -s "$STATE_DIR/packages.installed" ]; then mapfile -t pkgs <"$STATE_DIR/packages.installed"; else pkgs=("${PACKAGES[@]}"); fi
  for p in "${pkgs[@]}"; do
    if dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qv '^not-installed$'; then present+=("$p"); fi
  done
  [ ${#present[@]} -gt 0 ] || return 0
  if declare -F before_purge >/dev/null; then before_purge; fi
  log "purging ${#present[@]} packages"
  DEBIAN_FRONTEND=noninteractive apt-get purge -y -q "${present[@]}" >&2
}

# forget_ucf_files REGEX: drop ucf's memory of the generated config files whose path matches.
# Otherwise, once a purge deleted them, a reinstall says "Not replacing deleted config file" and
# the product is left without its database settings.
forget_ucf_files() {
  local pkg file
  if [ -r /var/lib/ucf/registry ]; then
    while read -r pkg file; do
      [[ $file =~ $1 ]] || continue
      if command -v ucfr >/dev/null; then ucfr --purge "$pkg" "$file" >&2 || true; fi
    done </var/lib/ucf/registry
  fi
  if [ -r /var/lib/ucf/hashfile ]; then
    while read -r _ file; do
      [[ $file =~ $1 ]] || continue
      rm -f "$file"
      if command -v ucf >/dev/null; then ucf --purge "$file" >&2 || true; fi
    done </var/lib/ucf/hashfile
  fi
}

# server_pid: the pid in the pid file if that process is alive and runs SERVER_CMD; else nothing.
server_pid() {
  local pid
  [ -r "$PIDFILE" ] || return 0
  pid=$(cat "$PIDFILE")
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$SERVER_CMD"; then
    printf '%s\n' "$pid"
  fi
}

# reset_db DB PRISTINE: stop the server and put the pristine copy in place of DB.
reset_db() {
  [ -s "$2" ] || die "no pristine copy at $2"
  if [ -n "$(server_pid)" ]; then "$here/down.sh"; fi
  rm -f "$1-journal" "$1-wal" "$1-shm"
  cp --preserve=mode,ownership "$2" "$1"
  log "database reset to the pristine copy"
}

# start_server CMD...: unless it is up already, run CMD as the server (its pid in PIDFILE, its
# output in LOGFILE) and wait up to READY_TIMEOUT s for the caller's `ready` check. CMD is
# backgrounded as a simple command, so $! is its own pid (a backgrounded function gives a
# subshell's).
start_server() {
  local pid deadline
  pid=$(server_pid)
  if [ -n "$pid" ] && ready; then log "already running (pid $pid)"; return 0; fi
  if [ -n "$pid" ]; then "$here/down.sh"; fi
  if ready || curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/"; then
    die "port $PORT is already served by another process"
  fi
  "$@" >"$LOGFILE" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$PIDFILE"
  deadline=$((SECONDS + READY_TIMEOUT))
  until ready; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 40 "$LOGFILE" >&2 || true
      die "$PRODUCT exited during start (log: $LOGFILE)"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 40 "$LOGFILE" >&2 || true
      "$here/down.sh" || true
      die "$PRODUCT not ready on 127.0.0.1:$PORT after $READY_TIMEOUT s (log: $LOGFILE)"
    fi
    sleep 0.25
  done
}

# stop_server: TERM, wait STOP_TIMEOUT s, then KILL; then KILL the children it had (workers a
# killed master leaves behind hold the port).
stop_server() {
  local pid deadline workers w
  pid=$(server_pid)
  if [ -z "$pid" ]; then
    log "not running"
    rm -f "$PIDFILE"
    return 0
  fi
  workers=$(pgrep -P "$pid" || true)
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "pid $pid still alive after ${STOP_TIMEOUT} s: KILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.2
  done
  for w in $workers; do kill -KILL "$w" 2>/dev/null || true; done
  rm -f "$PIDFILE"
  log "stopped (pid $pid)"
}

# print_exports NAME VALUE...: the export lines callers `eval`, values shell-quoted.
print_exports() {
  while [ $# -ge 2 ]; do
    printf 'export %s=%q\n' "$1" "$2"
    shift 2
  done
}
