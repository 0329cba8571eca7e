#!/usr/bin/env bash
# Outage behaviour (SECURITY.md §6), against a real PostgreSQL stopped and started under a running
# server: while the database is down, data routes answer 503 problem+json with Retry-After within
# two seconds, /health/ready fails and /health/live stays up; once it is back, the same process
# serves again by itself. The cluster runs with the durable defaults (fsync, full_page_writes,
# synchronous_commit on), so this also proves the server starts without the test-only override.
# Then pg_crash.py crashes the cluster ten times under write load (SECURITY.md F10).
#
# Usage: scripts/faults/outage.sh   (needs target/debug/confer; scripts/test.sh builds it)
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib/postgres.sh

DATA=$(mktemp -d /tmp/confer-outage-pg.XXXXXX)
SERVER=
cleanup() {
    local status=$?
    if [ $status -ne 0 ] && [ -f "$DATA/confer.log" ]; then
        echo "server log, last lines:" >&2
        tail -20 "$DATA/confer.log" >&2
    fi
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
    pg_stop "$DATA"
    rm -rf "$DATA"
}
trap cleanup EXIT INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }

pg_init "$DATA"
PG_PORT=$(free_port)
pg_start "$DATA" "$PG_PORT"
"$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres confer

export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/confer"
export CONFER_JWT_KEYS="outage:$(head -c 32 /dev/urandom | base64 -w0)"
export RUST_LOG=info
export CONFER_RATE_LIMIT_WRITES_PER_MINUTE=1000000
unset CONFER_TEST_ALLOW_NON_DURABLE_DB
BIN=target/debug/confer
confer_serve "$BIN" "$DATA/confer.log"

# status PATH [TOKEN]: prints "STATUS SECONDS"; the body and headers go to $DATA/last.*
status() {
    local auth=()
    [ -n "${2:-}" ] && auth=(-H "Authorization: Bearer $2")
    curl -s -o "$DATA/last.body" -D "$DATA/last.headers" -w '%{http_code} %{time_total}' --max-time 10 "${auth[@]}" "$BASE$1" || echo "000 10"
}
wait_for() { # wait_for PATH STATUS SECONDS
    local until=$((SECONDS + $3))
    while [ "$(status "$1" | cut -d' ' -f1)" != "$2" ]; do
        [ $SECONDS -lt $until ] || fail "$1 did not answer $2 within $3 s"
        sleep 0.2
    done
}

wait_for /health/ready 200 20
TOKEN=$(curl -s -H 'Content-Type: application/json' -H "Idempotency-Key: $(cat /proc/sys/kernel/random/uuid)" \
    -d '{"email":"idva@demo.confer.example","password":"demo-only-password-2026"}' "$BASE/api/v1/auth/login" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
read -r code _ <<<"$(status /api/v1/cases "$TOKEN")"
[ "$code" = 200 ] || fail "cases list before the outage answered $code"

echo "stopping PostgreSQL under the running server"
pg_stop "$DATA"
for path in /api/v1/cases /api/v1/me /api/v1/panels; do
    read -r code took <<<"$(status "$path" "$TOKEN")"
    [ "$code" = 503 ] || fail "$path answered $code during the outage, not 503"
    grep -qi '^content-type: application/problem+json' "$DATA/last.headers" || fail "$path: not problem+json"
    grep -qi '^retry-after: [0-9]' "$DATA/last.headers" || fail "$path: no Retry-After"
    python3 -c "import sys; sys.exit(0 if float('$took') < 2.0 else 1)" || fail "$path took $took s to answer 503"
    echo "  $path: 503 problem+json with Retry-After in ${took}s"
done
read -r code _ <<<"$(status /health/ready)"; [ "$code" = 503 ] || fail "/health/ready answered $code during the outage"
read -r code _ <<<"$(status /health/live)"; [ "$code" = 200 ] || fail "/health/live answered $code during the outage"
echo "  /health/ready 503, /health/live 200"

echo "starting PostgreSQL again"
pg_start "$DATA" "$PG_PORT"
wait_for /health/ready 200 15
read -r code _ <<<"$(status /api/v1/cases "$TOKEN")"
[ "$code" = 200 ] || fail "cases list after the outage answered $code"
kill -0 "$SERVER" || fail "the server died"
echo "  recovered without a restart: /health/ready 200, /api/v1/cases 200 (same process, pid $SERVER)"

echo "crashing PostgreSQL under write load"
python3 scripts/faults/pg_crash.py "$BASE" "$DATABASE_URL" "$DATA" "$PG_PORT"
