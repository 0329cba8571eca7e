//! The access-control and audit proofs of SECURITY.md §8, driven by the route table and the field
//! policy itself: BOLA sweep (F2), canary scan (F3), mass assignment (F4), audit completeness and
//! tamper evidence (F12). Each prints its counts; docs/SECURITY.md reports them.

use std::collections::{BTreeMap, BTreeSet};

use actix_web::http::Method;
use actix_web::test::TestRequest;
use confer::startup::ROUTES;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::cases::{World, dash, days_ago, marac_referral, world};
use crate::helpers::{Res, Session};

const TAGS: [&str; 7] = [
    "victim.address",
    "victim.safe_contact",
    "risk.dash_answers",
    "health",
    "perpetrator.criminal",
    "children",
    "safety_plan",
];

fn canary(tag: &str) -> String {
    format!("CANARY-{tag}-7f3a")
}

/// A MARAC case with every tagged field seeded with a canary, supplied by the IDVA under a
/// permissive policy that is then put back as it was.
async fn seeded_case(w: &World) -> (String, Value) {
    let before = w.app.get("/api/v1/field-policy", &w.admin.access).await.json();
    for tag in TAGS {
        w.set_policy("agency_type", "idva_service", tag, "write").await;
    }
    let mut answers = dash(15);
    answers["answers"]["dash_q01_injury"]["comment"] = json!(canary("risk.dash_answers"));
    let body = marac_referral(
        w.marac,
        &days_ago(3),
        json!([
            { "role": "victim", "person": { "surname": "Seeded", "forenames": "Alex",
                "address_kind": "refuge", "address": canary("victim.address"),
                "safe_contact_details": canary("victim.safe_contact"), "health_notes": canary("health") } },
            { "role": "perpetrator", "person": { "surname": "Perp", "criminal_history": canary("perpetrator.criminal") } },
            { "role": "child", "person": { "surname": canary("children"), "school": canary("children") } }
        ]),
        json!({ "entry_assessment": answers, "safety_plan": canary("safety_plan") }),
    );
    let case = w.refer(&w.idva, body).await;
    // Restore the policy the suite runs under.
    let now = w.app.get("/api/v1/field-policy", &w.admin.access).await;
    let res = w
        .app
        .call(
            TestRequest::put()
                .uri("/api/v1/field-policy")
                .insert_header(("authorization", format!("Bearer {}", w.admin.access)))
                .insert_header(("if-match", now.header("etag").unwrap()))
                .set_json(json!({ "rows": before["rows"] })),
        )
        .await;
    assert_eq!(res.status, 200);
    (case["id"].as_str().unwrap().to_owned(), case)
}

/// The tags `who` may read on the MARAC case, from the policy rows (the oracle), plus provenance.
fn entitled(policy: &Value, subjects: &[(&str, &str)], supplier: bool) -> BTreeSet<String> {
    if supplier {
        return TAGS.iter().map(|t| t.to_string()).collect();
    }
    policy["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| subjects.iter().any(|(k, s)| r["subject_kind"] == *k && r["subject"] == *s))
        .filter(|r| r["access"] == "read" || r["access"] == "write")
        .map(|r| r["tag"].as_str().unwrap().to_owned())
        .collect()
}

/// A user to scan: a name, the session, and the policy subjects it acts as on the MARAC.
type Scanned<'a> = (&'a str, &'a Session, Vec<(&'a str, &'a str)>);

fn canaries_in(res: &Res) -> BTreeSet<String> {
    let mut text = format!("{} ", res.status);
    for (k, v) in res.headers.iter() {
        text.push_str(&format!("{k}: {} ", v.to_str().unwrap_or("")));
    }
    text.push_str(&String::from_utf8_lossy(&res.body));
    TAGS.iter().filter(|t| text.contains(&canary(t))).map(|t| t.to_string()).collect()
}

async fn get_as(w: &World, path: &str, who: &Session, purpose: bool) -> Res {
    let mut req = TestRequest::get().uri(path).insert_header(("authorization", format!("Bearer {}", who.access)));
    if purpose {
        req = req.insert_header(crate::cases::PURPOSE);
    }
    w.app.call(req).await
}

#[actix_web::test]
async fn canary_scan_finds_no_tag_outside_each_callers_entitlement() {
    let w = world().await;
    let (c, case) = seeded_case(&w).await;
    w.link_police(&c).await;
    let chair = w
        .app
        .user(&w.admin, "chair@test.example", Some(w.police_agency), json!([{ "role": "chair", "panel_id": w.marac }]))
        .await;
    let manager =
        w.app.user(&w.admin, "mgr@test.example", None, json!([{ "role": "manager", "panel_id": w.marac }])).await;
    let auditor = w.app.user(&w.admin, "aud@test.example", None, json!([{ "role": "auditor" }])).await;
    let policy = w.app.get("/api/v1/field-policy", &w.admin.access).await.json();
    let meeting = w
        .app
        .post(
            &format!("/api/v1/panels/{}/meetings", w.marac),
            Some(&w.coordinator.access),
            json!({ "meeting_date": days_ago(-3), "start_time": "10:00", "virtual_link": "https://meet.example/x" }),
        )
        .await
        .json();
    let m = meeting["id"].as_str().unwrap();
    let path = |s: &str| s.replace("{c}", &c).replace("{m}", m);
    let reads = [
        "/api/v1/cases/{c}",
        "/api/v1/cases",
        "/api/v1/cases/{c}/risk-assessments",
        "/api/v1/cases/{c}/actions",
        "/api/v1/meetings/{m}/agenda",
        "/api/v1/meetings/{m}/pack",
        "/api/v1/audit",
        "/api/v1/me",
    ];
    let supplier_agency = case["referring_agency_id"].clone();
    let users: Vec<Scanned> = vec![
        ("coordinator", &w.coordinator, vec![("role", "coordinator")]),
        ("chair", &chair, vec![("role", "chair")]),
        ("police", &w.police, vec![("agency_type", "police")]),
        ("idva", &w.idva, vec![("agency_type", "idva_service")]),
        ("housing", &w.housing, vec![]),
        ("admin", &w.admin, vec![]),
        ("manager", &manager, vec![]),
        ("auditor", &auditor, vec![]),
    ];
    let mut probes = 0;
    let mut leaks = Vec::new();
    for (name, who, subjects) in &users {
        let me = w.app.get("/api/v1/me", &who.access).await.json();
        let is_supplier = me["agency"]["id"] == supplier_agency;
        let allowed = entitled(&policy, subjects, is_supplier);
        for read in reads {
            for purpose in [false, true] {
                let res = get_as(&w, &path(read), who, purpose).await;
                probes += 1;
                for found in canaries_in(&res) {
                    let purpose_tag =
                        matches!(found.as_str(), "victim.address" | "victim.safe_contact" | "health" | "safety_plan");
                    if !allowed.contains(&found) || (purpose_tag && !purpose) {
                        leaks.push(format!("{name} {read} purpose={purpose}: {found}"));
                    }
                }
            }
        }
    }
    println!("F3 canary scan: {probes} responses scanned over {} users, {} leaks", users.len(), leaks.len());
    assert!(leaks.is_empty(), "{leaks:?}");
    // The scan can fail: the supplier with a purpose does see every canary.
    let full = get_as(&w, &path("/api/v1/cases/{c}"), &w.idva, true).await;
    assert_eq!(canaries_in(&full).len(), TAGS.len(), "every seeded tag reaches its supplier");
    // And the application log carries none of them (F15 is checked over the whole suite by test.sh).
}

/// Fills a route's path parameters from `ids`; `None` if the route needs one we do not have.
fn fill(pattern: &str, ids: &BTreeMap<&str, String>) -> Option<String> {
    pattern
        .split('/')
        .map(|seg| match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => ids.get(name).cloned(),
            None => Some(seg.to_owned()),
        })
        .collect::<Option<Vec<_>>>()
        .map(|v| v.join("/"))
}

async fn probe(w: &World, method: &str, path: &str, who: &Session) -> Res {
    let m = Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = TestRequest::default()
        .method(m.clone())
        .uri(path)
        .insert_header(("authorization", format!("Bearer {}", who.access)));
    if matches!(method, "PUT" | "PATCH") {
        req = req.insert_header(("if-match", "\"1\""));
    }
    if matches!(method, "POST" | "PUT" | "PATCH") {
        req = req.set_json(json!({}));
    }
    w.app.call(req).await
}

#[actix_web::test]
async fn bola_sweep_answers_every_hidden_object_exactly_like_a_missing_one() {
    let w = world().await;
    let case = w.marac_case(15).await;
    let c = case["id"].as_str().unwrap().to_owned();
    for to in ["screening", "accepted"] {
        w.move_to(&c, to, None).await;
    }
    let action = w
        .app
        .post(
            &format!("/api/v1/cases/{c}/actions"),
            Some(&w.coordinator.access),
            json!({ "description": "Visit", "owner_agency_id": w.police_agency, "due_date": days_ago(-5) }),
        )
        .await
        .json();
    let meeting = w
        .app
        .post(
            &format!("/api/v1/panels/{}/meetings", w.marac),
            Some(&w.coordinator.access),
            json!({ "meeting_date": days_ago(-3), "start_time": "10:00", "virtual_link": "https://meet.example/x" }),
        )
        .await
        .json();
    let m = meeting["id"].as_str().unwrap().to_owned();
    let agenda =
        w.app.post(&format!("/api/v1/meetings/{m}/agenda/build"), Some(&w.coordinator.access), json!({})).await.json();
    let item = agenda["items"][0]["id"].as_str().unwrap().to_owned();
    // A second case the police are not linked to: a member of the panel without need to know.
    let hidden = w.marac_case(16).await;

    let targets: Vec<(&str, &Session, BTreeMap<&str, String>)> = vec![
        (
            "housing (not on the MARAC)",
            &w.housing,
            BTreeMap::from([
                ("case_id", c.clone()),
                ("action_id", action["id"].as_str().unwrap().to_owned()),
                ("meeting_id", m.clone()),
                ("item_id", item.clone()),
            ]),
        ),
        (
            "police (on the MARAC, not linked)",
            &w.police,
            BTreeMap::from([("case_id", hidden["id"].as_str().unwrap().to_owned())]),
        ),
    ];
    let mut probes = 0;
    let mut leaks = Vec::new();
    for (who_name, who, ids) in &targets {
        for route in ROUTES {
            if !route.path.contains('{') {
                continue;
            }
            let Some(real) = fill(route.path, ids) else { continue };
            let random_ids: BTreeMap<&str, String> = ids.keys().map(|k| (*k, Uuid::new_v4().to_string())).collect();
            let random = fill(route.path, &random_ids).unwrap();
            let a = probe(&w, route.method, &real, who).await;
            let b = probe(&w, route.method, &random, who).await;
            probes += 1;
            let same = a.status == b.status && a.body_without_request_id() == b.body_without_request_id();
            if !same {
                leaks.push(format!("{who_name}: {} {} -> {} vs {}", route.method, route.path, a.status, b.status));
            }
        }
    }
    // Nested paths with a parent the caller can see and a child of another case answer 404 too.
    w.link_police(&c).await;
    let other_action = w
        .app
        .post(
            &format!("/api/v1/cases/{}/actions", hidden["id"].as_str().unwrap()),
            Some(&w.coordinator.access),
            json!({ "description": "Other", "owner_agency_id": w.housing_agency, "due_date": days_ago(-5) }),
        )
        .await;
    assert_eq!(other_action.status, 422, "housing is not a member of the MARAC");
    println!("F2 BOLA sweep: {probes} probes, {} leaks", leaks.len());
    assert!(probes > 20, "{probes}");
    assert!(leaks.is_empty(), "{leaks:?}");
}

#[actix_web::test]
async fn mass_assignment_of_server_owned_fields_changes_nothing() {
    let w = world().await;
    let case = w.marac_case(15).await;
    let c = case["id"].as_str().unwrap().to_owned();
    let action = w
        .app
        .post(
            &format!("/api/v1/cases/{c}/actions"),
            Some(&w.coordinator.access),
            json!({ "description": "Visit", "owner_agency_id": w.police_agency, "due_date": days_ago(-5) }),
        )
        .await
        .json();
    let a = action["id"].as_str().unwrap().to_owned();
    let server_owned = [
        (
            "POST",
            "/api/v1/cases".to_owned(),
            marac_referral(
                w.marac,
                &days_ago(1),
                json!([{ "role": "victim", "person": { "surname": "X" } }]),
                json!({ "criteria": { "professional_judgement": { "reason": "r" } } }),
            ),
            vec![
                "id",
                "status",
                "reference",
                "version",
                "created_by",
                "visible_high_risk",
                "is_repeat",
                "repeat_of_case_id",
                "created_at",
            ],
        ),
        (
            "PATCH",
            format!("/api/v1/actions/{a}"),
            json!({ "description": "Changed" }),
            vec!["id", "version", "case_id", "overdue", "created_by", "completed_on"],
        ),
        (
            "POST",
            format!("/api/v1/cases/{c}/risk-assessments"),
            json!({ "stage": "review", "tool": "custom_score", "tool_version": "v1", "score": 3 }),
            vec!["id", "case_id", "high_risk", "threshold", "created_by", "agency_id", "dont_know_count"],
        ),
        (
            "POST",
            format!("/api/v1/cases/{c}/transitions"),
            json!({ "to": "screening" }),
            vec!["status", "version", "changed_by"],
        ),
        (
            "PATCH",
            format!("/api/v1/agencies/{}", w.police_agency),
            json!({ "active": true }),
            vec!["id", "version", "created_at"],
        ),
    ];
    let before_case = w.app.get(&format!("/api/v1/cases/{c}"), &w.coordinator.access).await.json();
    let before_action = w.app.get(&format!("/api/v1/actions/{a}"), &w.coordinator.access).await.json();
    let before_count =
        w.app.get("/api/v1/cases?limit=100", &w.coordinator.access).await.json()["items"].as_array().unwrap().len();
    let mut attempts = 0;
    let mut accepted = Vec::new();
    for (method, path, base, fields) in &server_owned {
        for field in fields {
            let mut body = base.clone();
            body[*field] = json!("00000000-0000-0000-0000-000000000001");
            let who = if path.contains("agencies") { &w.admin } else { &w.coordinator };
            let mut req = TestRequest::default()
                .method(Method::from_bytes(method.as_bytes()).unwrap())
                .uri(path)
                .insert_header(("authorization", format!("Bearer {}", who.access)))
                .set_json(body);
            if *method == "PATCH" {
                req = req.insert_header(("if-match", "\"1\""));
            }
            let res = w.app.call(req).await;
            attempts += 1;
            if res.status != 400 || res.field_errors() != vec![(field.to_string(), "unknown_field".to_string())] {
                accepted.push(format!("{method} {path} +{field}: {}", res.status));
            }
        }
    }
    let after_case = w.app.get(&format!("/api/v1/cases/{c}"), &w.coordinator.access).await.json();
    let after_action = w.app.get(&format!("/api/v1/actions/{a}"), &w.coordinator.access).await.json();
    let after_count =
        w.app.get("/api/v1/cases?limit=100", &w.coordinator.access).await.json()["items"].as_array().unwrap().len();
    println!(
        "F4 mass assignment: {attempts} attempts, {} not refused, rows changed: {}",
        accepted.len(),
        before_case != after_case || before_action != after_action || before_count != after_count
    );
    assert!(accepted.is_empty(), "{accepted:?}");
    assert_eq!(before_case, after_case);
    assert_eq!(before_action, after_action);
    assert_eq!(before_count, after_count);
    // A DASH score sent by the client is refused too (it is computed by the server).
    let mut with_score = dash(3);
    with_score["stage"] = json!("review");
    with_score["score"] = json!(24);
    let res = w.app.post(&format!("/api/v1/cases/{c}/risk-assessments"), Some(&w.idva.access), with_score).await;
    assert_eq!(res.status, 422);
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[actix_web::test]
async fn every_case_touching_request_leaves_exactly_one_audit_event_and_the_chain_detects_tampering() {
    let w = world().await;
    let case = w.marac_case(15).await;
    let c = case["id"].as_str().unwrap().to_owned();
    let mut ids: Vec<(String, String)> = Vec::new();
    let mut note = |label: &str, res: &Res| ids.push((label.to_owned(), res.header("x-request-id").unwrap()));
    note("read", &w.app.get(&format!("/api/v1/cases/{c}"), &w.idva.access).await);
    note("read with purpose", &get_as(&w, &format!("/api/v1/cases/{c}"), &w.idva, true).await);
    note("list", &w.app.get("/api/v1/cases", &w.coordinator.access).await);
    note("hidden", &w.app.get(&format!("/api/v1/cases/{c}"), &w.housing.access).await);
    note("missing", &w.app.get(&format!("/api/v1/cases/{}", Uuid::new_v4()), &w.police.access).await);
    note("unauthenticated", &w.app.request(Method::GET, &format!("/api/v1/cases/{c}"), None, None).await);
    note(
        "function refused",
        &w.app
            .post(&format!("/api/v1/cases/{c}/transitions"), Some(&w.idva.access), json!({ "to": "screening" }))
            .await,
    );
    note(
        "invalid",
        &w.app
            .post(&format!("/api/v1/cases/{c}/transitions"), Some(&w.coordinator.access), json!({ "to": "closed" }))
            .await,
    );
    note(
        "write",
        &w.app
            .post(&format!("/api/v1/cases/{c}/transitions"), Some(&w.coordinator.access), json!({ "to": "screening" }))
            .await,
    );
    note(
        "action",
        &w.app
            .post(
                &format!("/api/v1/cases/{c}/actions"),
                Some(&w.coordinator.access),
                json!({ "description": "Visit", "owner_agency_id": w.police_agency, "due_date": days_ago(-5) }),
            )
            .await,
    );
    note("assessments", &w.app.get(&format!("/api/v1/cases/{c}/risk-assessments"), &w.idva.access).await);

    let mut conn = w.app.db.conn();
    let mut missing = Vec::new();
    for (label, id) in &ids {
        let n = diesel::sql_query("SELECT count(*) AS n FROM audit_events WHERE request_id = $1")
            .bind::<diesel::sql_types::Text, _>(id)
            .get_result::<Count>(&mut conn)
            .unwrap()
            .n;
        if n != 1 {
            missing.push(format!("{label}: {n} events"));
        }
    }
    println!(
        "F12 audit completeness: {} case-touching requests, {} without exactly one event",
        ids.len(),
        missing.len()
    );
    assert!(missing.is_empty(), "{missing:?}");

    // What the events say: tags disclosed (never values), purpose, outcome.
    let auditor = w.app.user(&w.admin, "aud@test.example", None, json!([{ "role": "auditor" }])).await;
    let events = w.app.get(&format!("/api/v1/audit?case_id={c}&limit=100"), &auditor.access).await;
    assert_eq!(events.status, 200);
    let text = String::from_utf8_lossy(&events.body).to_string();
    assert!(!text.contains("CANARY"), "events hold no values");
    let by_request =
        |id: &str| events.json()["items"].as_array().unwrap().iter().find(|e| e["request_id"] == id).cloned().unwrap();
    let purposeful = by_request(&ids[1].1);
    assert!(purposeful["purpose"].as_str().unwrap().starts_with("reason:"));
    assert!(purposeful["tags_disclosed"].as_array().unwrap().contains(&json!("victim.address")));
    assert_eq!(by_request(&ids[3].1)["outcome"], "denied_object");
    assert_eq!(by_request(&ids[6].1)["outcome"], "denied_function");
    assert_eq!(by_request(&ids[7].1)["outcome"], "invalid");
    assert_eq!(w.app.get("/api/v1/audit", &w.coordinator.access).await.status, 403, "auditors only");

    // The runtime role may not change or remove audit events.
    for statement in ["UPDATE audit_events SET outcome = 'ok'", "DELETE FROM audit_events"] {
        let outcome = conn.transaction::<_, diesel::result::Error, _>(|conn| {
            diesel::sql_query("SET LOCAL ROLE confer_app").execute(conn)?;
            diesel::sql_query(statement).execute(conn)
        });
        assert!(outcome.is_err(), "{statement} must fail for the runtime role");
    }

    // `confer audit verify` passes, then reports the first tampered row and fails.
    let verify = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_confer"))
            .args(["audit", "verify"])
            .env("DATABASE_URL", w.app.db.url())
            .env("CONFER_JWT_KEYS", format!("cli:{}", *crate::helpers::JWT_KEY_B64))
            .output()
            .unwrap()
    };
    let ok = verify();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stdout));
    let target: i64 =
        diesel::sql_query("SELECT min(id) + 2 AS n FROM audit_events").get_result::<Count>(&mut conn).unwrap().n;
    conn.batch_execute(&format!(
        "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only;
         UPDATE audit_events SET purpose = 'tampered' WHERE id = {target};
         ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only;"
    ))
    .unwrap();
    let broken = verify();
    assert_eq!(broken.status.code(), Some(1));
    let said = String::from_utf8_lossy(&broken.stdout).to_string();
    assert!(said.contains(&format!("event {target}")), "{said}");
}

/// Several sealers (one per server) running while requests write events: each event is sealed
/// exactly once, by the runtime role's privileges alone, into one chain that verifies.
#[actix_web::test]
async fn concurrent_sealers_link_every_event_once_into_one_chain() {
    let w = world().await;
    let url = w.app.db.url();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sealers: Vec<_> = (0..3)
        .map(|_| {
            let (url, stop) = (url.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut conn = PgConnection::establish(&url).unwrap();
                conn.batch_execute("SET ROLE confer_app").unwrap();
                let mut sealed = 0;
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    sealed += confer::audit::seal(&mut conn).unwrap();
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
                sealed + confer::audit::seal(&mut conn).unwrap()
            })
        })
        .collect();
    for _ in 0..30 {
        let missing = w.app.get(&format!("/api/v1/cases/{}", Uuid::new_v4()), &w.police.access).await;
        assert_eq!(missing.status, 404);
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let sealed: u64 = sealers.into_iter().map(|t| t.join().unwrap()).sum();
    let mut conn = w.app.db.conn();
    let events = diesel::sql_query("SELECT count(*) AS n FROM audit_events").get_result::<Count>(&mut conn).unwrap().n;
    let pending =
        diesel::sql_query("SELECT count(*) AS n FROM audit_pending").get_result::<Count>(&mut conn).unwrap().n;
    assert!(events >= 30, "{events} events");
    assert_eq!((sealed, pending), (events as u64, 0), "every event sealed once, none left waiting");
    assert_eq!(confer::audit::verify(&mut conn).unwrap(), Ok(events as u64));
}

/// The F3 scan over the flows the outside review probed (issue 11): a known person linked to a
/// new referral by another organisation, minutes read by an organisation that sent apologies,
/// the people search for every role, and reads before and after acknowledging a meeting by an
/// organisation whose only sight of the case is that meeting.
#[actix_web::test]
async fn canary_scan_covers_re_referral_minutes_people_search_and_acknowledgement() {
    let w = world().await;
    let (c, case) = seeded_case(&w).await;
    w.link_police(&c).await;
    let policy = w.app.get("/api/v1/field-policy", &w.admin.access).await.json();
    // A health trust joins the MARAC; its sight of the case will come only from a meeting.
    let health_agency = w.app.create_agency(&w.admin, "North West NHS Trust", "mental_health").await;
    let panel = w.app.get(&format!("/api/v1/panels/{}", w.marac), &w.admin.access).await;
    let mut members = panel.json()["members"].clone();
    members.as_array_mut().unwrap().push(json!({ "agency_id": health_agency, "isa_signed_on": "2025-01-01" }));
    let patched = w
        .app
        .patch(
            &format!("/api/v1/panels/{}", w.marac),
            &w.admin.access,
            panel.header("etag").as_deref(),
            json!({ "members": members }),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", String::from_utf8_lossy(&patched.body));
    let health = w
        .app
        .user(
            &w.admin,
            "nurse@test.example",
            Some(health_agency),
            json!([{ "role": "agency_rep", "panel_id": w.marac }]),
        )
        .await;
    let chair = w
        .app
        .user(&w.admin, "chair@test.example", Some(w.police_agency), json!([{ "role": "chair", "panel_id": w.marac }]))
        .await;

    // Re-referral: the police link the seeded people to a case of their own.
    let person = |role: &str| {
        case["participants"].as_array().unwrap().iter().find(|p| p["role"] == role).unwrap()["person"]["id"].clone()
    };
    let mut body = marac_referral(
        w.marac,
        &days_ago(1),
        json!([{ "role": "victim", "person_id": person("victim") }, { "role": "perpetrator", "person_id": person("perpetrator") }]),
        json!({ "criteria": { "professional_judgement": { "reason": "Police re-referral" } } }),
    );
    body["referring_agency_id"] = json!(w.police_agency);
    let rereferral = w.refer(&w.police, body).await;
    let r = rereferral["id"].as_str().unwrap().to_owned();

    // A meeting hears the case: the police send apologies, the health trust is present.
    for to in ["screening", "accepted"] {
        w.move_to(&c, to, None).await;
    }
    let m = w
        .app
        .post(
            &format!("/api/v1/panels/{}/meetings", w.marac),
            Some(&w.coordinator.access),
            json!({ "meeting_date": days_ago(0), "start_time": "10:00", "virtual_link": "https://meet.example/x" }),
        )
        .await
        .json();
    let mid = m["id"].as_str().unwrap().to_owned();
    let agenda = format!("/api/v1/meetings/{mid}/agenda");
    let etag = w.app.get(&agenda, &w.coordinator.access).await.header("etag").unwrap();
    let put = w
        .app
        .call(
            TestRequest::put()
                .uri(&agenda)
                .insert_header(("authorization", format!("Bearer {}", w.coordinator.access)))
                .insert_header(("if-match", etag))
                .set_json(json!({ "items": [{ "case_id": c }] })),
        )
        .await;
    assert_eq!(put.status, 200);
    w.attend(&mid, w.police_agency, "apologies").await;
    w.attend(&mid, health_agency, "present").await;
    for to in ["agenda_published", "in_progress", "held"] {
        let res = w
            .app
            .post(&format!("/api/v1/meetings/{mid}/transitions"), Some(&w.coordinator.access), json!({ "to": to }))
            .await;
        assert_eq!(res.status, 200);
    }
    // Minutes that (wrongly, but minutes are free text) repeat every seeded value.
    let minutes_text: String = TAGS.iter().map(|t| canary(t)).collect::<Vec<_>>().join("; ");
    let res = w
        .app
        .call(
            TestRequest::put()
                .uri(&format!("/api/v1/meetings/{mid}/minutes"))
                .insert_header(("authorization", format!("Bearer {}", w.coordinator.access)))
                .insert_header(("if-match", "\"0\""))
                .set_json(json!({ "body": minutes_text })),
        )
        .await;
    assert_eq!(res.status, 200);

    let mut probes = 0;
    let mut leaks = Vec::new();
    let mut scan = |who: &str, what: &str, res: &Res, allowed: &BTreeSet<String>| {
        probes += 1;
        for found in canaries_in(res) {
            if !allowed.contains(&found) {
                leaks.push(format!("{who} {what}: {found}"));
            }
        }
    };
    let all: BTreeSet<String> = TAGS.iter().map(|t| t.to_string()).collect();
    let none = BTreeSet::new();
    let purpose_free = |set: BTreeSet<String>, purpose: bool| -> BTreeSet<String> {
        set.into_iter()
            .filter(|t| {
                purpose || !matches!(t.as_str(), "victim.address" | "victim.safe_contact" | "health" | "safety_plan")
            })
            .collect()
    };
    let police_policy = entitled(&policy, &[("agency_type", "police")], false);
    let health_policy = entitled(&policy, &[("agency_type", "mental_health")], false);

    // 1. The re-referral, read by the police with and without a purpose: policy only.
    for purpose in [false, true] {
        let res = get_as(&w, &format!("/api/v1/cases/{r}"), &w.police, purpose).await;
        scan("police", "re-referral", &res, &purpose_free(police_policy.clone(), purpose));
    }
    // 2. Minutes: the police sent apologies (none, even after acknowledging); the coordinator reads them.
    let ack = |who: &Session| {
        TestRequest::post()
            .uri(&format!("/api/v1/meetings/{mid}/acknowledgement"))
            .insert_header(("authorization", format!("Bearer {}", who.access)))
    };
    assert_eq!(w.app.call(ack(&w.police)).await.status, 200);
    let minutes = format!("/api/v1/meetings/{mid}/minutes");
    scan("police (apologies)", "minutes", &w.app.get(&minutes, &w.police.access).await, &none);
    scan("health (not acknowledged)", "minutes", &w.app.get(&minutes, &health.access).await, &none);
    let staff_minutes = w.app.get(&minutes, &w.coordinator.access).await;
    assert_eq!(canaries_in(&staff_minutes).len(), TAGS.len(), "the scan can see minutes");
    // 3. The health trust before acknowledging: the research list (children's names if its policy allows).
    let research = purpose_free(health_policy.iter().filter(|t| *t == "children").cloned().collect(), false);
    for path in
        [format!("/api/v1/cases/{c}"), "/api/v1/cases".into(), agenda.clone(), format!("/api/v1/cases/{c}/actions")]
    {
        for purpose in [false, true] {
            scan("health (not acknowledged)", &path, &get_as(&w, &path, &health, purpose).await, &research);
        }
    }
    // 4. After acknowledging: the case as its policy allows.
    assert_eq!(w.app.call(ack(&health)).await.status, 200);
    for path in [
        format!("/api/v1/cases/{c}"),
        "/api/v1/cases".into(),
        agenda.clone(),
        format!("/api/v1/meetings/{mid}/pack"),
        minutes.clone(),
    ] {
        for purpose in [false, true] {
            let allowed = if path == minutes { all.clone() } else { purpose_free(health_policy.clone(), purpose) };
            scan("health (acknowledged)", &path, &get_as(&w, &path, &health, purpose).await, &allowed);
        }
    }
    // 5. The people search for every role, by the child's name (itself a canary) and the victim's.
    let users: [(&str, &Session, BTreeSet<String>); 6] = [
        ("coordinator", &w.coordinator, entitled(&policy, &[("role", "coordinator")], false)),
        ("chair", &chair, entitled(&policy, &[("role", "chair")], false)),
        ("police", &w.police, police_policy.clone()),
        ("idva", &w.idva, all.clone()),
        ("housing", &w.housing, none.clone()),
        ("health", &health, health_policy.clone()),
    ];
    for (name, who, allowed) in &users {
        for search in [json!({ "surname": canary("children") }), json!({ "surname": "Seeded", "forenames": "Alex" })] {
            let res = w.app.post("/api/v1/people/matches", Some(&who.access), search).await;
            scan(name, "people matches", &res, &allowed.iter().filter(|t| *t == "children").cloned().collect());
        }
    }
    println!("F3 canary scan (review flows): {probes} responses scanned, {} leaks", leaks.len());
    assert!(leaks.is_empty(), "{leaks:#?}");
    // The scan can fail: with its grant the health trust sees the health canary.
    let full = get_as(&w, &format!("/api/v1/cases/{c}"), &health, true).await;
    assert!(canaries_in(&full).contains("health"), "{}", String::from_utf8_lossy(&full.body));
}

/// F12: the event is written in the transaction of the change it records. With the audit insert
/// refused (the runtime role loses INSERT on the table), a write fails and leaves neither its row
/// nor an event; so does a read, which answers nothing it could not audit.
#[actix_web::test]
async fn a_change_whose_audit_event_cannot_be_written_leaves_neither_row_nor_event() {
    let w = world().await;
    let case = w.marac_case(15).await;
    let c = case["id"].as_str().unwrap().to_owned();
    let mut conn = w.app.db.conn();
    let count = |conn: &mut PgConnection, sql: &str| -> i64 {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::sql_query(sql).get_result::<N>(conn).unwrap().n
    };
    let (actions, events) = (
        count(&mut conn, "SELECT count(*) AS n FROM actions"),
        count(&mut conn, "SELECT count(*) AS n FROM audit_events"),
    );
    conn.batch_execute("REVOKE INSERT ON audit_events FROM confer_app").unwrap();
    let body =
        json!({ "description": "Flag the address", "owner_agency_id": w.police_agency, "due_date": days_ago(-7) });
    let req = TestRequest::post()
        .uri(&format!("/api/v1/cases/{c}/actions"))
        .insert_header(("authorization", format!("Bearer {}", w.coordinator.access)))
        .set_json(body);
    let (_, _, write) = w.app.call_unchecked(req).await;
    assert!(write.status.is_server_error(), "{}", write.status);
    let req = TestRequest::get()
        .uri(&format!("/api/v1/cases/{c}"))
        .insert_header(("authorization", format!("Bearer {}", w.coordinator.access)));
    let (_, _, read) = w.app.call_unchecked(req).await;
    assert!(read.status.is_server_error(), "a read that cannot be audited is not answered: {}", read.status);
    assert!(!String::from_utf8_lossy(&read.body).contains("Victim"));
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM actions"), actions, "no action without its event");
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM audit_events"), events);
    conn.batch_execute("GRANT INSERT ON audit_events TO confer_app").unwrap();
    let again = w
        .app
        .post(
            &format!("/api/v1/cases/{c}/actions"),
            Some(&w.coordinator.access),
            json!({ "description": "Flag the address", "owner_agency_id": w.police_agency, "due_date": days_ago(-7) }),
        )
        .await;
    assert_eq!(again.status, 201, "the same request succeeds once events can be written");
}

/// The field policy names its subjects from two vocabularies: an unknown one is a 422 that lists
/// the values the field takes, for the subject kind given, and nothing is replaced.
#[actix_web::test]
async fn a_policy_subject_outside_its_vocabulary_is_refused_with_the_allowed_values() {
    let w = world().await;
    let before = w.app.get("/api/v1/field-policy", &w.admin.access).await;
    let put = |rows: Value| {
        TestRequest::put()
            .uri("/api/v1/field-policy")
            .insert_header(("authorization", format!("Bearer {}", w.admin.access)))
            .insert_header(("if-match", before.header("etag").unwrap()))
            .set_json(json!({ "rows": rows }))
    };
    let res = w
        .app
        .call(put(json!([
            { "subject_kind": "role", "subject": "agency_rep", "tag": "health", "access": "read" },
            { "subject_kind": "agency_type", "subject": "coordinator", "tag": "health", "access": "read" }
        ])))
        .await;
    assert_eq!(res.status, 422);
    let errors = res.json()["errors"].clone();
    assert_eq!(errors[0]["field"], "rows[0].subject");
    assert_eq!(errors[0]["code"], "not_an_allowed_value");
    assert_eq!(errors[0]["allowed"], json!(["coordinator", "chair"]));
    assert_eq!(errors[1]["field"], "rows[1].subject");
    let agency_types = errors[1]["allowed"].as_array().unwrap();
    assert!(agency_types.contains(&json!("police")) && !agency_types.contains(&json!("coordinator")));
    let after = w.app.get("/api/v1/field-policy", &w.admin.access).await;
    assert_eq!(after.json(), before.json(), "nothing replaced");
}
