#!/usr/bin/env bash
# A throwaway PostgreSQL server for the label store's tests (never the system's own cluster).
#
#   scripts/postgres-local.sh start   # install PostgreSQL if missing (as root, from Debian's
#                                     # packages), create and start the cluster, print its URL
#   scripts/postgres-local.sh url     # print the URL of the running cluster
#   scripts/postgres-local.sh stop    # stop the cluster and delete its folder
#
# The cluster lives in $RLHF_PG_DIR (default /tmp/rlhf-postgres-$RLHF_PG_PORT), listens on
# 127.0.0.1:$RLHF_PG_PORT (default 55432), and has a database rlhf_test owned by a password user
# rlhf (a random password, kept in the folder). It is for tests only: fsync is off, so a crash of
# the machine may lose it. Idempotent: `start` on a running cluster just prints its URL.
# As root the server runs as the `postgres` user (initdb refuses root); otherwise as you.
#
#   RLHF_POSTGRES_URL=$(scripts/postgres-local.sh start) swift test --filter LabelStore
set -euo pipefail

PORT="${RLHF_PG_PORT:-55432}"
DIR="${RLHF_PG_DIR:-/tmp/rlhf-postgres-$PORT}"
DATA="$DIR/data"
DB=rlhf_test
ROLE=rlhf

log() { echo "postgres-local: $*" >&2; }
die() { log "$*"; exit 1; }

# The folder of initdb/pg_ctl: PATH first, then Debian's /usr/lib/postgresql/<newest>/bin.
find_bindir() {
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v initdb)")"
        return 0
    fi
    local newest
    newest=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    [ -n "$newest" ] && [ -x "$newest/initdb" ] && { echo "$newest"; return 0; }
    return 1
}

install_postgres() {
    [ "$(id -u)" = 0 ] || die "PostgreSQL is not installed; run as root to install it (apt-get install postgresql)"
    log "installing PostgreSQL from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -q postgresql >/dev/null 2>&1; then
        apt-get update -q >/dev/null
        apt-get install -y -q postgresql >/dev/null
    fi
    # Debian's package may start its default cluster (5432); this script never uses it.
}

# Runs a command as the cluster's owner.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

url() {
    [ -f "$DIR/password" ] || die "no cluster in $DIR (run: $0 start)"
    echo "postgres://$ROLE:$(cat "$DIR/password")@127.0.0.1:$PORT/$DB"
}

psql_admin() {
    as_owner "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$DIR" -p "$PORT" -U postgres -d postgres "$@"
}

start() {
    BIN=$(find_bindir) || { install_postgres; BIN=$(find_bindir) || die "initdb not found after installing"; }
    if [ -f "$DATA/PG_VERSION" ] && as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
        url
        return 0
    fi
    if [ ! -f "$DATA/PG_VERSION" ]; then
        # Only ever delete a folder this script made (it holds our password file) or an empty one.
        if [ -d "$DIR" ] && [ -n "$(ls -A "$DIR")" ] && [ ! -f "$DIR/password" ]; then
            die "$DIR exists and is not a cluster of this script; set RLHF_PG_DIR to another folder"
        fi
        rm -rf "$DIR"
        mkdir -p "$DIR"
        chmod 700 "$DIR"
        # 24 random hex digits: no character needs escaping in a URL or in SQL.
        od -An -N12 -tx1 /dev/urandom | tr -d ' \n' >"$DIR/password"
        chmod 600 "$DIR/password"
        [ "$(id -u)" = 0 ] && chown -R postgres: "$DIR"
        as_owner "$BIN/initdb" -D "$DATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
            --encoding=UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 \
            || { cat "$DIR/initdb.log" >&2; die "initdb failed"; }
        cat >>"$DATA/postgresql.conf" <<EOF
# scripts/postgres-local.sh: a throwaway test cluster
port = $PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DIR'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 64MB
EOF
    fi
    as_owner "$BIN/pg_ctl" -D "$DATA" -l "$DIR/server.log" -w -t 30 start >/dev/null \
        || { tail -n 20 "$DIR/server.log" >&2; die "the server did not start (port $PORT in use?)"; }
    local password
    password=$(cat "$DIR/password")
    if [ "$(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" != 1 ]; then
        psql_admin -c "CREATE ROLE $ROLE LOGIN PASSWORD '$password'"
    fi
    if [ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != 1 ]; then
        psql_admin -c "CREATE DATABASE $DB OWNER $ROLE"
    fi
    url
}

stop() {
    if [ -f "$DATA/PG_VERSION" ]; then
        BIN=$(find_bindir) || die "pg_ctl not found"
        as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 || true
    fi
    if [ -d "$DIR" ] && [ -n "$(ls -A "$DIR")" ] && [ ! -f "$DIR/password" ]; then
        die "$DIR is not a cluster of this script; not deleting it"
    fi
    rm -rf "$DIR"
    log "stopped and removed $DIR"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    url) url ;;
    *) echo "usage: $0 start|stop|url" >&2; exit 2 ;;
esac
