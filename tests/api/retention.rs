//! Retention and erasure (issue 15, DP-2): a legal hold keeps a case; once lifted, the job run
//! as of a date past the retention erases every value planted in the case and its people from
//! every table, while the figures of past periods stay byte for byte the same.

use diesel::RunQueryDsl;
use serde_json::{Value, json};

use crate::cases::{days_ago, marac_referral, world};
use crate::metrics::hold_meeting;

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

/// Rows of the whole database (every table of the schema, every column as text) holding `needle`.
fn rows_holding(conn: &mut diesel::PgConnection, needle: &str) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Table {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let tables: Vec<Table> = diesel::sql_query(
        "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    )
    .load(conn)
    .unwrap();
    let mut found = Vec::new();
    for t in tables {
        let n: N =
            diesel::sql_query(format!("SELECT count(*) AS n FROM \"{0}\" t WHERE t::text LIKE '%{needle}%'", t.name))
                .get_result(conn)
                .unwrap();
        if n.n > 0 {
            found.push(format!("{}: {}", t.name, n.n));
        }
    }
    found
}

fn retention_run(w: &crate::cases::World, args: &[&str]) -> Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_confer"))
        .args(["retention", "run"])
        .args(args)
        .env("DATABASE_URL", w.app.db.url())
        .env("CONFER_JWT_KEYS", format!("cli:{}", *crate::helpers::JWT_KEY_B64))
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[actix_web::test]
async fn erasure_removes_every_planted_value_and_leaves_past_figures_identical() {
    let w = world().await;
    let seventeen = (chrono::Utc::now().date_naive() - chrono::Duration::days(20 + 17 * 365 + 30)).to_string();
    let pj = json!({ "criteria": { "professional_judgement": { "reason": "CANARY-pj" } }, "summary": "CANARY-summary",
                     "safety_plan": "CANARY-safety-plan" });
    let erased = w
        .refer(
            &w.idva,
            marac_referral(
                w.marac,
                &days_ago(20),
                json!([{ "role": "victim", "person": { "surname": "CANARY-victim", "forenames": "CANARY-forename",
                           "date_of_birth": seventeen, "lgbt": "yes", "address": "CANARY-address",
                           "safe_contact_details": "CANARY-safe" } },
                       { "role": "perpetrator", "person": { "surname": "Keptperp" } }]),
                pj,
            ),
        )
        .await;
    let c = id(&erased);
    let perpetrator =
        erased["participants"].as_array().unwrap().iter().find(|p| p["role"] == "perpetrator").unwrap()["person"]["id"]
            .clone();
    // The perpetrator is on a second case that is kept: their record stays.
    let kept = w
        .refer(
            &w.idva,
            marac_referral(
                w.marac,
                &days_ago(12),
                json!([{ "role": "victim", "person": { "surname": "Keptvictim" } },
                       { "role": "perpetrator", "person_id": perpetrator }]),
                json!({ "criteria": { "professional_judgement": { "reason": "Concern" } } }),
            ),
        )
        .await;
    for to in ["screening", "accepted"] {
        assert_eq!(w.move_to(&c, to, None).await.status, 200);
        assert_eq!(w.move_to(&id(&kept), to, None).await.status, 200);
    }
    hold_meeting(&w, &days_ago(10), &[&c, &id(&kept)]).await;
    let note = w
        .app
        .post(&format!("/api/v1/cases/{c}/research-notes"), Some(&w.idva.access), json!({ "body": "CANARY-note" }))
        .await;
    assert_eq!(note.status, 201, "{}", String::from_utf8_lossy(&note.body));
    let action = w
        .app
        .post(
            &format!("/api/v1/cases/{c}/actions"),
            Some(&w.coordinator.access),
            json!({ "description": "CANARY-action", "owner_agency_id": w.police_agency, "due_date": days_ago(-3) }),
        )
        .await
        .json();
    let done = w
        .app
        .patch(
            &format!("/api/v1/actions/{}", id(&action)),
            &w.coordinator.access,
            Some("\"1\""),
            json!({ "status": "completed", "outcome_note": "CANARY-outcome" }),
        )
        .await;
    assert_eq!(done.status, 200, "{}", String::from_utf8_lossy(&done.body));
    let version =
        w.app.get(&format!("/api/v1/cases/{c}"), &w.coordinator.access).await.json()["version"].as_i64().unwrap();
    let edited = w
        .app
        .patch(
            &format!("/api/v1/cases/{c}"),
            &w.coordinator.access,
            Some(&format!("\"{version}\"")),
            json!({ "summary": "CANARY-edited" }),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", String::from_utf8_lossy(&edited.body));
    let closed = w
        .app
        .post(
            &format!("/api/v1/cases/{c}/closure"),
            Some(&w.coordinator.access),
            json!({ "categories": ["engagement_sustained"], "reason": "CANARY-closure" }),
        )
        .await;
    assert_eq!(closed.status, 200, "{}", String::from_utf8_lossy(&closed.body));

    let periods = [(30, 0), (365, 0), (15, 5)];
    let figures = || async {
        let mut all = Vec::new();
        for (from, to) in periods {
            let url = format!("/api/v1/panels/{}/metrics?from={}&to={}", w.marac, days_ago(from), days_ago(to));
            all.push(w.app.get(&url, &w.coordinator.access).await.body);
        }
        all
    };
    let before = figures().await;
    let m: Value = serde_json::from_slice(&before[0]).unwrap();
    assert_eq!(m["diversity"]["victims_aged_16_17"]["numerator"], 1, "the erased case's victim is 17: {m}");

    let mut conn = w.app.db.conn();
    assert!(!rows_holding(&mut conn, "CANARY").is_empty(), "the canaries are planted");
    let after_retention = (chrono::Utc::now().date_naive() + chrono::Duration::days(6 * 366 + 1)).to_string();

    // A legal hold keeps the case past its retention.
    let hold = format!("/api/v1/cases/{c}/legal-hold");
    assert_eq!(w.app.post(&hold, Some(&w.police.access), json!({ "reason": "x" })).await.status, 403);
    let placed = w.app.post(&hold, Some(&w.coordinator.access), json!({ "reason": "Civil claim pending" })).await;
    assert_eq!(placed.status, 201, "{}", String::from_utf8_lossy(&placed.body));
    assert_eq!(w.app.post(&hold, Some(&w.coordinator.access), json!({ "reason": "again" })).await.status, 409);
    let held = retention_run(&w, &["--today", &after_retention]);
    assert_eq!((held["cases"].clone(), held["held"].clone()), (json!([]), json!(1)), "{held}");
    let lifted = w.app.request(actix_web::http::Method::DELETE, &hold, Some(&w.coordinator.access), None).await;
    assert_eq!(lifted.status, 200, "{}", String::from_utf8_lossy(&lifted.body));

    let too_early = retention_run(&w, &["--dry-run"]);
    assert_eq!(too_early["cases"], json!([]), "not due today");
    let dry = retention_run(&w, &["--dry-run", "--today", &after_retention]);
    assert_eq!(dry["cases"], json!([c]));
    let run = retention_run(&w, &["--today", &after_retention]);
    assert_eq!((run["cases"].clone(), run["people_erased"].clone()), (json!([c]), json!(1)), "{run}");
    let again = retention_run(&w, &["--today", &after_retention]);
    assert_eq!(again["cases"], json!([]), "erasing twice erases nothing more");

    assert_eq!(rows_holding(&mut conn, "CANARY"), Vec::<String>::new(), "no planted value left anywhere");
    assert!(!rows_holding(&mut conn, "Keptperp").is_empty(), "a person on a kept case keeps their record");
    let after = figures().await;
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        assert_eq!(String::from_utf8_lossy(a), String::from_utf8_lossy(b), "period {i}: the figures are the same");
    }
    let stub = w.app.get(&format!("/api/v1/cases/{c}"), &w.coordinator.access).await.json();
    assert_eq!((stub["status"].clone(), stub["reference"].clone()), (json!("closed"), erased["reference"].clone()));
    let reopen = w
        .app
        .post(&format!("/api/v1/cases/{c}/reopen"), Some(&w.coordinator.access), json!({ "reason": "new incident" }))
        .await;
    assert_eq!(reopen.field_errors(), vec![("case_id".into(), "case_erased".into())]);

    #[derive(diesel::QueryableByName)]
    struct Ev {
        #[diesel(sql_type = diesel::sql_types::Array<diesel::sql_types::Uuid>)]
        object_ids: Vec<uuid::Uuid>,
    }
    let events: Vec<Ev> =
        diesel::sql_query("SELECT object_ids FROM audit_events WHERE action = 'erase'").load(&mut conn).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].object_ids[0].to_string(), c, "the event names ids only");
}

#[actix_web::test]
async fn retention_periods_are_set_by_admins_and_audited() {
    let w = world().await;
    let current = w.app.get("/api/v1/retention", &w.admin.access).await;
    assert_eq!(current.status, 200);
    let kinds = current.json()["kinds"].clone();
    assert_eq!(kinds.as_array().unwrap().len(), 3, "{kinds}");
    assert_eq!(w.app.get("/api/v1/retention", &w.coordinator.access).await.status, 403);
    let put = |body: Value, tag: Option<&str>| {
        let mut req = actix_web::test::TestRequest::put()
            .uri("/api/v1/retention/cmarac")
            .insert_header(("authorization", format!("Bearer {}", w.admin.access)))
            .set_json(body);
        if let Some(tag) = tag {
            req = req.insert_header(("if-match", tag.to_owned()));
        }
        w.app.call(req)
    };
    assert_eq!(put(json!({ "years_after_end": 7 }), None).await.status, 428);
    assert_eq!(put(json!({ "years_after_end": 0 }), Some("\"1\"")).await.status, 400);
    let changed = put(json!({ "years_after_end": 7 }), Some("\"1\"")).await;
    assert_eq!(changed.status, 200, "{}", String::from_utf8_lossy(&changed.body));
    assert_eq!(changed.json()["years_after_end"], 7);
    assert_eq!(put(json!({ "years_after_end": 8 }), Some("\"1\"")).await.status, 412);
    let panel = actix_web::test::TestRequest::put()
        .uri(&format!("/api/v1/panels/{}/retention", w.jag))
        .insert_header(("authorization", format!("Bearer {}", w.admin.access)))
        .set_json(json!({ "years_after_end": 2 }));
    let panel = w.app.call(panel).await;
    assert_eq!(panel.json()["panels"][0]["years_after_end"], 2);
    let missing = actix_web::test::TestRequest::put()
        .uri(&format!("/api/v1/panels/{}/retention", w.jag))
        .insert_header(("authorization", format!("Bearer {}", w.admin.access)))
        .set_json(json!({}));
    assert_eq!(w.app.call(missing).await.field_errors(), vec![("years_after_end".into(), "required".into())]);
    let mut conn = w.app.db.conn();
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let n: N = diesel::sql_query("SELECT count(*) AS n FROM audit_events WHERE object_type = 'retention_policy'")
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(n.n, 2);
}
