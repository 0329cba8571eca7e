//! The disclosure holes an outside review found (issue 11), each driven black-box through the
//! API: value provenance on re-referral, the answer to one's own write, minutes to absentees, the
//! people search and the children tag, purposes bound to the caller, break-glass alerts, and
//! agenda positions that give hidden items away.

use actix_web::test::TestRequest;
use serde_json::{Value, json};

use crate::cases::{World, dash, days_ago, marac_referral, person, world};
use crate::helpers::{Res, Session};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

fn text(res: &Res) -> String {
    String::from_utf8_lossy(&res.body).into_owned()
}

async fn get_with(w: &World, path: &str, who: &Session, purpose: &str) -> Res {
    w.app
        .call(
            TestRequest::get()
                .uri(path)
                .insert_header(("authorization", format!("Bearer {}", who.access)))
                .insert_header(("x-access-purpose", purpose)),
        )
        .await
}

/// Replaces a meeting's agenda as the coordinator, at its current version.
async fn put_agenda(w: &World, meeting: &str, items: Value) {
    let path = format!("/api/v1/meetings/{meeting}/agenda");
    let etag = w.app.get(&path, &w.coordinator.access).await.header("etag").unwrap();
    let res = w
        .app
        .call(
            TestRequest::put()
                .uri(&path)
                .insert_header(("authorization", format!("Bearer {}", w.coordinator.access)))
                .insert_header(("if-match", etag))
                .set_json(json!({ "items": items })),
        )
        .await;
    assert_eq!(res.status, 200, "{}", text(&res));
}

const BREAK_GLASS: &str = "reason:checking the refuge address before tomorrow's visit";

/// A MARAC case the IDVA refers with the victim's safe contact and health notes, which the
/// police may not read under the default policy.
async fn idva_case(w: &World) -> Value {
    w.set_policy("agency_type", "idva_service", "health", "write").await;
    let body = marac_referral(
        w.marac,
        &days_ago(4),
        json!([
            { "role": "victim", "person": { "surname": "Vee", "forenames": "Sam", "date_of_birth": "1988-02-03",
                "address_kind": "refuge", "address": "CANARY-address-by-idva",
                "safe_contact_details": "CANARY-contact-by-idva", "health_notes": "CANARY-health-by-idva" } },
            { "role": "perpetrator", "person": { "surname": "Pee" } }
        ]),
        json!({ "entry_assessment": dash(15) }),
    );
    w.refer(&w.idva, body).await
}

#[actix_web::test]
async fn linking_a_known_person_to_a_new_referral_discloses_nothing_the_linker_could_not_read() {
    let w = world().await;
    let a = idva_case(&w).await;
    w.link_police(&id(&a)).await;
    // The police can see case A, and the victim on it, through their action.
    let victim_id =
        a["participants"].as_array().unwrap().iter().find(|p| p["role"] == "victim").unwrap()["person"]["id"].clone();
    let on_a = get_with(&w, &format!("/api/v1/cases/{}", id(&a)), &w.police, BREAK_GLASS).await;
    assert_eq!(on_a.status, 200);
    assert!(!text(&on_a).contains("CANARY-contact-by-idva") && !text(&on_a).contains("CANARY-health-by-idva"));

    // The police refer the same victim again, by id, and read their new case with a purpose.
    let mut body = marac_referral(
        w.marac,
        &days_ago(1),
        json!([{ "role": "victim", "person_id": victim_id }, { "role": "perpetrator", "person": { "surname": "Other" } }]),
        json!({ "criteria": { "professional_judgement": { "reason": "New incident reported to police" } } }),
    );
    body["referring_agency_id"] = json!(w.police_agency);
    let b = w.refer(&w.police, body).await;
    let read = get_with(&w, &format!("/api/v1/cases/{}", id(&b)), &w.police, BREAK_GLASS).await;
    assert_eq!(read.status, 200);
    let victim =
        read.json()["participants"].as_array().unwrap().iter().find(|p| p["role"] == "victim").unwrap().clone();
    for canary in ["CANARY-contact-by-idva", "CANARY-health-by-idva"] {
        assert!(!text(&read).contains(canary), "the referrer is not the supplier of {canary}");
    }
    let withheld = victim["person"]["withheld"].as_array().unwrap();
    assert!(withheld.contains(&json!("victim.safe_contact")) && withheld.contains(&json!("health")));
    // The police may read addresses by policy, so the address is shown; the IDVA still reads
    // back everything it supplied, on either case.
    assert!(text(&read).contains("CANARY-address-by-idva"));
    let idva_read = get_with(&w, &format!("/api/v1/cases/{}", id(&a)), &w.idva, BREAK_GLASS).await;
    for canary in ["CANARY-address-by-idva", "CANARY-contact-by-idva", "CANARY-health-by-idva"] {
        assert!(text(&idva_read).contains(canary), "the supplier reads back {canary}");
    }
}

#[actix_web::test]
async fn the_writer_gets_its_own_values_back_in_its_write_response_without_a_purpose() {
    let w = world().await;
    let created = idva_case(&w).await;
    let victim = created["participants"].as_array().unwrap().iter().find(|p| p["role"] == "victim").unwrap().clone();
    assert_eq!(victim["person"]["address"], "CANARY-address-by-idva");
    assert_eq!(victim["person"]["safe_contact_details"], "CANARY-contact-by-idva");
    // A plain read still needs a purpose for the most sensitive tags.
    let read = w.app.get(&format!("/api/v1/cases/{}", id(&created)), &w.idva.access).await;
    assert!(!text(&read).contains("CANARY-address-by-idva"));
}

#[actix_web::test]
async fn minutes_reach_only_staff_and_organisations_whose_attendance_gives_sight() {
    let w = world().await;
    let case = w.accepted_marac_case(0, json!([])).await;
    let m = w.meeting(w.marac, &days_ago(0), json!({})).await;
    let mid = id(&m);
    w.app.post(&format!("/api/v1/meetings/{mid}/agenda/build"), Some(&w.coordinator.access), json!({})).await;
    w.attend(&mid, w.police_agency, "apologies").await;
    for to in ["agenda_published", "in_progress", "held"] {
        assert_eq!(w.meeting_to(&mid, to).await.status, 200, "{to}");
    }
    let minutes = format!("/api/v1/meetings/{mid}/minutes");
    let put = w
        .app
        .call(
            TestRequest::put()
                .uri(&minutes)
                .insert_header(("authorization", format!("Bearer {}", w.coordinator.access)))
                .insert_header(("if-match", "\"0\""))
                .set_json(json!({ "body": format!("{}: refuge place found", case["reference"].as_str().unwrap()) })),
        )
        .await;
    assert_eq!(put.status, 200);
    // Listed with apologies: the organisation may acknowledge, but gets no sight from the meeting.
    w.acknowledge(&mid, &w.police).await;
    let res = w.app.get(&minutes, &w.police.access).await;
    assert_eq!(res.status, 403);
    assert!(!text(&res).contains("refuge place"));
    assert_eq!(w.app.get(&minutes, &w.coordinator.access).await.status, 200);
}

#[actix_web::test]
async fn the_people_search_finds_no_child_whose_record_the_caller_may_not_read() {
    let w = world().await;
    let body = marac_referral(
        w.marac,
        &days_ago(2),
        json!([
            { "role": "victim", "person": person("Parent") },
            { "role": "perpetrator", "person": { "surname": "Perp" } },
            { "role": "child", "person": { "surname": "Youngster", "forenames": "Kim", "date_of_birth": "2019-05-06" } }
        ]),
        json!({ "criteria": { "professional_judgement": { "reason": "Concern for the children" } } }),
    );
    w.set_policy("role", "coordinator", "children", "write").await;
    let case = w.refer(&w.coordinator, body).await;
    let chair = w
        .app
        .user(&w.admin, "chair@test.example", Some(w.police_agency), json!([{ "role": "chair", "panel_id": w.marac }]))
        .await;
    let search = json!({ "surname": "Youngster", "forenames": "Kim" });
    let as_chair = w.app.post("/api/v1/people/matches", Some(&chair.access), search.clone()).await;
    assert_eq!(as_chair.status, 200);
    assert_eq!(as_chair.json()["items"], json!([]), "the chair may not read children's records");
    let chair_view = w.app.get(&format!("/api/v1/cases/{}", id(&case)), &chair.access).await;
    assert!(!text(&chair_view).contains("Youngster"), "consistent with the case view");
    let as_coordinator = w.app.post("/api/v1/people/matches", Some(&w.coordinator.access), search).await;
    assert_eq!(as_coordinator.json()["items"].as_array().unwrap().len(), 1, "the search can find the child");
    // Adults on the same case are still found by the chair.
    let adult = w
        .app
        .post("/api/v1/people/matches", Some(&chair.access), json!({ "surname": "Parent", "forenames": "Alex" }))
        .await;
    assert_eq!(adult.json()["items"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn purposes_must_be_the_callers_own_and_break_glass_raises_an_alert() {
    let w = world().await;
    let case = idva_case(&w).await;
    let c = id(&case);
    let police_action = w.link_police(&c).await;
    let idva_action = w
        .app
        .post(
            &format!("/api/v1/cases/{c}/actions"),
            Some(&w.coordinator.access),
            json!({ "description": "Safety planning", "owner_agency_id": case["referring_agency_id"], "due_date": days_ago(-7) }),
        )
        .await
        .json();
    let path = format!("/api/v1/cases/{c}");
    let own = get_with(&w, &path, &w.police, &format!("action:{}", id(&police_action))).await;
    assert_eq!(own.status, 200, "an action the caller's organisation owns");
    let other = get_with(&w, &path, &w.police, &format!("action:{}", id(&idva_action))).await;
    assert_eq!(other.status, 403, "another organisation's action is no purpose of the police");
    assert_eq!(other.problem_type(), "/problems/purpose-required");
    let staff = get_with(&w, &path, &w.coordinator, &format!("action:{}", id(&idva_action))).await;
    assert_eq!(staff.status, 200, "panel staff are linked to every action of their panel");

    // A meeting where the case is listed but the police sent apologies is not their purpose.
    let m = w.meeting(w.marac, &days_ago(-2), json!({})).await;
    let mid = id(&m);
    for to in ["screening", "accepted"] {
        w.move_to(&c, to, None).await;
    }
    put_agenda(&w, &mid, json!([{ "case_id": c }])).await;
    w.attend(&mid, w.police_agency, "apologies").await;
    let apologies = get_with(&w, &path, &w.police, &format!("meeting:{mid}")).await;
    assert_eq!(apologies.status, 403);
    w.attend(&mid, w.police_agency, "present").await;
    assert_eq!(get_with(&w, &path, &w.police, &format!("meeting:{mid}")).await.status, 200);

    // Break-glass: an alert the coordinator and the auditor can read, the police cannot.
    let before = w.app.get("/api/v1/alerts", &w.coordinator.access).await.json()["items"].as_array().unwrap().len();
    let glass = get_with(&w, &path, &w.police, BREAK_GLASS).await;
    assert_eq!(glass.status, 200);
    let alerts = w.app.get("/api/v1/alerts", &w.coordinator.access).await;
    assert_eq!(alerts.status, 200);
    let items = alerts.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), before + 1);
    let alert = items.last().unwrap();
    assert_eq!(alert["kind"], "break_glass");
    assert_eq!(alert["case_id"], json!(c));
    assert_eq!(alert["agency_id"], json!(w.police_agency));
    assert_eq!(alert["request_id"], json!(glass.header("x-request-id").unwrap()));
    let auditor = w.app.user(&w.admin, "aud@test.example", None, json!([{ "role": "auditor" }])).await;
    assert_eq!(
        w.app.get("/api/v1/alerts", &auditor.access).await.json()["items"].as_array().unwrap().len(),
        before + 1
    );
    assert_eq!(w.app.get("/api/v1/alerts", &w.police.access).await.status, 403);
}

#[actix_web::test]
async fn agenda_positions_and_slots_count_only_the_items_the_caller_sees() {
    let w = world().await;
    let hidden = w.accepted_marac_case(0, json!([])).await;
    // A case the police referred themselves, listed after the hidden one.
    let mut body = marac_referral(
        w.marac,
        &days_ago(2),
        json!([{ "role": "victim", "person": person("Second") }, { "role": "perpetrator", "person": { "surname": "P2" } }]),
        json!({ "criteria": { "professional_judgement": { "reason": "Police concern" } } }),
    );
    body["referring_agency_id"] = json!(w.police_agency);
    let own = w.refer(&w.police, body).await;
    for to in ["screening", "accepted"] {
        assert_eq!(w.move_to(&id(&own), to, None).await.status, 200);
    }
    let m = w.meeting(w.marac, &days_ago(-3), json!({})).await;
    let mid = id(&m);
    put_agenda(&w, &mid, json!([{ "case_id": id(&hidden) }, { "case_id": id(&own) }])).await;
    let staff = w.agenda(&mid, &w.coordinator).await.json();
    assert_eq!(staff["items"].as_array().unwrap().len(), 2);
    assert_eq!(staff["items"][1]["position"], 2);
    assert_eq!(staff["items"][1]["starts_at"], "10:10");
    // The police see their own case only: first, in the first slot, with no gap before it.
    let police = w.agenda(&mid, &w.police).await.json();
    let items = police["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["case"]["id"], json!(id(&own)));
    assert_eq!(items[0]["position"], 1);
    assert_eq!(items[0]["starts_at"], "10:00");
}
