//! A case lives after referral (issue 13): edits with `If-Match`, every earlier value kept in the
//! case's history with who, when and why, and the history redacted by the same policy as the case.

use actix_web::test::TestRequest;
use serde_json::{Value, json};

use crate::cases::{PURPOSE, World, world};
use crate::helpers::{Res, Session};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

fn text(res: &Res) -> String {
    String::from_utf8_lossy(&res.body).into_owned()
}

async fn edit(w: &World, who: &Session, case: &str, version: Option<i64>, body: Value) -> Res {
    let etag = version.map(|v| format!("\"{v}\""));
    w.app.patch(&format!("/api/v1/cases/{case}"), &who.access, etag.as_deref(), body).await
}

async fn history(w: &World, who: &Session, case: &str, purpose: bool) -> Res {
    let mut req = TestRequest::get()
        .uri(&format!("/api/v1/cases/{case}/history"))
        .insert_header(("authorization", format!("Bearer {}", who.access)));
    if purpose {
        req = req.insert_header(PURPOSE);
    }
    w.app.call(req).await
}

/// The (action, tags disclosed) of every audit event naming the case.
fn audit_of(w: &World, case: &str) -> Vec<(String, Vec<String>)> {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct E {
        #[diesel(sql_type = diesel::sql_types::Text)]
        action: String,
        #[diesel(sql_type = diesel::sql_types::Array<diesel::sql_types::Text>)]
        tags_disclosed: Vec<String>,
    }
    let case: uuid::Uuid = case.parse().unwrap();
    diesel::sql_query("SELECT action, tags_disclosed FROM audit_events WHERE $1 = ANY (object_ids) ORDER BY id")
        .bind::<diesel::sql_types::Uuid, _>(case)
        .load::<E>(&mut w.app.db.conn())
        .unwrap()
        .into_iter()
        .map(|e| (e.action, e.tags_disclosed))
        .collect()
}

fn value_changes(history: &Value, field: &str) -> Vec<Value> {
    history["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "value" && i["field"] == field)
        .cloned()
        .collect()
}

#[actix_web::test]
async fn a_coordinator_corrects_a_case_and_its_history_keeps_the_earlier_values() {
    let w = world().await;
    let case = w.marac_case(14).await;
    let c = id(&case);
    let v = case["version"].as_i64().unwrap();

    let missing = edit(&w, &w.coordinator, &c, None, json!({ "summary": "Typo fixed" })).await;
    assert_eq!(missing.status, 428, "{}", text(&missing));
    let stale = edit(&w, &w.coordinator, &c, Some(v + 5), json!({ "summary": "Typo fixed" })).await;
    assert_eq!(stale.status, 412);

    let body = json!({ "summary": "Typo fixed", "children_in_household": 3, "ward_code": "E05000001",
                       "criteria": { "potential_escalation": { "incident_count": 4 } }, "reason": "Corrected after the call" });
    let res = edit(&w, &w.coordinator, &c, Some(v), body).await;
    assert_eq!(res.status, 200, "{}", text(&res));
    let edited = res.json();
    assert_eq!(edited["version"], v + 1);
    assert_eq!(res.header("etag").unwrap(), format!("\"{}\"", v + 1));
    assert_eq!(edited["summary"], "Typo fixed");
    assert_eq!(edited["children_in_household"], 3);
    assert_eq!(edited["criteria"]["potential_escalation"], true);
    assert_eq!(edited["criteria"]["escalation_incident_count"], 4);

    // Nothing else changed, and the stale edit above left nothing behind.
    let h = history(&w, &w.coordinator, &c, false).await;
    assert_eq!(h.status, 200, "{}", text(&h));
    let h = h.json();
    let children = value_changes(&h, "children_in_household");
    assert_eq!(children.len(), 1, "{h}");
    assert_eq!((children[0]["from"].clone(), children[0]["to"].clone()), (json!(2), json!(3)));
    assert_eq!(children[0]["reason"], "Corrected after the call");
    assert_eq!(children[0]["changed_by"], w.coordinator.user_id.to_string());
    assert_eq!(value_changes(&h, "summary")[0]["from"], Value::Null);
    assert_eq!(value_changes(&h, "criteria.escalation_incident_count")[0]["to"], 4);
    let fields: Vec<&str> = h["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "value")
        .map(|i| i["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields.len(), 5, "{fields:?}");
    assert_eq!(h["items"][0]["kind"], "status");

    // An edit that changes nothing keeps the version and adds no history.
    let same = edit(&w, &w.coordinator, &c, Some(v + 1), json!({ "summary": "Typo fixed" })).await;
    assert_eq!(same.status, 200);
    assert_eq!(same.json()["version"], v + 1);
    let again = history(&w, &w.coordinator, &c, false).await.json();
    assert_eq!(again["items"].as_array().unwrap().len(), h["items"].as_array().unwrap().len());

    // Clearing a field is a change too; an unknown field is refused and changes nothing.
    let cleared = edit(&w, &w.coordinator, &c, Some(v + 1), json!({ "summary": null })).await;
    assert_eq!(cleared.json()["summary"], Value::Null);
    let unknown = edit(&w, &w.coordinator, &c, Some(v + 2), json!({ "status": "closed" })).await;
    assert_eq!(unknown.status, 400, "{}", text(&unknown));
}

#[actix_web::test]
async fn a_change_of_consent_says_why_and_keeps_the_rules_of_a_referral() {
    let w = world().await;
    let case = w.marac_case(14).await;
    let c = id(&case);
    let v = case["version"].as_i64().unwrap();

    let no_reason = edit(
        &w,
        &w.coordinator,
        &c,
        Some(v),
        json!({ "consent": { "status": "refused",
        "non_consent_reason": "Victim withdrew consent at the IDVA visit" } }),
    )
    .await;
    assert_eq!(no_reason.status, 422, "{}", text(&no_reason));
    assert_eq!(
        no_reason.field_errors(),
        vec![("reason".into(), "required_when_consent_or_lawful_basis_changes".into())]
    );
    let no_why = edit(
        &w,
        &w.coordinator,
        &c,
        Some(v),
        json!({ "consent": { "status": "refused" }, "reason": "Told by the IDVA" }),
    )
    .await;
    assert_eq!(no_why.status, 422);
    assert_eq!(no_why.field_errors(), vec![("consent.non_consent_reason".into(), "required_without_consent".into())]);
    let other = edit(&w, &w.coordinator, &c, Some(v), json!({ "vulnerabilities": ["other"] })).await;
    assert_eq!(other.field_errors(), vec![("vulnerability_other_text".into(), "required_for_other".into())]);
    // The refusals changed nothing.
    let now = w.app.get(&format!("/api/v1/cases/{c}"), &w.coordinator.access).await.json();
    assert_eq!((now["version"].as_i64(), now["consent"]["status"].as_str()), (Some(v), Some("given")));

    let ok = edit(
        &w,
        &w.coordinator,
        &c,
        Some(v),
        json!({ "consent": { "status": "refused", "victim_aware": true,
        "non_consent_reason": "Victim withdrew consent at the IDVA visit" }, "reason": "Told by the IDVA on 3 March" }),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", text(&ok));
    assert_eq!(ok.json()["consent"]["status"], "refused");
    let h = history(&w, &w.coordinator, &c, false).await.json();
    let status = value_changes(&h, "consent.status");
    assert_eq!((status[0]["from"].clone(), status[0]["to"].clone()), (json!("given"), json!("refused")));
    assert_eq!(status[0]["reason"], "Told by the IDVA on 3 March");
    assert!(value_changes(&h, "consent.victim_aware").is_empty(), "unchanged values are not history: {h}");
}

#[actix_web::test]
async fn editing_is_for_staff_and_the_referrer_and_not_once_the_case_has_ended() {
    let w = world().await;
    let case = w.marac_case(14).await;
    let c = id(&case);
    let v = case["version"].as_i64().unwrap();
    w.link_police(&c).await;

    let police = edit(&w, &w.police, &c, Some(v), json!({ "summary": "Police view" })).await;
    assert_eq!(police.status, 403, "{}", text(&police));
    assert_eq!(police.problem_type(), "/problems/not-case-editor");
    let by_referrer = edit(&w, &w.idva, &c, Some(v), json!({ "summary": "From the IDVA" })).await;
    assert_eq!(by_referrer.status, 200, "{}", text(&by_referrer));
    // Someone who cannot see the case gets the 404 of a case that does not exist.
    let housing = edit(&w, &w.housing, &c, Some(v + 1), json!({ "summary": "x" })).await;
    assert_eq!(housing.status, 404);

    assert_eq!(w.move_to(&c, "withdrawn", Some("Victim moved away")).await.status, 200);
    let version = w.app.get(&format!("/api/v1/cases/{c}"), &w.coordinator.access).await.json()["version"].as_i64();
    let ended = edit(&w, &w.coordinator, &c, version, json!({ "summary": "Late note" })).await;
    assert_eq!(ended.status, 409, "{}", text(&ended));
    assert_eq!(ended.field_errors(), vec![("status".into(), "not_editable_when_withdrawn".into())]);
}

#[actix_web::test]
async fn the_safety_plan_follows_the_field_policy_on_write_and_in_the_history() {
    let w = world().await;
    // The police may read only the safety-plan values they supplied themselves.
    w.set_policy("agency_type", "police", "safety_plan", "own").await;
    let case = w.marac_case(14).await;
    let c = id(&case);
    let v = case["version"].as_i64().unwrap();
    w.link_police(&c).await;

    let by_coordinator =
        edit(&w, &w.coordinator, &c, Some(v), json!({ "safety_plan": "CANARY-plan-by-coordinator" })).await;
    assert_eq!(by_coordinator.status, 403, "{}", text(&by_coordinator));
    assert_eq!(by_coordinator.problem_type(), "/problems/field-not-writable");
    let first = edit(&w, &w.idva, &c, Some(v), json!({ "safety_plan": "CANARY-plan-1" })).await;
    assert_eq!(first.status, 200, "{}", text(&first));
    assert_eq!(first.json()["safety_plan"], "CANARY-plan-1", "the writer gets its own value back");
    let second = edit(&w, &w.idva, &c, Some(v + 1), json!({ "safety_plan": "CANARY-plan-2" })).await;
    assert_eq!(second.status, 200);

    // Panel staff with a purpose read both values; without one they see only that it changed.
    let staff = history(&w, &w.coordinator, &c, true).await.json();
    let plans = value_changes(&staff, "safety_plan");
    assert_eq!(plans.len(), 2);
    assert_eq!((plans[1]["from"].clone(), plans[1]["to"].clone()), (json!("CANARY-plan-1"), json!("CANARY-plan-2")));
    let no_purpose = history(&w, &w.coordinator, &c, false).await;
    assert!(!text(&no_purpose).contains("CANARY"), "{}", text(&no_purpose));
    let plans = value_changes(&no_purpose.json(), "safety_plan");
    assert_eq!(plans.len(), 2);
    assert_eq!(plans[0]["withheld"], json!(["safety_plan"]));
    assert!(plans[0].get("from").is_none() && plans[0].get("to").is_none());

    // The police, even with a purpose, read none of the IDVA's values.
    let police = history(&w, &w.police, &c, true).await;
    assert_eq!(police.status, 200, "{}", text(&police));
    assert!(!text(&police).contains("CANARY"), "{}", text(&police));
    assert_eq!(value_changes(&police.json(), "safety_plan").len(), 2);

    // Every edit and every history read left its event with the tags it disclosed.
    let events = audit_of(&w, &c);
    assert!(events.iter().any(|(action, tags)| action == "alter" && tags.contains(&"safety_plan".to_owned())));
    assert!(events.iter().any(|(action, tags)| action == "consult" && tags.contains(&"safety_plan".to_owned())));
}

#[actix_web::test]
async fn an_excluded_user_finds_the_case_nowhere_until_the_exclusion_is_lifted() {
    let w = world().await;
    let case = w.marac_case(14).await;
    let c = id(&case);
    let action = w.link_police(&c).await;
    let a = id(&action);
    // A colleague in the same force, and a second coordinator, keep their sight.
    let colleague = w
        .app
        .user(
            &w.admin,
            "police2@test.example",
            Some(w.police_agency),
            json!([{ "role": "agency_rep", "panel_id": w.marac }]),
        )
        .await;
    let chair = w
        .app
        .user(&w.admin, "chair@test.example", Some(w.police_agency), json!([{ "role": "chair", "panel_id": w.marac }]))
        .await;

    let by_police = w
        .app
        .post(
            &format!("/api/v1/cases/{c}/exclusions"),
            Some(&w.police.access),
            json!({ "user_id": colleague.user_id, "reason": "x" }),
        )
        .await;
    assert_eq!(by_police.status, 403, "only panel staff exclude");
    let own = w
        .app
        .post(
            &format!("/api/v1/cases/{c}/exclusions"),
            Some(&w.coordinator.access),
            json!({ "user_id": w.coordinator.user_id, "reason": "Knows the victim" }),
        )
        .await;
    assert_eq!(own.field_errors(), vec![("user_id".into(), "cannot_exclude_yourself".into())]);
    let res = w
        .app
        .post(
            &format!("/api/v1/cases/{c}/exclusions"),
            Some(&w.coordinator.access),
            json!({ "user_id": w.police.user_id, "reason": "Officer is the victim's neighbour" }),
        )
        .await;
    assert_eq!(res.status, 201, "{}", text(&res));
    let exclusion = id(&res.json());
    let twice = w
        .app
        .post(
            &format!("/api/v1/cases/{c}/exclusions"),
            Some(&w.coordinator.access),
            json!({ "user_id": w.police.user_id, "reason": "Again" }),
        )
        .await;
    assert_eq!(twice.status, 409);

    // For the excluded officer the case answers exactly as a case that does not exist.
    let missing = uuid::Uuid::new_v4();
    for (path, absent) in [
        (format!("/api/v1/cases/{c}"), format!("/api/v1/cases/{missing}")),
        (format!("/api/v1/cases/{c}/history"), format!("/api/v1/cases/{missing}/history")),
        (format!("/api/v1/cases/{c}/risk-assessments"), format!("/api/v1/cases/{missing}/risk-assessments")),
        (format!("/api/v1/actions/{a}"), format!("/api/v1/actions/{missing}")),
    ] {
        let seen = w.app.get(&path, &w.police.access).await;
        let none = w.app.get(&absent, &w.police.access).await;
        assert_eq!(seen.status, 404, "{path}: {}", text(&seen));
        assert_eq!(seen.body_without_request_id(), none.body_without_request_id(), "{path}");
    }
    let listed = w.app.get(&format!("/api/v1/cases?panel_id={}", w.marac), &w.police.access).await.json();
    assert!(listed["items"].as_array().unwrap().is_empty(), "{listed}");
    let actions = w.app.get(&format!("/api/v1/agencies/{}/actions", w.police_agency), &w.police.access).await;
    assert_eq!(actions.status, 200);
    assert!(actions.json()["items"].as_array().unwrap().is_empty(), "{}", text(&actions));
    let colleagues = w.app.get(&format!("/api/v1/agencies/{}/actions", w.police_agency), &colleague.access).await;
    assert!(text(&colleagues).contains(&a), "{}", text(&colleagues));
    for other in [&colleague, &chair, &w.coordinator] {
        assert_eq!(w.app.get(&format!("/api/v1/cases/{c}"), &other.access).await.status, 200);
    }

    // Lifting gives sight back; the record of the exclusion stays.
    let lift = w
        .app
        .call(
            TestRequest::delete()
                .uri(&format!("/api/v1/cases/{c}/exclusions/{exclusion}"))
                .insert_header(("authorization", format!("Bearer {}", chair.access))),
        )
        .await;
    assert_eq!(lift.status, 200, "{}", text(&lift));
    assert_eq!(w.app.get(&format!("/api/v1/cases/{c}"), &w.police.access).await.status, 200);
    let listed = w.app.get(&format!("/api/v1/cases/{c}/exclusions"), &w.coordinator.access).await.json();
    assert_eq!(listed["items"][0]["lifted_by"], chair.user_id.to_string());
    let events = audit_of(&w, &c);
    assert_eq!(events.iter().filter(|(action, _)| action == "alter").count(), 2, "{events:?}");
}

#[actix_web::test]
async fn what_a_coordinator_stumbled_on_is_mended() {
    let w = world().await;
    // A meeting dated in the future cannot be marked held.
    let later = w.meeting(w.marac, &crate::cases::days_ago(-7), json!({})).await;
    let l = id(&later);
    for to in ["agenda_published", "in_progress"] {
        assert_eq!(w.meeting_to(&l, to).await.status, 200);
    }
    let early = w.meeting_to(&l, "held").await;
    assert_eq!(early.status, 422, "{}", text(&early));
    assert_eq!(early.field_errors(), vec![("meeting_date".into(), "in_future".into())]);

    // Acknowledging confidentiality names the organisation's attendee; it is not listed twice.
    let today = w.meeting(w.marac, &crate::cases::days_ago(0), json!({})).await;
    let m = id(&today);
    w.attend(&m, w.police_agency, "present").await;
    w.acknowledge(&m, &w.police).await;
    w.acknowledge(&m, &w.police).await;
    let attendance = w.app.get(&format!("/api/v1/meetings/{m}/attendance"), &w.coordinator.access).await.json();
    let rows = attendance["items"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{attendance}");
    assert_eq!(rows[0]["user_id"], w.police.user_id.to_string());
    assert!(rows[0]["confidentiality_acknowledged_at"].is_string());

    // A MARAC case does not close while an action on it is open.
    let case = w.accepted_marac_case(0, json!([])).await;
    let c = id(&case);
    assert_eq!(w.move_to(&c, "open", None).await.status, 200);
    let action = w.link_police(&c).await;
    // Actions name their case by its reference, in lists too.
    assert_eq!(action["case_reference"], case["reference"]);
    let mine = w.app.get(&format!("/api/v1/agencies/{}/actions", w.police_agency), &w.police.access).await.json();
    assert_eq!(mine["items"][0]["case_reference"], case["reference"], "{mine}");
    let close = w
        .app
        .post(
            &format!("/api/v1/cases/{c}/closure"),
            Some(&w.coordinator.access),
            json!({ "categories": ["deceased"], "reason": "Victim deceased." }),
        )
        .await;
    assert_eq!(close.status, 422, "{}", text(&close));
    assert_eq!(close.field_errors(), vec![("actions".into(), "outstanding_actions_remain".into())]);
}

#[actix_web::test]
async fn the_police_and_the_coordinator_record_dash_answers_and_only_the_supplier_reads_them_back() {
    let w = world().await;
    let referral = |who: &str| {
        crate::cases::marac_referral(
            w.marac,
            &crate::cases::days_ago(1),
            json!([{ "role": "victim", "person": crate::cases::person(&format!("Dash{who}")) }]),
            json!({ "entry_assessment": crate::cases::dash(15) }),
        )
    };
    let by_police = w.refer(&w.police, referral("Police")).await;
    assert!(by_police["assessments"][0]["answers"].is_object(), "the police read back what they supplied");
    let mut for_police = referral("Coordinator");
    for_police["referring_agency_id"] = json!(w.police_agency);
    let by_coordinator = w.refer(&w.coordinator, for_police).await;
    assert_eq!(by_coordinator["assessments"][0]["score"], 15);

    // The IDVA's answers stay withheld from the police.
    let idva_case = w.marac_case(15).await;
    let c = id(&idva_case);
    w.link_police(&c).await;
    let police = w.get_with_purpose(&format!("/api/v1/cases/{c}"), &w.police).await.json();
    assert_eq!(police["assessments"][0]["withheld"], json!(["risk.dash_answers"]));
}

async fn add_participant(w: &World, who: &Session, case: &str, body: Value) -> Res {
    w.app.post(&format!("/api/v1/cases/{case}/participants"), Some(&who.access), body).await
}

async fn end_participant(w: &World, case: &str, person: &str, body: Value) -> Res {
    w.app.post(&format!("/api/v1/cases/{case}/participants/{person}/end"), Some(&w.coordinator.access), body).await
}

fn participant<'a>(case: &'a Value, role: &str) -> &'a Value {
    case["participants"].as_array().unwrap().iter().find(|p| p["role"] == role).unwrap()
}

#[actix_web::test]
async fn a_newborn_is_added_to_a_case_and_someone_who_leaves_is_ended_never_deleted() {
    let w = world().await;
    let case = w.marac_case(14).await;
    let c = id(&case);
    w.link_police(&c).await;

    let baby = json!({ "role": "child", "person": { "surname": "Victim", "forenames": "Baby", "date_of_birth": crate::cases::days_ago(10) } });
    let by_police = add_participant(&w, &w.police, &c, baby.clone()).await;
    assert_eq!(by_police.status, 403, "{}", text(&by_police));
    // A child's record is tagged as a whole: the default policy lets coordinators read it only.
    let refused = add_participant(&w, &w.coordinator, &c, baby.clone()).await;
    assert_eq!(refused.status, 403, "{}", text(&refused));
    assert_eq!(refused.field_errors()[0], ("person.surname".into(), "not_writable:children".into()));
    w.set_policy("role", "coordinator", "children", "write").await;
    let res = add_participant(&w, &w.coordinator, &c, baby).await;
    assert_eq!(res.status, 200, "{}", text(&res));
    let added = res.json();
    assert_eq!(added["participants"].as_array().unwrap().len(), 3);
    let child = participant(&added, "child");
    assert_eq!(child["person"]["forenames"], "Baby");
    assert!(child["ended_at"].is_null());
    let child_id = child["person"]["id"].as_str().unwrap().to_owned();
    let again = add_participant(&w, &w.coordinator, &c, json!({ "role": "child", "person_id": child_id })).await;
    assert_eq!(again.status, 409);
    let hidden =
        add_participant(&w, &w.coordinator, &c, json!({ "role": "child", "person_id": uuid::Uuid::new_v4() })).await;
    assert_eq!(hidden.field_errors(), vec![("person_id".into(), "unknown_person".into())]);

    let perpetrator = participant(&case, "perpetrator")["person"]["id"].as_str().unwrap().to_owned();
    let ended = end_participant(
        &w,
        &c,
        &perpetrator,
        json!({ "role": "perpetrator", "reason": "Moved out; injunction in place" }),
    )
    .await;
    assert_eq!(ended.status, 200, "{}", text(&ended));
    let left = participant(&ended.json(), "perpetrator").clone();
    assert_eq!(left["ended_reason"], "Moved out; injunction in place");
    assert!(left["ended_at"].is_string());
    assert_eq!(left["person"]["must_not_receive"], true, "an ended perpetrator still never receives anything");
    let twice = end_participant(&w, &c, &perpetrator, json!({ "role": "perpetrator", "reason": "Again" })).await;
    assert_eq!(twice.status, 409);
    assert_eq!(twice.field_errors(), vec![("role".into(), "already_ended".into())]);
    let unknown = end_participant(&w, &c, &perpetrator, json!({ "role": "child", "reason": "Not on the case" })).await;
    assert_eq!(unknown.status, 404);
    let now = w.app.get(&format!("/api/v1/cases/{c}"), &w.coordinator.access).await.json();
    assert_eq!(now["participants"].as_array().unwrap().len(), 3, "ended, not deleted");
}

#[actix_web::test]
async fn adding_the_perpetrator_of_an_earlier_case_makes_a_referral_a_repeat() {
    let w = world().await;
    let first = w.marac_case(14).await;
    let victim = participant(&first, "victim")["person"]["id"].as_str().unwrap().to_owned();
    let perpetrator = participant(&first, "perpetrator")["person"]["id"].as_str().unwrap().to_owned();
    let second = w
        .refer(
            &w.idva,
            crate::cases::marac_referral(
                w.marac,
                &crate::cases::days_ago(1),
                json!([{ "role": "victim", "person_id": victim }]),
                json!({ "criteria": { "professional_judgement": { "reason": "Practitioner concern" } } }),
            ),
        )
        .await;
    assert_eq!(second["criteria"]["repeat"], false);
    let c = id(&second);
    let res = add_participant(&w, &w.idva, &c, json!({ "role": "perpetrator", "person_id": perpetrator })).await;
    assert_eq!(res.status, 200, "{}", text(&res));
    let now = res.json();
    assert_eq!(now["criteria"]["repeat"], true);
    assert_eq!(now["repeat_of_case_id"], first["id"]);
    let h = history(&w, &w.coordinator, &c, false).await.json();
    assert_eq!(value_changes(&h, "criteria.repeat")[0]["to"], true, "{h}");
}

#[actix_web::test]
async fn a_person_is_read_through_the_policy_of_every_case_the_reader_sees_them_on() {
    let w = world().await;
    let case = w.marac_case(14).await;
    let c = id(&case);
    let victim = participant(&case, "victim")["person"]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/people/{victim}");

    let coordinator = w.app.get(&path, &w.coordinator.access).await;
    assert_eq!(coordinator.status, 200, "{}", text(&coordinator));
    let body = coordinator.json();
    assert_eq!(body["person"]["surname"], "Victim");
    assert_eq!(body["cases"][0]["case_id"], c.as_str());
    assert_eq!(body["cases"][0]["role"], "victim");
    assert_eq!(body["cases"][0]["reference"], case["reference"]);
    // The refuge address and the safe contact need a purpose, stated on the case.
    assert!(!text(&coordinator).contains("CANARY"), "{}", text(&coordinator));
    assert!(body["person"]["withheld"].as_array().unwrap().contains(&json!("victim.address")));

    // The police see nobody on a case they cannot see; with sight, not the safe contact.
    let missing = w.app.get(&format!("/api/v1/people/{}", uuid::Uuid::new_v4()), &w.police.access).await;
    let hidden = w.app.get(&path, &w.police.access).await;
    assert_eq!(hidden.status, 404);
    assert_eq!(hidden.body_without_request_id(), missing.body_without_request_id());
    w.link_police(&c).await;
    let police = w.app.get(&path, &w.police.access).await;
    assert_eq!(police.status, 200, "{}", text(&police));
    assert!(police.json()["person"].get("safe_contact_details").is_none());
}

#[actix_web::test]
async fn a_person_is_corrected_and_moves_to_a_refuge_and_the_earlier_values_are_kept() {
    let w = world().await;
    let case = w.marac_case(14).await;
    let c = id(&case);
    w.link_police(&c).await;
    let victim = participant(&case, "victim")["person"]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/people/{victim}");
    let v = w.app.get(&path, &w.coordinator.access).await.json()["version"].as_i64().unwrap();

    assert_eq!(w.app.patch(&path, &w.coordinator.access, None, json!({ "surname": "Victor" })).await.status, 428);
    let police = w.app.patch(&path, &w.police.access, Some(&format!("\"{v}\"")), json!({ "surname": "Victor" })).await;
    assert_eq!(police.status, 403, "{}", text(&police));
    let typo = w
        .app
        .patch(
            &path,
            &w.coordinator.access,
            Some(&format!("\"{v}\"")),
            json!({ "surname": "Victor", "reason": "Spelling as on the passport" }),
        )
        .await;
    assert_eq!(typo.status, 200, "{}", text(&typo));
    assert_eq!(typo.json()["person"]["surname"], "Victor");
    assert_eq!(typo.json()["version"], v + 1);
    let stale = w.app.patch(&path, &w.coordinator.access, Some(&format!("\"{v}\"")), json!({ "surname": "Vic" })).await;
    assert_eq!(stale.status, 412);

    // The IDVA records the refuge move; it writes the victim's address under the policy.
    let moved = w
        .app
        .patch(
            &path,
            &w.idva.access,
            Some(&format!("\"{}\"", v + 1)),
            json!({ "address": "CANARY-new-refuge", "postcode": "ZZ1 1ZZ" }),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", text(&moved));
    assert_eq!(moved.json()["person"]["address"], "CANARY-new-refuge", "the writer gets its own value back");

    let h = w.app.get(&format!("{path}/history"), &w.coordinator.access).await;
    assert_eq!(h.status, 200, "{}", text(&h));
    let h = h.json();
    let items = h["items"].as_array().unwrap();
    let surname = items.iter().find(|i| i["field"] == "surname").unwrap();
    assert_eq!((surname["from"].clone(), surname["to"].clone()), (json!("Victim"), json!("Victor")));
    assert_eq!(surname["reason"], "Spelling as on the passport");
    // Addresses need a purpose, stated on the case: here the reader sees only that they changed.
    let address = items.iter().find(|i| i["field"] == "address").unwrap();
    assert!(address.get("from").is_none() && address.get("to").is_none(), "{address}");
    assert_eq!(address["withheld"], json!(["victim.address"]));
    assert!(!h.to_string().contains("CANARY"));
    let police_history = w.app.get(&format!("{path}/history"), &w.police.access).await;
    assert!(!text(&police_history).contains("CANARY"), "{}", text(&police_history));
}

#[actix_web::test]
async fn coordinators_see_who_works_on_their_panel_to_pick_an_action_owner() {
    let w = world().await;
    let path = format!("/api/v1/panels/{}/users", w.marac);
    let res = w.app.get(&path, &w.coordinator.access).await;
    assert_eq!(res.status, 200, "{}", text(&res));
    let items = res.json()["items"].as_array().unwrap().clone();
    let ids: Vec<&str> = items.iter().map(|u| u["id"].as_str().unwrap()).collect();
    for who in [&w.coordinator, &w.police, &w.idva] {
        assert!(ids.contains(&who.user_id.to_string().as_str()), "{items:?}");
    }
    assert!(!ids.contains(&w.housing.user_id.to_string().as_str()), "housing holds no role on the MARAC");
    let police = items.iter().find(|u| u["id"] == w.police.user_id.to_string()).unwrap();
    assert_eq!((police["agency_id"].clone(), police["roles"].clone()), (json!(w.police_agency), json!(["agency_rep"])));
    assert_eq!(w.app.get(&path, &w.police.access).await.status, 403);
}

#[actix_web::test]
async fn the_duplicate_check_finds_spelling_variants_and_transposed_dates_among_visible_people_only() {
    let w = world().await;
    let case = w.marac_case(15).await; // the victim: Alex Victim, born 1990-04-01
    let victim = participant(&case, "victim")["person"]["id"].clone();
    let search = |who: &Session, body: Value| {
        let token = who.access.clone();
        let app = &w.app;
        async move { app.post("/api/v1/people/matches", Some(&token), body).await.json()["items"].clone() }
    };
    for body in [
        json!({ "surname": "Victim" }),
        json!({ "surname": "Victm", "forenames": "Alex" }),
        json!({ "surname": "Victim", "forenames": "Alex", "date_of_birth": "1990-01-04" }),
        json!({ "surname": "Victim", "forenames": "Alex", "date_of_birth": "1990-04-10" }),
    ] {
        let items = search(&w.coordinator, body.clone()).await;
        assert!(items.as_array().unwrap().iter().any(|p| p["id"] == victim), "{body}: {items}");
    }
    for body in [
        json!({ "surname": "Perpetrator", "forenames": "Alex" }),
        json!({ "surname": "Victim", "forenames": "Alex", "date_of_birth": "1975-06-30" }),
    ] {
        let items = search(&w.coordinator, body.clone()).await;
        assert!(!items.as_array().unwrap().iter().any(|p| p["id"] == victim), "{body}: {items}");
    }
    // Still only among people on cases the caller can see.
    assert_eq!(search(&w.police, json!({ "surname": "Victm" })).await, json!([]));
}

async fn post(w: &World, who: &Session, path: String, body: Value) -> Res {
    w.app.post(&path, Some(&who.access), body).await
}

#[actix_web::test]
async fn people_carry_every_date_of_birth_an_address_history_and_their_relationships() {
    let w = world().await;
    let case = w.marac_case(14).await;
    let c = id(&case);
    let person_of = |role: &str| {
        case["participants"].as_array().unwrap().iter().find(|p| p["role"] == role).unwrap()["person"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (victim, perp) = (person_of("victim"), person_of("perpetrator"));

    // Every date of birth an agency holds, with the agency.
    let dob = json!({ "date_of_birth": "1990-01-04", "held_by_agency_id": w.police_agency });
    let added = post(&w, &w.coordinator, format!("/api/v1/people/{victim}/dates-of-birth"), dob.clone()).await;
    assert_eq!(added.status, 201, "{}", text(&added));
    assert_eq!(post(&w, &w.coordinator, format!("/api/v1/people/{victim}/dates-of-birth"), dob).await.status, 409);
    let future = json!({ "date_of_birth": crate::cases::days_ago(-3) });
    assert_eq!(post(&w, &w.coordinator, format!("/api/v1/people/{victim}/dates-of-birth"), future).await.status, 422);

    // Language, interpreter need and GP practice are edited like any value. The GP practice is
    // tagged health (SECURITY.md §2.4): by default only health organisations write it.
    let v =
        w.app.get(&format!("/api/v1/people/{victim}"), &w.coordinator.access).await.json()["version"].as_i64().unwrap();
    let gp = json!({ "gp_practice": "CANARY-gp-practice" });
    let refused =
        w.app.patch(&format!("/api/v1/people/{victim}"), &w.coordinator.access, Some(&format!("\"{v}\"")), gp).await;
    assert_eq!(refused.status, 403);
    w.set_policy("role", "coordinator", "health", "write").await;
    let v =
        w.app.get(&format!("/api/v1/people/{victim}"), &w.coordinator.access).await.json()["version"].as_i64().unwrap();
    let body = json!({ "language": "Polish", "interpreter_needed": true, "gp_practice": "CANARY-gp-practice" });
    let edited =
        w.app.patch(&format!("/api/v1/people/{victim}"), &w.coordinator.access, Some(&format!("\"{v}\"")), body).await;
    assert_eq!(edited.status, 200, "{}", text(&edited));

    // A dated address history: the victim's refuge (tag victim.address), the perpetrator's previous.
    let refuge =
        json!({ "kind": "refuge", "address": "CANARY-refuge-history", "from_date": crate::cases::days_ago(20) });
    let added = post(&w, &w.idva, format!("/api/v1/people/{victim}/addresses"), refuge).await;
    assert_eq!(added.status, 201, "{}", text(&added));
    let backwards =
        json!({ "kind": "previous", "address": "1 Any Road", "from_date": "2024-05-01", "to_date": "2023-01-01" });
    assert_eq!(post(&w, &w.coordinator, format!("/api/v1/people/{perp}/addresses"), backwards).await.status, 422);
    let previous = json!({ "kind": "previous", "address": "12 Old Road", "to_date": "2025-01-31" });
    assert_eq!(post(&w, &w.coordinator, format!("/api/v1/people/{perp}/addresses"), previous).await.status, 201);

    // Read without a purpose: the victim's addresses and GP are withheld, the rest shown.
    let plain = w.app.get(&format!("/api/v1/people/{victim}"), &w.coordinator.access).await;
    assert_eq!(plain.status, 200, "{}", text(&plain));
    let person = plain.json()["person"].clone();
    assert_eq!(person["dates_of_birth"][0]["date_of_birth"], "1990-01-04");
    assert_eq!(person["dates_of_birth"][0]["held_by"], w.police_agency.to_string());
    assert_eq!((person["language"].clone(), person["interpreter_needed"].clone()), (json!("Polish"), json!(true)));
    assert_eq!(person["addresses"], json!([]));
    assert!(!text(&plain).contains("CANARY"), "{person}");
    // With a purpose, the coordinator reads them; the police (no `health`) read the refuge only.
    let with_purpose = w.get_with_purpose(&format!("/api/v1/people/{victim}"), &w.coordinator).await;
    assert_eq!(with_purpose.status, 200, "{}", text(&with_purpose));
    let person = with_purpose.json()["person"].clone();
    assert_eq!(person["addresses"][0]["address"], "CANARY-refuge-history");
    assert_eq!(person["addresses"][0]["kind"], "refuge");
    assert_eq!(person["gp_practice"], "CANARY-gp-practice");
    w.link_police(&c).await;
    let police = w.get_with_purpose(&format!("/api/v1/people/{victim}"), &w.police).await;
    assert!(text(&police).contains("CANARY-refuge-history"));
    assert!(!text(&police).contains("CANARY-gp-practice"));
    let perp_view = w.app.get(&format!("/api/v1/people/{perp}"), &w.police.access).await.json();
    assert_eq!(perp_view["person"]["addresses"][0]["address"], "12 Old Road", "a perpetrator's address is core");
    assert_eq!(w.app.get(&format!("/api/v1/people/{victim}"), &w.housing.access).await.status, 404);

    // A participant's relationship changes; an ended participant's does not.
    let url = format!("/api/v1/cases/{c}/participants/{perp}");
    let version =
        w.app.get(&format!("/api/v1/cases/{c}"), &w.coordinator.access).await.json()["version"].as_i64().unwrap();
    let body = json!({ "role": "perpetrator", "relationship_to_victim": "ex-partner" });
    let unversioned = w.app.patch(&url, &w.coordinator.access, None, body.clone()).await;
    assert_eq!(unversioned.status, 428);
    let related = w.app.patch(&url, &w.coordinator.access, Some(&format!("\"{version}\"")), body).await;
    assert_eq!(related.status, 200, "{}", text(&related));
    let perp_line =
        related.json()["participants"].as_array().unwrap().iter().find(|p| p["role"] == "perpetrator").unwrap().clone();
    assert_eq!(perp_line["relationship_to_victim"], "ex-partner");
    let ended =
        post(&w, &w.coordinator, format!("{url}/end"), json!({ "role": "perpetrator", "reason": "Recorded in error" }))
            .await;
    assert_eq!(ended.status, 200);
    let current = w.app.get(&format!("/api/v1/cases/{c}"), &w.coordinator.access).await.header("etag").unwrap();
    let again = json!({ "role": "perpetrator", "relationship_to_victim": "partner" });
    let after = w.app.patch(&url, &w.coordinator.access, Some(&current), again).await;
    assert_eq!(after.status, 409, "{}", text(&after));
}
