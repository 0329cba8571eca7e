# Shared shell helpers for scripts/, bench/ and the fault scripts: install what a fresh Debian
# machine lacks, run a private PostgreSQL 15 cluster as the `postgres` user (it refuses to run as
# root), and start the service on it.
# Source this file; it defines functions only.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# ensure_packages: PostgreSQL server and client, libpq headers for diesel, Python venv support,
# curl for the outage test.
ensure_packages() {
    local missing=()
    [ -x "$PG_BIN/initdb" ] || missing+=(postgresql-15)
    command -v psql >/dev/null 2>&1 || missing+=(postgresql-client-15)
    [ -e /usr/include/postgresql/libpq-fe.h ] || missing+=(libpq-dev)
    python3 -c 'import ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
    command -v curl >/dev/null 2>&1 || missing+=(curl)
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing: ${missing[*]}" >&2
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

# pg_run CMD ARGS...: run a PostgreSQL server binary as the postgres user when we are root.
pg_run() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# pg_init DIR: create a cluster in DIR (owned by the postgres user when we are root).
pg_init() {
    local dir=$1
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; chmod 700 "$dir"; fi
    pg_run "$PG_BIN/initdb" -D "$dir" --auth=trust -U postgres --encoding=UTF8 --locale=C.UTF-8 >/dev/null
}

# pg_start DIR PORT [EXTRA_SERVER_OPTIONS]: start the cluster on 127.0.0.1:PORT, socket in DIR.
pg_start() {
    local dir=$1 port=$2 extra=${3:-}
    pg_run "$PG_BIN/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 30 start \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 $extra" >/dev/null
}

pg_stop() {
    local dir=$1
    [ -f "$dir/postmaster.pid" ] || return 0
    pg_run "$PG_BIN/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
}

# free_port: a TCP port nobody listens on, from a high range.
free_port() {
    python3 - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

# confer_serve BIN LOG: migrate and seed the demo into $DATABASE_URL, then start `BIN serve` on a
# free loopback port in the background, output to LOG. Sets SERVER (its pid) and BASE (its URL);
# the caller waits for whichever health route it needs.
confer_serve() {
    local bin=$1 log=$2 port
    "$bin" migrate >/dev/null
    "$bin" seed-demo >/dev/null
    port=$(free_port)
    export CONFER_BIND_ADDR="127.0.0.1:$port"
    "$bin" serve >"$log" 2>&1 &
    SERVER=$!
    BASE="http://127.0.0.1:$port"
}
