use serde_json::json;

use crate::helpers::{PASSWORD, TestApp};

#[actix_web::test]
async fn admins_create_users_with_scoped_roles() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let police = app.create_agency(&admin, "Police", "police").await;
    let panel = app.create_panel(&admin, "MARAC", "marac", &[police]).await;
    let res = app
        .post(
            "/api/v1/users",
            Some(&admin.access),
            json!({
                "email": " Rep@Police.Example ", "display_name": "Rep", "agency_id": police, "password": PASSWORD,
                "roles": [{ "role": "agency_rep", "panel_id": panel }, { "role": "agency_rep", "panel_id": panel }]
            }),
        )
        .await;
    assert_eq!(res.status, 201);
    let body = res.json();
    assert_eq!(body["email"], "rep@police.example");
    assert_eq!(body["roles"], json!([{ "role": "agency_rep", "panel_id": panel }]), "repeats collapse");
    assert!(body.get("password_hash").is_none() && body.get("password").is_none());

    let listed = app.get(&format!("/api/v1/users?panel_id={panel}"), &admin.access).await.json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let by_role = app.get("/api/v1/users?role=system_admin", &admin.access).await.json();
    assert_eq!(by_role["items"].as_array().unwrap().len(), 1);

    let dup = app
        .post(
            "/api/v1/users",
            Some(&admin.access),
            json!({ "email": "REP@police.example", "display_name": "Again", "password": PASSWORD }),
        )
        .await;
    assert_eq!(dup.status, 409);
    assert_eq!(dup.field_errors(), vec![("email".into(), "email_in_use".into())]);
}

#[actix_web::test]
async fn user_records_are_checked_field_by_field() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let res = app
        .post(
            "/api/v1/users",
            Some(&admin.access),
            json!({
                "email": "not-an-email", "display_name": "", "password": "short",
                "roles": [{ "role": "coordinator" }, { "role": "system_admin", "panel_id": uuid::Uuid::new_v4() }]
            }),
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.field_errors(),
        vec![
            ("email".into(), "invalid_email".into()),
            ("display_name".into(), "blank".into()),
            ("password".into(), "too_short".into()),
            ("roles[0].panel_id".into(), "required_for_role".into()),
            ("roles[1].panel_id".into(), "not_allowed_for_role".into()),
        ]
    );
    let common = app
        .post(
            "/api/v1/users",
            Some(&admin.access),
            json!({ "email": "a@b.org", "display_name": "A", "password": "password1234" }),
        )
        .await;
    assert_eq!(common.field_errors(), vec![("password".into(), "too_common".into())]);

    let ghost_panel = uuid::Uuid::new_v4();
    let res = app
        .post(
            "/api/v1/users",
            Some(&admin.access),
            json!({
                "email": "c@b.org", "display_name": "C", "password": PASSWORD, "agency_id": uuid::Uuid::new_v4(),
                "roles": [{ "role": "chair", "panel_id": ghost_panel }]
            }),
        )
        .await;
    assert_eq!(res.status, 422);
    assert_eq!(
        res.field_errors(),
        vec![("agency_id".into(), "unknown_agency".into()), ("roles[0].panel_id".into(), "unknown_panel".into())]
    );
    let agency = app.create_agency(&admin, "Council", "community_safety_asb").await;
    let panel = app.create_panel(&admin, "JAG", "jag", &[agency]).await;
    let no_agency = app
        .post("/api/v1/users", Some(&admin.access), json!({ "email": "d@b.org", "display_name": "D", "password": PASSWORD, "roles": [{ "role": "coordinator", "panel_id": panel }] }))
        .await;
    assert_eq!(no_agency.status, 422);
    assert_eq!(no_agency.field_errors(), vec![("roles[0].role".into(), "requires_agency".into())]);
    let manager = app
        .post("/api/v1/users", Some(&admin.access), json!({ "email": "m@b.org", "display_name": "M", "password": PASSWORD, "roles": [{ "role": "manager", "panel_id": panel }] }))
        .await;
    assert_eq!(manager.status, 201, "a manager needs no agency");
}

#[actix_web::test]
async fn the_last_active_system_admin_cannot_be_removed() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let path = format!("/api/v1/users/{}", admin.user_id);
    let res = app.patch(&path, &admin.access, Some("\"1\""), json!({ "active": false })).await;
    assert_eq!(res.status, 422);
    assert_eq!(res.field_errors(), vec![("roles".into(), "last_active_system_admin".into())]);
    assert_eq!(app.get("/api/v1/me", &admin.access).await.status, 200, "nothing changed");
}

#[actix_web::test]
async fn a_password_change_takes_effect_and_cuts_off_old_tokens() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let agency = app.create_agency(&admin, "Probation", "probation").await;
    let user = app.user(&admin, "p@test.example", Some(agency), json!([])).await;
    let path = format!("/api/v1/users/{}", user.user_id);
    let res = app.patch(&path, &admin.access, Some("\"1\""), json!({ "password": "a brand new passphrase" })).await;
    assert_eq!(res.status, 200);
    assert_eq!(app.get("/api/v1/me", &user.access).await.status, 401);
    assert_eq!(app.login_as("p@test.example", PASSWORD).await.status, 401);
    assert_eq!(app.login_as("p@test.example", "a brand new passphrase").await.status, 200);
}

#[actix_web::test]
async fn a_role_grants_only_between_its_dates_and_the_list_shows_those_ending() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let police = app.create_agency(&admin, "Police", "police").await;
    let panel = app.create_panel(&admin, "MARAC", "marac", &[police]).await;
    let day = |n: i64| (chrono::Utc::now().date_naive() + chrono::Duration::days(n)).to_string();
    let role = |from: i64, to: i64| json!([{ "role": "agency_rep", "panel_id": panel, "valid_from": day(from), "valid_to": day(to) }]);
    let cases = format!("/api/v1/cases?panel_id={panel}");

    let current = app.user(&admin, "current@test.example", Some(police), role(-30, 10)).await;
    assert_eq!(app.get(&cases, &current.access).await.status, 200, "in force today");
    let ended = app.user(&admin, "ended@test.example", Some(police), role(-30, -1)).await;
    assert_eq!(app.get(&cases, &ended.access).await.status, 403, "ended yesterday");
    let future = app.user(&admin, "future@test.example", Some(police), role(1, 20)).await;
    assert_eq!(app.get(&cases, &future.access).await.status, 403, "starts tomorrow");

    // Ending a membership early is a role change: the caller's tokens stop at once.
    let id = app.get("/api/v1/me", &current.access).await.json()["id"].as_str().unwrap().to_owned();
    let record = app.get(&format!("/api/v1/users/{id}"), &admin.access).await;
    assert_eq!(record.json()["roles"][0]["valid_to"], json!(day(10)));
    let etag = record.header("etag").unwrap();
    let ended_now =
        app.patch(&format!("/api/v1/users/{id}"), &admin.access, Some(&etag), json!({ "roles": role(-30, -1) })).await;
    assert_eq!(ended_now.status, 200, "{}", String::from_utf8_lossy(&ended_now.body));
    assert_eq!(app.get(&cases, &current.access).await.status, 401);

    let soon = app.get("/api/v1/users?roles_expiring_within_days=30", &admin.access).await.json();
    let emails: Vec<&str> = soon["items"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
    assert_eq!(emails, ["future@test.example"], "ends within 30 days; the ended ones are past");
    let soon = app.get("/api/v1/users?roles_expiring_within_days=10", &admin.access).await.json();
    assert_eq!(soon["items"], json!([]), "day 20 is not within 10");

    let backwards = app
        .post(
            "/api/v1/users",
            Some(&admin.access),
            json!({ "email": "x@test.example", "display_name": "X", "agency_id": police,
            "password": PASSWORD, "roles": role(5, 1) }),
        )
        .await;
    assert_eq!(backwards.field_errors(), vec![("roles[0].valid_to".into(), "before_valid_from".into())]);
}
