use diesel::prelude::*;
use serde_json::json;

use crate::helpers::TestApp;

#[actix_web::test]
async fn panels_carry_local_settings_with_domain_defaults() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let police = app.create_agency(&admin, "Police", "police").await;
    let res = app
        .post(
            "/api/v1/panels",
            Some(&admin.access),
            json!({
                "kind": "bjag", "name": "Brent JAG", "local_area": "Brent", "meeting_cadence": "monthly",
                "settings": { "reporting_year_start_month": 10 },
                "members": [{ "agency_id": police, "isa_signed_on": "2025-04-01" }]
            }),
        )
        .await;
    assert_eq!(res.status, 201);
    let body = res.json();
    assert_eq!(body["kind"], "jag", "bjag is accepted and stored as the domain code jag");
    assert_eq!(body["settings"]["reporting_year_start_month"], 10);
    assert_eq!(body["settings"]["dash_high_risk_threshold"], 14);
    assert_eq!(body["settings"]["repeat_window_days"], 365);
    assert_eq!(body["settings"]["suppression_k"], 5);
    assert_eq!(body["members"], json!([{ "agency_id": police, "isa_signed_on": "2025-04-01", "active": true }]));

    let dup = app
        .post(
            "/api/v1/panels",
            Some(&admin.access),
            json!({ "kind": "marac", "name": "brent jag", "local_area": "Brent", "meeting_cadence": "monthly" }),
        )
        .await;
    assert_eq!(dup.status, 409);

    let panel_id = body["id"].as_str().unwrap();
    let rep_view =
        app.user(&admin, "r@test.example", Some(police), json!([{ "role": "agency_rep", "panel_id": panel_id }])).await;
    let listed = app.get("/api/v1/panels?kind=jag", &rep_view.access).await.json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn out_of_range_settings_and_unknown_members_are_refused() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let res = app
        .post(
            "/api/v1/panels",
            Some(&admin.access),
            json!({
                "kind": "marac", "name": "M", "local_area": "A", "meeting_cadence": "fortnightly",
                "settings": { "dash_high_risk_threshold": 25, "reporting_year_start_month": 13, "minutes_per_case": 0 }
            }),
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.field_errors(),
        vec![
            ("settings.minutes_per_case".into(), "out_of_range".into()),
            ("settings.dash_high_risk_threshold".into(), "out_of_range".into()),
            ("settings.reporting_year_start_month".into(), "out_of_range".into()),
        ]
    );
    let ghost = uuid::Uuid::new_v4();
    let res = app
        .post("/api/v1/panels", Some(&admin.access), json!({ "kind": "marac", "name": "M", "local_area": "A", "meeting_cadence": "monthly", "members": [{ "agency_id": ghost }] }))
        .await;
    assert_eq!(res.status, 422);
    assert_eq!(res.field_errors(), vec![("members[0].agency_id".into(), "unknown_agency".into())]);
    assert_eq!(
        app.get("/api/v1/panels", &admin.access).await.json()["items"].as_array().unwrap().len(),
        0,
        "nothing half-created"
    );
}

#[actix_web::test]
async fn a_settings_change_is_kept_as_a_new_version_effective_from_now() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let panel = app.create_panel(&admin, "Kent MARAC", "marac", &[]).await;
    let before = chrono::Utc::now();
    let path = format!("/api/v1/panels/{panel}");
    let res = app
        .patch(
            &path,
            &admin.access,
            Some("\"1\""),
            json!({ "settings": { "escalation_window_days": 183, "adult_female_population_16_plus": 120000 } }),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["settings"]["escalation_window_days"], 183);
    assert_eq!(res.json()["settings"]["dash_high_risk_threshold"], 14, "untouched settings keep their value");
    let renamed = app.patch(&path, &admin.access, Some("\"2\""), json!({ "name": "Kent & Medway MARAC" })).await;
    assert_eq!(renamed.status, 200);
    let cleared = app
        .patch(&path, &admin.access, Some("\"3\""), json!({ "settings": { "adult_female_population_16_plus": null } }))
        .await;
    assert!(cleared.json()["settings"]["adult_female_population_16_plus"].is_null());

    use confer::schema::panel_settings_versions as v;
    let mut conn = app.db.conn();
    let versions: Vec<i32> =
        v::table.filter(v::panel_id.eq(panel)).select(v::version).order(v::version).load(&mut conn).unwrap();
    assert_eq!(versions, vec![1, 2, 4], "a rename alone does not make a settings version");
    let id = confer::domain::PanelId(panel);
    let old = confer::models::panel::settings_at(&mut conn, id, before).unwrap().unwrap();
    assert_eq!(old.escalation_window_days, 365);
    let now = confer::models::panel::settings_at(&mut conn, id, chrono::Utc::now()).unwrap().unwrap();
    assert_eq!(now.escalation_window_days, 183);

    let kind = app.patch(&path, &admin.access, Some("\"4\""), json!({ "kind": "cmarac" })).await;
    assert_eq!(kind.status, 400, "kind is not a field an update may send");
}
