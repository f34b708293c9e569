# shellcheck shell=bash disable=SC2034  # the variables are used by the scripts that source this
# Shared by up.sh / down.sh: RT's paths; the helpers both backends use are in
# scripts/backend-common.sh. Sourced, not run.

NAME=request-tracker
PRODUCT=RT
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
SERVER_CMD=rt-server
CONFIG_ENV=$STATE_DIR/config.env  # the API token, written by the first configure
PRISTINE=$STATE_DIR/pristine.rtdb # the DB right after the first configure

# shellcheck source=../backend-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../backend-common.sh"

# AS_RT CMD...: run CMD as www-data (an array, so `"${AS_RT[@]}" cmd &` gives the command's pid).
AS_RT=(setpriv --reuid=www-data --regid=www-data --init-groups env HOME=/tmp)

# forget_rt_ucf_files: ucf's records of the site config snippets, dbconfig-common's settings and
# the cron file (see forget_ucf_files).
forget_rt_ucf_files() {
  forget_ucf_files '^/etc/(request-tracker5/|dbconfig-common/request-tracker5|cron\.d/request-tracker5)'
}
