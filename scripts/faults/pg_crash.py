"""PostgreSQL crashes under write load (SECURITY.md F10, the database half): referrals are sent
from four threads while the cluster is stopped with `pg_ctl -m immediate` (no checkpoint, as in a
power cut) and started again, ten times. Every referral answered 201 must afterwards be in the
database exactly once with its audit event; one whose answer was lost is retried with the same
Idempotency-Key until it is answered, and must then be there exactly once too.

Usage: python3 pg_crash.py BASE_URL DATABASE_URL DATA_DIR PG_PORT   (run by outage.sh)
"""
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

BASE, DB, DATA, PG_PORT = sys.argv[1:5]
CRASHES = 10


def pg(action):
    cmd = ["bash", "-c", f'. scripts/lib/postgres.sh; {action}']
    subprocess.run(cmd, check=True)


def send(path, token=None, body=None, key=None, method=None):
    req = urllib.request.Request(BASE + path, data=json.dumps(body).encode() if body else None, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if key:
        req.add_header("Idempotency-Key", key)
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return res.status, json.loads(res.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, None


def psql(sql):
    return subprocess.run(["psql", DB, "-Atc", sql], check=True, capture_output=True, text=True).stdout.strip()


status, login = send("/api/v1/auth/login", body={"email": "idva@demo.confer.example", "password": "demo-only-password-2026"})
token = login["access_token"]
marac = psql("SELECT id FROM panels WHERE kind = 'marac' ORDER BY created_at LIMIT 1")
before = int(psql("SELECT count(*) FROM cases"))

answered, unanswered, lock = {}, {}, threading.Lock()
stop = threading.Event()
failures = []


def referral(n):
    return {"panel_id": marac, "referral_date": time.strftime("%Y-%m-%d", time.gmtime()),
            "consent": {"status": "given", "victim_aware": True}, "lawful_basis": "public_task",
            "special_category_condition": "safeguarding_children_individuals_at_risk",
            "participants": [{"role": "victim", "person": {"surname": f"Crash{n}", "forenames": "Alex"}}],
            "criteria": {"professional_judgement": {"reason": "Crash test"}}}


def writer(w):
    n = 0
    while not stop.is_set():
        n += 1
        key, body = str(uuid.uuid4()), referral(w * 1_000_000 + n)
        try:
            status, case = send("/api/v1/cases", token, body, key)
        except Exception:
            status, case = None, None
        with lock:
            if status == 201:
                answered[key] = case["id"]
            elif status == 503 or status is None:
                unanswered[key] = body  # refused or cut off: may or may not have committed
            else:
                failures.append(status)
                stop.set()
        if status != 201:
            time.sleep(0.2)


threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
for t in threads:
    t.start()
for crash in range(CRASHES):
    time.sleep(0.4)
    pg(f'pg_run "$PG_BIN/pg_ctl" -D {DATA} -m immediate -w stop >/dev/null')
    time.sleep(0.3)
    pg(f'pg_start {DATA} {PG_PORT}')
time.sleep(0.5)
stop.set()
for t in threads:
    t.join()
if failures:
    sys.exit(f"FAIL: referrals answered {failures} during the crashes")

# Retry every referral whose answer was lost until the service answers it.
deadline = time.time() + 60
for key, body in list(unanswered.items()):
    while True:
        status, case = send("/api/v1/cases", token, body, key)
        if status == 201:
            answered[key] = case["id"]
            break
        if time.time() > deadline or status not in (409, 503):
            sys.exit(f"FAIL: a retried referral answered {status}")
        time.sleep(0.2)

ids = set(answered.values())
if len(ids) != len(answered):
    sys.exit("FAIL: two keys were answered with one case")
found = int(psql("SELECT count(*) FROM cases")) - before
missing = psql("SELECT count(*) FROM unnest(ARRAY[%s]::uuid[]) i WHERE NOT EXISTS (SELECT 1 FROM cases c WHERE c.id = i)"
               % ",".join(f"'{i}'" for i in ids))
unaudited = psql("SELECT count(*) FROM unnest(ARRAY[%s]::uuid[]) i WHERE (SELECT count(*) FROM audit_events e "
                 "WHERE e.action = 'collect' AND e.object_type = 'case' AND e.outcome = 'ok' AND i = ANY (e.object_ids)) <> 1"
                 % ",".join(f"'{i}'" for i in ids))
print(f"  {CRASHES} immediate PostgreSQL stops under load: {len(answered)} referrals answered 201 "
      f"({len(unanswered)} retried after a lost answer), {found} cases created, {missing} missing, {unaudited} without exactly one audit event")
if found != len(ids) or missing != "0" or unaudited != "0":
    sys.exit("FAIL: acknowledged referrals lost, duplicated or unaudited")
