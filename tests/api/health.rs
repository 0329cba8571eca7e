use actix_web::http::Method;
use serde_json::json;

use crate::helpers::{TestApp, TestDb};

#[actix_web::test]
async fn live_and_ready_answer_when_the_database_is_up() {
    let app = TestApp::spawn().await;
    let live = app.request(Method::GET, "/health/live", None, None).await;
    assert_eq!(live.status, 200);
    let ready = app.request(Method::GET, "/health/ready", None, None).await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json()["status"], "ready");
}

/// The app points at a port where no database listens: the same as a stopped PostgreSQL.
#[actix_web::test]
async fn with_the_database_down_readiness_and_data_routes_answer_503_while_liveness_stays_up() {
    let unreachable = "postgres://postgres@127.0.0.1:1/none";
    let app =
        TestApp::with_database_url(TestDb::empty(), unreachable, &[("CONFER_DB_CHECKOUT_TIMEOUT_MS", "300")]).await;
    let started = std::time::Instant::now();
    let ready = app.request(Method::GET, "/health/ready", None, None).await;
    assert_eq!(ready.status, 503);
    assert_eq!(ready.problem_type(), "/problems/service-unavailable");
    assert!(started.elapsed() < std::time::Duration::from_secs(3), "readiness must not hang");

    let login = app.post("/api/v1/auth/login", None, json!({ "email": "a@b.org", "password": "whatever it is" })).await;
    assert_eq!(login.status, 503);
    assert!(login.header("retry-after").is_some());
    assert!(!String::from_utf8_lossy(&login.body).contains("127.0.0.1"), "no connection detail leaks");

    assert_eq!(app.request(Method::GET, "/health/live", None, None).await.status, 200);
}

#[actix_web::test]
async fn readiness_fails_while_migrations_are_pending() {
    let app = TestApp::on_database(TestDb::empty(), &[]).await;
    let ready = app.request(Method::GET, "/health/ready", None, None).await;
    assert_eq!(ready.status, 503);
}
