#!/usr/bin/env bash
# Install (once), configure (once) and start Request Tracker 5 from Debian 12 packages on
# loopback, as a real legacy backend for scimgate (mappings/request-tracker.yaml). Non-interactive
# and idempotent; runs as root.
#
#   eval "$(scripts/request-tracker/up.sh)"   # exports RT_URL RT_TOKEN RT_PID
#   RT_RESET=1 scripts/request-tracker/up.sh  # (re)start on the pristine database
#
# Environment: RT_PORT (9080), RT_STATE_DIR (/tmp/backends/request-tracker), RT_READY_TIMEOUT
# (60 s), RT_RESET (0). Only the export lines go to stdout; progress and timings go to stderr.
# Why each step: docs/request-tracker-backend.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$here/common.sh"
need_root
READY_TIMEOUT=${RT_READY_TIMEOUT:-60}
mkdir -p "$STATE_DIR"

install_packages() {
  if all_installed && [ -s "$DB" ]; then return 0; fi
  local pkgs=("${PACKAGES[@]}")
  # RT depends on a mail transport; without one apt picks exim4, whose daemon would outlive us.
  if ! dpkg-query -W -f='${db:Status-Status} ${Provides}\n' 2>/dev/null |
    grep -q '^installed .*mail-transport-agent'; then pkgs+=(dma); fi
  # Left-overs of an earlier purge would stop the packages from writing their config.
  forget_rt_ucf_files
  log "installing ${pkgs[*]} (about 1.5 minutes on a fresh machine)"
  apt-get update -q >&2
  # One SQLite database made by dbconfig-common; root's password is never used (the API token is).
  debconf-set-selections <<DEBCONF
request-tracker5 request-tracker5/dbconfig-install boolean true
request-tracker5 request-tracker5/database-type select sqlite3
request-tracker5 request-tracker5/initial-root-password password $(head -c 18 /dev/urandom | base64 | tr -d '/+=')
request-tracker5 request-tracker5/install-cronjobs boolean false
request-tracker5 request-tracker5/rtname string rt.localhost
DEBCONF
  # force-unsafe-io: no fsync per unpacked file (a throw-away test backend; saves dpkg time).
  apt_install -o Dpkg::Options::=--force-unsafe-io "${pkgs[@]}"
  [ -s "$DB" ] || die "no database at $DB after the install"
}

# The site config: REST at /REST/2.0 (no /rt prefix), the URL RT names in its answers. Written
# on every start (the port may change); RT_SiteConfig.pm is made 0600 root by ucf, RT reads it.
site_config() {
  chgrp www-data /etc/request-tracker5/RT_SiteConfig.pm && chmod 640 /etc/request-tracker5/RT_SiteConfig.pm
  cat >"$SITE_DIR/90-scimgate.pm" <<PERL
# Written by scimgate's scripts/request-tracker/up.sh.
Set(\$WebPath, "");
Set(\$WebDomain, "127.0.0.1");
Set(\$WebPort, $PORT);
Set(\$WebBaseURL, "http://127.0.0.1:$PORT");
Set(\$LogToSTDERR, "warning");
1;
PERL
  chmod 644 "$SITE_DIR/90-scimgate.pm"
}

# Once: an API token for root (there is no command or endpoint that makes one), then the
# database is copied as the pristine state.
configure() {
  if [ -s "$CONFIG_ENV" ] && [ -s "$PRISTINE" ]; then return 0; fi
  local out token
  out=$("${AS_RT[@]}" perl -I"$RT_HOME/lib" -e '
    use RT; RT::LoadConfig(); RT::Init();
    my $root = RT::User->new(RT->SystemUser); $root->Load("root") or die "no root user\n";
    my $t = RT::AuthToken->new(RT::CurrentUser->new($root));
    my ($ok, $msg, $auth) = $t->Create(Owner => $root->id, Description => "scimgate");
    die "token: $msg\n" unless $ok; print "SCIMGATE-TOKEN $auth\n";' 2>&1) || {
    printf '%s\n' "$out" >&2
    die "creating the API token failed"
  }
  token=$(printf '%s\n' "$out" | awk '/^SCIMGATE-TOKEN /{print $2}' | tail -n1)
  [ -n "$token" ] || { printf '%s\n' "$out" >&2; die "no API token printed"; }
  printf 'RT_TOKEN=%s\n' "$token" >"$CONFIG_ENV.tmp"
  chmod 600 "$CONFIG_ENV.tmp"
  cp --preserve=mode,ownership "$DB" "$PRISTINE"
  mv "$CONFIG_ENV.tmp" "$CONFIG_ENV"
}

ready() { curl -fsS -o /dev/null --max-time 5 -H "Authorization: token $RT_TOKEN" \
  "http://127.0.0.1:$PORT/REST/2.0/users?per_page=1" 2>/dev/null; }

timed install install_packages
site_config
timed configure configure
# shellcheck source=/dev/null
. "$CONFIG_ENV"
if [ "${RT_RESET:-0}" = 1 ]; then timed reset reset_db "$DB" "$PRISTINE"; fi
timed start start_server "${AS_RT[@]}" "$RT_HOME/libexec/rt-server" --listen "127.0.0.1:$PORT" --max-workers 4

print_exports RT_URL "http://127.0.0.1:$PORT" RT_TOKEN "$RT_TOKEN" RT_PID "$(cat "$PIDFILE")"
