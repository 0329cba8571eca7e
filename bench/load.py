"""Load for one scale: wrk against each route, then pgbench replaying the SQL one request of each
read route issues (captured from PostgreSQL's statement log), at the same concurrency.
Writes OUT/LABEL.json with requests/s, p50 and p99 per route, the pgbench figures and peak RSS.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

p = argparse.ArgumentParser()
for name in ("base", "database-url", "connections", "duration", "server-pid", "label", "out"):
    p.add_argument("--" + name, required=True)
args = p.parse_args()
BASE, DB = args.base, args.database_url
PASSWORD = "demo-only-password-2026"


def psql(sql):
    return subprocess.run(["psql", DB, "-Atc", sql], check=True, capture_output=True, text=True).stdout.split()


def call(method, path, token=None, body=None):
    req = urllib.request.Request(BASE + path, method=method, data=json.dumps(body).encode() if body else None)
    req.add_header("Content-Type", "application/json")
    req.add_header("Idempotency-Key", str(uuid.uuid4()))
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req) as res:
        return json.loads(res.read() or b"null")


coordinator = call("POST", "/api/v1/auth/login", body={"email": "coordinator@demo.confer.example", "password": PASSWORD})["access_token"]
idva = call("POST", "/api/v1/auth/login", body={"email": "idva@demo.confer.example", "password": PASSWORD})["access_token"]
marac = psql("SELECT id FROM panels WHERE kind = 'marac' ORDER BY created_at LIMIT 1")[0]
cases = psql(f"SELECT id FROM cases WHERE panel_id = '{marac}' ORDER BY md5(id::text) LIMIT 500")
actions = psql(f"SELECT a.id FROM actions a JOIN cases c ON c.id = a.case_id WHERE c.panel_id = '{marac}' ORDER BY md5(a.id::text) LIMIT 2000")
year = time.gmtime().tm_year - 1
referral = {
    "panel_id": marac, "referral_date": time.strftime("%Y-%m-%d", time.gmtime()), "children_in_household": 1,
    "consent": {"status": "given", "victim_aware": True}, "lawful_basis": "public_task",
    "special_category_condition": "safeguarding_children_individuals_at_risk",
    "participants": [{"role": "victim", "person": {"surname": "Bench", "forenames": "Alex", "date_of_birth": "1990-04-01"}}],
    "criteria": {"professional_judgement": {"reason": "Benchmark referral"}},
}

# name -> (method, path or list of paths, token, body, If-Match versions?, read route?)
ROUTES = {
    "case read": ("GET", [f"/api/v1/cases/{c}" for c in cases], coordinator, None, False, True),
    "case list (filters)": ("GET", [f"/api/v1/cases?panel_id={marac}&status=open&referred_from={year - 2}-01-01&limit=20"], coordinator, None, False, True),
    "panel-year metrics": ("GET", [f"/api/v1/panels/{marac}/metrics?year={year}"], coordinator, None, False, True),
    "action update (If-Match)": ("PATCH", [f"/api/v1/actions/{a}" for a in actions], coordinator, {"outcome_note": "Benchmark update"}, True, False),
    "referral create": ("POST", ["/api/v1/cases"], idva, referral, False, False),
}

# BENCH_ROUTES="case read,case list (filters)" measures only those (a quick look, not a report).
if os.environ.get("BENCH_ROUTES"):
    ROUTES = {k: v for k, v in ROUTES.items() if k in os.environ["BENCH_ROUTES"].split(",")}

LUA = r"""
local paths = {PATHS}
local method, body, token, versioned = "{METHOD}", {BODY}, "{TOKEN}", {VERSIONED}
local counter = 0
local thread_count = 0
-- `offset` (the thread's number) and `run` are globals set on each thread by setup().
function setup(thread)
  thread:set("offset", thread_count)
  thread:set("run", os.time())
  thread_count = thread_count + 1
end
function request()
  -- Each thread walks its own share of the paths, so a versioned row is never raced.
  local n = #paths
  local share = math.max(1, math.floor(n / {THREADS}))
  local i = (offset * share + counter % share) % n + 1
  local headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
  if versioned then headers["If-Match"] = '"' .. (math.floor(counter / share) + 1) .. '"' end
  if method == "POST" then
    headers["Idempotency-Key"] = string.format("%08x-0000-4000-8%03x-%012x", run % 0x100000000, offset, counter)
  end
  counter = counter + 1
  return wrk.format(method, paths[i], headers, body)
end
function done(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %d %d %.3f %.3f %.3f\n", summary.requests, errors, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


def lua_string(s):
    return "[==[" + s + "]==]"


def wrk(name, method, paths, token, body, versioned):
    threads = 2
    script = (LUA.replace("{PATHS}", "{" + ",".join(lua_string(x) for x in paths) + "}")
              .replace("{METHOD}", method).replace("{TOKEN}", token)
              .replace("{BODY}", lua_string(json.dumps(body)) if body else "nil")
              .replace("{VERSIONED}", "true" if versioned else "false").replace("{THREADS}", str(threads)))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    out = subprocess.run(["wrk", "-t", str(threads), "-c", args.connections, "-d", args.duration, "-s", f.name, BASE],
                         check=True, capture_output=True, text=True).stdout
    os.unlink(f.name)
    requests, errors, seconds, p50, p99 = re.search(r"RESULT (\S+) (\S+) (\S+) (\S+) (\S+)", out).groups()
    return {"rps": int(requests) / float(seconds), "errors": int(errors), "p50_ms": float(p50), "p99_ms": float(p99)}


def captured_sql(method, path, token, body):
    """The statements PostgreSQL runs for one request, literals inlined, from its statement log."""
    log = os.environ["BENCH_PG_LOG"]
    start = os.path.getsize(log)
    time.sleep(3)  # let the requests wrk left queued drain before logging starts
    psql("ALTER SYSTEM SET log_statement = 'all'")
    psql("SELECT pg_reload_conf()")
    time.sleep(0.5)
    call(method, path, token, body)
    psql("ALTER SYSTEM RESET log_statement")
    psql("SELECT pg_reload_conf()")
    with open(log, encoding="utf-8", errors="replace") as f:
        f.seek(start)
        text = f.read()
    logged = []  # (backend pid, statement)
    for m in re.finditer(r"\[(\d+)\] LOG:  (?:execute [^:]*|statement): (.*?)(?:\n\S[^\n]*?DETAIL:  [Pp]arameters: ([^\n]*))?\n(?=\S)", text, re.S):
        pid, sql, params = m.group(1), m.group(2).strip(), m.group(3)
        if "pg_reload_conf" in sql or "log_statement" in sql:
            continue
        if params:
            values = dict(re.findall(r"\$(\d+) = ('(?:[^']|'')*'|NULL)", params))
            sql = re.sub(r"\$(\d+)", lambda v: values.get(v.group(1), v.group(0)), sql)
        logged.append((pid, sql.replace("\n", " ") + ";"))
    return without_sealer(logged)


def without_sealer(logged):
    """The server's audit sealer runs every 200 ms on a database connection of its own: every
    statement of that backend (the one that touches audit_pending) is background work, not the
    request's."""
    sealer = {pid for pid, sql in logged if "audit_pending" in sql}
    return [sql for pid, sql in logged if pid not in sealer]


def pgbench(statements):
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write("\n".join(statements) + "\n")
    seconds = re.sub(r"\D", "", args.duration)
    out = subprocess.run(["/usr/lib/postgresql/15/bin/pgbench", "-n", "-M", "prepared", "-c", args.connections, "-j", "2",
                          "-T", seconds, "-r", "-f", f.name, DB], capture_output=True, text=True)
    os.unlink(f.name)
    if out.returncode != 0:
        return {"error": out.stderr.strip()[-300:]}
    tps = float(re.search(r"tps = ([\d.]+)", out.stdout).group(1))
    latency = float(re.search(r"latency average = ([\d.]+) ms", out.stdout).group(1))
    return {"tps": tps, "latency_avg_ms": latency, "statements": len(statements)}


def anchor_sql(captured, case_id):
    """The minimal SQL of an audited case read: the service's own session check and audit insert
    (as captured), and between them one statement returning the case with its participants,
    assessments and status history, in one transaction. What PostgreSQL must do at the least."""
    session = next(sql for sql in captured if "rate_buckets" in sql)
    audit = next(sql for sql in captured if sql.startswith('INSERT INTO "audit_events"'))
    read = (
        "SELECT row_to_json(c), "
        "(SELECT json_agg(json_build_object('role', cp.role, 'person', p)) FROM case_participants cp JOIN people p ON p.id = cp.person_id WHERE cp.case_id = c.id), "
        "(SELECT json_agg(a) FROM risk_assessments a WHERE a.case_id = c.id), "
        "(SELECT json_agg(h) FROM case_status_history h WHERE h.case_id = c.id) "
        f"FROM cases c WHERE c.id = '{case_id}';"
    )
    return [session, "BEGIN;", read, audit, "COMMIT;"]


def alone(method, path, token, body):
    """Median milliseconds of 20 requests one after another: the latency with no queue."""
    times = []
    for _ in range(20):
        started = time.perf_counter()
        call(method, path, token, body)
        times.append((time.perf_counter() - started) * 1000)
    return sorted(times)[10]


results = {"label": args.label, "routes": {}}
for name, (method, paths, token, body, versioned, read) in ROUTES.items():
    single = alone(method, paths[0], token, body) if read else None
    result = wrk(name, method, paths, token, body, versioned)
    if single is not None:
        result["alone_p50_ms"] = single
    if read:
        captured = captured_sql(method, paths[0], token, body)
        result["pgbench"] = pgbench(captured)
        if name == "case read":
            result["anchor"] = pgbench(anchor_sql(captured, cases[0]))
    results["routes"][name] = result
    print(name, json.dumps(result), flush=True)
with open(f"/proc/{args.server_pid}/status") as f:
    results["peak_rss_mib"] = int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1)) / 1024
with open(os.path.join(args.out, f"{args.label}.json"), "w") as f:
    json.dump(results, f, indent=2)
