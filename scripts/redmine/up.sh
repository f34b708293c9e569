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
  # thin: the bundle has no rack server of its own; Debian's Gemfile adds thin when installed.
  apt_install "${PACKAGES[@]}"
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

ready() { curl -fsS -o /dev/null --max-time 5 -H "X-Redmine-API-Key: $REDMINE_API_KEY" \
  "http://127.0.0.1:$PORT/users/current.json" 2>/dev/null; }

timed install install_packages
pin_bundler
as_redmine_prefix
timed gemfile-lock repair_gemfile_lock
timed configure configure
# shellcheck source=/dev/null
. "$CONFIG_ENV"
if [ "${REDMINE_RESET:-0}" = 1 ]; then timed reset reset_db "$(db_path)" "$PRISTINE"; fi
timed start start_server "${AS_REDMINE[@]}" rackup -s thin -E production -o 127.0.0.1 -p "$PORT"

print_exports REDMINE_URL "http://127.0.0.1:$PORT" REDMINE_API_KEY "$REDMINE_API_KEY" \
  REDMINE_PID "$(cat "$PIDFILE")" REDMINE_CF_EMPLOYEE_NUMBER "$REDMINE_CF_EMPLOYEE_NUMBER" \
  REDMINE_CF_DEPARTMENT "$REDMINE_CF_DEPARTMENT"
