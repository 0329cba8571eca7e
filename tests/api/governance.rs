//! Information governance beyond retention (issue 15): decisions to share without consent and
//! the information-governance role's reach.

use serde_json::{Value, json};

use crate::cases::{days_ago, marac_referral, victim, world};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

#[actix_web::test]
async fn a_decision_to_share_without_consent_is_its_own_record_and_is_counted() {
    let w = world().await;
    let mut body = marac_referral(
        w.marac,
        &days_ago(4),
        json!([{ "role": "victim", "person": victim("Refused") }, { "role": "perpetrator", "person": { "surname": "P" } }]),
        json!({ "criteria": { "professional_judgement": { "reason": "Serious risk" } } }),
    );
    body["consent"] = json!({ "status": "refused", "victim_aware": true, "non_consent_reason": "Fears retaliation" });
    let case = w.refer(&w.idva, body).await;
    let consented = w.marac_case(15).await;
    let url = |c: &Value| format!("/api/v1/cases/{}/share-decisions", id(c));
    let decision = json!({ "decided_by": "A. Chair, MARAC chair", "decided_on": days_ago(4),
                           "reason": "High risk of serious harm outweighs the refusal", "lawful_basis": "public_task",
                           "organisation_ids": [w.police_agency, w.housing_agency, w.police_agency] });

    let ig_panel = w.marac;
    let ig = w
        .app
        .user(&w.admin, "dpo@test.example", None, json!([{ "role": "information_governance", "panel_id": ig_panel }]))
        .await;
    assert_eq!(w.app.post(&url(&case), Some(&w.idva.access), decision.clone()).await.status, 403, "not the referrer");
    let recorded = w.app.post(&url(&case), Some(&w.coordinator.access), decision.clone()).await;
    assert_eq!(recorded.status, 201, "{}", String::from_utf8_lossy(&recorded.body));
    assert_eq!(recorded.json()["organisation_ids"], json!([w.police_agency, w.housing_agency]), "each once");
    let given = w.app.post(&url(&consented), Some(&w.coordinator.access), decision.clone()).await;
    assert_eq!(given.field_errors(), vec![("case_id".into(), "consent_given".into())]);
    let mut unknown = decision.clone();
    unknown["organisation_ids"] = json!([uuid::Uuid::new_v4()]);
    let unknown = w.app.post(&url(&case), Some(&w.coordinator.access), unknown).await;
    assert_eq!(unknown.field_errors(), vec![("organisation_ids[0]".into(), "unknown_agency".into())]);

    // The governance role reads the decisions (it holds no case-working role) …
    let listed = w.app.get(&url(&case), &ig.access).await;
    assert_eq!(listed.status, 200, "{}", String::from_utf8_lossy(&listed.body));
    assert_eq!(listed.json()["items"][0]["decided_by"], "A. Chair, MARAC chair");
    // … on its own panels only; elsewhere a case is as if it did not exist.
    let jag_case = w
        .refer(
            &w.housing,
            json!({ "panel_id": w.jag, "referral_date": days_ago(2), "issue_categories": ["noise"],
                    "location": { "site_name": "Parade" },
                    "consent": { "status": "not_sought", "non_consent_reason": "Location-based case" },
                    "lawful_basis": "public_task", "special_category_condition": "preventing_detecting_unlawful_acts" }),
        )
        .await;
    assert_eq!(w.app.get(&url(&jag_case), &ig.access).await.status, 404, "another panel's case");
    assert_eq!(w.app.get(&format!("/api/v1/cases/{}", id(&case)), &ig.access).await.status, 403, "no case reading");

    let m = w
        .app
        .get(
            &format!("/api/v1/panels/{}/metrics?from={}&to={}", w.marac, days_ago(30), days_ago(0)),
            &w.coordinator.access,
        )
        .await
        .json();
    assert_eq!(m["volume"]["referrals_without_consent"]["value"], 1, "{}", m["volume"]);
    assert_eq!(m["volume"]["share_decisions"]["value"], 1);

    // The record of processing over the governance role's panels.
    let url = format!("/api/v1/governance/processing?from={}&to={}", days_ago(30), days_ago(0));
    assert_eq!(w.app.get(&url, &w.coordinator.access).await.status, 403);
    let record = w.app.get(&url, &ig.access).await;
    assert_eq!(record.status, 200, "{}", String::from_utf8_lossy(&record.body));
    let record = record.json();
    let panels = record["panels"].as_array().unwrap();
    assert_eq!(panels.len(), 1);
    let marac = &panels[0];
    assert_eq!(marac["panel_id"], json!(w.marac));
    assert_eq!(
        marac["lawful_bases"],
        json!([{ "lawful_basis": "public_task", "special_category_condition": "safeguarding_children_individuals_at_risk", "cases": 2 }])
    );
    assert_eq!(
        (
            marac["share_decisions"].clone(),
            marac["referrals_without_consent"].clone(),
            marac["retention_years_after_end"].clone()
        ),
        (json!(1), json!(1), json!(6))
    );
    assert_eq!(marac["organisations"].as_array().unwrap().len(), 3, "{marac}");
}

#[actix_web::test]
async fn a_restricted_case_is_read_by_panel_staff_only_and_changed_by_no_one() {
    let w = world().await;
    let case = w.marac_case(15).await;
    let c = id(&case);
    let url = format!("/api/v1/cases/{c}");
    let restriction = format!("/api/v1/cases/{c}/restriction");
    assert_eq!(w.app.post(&restriction, Some(&w.idva.access), json!({ "reason": "x" })).await.status, 403);
    let restricted = w
        .app
        .post(&restriction, Some(&w.coordinator.access), json!({ "reason": "Accuracy contested by the victim" }))
        .await;
    assert_eq!(restricted.status, 200, "{}", String::from_utf8_lossy(&restricted.body));
    assert_eq!(w.app.post(&restriction, Some(&w.coordinator.access), json!({ "reason": "again" })).await.status, 409);

    assert_eq!(w.app.get(&url, &w.idva.access).await.status, 404, "the referrer no longer sees it");
    let read = w.app.get(&url, &w.coordinator.access).await;
    assert_eq!(read.status, 200, "panel staff still read it");
    let version = read.json()["version"].as_i64().unwrap();
    let edit = w
        .app
        .patch(&url, &w.coordinator.access, Some(&format!("\"{version}\"")), json!({ "summary": "changed" }))
        .await;
    assert_eq!(edit.field_errors(), vec![("case_id".into(), "case_restricted".into())]);
    let action = w
        .app
        .post(
            &format!("{url}/actions"),
            Some(&w.coordinator.access),
            json!({ "description": "Check", "owner_agency_id": w.police_agency, "due_date": days_ago(-7) }),
        )
        .await;
    assert_eq!(action.field_errors(), vec![("case_id".into(), "case_restricted".into())]);

    let ig = w
        .app
        .user(&w.admin, "dpo@test.example", None, json!([{ "role": "information_governance", "panel_id": w.marac }]))
        .await;
    let lifted = w.app.request(actix_web::http::Method::DELETE, &restriction, Some(&ig.access), None).await;
    assert_eq!(lifted.status, 200, "{}", String::from_utf8_lossy(&lifted.body));
    assert_eq!(w.app.request(actix_web::http::Method::DELETE, &restriction, Some(&ig.access), None).await.status, 404);
    assert_eq!(w.app.get(&url, &w.idva.access).await.status, 200);
    let edit = w
        .app
        .patch(&url, &w.coordinator.access, Some(&format!("\"{version}\"")), json!({ "summary": "changed" }))
        .await;
    assert_eq!(edit.status, 200, "{}", String::from_utf8_lossy(&edit.body));
}

#[actix_web::test]
async fn rights_requests_are_logged_with_their_deadlines() {
    let w = world().await;
    let ig = w
        .app
        .user(&w.admin, "dpo@test.example", None, json!([{ "role": "information_governance", "panel_id": w.marac }]))
        .await;
    let url = format!("/api/v1/panels/{}/rights-requests", w.marac);
    let body = json!({ "kind": "access", "received_on": "2025-01-10", "identity_check": "Passport seen in person",
                       "summary": "Copy of everything held about me" });
    assert_eq!(w.app.post(&url, Some(&w.coordinator.access), body.clone()).await.status, 403);
    assert_eq!(
        w.app.post(&format!("/api/v1/panels/{}/rights-requests", w.jag), Some(&ig.access), body.clone()).await.status,
        403
    );
    let mut unknown = body.clone();
    unknown["person_id"] = json!(uuid::Uuid::new_v4());
    let unknown = w.app.post(&url, Some(&ig.access), unknown).await;
    assert_eq!(unknown.field_errors(), vec![("person_id".into(), "unknown_person".into())]);
    let created = w.app.post(&url, Some(&ig.access), body).await;
    assert_eq!(created.status, 201, "{}", String::from_utf8_lossy(&created.body));
    let r = created.json();
    assert_eq!((r["due_on"].clone(), r["overdue"].clone()), (json!("2025-02-10"), json!(true)), "one calendar month");
    let one = format!("{url}/{}", id(&r));
    let patch = |version: i64, body: Value| {
        let (app, token, one) = (&w.app, ig.access.clone(), one.clone());
        async move { app.patch(&one, &token, Some(&format!("\"{version}\"")), body).await }
    };
    let undecided = patch(1, json!({ "closed_on": "2025-03-01" })).await;
    assert_eq!(undecided.field_errors(), vec![("decision".into(), "required_to_close".into())]);
    let extended = patch(1, json!({ "extended_reason": "Records held by four organisations" })).await.json();
    assert_eq!(extended["due_on"], "2025-04-10", "extended by two months");
    let overdue = w.app.get(&format!("{url}?overdue=true"), &ig.access).await.json();
    assert_eq!(overdue["items"].as_array().unwrap().len(), 1);
    let closed = patch(
        2,
        json!({ "decision": "partly_granted", "decision_reason": "Third-party data withheld",
                                  "closed_on": "2025-03-01" }),
    )
    .await;
    assert_eq!(closed.status, 200, "{}", String::from_utf8_lossy(&closed.body));
    assert_eq!(closed.json()["overdue"], false);
    assert_eq!(w.app.get(&format!("{url}?overdue=true"), &ig.access).await.json()["items"], json!([]));
}
