# shellcheck shell=bash disable=SC2034  # the variables are used by the scripts that source this
# Shared by up.sh / down.sh / smoke.sh: paths, the bundler pin and small helpers.
# Sourced, not run. Everything a script prints for humans goes to stderr; stdout is reserved
# for what callers `eval` (up.sh's export lines) or read (smoke.sh's summary).

STATE_DIR=${REDMINE_STATE_DIR:-/tmp/backends/redmine}
PORT=${REDMINE_PORT:-3000}
PACKAGES=(redmine redmine-sqlite thin)
REDMINE_HOME=/usr/share/redmine
PIDFILE=$STATE_DIR/redmine.pid
LOGFILE=$STATE_DIR/server.log
CONFIG_ENV=$STATE_DIR/config.env      # admin key + custom field ids, written by the first configure
PRISTINE=$STATE_DIR/pristine.sqlite3  # the DB right after the first configure

log() { printf 'redmine: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

need_root() { [ "$(id -u)" -eq 0 ] || die "must run as root (installs packages, runs Redmine as www-data)"; }

# is_installed PKG: dpkg says the package is fully installed.
is_installed() { [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = installed ]; }

all_installed() {
  local p
  for p in "${PACKAGES[@]}"; do is_installed "$p" || return 1; done
}

# pin_bundler: export BUNDLER_VERSION as Debian's packaged bundler (2.3.15 on bookworm).
# ruby3.1's security update ships bundler 2.3.27 as the default gem, and with it redmine's
# postinst (`bundle install --local`) fails with Bundler::GemNotFound (rotp). dpkg passes the
# environment to maintainer scripts, so this must stay exported around every apt call.
pin_bundler() {
  local v
  v=$(dpkg-query -W -f='${Version}' ruby-bundler 2>/dev/null || true)
  if [ -z "$v" ]; then
    v=$(apt-cache policy ruby-bundler 2>/dev/null | awk '/Candidate:/{print $2}')
    if [ -z "$v" ] || [ "$v" = "(none)" ]; then
      apt-get update -q >&2
      v=$(apt-cache policy ruby-bundler | awk '/Candidate:/{print $2}')
    fi
  fi
  if [ -z "$v" ] || [ "$v" = "(none)" ]; then die "no ruby-bundler package version found"; fi
  v=${v#*:}
  export BUNDLER_VERSION=${v%%-*}
}

# AS_REDMINE CMD...: run CMD in Redmine's directory as www-data with the instance environment.
# An array, not a function: backgrounding "${AS_REDMINE[@]}" cmd & forks once and setpriv and env
# exec, so $! is the command's own pid (a backgrounded function would give a subshell's pid).
as_redmine_prefix() {
  AS_REDMINE=(setpriv --reuid=www-data --regid=www-data --init-groups
    env -C "$REDMINE_HOME" HOME=/tmp REDMINE_INSTANCE=default RAILS_ENV=production
    BUNDLER_VERSION="$BUNDLER_VERSION")
}

# db_path: the SQLite file of the default instance, from its database.yml.
db_path() {
  local yml=/etc/redmine/default/database.yml dir file
  [ -r "$yml" ] || die "$yml missing: is redmine installed?"
  dir=$(awk -F': *' '/^ *basepath:/{gsub(/["'\'']/, "", $2); print $2; exit}' "$yml")
  file=$(awk -F': *' '/^ *database:/{gsub(/["'\'']/, "", $2); print $2; exit}' "$yml")
  case $file in
    /*) printf '%s\n' "$file" ;;
    *) printf '%s/%s\n' "${dir:-/var/lib/dbconfig-common/sqlite3/redmine/instances/default}" "$file" ;;
  esac
}

# server_pid: the pid in the pid file if that process is alive and is our rackup; else nothing.
server_pid() {
  local pid
  [ -r "$PIDFILE" ] || return 0
  pid=$(cat "$PIDFILE")
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'rackup'; then
    printf '%s\n' "$pid"
  fi
}

# forget_dbconfig_files: drop ucf's memory of redmine's generated config files (dbconfig-common's
# instance settings and /etc/redmine/default/database.yml). Otherwise, once those files are gone, a
# reinstall says "Not replacing deleted config file" and redmine is left without database.yml.
forget_dbconfig_files() {
  local pkg file
  if [ -r /var/lib/ucf/registry ]; then
    while read -r pkg file; do
      case $file in /etc/dbconfig-common/redmine/* | /etc/redmine/*) ;; *) continue ;; esac
      if command -v ucfr >/dev/null; then ucfr --purge "$pkg" "$file" >&2 || true; fi
    done </var/lib/ucf/registry
  fi
  if [ -r /var/lib/ucf/hashfile ]; then
    while read -r _ file; do
      case $file in /etc/dbconfig-common/redmine/* | /etc/redmine/*) ;; *) continue ;; esac
      rm -f "$file"
      if command -v ucf >/dev/null; then ucf --purge "$file" >&2 || true; fi
    done </var/lib/ucf/hashfile
  fi
}

# drop_orphan_templates NAME...: a purge drops redmine's debconf questions but keeps the dummy
# templates an earlier preseed created, and debconf-set-selections then fails with "Cannot find a
# question for NAME". Remove each named template that has no question of its name.
drop_orphan_templates() {
  perl -MDebconf::Db -e '
    Debconf::Db->load;
    for my $t (@ARGV) {
      next if $Debconf::Db::config->exists($t) || !$Debconf::Db::templates->exists($t);
      $Debconf::Db::templates->removeowner($t, $_) for $Debconf::Db::templates->owners($t);
    }
    Debconf::Db->save;' "$@"
}
