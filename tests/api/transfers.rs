//! MARAC-to-MARAC transfers (issue 13.4): out with a pack and the IDVA handover, in at screening
//! with the origin recorded and a new DASH expected, listed marked with the area it came from,
//! and counted in the metrics.

use serde_json::{Value, json};

use crate::cases::{World, days_ago, marac_referral, victim, world};
use crate::helpers::{Res, Session};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

fn text(res: &Res) -> String {
    String::from_utf8_lossy(&res.body).into_owned()
}

/// A second MARAC on this system, in Kent, with its own coordinator.
async fn kent(w: &World) -> (uuid::Uuid, Session) {
    let res = w
        .app
        .post(
            "/api/v1/panels",
            Some(&w.admin.access),
            json!({ "kind": "marac", "name": "Kent MARAC", "local_area": "Kent", "meeting_cadence": "monthly",
                    "members": [{ "agency_id": w.police_agency, "isa_signed_on": "2026-01-05" }] }),
        )
        .await;
    assert_eq!(res.status, 201, "{}", text(&res));
    let panel: uuid::Uuid = res.json()["id"].as_str().unwrap().parse().unwrap();
    let coordinator = w
        .app
        .user(
            &w.admin,
            "kent@test.example",
            Some(w.police_agency),
            json!([{ "role": "coordinator", "panel_id": panel }]),
        )
        .await;
    (panel, coordinator)
}

async fn transfer(w: &World, case: &str, body: Value) -> Res {
    w.app.post(&format!("/api/v1/cases/{case}/transfer"), Some(&w.coordinator.access), body).await
}

#[actix_web::test]
async fn a_case_moves_to_another_marac_with_its_pack_and_arrives_at_screening() {
    let w = world().await;
    let (kent_panel, kent_coordinator) = kent(&w).await;
    let case = w.marac_case(15).await;
    let c = id(&case);
    for to in ["screening", "accepted"] {
        assert_eq!(w.move_to(&c, to, None).await.status, 200);
    }
    crate::metrics::hold_meeting(&w, &days_ago(1), &[&c]).await;
    let action = w.link_police(&c).await;

    // Refusals change nothing: the panel's own area, a panel that is not the named area.
    let own = transfer(&w, &c, json!({ "receiving_area": " brent ", "reason": "Victim moved" })).await;
    assert_eq!(own.status, 422);
    assert_eq!(own.field_errors(), vec![("receiving_area".into(), "is_this_panels_area".into())]);
    let mismatch = transfer(
        &w,
        &c,
        json!({ "receiving_area": "Surrey", "receiving_panel_id": kent_panel, "reason": "Victim moved" }),
    )
    .await;
    assert_eq!(mismatch.field_errors(), vec![("receiving_area".into(), "not_the_receiving_panels_area".into())]);
    assert_eq!(w.app.get(&format!("/api/v1/cases/{c}"), &w.coordinator.access).await.json()["status"], "open");

    let out = transfer(
        &w,
        &c,
        json!({ "receiving_area": "Kent", "receiving_panel_id": kent_panel, "reason": "Victim moved to a Kent refuge",
                "idva_handover": { "to": "Kent IDVA Service", "on": days_ago(0) } }),
    )
    .await;
    assert_eq!(out.status, 201, "{}", text(&out));
    let out = out.json();
    assert_eq!(out["direction"], "out");
    assert_eq!(out["idva_handover_to"], "Kent IDVA Service");
    let arrived_id = out["other_case_id"].as_str().unwrap().to_owned();
    let left = w.app.get(&format!("/api/v1/cases/{c}"), &w.coordinator.access).await.json();
    assert_eq!(left["status"], "transferred_out");
    assert_eq!(left["transfers"][0]["other_reference"], out["other_reference"]);
    let again = transfer(&w, &c, json!({ "receiving_area": "Kent", "reason": "Twice" })).await;
    assert_eq!(again.status, 409, "a case leaves once");

    // It arrives at Kent at screening, with the origin recorded and a new DASH expected.
    let arrived = w.app.get(&format!("/api/v1/cases/{arrived_id}"), &kent_coordinator.access).await;
    assert_eq!(arrived.status, 200, "{}", text(&arrived));
    let arrived = arrived.json();
    assert_eq!(arrived["status"], "screening");
    assert_eq!(arrived["panel_id"], kent_panel.to_string());
    assert_eq!(arrived["new_dash_expected"], true);
    assert_eq!(arrived["transfers"][0]["direction"], "in");
    assert_eq!(arrived["transfers"][0]["other_area"], "Brent");
    assert_eq!(arrived["transfers"][0]["other_reference"], case["reference"]);
    assert_eq!(arrived["participants"].as_array().unwrap().len(), 2, "the same people");
    let perp = arrived["participants"].as_array().unwrap().iter().find(|p| p["role"] == "perpetrator").unwrap();
    assert_eq!(perp["person"]["must_not_receive"], true);
    assert!(arrived["assessments"].as_array().unwrap().is_empty());
    // Brent's coordinator does not see Kent's case, nor Kent Brent's.
    assert_eq!(w.app.get(&format!("/api/v1/cases/{arrived_id}"), &w.coordinator.access).await.status, 404);
    assert_eq!(w.app.get(&format!("/api/v1/cases/{c}"), &kent_coordinator.access).await.status, 404);

    // The pack: actions with their status, the hearing, the latest assessments; tagged values only
    // as the reader's field policy allows (a coordinator reads DASH answers, not without a purpose
    // the victim's safe contact).
    for (reader, case_id) in [(&w.coordinator, &c), (&kent_coordinator, &arrived_id)] {
        let pack = w.app.get(&format!("/api/v1/cases/{case_id}/transfer-pack"), &reader.access).await;
        assert_eq!(pack.status, 200, "{}", text(&pack));
        let body = pack.json();
        assert_eq!(body["case"]["reference"], case["reference"]);
        assert_eq!(body["actions"][0]["id"], action["id"]);
        assert_eq!(body["actions"][0]["status"], "open");
        assert_eq!(body["hearings"][0]["outcome"], "heard");
        assert_eq!(body["latest_risk_assessments"][0]["score"], 15);
        assert!(!text(&pack).contains("CANARY-victim.safe_contact"), "safe contact needs a purpose");
        let html = w.app.get(&format!("/api/v1/cases/{case_id}/transfer-pack.html"), &reader.access).await;
        assert_eq!(html.status, 200);
        assert!(html.header("content-type").unwrap().starts_with("text/html"));
        assert!(text(&html).contains(case["reference"].as_str().unwrap()));
        assert!(!text(&html).contains("CANARY-victim.safe_contact"));
    }
    // Partners do not read packs; a case never transferred has none.
    assert_eq!(w.app.get(&format!("/api/v1/cases/{c}/transfer-pack"), &w.police.access).await.status, 403);
    let other = w.marac_case(15).await;
    assert_eq!(
        w.app.get(&format!("/api/v1/cases/{}/transfer-pack", id(&other)), &w.coordinator.access).await.status,
        404
    );

    // Accepted at Kent, it is listed on the next agenda marked with where it came from.
    for to in ["accepted"] {
        let res = w
            .app
            .post(
                &format!("/api/v1/cases/{arrived_id}/transitions"),
                Some(&kent_coordinator.access),
                json!({ "to": to }),
            )
            .await;
        assert_eq!(res.status, 200, "{}", text(&res));
    }
    let meeting = w
        .app
        .post(
            &format!("/api/v1/panels/{kent_panel}/meetings"),
            Some(&kent_coordinator.access),
            json!({ "meeting_date": days_ago(-7), "start_time": "10:00", "virtual_link": "https://meet.example/k" }),
        )
        .await
        .json();
    let built = w
        .app
        .post(&format!("/api/v1/meetings/{}/agenda/build", id(&meeting)), Some(&kent_coordinator.access), json!({}))
        .await;
    assert_eq!(built.status, 200, "{}", text(&built));
    let item = built.json()["items"][0].clone();
    assert_eq!(item["listing_reason"], "transfer_in", "{item}");
    assert_eq!(item["transferred_from"], "Brent");

    // Counted both ways in the metrics.
    let period = format!("from={}&to={}", days_ago(30), days_ago(0));
    let brent = w.app.get(&format!("/api/v1/panels/{}/metrics?{period}", w.marac), &w.coordinator.access).await.json();
    assert_eq!(brent["volume"]["transfers_out"]["value"], 1);
    assert_eq!(brent["volume"]["transfers_in"]["value"], 0);
    let kent_m =
        w.app.get(&format!("/api/v1/panels/{kent_panel}/metrics?{period}"), &kent_coordinator.access).await.json();
    assert_eq!(kent_m["volume"]["transfers_in"]["value"], 1);
}

#[actix_web::test]
async fn an_arrival_from_a_marac_elsewhere_is_recorded_by_the_coordinator() {
    let w = world().await;
    let mut body = marac_referral(
        w.marac,
        &days_ago(0),
        json!([{ "role": "victim", "person": victim("Arrival") }]),
        json!({ "transfer_in": { "origin_area": "Hampshire", "origin_reference": "HMARAC-2026-0101", "transferred_on": days_ago(2) } }),
    );
    // No criterion is asked of an arrival: the first area decided it.
    body.as_object_mut().unwrap().remove("criteria");
    let by_idva = w.app.post("/api/v1/cases", Some(&w.idva.access), body.clone()).await;
    assert_eq!(by_idva.status, 403, "recording an arrival is the coordinator's work");
    let own = {
        let mut b = body.clone();
        b["transfer_in"]["origin_area"] = json!("Brent");
        w.app.post("/api/v1/cases", Some(&w.coordinator.access), b).await
    };
    assert_eq!(own.field_errors(), vec![("transfer_in.origin_area".into(), "is_this_panels_area".into())]);
    let res = w.app.post("/api/v1/cases", Some(&w.coordinator.access), body).await;
    assert_eq!(res.status, 201, "{}", text(&res));
    let case = res.json();
    assert_eq!(case["status"], "screening");
    assert_eq!(case["new_dash_expected"], true);
    assert_eq!(case["transfers"][0]["other_area"], "Hampshire");
    assert_eq!(case["transfers"][0]["other_reference"], "HMARAC-2026-0101");
    assert_eq!(case["transfers"][0]["transferred_on"], days_ago(2));
}
