# shellcheck shell=bash disable=SC2034  # the variables are used by the scripts that source this
# Shared by up.sh / down.sh: paths and small helpers. Sourced, not run. Everything a script prints
# for humans goes to stderr; stdout is reserved for up.sh's export lines (callers `eval` them).

STATE_DIR=${RT_STATE_DIR:-/tmp/backends/request-tracker}
PORT=${RT_PORT:-9080}
# rt5-standalone: the Plack server (Starlet) rt-server runs on. dma: the mail transport RT
# depends on, without a daemon (the default would be exim4, which starts one); only when the
# machine has no mail transport yet (see packages()).
PACKAGES=(request-tracker5 rt5-db-sqlite rt5-standalone)
RT_HOME=/usr/share/request-tracker5
SITE_DIR=/etc/request-tracker5/RT_SiteConfig.d
DB=/var/lib/dbconfig-common/sqlite3/request-tracker5/rtdb
PIDFILE=$STATE_DIR/rt.pid
LOGFILE=$STATE_DIR/server.log
CONFIG_ENV=$STATE_DIR/config.env  # the API token, written by the first configure
PRISTINE=$STATE_DIR/pristine.rtdb # the DB right after the first configure

log() { printf 'request-tracker: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

need_root() { [ "$(id -u)" -eq 0 ] || die "must run as root (installs packages, runs RT as www-data)"; }

is_installed() { [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = installed ]; }

all_installed() {
  local p
  for p in "${PACKAGES[@]}"; do is_installed "$p" || return 1; done
}

# AS_RT CMD...: run CMD as www-data (an array, so `"${AS_RT[@]}" cmd &` gives the command's pid).
AS_RT=(setpriv --reuid=www-data --regid=www-data --init-groups env HOME=/tmp)

# server_pid: the pid in the pid file if that process is alive and is our rt-server; else nothing.
server_pid() {
  local pid
  [ -r "$PIDFILE" ] || return 0
  pid=$(cat "$PIDFILE")
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'rt-server'; then
    printf '%s\n' "$pid"
  fi
}

# forget_ucf_files: drop ucf's memory of RT's generated config files (the site config snippets,
# dbconfig-common's settings). Otherwise, once a purge deleted them, a reinstall says "Not
# replacing deleted config file": RT is left without its database settings and creates its
# database somewhere else.
forget_ucf_files() {
  local pkg file
  if [ -r /var/lib/ucf/registry ]; then
    while read -r pkg file; do
      case $file in /etc/request-tracker5/* | /etc/dbconfig-common/request-tracker5* | /etc/cron.d/request-tracker5) ;; *) continue ;; esac
      if command -v ucfr >/dev/null; then ucfr --purge "$pkg" "$file" >&2 || true; fi
    done </var/lib/ucf/registry
  fi
  if [ -r /var/lib/ucf/hashfile ]; then
    while read -r _ file; do
      case $file in /etc/request-tracker5/* | /etc/dbconfig-common/request-tracker5* | /etc/cron.d/request-tracker5) ;; *) continue ;; esac
      rm -f "$file"
      if command -v ucf >/dev/null; then ucf --purge "$file" >&2 || true; fi
    done </var/lib/ucf/hashfile
  fi
}
