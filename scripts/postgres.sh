#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster for the preflight-audit tests and prints the variable
# they read:
#
#   eval "$(scripts/postgres.sh)"
#
# Idempotent: installs Debian's `postgresql` when it is missing, creates the cluster once (in
# $PREFLIGHT_PG_DIR, default /tmp/preflight-pg), starts it on 127.0.0.1:$PREFLIGHT_PG_PORT
# (default 54329) unless it already runs, and creates the database. Everything but the final
# `export` line goes to standard error. The URL is also written to $PREFLIGHT_PG_DIR/url, where
# the tests look for it when the variable is not set. It may also be sourced (`. scripts/postgres.sh`): then
# it exports the variable into the current shell too, and leaves the shell's options alone.

_preflight_pg_main() (
set -euo pipefail

port="${PREFLIGHT_PG_PORT:-54329}"
dir="${PREFLIGHT_PG_DIR:-/tmp/preflight-pg}"
db="preflight_test"
user="postgres"

log() { echo "postgres.sh: $*" >&2; }

find_bin() {
    local found
    found="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [ -n "$found" ] && [ -x "$found/initdb" ]; then
        echo "$found"
    fi
}

bin="$(find_bin)"
if [ -z "$bin" ]; then
    log "installing postgresql (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    bin="$(find_bin)"
fi
if [ -z "$bin" ]; then
    log "could not find initdb after installing postgresql"
    exit 1
fi

as_postgres() {
    if [ "$(id -u)" = "0" ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

if [ "$(id -u)" = "0" ]; then
    mkdir -p "$dir"
    chown postgres:postgres "$dir"
    chmod 700 "$dir"
else
    mkdir -p "$dir"
    chmod 700 "$dir"
    user="$(id -un)"
fi

data="$dir/data"
if [ ! -f "$data/PG_VERSION" ]; then
    log "creating a cluster in $data"
    as_postgres "$bin/initdb" -D "$data" -U "$user" --auth=trust -E UTF8 >&2
    cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 300
shared_buffers = 128MB
CONF
fi

if as_postgres "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1 \
    && as_postgres "$bin/pg_isready" -h 127.0.0.1 -p "$port" -q; then
    log "already running on 127.0.0.1:$port"
else
    # A server killed with its session leaves postmaster.pid behind; when that pid now belongs
    # to another process, the server would refuse to start. No server answers, so it is stale.
    if ! as_postgres "$bin/pg_isready" -h 127.0.0.1 -p "$port" -q; then
        rm -f "$data/postmaster.pid"
    fi
    log "starting on 127.0.0.1:$port"
    as_postgres "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 start >&2
fi

for _ in $(seq 1 60); do
    if as_postgres "$bin/pg_isready" -h 127.0.0.1 -p "$port" -q; then
        break
    fi
    sleep 0.5
done

exists="$(as_postgres "$bin/psql" -h 127.0.0.1 -p "$port" -U "$user" -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '$db'")"
if [ "$exists" != "1" ]; then
    as_postgres "$bin/psql" -h 127.0.0.1 -p "$port" -U "$user" -d postgres -qc \
        "CREATE DATABASE $db" >&2
fi

# Every test and benchmark creates its own database (pf_...). Those left by earlier runs are
# dropped here, so the cluster does not grow run after run; one still in use refuses and stays.
leftovers="$(as_postgres "$bin/psql" -h 127.0.0.1 -p "$port" -U "$user" -d postgres -tAc \
    "SELECT datname FROM pg_database WHERE datname LIKE 'pf\\_%'")"
for name in $leftovers; do
    as_postgres "$bin/psql" -h 127.0.0.1 -p "$port" -U "$user" -d postgres -qc \
        "DROP DATABASE IF EXISTS \"$name\"" >/dev/null 2>&1 || true
done

url="postgres://$user@127.0.0.1:$port/$db"
# Written whole and then renamed, so a reader never sees half a URL.
echo "$url" >"$dir/url.tmp"
chmod 644 "$dir/url.tmp"
mv -f "$dir/url.tmp" "$dir/url"
echo "$url"
)

if _preflight_pg_url="$(_preflight_pg_main)"; then
    export PREFLIGHT_TEST_PG_URL="$_preflight_pg_url"
    echo "export PREFLIGHT_TEST_PG_URL=$_preflight_pg_url"
else
    echo "postgres.sh: could not start PostgreSQL" >&2
    return 1 2>/dev/null || exit 1
fi
