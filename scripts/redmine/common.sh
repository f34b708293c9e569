# shellcheck shell=bash disable=SC2034  # the variables are used by the scripts that source this
# Shared by up.sh / down.sh: Redmine's paths, the bundler pin and its own repairs; the helpers
# both backends use are in scripts/backend-common.sh. Sourced, not run.

NAME=redmine
PRODUCT=Redmine
STATE_DIR=${REDMINE_STATE_DIR:-/tmp/backends/redmine}
PORT=${REDMINE_PORT:-3000}
PACKAGES=(redmine redmine-sqlite thin)
REDMINE_HOME=/usr/share/redmine
PIDFILE=$STATE_DIR/redmine.pid
LOGFILE=$STATE_DIR/server.log
SERVER_CMD=rackup
CONFIG_ENV=$STATE_DIR/config.env      # admin key + custom field ids, written by the first configure
PRISTINE=$STATE_DIR/pristine.sqlite3  # the DB right after the first configure
# shellcheck source=../backend-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../backend-common.sh"

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

# forget_dbconfig_files: ucf's records of dbconfig-common's instance settings and database.yml.
forget_dbconfig_files() { forget_ucf_files '^/etc/(dbconfig-common/redmine|redmine)/'; }

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
