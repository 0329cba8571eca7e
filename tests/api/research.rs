//! Agency research notes (issue 13.6): each organisation records its pre-meeting research on a
//! case; its own organisation and the panel staff read it, nobody else, and the meeting pack
//! lists it for its authors only.

use serde_json::{Value, json};

use crate::cases::{World, days_ago, world};
use crate::helpers::{Res, Session};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

fn text(res: &Res) -> String {
    String::from_utf8_lossy(&res.body).into_owned()
}

async fn note(w: &World, who: &Session, case: &str, body: Value) -> Res {
    w.app.post(&format!("/api/v1/cases/{case}/research-notes"), Some(&who.access), body).await
}

fn bodies(res: &Res) -> Vec<String> {
    res.json()["items"].as_array().unwrap().iter().map(|n| n["body"].as_str().unwrap().to_owned()).collect()
}

async fn list(w: &World, case: &str, who: &Session) -> Res {
    w.app.get(&format!("/api/v1/cases/{case}/research-notes"), &who.access).await
}

#[actix_web::test]
async fn research_notes_reach_their_own_organisation_and_the_panel_staff_only() {
    let w = world().await;
    let case = w.accepted_marac_case(0, json!([])).await;
    let c = id(&case);
    let m = w.meeting(w.marac, &days_ago(0), json!({})).await;
    let mid = id(&m);
    let built =
        w.app.post(&format!("/api/v1/meetings/{mid}/agenda/build"), Some(&w.coordinator.access), json!({})).await;
    assert_eq!(built.status, 200, "{}", text(&built));
    w.attend(&mid, w.police_agency, "present").await;

    // Listed to attend, the police research the case from the research list, before acknowledging.
    let police =
        note(&w, &w.police, &c, json!({ "body": "CANARY-research-police: two call-outs in May", "meeting_id": mid }))
            .await;
    assert_eq!(police.status, 201, "{}", text(&police));
    assert_eq!(police.json()["agency_id"], w.police_agency.to_string());
    assert_eq!(police.json()["meeting_id"], mid.as_str());
    let idva = note(&w, &w.idva, &c, json!({ "body": "CANARY-research-idva: victim in refuge" })).await;
    assert_eq!(idva.status, 201, "{}", text(&idva));

    // Each organisation reads its own; the coordinator reads both; no one else is told they exist.
    assert_eq!(bodies(&list(&w, &c, &w.police).await), vec!["CANARY-research-police: two call-outs in May"]);
    assert_eq!(bodies(&list(&w, &c, &w.idva).await), vec!["CANARY-research-idva: victim in refuge"]);
    assert_eq!(bodies(&list(&w, &c, &w.coordinator).await).len(), 2);
    assert_eq!(list(&w, &c, &w.housing).await.status, 404, "housing cannot see the case at all");

    // The coordinator's policy row is `read`: it reads research, it does not write it.
    let by_coordinator = note(&w, &w.coordinator, &c, json!({ "body": "x" })).await;
    assert_eq!(by_coordinator.status, 403);
    assert_eq!(by_coordinator.problem_type(), "/problems/field-not-writable");
    // A note names a meeting only when the case is on its agenda; a blank note is refused.
    let other = w.meeting(w.marac, &days_ago(-14), json!({})).await;
    let wrong = note(&w, &w.idva, &c, json!({ "body": "x", "meeting_id": id(&other) })).await;
    assert_eq!(wrong.status, 422);
    assert_eq!(wrong.field_errors(), vec![("meeting_id".into(), "case_not_on_agenda".into())]);
    assert_eq!(note(&w, &w.idva, &c, json!({ "body": "  " })).await.status, 400);
    assert_eq!(bodies(&list(&w, &c, &w.coordinator).await).len(), 2, "refusals add nothing");

    // The pack lists the reader's own organisation's research only, the coordinator's included.
    w.acknowledge(&mid, &w.police).await;
    let pack = w.app.get(&format!("/api/v1/meetings/{mid}/pack"), &w.police.access).await;
    assert_eq!(pack.status, 200, "{}", text(&pack));
    let item = pack.json()["items"].as_array().unwrap().iter().find(|i| i["case"]["id"] == c.as_str()).unwrap().clone();
    assert_eq!(item["research_notes"].as_array().unwrap().len(), 1, "{item}");
    assert!(!text(&pack).contains("CANARY-research-idva"));
    let staff_pack = w.app.get(&format!("/api/v1/meetings/{mid}/pack"), &w.coordinator.access).await;
    assert!(!text(&staff_pack).contains("CANARY-research"), "the pack is for its authors only");

    // Nothing else the police read carries another organisation's research.
    for path in
        [format!("/api/v1/cases/{c}"), format!("/api/v1/cases/{c}/history"), format!("/api/v1/meetings/{mid}/agenda")]
    {
        assert!(!text(&w.app.get(&path, &w.police.access).await).contains("CANARY-research-idva"), "{path}");
    }
}
