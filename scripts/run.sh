#!/usr/bin/env bash
# Starts confer on http://127.0.0.1:8080 (or CONFER_BIND_ADDR).
#
# Without DATABASE_URL: creates (first time) and starts a persistent local PostgreSQL cluster in
# .pgdata/ (git-ignored), applies migrations, loads demo data into an empty database and prints
# the demo logins. With DATABASE_URL: uses that database, applies migrations, and loads demo data
# only when given --demo.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/postgres.sh

load_demo=false
[ "${1:-}" = "--demo" ] && load_demo=true

ensure_packages

if [ -z "${DATABASE_URL:-}" ]; then
    DATA="$PWD/.pgdata"
    PORT=${CONFER_DEV_PG_PORT:-54329}
    if [ ! -f "$DATA/PG_VERSION" ]; then
        echo "creating a local PostgreSQL cluster in $DATA"
        pg_init "$DATA"
    fi
    if [ "$(id -u)" -eq 0 ]; then
        # The postgres user must be able to reach the folder when we run as root.
        chmod o+x "$PWD"
    fi
    if ! pg_run "$PG_BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
        pg_start "$DATA" "$PORT"
    fi
    pg_run "$PG_BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = 'confer'" | grep -q 1 ||
        pg_run "$PG_BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres confer
    export DATABASE_URL="postgres://postgres@127.0.0.1:$PORT/confer"
    load_demo=true
    echo "local database: $DATABASE_URL (stop it with: runuser -u postgres -- $PG_BIN/pg_ctl -D $DATA stop)"
fi

# A signing key for access tokens, kept in .pgdata-adjacent git-ignored .env when generated here.
if [ -z "${CONFER_JWT_KEYS:-}" ]; then
    if [ ! -f .env ]; then
        echo "CONFER_JWT_KEYS=local:$(head -c 32 /dev/urandom | base64 -w0)" > .env
        chmod 600 .env
    fi
    set -a; . ./.env; set +a
fi

cargo build --locked --release --bin confer
BIN=target/release/confer
"$BIN" migrate
if $load_demo; then
    "$BIN" seed-demo
fi
echo "confer on http://${CONFER_BIND_ADDR:-127.0.0.1:8080}  (Ctrl-C stops it)"
exec "$BIN" serve
