//! Per-case grants (issue 13.5): a coordinator lets one member organisation read one tag on one
//! case, with a reason and an expiry; the grant lapses at expiry or closure, and is audited.

use actix_web::test::TestRequest;
use serde_json::{Value, json};

use crate::cases::{World, days_ago, world};
use crate::helpers::Res;

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

fn text(res: &Res) -> String {
    String::from_utf8_lossy(&res.body).into_owned()
}

async fn grant(w: &World, case: &str, body: Value) -> Res {
    w.app.post(&format!("/api/v1/cases/{case}/grants"), Some(&w.coordinator.access), body).await
}

/// What the police read of the case with a stated purpose.
async fn police_read(w: &World, case: &str) -> String {
    let res = w.get_with_purpose(&format!("/api/v1/cases/{case}"), &w.police).await;
    assert_eq!(res.status, 200, "{}", text(&res));
    text(&res)
}

/// A MARAC case whose victim has safe contact details, accepted.
async fn accepted_with_safe_contact(w: &World) -> Value {
    let case = w.marac_case(14).await;
    for to in ["screening", "accepted"] {
        assert_eq!(w.move_to(&id(&case), to, None).await.status, 200);
    }
    case
}

const SAFE_CONTACT: &str = "CANARY-victim.safe_contact-1";

#[actix_web::test]
async fn a_grant_lets_one_organisation_read_one_tag_on_one_case_until_it_lapses() {
    let w = world().await;
    let case = accepted_with_safe_contact(&w).await;
    let c = id(&case);
    let other = accepted_with_safe_contact(&w).await;
    w.link_police(&c).await;
    w.link_police(&id(&other)).await;
    // The police's policy row for the victim's safe contact is `G`: none without a grant.
    assert!(!police_read(&w, &c).await.contains(SAFE_CONTACT));

    let body = |agency: &uuid::Uuid, tag: &str, expires_on: String| json!({ "agency_id": agency, "tag": tag, "reason": "Police to arrange a safe welfare visit", "expires_on": expires_on });
    let granted = grant(&w, &c, body(&w.police_agency, "victim.safe_contact", days_ago(-30))).await;
    assert_eq!(granted.status, 201, "{}", text(&granted));
    let g = granted.json();
    assert_eq!(g["end_reason"], Value::Null);
    assert!(police_read(&w, &c).await.contains(SAFE_CONTACT), "granted on this case");
    assert!(!police_read(&w, &id(&other)).await.contains(SAFE_CONTACT), "and on no other");
    let assessed = w.app.get(&format!("/api/v1/cases/{c}/risk-assessments"), &w.police.access).await;
    assert_eq!(assessed.status, 200);

    // Refusals name the field and change nothing.
    let again = grant(&w, &c, body(&w.police_agency, "victim.safe_contact", days_ago(-10))).await;
    assert_eq!(again.status, 409, "{}", text(&again));
    let bad = grant(&w, &c, body(&w.housing_agency, "research_notes", days_ago(1))).await;
    assert_eq!(bad.status, 422);
    let mut problems = bad.field_errors();
    problems.sort();
    assert_eq!(
        problems,
        vec![
            ("agency_id".into(), "not_a_panel_member".into()),
            ("expires_on".into(), "in_past".into()),
            ("tag".into(), "not_grantable".into()),
        ]
    );
    let too_far = grant(&w, &c, body(&w.police_agency, "health", days_ago(-400))).await;
    assert_eq!(too_far.field_errors(), vec![("expires_on".into(), "more_than_a_year_ahead".into())]);
    let by_police = w
        .app
        .post(
            &format!("/api/v1/cases/{c}/grants"),
            Some(&w.police.access),
            body(&w.police_agency, "health", days_ago(-3)),
        )
        .await;
    assert_eq!(by_police.status, 403);
    let listed = w.app.get(&format!("/api/v1/cases/{c}/grants"), &w.coordinator.access).await.json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);

    // Expired (its last day has passed), the grant no longer holds.
    use diesel::prelude::*;
    diesel::sql_query("UPDATE case_grants SET expires_on = expires_on - 31").execute(&mut w.app.db.conn()).unwrap();
    assert!(!police_read(&w, &c).await.contains(SAFE_CONTACT), "expired");

    // Revoked sooner, or lapsed at closure: ended with who and why.
    let renewed = grant(&w, &c, body(&w.police_agency, "victim.safe_contact", days_ago(0))).await;
    assert_eq!(renewed.status, 201, "an expired grant does not block a new one: {}", text(&renewed));
    assert!(police_read(&w, &c).await.contains(SAFE_CONTACT), "holds through its last day");
    let revoke = w
        .app
        .call(
            TestRequest::delete()
                .uri(&format!("/api/v1/cases/{c}/grants/{}", id(&renewed.json())))
                .insert_header(("authorization", format!("Bearer {}", w.coordinator.access))),
        )
        .await;
    assert_eq!(revoke.status, 200, "{}", text(&revoke));
    assert_eq!(revoke.json()["end_reason"], "revoked");
    assert_eq!(revoke.json()["ended_by"], w.coordinator.user_id.to_string());
    assert!(!police_read(&w, &c).await.contains(SAFE_CONTACT), "revoked");

    let third = grant(&w, &c, body(&w.police_agency, "victim.safe_contact", days_ago(-5))).await;
    assert_eq!(third.status, 201);
    let action = w.app.get(&format!("/api/v1/cases/{c}/actions"), &w.coordinator.access).await.json();
    let action_id = action["items"][0]["id"].as_str().unwrap().to_owned();
    let done = w
        .app
        .patch(
            &format!("/api/v1/actions/{action_id}"),
            &w.coordinator.access,
            Some(&format!("\"{}\"", action["items"][0]["version"])),
            json!({ "status": "completed", "outcome_note": "Visit made" }),
        )
        .await;
    assert_eq!(done.status, 200, "{}", text(&done));
    let closed = w
        .app
        .post(
            &format!("/api/v1/cases/{c}/closure"),
            Some(&w.coordinator.access),
            json!({ "categories": ["deceased"], "reason": "Victim deceased." }),
        )
        .await;
    assert_eq!(closed.status, 200, "{}", text(&closed));
    let ended = w.app.get(&format!("/api/v1/cases/{c}/grants"), &w.coordinator.access).await.json();
    let reasons: Vec<&str> =
        ended["items"].as_array().unwrap().iter().map(|g| g["end_reason"].as_str().unwrap()).collect();
    assert_eq!(reasons, vec!["expired", "revoked", "case_ended"]);

    // Each grant and revocation is an audited change naming the organisation.
    let events: i64 = diesel::sql_query(format!(
        "SELECT count(*) AS n FROM audit_events WHERE object_type = 'case_grant' AND action = 'alter' AND '{}' = ANY (object_ids)",
        w.police_agency
    ))
    .get_result::<Count>(&mut w.app.db.conn())
    .unwrap()
    .n;
    assert_eq!(events, 4);
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}
