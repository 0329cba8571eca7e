//! The test harness: a fresh database per test, cloned from a migrated template, and the real
//! application built through `startup::app`. Every JSON response is checked against the schema
//! `openapi.yaml` gives for its operation and status.

use std::sync::LazyLock;

use actix_service::boxed::{BoxService, service};
use actix_web::body::{BoxBody, to_bytes};
use actix_web::dev::ServiceResponse;
use actix_web::http::{Method, StatusCode, header};
use actix_web::test::{self, TestRequest};
use actix_web::web;
use confer::config::Config;
use confer::db;
use confer::startup::{self, ROUTES};
use confer::state::AppState;
use diesel::prelude::*;
use diesel::{Connection, PgConnection, RunQueryDsl, sql_query};
use serde_json::{Value, json};
use uuid::Uuid;

pub const ADMIN_EMAIL: &str = "admin@test.example";
pub const PASSWORD: &str = "a long test password";
/// The signing key of this test run: random, as the service insists (a published or
/// low-entropy key is refused).
pub static JWT_KEY_BYTES: LazyLock<[u8; 32]> = LazyLock::new(|| std::array::from_fn(|_| rand_byte()));
pub static JWT_KEY_B64: LazyLock<String> = LazyLock::new(|| {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(*JWT_KEY_BYTES)
});

fn rand_byte() -> u8 {
    Uuid::new_v4().as_bytes()[0]
}

pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .expect("TEST_DATABASE_URL must name a PostgreSQL server: run the suite with scripts/test.sh")
}

pub fn url_for(db: &str) -> String {
    let base = admin_url();
    let (server, _) = base.rsplit_once('/').expect("TEST_DATABASE_URL ends in /database");
    format!("{server}/{db}")
}

fn admin_conn() -> PgConnection {
    PgConnection::establish(&admin_url()).expect("connect to the test cluster")
}

/// A name that changes whenever a migration does, so an edited migration gets a new template.
fn migrations_hash() -> u64 {
    use std::collections::hash_map::DefaultHasher;
    use std::hash::{Hash, Hasher};
    let mut h = DefaultHasher::new();
    let mut dirs: Vec<_> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    for dir in dirs {
        for file in ["up.sql", "down.sql"] {
            dir.join(file).to_string_lossy().hash(&mut h);
            std::fs::read_to_string(dir.join(file)).unwrap_or_default().hash(&mut h);
        }
    }
    h.finish()
}

static TEMPLATE: LazyLock<String> = LazyLock::new(|| {
    let name = format!("tmpl_{:016x}", migrations_hash());
    let mut admin = admin_conn();
    sql_query("SELECT pg_advisory_lock(727001)").execute(&mut admin).unwrap();
    if !database_exists(&mut admin, &name) {
        sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin).unwrap();
        let mut c = PgConnection::establish(&url_for(&name)).unwrap();
        db::migrate(&mut c).unwrap();
    }
    sql_query("SELECT pg_advisory_unlock(727001)").execute(&mut admin).unwrap();
    name
});

#[derive(QueryableByName)]
struct Exists {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    exists: bool,
}

pub fn database_exists(conn: &mut PgConnection, name: &str) -> bool {
    sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
        .bind::<diesel::sql_types::Text, _>(name)
        .get_result::<Exists>(conn)
        .unwrap()
        .exists
}

/// A database of its own, dropped when the value is.
pub struct TestDb(pub String);

impl TestDb {
    pub fn from_template() -> Self {
        let name = format!("t_{}", Uuid::new_v4().simple());
        sql_query(format!("CREATE DATABASE {name} TEMPLATE {}", *TEMPLATE)).execute(&mut admin_conn()).unwrap();
        Self(name)
    }

    pub fn empty() -> Self {
        let name = format!("t_{}", Uuid::new_v4().simple());
        sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin_conn()).unwrap();
        Self(name)
    }

    pub fn url(&self) -> String {
        url_for(&self.0)
    }

    pub fn conn(&self) -> PgConnection {
        PgConnection::establish(&self.url()).unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = sql_query(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.0)).execute(&mut admin_conn());
    }
}

/// With `CONFER_TEST_LOG` set, the application's logs (JSON, at debug level) go to that file, so
/// scripts/test.sh can check that no secret or personal data reaches a log line (SECURITY.md F15).
fn init_log_capture() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if let Ok(path) = std::env::var("CONFER_TEST_LOG") {
            let file = std::fs::OpenOptions::new().create(true).append(true).open(path).expect("log file opens");
            let _ = tracing_subscriber::fmt()
                .json()
                .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
                .with_writer(std::sync::Mutex::new(file))
                .try_init();
        }
    });
}

pub fn config_for(database_url: &str, extra: &[(&str, &str)]) -> Config {
    let mut vars: Vec<(String, String)> = vec![
        ("DATABASE_URL".into(), database_url.into()),
        ("CONFER_JWT_KEYS".into(), format!("test:{}", *JWT_KEY_B64)),
        ("CONFER_DB_CHECKOUT_TIMEOUT_MS".into(), "1000".into()),
        ("CONFER_JSON_BODY_LIMIT_BYTES".into(), "65536".into()),
        ("CONFER_RATE_LIMIT_READS_PER_MINUTE".into(), "100000".into()),
        ("CONFER_RATE_LIMIT_WRITES_PER_MINUTE".into(), "100000".into()),
    ];
    vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Config::from_lookup(|name| vars.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone())).unwrap()
}

type Svc = BoxService<actix_http::Request, ServiceResponse<BoxBody>, actix_web::Error>;

pub struct TestApp {
    // The service holds the pool; fields drop in order, and the database must go last.
    service: Svc,
    /// The harness's own connection for the per-request audit check, opened once.
    audit_conn: std::sync::Mutex<Option<PgConnection>>,
    pub db: TestDb,
}

/// A response, read whole.
#[derive(Debug, Clone)]
pub struct Res {
    pub status: StatusCode,
    pub headers: header::HeaderMap,
    pub body: Vec<u8>,
}

impl Res {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).map(|v| v.to_str().unwrap().to_owned())
    }

    /// The body with the request id blanked, for byte comparisons between two answers.
    pub fn body_without_request_id(&self) -> String {
        let mut v = self.json();
        if let Some(obj) = v.as_object_mut() {
            obj.remove("instance");
        }
        v.to_string()
    }

    pub fn problem_type(&self) -> String {
        assert_eq!(self.header("content-type").as_deref(), Some("application/problem+json"), "{self:?}");
        self.json()["type"].as_str().unwrap().to_owned()
    }

    pub fn field_errors(&self) -> Vec<(String, String)> {
        self.json()["errors"]
            .as_array()
            .map(|a| {
                a.iter().map(|e| (e["field"].as_str().unwrap().into(), e["code"].as_str().unwrap().into())).collect()
            })
            .unwrap_or_default()
    }
}

/// Credentials of a signed-in test user.
#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: Uuid,
    pub access: String,
    pub refresh: String,
}

impl TestApp {
    pub async fn spawn() -> Self {
        let db = TestDb::from_template();
        let app = Self::on_database(db, &[]).await;
        app.seed_admin();
        app
    }

    pub async fn on_database(db: TestDb, extra: &[(&str, &str)]) -> Self {
        let url = db.url();
        Self::with_database_url(db, &url, extra).await
    }

    /// An app whose pool uses `url` (say, a server that is down) instead of `db`.
    pub async fn with_database_url(db: TestDb, url: &str, extra: &[(&str, &str)]) -> Self {
        init_log_capture();
        let config = config_for(url, extra);
        let pool = db::pool(&config);
        let state = web::Data::new(AppState::new(&config, pool, ROUTES));
        let service = service(test::init_service(startup::app(state)).await);
        Self { service, audit_conn: std::sync::Mutex::new(None), db }
    }

    pub fn seed_admin(&self) {
        let mut conn = self.db.conn();
        confer::demo::create_admin(&mut conn, ADMIN_EMAIL, &secrecy::SecretString::from(PASSWORD.to_owned())).unwrap();
    }

    pub async fn call(&self, req: TestRequest) -> Res {
        let (method, path, res) = self.call_unchecked(req).await;
        crate::contract::check_response(&method, &path, &res);
        self.check_audit(&method, &path, &res);
        res
    }

    /// As `call`, without the contract and audit checks: for tests that break the service on
    /// purpose.
    pub async fn call_unchecked(&self, req: TestRequest) -> (Method, String, Res) {
        let req = req.to_request();
        let method = req.method().clone();
        let path = req.path().to_owned();
        let res = actix_service::Service::call(&self.service, req).await.expect("the service answers");
        let status = res.status();
        let headers = res.headers().clone();
        let body = to_bytes(res.into_body()).await.map(|b| b.to_vec()).unwrap_or_default();
        (method, path, Res { status, headers, body })
    }

    /// SECURITY.md AU-1 and F12, on every request of the suite: a request to a case-data route
    /// leaves exactly one audit event, and one that succeeded leaves the handler's own (written in
    /// its transaction, naming what it touched), not the guard's backstop (`object_type` request).
    fn check_audit(&self, method: &Method, path: &str, res: &Res) {
        let Some(route) = crate::contract::route_for(method.as_str(), path) else { return };
        if !matches!(route.grant, confer::state::Grant::CaseData(..)) {
            return;
        }
        let Some(request_id) = res.header("x-request-id") else { return };
        #[derive(QueryableByName)]
        struct Events {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            backstop: i64,
        }
        let events: Events = sql_query(
            "SELECT count(*) AS n, count(*) FILTER (WHERE object_type = 'request') AS backstop
               FROM audit_events WHERE request_id = $1",
        )
        .bind::<diesel::sql_types::Text, _>(&request_id)
        .get_result(self.audit_conn.lock().unwrap().get_or_insert_with(|| self.db.conn()))
        .unwrap();
        let context = format!("{method} {} -> {}", route.path, res.status.as_u16());
        assert_eq!(events.n, 1, "{context}: exactly one audit event per case-data request");
        if res.status.is_success() {
            assert_eq!(events.backstop, 0, "{context}: the handler records its own event in its transaction");
        }
    }

    /// A request as a well-behaved client sends it: every POST carries a fresh Idempotency-Key.
    pub async fn request(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Res {
        let mut req = TestRequest::default().method(method.clone()).uri(path);
        if method == Method::POST {
            req = req.insert_header(("idempotency-key", Uuid::new_v4().to_string()));
        }
        if let Some(t) = token {
            req = req.insert_header((header::AUTHORIZATION, format!("Bearer {t}")));
        }
        if let Some(b) = body {
            req = req.set_json(b);
        }
        self.call(req).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Res {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Res {
        self.request(Method::POST, path, token, Some(body)).await
    }

    /// A POST with the given Idempotency-Key, as a client retrying a create sends it.
    pub async fn post_with_key(&self, path: &str, token: &str, key: &str, body: Value) -> Res {
        let req = TestRequest::post()
            .uri(path)
            .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
            .insert_header(("idempotency-key", key))
            .set_json(body);
        self.call(req).await
    }

    pub async fn patch(&self, path: &str, token: &str, if_match: Option<&str>, body: Value) -> Res {
        let mut req = TestRequest::patch()
            .uri(path)
            .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
            .set_json(body);
        if let Some(tag) = if_match {
            req = req.insert_header((header::IF_MATCH, tag));
        }
        self.call(req).await
    }

    pub async fn login_as(&self, email: &str, password: &str) -> Res {
        self.post("/api/v1/auth/login", None, json!({ "email": email, "password": password })).await
    }

    pub async fn sign_in(&self, email: &str) -> Session {
        let res = self.login_as(email, PASSWORD).await;
        assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
        let body = res.json();
        let access = body["access_token"].as_str().unwrap().to_owned();
        let me = self.get("/api/v1/me", &access).await.json();
        Session {
            user_id: me["id"].as_str().unwrap().parse().unwrap(),
            access,
            refresh: body["refresh_token"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn admin(&self) -> Session {
        self.sign_in(ADMIN_EMAIL).await
    }

    pub async fn create_agency(&self, admin: &Session, name: &str, agency_type: &str) -> Uuid {
        let res = self
            .post("/api/v1/agencies", Some(&admin.access), json!({ "name": name, "agency_type": agency_type }))
            .await;
        assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
        res.json()["id"].as_str().unwrap().parse().unwrap()
    }

    pub async fn create_panel(&self, admin: &Session, name: &str, kind: &str, members: &[Uuid]) -> Uuid {
        let members: Vec<Value> =
            members.iter().map(|id| json!({ "agency_id": id, "isa_signed_on": "2026-01-05" })).collect();
        let res = self
            .post(
                "/api/v1/panels",
                Some(&admin.access),
                json!({ "kind": kind, "name": name, "local_area": "Brent", "meeting_cadence": "monthly", "members": members }),
            )
            .await;
        assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
        res.json()["id"].as_str().unwrap().parse().unwrap()
    }

    /// Creates a user with `roles` (`[{ "role": …, "panel_id": … }]`) and signs them in.
    pub async fn user(&self, admin: &Session, email: &str, agency: Option<Uuid>, roles: Value) -> Session {
        let res = self
            .post(
                "/api/v1/users",
                Some(&admin.access),
                json!({ "email": email, "display_name": "Test User", "agency_id": agency, "password": PASSWORD, "roles": roles }),
            )
            .await;
        assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
        self.sign_in(email).await
    }
}

/// Every path the route table declares, with its parameters filled in by random ids.
pub fn concrete_paths() -> Vec<(&'static str, &'static str, String)> {
    ROUTES
        .iter()
        .map(|r| {
            let path = r
                .path
                .split('/')
                .map(|seg| if seg.starts_with('{') { Uuid::new_v4().to_string() } else { seg.to_owned() })
                .collect::<Vec<_>>()
                .join("/");
            (r.method, r.path, path)
        })
        .collect()
}
