use serde_json::json;

use crate::helpers::TestApp;

#[actix_web::test]
async fn agencies_are_created_read_and_matched_by_any_spelling() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let res = app
        .post("/api/v1/agencies", Some(&admin.access), json!({ "name": "St Mungos", "agency_type": "homelessness_outreach", "aliases": ["ST Mungos Outreach", "Saint Mungo's"] }))
        .await;
    assert_eq!(res.status, 201);
    let id = res.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(res.header("location").unwrap(), format!("/api/v1/agencies/{id}"));
    assert_eq!(res.header("etag").as_deref(), Some("\"1\""));

    for spelling in ["St.%20Mungos", "st%20mungos", "SAINT%20MUNGOS", "st%20mungos%20outreach"] {
        let found = app.get(&format!("/api/v1/agencies?name={spelling}"), &admin.access).await.json();
        assert_eq!(found["items"].as_array().unwrap().len(), 1, "{spelling}");
        assert_eq!(found["items"][0]["id"], id.as_str());
    }
    let dup = app
        .post(
            "/api/v1/agencies",
            Some(&admin.access),
            json!({ "name": "St. Mungo's", "agency_type": "voluntary_sector" }),
        )
        .await;
    assert_eq!(dup.status, 409);
    assert_eq!(dup.field_errors(), vec![("name".into(), "name_in_use".into())]);
    let dup_alias = app
        .post(
            "/api/v1/agencies",
            Some(&admin.access),
            json!({ "name": "Other", "agency_type": "other", "aliases": ["Fine", "saint mungos"] }),
        )
        .await;
    assert_eq!(dup_alias.field_errors(), vec![("aliases[1]".into(), "name_in_use".into())]);

    let agency_rep_view = app.get(&format!("/api/v1/agencies/{id}"), &admin.access).await;
    assert_eq!(agency_rep_view.json()["aliases"], json!(["ST Mungos Outreach", "Saint Mungo's"]));
}

#[actix_web::test]
async fn updates_need_if_match_and_refuse_stale_versions() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let id = app.create_agency(&admin, "Peabody Trust", "housing_registered_provider").await;
    let path = format!("/api/v1/agencies/{id}");

    let missing = app.patch(&path, &admin.access, None, json!({ "name": "Peabody" })).await;
    assert_eq!(missing.status, 428);
    assert_eq!(missing.problem_type(), "/problems/precondition-required");

    let ok = app.patch(&path, &admin.access, Some("\"1\""), json!({ "aliases": ["Peabody Housing Trust"] })).await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.header("etag").as_deref(), Some("\"2\""));
    assert_eq!(ok.json()["name"], "Peabody Trust");

    let stale = app.patch(&path, &admin.access, Some("\"1\""), json!({ "active": false })).await;
    assert_eq!(stale.status, 412);
    assert_eq!(stale.problem_type(), "/problems/precondition-failed");
    assert_eq!(app.get(&path, &admin.access).await.json()["active"], true, "a refused update changes nothing");

    let found = app.get("/api/v1/agencies?name=peabody%20housing%20trust", &admin.access).await.json();
    assert_eq!(found["items"][0]["id"], id.to_string());

    let missing_row = app
        .patch(
            &format!("/api/v1/agencies/{}", uuid::Uuid::new_v4()),
            &admin.access,
            Some("\"1\""),
            json!({ "active": false }),
        )
        .await;
    assert_eq!(missing_row.status, 404);
}

#[actix_web::test]
async fn collections_page_with_keyset_cursors_within_bounds() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    for i in 0..25 {
        app.create_agency(&admin, &format!("Agency {i:02}"), "other").await;
    }
    let first = app.get("/api/v1/agencies", &admin.access).await.json();
    assert_eq!(first["items"].as_array().unwrap().len(), 20);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app.get(&format!("/api/v1/agencies?cursor={cursor}"), &admin.access).await.json();
    assert_eq!(second["items"].as_array().unwrap().len(), 5);
    assert!(second["next_cursor"].is_null());
    let mut names: Vec<String> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["items"].as_array().unwrap())
        .map(|a| a["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 25, "no row repeated or skipped across pages");

    assert_eq!(
        app.get("/api/v1/agencies?limit=100", &admin.access).await.json()["items"].as_array().unwrap().len(),
        25
    );
    for bad in ["limit=101", "limit=0", "limit=-1", "limit=ten", "cursor=bogus"] {
        let res = app.get(&format!("/api/v1/agencies?{bad}"), &admin.access).await;
        assert_eq!(res.status, 400, "{bad}");
    }
    let one = app.get("/api/v1/agencies?limit=1&agency_type=other", &admin.access).await.json();
    assert_eq!(one["items"].as_array().unwrap().len(), 1);
    assert!(one["next_cursor"].is_string());
}

#[actix_web::test]
async fn agency_fields_are_validated_together() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let aliases: Vec<String> = (0..21).map(|i| format!("a{i}")).collect();
    let res = app
        .post(
            "/api/v1/agencies",
            Some(&admin.access),
            json!({ "name": "  ", "agency_type": "police", "aliases": aliases }),
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.field_errors(), vec![("name".into(), "blank".into()), ("aliases".into(), "too_many_items".into())]);
    let res =
        app.post("/api/v1/agencies", Some(&admin.access), json!({ "name": "...", "agency_type": "police" })).await;
    assert_eq!(res.field_errors(), vec![("name".into(), "no_letters_or_digits".into())]);
    let res = app
        .post("/api/v1/agencies", Some(&admin.access), json!({ "name": "x".repeat(201), "agency_type": "police" }))
        .await;
    assert_eq!(res.field_errors(), vec![("name".into(), "too_long".into())]);
}
