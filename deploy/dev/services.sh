#!/usr/bin/env bash
# Make sure the services ShelterWatch needs for development and tests answer
# on loopback, installing (Debian 12, apt) and starting only what is missing:
#
#   PostgreSQL   127.0.0.1:5432  trust auth over TCP from loopback, database "test"
#   Mosquitto    127.0.0.1:1883  Debian default config (loopback only)
#   InfluxDB 1.6 127.0.0.1:8086  Debian package "influxdb", v1 API, auth disabled
#   nginx        127.0.0.1:8087  InfluxDB 2.x write API -> 1.x (deploy/nginx/influxdb-v2-compat.conf)
#   Chromium     /usr/bin/chromium + /usr/bin/chromedriver for the browser tests (tests/web)
#
# and the tools the tests read documents with: poppler-utils (pdffonts, pdftotext,
# pdftoppm) and zbar-tools (zbarimg, which decodes the QR codes of shelter signs), and
# those the deployment tests use: systemd (systemd-analyze verify of deploy/systemd/; the
# package only, nothing is started through it) and openssl (scripts/make-ca). The backup
# drill uses pg_dump/pg_restore and influxd, which come with PostgreSQL and InfluxDB, and
# influxd's meta/RPC port (backup and restore), bound to 127.0.0.1:8088 below.
#
# Run as root. Safe to run repeatedly; prints one line per service and exits
# non-zero with a message when a service does not answer within the timeout.
# Written for machines without systemd (containers): daemons are started
# directly, not through init.
#
#   deploy/dev/services.sh         ensure everything runs (default)
#   deploy/dev/services.sh stop    stop the two daemons this script owns
#                                  (influxd and the compat nginx); PostgreSQL
#                                  and Mosquitto are left alone
#
# Environment: SW_INFLUX_PORT (8086), SW_INFLUX_COMPAT_PORT (8087),
# SW_START_TIMEOUT seconds per service (30).
set -Eeuo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
readonly REPO_DIR

readonly PG_PORT=5432
readonly PG_DATABASE=test
readonly MQTT_PORT=1883
readonly MQTT_CONF=/etc/mosquitto/mosquitto.conf
readonly INFLUX_PORT="${SW_INFLUX_PORT:-8086}"
readonly INFLUX_RPC_ADDR=127.0.0.1:8088
readonly INFLUX_CONF=/etc/influxdb/influxdb.conf
readonly INFLUX_PIDFILE=/run/shelterwatch-influxd.pid
readonly INFLUX_LOG=/var/log/influxdb/influxd.log
readonly COMPAT_PORT="${SW_INFLUX_COMPAT_PORT:-8087}"
readonly COMPAT_SRC="$REPO_DIR/deploy/nginx/influxdb-v2-compat.conf"
readonly COMPAT_DIR=/etc/shelterwatch/nginx
readonly COMPAT_PIDFILE=/run/shelterwatch-nginx.pid
readonly COMPAT_ERROR_LOG=/var/log/nginx/shelterwatch-influxdb-compat.error.log
readonly COMPAT_ACCESS_LOG=/var/log/nginx/shelterwatch-influxdb-compat.access.log
readonly TIMEOUT="${SW_START_TIMEOUT:-30}"

export DEBIAN_FRONTEND=noninteractive

# set -e alone exits without a word; name the command that failed (-E makes
# functions inherit this trap).
trap 'echo "services.sh: ERROR: line $LINENO: \"$BASH_COMMAND\" failed" >&2' ERR

die() {
    echo "services.sh: ERROR: $*" >&2
    exit 1
}

report() { # service, state
    printf '%-12s %s\n' "$1" "$2"
}

# wait_for COMMAND...: poll COMMAND until it succeeds or TIMEOUT passes.
wait_for() {
    local deadline=$((SECONDS + TIMEOUT))
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            return 1
        fi
        sleep 0.5
    done
}

# apt_install PACKAGE...: install the packages that are not installed yet.
apt_install() {
    local missing=() pkg
    for pkg in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$'; then
            missing+=("$pkg")
        fi
    done
    ((${#missing[@]})) || return 0
    echo "services.sh: apt-get install ${missing[*]}" >&2
    if ! apt-get install -y -q "${missing[@]}" >/dev/null; then
        apt-get update -q >/dev/null
        apt-get install -y -q "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
    fi
}

tcp_open() { # port
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# pid_alive PIDFILE EXE: the pid in PIDFILE is a live (not zombie) EXE process.
pid_alive() {
    local pid state
    [[ -s $1 ]] || return 1
    pid=$(<"$1")
    [[ $pid =~ ^[0-9]+$ && $(readlink "/proc/$pid/exe" 2>/dev/null) == "$2" ]] || return 1
    state=$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
    [[ $state != Z && $state != X ]]
}

# install_file SRC DEST: copy when the content differs; returns 0 if DEST changed.
install_file() {
    if [[ -f $2 ]] && cmp -s "$1" "$2"; then
        return 1
    fi
    install -D -m 0644 "$1" "$2" || die "cannot write $2"
}

# ---------------------------------------------------------------- PostgreSQL

pg_ready() {
    pg_isready -q -h 127.0.0.1 -p "$PG_PORT"
}

# Prints "<version> <cluster>" of the cluster configured for PG_PORT.
pg_cluster() {
    pg_lsclusters --no-header | awk -v port="$PG_PORT" '$3 == port { print $1, $2; exit }'
}

# Make loopback TCP connections trusted. A matching host line that already
# exists is rewritten in place; otherwise the lines go to the top, because the
# first matching line wins.
pg_ensure_trust() { # hba file; returns 0 if it changed
    local hba=$1 addr changed=1 escaped
    for addr in 127.0.0.1/32 ::1/128; do
        escaped=${addr//./\\.}
        if grep -Eq "^host[[:space:]]+all[[:space:]]+all[[:space:]]+${escaped}[[:space:]]+trust[[:space:]]*$" "$hba"; then
            continue
        fi
        if grep -Eq "^host[[:space:]]+all[[:space:]]+all[[:space:]]+${escaped}[[:space:]]" "$hba"; then
            sed -Ei "s|^host[[:space:]]+all[[:space:]]+all[[:space:]]+${escaped}[[:space:]].*$|host    all             all             ${addr}            trust|" "$hba"
        else
            sed -i "1i host    all             all             ${addr}            trust" "$hba"
        fi
        changed=0
    done
    return $changed
}

ensure_postgres() {
    local state="already running" cluster ver name hba
    if ! command -v pg_lsclusters >/dev/null || [[ -z $(pg_cluster) ]]; then
        apt_install postgresql
    fi
    cluster=$(pg_cluster)
    [[ -n $cluster ]] || die "no PostgreSQL cluster configured for port $PG_PORT (see pg_lsclusters)"
    read -r ver name <<<"$cluster"
    hba=/etc/postgresql/$ver/$name/pg_hba.conf

    if pg_ensure_trust "$hba" && pg_ready; then
        pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" reload
        state="already running (pg_hba.conf updated, reloaded)"
    fi
    if ! pg_ready; then
        pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start ||
            die "pg_ctlcluster $ver $name start failed; see /var/log/postgresql/postgresql-$ver-$name.log"
        wait_for pg_ready ||
            die "PostgreSQL $ver/$name not ready on 127.0.0.1:$PG_PORT after ${TIMEOUT}s; see /var/log/postgresql/postgresql-$ver-$name.log"
        state="started ($ver/$name)"
    fi

    if [[ -z $(psql -w -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$PG_DATABASE'") ]]; then
        psql -w -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -c "CREATE DATABASE \"$PG_DATABASE\"" ||
            die "could not create database $PG_DATABASE"
        state+=", database $PG_DATABASE created"
    fi
    psql -w -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$PG_DATABASE" -tAc 'SELECT 1' >/dev/null ||
        die "PostgreSQL answers but a trusted TCP login to database $PG_DATABASE fails; check $hba"
    report postgresql "$state  127.0.0.1:$PG_PORT"
}

# ----------------------------------------------------------------- Mosquitto

ensure_mosquitto() {
    local state="already running"
    apt_install mosquitto mosquitto-clients
    if ! tcp_open "$MQTT_PORT"; then
        # The Debian config writes its pid file to /run/mosquitto, which
        # only init creates.
        install -d -o mosquitto -g mosquitto /run/mosquitto
        mosquitto -d -c "$MQTT_CONF" || die "mosquitto -d -c $MQTT_CONF failed"
        wait_for tcp_open "$MQTT_PORT" ||
            die "Mosquitto not answering on 127.0.0.1:$MQTT_PORT after ${TIMEOUT}s; see /var/log/mosquitto/mosquitto.log"
        state=started
    fi
    report mosquitto "$state  127.0.0.1:$MQTT_PORT"
}

# ------------------------------------------------------------------ InfluxDB

influx_ready() {
    curl -sf --max-time 2 -o /dev/null "http://127.0.0.1:$INFLUX_PORT/ping"
}

# toml_set FILE SECTION KEY VALUE: set KEY in [SECTION] ("" = top level) by
# rewriting its first line there, commented out or not. Fails if KEY is absent.
toml_set() {
    local file=$1 section=$2 key=$3 value=$4 tmp
    tmp=$(mktemp)
    awk -v section="$section" -v key="$key" -v value="$value" '
        BEGIN { current = ""; done = 0 }
        /^[[:space:]]*\[/ {
            current = $0
            gsub(/^[[:space:]]*\[+|\]+[[:space:]]*$/, "", current)
        }
        !done && current == section && $0 ~ "^[[:space:]]*#?[[:space:]]*" key "[[:space:]]*=" {
            match($0, /^[[:space:]]*/)
            print substr($0, 1, RLENGTH) key " = " value
            done = 1
            next
        }
        { print }
        END { exit done ? 0 : 3 }
    ' "$file" >"$tmp" || {
        rm -f "$tmp"
        die "$file: no '$key' line in section [${section:-top level}] to set"
    }
    if cmp -s "$tmp" "$file"; then
        rm -f "$tmp"
        return 1
    fi
    cat "$tmp" >"$file" # keeps owner and mode
    rm -f "$tmp"
}

influx_configure() { # returns 0 if the config changed
    local changed=1
    toml_set "$INFLUX_CONF" "" bind-address "\"$INFLUX_RPC_ADDR\"" && changed=0
    toml_set "$INFLUX_CONF" http bind-address "\"127.0.0.1:$INFLUX_PORT\"" && changed=0
    toml_set "$INFLUX_CONF" http auth-enabled false && changed=0
    return $changed
}

influx_start() {
    install -d -o influxdb -g influxdb "$(dirname "$INFLUX_LOG")"
    (
        ulimit -n 65536 2>/dev/null || true
        start-stop-daemon --start --quiet --background \
            --make-pidfile --pidfile "$INFLUX_PIDFILE" \
            --chuid influxdb:influxdb --output "$INFLUX_LOG" \
            --exec /usr/bin/influxd -- -config "$INFLUX_CONF"
    ) || die "start-stop-daemon could not start influxd; see $INFLUX_LOG"
    wait_for influx_ready || {
        tail -n 5 "$INFLUX_LOG" >&2 || true
        die "InfluxDB not answering on http://127.0.0.1:$INFLUX_PORT/ping after ${TIMEOUT}s; see $INFLUX_LOG"
    }
}

influx_stop() {
    if pid_alive "$INFLUX_PIDFILE" /usr/bin/influxd; then
        start-stop-daemon --stop --quiet --oknodo --retry TERM/20/KILL/5 --pidfile "$INFLUX_PIDFILE" --exec /usr/bin/influxd
    fi
    rm -f "$INFLUX_PIDFILE"
}

ensure_influxdb() {
    local state="already running" config_changed=false
    apt_install influxdb curl
    influx_configure && config_changed=true

    if ! influx_ready; then
        # A process left from an earlier start that does not answer is stopped.
        influx_stop
        influx_start
        state=started
    elif $config_changed; then
        pid_alive "$INFLUX_PIDFILE" /usr/bin/influxd ||
            die "an InfluxDB not started by this script answers on :$INFLUX_PORT and $INFLUX_CONF just changed; restart it"
        influx_stop
        influx_start
        state="restarted (config changed)"
    fi
    report influxdb "$state  127.0.0.1:$INFLUX_PORT"
}

# ------------------------------------------------- nginx (InfluxDB 2.x compat)

compat_ready() { # nginx answers and reaches InfluxDB
    [[ $(curl -s --max-time 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$COMPAT_PORT/ping") == 204 ]]
}

compat_render() { # writes the main config and the site into a temp dir
    local dir=$1
    sed -e "s/127\.0\.0\.1:8086/127.0.0.1:$INFLUX_PORT/g" \
        -e "s/listen 127\.0\.0\.1:8087;/listen 127.0.0.1:$COMPAT_PORT;/" \
        "$COMPAT_SRC" >"$dir/influxdb-v2-compat.conf"
    cat >"$dir/nginx.conf" <<EOF
# Written by deploy/dev/services.sh; changes here are overwritten.
# A dedicated nginx instance, independent of any system nginx.
user www-data;
worker_processes 1;
pid $COMPAT_PIDFILE;
error_log $COMPAT_ERROR_LOG;

events {
    worker_connections 256;
}

http {
    access_log $COMPAT_ACCESS_LOG;
    include $COMPAT_DIR/influxdb-v2-compat.conf;
}
EOF
}

compat_nginx() { # nginx arguments for the dedicated instance
    nginx -e "$COMPAT_ERROR_LOG" -c "$COMPAT_DIR/nginx.conf" "$@"
}

compat_stop() {
    if pid_alive "$COMPAT_PIDFILE" /usr/sbin/nginx; then
        compat_nginx -s quit
        local deadline=$((SECONDS + TIMEOUT))
        while pid_alive "$COMPAT_PIDFILE" /usr/sbin/nginx && ((SECONDS < deadline)); do sleep 0.2; done
    fi
}

ensure_nginx_compat() {
    local state="already running" changed=false tmp
    [[ -f $COMPAT_SRC ]] || die "missing $COMPAT_SRC"
    apt_install nginx curl
    tmp=$(mktemp -d)
    compat_render "$tmp"
    install_file "$tmp/influxdb-v2-compat.conf" "$COMPAT_DIR/influxdb-v2-compat.conf" && changed=true
    install_file "$tmp/nginx.conf" "$COMPAT_DIR/nginx.conf" && changed=true
    rm -rf "$tmp"
    compat_nginx -t -q || die "nginx rejects $COMPAT_DIR/nginx.conf (see above)"

    if pid_alive "$COMPAT_PIDFILE" /usr/sbin/nginx; then
        if $changed; then
            compat_nginx -s reload
            state="reloaded (config changed)"
        fi
    else
        compat_nginx || die "nginx -c $COMPAT_DIR/nginx.conf failed; see $COMPAT_ERROR_LOG"
        state=started
    fi
    # After a reload the old workers may answer for a moment; waiting for the
    # /ping round trip also proves the proxy reaches InfluxDB.
    wait_for compat_ready ||
        die "nginx on 127.0.0.1:$COMPAT_PORT does not proxy /ping to InfluxDB after ${TIMEOUT}s; see $COMPAT_ERROR_LOG"
    report nginx "$state  127.0.0.1:$COMPAT_PORT -> InfluxDB :$INFLUX_PORT (2.x write API)"
}

# ---------------------------------------------------------------------- chromium

ensure_chromium() {
    apt_install chromium chromium-driver
    [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]] ||
        die "chromium or chromedriver missing after install"
    report chromium "$(/usr/bin/chromedriver --version 2>/dev/null | cut -d' ' -f1-2)"
}

# ------------------------------------------------------------- document tools

ensure_document_tools() {
    apt_install poppler-utils zbar-tools
    report doc-tools "pdffonts pdftotext pdftoppm zbarimg"
}

# ------------------------------------------------------------ deployment tools

ensure_deploy_tools() {
    apt_install systemd openssl
    command -v systemd-analyze >/dev/null || die "systemd-analyze missing after install"
    report deploy-tools "systemd-analyze openssl pg_dump influxd"
}

# ---------------------------------------------------------------------- main

main() {
    [[ $EUID -eq 0 ]] || die "run as root"
    case "${1:-start}" in
    start)
        ensure_postgres
        ensure_mosquitto
        ensure_influxdb
        ensure_nginx_compat
        ensure_chromium
        ensure_document_tools
        ensure_deploy_tools
        ;;
    stop)
        compat_stop
        report nginx stopped
        influx_stop
        report influxdb stopped
        ;;
    *)
        die "usage: $0 [start|stop]"
        ;;
    esac
}

main "$@"
