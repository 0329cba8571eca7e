use actix_web::http::Method;
use actix_web::test::TestRequest;
use confer::startup::ROUTES;
use serde_json::json;

use crate::helpers::{TestApp, concrete_paths};

#[actix_web::test]
async fn unknown_routes_answer_a_404_problem() {
    let app = TestApp::spawn().await;
    let res = app.request(Method::GET, "/api/v1/nothing-here", None, None).await;
    assert_eq!(res.status, 404);
    assert_eq!(res.problem_type(), "/problems/not-found");
    assert!(res.json()["instance"].as_str().unwrap().starts_with("urn:request:"));
    assert_eq!(
        res.json()["instance"].as_str().unwrap(),
        format!("urn:request:{}", res.header("x-request-id").unwrap())
    );
}

#[actix_web::test]
async fn every_path_answers_405_with_allow_for_methods_it_does_not_serve() {
    let app = TestApp::spawn().await;
    let mut checked = 0;
    for (_, pattern, path) in concrete_paths() {
        let served: Vec<&str> =
            confer::startup::ROUTES.iter().filter(|r| r.path == pattern).map(|r| r.method).collect();
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE", "TRACE"] {
            if served.contains(&method) {
                continue;
            }
            let res = app.request(Method::from_bytes(method.as_bytes()).unwrap(), &path, None, None).await;
            assert_eq!(res.status, 405, "{method} {pattern}");
            assert_eq!(res.problem_type(), "/problems/method-not-allowed");
            let allow = res.header("allow").unwrap();
            for m in &served {
                assert!(allow.contains(m), "{method} {pattern}: Allow {allow} lacks {m}");
            }
            checked += 1;
        }
    }
    assert!(checked > 40, "checked {checked} method/path pairs");
}

#[actix_web::test]
async fn bad_bodies_get_415_413_and_400_problems() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let auth = ("authorization", format!("Bearer {}", admin.access));

    let wrong_type = app
        .call(
            TestRequest::post()
                .uri("/api/v1/agencies")
                .insert_header(auth.clone())
                .insert_header(("content-type", "text/plain"))
                .set_payload("{}"),
        )
        .await;
    assert_eq!(wrong_type.status, 415);
    assert_eq!(wrong_type.problem_type(), "/problems/unsupported-media-type");

    let huge = format!("{{\"name\": \"{}\", \"agency_type\": \"police\"}}", "x".repeat(70_000));
    let too_big = app
        .call(
            TestRequest::post()
                .uri("/api/v1/agencies")
                .insert_header(auth.clone())
                .insert_header(("content-type", "application/json"))
                .set_payload(huge),
        )
        .await;
    assert_eq!(too_big.status, 413);
    assert_eq!(too_big.problem_type(), "/problems/payload-too-large");

    let malformed = app
        .call(
            TestRequest::post()
                .uri("/api/v1/agencies")
                .insert_header(auth.clone())
                .insert_header(("content-type", "application/json"))
                .set_payload("{\"name\": "),
        )
        .await;
    assert_eq!(malformed.status, 400);
    assert_eq!(malformed.problem_type(), "/problems/malformed-request");

    let nul = app
        .post("/api/v1/agencies", Some(&admin.access), json!({ "name": "Po\u{0}lice", "agency_type": "police" }))
        .await;
    assert_eq!(nul.status, 400);
    assert_eq!(nul.field_errors(), vec![("name".into(), "nul_character".into())]);

    let unknown = app
        .post("/api/v1/agencies", Some(&admin.access), json!({ "name": "Police", "agency_type": "police", "id": "x" }))
        .await;
    assert_eq!(unknown.field_errors(), vec![("id".into(), "unknown_field".into())]);

    let bad_enum =
        app.post("/api/v1/agencies", Some(&admin.access), json!({ "name": "Police", "agency_type": "cops" })).await;
    assert_eq!(bad_enum.status, 422, "the right shape with a value the domain does not allow");
    assert_eq!(bad_enum.field_errors(), vec![("agency_type".into(), "not_an_allowed_value".into())]);

    let bad_uuid = app.get("/api/v1/agencies/not-a-uuid", &admin.access).await;
    assert_eq!(bad_uuid.status, 400);
    assert_eq!(bad_uuid.field_errors(), vec![("path".into(), "invalid_path_parameter".into())]);

    let bad_query = app.get("/api/v1/agencies?colour=red", &admin.access).await;
    assert_eq!(bad_query.status, 400);
    assert_eq!(bad_query.field_errors(), vec![("colour".into(), "unknown_field".into())]);

    for res in [&wrong_type, &too_big, &malformed, &nul, &bad_uuid] {
        let text = String::from_utf8_lossy(&res.body);
        for leak in ["diesel", "serde", "src/", "actix", "expected"] {
            assert!(!text.contains(leak), "{text} leaks {leak}");
        }
    }
}

#[actix_web::test]
async fn unauthenticated_calls_get_401_and_ungranted_roles_get_403_before_validation() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let agency = app.create_agency(&admin, "Housing", "housing_local_authority").await;
    let panel = app.create_panel(&admin, "CMARAC", "cmarac", &[agency]).await;
    let _ =
        app.user(&admin, "rep@test.example", Some(agency), json!([{ "role": "agency_rep", "panel_id": panel }])).await;

    for (method, pattern, path) in concrete_paths() {
        let route = ROUTES.iter().find(|r| r.path == pattern && r.method == method).unwrap();
        if matches!(route.grant, confer::state::Grant::Public) {
            continue;
        }
        let m = Method::from_bytes(method.as_bytes()).unwrap();
        let anonymous = app.request(m.clone(), &path, None, Some(json!({ "nonsense": true }))).await;
        assert_eq!(anonymous.status, 401, "{method} {pattern}");
        assert_eq!(anonymous.header("www-authenticate").as_deref(), Some("Bearer"));
        // A fresh sign-in each time: the sweep calls logout too.
        let rep = app.sign_in("rep@test.example").await;
        let as_rep = app.request(m, &path, Some(&rep.access), Some(json!({ "nonsense": true }))).await;
        if route.grant.allows(&confer::domain::AuthUser {
            user_id: confer::domain::UserId(rep.user_id),
            session_id: confer::domain::SessionId(uuid::Uuid::nil()),
            agency_id: None,
            roles: vec![confer::domain::RoleGrant::standing(confer::domain::Role::AgencyRep, None)],
            policy: std::sync::Arc::new([]),
        }) {
            // Granted: any refusal now is an object-level one, never the function check.
            if as_rep.status == 403 {
                assert_ne!(as_rep.problem_type(), "/problems/function-not-permitted", "{method} {pattern}");
            }
        } else {
            assert_eq!(as_rep.status, 403, "{method} {pattern}: the function check comes before body validation");
            assert_eq!(as_rep.problem_type(), "/problems/function-not-permitted");
        }
    }
}
