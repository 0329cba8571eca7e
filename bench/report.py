"""Prints the benchmark's Markdown tables from OUT/<scale>.json: per route and scale, requests/s,
p50 and p99, pgbench's transactions/s for the same statements and the ratio service ÷ pgbench;
the case read against the minimal-SQL anchor;
then how p50 of the list and metrics routes moves from the smallest scale to the largest.

Usage: python3 bench/report.py OUT SCALE [SCALE ...]
"""
import json
import os
import sys

out, scales = sys.argv[1], sys.argv[2:]
runs = [json.load(open(os.path.join(out, f"{s}.json"))) for s in scales]
print("| cases | route | requests/s | p50 ms | p99 ms | errors | pgbench tps (same SQL) | service ÷ pgbench | alone p50 ms |")
print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
for run in runs:
    for name, r in run["routes"].items():
        pg = r.get("pgbench")
        if pg is None:
            tps, ratio = "n/a (write)", "n/a"
        elif "error" in pg:
            tps, ratio = "failed: " + pg["error"][:60], "n/a"
        else:
            tps, ratio = f"{pg['tps']:.0f}", f"{r['rps'] / pg['tps']:.2f}"
        single = f"{r['alone_p50_ms']:.1f}" if "alone_p50_ms" in r else "–"
        print(f"| {int(run['label']):,} | {name} | {r['rps']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['errors']} | {tps} | {ratio} | {single} |")
print()
print("Case read against the minimal-SQL anchor (session check, one JSON read, audit insert, one transaction):")
print()
print("| cases | service req/s | service p99 ms | statements (service) | anchor tps | anchor avg ms | service ÷ anchor | p99 ÷ anchor avg |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|")
for run in runs:
    r = run["routes"].get("case read", {})
    a, pg = r.get("anchor"), r.get("pgbench", {})
    if not a or "error" in a:
        continue
    print(f"| {int(run['label']):,} | {r['rps']:.0f} | {r['p99_ms']:.1f} | {pg.get('statements', '?')} | {a['tps']:.0f} | {a['latency_avg_ms']:.1f} | {r['rps'] / a['tps']:.2f} | {r['p99_ms'] / a['latency_avg_ms']:.2f} |")
print()
print("| cases | peak RSS of the server (MiB) |")
print("|---:|---:|")
for run in runs:
    print(f"| {int(run['label']):,} | {run['peak_rss_mib']:.0f} |")
if len(runs) > 1:
    small, large = runs[0], runs[-1]
    print()
    print(f"| route | p50 at {int(small['label']):,} | p50 at {int(large['label']):,} | growth |")
    print("|---|---:|---:|---:|")
    for name in ("case list (filters)", "panel-year metrics"):
        a, b = small["routes"][name]["p50_ms"], large["routes"][name]["p50_ms"]
        print(f"| {name} | {a:.1f} ms | {b:.1f} ms | {b / a:.2f}× |")
