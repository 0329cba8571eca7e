//! Crash safety (SECURITY.md §6): the server is killed with SIGKILL, repeatedly, while clients
//! refer cases concurrently. Every referral answered 201 must be in the database exactly once with
//! its audit event; a referral whose answer was lost is retried with the same Idempotency-Key
//! after the restart and must then be there exactly once too, never twice.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::sql_types::{BigInt, Text};
use diesel::{QueryableByName, RunQueryDsl, sql_query};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::cases::{days_ago, marac_referral, person};
use crate::helpers::TestDb;
use crate::process::Server;

const ROUNDS: usize = 20; // SECURITY.md F10: at least 20 kills
const WRITERS: usize = 4;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// What the clients know: referrals answered 201 (key → case id) and referrals sent whose
/// answer never came (key → body), to retry.
#[derive(Default)]
struct Ledger {
    answered: BTreeMap<String, String>,
    unanswered: BTreeMap<String, Value>,
}

fn referral(panel: &str, n: usize) -> Value {
    marac_referral(
        panel.parse().unwrap(),
        &days_ago(1),
        json!([{ "role": "victim", "person": person(&format!("Ledger{n}")) }]),
        json!({ "criteria": { "professional_judgement": { "reason": "Crash test" } } }),
    )
}

fn sign_in(server: &Server) -> String {
    let login = json!({ "email": "idva@demo.confer.example", "password": confer::demo::DEMO_PASSWORD });
    let answer = server.send("POST", "/api/v1/auth/login", None, Some(&Uuid::new_v4().to_string()), Some(&login));
    answer.unwrap().json["access_token"].as_str().unwrap().to_owned()
}

/// A client's retry: 409 means PostgreSQL has not yet rolled back the killed server's
/// transaction holding the key, so wait a little and send again.
fn retry_until_answered(server: &Server, token: &str, key: &str, body: &Value) -> String {
    for _ in 0..100 {
        let retry = server.send("POST", "/api/v1/cases", Some(token), Some(key), Some(body)).unwrap();
        match retry.status {
            201 => return retry.json["id"].as_str().unwrap().to_owned(),
            409 => std::thread::sleep(Duration::from_millis(100)),
            other => panic!("a retried referral answered {other}: {}", retry.json),
        }
    }
    panic!("a retried referral stayed in flight for ten seconds")
}

#[test]
fn every_answered_referral_survives_sigkill_exactly_once_with_its_audit_event() {
    let db = TestDb::from_template();
    confer::demo::seed(&mut db.conn()).unwrap();
    let port = Server::free_port();
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut token = None;
    let mut panel = None;
    let mut sent = 0usize;
    let mut retried = 0usize;

    for round in 0..=ROUNDS {
        let server = Server::start(&db.url(), port);
        let token = token.get_or_insert_with(|| sign_in(&server)).clone();
        let panel = panel
            .get_or_insert_with(|| {
                let panels = server.send("GET", "/api/v1/panels", Some(&token), None, None).unwrap().json;
                let items = panels["items"].as_array().unwrap();
                let marac = items.iter().find(|p| p["kind"] == "marac").expect("the demo has a MARAC");
                marac["id"].as_str().unwrap().to_owned()
            })
            .clone();

        // Retry, with the same key and body, every referral whose answer the last crash lost.
        let unanswered = std::mem::take(&mut ledger.lock().unwrap().unanswered);
        retried += unanswered.len();
        for (key, body) in unanswered {
            let id = retry_until_answered(&server, &token, &key, &body);
            ledger.lock().unwrap().answered.insert(key, id);
        }
        if round == ROUNDS {
            break; // the last start only settles the retries
        }

        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (ledger, token, panel) = (ledger.clone(), token.clone(), panel.clone());
                let first = sent + w * 10_000;
                std::thread::spawn(move || {
                    for n in first.. {
                        let key = Uuid::new_v4().to_string();
                        let body = referral(&panel, n);
                        match crate::process::send(port, "POST", "/api/v1/cases", Some(&token), Some(&key), Some(&body))
                        {
                            Ok(answer) if answer.status == 201 && answer.json["id"].is_string() => {
                                let id = answer.json["id"].as_str().unwrap().to_owned();
                                ledger.lock().unwrap().answered.insert(key, id);
                            }
                            Ok(answer) if answer.status != 201 => {
                                panic!("a referral answered {}: {}", answer.status, answer.json)
                            }
                            _ => {
                                // Refused connections sent nothing; a cut-off one may have been
                                // committed, so it is retried either way.
                                ledger.lock().unwrap().unanswered.insert(key, body);
                                return;
                            }
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(rand::random_range(150..500)));
        server.signal("-KILL");
        let status = server.wait(Duration::from_secs(10));
        assert!(!status.success(), "SIGKILL ends the process");
        for writer in writers {
            writer.join().expect("a writer panicked");
        }
        sent += WRITERS * 10_000;
    }

    let ledger = ledger.lock().unwrap();
    eprintln!("{ROUNDS} kills: {} referrals answered, {retried} retried after a kill", ledger.answered.len());
    assert!(ledger.unanswered.is_empty());
    assert!(ledger.answered.len() >= ROUNDS * WRITERS, "the load did write: {}", ledger.answered.len());
    let ids: BTreeSet<&String> = ledger.answered.values().collect();
    assert_eq!(ids.len(), ledger.answered.len(), "two keys were answered with one case");

    let mut conn = db.conn();
    let count = |conn: &mut diesel::PgConnection, sql: &str, id: &str| {
        sql_query(sql).bind::<Text, _>(id).get_result::<Count>(conn).unwrap().n
    };
    for id in &ids {
        assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM cases WHERE id = $1::uuid", id), 1, "case {id}");
        let audited = "SELECT count(*) AS n FROM audit_events WHERE action = 'collect' AND object_type = 'case' \
                       AND outcome = 'ok' AND $1::uuid = ANY(object_ids)";
        assert_eq!(count(&mut conn, audited, id), 1, "the audit event of case {id}");
    }
    let all_cases = sql_query("SELECT count(*) AS n FROM cases").get_result::<Count>(&mut conn).unwrap().n;
    assert_eq!(all_cases as usize, ids.len(), "no case exists that no client was answered about");
}
