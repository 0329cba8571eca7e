//! Meetings and actions: agenda order, cut-off, confidentiality, minutes, actions and updates.

use actix_web::http::Method;
use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::cases::{World, dash, days_ago, marac_referral, person, world};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

fn in_days(n: i64) -> String {
    (Utc::now().date_naive() + Duration::days(n)).to_string()
}

impl World {
    pub async fn meeting(&self, panel: uuid::Uuid, date: &str, extra: Value) -> Value {
        let mut body =
            json!({ "meeting_date": date, "start_time": "10:00", "virtual_link": "https://meet.example/room" });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let res =
            self.app.post(&format!("/api/v1/panels/{panel}/meetings"), Some(&self.coordinator.access), body).await;
        assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
        res.json()
    }

    pub async fn accepted_marac_case(&self, children: i64, extra_people: Value) -> Value {
        let mut people = vec![
            json!({ "role": "victim", "person": person("V") }),
            json!({ "role": "perpetrator", "person": { "surname": "P" } }),
        ];
        people.extend(extra_people.as_array().unwrap().iter().cloned());
        let mut body = marac_referral(self.marac, &days_ago(5), json!(people), json!({ "entry_assessment": dash(16) }));
        body["children_in_household"] = json!(children);
        body["summary"] = json!("Escalating threats since the separation");
        let case = self.refer(&self.idva, body).await;
        let c = id(&case);
        for to in ["screening", "accepted"] {
            assert_eq!(self.move_to(&c, to, None).await.status, 200);
        }
        case
    }

    /// Sets one cell of the field policy through the admin endpoint.
    pub async fn set_policy(&self, kind: &str, subject: &str, tag: &str, access: &str) {
        let current = self.app.get("/api/v1/field-policy", &self.admin.access).await;
        let tag_etag = current.header("etag").unwrap();
        let mut rows: Vec<Value> = current.json()["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| !(r["subject_kind"] == kind && r["subject"] == subject && r["tag"] == tag))
            .cloned()
            .collect();
        rows.push(json!({ "subject_kind": kind, "subject": subject, "tag": tag, "access": access }));
        let res = self
            .app
            .call(
                actix_web::test::TestRequest::put()
                    .uri("/api/v1/field-policy")
                    .insert_header(("authorization", format!("Bearer {}", self.admin.access)))
                    .insert_header(("if-match", tag_etag))
                    .set_json(json!({ "rows": rows })),
            )
            .await;
        assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    }

    pub async fn meeting_to(&self, meeting: &str, to: &str) -> crate::helpers::Res {
        self.app
            .post(
                &format!("/api/v1/meetings/{meeting}/transitions"),
                Some(&self.coordinator.access),
                json!({ "to": to }),
            )
            .await
    }

    /// Records an organisation's attendance at a meeting, as the coordinator.
    pub async fn attend(&self, meeting: &str, agency: impl serde::Serialize, kind: &str) {
        let res = self
            .app
            .post(
                &format!("/api/v1/meetings/{meeting}/attendance"),
                Some(&self.coordinator.access),
                json!({ "agency_id": agency, "attendance_type": kind }),
            )
            .await;
        assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    }

    pub async fn acknowledge(&self, meeting: &str, who: &crate::helpers::Session) {
        let url = format!("/api/v1/meetings/{meeting}/acknowledgement");
        let res = self.app.request(Method::POST, &url, Some(&who.access), None).await;
        assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    }

    pub async fn agenda(&self, meeting: &str, who: &crate::helpers::Session) -> crate::helpers::Res {
        self.app.get(&format!("/api/v1/meetings/{meeting}/agenda"), &who.access).await
    }
}

#[actix_web::test]
async fn the_agenda_is_built_in_safelives_order_with_time_slots() {
    let w = world().await;
    let adult = w.accepted_marac_case(0, json!([])).await;
    let with_children = w.accepted_marac_case(2, json!([])).await;
    let with_child_participant = {
        // The default policy gives the IDVA service read, not write, on children's records.
        w.set_policy("agency_type", "idva_service", "children", "write").await;
        w.accepted_marac_case(0, json!([{ "role": "child", "person": { "surname": "Kid" } }])).await
    };
    // A case whose 12-month window has lapsed while monitored.
    let old = w
        .refer(
            &w.idva,
            marac_referral(
                w.marac,
                &days_ago(400),
                json!([{ "role": "victim", "person": person("Old") }]),
                json!({ "entry_assessment": dash(15) }),
            ),
        )
        .await;
    for to in ["screening", "accepted", "open", "monitoring"] {
        assert_eq!(w.move_to(&id(&old), to, None).await.status, 200);
    }
    let m = w.meeting(w.marac, &in_days(7), json!({})).await;
    let built =
        w.app.post(&format!("/api/v1/meetings/{}/agenda/build", id(&m)), Some(&w.coordinator.access), json!({})).await;
    assert_eq!(built.status, 200, "{}", String::from_utf8_lossy(&built.body));
    let items = built.json()["items"].as_array().unwrap().clone();
    let order: Vec<(String, String)> = items
        .iter()
        .map(|i| (i["case"]["id"].as_str().unwrap().to_owned(), i["section"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(order.len(), 4);
    assert_eq!(order[0].1, "children_cases");
    assert_eq!(order[1].1, "children_cases");
    assert!(order[..2].iter().any(|(c, _)| *c == id(&with_children)));
    assert!(order[..2].iter().any(|(c, _)| *c == id(&with_child_participant)));
    assert_eq!(order[2], (id(&adult), "adult_only_cases".into()));
    assert_eq!(order[3], (id(&old), "twelve_month_lapse_notices".into()));
    let slots: Vec<(&str, &str)> =
        items.iter().map(|i| (i["starts_at"].as_str().unwrap(), i["ends_at"].as_str().unwrap())).collect();
    assert_eq!(slots, vec![("10:00", "10:10"), ("10:10", "10:20"), ("10:20", "10:30"), ("10:30", "10:40")]);
    // Listing an accepted case opens it.
    let case = w.app.get(&format!("/api/v1/cases/{}", id(&adult)), &w.coordinator.access).await.json();
    assert_eq!(case["status"], "open");
    assert_eq!(case["history"].as_array().unwrap().last().unwrap()["to_status"], "open");
}

#[actix_web::test]
async fn outstanding_actions_from_the_previous_meeting_come_first() {
    let w = world().await;
    let first_case = w.accepted_marac_case(0, json!([])).await;
    let earlier = w.meeting(w.marac, &days_ago(14), json!({})).await;
    let e = id(&earlier);
    let built = w.app.post(&format!("/api/v1/meetings/{e}/agenda/build"), Some(&w.coordinator.access), json!({})).await;
    assert_eq!(built.json()["items"].as_array().unwrap().len(), 1);
    for to in ["agenda_published", "in_progress", "held"] {
        assert_eq!(w.meeting_to(&e, to).await.status, 200, "{to}");
    }
    let action = w
        .app
        .post(
            &format!("/api/v1/cases/{}/actions", id(&first_case)),
            Some(&w.coordinator.access),
            json!({ "description": "Flag the address", "owner_agency_id": w.police_agency, "due_date": in_days(3), "meeting_id": e }),
        )
        .await;
    assert_eq!(action.status, 201, "{}", String::from_utf8_lossy(&action.body));
    let newcomer = w.accepted_marac_case(1, json!([])).await;

    let next = w.meeting(w.marac, &in_days(1), json!({})).await;
    let items = w
        .app
        .post(&format!("/api/v1/meetings/{}/agenda/build", id(&next)), Some(&w.coordinator.access), json!({}))
        .await
        .json()["items"]
        .clone();
    let order: Vec<(String, String)> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["case"]["id"].as_str().unwrap().to_owned(), i["section"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(order, vec![(id(&first_case), "outstanding_actions".into()), (id(&newcomer), "children_cases".into())]);
}

#[actix_web::test]
async fn the_coordinator_edits_the_agenda_until_publication_and_the_cutoff_holds() {
    let w = world().await;
    let a = w.accepted_marac_case(0, json!([])).await;
    let b = w.accepted_marac_case(3, json!([])).await;
    let m = w.meeting(w.marac, &in_days(7), json!({})).await;
    let mid = id(&m);
    let path = format!("/api/v1/meetings/{mid}/agenda");
    let put = |tag: &'static str, items: Value| {
        let app = &w.app;
        let token = w.coordinator.access.clone();
        let path = path.clone();
        async move {
            app.call(
                actix_web::test::TestRequest::put()
                    .uri(&path)
                    .insert_header(("authorization", format!("Bearer {token}")))
                    .insert_header(("if-match", tag))
                    .set_json(json!({ "items": items })),
            )
            .await
        }
    };
    let missing = w
        .app
        .call(
            actix_web::test::TestRequest::put()
                .uri(&path)
                .insert_header(("authorization", format!("Bearer {}", w.coordinator.access)))
                .set_json(json!({ "items": [] })),
        )
        .await;
    assert_eq!(missing.status, 428);
    let saved = put("\"1\"", json!([{ "case_id": id(&a) }, { "case_id": id(&b) }])).await;
    assert_eq!(saved.status, 200, "{}", String::from_utf8_lossy(&saved.body));
    let body = saved.json();
    let sections: Vec<&str> =
        body["items"].as_array().unwrap().iter().map(|i| i["section"].as_str().unwrap()).collect();
    assert_eq!(
        sections,
        vec!["children_cases", "adult_only_cases"],
        "sections keep SafeLives order whatever the order given"
    );
    assert_eq!(saved.header("etag").as_deref(), Some("\"2\""));
    let stale = put("\"1\"", json!([])).await;
    assert_eq!(stale.status, 412);
    assert_eq!(stale.json()["current_version"], 2);
    let unknown = put("\"2\"", json!([{ "case_id": uuid::Uuid::new_v4() }])).await;
    assert_eq!(unknown.status, 422);
    assert_eq!(unknown.field_errors(), vec![("items[0].case_id".into(), "unknown_case".into())]);
    let removed = put("\"2\"", json!([{ "case_id": id(&b) }])).await;
    assert_eq!(removed.json()["items"].as_array().unwrap().len(), 1);

    assert_eq!(w.meeting_to(&mid, "agenda_published").await.status, 200);
    let after_publish = put("\"3\"", json!([{ "case_id": id(&b) }, { "case_id": id(&a) }])).await;
    assert_eq!(after_publish.status, 409, "no additions once published");
    let outcome = put("\"3\"", json!([{ "case_id": id(&b), "outcome": "heard" }])).await;
    assert_eq!(outcome.status, 200, "outcomes can still be recorded");

    // A regular meeting whose cut-off has passed takes no new cases; an emergency one does.
    w.accepted_marac_case(0, json!([])).await;
    let late = w
        .meeting(w.marac, &in_days(2), json!({ "agenda_cutoff_at": (Utc::now() - Duration::hours(1)).to_rfc3339() }))
        .await;
    let res = w
        .app
        .post(&format!("/api/v1/meetings/{}/agenda/build", id(&late)), Some(&w.coordinator.access), json!({}))
        .await;
    assert_eq!(res.status, 422);
    assert_eq!(res.field_errors(), vec![("items".into(), "after_agenda_cutoff".into())]);
    let emergency = w
        .meeting(
            w.marac,
            &in_days(2),
            json!({ "kind": "emergency", "agenda_cutoff_at": (Utc::now() - Duration::hours(1)).to_rfc3339() }),
        )
        .await;
    let res = w
        .app
        .post(&format!("/api/v1/meetings/{}/agenda/build", id(&emergency)), Some(&w.coordinator.access), json!({}))
        .await;
    assert_eq!(res.status, 200);
}

#[actix_web::test]
async fn case_details_wait_for_the_confidentiality_acknowledgement() {
    let w = world().await;
    let case = w.accepted_marac_case(0, json!([])).await;
    let m = w.meeting(w.marac, &in_days(3), json!({})).await;
    let mid = id(&m);
    w.app.post(&format!("/api/v1/meetings/{mid}/agenda/build"), Some(&w.coordinator.access), json!({})).await;
    // Not yet listed to attend: the police see no items and cannot acknowledge.
    let unlisted = w.agenda(&mid, &w.police).await.json();
    assert_eq!(unlisted["items"].as_array().unwrap().len(), 0);
    let early = w
        .app
        .request(Method::POST, &format!("/api/v1/meetings/{mid}/acknowledgement"), Some(&w.police.access), None)
        .await;
    assert_eq!(early.status, 403);
    assert_eq!(early.problem_type(), "/problems/not-listed-to-attend");
    let listed = w
        .app
        .post(
            &format!("/api/v1/meetings/{mid}/attendance"),
            Some(&w.coordinator.access),
            json!({ "agency_id": w.police_agency, "attendance_type": "present" }),
        )
        .await;
    assert_eq!(listed.status, 201);
    // Before acknowledging, every route shows the research list and nothing more (SECURITY.md 2.3).
    let before = w.agenda(&mid, &w.police).await;
    assert_eq!(before.status, 200);
    let body = before.json();
    assert_eq!(body["confidentiality_acknowledged"], false);
    assert!(body["items"][0].get("case").is_none());
    assert_eq!(body["items"][0]["withheld"], json!(["case_details"]));
    assert_eq!(body["items"][0]["research"]["reference"], case["reference"]);
    let victim = &body["items"][0]["research"]["participants"].as_array().unwrap();
    assert!(victim.iter().any(|p| p["person"]["surname"] == "V" && p["person"]["date_of_birth"] == "1990-04-01"));
    let summary = case["summary"].as_str().unwrap();
    assert!(!String::from_utf8_lossy(&before.body).contains(summary));
    let cid = id(&case);
    let read = w.app.get(&format!("/api/v1/cases/{cid}"), &w.police.access).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.json()["sight"], "research_list");
    assert_eq!(read.json()["reference"], case["reference"]);
    assert!(!String::from_utf8_lossy(&read.body).contains(summary), "no summary before acknowledging");
    let list = w.app.get("/api/v1/cases", &w.police.access).await;
    assert_eq!(list.json()["items"][0]["sight"], "research_list");
    assert!(!String::from_utf8_lossy(&list.body).contains(summary));
    let filtered = w.app.get("/api/v1/cases?status=open", &w.police.access).await.json();
    assert_eq!(filtered["items"], json!([]), "details of a research-list case cannot be searched");
    for path in [
        format!("/api/v1/cases/{cid}/actions"),
        format!("/api/v1/cases/{cid}/risk-assessments"),
        format!("/api/v1/meetings/{mid}/pack"),
        format!("/api/v1/meetings/{mid}/minutes"),
    ] {
        let res = w.app.get(&path, &w.police.access).await;
        assert_eq!(res.status, 403, "{path}");
        assert_eq!(res.problem_type(), "/problems/confidentiality-not-acknowledged", "{path}");
        assert!(!String::from_utf8_lossy(&res.body).contains(summary));
    }

    let ack = w
        .app
        .request(Method::POST, &format!("/api/v1/meetings/{mid}/acknowledgement"), Some(&w.police.access), None)
        .await;
    assert_eq!(ack.status, 200);
    assert!(ack.json()["confidentiality_acknowledged_at"].is_string());
    let after = w.agenda(&mid, &w.police).await.json();
    assert_eq!(after["items"][0]["case"]["reference"], case["reference"]);
    assert!(after["items"][0].get("research").is_none());
    let read = w.app.get(&format!("/api/v1/cases/{cid}"), &w.police.access).await.json();
    assert_eq!(read["summary"], case["summary"], "the case as the policy allows once acknowledged");
    assert_eq!(w.app.get(&format!("/api/v1/cases/{cid}/actions"), &w.police.access).await.status, 200);
    let pack = w.app.get(&format!("/api/v1/meetings/{mid}/pack"), &w.police.access).await;
    assert_eq!(pack.status, 200);
    assert_eq!(pack.json()["items"][0]["risk"]["latest_entry"]["score"], 16);

    // Housing sits on no MARAC: the meeting is as good as missing.
    assert_eq!(w.agenda(&mid, &w.housing).await.status, 404);
}

#[actix_web::test]
async fn a_full_panel_cycle_runs_through_the_api() {
    let w = world().await;
    let case = w.accepted_marac_case(1, json!([])).await;
    let m = w.meeting(w.marac, &days_ago(0), json!({})).await;
    let mid = id(&m);
    let agenda = w
        .app
        .post(&format!("/api/v1/meetings/{mid}/agenda/build"), Some(&w.coordinator.access), json!({}))
        .await
        .json();
    let item = agenda["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(w.meeting_to(&mid, "agenda_published").await.status, 200);
    let att = w
        .app
        .post(
            &format!("/api/v1/meetings/{mid}/attendance"),
            Some(&w.coordinator.access),
            json!({ "agency_id": w.police_agency, "attendance_type": "present", "person_name": "DS Smith" }),
        )
        .await;
    assert_eq!(att.status, 201);
    let outsider = w
        .app
        .post(
            &format!("/api/v1/meetings/{mid}/attendance"),
            Some(&w.coordinator.access),
            json!({ "agency_id": w.housing_agency, "attendance_type": "present" }),
        )
        .await;
    assert_eq!(outsider.status, 422, "housing is not a member of this MARAC");
    let early_note = w
        .app
        .post(
            &format!("/api/v1/meetings/{mid}/items/{item}/notes"),
            Some(&w.coordinator.access),
            json!({ "decisions": "x" }),
        )
        .await;
    assert_eq!(early_note.status, 409);
    assert_eq!(w.meeting_to(&mid, "in_progress").await.status, 200);
    let note = w
        .app
        .post(&format!("/api/v1/meetings/{mid}/items/{item}/notes"), Some(&w.coordinator.access), json!({ "agency_id": w.police_agency, "shared_information": "Two call-outs since referral", "risk_summary": "High", "decisions": "Sanctuary scheme" }))
        .await;
    assert_eq!(note.status, 201);
    let wrong_parent = w
        .app
        .get(&format!("/api/v1/meetings/{}/items/{item}/notes", uuid::Uuid::new_v4()), &w.coordinator.access)
        .await;
    assert_eq!(wrong_parent.status, 404);
    let other = w.meeting(w.marac, &in_days(30), json!({})).await;
    let mismatched =
        w.app.get(&format!("/api/v1/meetings/{}/items/{item}/notes", id(&other)), &w.coordinator.access).await;
    assert_eq!(mismatched.status, 404, "an item of another meeting is not found under this one");
    let action = w
        .app
        .post(&format!("/api/v1/cases/{}/actions", id(&case)), Some(&w.coordinator.access), json!({ "description": "Mark address for urgent response", "owner_agency_id": w.police_agency, "due_date": in_days(14), "meeting_id": mid }))
        .await;
    assert_eq!(action.status, 201);
    assert_eq!(w.meeting_to(&mid, "held").await.status, 200);

    let minutes = format!("/api/v1/meetings/{mid}/minutes");
    let put = |tag: &'static str, text: &'static str| {
        let app = &w.app;
        let token = w.coordinator.access.clone();
        let path = minutes.clone();
        async move {
            app.call(
                actix_web::test::TestRequest::put()
                    .uri(&path)
                    .insert_header(("authorization", format!("Bearer {token}")))
                    .insert_header(("if-match", tag))
                    .set_json(json!({ "body": text })),
            )
            .await
        }
    };
    assert_eq!(put("\"0\"", "Draft one").await.status, 200);
    let second = put("\"1\"", "Draft two").await;
    assert_eq!(second.json()["state"], "draft");
    let circulated =
        w.app.request(Method::POST, &format!("{minutes}/circulate"), Some(&w.coordinator.access), None).await;
    assert_eq!(circulated.status, 200);
    assert_eq!(circulated.json()["state"], "circulated");
    let correction = put("\"2\"", "Corrected text").await;
    assert_eq!(correction.status, 200);
    let versions = correction.json()["versions"].as_array().unwrap().clone();
    assert_eq!(versions.len(), 3);
    assert_eq!(versions[1]["body"], "Draft two", "the circulated text is kept");
    assert!(versions[1]["circulated_at"].is_string());
    assert_eq!(correction.json()["state"], "draft");
    assert_eq!(put("\"2\"", "Stale").await.status, 412);
    let meeting = w.app.get(&format!("/api/v1/meetings/{mid}"), &w.coordinator.access).await.json();
    assert_eq!(meeting["status"], "minutes_circulated");

    let before_ack = w.app.get(&minutes, &w.police.access).await;
    assert_eq!(before_ack.status, 403, "minutes wait for the confidentiality acknowledgement");
    w.acknowledge(&mid, &w.police).await;
    let as_police = w.app.get(&minutes, &w.police.access).await;
    assert_eq!(as_police.status, 200, "an organisation present at the meeting reads the minutes once acknowledged");
    let ics = w.app.get(&format!("/api/v1/panels/{}/meetings.ics", w.marac), &w.police.access).await;
    assert_eq!(ics.status, 200);
    let text = String::from_utf8_lossy(&ics.body).to_string();
    assert!(
        text.starts_with("BEGIN:VCALENDAR") && text.contains("BEGIN:VEVENT") && text.contains("TZID=Europe/London")
    );
    assert!(!text.contains(case["reference"].as_str().unwrap()), "no case details in the calendar");
}

#[actix_web::test]
async fn only_the_owner_agency_or_panel_staff_change_an_action() {
    let w = world().await;
    let case = w
        .refer(&w.housing, json!({
            "panel_id": w.cmarac, "referral_date": days_ago(10), "participants": [{ "role": "vulnerable_person", "person": person("T") }],
            "consent": { "status": "given" }, "lawful_basis": "public_task", "special_category_condition": "health_social_care"
        }))
        .await;
    let c = id(&case);
    let unseen = w
        .app
        .post(
            &format!("/api/v1/cases/{c}/actions"),
            Some(&w.police.access),
            json!({ "description": "x", "due_date": in_days(7) }),
        )
        .await;
    assert_eq!(unseen.status, 404, "the police cannot see the case before they are linked to it");
    let volunteered = w
        .app
        .post(
            &format!("/api/v1/cases/{c}/actions"),
            Some(&w.coordinator.access),
            json!({ "description": "Welfare visit", "owner_agency_id": w.police_agency, "due_date": in_days(7) }),
        )
        .await;
    assert_eq!(volunteered.status, 201);
    assert_eq!(volunteered.json()["owner_agency_id"], w.police_agency.to_string());
    let own = w
        .app
        .post(
            &format!("/api/v1/cases/{c}/actions"),
            Some(&w.police.access),
            json!({ "description": "Check PNC", "due_date": in_days(7) }),
        )
        .await;
    assert_eq!(own.status, 201, "now linked, the police volunteer their own actions");
    let for_others = w
        .app
        .post(
            &format!("/api/v1/cases/{c}/actions"),
            Some(&w.police.access),
            json!({ "description": "x", "due_date": in_days(7), "owner_agency_id": w.housing_agency }),
        )
        .await;
    assert_eq!(for_others.status, 422);
    let a = id(&volunteered.json());
    let path = format!("/api/v1/actions/{a}");

    let by_housing = w.app.patch(&path, &w.housing.access, Some("\"1\""), json!({ "status": "in_progress" })).await;
    assert_eq!(by_housing.status, 403);
    assert_eq!(by_housing.problem_type(), "/problems/not-action-owner");
    let no_note = w.app.patch(&path, &w.police.access, Some("\"1\""), json!({ "status": "completed" })).await;
    assert_eq!(no_note.status, 422);
    assert_eq!(no_note.field_errors(), vec![("outcome_note".into(), "required_for_this_status".into())]);
    let reassign =
        w.app.patch(&path, &w.police.access, Some("\"1\""), json!({ "owner_agency_id": w.housing_agency })).await;
    assert_eq!(reassign.status, 403, "only staff reassign");
    let progress = w.app.patch(&path, &w.police.access, Some("\"1\""), json!({ "status": "in_progress" })).await;
    assert_eq!(progress.status, 200);
    let by_coordinator =
        w.app.patch(&path, &w.coordinator.access, Some("\"2\""), json!({ "owner_agency_id": w.housing_agency })).await;
    assert_eq!(by_coordinator.status, 200);
    let done = w
        .app
        .patch(
            &path,
            &w.housing.access,
            Some("\"3\""),
            json!({ "status": "completed", "outcome_note": "Visit done; engaging" }),
        )
        .await;
    assert_eq!(done.status, 200);
    assert!(done.json()["completed_on"].is_string());
    let reopened = w.app.patch(&path, &w.housing.access, Some("\"4\""), json!({ "status": "open" })).await;
    assert_eq!(reopened.status, 409);
    assert_eq!(reopened.json()["current_status"], "completed");

    let missing = w.app.patch(&path, &w.housing.access, None, json!({ "description": "x" })).await;
    assert_eq!(missing.status, 428);
    // A MARAC user who cannot see the CMARAC case cannot see its action either.
    let idva_view = w.app.get(&path, &w.idva.access).await;
    let missing_action = w.app.get(&format!("/api/v1/actions/{}", uuid::Uuid::new_v4()), &w.idva.access).await;
    assert_eq!(idva_view.status, 404);
    assert_eq!(idva_view.body_without_request_id(), missing_action.body_without_request_id());
}

/// The path of a new action owned by the police, on a new accepted MARAC case.
async fn police_action(w: &World) -> String {
    let case = w.accepted_marac_case(0, json!([])).await;
    let a = w
        .app
        .post(
            &format!("/api/v1/cases/{}/actions", id(&case)),
            Some(&w.coordinator.access),
            json!({ "description": "Joint visit", "owner_agency_id": w.police_agency, "due_date": in_days(5) }),
        )
        .await
        .json();
    format!("/api/v1/actions/{}", id(&a))
}

#[actix_web::test]
async fn two_agencies_racing_on_one_action_lose_nothing() {
    let w = world().await;
    let path = police_action(&w).await;
    let (first, second) = tokio::join!(
        w.app.patch(&path, &w.police.access, Some("\"1\""), json!({ "description": "Joint visit with IDVA" })),
        w.app.patch(&path, &w.coordinator.access, Some("\"1\""), json!({ "due_date": in_days(9) })),
    );
    let mut statuses = vec![first.status.as_u16(), second.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, vec![200, 412], "exactly one wins");
    let loser = if first.status == 412 { &first } else { &second };
    assert_eq!(loser.json()["current_version"], 2);
    assert_eq!(loser.header("etag").as_deref(), Some("\"2\""));
    let now = w.app.get(&path, &w.coordinator.access).await.json();
    assert_eq!(now["version"], 2);
}

/// SECURITY.md F8 at the size it names: in each of 200 trials, 50 clients (two agencies, each
/// with its own change) send a PATCH with the same `If-Match` at once. Every trial has exactly
/// one winner, every loser is told the winner's version, and the row holds the winner's change.
#[actix_web::test]
async fn fifty_clients_racing_two_hundred_times_never_lose_a_write() {
    const CLIENTS: usize = 50;
    const TRIALS: usize = 200;
    let w = world().await;
    let path = police_action(&w).await;
    for trial in 0..TRIALS {
        let version = trial + 1;
        let tag = format!("\"{version}\"");
        let attempts = (0..CLIENTS).map(|client| {
            let who = if client % 2 == 0 { &w.police } else { &w.coordinator };
            let body = json!({ "description": format!("trial {trial} client {client}") });
            w.app.patch(&path, &who.access, Some(&tag), body)
        });
        let answers = futures_util::future::join_all(attempts).await;
        let winners: Vec<usize> = (0..CLIENTS).filter(|&c| answers[c].status == 200).collect();
        assert_eq!(winners.len(), 1, "trial {trial}: exactly one winner");
        for (client, answer) in answers.iter().enumerate() {
            if client != winners[0] {
                assert_eq!(answer.status, 412, "trial {trial} client {client}");
                assert_eq!(answer.json()["current_version"], version + 1, "trial {trial} client {client}");
            }
        }
        let now = w.app.get(&path, &w.coordinator.access).await.json();
        assert_eq!(now["version"], version + 1, "trial {trial}: one update, no more");
        assert_eq!(now["description"], format!("trial {trial} client {}", winners[0]), "the winner's change is kept");
    }
}

#[actix_web::test]
async fn overdue_is_derived_from_the_london_date_and_updates_keep_their_order() {
    let w = world().await;
    let case = w.accepted_marac_case(0, json!([])).await;
    let c = id(&case);
    let mut ids = Vec::new();
    for due in [days_ago(1), days_ago(0), in_days(1)] {
        let res = w
            .app
            .post(
                &format!("/api/v1/cases/{c}/actions"),
                Some(&w.coordinator.access),
                json!({ "description": format!("Due {due}"), "owner_agency_id": w.police_agency, "due_date": due }),
            )
            .await;
        assert_eq!(res.status, 201);
        ids.push((due, res.json()));
    }
    let overdue: Vec<bool> = ids.iter().map(|(_, a)| a["overdue"].as_bool().unwrap()).collect();
    assert_eq!(overdue, vec![true, false, false], "due yesterday is overdue; due today is not yet");
    let list =
        w.app.get(&format!("/api/v1/agencies/{}/actions?overdue=true", w.police_agency), &w.police.access).await.json();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let open = w
        .app
        .get(&format!("/api/v1/agencies/{}/actions?status=open&overdue=false", w.police_agency), &w.police.access)
        .await
        .json();
    assert_eq!(open["items"].as_array().unwrap().len(), 2);
    let others = w.app.get(&format!("/api/v1/agencies/{}/actions", w.housing_agency), &w.police.access).await;
    assert_eq!(others.status, 403, "an agency reads its own to-do list");

    let a = id(&ids[0].1);
    for text in ["Called the victim", "Visited the address", "Marked the address"] {
        let res =
            w.app.post(&format!("/api/v1/actions/{a}/updates"), Some(&w.police.access), json!({ "note": text })).await;
        assert_eq!(res.status, 201);
    }
    let updates = w.app.get(&format!("/api/v1/actions/{a}/updates"), &w.coordinator.access).await.json();
    let notes: Vec<&str> = updates["items"].as_array().unwrap().iter().map(|u| u["note"].as_str().unwrap()).collect();
    assert_eq!(notes, vec!["Called the victim", "Visited the address", "Marked the address"]);
    let by_idva =
        w.app.post(&format!("/api/v1/actions/{a}/updates"), Some(&w.idva.access), json!({ "note": "Not mine" })).await;
    assert_eq!(by_idva.status, 403);
}

#[actix_web::test]
async fn retried_meetings_notes_and_risk_assessments_are_created_once() {
    let w = world().await;
    let case = w.accepted_marac_case(0, json!([])).await;
    let c = id(&case);

    let key = uuid::Uuid::new_v4().to_string();
    let meeting =
        json!({ "meeting_date": days_ago(0), "start_time": "10:00", "virtual_link": "https://meet.example/r" });
    let path = format!("/api/v1/panels/{}/meetings", w.marac);
    let first = w.app.post_with_key(&path, &w.coordinator.access, &key, meeting.clone()).await;
    let again = w.app.post_with_key(&path, &w.coordinator.access, &key, meeting).await;
    assert_eq!((first.status.as_u16(), again.status.as_u16()), (201, 201));
    assert_eq!(first.json()["id"], again.json()["id"]);
    let other = json!({ "meeting_date": days_ago(0), "start_time": "11:00", "virtual_link": "https://meet.example/r" });
    let reused = w.app.post_with_key(&path, &w.coordinator.access, &key, other).await;
    assert_eq!(reused.status, 422);
    assert_eq!(reused.field_errors(), vec![("Idempotency-Key".into(), "reused_with_a_different_body".into())]);
    let listed = w.app.get(&path, &w.coordinator.access).await.json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);

    let mid = id(&first.json());
    let agenda = w
        .app
        .post(&format!("/api/v1/meetings/{mid}/agenda/build"), Some(&w.coordinator.access), json!({}))
        .await
        .json();
    let item = agenda["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(w.meeting_to(&mid, "agenda_published").await.status, 200);
    assert_eq!(w.meeting_to(&mid, "in_progress").await.status, 200);
    let notes = format!("/api/v1/meetings/{mid}/items/{item}/notes");
    let key = uuid::Uuid::new_v4().to_string();
    let n1 = w.app.post_with_key(&notes, &w.coordinator.access, &key, json!({ "decisions": "Sanctuary scheme" })).await;
    let n2 = w.app.post_with_key(&notes, &w.coordinator.access, &key, json!({ "decisions": "Sanctuary scheme" })).await;
    assert_eq!((n1.status.as_u16(), n2.status.as_u16()), (201, 201));
    assert_eq!(n1.json()["id"], n2.json()["id"]);
    let listed = w.app.get(&notes, &w.coordinator.access).await.json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);

    let assessments = format!("/api/v1/cases/{c}/risk-assessments");
    let mut review = dash(12);
    review["stage"] = json!("review");
    let key = uuid::Uuid::new_v4().to_string();
    let a1 = w.app.post_with_key(&assessments, &w.idva.access, &key, review.clone()).await;
    let a2 = w.app.post_with_key(&assessments, &w.idva.access, &key, review).await;
    assert_eq!((a1.status.as_u16(), a2.status.as_u16()), (201, 201));
    assert_eq!(a1.json()["id"], a2.json()["id"]);
    assert_eq!(a2.json()["score"], 12);
    let listed = w.app.get(&assessments, &w.idva.access).await.json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 2, "the entry DASH and one review");
}

#[actix_web::test]
async fn retried_actions_and_updates_are_created_once() {
    let w = world().await;
    let case = w.accepted_marac_case(0, json!([])).await;
    let c = id(&case);
    let key = uuid::Uuid::new_v4().to_string();
    let body = json!({ "description": "Visit", "owner_agency_id": w.police_agency, "due_date": in_days(3) });
    let actions = format!("/api/v1/cases/{c}/actions");
    let first = w.app.post_with_key(&actions, &w.coordinator.access, &key, body.clone()).await;
    let second = w.app.post_with_key(&actions, &w.coordinator.access, &key, body).await;
    assert_eq!((first.status.as_u16(), second.status.as_u16()), (201, 201));
    assert_eq!(first.json()["id"], second.json()["id"]);
    let a = id(&first.json());
    let ukey = uuid::Uuid::new_v4().to_string();
    let updates = format!("/api/v1/actions/{a}/updates");
    let u1 = w.app.post_with_key(&updates, &w.coordinator.access, &ukey, json!({ "note": "Visited" })).await;
    let u2 = w.app.post_with_key(&updates, &w.coordinator.access, &ukey, json!({ "note": "Visited" })).await;
    assert_eq!(u1.json()["id"], u2.json()["id"]);
    let listed = w.app.get(&format!("/api/v1/cases/{c}/actions"), &w.coordinator.access).await.json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let updates = w.app.get(&format!("/api/v1/actions/{a}/updates"), &w.coordinator.access).await.json();
    assert_eq!(updates["items"].as_array().unwrap().len(), 1);
}
