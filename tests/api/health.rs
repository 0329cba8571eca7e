use actix_web::http::Method;
use diesel::RunQueryDsl;
use serde_json::json;

use crate::helpers::{TestApp, TestDb};
use crate::process::Server;

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

#[actix_web::test]
async fn each_user_is_rate_limited_with_retry_after() {
    let db = TestDb::from_template();
    let app = TestApp::on_database(db, &[("CONFER_RATE_LIMIT_READS_PER_MINUTE", "5")]).await;
    confer::demo::create_admin(
        &mut app.db.conn(),
        crate::helpers::ADMIN_EMAIL,
        &secrecy::SecretString::from(crate::helpers::PASSWORD.to_owned()),
    )
    .unwrap();
    let admin = app.admin().await; // sign-in reads /me once
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(app.get("/api/v1/me", &admin.access).await);
    }
    let limited = statuses.iter().find(|r| r.status == 429).expect("the sixth read in a minute is refused");
    assert_eq!(limited.problem_type(), "/problems/too-many-requests");
    let retry_after = limited.header("retry-after").unwrap();
    assert!(retry_after.parse::<u64>().unwrap() >= 1);
    assert_eq!(limited.header("ratelimit").unwrap(), format!("\"reads\";r=0;t={retry_after}"));
    assert_eq!(limited.header("ratelimit-policy").unwrap(), "\"reads\";q=5;w=60");
    let allowed = &statuses[0];
    assert_eq!(allowed.status, 200);
    let state = allowed.header("ratelimit").unwrap();
    assert!(state.starts_with("\"reads\";r=3;t="), "one read went to sign-in, one to this: {state}");
    // Writes have a bucket of their own.
    let out = app.request(actix_web::http::Method::POST, "/api/v1/auth/logout", Some(&admin.access), None).await;
    assert_eq!(out.status, 204);
}

/// SECURITY.md F16: on SIGTERM readiness fails at once, requests already sent are all answered,
/// and the process exits 0.
#[test]
fn sigterm_drains_and_the_process_exits_zero() {
    use std::io::{Read, Write};
    let db = TestDb::from_template();
    confer::demo::seed(&mut db.conn()).unwrap();
    let server = Server::start(&db.url(), Server::free_port());
    let login =
        serde_json::json!({ "email": "coordinator@demo.confer.example", "password": confer::demo::DEMO_PASSWORD });
    let token = server.send("POST", "/api/v1/auth/login", None, None, Some(&login)).unwrap().json["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let in_flight: Vec<std::net::TcpStream> = (0..16)
        .map(|_| {
            let mut stream = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
            write!(
                stream,
                "GET /api/v1/panels HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
            )
            .unwrap();
            stream
        })
        .collect();
    server.signal("-TERM");
    // Draining: readiness fails while requests are still served.
    let drained = std::time::Instant::now();
    while server.send("GET", "/health/ready", None, None, None).unwrap().status != 503 {
        assert!(drained.elapsed() < std::time::Duration::from_millis(400), "readiness still 200 while draining");
    }
    for mut stream in in_flight {
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "an in-flight request was dropped: {answer:.80}");
    }
    let status = server.wait(std::time::Duration::from_secs(25));
    assert!(status.success(), "exit status {status}");
}

/// Connections are not tested on checkout: one that died while idle (here every backend of the
/// service is ended, as a PostgreSQL restart would) is found when used, evicted, and the request
/// carried on another, so no request fails for it.
#[actix_web::test]
async fn connections_that_died_while_idle_are_evicted_and_cost_no_request() {
    let db = TestDb::from_template();
    let app = TestApp::on_database(db, &[("CONFER_DB_POOL_SIZE", "4")]).await;
    app.seed_admin();
    let admin = app.sign_in(crate::helpers::ADMIN_EMAIL).await;
    // Fill the pool: four requests at once hold four connections.
    let filled = futures_util::future::join_all((0..4).map(|_| app.get("/api/v1/me", &admin.access))).await;
    assert!(filled.iter().all(|r| r.status == 200));

    let mut conn = app.db.conn();
    let ended: Vec<bool> = diesel::sql_query(format!(
        "SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE datname = '{}' AND pid <> pg_backend_pid()",
        app.db.0
    ))
    .load::<Ended>(&mut conn)
    .unwrap()
    .into_iter()
    .map(|e| e.ended)
    .collect();
    assert!(!ended.is_empty(), "the service held connections to end");

    for _ in 0..6 {
        let me = app.get("/api/v1/me", &admin.access).await;
        assert_eq!(me.status, 200, "{}", String::from_utf8_lossy(&me.body));
    }
}

#[derive(diesel::QueryableByName)]
struct Ended {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    ended: bool,
}
