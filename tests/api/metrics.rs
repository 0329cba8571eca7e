//! Known-answer tests for the manager metrics: a small register built through the API, with
//! every figure worked out by hand.

use actix_web::test::TestRequest;
use chrono::{Datelike, Duration, Utc};
use serde_json::{Value, json};

use crate::cases::{World, days_ago, marac_referral, world};
use crate::helpers::{Res, Session};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

fn years_before(days_ago_n: i64, years: i32, extra_days: i64) -> String {
    let d = Utc::now().date_naive() - Duration::days(days_ago_n);
    (d.with_year(d.year() - years).unwrap() - Duration::days(extra_days)).to_string()
}

async fn send(w: &World, method: &str, path: &str, who: &Session, tag: Option<&str>, body: Value) -> Res {
    let mut req = TestRequest::default()
        .method(actix_web::http::Method::from_bytes(method.as_bytes()).unwrap())
        .uri(path)
        .insert_header(("authorization", format!("Bearer {}", who.access)))
        .set_json(body);
    if let Some(t) = tag {
        req = req.insert_header(("if-match", t));
    }
    let res = w.app.call(req).await;
    assert!(res.status.is_success(), "{method} {path}: {}", String::from_utf8_lossy(&res.body));
    res
}

/// Holds a meeting on `date` that hears `cases` (in that order).
pub(crate) async fn hold_meeting(w: &World, date: &str, cases: &[&str]) {
    let m = send(
        w,
        "POST",
        &format!("/api/v1/panels/{}/meetings", w.marac),
        &w.coordinator,
        None,
        json!({ "meeting_date": date, "start_time": "10:00", "virtual_link": "https://meet.example/x" }),
    )
    .await
    .json();
    let mid = id(&m);
    let items: Vec<Value> = cases.iter().map(|c| json!({ "case_id": c })).collect();
    let saved = send(
        w,
        "PUT",
        &format!("/api/v1/meetings/{mid}/agenda"),
        &w.coordinator,
        Some("\"1\""),
        json!({ "items": items }),
    )
    .await;
    for to in ["agenda_published", "in_progress", "held"] {
        send(w, "POST", &format!("/api/v1/meetings/{mid}/transitions"), &w.coordinator, None, json!({ "to": to }))
            .await;
    }
    // Items still listed when the meeting is held count as heard, with no further edit.
    let agenda = w.app.get(&format!("/api/v1/meetings/{mid}/agenda"), &w.coordinator.access).await;
    assert_ne!(agenda.header("etag"), saved.header("etag"), "marking items heard is a new agenda version");
    let items = agenda.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), cases.len());
    assert!(items.iter().all(|i| i["outcome"] == "heard"), "{items:?}");
}

/// The referral routes as (agency type, weight, cases heard).
fn routes(m: &Value) -> Vec<(String, f64, i64)> {
    m["referral_routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (c["key"].as_str().unwrap().into(), c["weight"].as_f64().unwrap(), c["cases"]["value"].as_i64().unwrap())
        })
        .collect()
}

async fn accept(w: &World, case: &str) {
    for to in ["screening", "accepted"] {
        assert_eq!(w.move_to(case, to, None).await.status, 200);
    }
}

#[actix_web::test]
async fn a_small_register_gives_the_hand_computed_figures() {
    let w = world().await;
    let panel = w.app.get(&format!("/api/v1/panels/{}", w.marac), &w.admin.access).await;
    send(
        &w,
        "PATCH",
        &format!("/api/v1/panels/{}", w.marac),
        &w.admin,
        Some(&panel.header("etag").unwrap()),
        json!({ "settings": { "adult_female_population_16_plus": 140000 } }),
    )
    .await;
    let pj = json!({ "criteria": { "professional_judgement": { "reason": "Practitioner concern" } } });

    // A: BAME male victim, two children, referred by the IDVA 20 days ago.
    let mut a_body = marac_referral(
        w.marac,
        &days_ago(20),
        json!([
        { "role": "victim", "person": { "surname": "Ay", "bame": "yes", "gender": "male", "date_of_birth": "1980-01-01" } },
        { "role": "perpetrator", "person": { "surname": "Pa" } }]),
        pj.clone(),
    );
    a_body["children_in_household"] = json!(2);
    let a = w.refer(&w.idva, a_body).await;
    let pair: Vec<Value> = a["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| json!({ "role": p["role"], "person_id": p["person"]["id"] }))
        .collect();
    // B: a repeat (same victim and perpetrator), no children, 15 days ago.
    let mut b_body = marac_referral(w.marac, &days_ago(15), json!(pair), pj.clone());
    b_body["children_in_household"] = json!(0);
    let b = w.refer(&w.idva, b_body).await;
    assert_eq!(b["criteria"]["repeat"], true);
    // C: referred by the police 8 days ago; an LGBT+ victim aged 17 and a perpetrator aged 16.
    let mut c_body = marac_referral(
        w.marac,
        &days_ago(8),
        json!([
        { "role": "victim", "person": { "surname": "Cee", "lgbt": "yes", "date_of_birth": years_before(8, 17, 10) } },
        { "role": "perpetrator", "person": { "surname": "Pc", "date_of_birth": years_before(8, 16, 3) } }]),
        pj.clone(),
    );
    c_body["children_in_household"] = json!(1);
    let c = w.refer(&w.police, c_body).await;
    // D: referred and rejected.
    let d = w
        .refer(
            &w.idva,
            marac_referral(
                w.marac,
                &days_ago(5),
                json!([{ "role": "victim", "person": { "surname": "Dee" } }]),
                pj.clone(),
            ),
        )
        .await;
    w.move_to(&id(&d), "screening", None).await;
    w.move_to(&id(&d), "rejected", Some("Below threshold, no other criterion")).await;
    for case in [&a, &b, &c] {
        accept(&w, &id(case)).await;
    }
    // Meetings: A and B heard 10 days ago; C and A again 2 days ago.
    hold_meeting(&w, &days_ago(10), &[&id(&a), &id(&b)]).await;
    hold_meeting(&w, &days_ago(2), &[&id(&c), &id(&a)]).await;

    // Actions on A: on time, late, not actioned, overdue, cancelled.
    let action = |desc: &str, due: String| {
        let w = &w;
        let a = id(&a);
        let body = json!({ "description": desc, "owner_agency_id": w.police_agency, "due_date": due });
        async move { send(w, "POST", &format!("/api/v1/cases/{a}/actions"), &w.coordinator, None, body).await.json() }
    };
    let on_time = action("on time", days_ago(0)).await;
    let late = action("late", days_ago(1)).await;
    let failed = action("not actioned", days_ago(2)).await;
    action("overdue", days_ago(3)).await;
    let cancelled = action("cancelled", days_ago(0)).await;
    for (x, status) in [
        (&on_time, "completed"),
        (&late, "completed"),
        (&failed, "not_completed_agency_not_actioned"),
        (&cancelled, "cancelled"),
    ] {
        send(
            &w,
            "PATCH",
            &format!("/api/v1/actions/{}", id(x)),
            &w.coordinator,
            Some("\"1\""),
            json!({ "status": status, "outcome_note": "Recorded at panel" }),
        )
        .await;
    }

    let period = format!("from={}&to={}", days_ago(30), days_ago(0));
    let m = w.app.get(&format!("/api/v1/panels/{}/metrics?{period}", w.marac), &w.coordinator.access).await.json();
    let count = |v: &Value| v["value"].as_i64().unwrap();
    let rate = |v: &Value| (v["numerator"].as_i64().unwrap(), v["denominator"].as_i64().unwrap(), v["value"].as_f64());
    assert_eq!(count(&m["volume"]["referrals_received"]), 4);
    assert_eq!(count(&m["volume"]["referrals_rejected"]), 1);
    assert_eq!(count(&m["volume"]["meetings_held"]), 2);
    assert_eq!(count(&m["volume"]["cases_heard"]), 4, "A heard twice counts twice");
    assert_eq!(rate(&m["volume"]["cases_per_meeting"]), (4, 2, Some(2.0)));
    assert_eq!(rate(&m["volume"]["heard_per_referral"]), (4, 4, Some(100.0)));
    assert_eq!(rate(&m["repeat_rate"]), (1, 4, Some(25.0)), "denominator: cases heard");
    assert_eq!(rate(&m["non_police_referral_share"]), (3, 4, Some(75.0)));
    assert_eq!(routes(&m), vec![("idva_service".into(), 3.0, 3), ("police".into(), 1.0, 1)]);
    assert_eq!(rate(&m["diversity"]["bame"]), (3, 4, Some(75.0)), "A twice and B");
    assert_eq!(count(&m["diversity"]["bame_unknown"]), 1);
    assert_eq!(rate(&m["diversity"]["male_victims"]), (3, 4, Some(75.0)));
    assert_eq!(rate(&m["diversity"]["lgbt"]), (1, 4, Some(25.0)));
    assert_eq!(count(&m["diversity"]["lgbt_unknown"]), 3);
    assert_eq!(rate(&m["diversity"]["victims_aged_16_17"]), (1, 4, Some(25.0)));
    assert_eq!(count(&m["diversity"]["perpetrators_aged_17_or_under"]), 1);
    assert_eq!(count(&m["diversity"]["children_in_households"]), 5, "2 + 2 (A twice) + 0 + 1");
    assert_eq!(rate(&m["population"]["cases_per_10000_adult_females"]), (40000, 140000, Some(0.3)));
    assert_eq!(m["population"]["recommended_cases"], 560.0);
    assert_eq!(count(&m["actions"]["due"]), 4, "cancelled actions are not due");
    assert_eq!(count(&m["actions"]["completed_on_time"]), 1);
    assert_eq!(count(&m["actions"]["completed_late"]), 1);
    assert_eq!(count(&m["actions"]["not_completed_agency_not_actioned"]), 1);
    assert_eq!(count(&m["actions"]["overdue_now"]), 1);
    assert_eq!(rate(&m["actions"]["completion_rate"]), (2, 4, Some(50.0)));
    assert_eq!(m["time"]["median_days_referral_to_first_hearing"], 6.0, "median of 10, 5 and 6 days");
    let status: i64 = m["breakdowns"]["status"].as_array().unwrap().iter().map(|c| count(&c["count"])).sum();
    assert_eq!(status, 4, "the status breakdown sums to the referrals received");
    assert_eq!(m["suppression"]["applied"], false, "coordinators see exact counts");

    // The drill-down agrees with the case list for the same filter.
    let listed = w
        .app
        .get(
            &format!(
                "/api/v1/cases?panel_id={}&referred_from={}&referred_to={}&limit=100",
                w.marac,
                days_ago(30),
                days_ago(0)
            ),
            &w.coordinator.access,
        )
        .await
        .json();
    assert_eq!(listed["items"].as_array().unwrap().len() as i64, count(&m["volume"]["referrals_received"]));

    // A manager sees the same figures with small numbers suppressed.
    let manager =
        w.app.user(&w.admin, "mgr@test.example", None, json!([{ "role": "manager", "panel_id": w.marac }])).await;
    let mm = w.app.get(&format!("/api/v1/panels/{}/metrics?{period}", w.marac), &manager.access).await.json();
    assert_eq!(mm["suppression"]["applied"], true);
    assert_eq!(mm["volume"]["referrals_received"], json!({ "value": null, "suppressed": true }));
    assert_eq!(mm["repeat_rate"]["value"], Value::Null, "rates from suppressed counts are suppressed");
    let hidden: Vec<&str> =
        mm["suppression"]["suppressed"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    assert!(hidden.contains(&"volume.referrals_received") && hidden.contains(&"repeat_rate"));
    let text = mm.to_string();
    for secret in [id(&a), "Ay".to_owned(), a["reference"].as_str().unwrap().to_owned()] {
        assert!(!text.contains(&secret), "no ids, names or references reach a manager");
    }
    assert_eq!(w.app.get(&format!("/api/v1/panels/{}/metrics?{period}", w.cmarac), &manager.access).await.status, 403);
    assert_eq!(w.app.get(&format!("/api/v1/cases/{}", id(&a)), &manager.access).await.status, 403);
    let bad =
        w.app.get(&format!("/api/v1/panels/{}/metrics?from={}", w.marac, days_ago(3)), &w.coordinator.access).await;
    assert_eq!(bad.status, 400);
    let year = w.app.get(&format!("/api/v1/panels/{}/metrics?year=2023", w.marac), &w.coordinator.access).await.json();
    assert_eq!(year["period"], json!({ "from": "2023-04-01", "to": "2024-03-31" }));

    // The SafeLives return: per meeting, then totals (summed over the quarters the two meetings fall in).
    let quarter_of = |n: i64| {
        let d = Utc::now().date_naive() - Duration::days(n);
        format!("{}Q{}", d.year(), (d.month() - 1) / 3 + 1)
    };
    let mut quarters = vec![quarter_of(10), quarter_of(2)];
    quarters.dedup();
    let mut totals = vec![0i64; 11];
    let mut meetings = Vec::new();
    for q in &quarters {
        let r = w
            .app
            .get(&format!("/api/v1/panels/{}/reports/safelives-return?quarter={q}", w.marac), &w.coordinator.access)
            .await
            .json();
        for (i, cell) in r["totals"]["cells"].as_array().unwrap().iter().enumerate() {
            totals[i] += cell["value"].as_i64().unwrap();
        }
        for row in r["meetings"].as_array().unwrap() {
            meetings.push(
                row["cells"].as_array().unwrap().iter().map(|c| c["value"].as_i64().unwrap()).collect::<Vec<_>>(),
            );
        }
    }
    assert_eq!(meetings, vec![vec![2, 1, 0, 2, 2, 2, 0, 0, 2, 0, 0], vec![2, 0, 1, 1, 3, 1, 1, 0, 1, 1, 1]]);
    assert_eq!(totals, vec![4, 1, 1, 3, 5, 3, 1, 0, 3, 1, 1]);
    let csv = w
        .app
        .call(
            TestRequest::get()
                .uri(&format!("/api/v1/panels/{}/reports/safelives-return?quarter={}", w.marac, quarters[0]))
                .insert_header(("authorization", format!("Bearer {}", manager.access)))
                .insert_header(("accept", "text/csv")),
        )
        .await;
    assert_eq!(csv.status, 200);
    let text = String::from_utf8_lossy(&csv.body).to_string();
    assert!(text.starts_with("meeting_date,cases_discussed,repeat_cases,police_referrals,partner_agency_referrals,"));
    assert!(text.lines().last().unwrap().starts_with("Total,"));
    assert!(text.contains("<5"), "a manager's copy hides small numbers: {text}");
    let bad_quarter = w
        .app
        .get(&format!("/api/v1/panels/{}/reports/safelives-return?quarter=2024Q5", w.marac), &w.coordinator.access)
        .await;
    assert_eq!(bad_quarter.status, 400);

    // Side by side with the period before.
    let cmp = w
        .app
        .get(&format!("/api/v1/metrics/compare?panels={},{}&{period}", w.marac, w.cmarac), &w.coordinator.access)
        .await
        .json();
    assert_eq!(
        cmp["panels"][0]["referrals_received"],
        json!({ "current": { "value": 4, "suppressed": false }, "previous": { "value": 0, "suppressed": false }, "pct_change": null })
    );
    assert_eq!(cmp["panels"][0]["cases_heard"]["current"]["value"], 4);
    assert_eq!(cmp["panels"][1]["kind"], "cmarac");
}

#[actix_web::test]
async fn cmarac_risk_reduction_counts_closed_cases_with_both_scores() {
    let w = world().await;
    let mut closed = Vec::new();
    for (entry, exit) in [(Some(30), Some(18)), (Some(20), Some(12)), (Some(40), None)] {
        let mut body = json!({
            "panel_id": w.cmarac, "referral_date": days_ago(40), "participants": [{ "role": "vulnerable_person", "person": { "surname": "T" } }],
            "consent": { "status": "given" }, "lawful_basis": "public_task", "special_category_condition": "health_social_care"
        });
        if let Some(e) = entry {
            body["entry_assessment"] = json!({ "tool": "cmarac_matrix", "tool_version": "v1", "score": e });
        }
        let case = w.refer(&w.housing, body).await;
        let c = id(&case);
        for to in ["screening", "accepted", "open"] {
            w.move_to(&c, to, None).await;
        }
        if let Some(x) = exit {
            send(
                &w,
                "POST",
                &format!("/api/v1/cases/{c}/risk-assessments"),
                &w.housing,
                None,
                json!({ "stage": "exit", "tool": "cmarac_matrix", "tool_version": "v1", "score": x }),
            )
            .await;
            send(
                &w,
                "POST",
                &format!("/api/v1/cases/{c}/closure"),
                &w.coordinator,
                None,
                json!({ "categories": ["engagement_sustained"], "reason": "Sustained engagement" }),
            )
            .await;
            closed.push(c);
        }
    }
    let m = w
        .app
        .get(
            &format!("/api/v1/panels/{}/metrics?from={}&to={}", w.cmarac, days_ago(30), days_ago(0)),
            &w.coordinator.access,
        )
        .await
        .json();
    let r = &m["risk_reduction"];
    assert_eq!(r["cases_counted"]["value"], 2);
    assert_eq!(r["entry_sum"], 50);
    assert_eq!(r["exit_sum"], 30);
    assert_eq!(
        r["change_pct"],
        json!({ "numerator": -20, "denominator": 50, "value": -40.0, "suppressed": false }),
        "DOMAIN.md §8.2 worked example"
    );
    assert_eq!(r["cases_whose_score_fell"]["value"], 100.0);
    assert_eq!(m["time"]["median_days_referral_to_closure"], 40.0);
    let closures: Vec<(String, i64)> = m["breakdowns"]["closure_category"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["key"].as_str().unwrap().into(), c["count"]["value"].as_i64().unwrap()))
        .collect();
    assert_eq!(closures, vec![("engagement_sustained".into(), 2)]);
}

/// For random registers, every breakdown sums to its total and every percentage recomputes
/// from the counts it carries.
#[actix_web::test]
async fn breakdowns_sum_to_totals_and_percentages_recompute_for_random_registers() {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    let vulnerabilities = ["mental_health", "substance_misuse", "cuckooing", "hate_crime", "homelessness"];
    for seed in [7u64, 11, 2024] {
        let w = world().await;
        let mut rng = StdRng::seed_from_u64(seed);
        let mut total_vulnerabilities = 0;
        let cases = rng.random_range(3..8);
        for _ in 0..cases {
            let picked: Vec<&str> = vulnerabilities.iter().filter(|_| rng.random_bool(0.4)).copied().collect();
            total_vulnerabilities += picked.len() as i64;
            let area = ["Harlesden", "Kilburn", "Wembley"][rng.random_range(0..3)];
            let case = w
                .refer(&w.housing, json!({
                    "panel_id": w.cmarac, "referral_date": days_ago(rng.random_range(0..25)),
                    "participants": [{ "role": "vulnerable_person", "person": { "surname": "R" } }],
                    "vulnerabilities": picked, "area_text": area,
                    "consent": { "status": "given" }, "lawful_basis": "public_task", "special_category_condition": "health_social_care"
                }))
                .await;
            match rng.random_range(0..3) {
                0 => {}
                1 => {
                    w.move_to(&id(&case), "screening", None).await;
                    w.move_to(&id(&case), "rejected", Some("Not for this panel")).await;
                }
                _ => accept(&w, &id(&case)).await,
            }
        }
        let m = w
            .app
            .get(
                &format!("/api/v1/panels/{}/metrics?from={}&to={}", w.cmarac, days_ago(30), days_ago(0)),
                &w.coordinator.access,
            )
            .await
            .json();
        let sum = |cells: &Value| {
            cells.as_array().unwrap().iter().map(|c| c["count"]["value"].as_i64().unwrap()).sum::<i64>()
        };
        let received = m["volume"]["referrals_received"]["value"].as_i64().unwrap();
        assert_eq!(received, cases, "seed {seed}");
        assert_eq!(sum(&m["breakdowns"]["status"]), received, "seed {seed}");
        assert_eq!(sum(&m["breakdowns"]["area"]), received, "seed {seed}");
        assert_eq!(sum(&m["breakdowns"]["referring_agency_type"]), received, "seed {seed}");
        assert_eq!(sum(&m["breakdowns"]["vulnerability"]), total_vulnerabilities, "seed {seed}: once per value");
        let mut rates = Vec::new();
        collect_rates(&m, "", &mut rates);
        for (path, num, den, value) in rates {
            if path.contains("per_meeting") || path.contains("per_10000") {
                continue;
            }
            let expected = if den == 0 { None } else { Some(((num as f64) * 1000.0 / den as f64).round() / 10.0) };
            assert_eq!(value, expected, "seed {seed} {path}: {num}/{den}");
        }
    }
}

fn collect_rates(v: &Value, path: &str, out: &mut Vec<(String, i64, i64, Option<f64>)>) {
    match v {
        Value::Object(map) if map.contains_key("numerator") && map.contains_key("denominator") => {
            if let (Some(n), Some(d)) = (map["numerator"].as_i64(), map["denominator"].as_i64()) {
                out.push((path.to_owned(), n, d, map["value"].as_f64()));
            }
        }
        Value::Object(map) => {
            for (k, child) in map {
                collect_rates(child, &format!("{path}.{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                collect_rates(child, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// Every number in a manager's answer that is not a setting must be 0 (or absent) when only
/// 1–4 cases stand behind the figures (SECURITY.md 2.6: anything derived from a suppressed count
/// is suppressed too). Returns the paths of the numbers that break that.
fn numbers_shown(v: &Value, path: &str, out: &mut Vec<String>) {
    const SETTINGS: [&str; 3] = ["k", "adult_female_population_16_plus", "recommended_cases"];
    match v {
        Value::Object(map) => {
            for (key, value) in map {
                if !SETTINGS.contains(&key.as_str()) {
                    numbers_shown(value, &format!("{path}.{key}"), out);
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                numbers_shown(item, &format!("{path}[{i}]"), out);
            }
        }
        Value::Number(n) if n.as_f64() != Some(0.0) => out.push(format!("{path} = {n}")),
        _ => {}
    }
}

#[actix_web::test]
async fn no_figure_a_manager_sees_rests_on_one_to_four_cases() {
    let w = world().await;
    let manager = w
        .app
        .user(
            &w.admin,
            "manager@test.example",
            None,
            json!([{ "role": "manager", "panel_id": w.marac }, { "role": "manager", "panel_id": w.cmarac }]),
        )
        .await;
    let (from, to) = (days_ago(60), days_ago(0));
    for n in 1..=4 {
        // One more CMARAC case closed with both scores, and one more MARAC case heard.
        let body = json!({
            "panel_id": w.cmarac, "referral_date": days_ago(40 + n), "consent": { "status": "given" },
            "participants": [{ "role": "vulnerable_person", "person": { "surname": "T", "date_of_birth": "2008-01-01", "bame": "yes" } }],
            "lawful_basis": "public_task", "special_category_condition": "health_social_care", "children_in_household": 3,
            "entry_assessment": { "tool": "cmarac_matrix", "tool_version": "v1", "score": 30 + n }
        });
        let c = id(&w.refer(&w.housing, body).await);
        for to in ["screening", "accepted", "open"] {
            w.move_to(&c, to, None).await;
        }
        let exit = json!({ "stage": "exit", "tool": "cmarac_matrix", "tool_version": "v1", "score": 10 + n });
        send(&w, "POST", &format!("/api/v1/cases/{c}/risk-assessments"), &w.housing, None, exit).await;
        let closure = json!({ "categories": ["engagement_sustained"], "reason": "Sustained engagement" });
        send(&w, "POST", &format!("/api/v1/cases/{c}/closure"), &w.coordinator, None, closure).await;
        let marac = w.marac_case(15).await;
        accept(&w, &id(&marac)).await;
        hold_meeting(&w, &days_ago(n), &[&id(&marac)]).await;

        let mut shown = Vec::new();
        for panel in [w.marac, w.cmarac] {
            let path = format!("/api/v1/panels/{panel}/metrics?from={from}&to={to}");
            let res = w.app.get(&path, &manager.access).await;
            assert_eq!(res.status, 200);
            numbers_shown(&res.json(), &format!("{n} cases, metrics"), &mut shown);
            // The same figures unsuppressed for panel staff: the sweep has something to hide.
            let staff = w.app.get(&path, &w.coordinator.access).await.json();
            let mut staff_shown = Vec::new();
            numbers_shown(&staff, "", &mut staff_shown);
            assert!(staff_shown.len() > 5, "the staff view carries the figures");
        }
        let compare = format!("/api/v1/metrics/compare?panels={},{}&from={from}&to={to}", w.marac, w.cmarac);
        let res = w.app.get(&compare, &manager.access).await;
        assert_eq!(res.status, 200);
        numbers_shown(&res.json(), &format!("{n} cases, compare"), &mut shown);
        let quarter = {
            let today = Utc::now().date_naive();
            format!("{}Q{}", today.year(), (today.month() - 1) / 3 + 1)
        };
        let ret = format!("/api/v1/panels/{}/reports/safelives-return?quarter={quarter}", w.marac);
        let res = w.app.get(&ret, &manager.access).await;
        assert_eq!(res.status, 200);
        numbers_shown(&res.json(), &format!("{n} cases, return"), &mut shown);
        assert!(shown.is_empty(), "figures resting on {n} cases reach the manager: {shown:#?}");
    }
}

#[actix_web::test]
async fn co_referring_agencies_share_the_cases_they_refer() {
    let w = world().await;
    let agencies = w.app.get("/api/v1/agencies", &w.admin.access).await.json();
    let agency =
        |name: &str| agencies["items"].as_array().unwrap().iter().find(|a| a["name"] == name).unwrap()["id"].clone();
    let (idva, council) = (agency("Advance IDVA"), agency("Council Community Safety"));
    let pj = json!({ "criteria": { "professional_judgement": { "reason": "Practitioner concern" } } });
    let referral = |surname: &str, referring: Value, co: Value| {
        let mut body = marac_referral(
            w.marac,
            &days_ago(6),
            json!([{ "role": "victim", "person": { "surname": surname } }]),
            pj.clone(),
        );
        body["referring_agency_id"] = referring;
        body["co_referring_agency_ids"] = co;
        body
    };
    // The register, by hand: A by the IDVA alone; B by the IDVA with the police; C by the police
    // with the IDVA and the council. All three heard once.
    let a = w.refer(&w.coordinator, referral("Aone", idva.clone(), json!([]))).await;
    let b = w.refer(&w.coordinator, referral("Btwo", idva.clone(), json!([w.police_agency]))).await;
    let c = w
        .refer(&w.coordinator, referral("Cthree", json!(w.police_agency), json!([idva.clone(), council.clone()])))
        .await;
    assert_eq!(b["co_referring_agency_ids"], json!([w.police_agency]));

    // A co-referrer sees the case it referred, as the referrer does.
    assert_eq!(w.app.get(&format!("/api/v1/cases/{}", id(&b)), &w.police.access).await.status, 200);
    assert_eq!(w.app.get(&format!("/api/v1/cases/{}", id(&a)), &w.police.access).await.status, 404);

    // Refused: the referrer named again, a non-member, a duplicate. Nothing is recorded.
    let bad = w
        .app
        .post(
            "/api/v1/cases",
            Some(&w.coordinator.access),
            referral("Dfour", idva.clone(), json!([idva.clone(), w.housing_agency, w.police_agency, w.police_agency])),
        )
        .await;
    assert_eq!(bad.status, 422);
    assert_eq!(
        bad.field_errors(),
        vec![
            ("co_referring_agency_ids[0]".into(), "is_the_referring_agency".into()),
            ("co_referring_agency_ids[1]".into(), "not_a_member_of_the_panel".into()),
            ("co_referring_agency_ids[3]".into(), "duplicate".into()),
        ]
    );

    for case in [&a, &b, &c] {
        accept(&w, &id(case)).await;
    }
    hold_meeting(&w, &days_ago(2), &[&id(&a), &id(&b), &id(&c)]).await;

    let period = format!("from={}&to={}", days_ago(30), days_ago(0));
    let m = w.app.get(&format!("/api/v1/panels/{}/metrics?{period}", w.marac), &w.coordinator.access).await.json();
    // IDVA 1 + 1/2 + 1/3 = 1.83, police 1/2 + 1/3 = 0.83, council 1/3: together the 3 cases heard.
    assert_eq!(
        routes(&m),
        vec![("community_safety_asb".into(), 0.3, 1), ("idva_service".into(), 1.8, 3), ("police".into(), 0.8, 2)]
    );
    assert_eq!(m["non_police_referral_share"]["numerator"], 1, "only A had no police referrer");
    let cells = |name: &str| -> Vec<(String, i64)> {
        m["breakdowns"][name]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["key"].as_str().unwrap().into(), c["count"]["value"].as_i64().unwrap()))
            .collect()
    };
    assert_eq!(
        cells("referring_organisation"),
        vec![("Advance IDVA".into(), 3), ("Council Community Safety".into(), 1), ("Metropolitan Police".into(), 2)]
    );
    assert_eq!(
        cells("referring_agency_type"),
        vec![("community_safety_asb".into(), 1), ("idva_service".into(), 3), ("police".into(), 2)]
    );

    // Co-referrers are edited like any value, and the earlier list is kept.
    let path = format!("/api/v1/cases/{}", id(&a));
    let current = w.app.get(&path, &w.coordinator.access).await.header("etag").unwrap();
    let edited = w
        .app
        .patch(&path, &w.coordinator.access, Some(&current), json!({ "co_referring_agency_ids": [council] }))
        .await;
    assert_eq!(edited.status, 200, "{}", String::from_utf8_lossy(&edited.body));
    let history = w.app.get(&format!("/api/v1/cases/{}/history", id(&a)), &w.coordinator.access).await.json();
    let change =
        history["items"].as_array().unwrap().iter().find(|i| i["field"] == "co_referring_agency_ids").unwrap().clone();
    assert_eq!((change["from"].clone(), change["to"].clone()), (json!([]), json!([council])));
}
