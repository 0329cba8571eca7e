//! Two processes of the real binary behind one (imagined) balancer, on one database (issue 12):
//! everything that must be shared is held in PostgreSQL, not in process memory. A retried
//! referral that lands on the other process is created once; one user's rate limit and one
//! account's sign-in backoff count across both; both run their audit sealer and the chain they
//! build together verifies.

use std::time::Duration;

use serde_json::{Value, json};
use uuid::Uuid;

use crate::cases::{days_ago, marac_referral, person};
use crate::helpers::TestDb;
use crate::process::Server;

fn login(server: &Server, password: &str) -> crate::process::Answer {
    let body = json!({ "email": "idva@demo.confer.example", "password": password });
    server.send("POST", "/api/v1/auth/login", None, None, Some(&body)).unwrap()
}

#[test]
fn two_server_processes_share_retries_rate_limits_throttles_and_the_audit_chain() {
    let db = TestDb::from_template();
    confer::demo::seed(&mut db.conn()).unwrap();
    let env = [("CONFER_RATE_LIMIT_READS_PER_MINUTE", "10")];
    let a = Server::start_with(&db.url(), Server::free_port(), &env);
    let b = Server::start_with(&db.url(), Server::free_port(), &env);
    let token = login(&a, confer::demo::DEMO_PASSWORD).json["access_token"].as_str().unwrap().to_owned();

    // A referral sent to A, its answer lost, retried with the same key on B: one case.
    let panels = a.send("GET", "/api/v1/panels", Some(&token), None, None).unwrap().json;
    let marac = panels["items"].as_array().unwrap().iter().find(|p| p["kind"] == "marac").unwrap()["id"].clone();
    let body: Value = marac_referral(
        marac.as_str().unwrap().parse().unwrap(),
        &days_ago(1),
        json!([{ "role": "victim", "person": person("Twoserver") }]),
        json!({ "criteria": { "professional_judgement": { "reason": "Two processes" } } }),
    );
    let key = Uuid::new_v4().to_string();
    let first = a.send("POST", "/api/v1/cases", Some(&token), Some(&key), Some(&body)).unwrap();
    assert_eq!(first.status, 201, "{}", first.json);
    let retry = b.send("POST", "/api/v1/cases", Some(&token), Some(&key), Some(&body)).unwrap();
    assert_eq!(retry.status, 201, "{}", retry.json);
    assert_eq!(retry.json["id"], first.json["id"], "the retry on the other process answers with the same case");
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    use diesel::RunQueryDsl;
    let cases: N = diesel::sql_query("SELECT count(*) AS n FROM cases c JOIN case_participants p ON p.case_id = c.id JOIN people pe ON pe.id = p.person_id WHERE pe.surname = 'Twoserver'")
        .get_result(&mut db.conn())
        .unwrap();
    assert_eq!(cases.n, 1);

    // Reads alternate between the processes: ten a minute in all, not ten each. (The panels
    // list above took one; the bucket refills one token every six seconds.)
    let statuses: Vec<u16> = (0..14)
        .map(|i| {
            let server = if i % 2 == 0 { &a } else { &b };
            server.send("GET", "/api/v1/me", Some(&token), None, None).unwrap().status
        })
        .collect();
    let allowed = statuses.iter().filter(|s| **s == 200).count();
    assert!(statuses.iter().all(|s| *s == 200 || *s == 429), "{statuses:?}");
    assert!((9..=10).contains(&allowed), "one bucket across both processes: {statuses:?}");
    assert_eq!(statuses.last(), Some(&429));

    // Five wrong passwords spread over both, then even the right one waits, on either.
    for i in 0..5 {
        let server = if i % 2 == 0 { &a } else { &b };
        assert_eq!(login(server, "not the password").status, 401);
    }
    assert_eq!(login(&a, confer::demo::DEMO_PASSWORD).status, 429);
    assert_eq!(login(&b, confer::demo::DEMO_PASSWORD).status, 429);

    // Both sealers have been linking events; give them a round, then the chain verifies whole.
    std::thread::sleep(confer::audit::SEAL_INTERVAL * 3 + Duration::from_millis(200));
    let verify = std::process::Command::new(env!("CARGO_BIN_EXE_confer"))
        .args(["audit", "verify"])
        .env("DATABASE_URL", db.url())
        .env("CONFER_JWT_KEYS", format!("cli:{}", *crate::helpers::JWT_KEY_B64))
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));
    let pending: N = diesel::sql_query("SELECT count(*) AS n FROM audit_pending").get_result(&mut db.conn()).unwrap();
    assert_eq!(pending.n, 0, "every event sealed");
}
