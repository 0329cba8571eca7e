#!/usr/bin/env bash
# Runs everything CI runs: formatting, lints and the whole test suite against a throwaway
# PostgreSQL 15 cluster, which is removed on exit whatever the outcome.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/postgres.sh

ensure_packages

DATA=$(mktemp -d /tmp/confer-test-pg.XXXXXX)
cleanup() {
    pg_stop "$DATA"
    rm -rf "$DATA"
}
trap cleanup EXIT INT TERM

pg_init "$DATA"
PORT=$(free_port)
# Durability off: this cluster is thrown away. The service refuses such a cluster unless
# CONFER_TEST_ALLOW_NON_DURABLE_DB=true, which only tests set.
pg_start "$DATA" "$PORT" "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$PORT/postgres"
echo "test cluster on port $PORT"

echo "== src/schema.rs matches the migrations (diesel print-schema, with src/schema.patch)"
if ! command -v diesel >/dev/null 2>&1; then
    cargo install diesel_cli --version 2.3.4 --no-default-features --features postgres --locked
fi
"$PG_BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres schema_check
diesel migration run --locked-schema --database-url "postgres://postgres@127.0.0.1:$PORT/schema_check" >/dev/null

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --locked --all-targets -- -D warnings
echo "== cargo test"
export CONFER_TEST_LOG="$DATA/app-log.json"
cargo test --locked --all-targets -- --test-threads "${TEST_THREADS:-4}" 2>&1 | tee "$DATA/cargo-test.log"
# One line at the end for the whole run (below): tests passed and failed over every test binary.
read -r PASSED FAILED < <(awk '/^test result:/ { p += $4; f += $6 } END { print p + 0, f + 0 }' "$DATA/cargo-test.log")

echo "== application logs carry no secrets or personal data (SECURITY.md F15)"
lines=$(wc -l < "$CONFER_TEST_LOG")
if grep -E 'CANARY|Bearer |eyJ[A-Za-z0-9_-]{10,}|\$argon2|demo-only-password|a long test password' "$CONFER_TEST_LOG" | head -5; then
    echo "FAIL: secrets or canaries found in $lines log lines" >&2
    exit 1
fi
echo "log scan: $lines log lines, 0 secrets or canaries"

echo "== outage: PostgreSQL stopped and started under a running server (SECURITY.md §6)"
bash scripts/faults/outage.sh

echo "== schemathesis against openapi.yaml, once per role (SECURITY.md F5)"
bash scripts/schemathesis/run.sh "$TEST_DATABASE_URL"
echo "$PASSED passed, $FAILED failed"
