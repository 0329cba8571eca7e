#!/usr/bin/env bash
# Runs Schemathesis against openapi.yaml and a real confer server, once per role, with every
# check but two, each for a stated reason:
# - positive_data_acceptance: domain rules refuse much schema-valid data by design (422s,
#   opaque cursors, If-Match versions);
# - missing_required_header: a missing If-Match answers 428 Precondition Required (RFC 6585,
#   SECURITY.md RE-1), which that check does not accept.
# Any other failure, and any 5xx above all, fails the run, and so does an error (operations left
# untested). Schemathesis's warnings are off: a role answered 401/403 on routes it is not granted
# is what the per-role runs are for. One worker: with two threads,
# Python 3.11's `ast` module now and then raises "AST constructor recursion depth mismatch" inside
# Hypothesis (a CPython thread-safety bug), which schemathesis reports as an error of its own.
#
# Usage: scripts/schemathesis/run.sh ADMIN_DATABASE_URL   (a PostgreSQL server the script may
# create a database on; scripts/test.sh passes its throwaway cluster)
set -euo pipefail
cd "$(dirname "$0")/../.."
ADMIN_URL=$1
SERVER_URL_BASE=${ADMIN_URL%/*}
DB=st_$(date +%s)_$$
VENV=${CONFER_ST_VENV:-.venv}

if [ ! -x "$VENV/bin/st" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==4.32.5"
fi

psql "$ADMIN_URL" -qc "CREATE DATABASE $DB" >/dev/null
export DATABASE_URL="$SERVER_URL_BASE/$DB"
export CONFER_JWT_KEYS="st:$(head -c 32 /dev/urandom | base64 -w0)"
export CONFER_TEST_ALLOW_NON_DURABLE_DB=true
export CONFER_RATE_LIMIT_READS_PER_MINUTE=1000000
# The auth hook signs in through this "proxy" as a client of its own (see hooks.py).
export CONFER_TRUSTED_PROXIES=127.0.0.1
export CONFER_RATE_LIMIT_WRITES_PER_MINUTE=1000000
export RUST_LOG=warn
BIN=target/debug/confer
"$BIN" migrate >/dev/null
"$BIN" seed-demo >/dev/null
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export CONFER_BIND_ADDR="127.0.0.1:$PORT"
"$BIN" serve > "${CONFER_ST_SERVER_LOG:-/dev/null}" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null' EXIT
python3 - "$PORT" <<'PY'
import sys, time, urllib.request
for _ in range(150):
    try:
        if urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/health/ready", timeout=2).status == 200:
            sys.exit(0)
    except Exception:
        time.sleep(0.2)
sys.exit("the server did not become ready")
PY

export CONFER_ST_URL="http://127.0.0.1:$PORT"
export CONFER_ST_PASSWORD="demo-only-password-2026"
export PYTHONPATH=scripts/schemathesis
export SCHEMATHESIS_HOOKS=hooks
status=0
for role in admin coordinator police idva manager auditor; do
    export CONFER_ST_EMAIL="$role@demo.confer.example"
    echo "-- schemathesis as $role"
    if ! "$VENV/bin/st" run openapi.yaml --url "$CONFER_ST_URL" --checks all \
        --exclude-checks positive_data_acceptance,missing_required_header --max-examples "${CONFER_ST_EXAMPLES:-15}" --seed 20261122 \
        --workers 1 --request-timeout 10 --no-color --warnings off > "/tmp/schemathesis-$role.log" 2>&1; then
        status=1
        grep -E "^_+ |^- ST|Server error|Undocumented|Failures:|failures|passed" "/tmp/schemathesis-$role.log" | head -40
    fi
    # Errors (a failed sign-in of the hook above all) mean operations went untested: that fails too.
    if grep -qE "^=+ .*[0-9]+ errors?[ ,]|No tests were run" "/tmp/schemathesis-$role.log"; then
        status=1
        echo "schemathesis as $role: errors, operations untested" >&2
        grep -E "^_+ |Error$" "/tmp/schemathesis-$role.log" | head -10
    fi
    grep -E "generated|passed|failed" "/tmp/schemathesis-$role.log" | tail -1
done
exit $status
