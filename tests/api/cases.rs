//! Cases through the API: referral, workflow, DASH scoring, repeats, closure, access, import.

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Session, TestApp};

/// Three panels, their member organisations, and users in each role.
pub struct World {
    pub app: TestApp,
    pub admin: Session,
    pub coordinator: Session,
    pub police: Session,
    pub idva: Session,
    pub housing: Session,
    pub marac: Uuid,
    pub cmarac: Uuid,
    pub jag: Uuid,
    pub police_agency: Uuid,
    pub housing_agency: Uuid,
}

pub async fn world() -> World {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let police_agency = app.create_agency(&admin, "Metropolitan Police", "police").await;
    let idva_agency = app.create_agency(&admin, "Advance IDVA", "idva_service").await;
    let housing_agency = app.create_agency(&admin, "Peabody Trust", "housing_registered_provider").await;
    let council = app.create_agency(&admin, "Council Community Safety", "community_safety_asb").await;
    let marac = app.create_panel(&admin, "DA MARAC", "marac", &[police_agency, idva_agency, council]).await;
    let cmarac_res = app
        .post(
            "/api/v1/panels",
            Some(&admin.access),
            json!({
                "kind": "cmarac", "name": "Community MARAC", "local_area": "Brent", "meeting_cadence": "monthly",
                "settings": { "cmarac_high_risk_threshold": 31 },
                "members": [{ "agency_id": police_agency, "isa_signed_on": "2025-01-01" },
                            { "agency_id": housing_agency, "isa_signed_on": "2025-01-01" },
                            { "agency_id": council, "isa_signed_on": "2025-01-01" }]
            }),
        )
        .await;
    let cmarac: Uuid = cmarac_res.json()["id"].as_str().unwrap().parse().unwrap();
    let jag = app.create_panel(&admin, "Brent JAG", "jag", &[police_agency, housing_agency, council]).await;
    let coordinator = app
        .user(&admin, "coord@test.example", Some(council), json!([
            { "role": "coordinator", "panel_id": marac }, { "role": "coordinator", "panel_id": cmarac }, { "role": "coordinator", "panel_id": jag }
        ]))
        .await;
    let police = app
        .user(&admin, "police@test.example", Some(police_agency), json!([
            { "role": "agency_rep", "panel_id": marac }, { "role": "agency_rep", "panel_id": cmarac }, { "role": "agency_rep", "panel_id": jag }
        ]))
        .await;
    let idva =
        app.user(&admin, "idva@test.example", Some(idva_agency), json!([{ "role": "idva", "panel_id": marac }])).await;
    let housing = app
        .user(
            &admin,
            "housing@test.example",
            Some(housing_agency),
            json!([
                { "role": "agency_rep", "panel_id": cmarac }, { "role": "agency_rep", "panel_id": jag }
            ]),
        )
        .await;
    World { app, admin, coordinator, police, idva, housing, marac, cmarac, jag, police_agency, housing_agency }
}

pub fn days_ago(n: i64) -> String {
    (Utc::now().date_naive() - Duration::days(n)).to_string()
}

pub fn dash(yes: usize) -> Value {
    let answers: serde_json::Map<String, Value> = confer::domain::dash::QUESTIONS
        .iter()
        .enumerate()
        .map(|(i, q)| (q.to_string(), json!({ "answer": if i < yes { "yes" } else { "no" } })))
        .collect();
    json!({ "tool": "dash_ric", "tool_version": "safelives_24", "answers": answers })
}

pub fn person(surname: &str) -> Value {
    json!({ "surname": surname, "forenames": "Alex", "date_of_birth": "1990-04-01" })
}

/// A victim with a refuge address and safe contact details, which only some may write or read.
pub fn victim(surname: &str) -> Value {
    json!({ "surname": surname, "forenames": "Alex", "date_of_birth": "1990-04-01",
            "address_kind": "refuge", "address": "CANARY-victim.address-1", "safe_contact_details": "CANARY-victim.safe_contact-1" })
}

/// A break-glass purpose, enough to read the most sensitive fields.
pub const PURPOSE: (&str, &str) = ("x-access-purpose", "reason:preparing the safety plan for this week's panel");

fn lawful() -> Value {
    json!({ "consent": { "status": "given", "victim_aware": true },
            "lawful_basis": "public_task", "special_category_condition": "safeguarding_children_individuals_at_risk" })
}

pub fn marac_referral(panel: Uuid, date: &str, participants: Value, extra: Value) -> Value {
    let mut body =
        json!({ "panel_id": panel, "referral_date": date, "participants": participants, "children_in_household": 2 });
    for (k, v) in lawful().as_object().unwrap().iter().chain(extra.as_object().unwrap()) {
        body[k] = v.clone();
    }
    body
}

impl World {
    /// Gives the police sight of a case the need-to-know way: the coordinator records an action
    /// the police own on it.
    pub async fn link_police(&self, case: &str) -> Value {
        let res = self
            .app
            .post(
                &format!("/api/v1/cases/{case}/actions"),
                Some(&self.coordinator.access),
                json!({ "description": "Check police records", "owner_agency_id": self.police_agency, "due_date": days_ago(-7) }),
            )
            .await;
        assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
        res.json()
    }

    /// GET with a stated purpose.
    pub async fn get_with_purpose(&self, path: &str, who: &Session) -> crate::helpers::Res {
        self.app
            .call(
                actix_web::test::TestRequest::get()
                    .uri(path)
                    .insert_header(("authorization", format!("Bearer {}", who.access)))
                    .insert_header(PURPOSE),
            )
            .await
    }

    pub async fn refer(&self, who: &Session, body: Value) -> Value {
        let res = self.app.post("/api/v1/cases", Some(&who.access), body).await;
        assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
        res.json()
    }

    pub async fn move_to(&self, case: &str, to: &str, reason: Option<&str>) -> crate::helpers::Res {
        self.app
            .post(
                &format!("/api/v1/cases/{case}/transitions"),
                Some(&self.coordinator.access),
                json!({ "to": to, "reason": reason }),
            )
            .await
    }

    /// A MARAC case with a fresh victim and perpetrator, referred by the IDVA with DASH `yes`
    /// and professional judgement (so it qualifies whatever the score).
    pub async fn marac_case(&self, yes: usize) -> Value {
        let body = marac_referral(
            self.marac,
            &days_ago(3),
            json!([{ "role": "victim", "person": victim("Victim") }, { "role": "perpetrator", "person": { "surname": "Perp" } }]),
            json!({ "entry_assessment": dash(yes), "criteria": { "professional_judgement": { "reason": "Practitioner concern" } } }),
        );
        self.refer(&self.idva, body).await
    }
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

#[actix_web::test]
async fn a_marac_case_goes_from_referral_through_the_workflow_with_history() {
    let w = world().await;
    let case = w.marac_case(14).await;
    assert_eq!(case["status"], "referred");
    assert!(case["reference"].as_str().unwrap().starts_with(&format!("MARAC-{}-", Utc::now().format("%Y"))));
    assert_eq!(case["criteria"]["visible_high_risk"], true);
    assert_eq!(case["risk"]["latest_entry"]["score"], 14);
    assert_eq!(case["participants"].as_array().unwrap().len(), 2);
    let perp = case["participants"].as_array().unwrap().iter().find(|p| p["role"] == "perpetrator").unwrap();
    assert_eq!(perp["person"]["must_not_receive"], true);
    let c = id(&case);

    for (to, reason) in [("screening", None), ("accepted", None), ("open", None), ("monitoring", None)] {
        let res = w.move_to(&c, to, reason).await;
        assert_eq!(res.status, 200, "{to}: {}", String::from_utf8_lossy(&res.body));
        assert_eq!(res.json()["status"], to);
    }
    let bad = w.move_to(&c, "screening", None).await;
    assert_eq!(bad.status, 409);
    assert_eq!(bad.problem_type(), "/problems/invalid-transition");
    assert_eq!(bad.json()["current_status"], "monitoring");
    assert!(bad.json()["detail"].as_str().unwrap().contains("monitoring"));

    let early = w
        .app
        .post(
            &format!("/api/v1/cases/{c}/closure"),
            Some(&w.coordinator.access),
            json!({ "categories": ["twelve_month_lapse"], "reason": "No further referrals." }),
        )
        .await;
    assert_eq!(early.status, 422);
    assert_eq!(early.field_errors(), vec![("closed_on".into(), "monitoring_window_not_lapsed".into())]);

    let deceased = w
        .app
        .post(
            &format!("/api/v1/cases/{c}/closure"),
            Some(&w.coordinator.access),
            json!({ "categories": ["deceased"], "reason": "Victim deceased." }),
        )
        .await;
    assert_eq!(deceased.status, 200);
    let closed = deceased.json();
    assert_eq!(closed["status"], "closed");
    let window_end = (Utc::now().date_naive() - Duration::days(3) + Duration::days(365)).to_string();
    assert_eq!(closed["closure"]["monitoring_window_ends_on"], window_end.as_str());

    let reopened = w
        .app
        .post(
            &format!("/api/v1/cases/{c}/reopen"),
            Some(&w.coordinator.access),
            json!({ "reason": "New information." }),
        )
        .await;
    assert_eq!(reopened.status, 200);
    assert_eq!(reopened.json()["status"], "open");
    let history: Vec<(Value, Value)> = reopened.json()["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["from_status"].clone(), h["to_status"].clone()))
        .collect();
    assert_eq!(
        history,
        vec![
            (Value::Null, json!("referred")),
            (json!("referred"), json!("screening")),
            (json!("screening"), json!("accepted")),
            (json!("accepted"), json!("open")),
            (json!("open"), json!("monitoring")),
            (json!("monitoring"), json!("closed")),
            (json!("closed"), json!("open")),
        ]
    );
    let again =
        w.app.post(&format!("/api/v1/cases/{c}/reopen"), Some(&w.coordinator.access), json!({ "reason": "x" })).await;
    assert_eq!(again.status, 409);
}

#[actix_web::test]
async fn every_refused_transition_names_the_current_state_and_rejection_needs_a_reason() {
    let w = world().await;
    let c = id(&w.marac_case(15).await);
    for to in ["accepted", "open", "monitoring", "closed", "rejected", "referred"] {
        let res = w.move_to(&c, to, Some("because")).await;
        assert_eq!(res.status, 409, "referred -> {to}");
        assert_eq!(res.json()["current_status"], "referred");
    }
    assert_eq!(w.move_to(&c, "screening", None).await.status, 200);
    let no_reason = w.move_to(&c, "rejected", None).await;
    assert_eq!(no_reason.status, 422);
    assert_eq!(no_reason.field_errors(), vec![("reason".into(), "required_for_this_status".into())]);
    let rejected = w.move_to(&c, "rejected", Some("Does not meet the criteria")).await;
    assert_eq!(rejected.json()["rejection_reason"], "Does not meet the criteria");
    for to in ["screening", "accepted", "open", "withdrawn"] {
        assert_eq!(w.move_to(&c, to, Some("r")).await.status, 409, "rejected -> {to}");
    }
    let closure = w
        .app
        .post(
            &format!("/api/v1/cases/{c}/closure"),
            Some(&w.coordinator.access),
            json!({ "categories": ["other"], "reason": "x" }),
        )
        .await;
    assert_eq!(closure.status, 409);

    let other = id(&w.marac_case(15).await);
    assert_eq!(w.move_to(&other, "withdrawn", Some("Referrer withdrew")).await.json()["status"], "withdrawn");
    // Transferring out is its own call, which records where the case went (tests/api/transfers.rs).
    let third = id(&w.marac_case(15).await);
    assert_eq!(w.move_to(&third, "transferred_out", Some("Moved to Kent MARAC")).await.status, 409);
}

#[actix_web::test]
async fn dash_scores_are_computed_and_judged_against_the_panels_threshold() {
    let w = world().await;
    let thirteen = w.marac_case(13).await;
    assert_eq!(thirteen["criteria"]["visible_high_risk"], false, "{thirteen}");
    assert_eq!(thirteen["assessments"][0]["high_risk"], false);
    let fourteen = w.marac_case(14).await;
    assert_eq!(fourteen["criteria"]["visible_high_risk"], true);
    assert_eq!(fourteen["assessments"][0]["threshold"], 14);

    // Cambridgeshire-style threshold of 17.
    let etag = w.app.get(&format!("/api/v1/panels/{}", w.marac), &w.admin.access).await.header("etag").unwrap();
    let res = w
        .app
        .patch(
            &format!("/api/v1/panels/{}", w.marac),
            &w.admin.access,
            Some(&etag),
            json!({ "settings": { "dash_high_risk_threshold": 17 } }),
        )
        .await;
    assert_eq!(res.status, 200);
    let sixteen = w.marac_case(16).await;
    assert_eq!(sixteen["criteria"]["visible_high_risk"], false);
    assert_eq!(sixteen["assessments"][0]["threshold"], 17);
    let seventeen = w.marac_case(17).await;
    assert_eq!(seventeen["criteria"]["visible_high_risk"], true);

    // A later review with a lower score never clears it.
    let c = id(&seventeen);
    let mut review = dash(2);
    review["stage"] = json!("review");
    let res = w.app.post(&format!("/api/v1/cases/{c}/risk-assessments"), Some(&w.idva.access), review).await;
    assert_eq!(res.status, 201);
    assert_eq!(res.json()["score"], 2);
    let after = w.app.get(&format!("/api/v1/cases/{c}"), &w.coordinator.access).await.json();
    assert_eq!(after["criteria"]["visible_high_risk"], true);
    assert_eq!(after["assessments"].as_array().unwrap().len(), 2);
}

#[actix_web::test]
async fn a_marac_referral_needs_a_criterion_and_professional_judgement_never_lowers_risk() {
    let w = world().await;
    let people =
        json!([{ "role": "victim", "person": person("V") }, { "role": "perpetrator", "person": { "surname": "P" } }]);
    let none = w
        .app
        .post(
            "/api/v1/cases",
            Some(&w.idva.access),
            marac_referral(w.marac, &days_ago(1), people.clone(), json!({ "entry_assessment": dash(5) })),
        )
        .await;
    assert_eq!(none.status, 422);
    assert_eq!(none.field_errors(), vec![("criteria".into(), "no_referral_criterion_met".into())]);

    let pj = w
        .refer(&w.idva, marac_referral(w.marac, &days_ago(1), people.clone(), json!({ "entry_assessment": dash(5), "criteria": { "professional_judgement": { "reason": "Extreme fear; language barrier" } } })))
        .await;
    assert_eq!(pj["criteria"]["professional_judgement"], true);
    assert_eq!(pj["criteria"]["visible_high_risk"], false);

    let both = w
        .refer(&w.idva, marac_referral(w.marac, &days_ago(1), people.clone(), json!({ "entry_assessment": dash(20), "criteria": { "professional_judgement": { "reason": "Reviewer thinks lower" } } })))
        .await;
    assert_eq!(both["criteria"]["visible_high_risk"], true, "professional judgement cannot clear visible high risk");

    let below = w
        .app
        .post(
            "/api/v1/cases",
            Some(&w.idva.access),
            marac_referral(
                w.marac,
                &days_ago(1),
                people.clone(),
                json!({ "criteria": { "potential_escalation": { "incident_count": 2 } } }),
            ),
        )
        .await;
    assert_eq!(below.status, 422, "two incidents are below the default of three");
    let escalation = w
        .refer(
            &w.idva,
            marac_referral(
                w.marac,
                &days_ago(1),
                people,
                json!({ "criteria": { "potential_escalation": { "incident_count": 3 } } }),
            ),
        )
        .await;
    assert_eq!(escalation["criteria"]["potential_escalation"], true);
}

#[actix_web::test]
async fn bad_referrals_are_refused_with_the_field_and_reason() {
    let w = world().await;
    let people = json!([{ "role": "victim", "person": person("V") }]);
    let mut body = marac_referral(w.marac, &days_ago(1), people.clone(), json!({ "entry_assessment": dash(15) }));
    body.as_object_mut().unwrap().remove("lawful_basis");
    body.as_object_mut().unwrap().remove("special_category_condition");
    body["consent"] = json!({ "status": "refused" });
    body["referral_date"] = json!((Utc::now().date_naive() + Duration::days(2)).to_string());
    let res = w.app.post("/api/v1/cases", Some(&w.idva.access), body).await;
    assert_eq!(res.status, 422);
    assert_eq!(
        res.field_errors(),
        vec![
            ("referral_date".into(), "in_future".into()),
            ("lawful_basis".into(), "required".into()),
            ("special_category_condition".into(), "required".into()),
            ("consent.non_consent_reason".into(), "required_without_consent".into()),
        ]
    );

    let mut bad_dash = dash(15);
    bad_dash["answers"]["dash_q99_made_up"] = json!({ "answer": "yes" });
    bad_dash["score"] = json!(24);
    let res = w
        .app
        .post(
            "/api/v1/cases",
            Some(&w.idva.access),
            marac_referral(w.marac, &days_ago(1), people.clone(), json!({ "entry_assessment": bad_dash })),
        )
        .await;
    assert_eq!(res.status, 422);
    let errors = res.field_errors();
    assert!(errors.contains(&("entry_assessment.score".into(), "computed_by_the_server".into())), "{errors:?}");
    assert!(
        errors.contains(&("entry_assessment.answers.dash_q99_made_up".into(), "unknown_question".into())),
        "{errors:?}"
    );

    let impossible = w
        .app
        .post("/api/v1/cases", Some(&w.idva.access), marac_referral(w.marac, "2023-02-30", people.clone(), json!({})))
        .await;
    assert_eq!(impossible.status, 422);
    assert_eq!(impossible.field_errors(), vec![("referral_date".into(), "not_an_iso_date".into())]);

    let unknown_code = w
        .app
        .post(
            "/api/v1/cases",
            Some(&w.idva.access),
            marac_referral(
                w.marac,
                &days_ago(1),
                json!([{ "role": "landlord", "person": { "surname": "X" } }]),
                json!({}),
            ),
        )
        .await;
    assert_eq!(unknown_code.status, 422);
    assert_eq!(unknown_code.field_errors(), vec![("participants[0].role".into(), "not_an_allowed_value".into())]);
    let allowed = unknown_code.json()["errors"][0]["allowed"].clone();
    assert!(
        allowed.as_array().is_some_and(|a| a.contains(&json!("victim")) && a.contains(&json!("perpetrator"))),
        "{allowed}"
    );

    let not_mine = w
        .app
        .post("/api/v1/cases", Some(&w.housing.access), marac_referral(w.marac, &days_ago(1), people, json!({})))
        .await;
    assert_eq!(not_mine.status, 403, "housing holds no role on the MARAC");
    assert_eq!(not_mine.problem_type(), "/problems/not-a-panel-member");
    let cases = w.app.get("/api/v1/cases", &w.coordinator.access).await.json();
    assert_eq!(cases["items"].as_array().unwrap().len(), 0, "nothing was half-written");
}

#[actix_web::test]
async fn repeats_are_found_inside_and_exactly_at_the_window_but_not_outside_it() {
    let w = world().await;
    let first = w
        .refer(&w.idva, marac_referral(w.marac, &days_ago(400), json!([{ "role": "victim", "person": person("Smith") }, { "role": "perpetrator", "person": { "surname": "Jones" } }]), json!({ "entry_assessment": dash(16) })))
        .await;
    let victim =
        first["participants"].as_array().unwrap().iter().find(|p| p["role"] == "victim").unwrap()["person"]["id"]
            .clone();
    let perp = first["participants"].as_array().unwrap().iter().find(|p| p["role"] == "perpetrator").unwrap()["person"]
        ["id"]
        .clone();
    let pair = json!([{ "role": "victim", "person_id": victim }, { "role": "perpetrator", "person_id": perp }]);
    let pj = json!({ "criteria": { "professional_judgement": { "reason": "New incident" } } });

    // 400 days after the first: outside the 365-day window.
    let outside = w.refer(&w.idva, marac_referral(w.marac, &days_ago(0), pair.clone(), pj.clone())).await;
    assert_eq!(outside["criteria"]["repeat"], false, "{outside}");

    // 365 days after the first: inside (the boundary is inclusive).
    let at = w.refer(&w.idva, marac_referral(w.marac, &days_ago(35), pair.clone(), pj.clone())).await;
    assert_eq!(at["criteria"]["repeat"], true, "365 days after the first referral is inside the window");
    assert_eq!(at["repeat_of_case_id"], first["id"]);

    let different_perp = w
        .refer(&w.idva, marac_referral(w.marac, &days_ago(1), json!([{ "role": "victim", "person_id": victim }, { "role": "perpetrator", "person": { "surname": "Other" } }]), pj.clone()))
        .await;
    assert_eq!(different_perp["criteria"]["repeat"], false, "a new perpetrator is not a repeat");

    let inside = w.refer(&w.idva, marac_referral(w.marac, &days_ago(0), pair, json!({}))).await;
    assert_eq!(inside["criteria"]["repeat"], true, "a repeat needs no other criterion");
    let latest = inside["repeat_of_case_id"].as_str().unwrap();
    assert_eq!(latest, outside["id"].as_str().unwrap(), "linked to the most recent referral");

    let only_repeats =
        w.app.get(&format!("/api/v1/cases?panel_id={}&repeat=true", w.marac), &w.coordinator.access).await.json();
    assert_eq!(only_repeats["items"].as_array().unwrap().len(), 2);
}

#[actix_web::test]
async fn the_window_boundary_is_inclusive_and_one_day_more_is_outside() {
    let w = world().await;
    let first = w
        .refer(&w.idva, marac_referral(w.marac, &days_ago(366), json!([{ "role": "victim", "person": person("A") }, { "role": "perpetrator", "person": { "surname": "B" } }]), json!({ "entry_assessment": dash(16) })))
        .await;
    let ids: Vec<Value> = first["participants"].as_array().unwrap().iter().map(|p| p["person"]["id"].clone()).collect();
    let roles: Vec<Value> = first["participants"].as_array().unwrap().iter().map(|p| p["role"].clone()).collect();
    let pair: Vec<Value> = ids.iter().zip(&roles).map(|(i, r)| json!({ "role": r, "person_id": i })).collect();
    let pj = json!({ "criteria": { "professional_judgement": { "reason": "New incident" } } });
    let day_after_window =
        w.refer(&w.idva, marac_referral(w.marac, &days_ago(0), json!(pair.clone()), pj.clone())).await;
    assert_eq!(day_after_window["criteria"]["repeat"], false, "366 days later is a new referral");
    let exactly = w.refer(&w.idva, marac_referral(w.marac, &days_ago(1), json!(pair), pj)).await;
    assert_eq!(exactly["criteria"]["repeat"], true, "365 days later is still a repeat");
    assert_eq!(exactly["repeat_of_case_id"], first["id"]);
}

#[actix_web::test]
async fn a_cmarac_case_closes_only_with_an_exit_assessment_and_shows_the_fall_in_risk() {
    let w = world().await;
    let case = w
        .refer(&w.housing, json!({
            "panel_id": w.cmarac, "referral_date": days_ago(60),
            "participants": [{ "role": "vulnerable_person", "person": person("Tenant") }],
            "vulnerabilities": ["mental_health", "cuckooing"], "area_text": "Harlesden",
            "consent": { "status": "given" }, "lawful_basis": "public_task", "special_category_condition": "health_social_care",
            "entry_assessment": { "tool": "cmarac_matrix", "tool_version": "islington_2019", "score": 50, "breakdown": { "housing": 20, "health": 30 } }
        }))
        .await;
    assert_eq!(case["risk"]["latest_entry"]["score"], 50);
    assert_eq!(case["risk"]["latest_entry"]["high_risk"], true, "above 31");
    let c = id(&case);
    for to in ["screening", "accepted", "open"] {
        assert_eq!(w.move_to(&c, to, None).await.status, 200);
    }
    let no_exit = w
        .app
        .post(
            &format!("/api/v1/cases/{c}/closure"),
            Some(&w.coordinator.access),
            json!({ "categories": ["engagement_sustained"], "reason": "ABA signed" }),
        )
        .await;
    assert_eq!(no_exit.status, 422);
    assert_eq!(no_exit.field_errors(), vec![("exit_assessment".into(), "required_before_closure".into())]);
    let no_reason = w
        .app
        .post(
            &format!("/api/v1/cases/{c}/closure"),
            Some(&w.coordinator.access),
            json!({ "categories": [], "reason": " " }),
        )
        .await;
    assert_eq!(no_reason.status, 400);
    assert_eq!(
        no_reason.field_errors(),
        vec![("categories".into(), "at_least_one".into()), ("reason".into(), "blank".into())]
    );

    let exit = w
        .app
        .post(
            &format!("/api/v1/cases/{c}/risk-assessments"),
            Some(&w.housing.access),
            json!({ "stage": "exit", "tool": "cmarac_matrix", "tool_version": "islington_2019", "score": 30 }),
        )
        .await;
    assert_eq!(exit.status, 201);
    let action = w
        .app
        .post(
            &format!("/api/v1/cases/{c}/actions"),
            Some(&w.housing.access),
            json!({ "description": "Tenancy support", "due_date": days_ago(0) }),
        )
        .await;
    assert_eq!(action.status, 201);
    let open_action = w
        .app
        .post(
            &format!("/api/v1/cases/{c}/closure"),
            Some(&w.coordinator.access),
            json!({ "categories": ["engagement_sustained"], "reason": "ABA signed" }),
        )
        .await;
    assert_eq!(open_action.status, 422);
    assert_eq!(open_action.field_errors(), vec![("actions".into(), "outstanding_actions_remain".into())]);
    let a = action.json()["id"].as_str().unwrap().to_owned();
    let done = w
        .app
        .patch(
            &format!("/api/v1/actions/{a}"),
            &w.housing.access,
            Some("\"1\""),
            json!({ "status": "completed", "outcome_note": "Support in place" }),
        )
        .await;
    assert_eq!(done.status, 200);
    let closed = w
        .app
        .post(
            &format!("/api/v1/cases/{c}/closure"),
            Some(&w.coordinator.access),
            json!({ "categories": ["engagement_sustained"], "reason": "ABA signed, engaging with CMHT" }),
        )
        .await;
    assert_eq!(closed.status, 200);
    let risk = &closed.json()["risk"];
    assert_eq!(risk["latest_exit"]["score"], 30);
    assert_eq!(risk["change"], -20);
    assert_eq!(risk["change_pct"], -40.0);

    let late = w
        .app
        .post(
            &format!("/api/v1/cases/{c}/risk-assessments"),
            Some(&w.housing.access),
            json!({ "stage": "review", "tool": "cmarac_matrix", "tool_version": "islington_2019", "score": 1 }),
        )
        .await;
    assert_eq!(late.status, 409, "no assessments on a closed case");
    let wrong_tool = w.app.post(&format!("/api/v1/cases/{c}/risk-assessments"), Some(&w.housing.access), dash(3)).await;
    assert_eq!(wrong_tool.status, 400, "stage is required");
}

#[actix_web::test]
async fn cases_outside_a_users_panels_answer_404_exactly_like_missing_ones() {
    let w = world().await;
    let case = w.marac_case(15).await;
    let c = id(&case);
    let theirs = w.app.get(&format!("/api/v1/cases/{c}"), &w.housing.access).await;
    let missing = w.app.get(&format!("/api/v1/cases/{}", Uuid::new_v4()), &w.housing.access).await;
    assert_eq!(theirs.status, 404);
    assert_eq!(theirs.body_without_request_id(), missing.body_without_request_id());
    for path in [format!("/api/v1/cases/{c}/risk-assessments")] {
        let a = w.app.get(&path, &w.housing.access).await;
        assert_eq!(a.status, 404);
    }
    for (suffix, body) in [
        ("transitions", json!({ "to": "screening" })),
        ("closure", json!({ "categories": ["other"], "reason": "x" })),
        ("reopen", json!({ "reason": "x" })),
        ("risk-assessments", json!({ "stage": "review", "tool": "custom_score", "tool_version": "v1", "score": 3 })),
    ] {
        let hidden = w.app.post(&format!("/api/v1/cases/{c}/{suffix}"), Some(&w.housing.access), body.clone()).await;
        let absent =
            w.app.post(&format!("/api/v1/cases/{}/{suffix}", Uuid::new_v4()), Some(&w.housing.access), body).await;
        // Housing is not panel staff, so the function check answers first for staff-only routes.
        assert_eq!(hidden.status, absent.status, "{suffix}");
        assert_eq!(hidden.body_without_request_id(), absent.body_without_request_id(), "{suffix}");
    }
    let listed = w.app.get("/api/v1/cases", &w.housing.access).await.json();
    assert!(listed["items"].as_array().unwrap().iter().all(|i| i["id"] != case["id"]));
    // Need to know: the police, a member of the panel, see the case only once linked to it.
    let unlinked = w.app.get(&format!("/api/v1/cases/{c}"), &w.police.access).await;
    let nothing = w.app.get(&format!("/api/v1/cases/{}", Uuid::new_v4()), &w.police.access).await;
    assert_eq!(unlinked.status, 404);
    assert_eq!(unlinked.body_without_request_id(), nothing.body_without_request_id());
    w.link_police(&c).await;
    assert_eq!(w.app.get(&format!("/api/v1/cases/{c}"), &w.police.access).await.status, 200);

    // Admins and managers reach no case content at all.
    assert_eq!(w.app.get(&format!("/api/v1/cases/{c}"), &w.admin.access).await.status, 403);
    let manager =
        w.app.user(&w.admin, "mgr@test.example", None, json!([{ "role": "manager", "panel_id": w.marac }])).await;
    assert_eq!(w.app.get("/api/v1/cases", &manager.access).await.status, 403);

    // An agency rep may see but not screen.
    let screen = w
        .app
        .post(&format!("/api/v1/cases/{c}/transitions"), Some(&w.police.access), json!({ "to": "screening" }))
        .await;
    assert_eq!(screen.status, 403);
}

#[actix_web::test]
async fn an_organisation_without_a_signed_isa_sees_no_cases() {
    let w = world().await;
    let case = w.marac_case(15).await;
    let c = id(&case);
    w.link_police(&c).await;
    assert_eq!(w.app.get(&format!("/api/v1/cases/{c}"), &w.police.access).await.status, 200);
    let path = format!("/api/v1/panels/{}", w.marac);
    let panel = w.app.get(&path, &w.admin.access).await;
    let mut members = panel.json()["members"].clone();
    for m in members.as_array_mut().unwrap() {
        if m["agency_id"] == w.police_agency.to_string() {
            m["isa_signed_on"] = Value::Null;
        }
    }
    let res =
        w.app.patch(&path, &w.admin.access, Some(&panel.header("etag").unwrap()), json!({ "members": members })).await;
    assert_eq!(res.status, 200);
    assert_eq!(
        w.app.get(&format!("/api/v1/cases/{c}"), &w.police.access).await.status,
        404,
        "takes effect on the next request"
    );
}

#[actix_web::test]
async fn victim_contact_details_and_dash_answers_follow_the_field_policy_and_a_stated_purpose() {
    let w = world().await;
    let case = w.marac_case(15).await;
    let c = id(&case);
    w.link_police(&c).await;
    let path = format!("/api/v1/cases/{c}");
    let victim_of = |body: &Value| {
        body["participants"].as_array().unwrap().iter().find(|p| p["role"] == "victim").unwrap()["person"].clone()
    };

    // Without a purpose nobody sees the refuge address or the safe contact details.
    for who in [&w.police, &w.idva, &w.coordinator] {
        let res = w.app.get(&path, &who.access).await;
        let text = String::from_utf8_lossy(&res.body).to_string();
        assert!(!text.contains("CANARY-victim"), "{text}");
        let person = victim_of(&res.json());
        assert!(person.get("address").is_none() && person.get("safe_contact_details").is_none());
        assert!(person["withheld"].as_array().unwrap().contains(&json!("victim.address")));
    }
    // With one, each sees what the policy gives it: police read the address but not the safe
    // contact; the IDVA and the coordinator both.
    let police = w.get_with_purpose(&path, &w.police).await;
    let text = String::from_utf8_lossy(&police.body).to_string();
    assert!(text.contains("CANARY-victim.address") && !text.contains("CANARY-victim.safe_contact"), "{text}");
    assert_eq!(victim_of(&police.json())["withheld"], json!(["victim.safe_contact", "health"]));
    assert!(police.json()["assessments"][0].get("answers").is_none());
    assert_eq!(police.json()["assessments"][0]["withheld"], json!(["risk.dash_answers"]));
    assert_eq!(police.json()["assessments"][0]["score"], 15, "the score is core");
    for who in [&w.idva, &w.coordinator] {
        let full = w.get_with_purpose(&path, who).await;
        let text = String::from_utf8_lossy(&full.body).to_string();
        assert!(text.contains("CANARY-victim.address") && text.contains("CANARY-victim.safe_contact"));
        assert!(full.json()["assessments"][0]["answers"].is_object());
    }
    // A purpose that does not hold is refused, not ignored.
    for bad in ["reason:too short", "meeting:00000000-0000-0000-0000-000000000000", "because"] {
        let res = w
            .app
            .call(
                actix_web::test::TestRequest::get()
                    .uri(&path)
                    .insert_header(("authorization", format!("Bearer {}", w.idva.access)))
                    .insert_header(("x-access-purpose", bad)),
            )
            .await;
        assert_eq!(res.status, 403, "{bad}");
        assert_eq!(res.problem_type(), "/problems/purpose-required");
    }
    // Writing a field the policy does not give write on is refused with 403.
    let by_police = w
        .app
        .post(
            "/api/v1/cases",
            Some(&w.police.access),
            marac_referral(
                w.marac,
                &days_ago(1),
                json!([{ "role": "victim", "person": victim("V") }]),
                json!({ "criteria": { "professional_judgement": { "reason": "Officer concern" } } }),
            ),
        )
        .await;
    assert_eq!(by_police.status, 403);
    assert_eq!(by_police.problem_type(), "/problems/field-not-writable");
    assert_eq!(
        by_police.field_errors(),
        vec![
            ("participants[0].person.address".into(), "not_writable:victim.address".into()),
            ("participants[0].person.safe_contact_details".into(), "not_writable:victim.safe_contact".into()),
        ]
    );
}

#[actix_web::test]
async fn jag_cases_have_a_location_and_issue_categories() {
    let w = world().await;
    let base = json!({
        "panel_id": w.jag, "referral_date": days_ago(10), "issue_categories": ["drug_dealing", "rough_sleeping"],
        "consent": { "status": "not_sought", "non_consent_reason": "Location-based case" },
        "lawful_basis": "public_task", "special_category_condition": "preventing_detecting_unlawful_acts"
    });
    let missing = w.app.post("/api/v1/cases", Some(&w.housing.access), base.clone()).await;
    assert_eq!(missing.status, 422);
    assert_eq!(missing.field_errors(), vec![("location".into(), "location_or_person_of_concern_required".into())]);
    let mut body = base.clone();
    body["location"] = json!({ "site_name": "Chalkhill car park", "area_text": "Wembley Park", "locality": "wembley", "latitude": 51.56, "longitude": -0.27 });
    let case = w.refer(&w.housing, body).await;
    assert!(case["reference"].as_str().unwrap().starts_with("JAG-"));
    assert_eq!(case["location"]["site_name"], "Chalkhill car park");
    assert_eq!(case["issue_categories"], json!(["drug_dealing", "rough_sleeping"]));

    let mut wrong = marac_referral(
        w.marac,
        &days_ago(1),
        json!([{ "role": "victim", "person": person("V") }]),
        json!({ "entry_assessment": dash(15) }),
    );
    wrong["issue_categories"] = json!(["noise"]);
    let res = w.app.post("/api/v1/cases", Some(&w.idva.access), wrong).await;
    assert_eq!(res.field_errors(), vec![("issue_categories".into(), "only_for_jag".into())]);
}

#[actix_web::test]
async fn cases_are_found_by_filters_and_paged() {
    let w = world().await;
    for _ in 0..3 {
        w.marac_case(15).await;
    }
    w.refer(&w.housing, json!({
        "panel_id": w.cmarac, "referral_date": days_ago(5), "participants": [{ "role": "vulnerable_person", "person": person("T") }],
        "vulnerabilities": ["hate_crime"], "area_text": "Kilburn", "consent": { "status": "given" },
        "lawful_basis": "public_task", "special_category_condition": "health_social_care"
    }))
    .await;
    let all = w.app.get("/api/v1/cases?limit=2", &w.coordinator.access).await.json();
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    let next = w
        .app
        .get(&format!("/api/v1/cases?limit=2&cursor={}", all["next_cursor"].as_str().unwrap()), &w.coordinator.access)
        .await
        .json();
    assert_eq!(next["items"].as_array().unwrap().len(), 2);
    assert!(next["next_cursor"].is_null());
    let by_vuln = w.app.get("/api/v1/cases?vulnerability=hate_crime", &w.coordinator.access).await.json();
    assert_eq!(by_vuln["items"].as_array().unwrap().len(), 1);
    let by_area = w.app.get("/api/v1/cases?area=kilburn", &w.coordinator.access).await.json();
    assert_eq!(by_area["items"].as_array().unwrap().len(), 1);
    let reference = all["items"][0]["reference"].as_str().unwrap();
    let by_ref = w.app.get(&format!("/api/v1/cases?reference={reference}"), &w.coordinator.access).await.json();
    assert_eq!(by_ref["items"].as_array().unwrap().len(), 1);
    let by_agency = w
        .app
        .get(&format!("/api/v1/cases?referring_agency_id={}", w.housing_agency), &w.coordinator.access)
        .await
        .json();
    assert_eq!(by_agency["items"].as_array().unwrap().len(), 1);
    let dated = w
        .app
        .get(&format!("/api/v1/cases?referred_from={}&referred_to={}", days_ago(4), days_ago(0)), &w.coordinator.access)
        .await
        .json();
    assert_eq!(dated["items"].as_array().unwrap().len(), 3);
    let backwards = w
        .app
        .get(&format!("/api/v1/cases?referred_from={}&referred_to={}", days_ago(0), days_ago(4)), &w.coordinator.access)
        .await;
    assert_eq!(backwards.status, 400);
    let housing_view = w.app.get("/api/v1/cases", &w.housing.access).await.json();
    assert_eq!(housing_view["items"].as_array().unwrap().len(), 1, "housing sits on the CMARAC only");
}

#[actix_web::test]
async fn likely_duplicates_are_offered_only_from_visible_cases() {
    let w = world().await;
    let case = w.marac_case(15).await;
    let unlinked = w
        .app
        .post("/api/v1/people/matches", Some(&w.police.access), json!({ "surname": "Victim", "forenames": "Alex" }))
        .await;
    assert_eq!(unlinked.json()["items"].as_array().unwrap().len(), 0, "the police cannot see this case yet");
    w.link_police(&id(&case)).await;
    let res = w
        .app
        .post(
            "/api/v1/people/matches",
            Some(&w.police.access),
            json!({ "surname": "VICTIM", "forenames": "alex", "date_of_birth": "1990-04-01" }),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["items"].as_array().unwrap().len(), 1);
    let other_dob = w
        .app
        .post(
            "/api/v1/people/matches",
            Some(&w.police.access),
            json!({ "surname": "Victim", "forenames": "Alex", "date_of_birth": "1991-04-01" }),
        )
        .await;
    assert_eq!(other_dob.json()["items"].as_array().unwrap().len(), 0);
    let hidden = w
        .app
        .post("/api/v1/people/matches", Some(&w.housing.access), json!({ "surname": "Victim", "forenames": "Alex" }))
        .await;
    assert_eq!(hidden.json()["items"].as_array().unwrap().len(), 0, "housing cannot see the MARAC");
    let person_id = res.json()["items"][0]["id"].clone();
    let reuse = w
        .app
        .post("/api/v1/cases", Some(&w.housing.access), json!({
            "panel_id": w.cmarac, "referral_date": days_ago(1), "participants": [{ "role": "vulnerable_person", "person_id": person_id }],
            "consent": { "status": "given" }, "lawful_basis": "public_task", "special_category_condition": "health_social_care"
        }))
        .await;
    assert_eq!(reuse.status, 422, "an id one cannot see is as good as unknown");
    assert_eq!(reuse.field_errors(), vec![("participants[0].person_id".into(), "unknown_person".into())]);
}

#[actix_web::test]
async fn a_retried_referral_creates_nothing_new() {
    let w = world().await;
    let body = marac_referral(
        w.marac,
        &days_ago(2),
        json!([{ "role": "victim", "person": person("Retry") }]),
        json!({ "criteria": { "professional_judgement": { "reason": "Flaky connection" } } }),
    );
    let send = |key: &str, body: Value| {
        let key = key.to_owned();
        let w = &w;
        async move { w.app.post_with_key("/api/v1/cases", &w.idva.access, &key, body).await }
    };
    let key = Uuid::new_v4().to_string();
    let first = send(&key, body.clone()).await;
    assert_eq!(first.status, 201);
    for _ in 0..3 {
        let again = send(&key, body.clone()).await;
        assert_eq!(again.status, 201);
        assert_eq!(again.json()["id"], first.json()["id"], "the original answer");
    }
    let mut other = body.clone();
    other["summary"] = json!("a different body");
    let reused = send(&key, other).await;
    assert_eq!(reused.status, 422);
    assert_eq!(reused.field_errors(), vec![("Idempotency-Key".into(), "reused_with_a_different_body".into())]);
    let missing = w
        .app
        .call(
            actix_web::test::TestRequest::post()
                .uri("/api/v1/cases")
                .insert_header(("authorization", format!("Bearer {}", w.idva.access)))
                .set_json(body.clone()),
        )
        .await;
    assert_eq!(missing.status, 400);
    assert_eq!(send("not-a-uuid", body.clone()).await.status, 400);

    // Concurrent retries: one creates, the others wait their turn or replay; never a duplicate.
    let key2 = Uuid::new_v4().to_string();
    let (a, b, c) = tokio::join!(send(&key2, body.clone()), send(&key2, body.clone()), send(&key2, body.clone()));
    let created: Vec<String> =
        [&a, &b, &c].iter().filter(|r| r.status == 201).map(|r| r.json()["id"].as_str().unwrap().to_owned()).collect();
    assert!(!created.is_empty());
    assert!(created.iter().all(|id| *id == created[0]), "one case for one key");
    assert!([&a, &b, &c].iter().all(|r| r.status == 201 || r.status == 409), "in-flight retries get 409");
    let listed =
        w.app.get(&format!("/api/v1/cases?panel_id={}&limit=100", w.marac), &w.coordinator.access).await.json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 2, "two keys, two cases");
}
