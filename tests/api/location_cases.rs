//! Location cases in full (issue 14; DOMAIN.md §6.3, §7.7, §8.3): the problem-solving record,
//! interventions, escalation links, the Community Trigger and the JAG figures.

use actix_web::test::TestRequest;
use serde_json::{Value, json};

use crate::cases::{World, days_ago, world};

fn jag_referral(w: &World, site: &str) -> Value {
    json!({
        "panel_id": w.jag, "referral_date": days_ago(20), "issue_categories": ["drug_dealing"],
        "location": { "site_name": site, "address": "1 Church Road, London", "postcode": "NW10 9NP",
                      "uprn": "100023336956", "locality": "harlesden" },
        "consent": { "status": "not_sought", "non_consent_reason": "Location-based case" },
        "lawful_basis": "public_task", "special_category_condition": "preventing_detecting_unlawful_acts"
    })
}

#[actix_web::test]
async fn a_location_case_records_its_adoption_plan_and_escalation_ladder() {
    let w = world().await;
    let case = w.refer(&w.housing, jag_referral(&w, "Church Road car park")).await;
    assert_eq!(case["location"]["uprn"], "100023336956");
    assert_eq!(case["location"]["postcode"], "NW10 9NP");
    let id = case["id"].as_str().unwrap().to_owned();
    let url = format!("/api/v1/cases/{id}/problem-solving");

    let record = w.app.get(&url, &w.coordinator.access).await;
    assert_eq!(record.status, 200, "{}", String::from_utf8_lossy(&record.body));
    assert_eq!(record.header("etag").as_deref(), Some("\"1\""));
    assert_eq!(record.json()["nomination_source"], "partner", "nominated by the housing officer's organisation");

    let adopt = json!({ "adopted_on": days_ago(5), "locality_group": "Harlesden and Kensal Green",
                        "lead_agency_id": w.housing_agency, "scan": "Dealing at the stairwell most evenings",
                        "analysis": "Unlit corner, broken gate; three known nominals" });
    assert_eq!(w.app.patch(&url, &w.coordinator.access, None, adopt.clone()).await.status, 428);
    let adopted = w.app.patch(&url, &w.coordinator.access, Some("\"1\""), adopt).await;
    assert_eq!(adopted.status, 200, "{}", String::from_utf8_lossy(&adopted.body));
    let adopted = adopted.json();
    assert_eq!(
        (adopted["version"].clone(), adopted["plan"]["scan"].clone()),
        (json!(2), json!("Dealing at the stairwell most evenings"))
    );
    let read = w.app.get(&format!("/api/v1/cases/{id}"), &w.coordinator.access).await.json();
    assert_eq!(read["status"], "accepted", "adoption by the partnership accepts the nomination");

    // The lead organisation writes the plan; another partner with sight of the case does not.
    w.link_police(&id).await;
    let response = json!({ "response": "Gate repaired; lighting; joint patrols" });
    assert_eq!(w.app.patch(&url, &w.police.access, Some("\"2\""), response.clone()).await.status, 403);
    let by_lead = w.app.patch(&url, &w.housing.access, Some("\"2\""), response).await;
    assert_eq!(by_lead.status, 200, "{}", String::from_utf8_lossy(&by_lead.body));
    let stranger = w.app.create_agency(&w.admin, "Elsewhere Trust", "housing_registered_provider").await;
    let not_member =
        w.app.patch(&url, &w.coordinator.access, Some("\"3\""), json!({ "lead_agency_id": stranger })).await;
    assert_eq!(not_member.field_errors(), vec![("lead_agency_id".into(), "not_a_panel_member".into())]);

    // The escalation ladder, one intervention at a time.
    let ladder = format!("/api/v1/cases/{id}/interventions");
    let record = |who: &str, body: Value| {
        let token = match who {
            "police" => w.police.access.clone(),
            _ => w.coordinator.access.clone(),
        };
        let ladder = ladder.clone();
        let app = &w.app;
        async move { app.post(&ladder, Some(&token), body).await }
    };
    let letter = record("police", json!({ "tool": "warning_letter", "used_on": days_ago(4) })).await;
    assert_eq!(letter.status, 201, "{}", String::from_utf8_lossy(&letter.body));
    assert_eq!(letter.json()["agency_id"], json!(w.police_agency), "a partner records its own organisation's");
    let for_other =
        record("police", json!({ "tool": "warning_letter", "used_on": days_ago(4), "agency_id": w.housing_agency }))
            .await;
    assert_eq!(for_other.field_errors(), vec![("agency_id".into(), "not_your_agency".into())]);
    let order = record(
        "coordinator",
        json!({ "tool": "closure_order_full", "used_on": days_ago(3), "agency_id": w.police_agency,
                "court_reference": "WLM-2026-0042", "expires_on": days_ago(-87) }),
    )
    .await
    .json();
    let unnamed = record("coordinator", json!({ "tool": "closure_order_breach", "used_on": days_ago(1) })).await;
    assert_eq!(unnamed.status, 400);
    assert_eq!(unnamed.field_errors(), vec![("breach_of".into(), "required_for_a_breach".into())]);
    let of_letter = record(
        "coordinator",
        json!({ "tool": "closure_order_breach", "used_on": days_ago(1), "breach_of": letter.json()["id"] }),
    )
    .await;
    assert_eq!(of_letter.field_errors(), vec![("breach_of".into(), "not_breachable".into())]);
    let breach = record(
        "coordinator",
        json!({ "tool": "closure_order_breach", "used_on": days_ago(1), "breach_of": order["id"] }),
    )
    .await;
    assert_eq!(breach.status, 201, "{}", String::from_utf8_lossy(&breach.body));
    let nobody =
        record("coordinator", json!({ "tool": "warrant", "used_on": days_ago(1), "agency_id": uuid::Uuid::new_v4() }))
            .await;
    assert_eq!(nobody.field_errors(), vec![("agency_id".into(), "unknown_agency".into())]);
    let future = record("coordinator", json!({ "tool": "warrant", "used_on": days_ago(-1) })).await;
    assert_eq!(future.field_errors(), vec![("used_on".into(), "in_future".into())]);

    let listed = w.app.get(&ladder, &w.police.access).await.json();
    let tools: Vec<&str> = listed["items"].as_array().unwrap().iter().map(|i| i["tool"].as_str().unwrap()).collect();
    assert_eq!(tools, ["warning_letter", "closure_order_full", "closure_order_breach"], "in the order used");
    assert_eq!(listed["items"][2]["breach_of"], order["id"]);

    let marac = w.marac_case(15).await;
    let on_marac = w
        .app
        .post(
            &format!("/api/v1/cases/{}/interventions", marac["id"].as_str().unwrap()),
            Some(&w.coordinator.access),
            json!({ "tool": "warning_letter", "used_on": days_ago(1) }),
        )
        .await;
    assert_eq!(on_marac.field_errors(), vec![("case_id".into(), "only_for_jag".into())]);
    assert_eq!(
        w.app
            .get(&format!("/api/v1/cases/{}/problem-solving", marac["id"].as_str().unwrap()), &w.coordinator.access)
            .await
            .status,
        404
    );
}

#[actix_web::test]
async fn escalation_links_never_reveal_a_case_to_someone_who_cannot_see_it() {
    let w = world().await;
    let place = w.refer(&w.housing, jag_referral(&w, "Stonebridge block B")).await;
    let other_place = w.refer(&w.housing, jag_referral(&w, "Market Square")).await;
    // A cuckooing victim referred to the MARAC by the IDVA: the housing provider is no member there.
    let victim_case = w.marac_case(15).await;
    let (place_id, victim_id) = (place["id"].as_str().unwrap(), victim_case["id"].as_str().unwrap());
    let links = format!("/api/v1/cases/{place_id}/links");
    let body = json!({ "person_case_id": victim_id, "reason": "Resident at flat 12 referred for cuckooing" });

    assert_eq!(w.app.post(&links, Some(&w.housing.access), body.clone()).await.status, 403, "panel staff link");
    let linked = w.app.post(&links, Some(&w.coordinator.access), body.clone()).await;
    assert_eq!(linked.status, 201, "{}", String::from_utf8_lossy(&linked.body));
    assert_eq!(linked.json()["linked_case"]["reference"], victim_case["reference"]);
    assert_eq!(w.app.post(&links, Some(&w.coordinator.access), body).await.status, 409);
    let to_place = w
        .app
        .post(
            &links,
            Some(&w.coordinator.access),
            json!({ "person_case_id": other_place["id"], "reason": "Same dealers" }),
        )
        .await;
    assert_eq!(to_place.field_errors(), vec![("person_case_id".into(), "not_a_person_case".into())]);
    let to_nothing = w
        .app
        .post(&links, Some(&w.coordinator.access), json!({ "person_case_id": uuid::Uuid::new_v4(), "reason": "x" }))
        .await;
    assert_eq!(to_nothing.status, 404);

    let count = |res: crate::helpers::Res| res.json()["items"].as_array().unwrap().len();
    assert_eq!(count(w.app.get(&links, &w.coordinator.access).await), 1);
    assert_eq!(count(w.app.get(&links, &w.housing.access).await), 0, "housing cannot see the MARAC case");
    let seen = w.app.get(&links, &w.housing.access).await;
    assert!(!String::from_utf8_lossy(&seen.body).contains(victim_id), "not even its id");
    w.link_police(place_id).await;
    assert_eq!(count(w.app.get(&links, &w.police.access).await), 0, "the police have no sight of it yet");
    w.link_police(victim_id).await;
    assert_eq!(count(w.app.get(&links, &w.police.access).await), 1, "now they do");
    let back = w.app.get(&format!("/api/v1/cases/{victim_id}/links"), &w.police.access).await.json();
    assert_eq!(back["items"][0]["linked_case"]["id"], json!(place_id), "seen from the person case too");
}

#[actix_web::test]
async fn community_triggers_track_their_timescales_and_overdue_steps() {
    let w = world().await;
    let url = format!("/api/v1/panels/{}/community-triggers", w.jag);
    let body =
        json!({ "received_on": "2025-03-03", "summary": "Third complaint about noise and intimidation at the parade" });
    assert_eq!(w.app.post(&url, Some(&w.police.access), body.clone()).await.status, 403);
    let on_marac = w
        .app
        .post(&format!("/api/v1/panels/{}/community-triggers", w.marac), Some(&w.coordinator.access), body.clone())
        .await;
    assert_eq!(on_marac.field_errors(), vec![("panel_id".into(), "only_for_jag".into())]);
    let created = w.app.post(&url, Some(&w.coordinator.access), body).await;
    assert_eq!(created.status, 201, "{}", String::from_utf8_lossy(&created.body));
    let t = created.json();
    // Received on a Monday: 10, 15 and 20 working days on.
    assert_eq!(
        t["due"],
        json!({ "acknowledge_by": "2025-03-17", "threshold_decision_by": "2025-03-24", "review_by": null })
    );
    assert_eq!(t["overdue"], json!(["acknowledgement", "threshold_decision"]));
    let one = format!("{url}/{}", t["id"].as_str().unwrap());
    let step = |version: i64, body: Value| {
        let (one, app, token) = (one.clone(), &w.app, w.coordinator.access.clone());
        async move { app.patch(&one, &token, Some(&format!("\"{version}\"")), body).await }
    };
    let acknowledged = step(1, json!({ "acknowledged_on": "2025-03-10" })).await.json();
    assert_eq!(acknowledged["overdue"], json!(["threshold_decision"]));
    let half = step(2, json!({ "threshold_met": true })).await;
    assert_eq!(half.field_errors(), vec![("threshold_met".into(), "with_threshold_decided_on".into())]);
    let early = step(2, json!({ "review_held_on": "2025-02-01" })).await;
    assert_eq!(early.field_errors(), vec![("review_held_on".into(), "before_received_on".into())]);
    let unmet = step(2, json!({ "review_held_on": "2025-03-28" })).await;
    assert_eq!(unmet.field_errors(), vec![("review_held_on".into(), "threshold_not_met".into())]);
    let met = step(2, json!({ "threshold_met": true, "threshold_decided_on": "2025-03-20" })).await.json();
    assert_eq!((met["due"]["review_by"].clone(), met["overdue"].clone()), (json!("2025-03-31"), json!(["review"])));
    let overdue = w.app.get(&format!("{url}?overdue=true"), &w.coordinator.access).await.json();
    assert_eq!(overdue["items"].as_array().unwrap().len(), 1);
    let reviewed = step(
        3,
        json!({ "review_held_on": "2025-03-28", "recommendations": "Noise abatement notice; mediation offered",
                "applicant_informed_on": "2025-04-02" }),
    )
    .await;
    assert_eq!(reviewed.status, 200, "{}", String::from_utf8_lossy(&reviewed.body));
    assert_eq!(reviewed.json()["overdue"], json!([]));
    let overdue = w.app.get(&format!("{url}?overdue=true"), &w.coordinator.access).await.json();
    assert_eq!(overdue["items"], json!([]));
    assert_eq!(w.app.patch(&one, &w.coordinator.access, Some("\"3\""), json!({ "summary": "x" })).await.status, 412);
}

/// DOMAIN.md §8.3 on a register computed by hand: four location cases and four interventions.
#[actix_web::test]
async fn jag_figures_count_locations_interventions_outcomes_and_repeat_nominations() {
    let w = world().await;
    let register = "Ref,Location,Issue,Status,Referral Date,Closure Date,Outcome,Ward,Referring agency\r\n\
                    J-1,Church Road car park,Drug dealing,Closed,2025-01-03,2025-04-30,Closure orders obtained at court,Harlesden,Peabody Trust\r\n\
                    J-2,Stonebridge block B,General ASB and nuisance,Open,2025-02-10,,,Stonebridge,\r\n\
                    J-3,Church Road car park,Drug dealing,Open,2025-06-01,,,Harlesden,\r\n\
                    J-4,Market Square,Street drinking,Closed,2025-01-15,2025-03-20,Moved on following outreach,Harlesden,\r\n";
    let imported = w
        .app
        .call(
            TestRequest::post()
                .uri(&format!(
                    "/api/v1/panels/{}/imports?lawful_basis=public_task&special_category_condition=preventing_detecting_unlawful_acts",
                    w.jag
                ))
                .insert_header(("authorization", format!("Bearer {}", w.coordinator.access)))
                .insert_header(("content-type", "text/csv"))
                .set_payload(register),
        )
        .await;
    assert_eq!(imported.status, 201, "{}", String::from_utf8_lossy(&imported.body));
    let id_of = |reference: &str| {
        let (app, token, jag) = (&w.app, w.coordinator.access.clone(), w.jag);
        let reference = reference.to_owned();
        async move {
            let page = app.get(&format!("/api/v1/cases?panel_id={jag}&reference={reference}"), &token).await.json();
            page["items"][0]["id"].as_str().unwrap().to_owned()
        }
    };
    for (reference, adopted, group) in [("J-1", "2025-01-10", "North"), ("J-4", "2025-01-20", "South")] {
        let id = id_of(reference).await;
        let res = w
            .app
            .patch(
                &format!("/api/v1/cases/{id}/problem-solving"),
                &w.coordinator.access,
                Some("\"1\""),
                json!({ "adopted_on": adopted, "locality_group": group }),
            )
            .await;
        assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    }
    let (j2, j3) = (id_of("J-2").await, id_of("J-3").await);
    let add = |case: &str, body: Value| {
        let (app, token, url) = (&w.app, w.coordinator.access.clone(), format!("/api/v1/cases/{case}/interventions"));
        async move {
            let res = app.post(&url, Some(&token), body).await;
            assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
            res.json()
        }
    };
    add(&j2, json!({ "tool": "closure_notice", "used_on": "2025-03-01" })).await;
    let order =
        add(&j2, json!({ "tool": "closure_order_full", "used_on": "2025-03-03", "expires_on": "2025-06-03" })).await;
    add(&j2, json!({ "tool": "closure_order_breach", "used_on": "2025-04-01", "breach_of": order["id"] })).await;
    add(&j3, json!({ "tool": "community_protection_warning", "used_on": "2025-06-02" })).await;

    let m = w
        .app
        .get(&format!("/api/v1/panels/{}/metrics?from=2025-01-01&to=2025-06-30", w.jag), &w.coordinator.access)
        .await;
    assert_eq!(m.status, 200, "{}", String::from_utf8_lossy(&m.body));
    let jag = m.json()["jag"].clone();
    let cells = |name: &str| -> Vec<(String, i64)> {
        jag[name]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: {jag}"))
            .iter()
            .map(|c| (c["key"].as_str().unwrap().to_owned(), c["count"]["value"].as_i64().unwrap()))
            .collect()
    };
    let pairs = |v: &[(&str, i64)]| v.iter().map(|(k, n)| (k.to_string(), *n)).collect::<Vec<_>>();
    assert_eq!(cells("open_by_ward"), pairs(&[("Harlesden", 1), ("Stonebridge", 1)]));
    assert_eq!(cells("open_by_locality"), pairs(&[("not recorded", 2)]));
    assert_eq!(cells("open_by_issue"), pairs(&[("asb_nuisance", 1), ("drug_dealing", 1)]));
    assert_eq!(cells("closed_by_ward"), pairs(&[("Harlesden", 2)]));
    assert_eq!(cells("closed_by_locality"), pairs(&[("North", 1), ("South", 1)]));
    assert_eq!(cells("closed_by_issue"), pairs(&[("drug_dealing", 1), ("street_drinking", 1)]));
    assert_eq!(
        cells("interventions_by_tool"),
        pairs(&[
            ("closure_notice", 1),
            ("closure_order_breach", 1),
            ("closure_order_full", 1),
            ("community_protection_warning", 1)
        ])
    );
    let value = |name: &str| jag[name]["value"].clone();
    assert_eq!(
        (value("breaches"), value("closed_by_enforcement"), value("closed_otherwise"), value("repeat_nominations")),
        (json!(1), json!(1), json!(1), json!(1)),
        "{jag}"
    );
    // Adoption to closure: J-1 110 days, J-4 59 days.
    assert_eq!(jag["median_days_adoption_to_closure"], json!(84.5));
}
