"""Creates the template cases the generator clones, through the real API, so every cloned row is
one the service itself wrote: a MARAC referral with a DASH entry assessment, victim and
perpetrator, screened and accepted, two actions, five reads, and heard at a held meeting whose
agenda lists all eight (the generator clones that meeting fortnightly for every panel).

Usage: python3 bench/templates.py BASE_URL   (a server on a database seeded with `confer seed-demo`)
"""
import json
import sys
import urllib.request
import uuid

BASE = sys.argv[1]
PASSWORD = "demo-only-password-2026"
DASH = [
    "dash_q01_injury", "dash_q02_very_frightened", "dash_q03_fears_further_harm", "dash_q04_isolated",
    "dash_q05_depressed_suicidal", "dash_q06_separation", "dash_q07_child_contact_conflict",
    "dash_q08_stalking_harassment", "dash_q09_pregnant_recent_birth", "dash_q10_more_often", "dash_q11_getting_worse",
    "dash_q12_controlling_jealous", "dash_q13_weapons", "dash_q14_threats_to_kill", "dash_q15_strangulation",
    "dash_q16_sexual_abuse", "dash_q17_other_threat", "dash_q18_hurt_others", "dash_q19_animal_abuse",
    "dash_q20_financial_issues", "dash_q21_drugs_alcohol_mh", "dash_q22_abuser_suicide", "dash_q23_breached_orders",
    "dash_q24_criminal_history",
]


def call(method, path, token=None, body=None, etag=None):
    req = urllib.request.Request(BASE + path, method=method)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if method == "POST":
        req.add_header("Idempotency-Key", str(uuid.uuid4()))
    if etag:
        req.add_header("If-Match", etag)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, data) as res:
            return json.loads(res.read() or b"null"), res.headers.get("ETag")
    except urllib.error.HTTPError as e:
        sys.exit(f"{method} {path}: {e.code} {e.read().decode()}")


def login(email):
    return call("POST", "/api/v1/auth/login", body={"email": email, "password": PASSWORD})[0]["access_token"]


def main():
    coordinator = login("coordinator@demo.confer.example")
    idva = login("idva@demo.confer.example")
    panels, _ = call("GET", "/api/v1/panels?kind=marac", coordinator)
    marac = panels["items"][0]
    police = next(a for a in call("GET", "/api/v1/agencies?limit=100", coordinator)[0]["items"] if a["agency_type"] == "police")
    cases = []
    for n in range(8):
        yes = 14 + n  # visible high risk: 14 or more ticks
        answers = {q: {"answer": "yes" if i < yes else "no"} for i, q in enumerate(DASH)}
        body = {
            "panel_id": marac["id"], "referral_date": "2026-01-05", "children_in_household": n % 3,
            "consent": {"status": "given", "victim_aware": True}, "lawful_basis": "public_task",
            "special_category_condition": "safeguarding_children_individuals_at_risk",
            "participants": [
                {"role": "victim", "person": {"surname": f"Template{n}", "forenames": "Alex", "date_of_birth": "1990-04-01"}},
                {"role": "perpetrator", "person": {"surname": f"Other{n}", "forenames": "Sam", "date_of_birth": "1988-02-03"}},
            ],
            "entry_assessment": {"tool": "dash_ric", "tool_version": "safelives_24", "answers": answers},
        }
        case, _ = call("POST", "/api/v1/cases", idva, body)
        cases.append(case["id"])
        for to in ("screening", "accepted"):
            call("POST", f"/api/v1/cases/{case['id']}/transitions", coordinator, {"to": to})
        for text in ("Check police records and markers", "Safety planning with the victim"):
            call("POST", f"/api/v1/cases/{case['id']}/actions", coordinator,
                 {"description": text, "owner_agency_id": police["id"], "due_date": "2026-02-01"})
        for _ in range(5):  # reads before and at the panel: audit events as a live case gathers them
            call("GET", f"/api/v1/cases/{case['id']}", coordinator)
    meeting, _ = call("POST", f"/api/v1/panels/{marac['id']}/meetings", coordinator,
                      {"meeting_date": "2026-01-12", "start_time": "10:00", "virtual_link": "https://meet.example/bench"})
    agenda = f"/api/v1/meetings/{meeting['id']}/agenda"
    call("PUT", agenda, coordinator, {"items": [{"case_id": c} for c in cases]}, etag='"1"')
    for to in ("agenda_published", "in_progress", "held"):
        call("POST", f"/api/v1/meetings/{meeting['id']}/transitions", coordinator, {"to": to})
    # Holding the meeting records the items still listed as heard.
    print("templates created")


main()
