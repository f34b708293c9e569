#!/usr/bin/env bash
# Install (once), configure (once) and start Redmine from Debian 12 packages on loopback, as a real
# legacy backend for scimgate's end-to-end run. Non-interactive and idempotent; runs as root.
#
#   eval "$(scripts/redmine/up.sh)"   # exports REDMINE_URL REDMINE_API_KEY REDMINE_PID
#                                      #         REDMINE_CF_EMPLOYEE_NUMBER REDMINE_CF_DEPARTMENT
#   REDMINE_RESET=1 scripts/redmine/up.sh   # (re)start on the pristine DB copy
#
# Environment: REDMINE_PORT (3000), REDMINE_STATE_DIR (/tmp/backends/redmine),
# REDMINE_READY_TIMEOUT (120 s), REDMINE_RESET (0).
# Only the export lines go to stdout; progress and timings go to stderr.
# Facts behind every step: docs/redmine-backend.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$here/common.sh"
need_root
READY_TIMEOUT=${REDMINE_READY_TIMEOUT:-120}
mkdir -p "$STATE_DIR"

# timed NAME CMD...: run one phase and report its duration on stderr.
timed() {
  local name=$1 start=$SECONDS; shift
  "$@"
  log "$name: $((SECONDS - start)) s"
}

# The preseed (see drop_orphan_templates for why that comes first).
preseed_debconf() {
  drop_orphan_templates redmine/current-instances redmine/instances/default/dbconfig-install \
    redmine/instances/default/database-type redmine/instances/default/default-language
  debconf-set-selections <<'DEBCONF'
redmine redmine/current-instances string default
redmine redmine/instances/default/dbconfig-install boolean true
redmine redmine/instances/default/database-type select sqlite3
redmine redmine/instances/default/default-language select en
DEBCONF
}

install_packages() {
  if all_installed; then
    if [ -r /etc/redmine/default/database.yml ]; then return 0; fi
    log "packages installed but /etc/redmine/default/database.yml is missing: purging to reinstall"
    REDMINE_PURGE=1 "$here/down.sh"
  fi
  # Left-overs of an earlier purge would stop dbconfig-common from writing the instance config.
  forget_dbconfig_files
  mkdir -p "$STATE_DIR"
  log "installing ${PACKAGES[*]} (a few minutes on a fresh machine)"
  apt-get update -q >&2
  pin_bundler
  preseed_debconf
  # Remember which packages the installs added (also when one fails half-way), so that
  # `REDMINE_PURGE=1 down.sh` removes exactly them.
  local rc=0 list=$STATE_DIR/packages.installed
  dpkg-query -W -f='${Package}\n' | sort >"$STATE_DIR/packages.before"
  # thin: the bundle has no rack server of its own; Debian's Gemfile adds thin when installed.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${PACKAGES[@]}" >&2 || rc=$?
  dpkg-query -W -f='${Package}\n' | sort >"$STATE_DIR/packages.after"
  touch "$list"
  comm -13 "$STATE_DIR/packages.before" "$STATE_DIR/packages.after" | sort -u - "$list" -o "$list"
  rm -f "$STATE_DIR/packages.before" "$STATE_DIR/packages.after"
  [ "$rc" -eq 0 ] || die "apt-get install failed (exit $rc)"
}

# The postinst's `bundle install --local` can leave a lock without thin (e.g. when it ran with the
# wrong bundler); rackup -s thin then fails. Re-resolve locally and hand the lock back to www-data.
repair_gemfile_lock() {
  local lock=/var/lib/redmine/Gemfile.lock
  [ -e "$lock" ] || lock=$REDMINE_HOME/Gemfile.lock
  if [ -r "$lock" ] && grep -qE '^    thin \(' "$lock"; then return 0; fi
  log "Gemfile.lock lacks thin: re-running bundle install --local"
  (cd "$REDMINE_HOME" && HOME=/tmp bundle install --local >&2)
  [ -e /var/lib/redmine/Gemfile.lock ] && chown www-data:www-data /var/lib/redmine/Gemfile.lock
  lock=/var/lib/redmine/Gemfile.lock
  [ -e "$lock" ] || lock=$REDMINE_HOME/Gemfile.lock
  grep -qE '^    thin \(' "$lock" || die "$lock still has no thin after bundle install --local"
}

# Once: REST API on, admin usable with Basic admin:admin, two user custom fields. Writes the admin
# key and the custom field ids to $CONFIG_ENV, then copies the DB as the pristine state.
configure() {
  if [ -s "$CONFIG_ENV" ] && [ -s "$PRISTINE" ]; then return 0; fi
  local out line db key cf_emp cf_dep
  out=$("${AS_REDMINE[@]}" bin/rails runner '
    Setting.rest_api_enabled = "1"
    admin = User.find_by_login!("admin")
    admin.update_columns(must_change_passwd: false)
    ids = %w[employeeNumber department].map { |n|
      UserCustomField.find_or_create_by!(name: n) { |f|
        f.field_format = "string"; f.visible = true; f.editable = true }.id }
    puts ["SCIMGATE-CONFIG", admin.api_key, *ids].join(" ")' 2>&1) || {
    printf '%s\n' "$out" >&2
    die "rails runner configure step failed"
  }
  line=$(printf '%s\n' "$out" | grep -E '^SCIMGATE-CONFIG [0-9a-f]{40} [0-9]+ [0-9]+$' | tail -n1) || {
    printf '%s\n' "$out" >&2
    die "configure step printed no key and custom field ids"
  }
  read -r _ key cf_emp cf_dep <<<"$line"
  printf 'REDMINE_API_KEY=%s\nREDMINE_CF_EMPLOYEE_NUMBER=%s\nREDMINE_CF_DEPARTMENT=%s\n' "$key" "$cf_emp" "$cf_dep" \
    >"$CONFIG_ENV.tmp"
  db=$(db_path)
  cp --preserve=mode,ownership "$db" "$PRISTINE"
  chmod 600 "$CONFIG_ENV.tmp"  # holds the admin API key
  mv "$CONFIG_ENV.tmp" "$CONFIG_ENV"
}

reset_db() {
  local db
  db=$(db_path)
  [ -s "$PRISTINE" ] || die "no pristine copy at $PRISTINE"
  if [ -n "$(server_pid)" ]; then "$here/down.sh"; fi
  rm -f "$db-journal" "$db-wal" "$db-shm"
  cp --preserve=mode,ownership "$PRISTINE" "$db"
  log "database reset to the pristine copy"
}

ready() { curl -fsS -o /dev/null --max-time 5 -H "X-Redmine-API-Key: $REDMINE_API_KEY" \
  "http://127.0.0.1:$PORT/users/current.json" 2>/dev/null; }

start_server() {
  local pid deadline
  pid=$(server_pid)
  if [ -n "$pid" ] && ready; then log "already running (pid $pid)"; return 0; fi
  if [ -n "$pid" ]; then "$here/down.sh"; fi
  if ready || curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/"; then
    die "port $PORT is already served by another process"
  fi
  "${AS_REDMINE[@]}" rackup -s thin -E production -o 127.0.0.1 -p "$PORT" >"$LOGFILE" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$PIDFILE"
  deadline=$((SECONDS + READY_TIMEOUT))
  until ready; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 40 "$LOGFILE" >&2 || true
      die "Redmine exited during start (log: $LOGFILE)"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 40 "$LOGFILE" >&2 || true
      "$here/down.sh" || true
      die "Redmine not ready on 127.0.0.1:$PORT after $READY_TIMEOUT s (log: $LOGFILE)"
    fi
    sleep 0.25
  done
}

timed install install_packages
pin_bundler
as_redmine_prefix
timed gemfile-lock repair_gemfile_lock
timed configure configure
# shellcheck source=/dev/null
. "$CONFIG_ENV"
if [ "${REDMINE_RESET:-0}" = 1 ]; then timed reset reset_db; fi
timed start start_server

printf 'export REDMINE_URL=%q\n' "http://127.0.0.1:$PORT"
printf 'export REDMINE_API_KEY=%q\n' "$REDMINE_API_KEY"
printf 'export REDMINE_PID=%q\n' "$(cat "$PIDFILE")"
printf 'export REDMINE_CF_EMPLOYEE_NUMBER=%q\n' "$REDMINE_CF_EMPLOYEE_NUMBER"
printf 'export REDMINE_CF_DEPARTMENT=%q\n' "$REDMINE_CF_DEPARTMENT"
