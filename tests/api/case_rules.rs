//! The rules of DOMAIN.md §6.1 a panel sets for itself (issue 13.8): a repeat window anchored at
//! the last hearing, and closures a chair approves.

use serde_json::{Value, json};

use crate::cases::{World, days_ago, marac_referral, world};
use crate::helpers::{Res, Session};
use crate::metrics::hold_meeting;

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

fn text(res: &Res) -> String {
    String::from_utf8_lossy(&res.body).into_owned()
}

/// Changes the MARAC panel's settings as the admin.
async fn set_marac_settings(w: &World, settings: Value) {
    let path = format!("/api/v1/panels/{}", w.marac);
    let version = w.app.get(&path, &w.admin.access).await.json()["version"].as_i64().unwrap();
    let res =
        w.app.patch(&path, &w.admin.access, Some(&format!("\"{version}\"")), json!({ "settings": settings })).await;
    assert_eq!(res.status, 200, "{}", text(&res));
}

async fn close(w: &World, who: &Session, case: &str, categories: Value) -> Res {
    w.app
        .post(
            &format!("/api/v1/cases/{case}/closure"),
            Some(&who.access),
            json!({ "categories": categories, "reason": "No further incidents reported." }),
        )
        .await
}

#[actix_web::test]
async fn with_the_last_meeting_anchor_the_window_runs_from_the_last_hearing() {
    let w = world().await;
    set_marac_settings(&w, json!({ "repeat_window_days": 30, "repeat_window_anchor": "last_meeting" })).await;
    let pair = json!([{ "role": "victim", "person": crate::cases::victim("Anchored") },
                      { "role": "perpetrator", "person": { "surname": "Anchoredp" } }]);
    let first = w
        .refer(
            &w.idva,
            marac_referral(w.marac, &days_ago(60), pair, json!({ "entry_assessment": crate::cases::dash(16) })),
        )
        .await;
    let c = id(&first);
    for to in ["screening", "accepted"] {
        assert_eq!(w.move_to(&c, to, None).await.status, 200);
    }
    hold_meeting(&w, &days_ago(10), &[&c]).await;

    // Referred 60 days ago, heard 10 days ago: a 30-day window from the hearing is still open.
    let ids = |role: &str| {
        first["participants"].as_array().unwrap().iter().find(|p| p["role"] == role).unwrap()["person"]["id"].clone()
    };
    let again = json!([{ "role": "victim", "person_id": ids("victim") }, { "role": "perpetrator", "person_id": ids("perpetrator") }]);
    let pj = json!({ "criteria": { "professional_judgement": { "reason": "New incident" } } });
    let second = w.refer(&w.idva, marac_referral(w.marac, &days_ago(1), again.clone(), pj.clone())).await;
    assert_eq!(second["criteria"]["repeat"], true, "{second}");
    assert_eq!(second["repeat_of_case_id"], c.as_str());

    // The monitoring window of the first case ends 30 days after its hearing, not its referral.
    let lapsed = close(&w, &w.coordinator, &c, json!(["twelve_month_lapse"])).await;
    assert_eq!(lapsed.status, 422, "{}", text(&lapsed));
    assert_eq!(lapsed.field_errors(), vec![("closed_on".into(), "monitoring_window_not_lapsed".into())]);

    // Anchored at the referral, the same case's window has ended: it closes, and a new referral
    // of the pair (the second case aside) is no repeat of it.
    set_marac_settings(&w, json!({ "repeat_window_anchor": "last_referral" })).await;
    let closed = close(&w, &w.coordinator, &c, json!(["twelve_month_lapse"])).await;
    assert_eq!(closed.status, 200, "{}", text(&closed));
    assert_eq!(closed.json()["closure"]["monitoring_window_ends_on"], days_ago(30));
}

async fn decide(w: &World, case: &str, request: &Value, who: &Session, body: Value) -> Res {
    let url = format!("/api/v1/cases/{case}/closure-requests/{}/decision", id(request));
    w.app.post(&url, Some(&who.access), body).await
}

#[actix_web::test]
async fn a_panel_that_requires_it_closes_a_case_only_with_a_chairs_approval() {
    let w = world().await;
    let chair = w
        .app
        .user(&w.admin, "chair@test.example", Some(w.police_agency), json!([{ "role": "chair", "panel_id": w.marac }]))
        .await;
    set_marac_settings(&w, json!({ "closure_requires_approval": true })).await;
    let case = w.accepted_marac_case(0, json!([])).await;
    let c = id(&case);

    // The coordinator's closure is checked as a closure is, then waits.
    let future = w
        .app
        .post(
            &format!("/api/v1/cases/{c}/closure"),
            Some(&w.coordinator.access),
            json!({ "categories": ["deceased"], "reason": "Victim deceased.", "closed_on": days_ago(-3) }),
        )
        .await;
    assert_eq!(future.status, 422);
    let asked = close(&w, &w.coordinator, &c, json!(["engagement_sustained"])).await;
    assert_eq!(asked.status, 202, "{}", text(&asked));
    let request = asked.json();
    assert_eq!(asked.header("location").unwrap(), format!("/api/v1/cases/{c}/closure-requests"));
    assert_eq!(request["decision"], Value::Null);
    assert_eq!(w.app.get(&format!("/api/v1/cases/{c}"), &w.coordinator.access).await.json()["status"], "accepted");
    let twice = close(&w, &w.coordinator, &c, json!(["engagement_sustained"])).await;
    assert_eq!(twice.status, 409, "{}", text(&twice));

    // Only a chair decides; a decline needs a reason and leaves the case as it was.
    let by_coordinator = decide(&w, &c, &request, &w.coordinator, json!({ "decision": "approved" })).await;
    assert_eq!(by_coordinator.status, 403);
    assert_eq!(by_coordinator.problem_type(), "/problems/chair-only");
    let no_reason = decide(&w, &c, &request, &chair, json!({ "decision": "declined" })).await;
    assert_eq!(no_reason.status, 400);
    assert_eq!(no_reason.field_errors(), vec![("reason".into(), "required".into())]);
    let declined =
        decide(&w, &c, &request, &chair, json!({ "decision": "declined", "reason": "The IDVA is still in contact." }))
            .await;
    assert_eq!(declined.status, 200, "{}", text(&declined));
    assert_eq!(declined.json()["decided_by"], chair.user_id.to_string());
    let again = decide(&w, &c, &request, &chair, json!({ "decision": "approved" })).await;
    assert_eq!(again.status, 409);
    assert_eq!(w.app.get(&format!("/api/v1/cases/{c}"), &w.coordinator.access).await.json()["status"], "accepted");

    // A new request, approved: the case closes with what the coordinator asked for.
    let second = close(&w, &w.coordinator, &c, json!(["engagement_sustained"])).await.json();
    let url = format!("/api/v1/cases/{c}/closure-requests/{}/decision", id(&second));
    let approved = w.app.post(&url, Some(&chair.access), json!({ "decision": "approved" })).await;
    assert_eq!(approved.status, 200, "{}", text(&approved));
    let closed = w.app.get(&format!("/api/v1/cases/{c}"), &w.coordinator.access).await.json();
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["closure"]["categories"], json!(["engagement_sustained"]));
    assert_eq!(closed["closure"]["reason"], "No further incidents reported.");
    let listed = w.app.get(&format!("/api/v1/cases/{c}/closure-requests"), &w.coordinator.access).await.json();
    let decisions: Vec<&str> =
        listed["items"].as_array().unwrap().iter().map(|r| r["decision"].as_str().unwrap()).collect();
    assert_eq!(decisions, vec!["declined", "approved"]);

    // A chair's own closure needs no approval.
    let other = w.accepted_marac_case(0, json!([])).await;
    let direct = close(&w, &chair, &id(&other), json!(["engagement_sustained"])).await;
    assert_eq!(direct.status, 200, "{}", text(&direct));
    assert_eq!(direct.json()["status"], "closed");
}
