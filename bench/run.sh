#!/usr/bin/env bash
# The benchmark (not part of the test suite's pass/fail): a PostgreSQL cluster of its own with the
# durable defaults, the release server, data at the given scale cloned from API-written templates,
# then wrk against each route and pgbench against the statements behind it, at the same
# concurrency. Prints a Markdown table; see bench/README.md.
#
# Usage: bench/run.sh [CASES ...]    (default: 10000 1200000; each scale is a fresh database)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/postgres.sh
ensure_packages
command -v wrk >/dev/null 2>&1 || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
[ $# -gt 0 ] || set -- 10000 1200000
SCALES=("$@")
CONNECTIONS=${BENCH_CONNECTIONS:-32}
DURATION=${BENCH_DURATION:-15s}
OUT=${BENCH_OUT:-bench/results}
mkdir -p "$OUT"

cargo build --release --locked -q
BIN=target/release/confer

DATA=$(mktemp -d /tmp/confer-bench-pg.XXXXXX)
SERVER=
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
    pg_stop "$DATA"
    rm -rf "$DATA"
}
trap cleanup EXIT INT TERM
pg_init "$DATA"
PG_PORT=$(free_port)
pg_start "$DATA" "$PG_PORT" "-c shared_buffers=1GB -c max_connections=200"
ADMIN="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
export BENCH_PG_LOG="$DATA/server.log"   # load.py reads the statements each route issues from it

for CASES in "${SCALES[@]}"; do
    DB="bench_$CASES"
    psql "$ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
    export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/$DB"
    export CONFER_JWT_KEYS="bench:$(head -c 32 /dev/urandom | base64 -w0)"
    export CONFER_RATE_LIMIT_READS_PER_MINUTE=100000000 CONFER_RATE_LIMIT_WRITES_PER_MINUTE=100000000
    export CONFER_DB_POOL_SIZE=${BENCH_POOL:-8} RUST_LOG=warn
    confer_serve "$BIN" "$OUT/server-$CASES.log"
    until curl -sf "$BASE/health/ready" >/dev/null; do sleep 0.2; done
    python3 bench/templates.py "$BASE" >/dev/null

    PANELS=$(( (CASES + 3999) / 4000 ))
    echo "== $CASES cases in $PANELS MARAC panels"
    started=$(date +%s)
    psql "$DATABASE_URL" -q -v cases="$CASES" -v panels="$PANELS" -f bench/clone.sql >/dev/null
    echo "generated in $(( $(date +%s) - started )) s: $(psql "$DATABASE_URL" -Atc "SELECT format('%s cases, %s people, %s actions, %s audit events, %s', (SELECT count(*) FROM cases), (SELECT count(*) FROM people), (SELECT count(*) FROM actions), (SELECT count(*) FROM audit_events), pg_size_pretty(pg_database_size(current_database())))")"

    python3 bench/load.py --base "$BASE" --database-url "$DATABASE_URL" --connections "$CONNECTIONS" \
        --duration "$DURATION" --server-pid "$SERVER" --label "$CASES" --out "$OUT"
    kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=
done
python3 bench/report.py "$OUT" "${SCALES[@]}"
