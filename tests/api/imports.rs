//! Importing existing registers: dry run, all-or-nothing, idempotent, alias matching.

use actix_web::test::TestRequest;
use serde_json::{Value, json};

use crate::cases::world;
use crate::helpers::Res;

const QUERY: &str = "lawful_basis=public_task&special_category_condition=safeguarding_children_individuals_at_risk";

const GOOD: &str = "Reference,Status,Referral Date,Closure Date,Closure Reason,Ward,Vulnerability,Referring Agency,Entry Score,Exit Score
CM-001,Closed,01/02/2025,15/06/2025,Moved into supported accommodation,Harlesden,\"ASB, Substance Misuse\",ST. MUNGO'S,40,25
CM-002,Open,2025-03-10,,,Barn Hill,\"Mental Health, gambling\",Peabody Trust,35,
";

async fn import(w: &crate::cases::World, csv: &str, query: &str, token: &str) -> Res {
    import_as(w, csv, query, token, None).await
}

async fn import_with_key(w: &crate::cases::World, csv: &str, key: &str) -> Res {
    import_as(w, csv, QUERY, &w.coordinator.access, Some(key)).await
}

async fn import_as(w: &crate::cases::World, csv: &str, query: &str, token: &str, key: Option<&str>) -> Res {
    let mut req = TestRequest::post()
        .uri(&format!("/api/v1/panels/{}/imports?{query}", w.cmarac))
        .insert_header(("authorization", format!("Bearer {token}")))
        .insert_header(("content-type", "text/csv"))
        .set_payload(csv.to_owned());
    if let Some(key) = key {
        req = req.insert_header(("idempotency-key", key));
    }
    w.app.call(req).await
}

async fn cmarac_cases(w: &crate::cases::World) -> Vec<Value> {
    let page = w.app.get(&format!("/api/v1/cases?panel_id={}&limit=100", w.cmarac), &w.coordinator.access).await.json();
    page["items"].as_array().unwrap().clone()
}

async fn with_st_mungos(w: &crate::cases::World) {
    let res = w
        .app
        .post(
            "/api/v1/agencies",
            Some(&w.admin.access),
            json!({ "name": "St Mungos", "agency_type": "homelessness_outreach", "aliases": ["St Mungo's Broadway"] }),
        )
        .await;
    assert_eq!(res.status, 201);
}

#[actix_web::test]
async fn a_register_imports_after_a_dry_run_and_importing_it_again_creates_nothing() {
    let w = world().await;
    with_st_mungos(&w).await;
    let dry = import(&w, GOOD, &format!("{QUERY}&dry_run=true"), &w.coordinator.access).await;
    assert_eq!(dry.status, 200);
    let report = dry.json();
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["created"], 2);
    let lines: Vec<(u64, String)> = report["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["line"].as_u64().unwrap(), l["outcome"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(lines, vec![(2, "create".into()), (3, "create".into())]);
    assert!(cmarac_cases(&w).await.is_empty(), "a dry run writes nothing");

    let real = import(&w, GOOD, QUERY, &w.coordinator.access).await;
    assert_eq!(real.status, 201);
    assert_eq!(real.json()["created"], 2);
    let cases = cmarac_cases(&w).await;
    assert_eq!(cases.len(), 2);
    let first = cases.iter().find(|c| c["reference"] == "CM-001").unwrap();
    assert_eq!(first["status"], "closed");
    assert_eq!(first["closure"]["categories"], json!(["supported_accommodation"]));
    assert_eq!(first["closure"]["reason"], "Moved into supported accommodation");
    assert_eq!(first["closure"]["closed_on"], "2025-06-15");
    assert_eq!(first["vulnerabilities"], json!(["anti_social_behaviour", "substance_misuse"]));
    assert_eq!(first["area_text"], "Harlesden");
    assert_eq!(first["risk"]["change"], -15);
    assert_eq!(first["lawful_basis"], "public_task");
    let second = cases.iter().find(|c| c["reference"] == "CM-002").unwrap();
    assert_eq!(second["vulnerabilities"], json!(["mental_health", "other"]));
    assert_eq!(second["vulnerability_other_text"], "gambling");
    assert_eq!(second["referring_agency_id"], w.housing_agency.to_string());

    let again = import(&w, GOOD, QUERY, &w.coordinator.access).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["created"], 0);
    assert_eq!(again.json()["file_already_imported"], true);
    assert_eq!(cmarac_cases(&w).await.len(), 2);

    let grown = format!("{GOOD}CM-003,Open,2025-05-01,,,Kilburn,Hoarding,Peabody Trust,,\n");
    let more = import(&w, &grown, QUERY, &w.coordinator.access).await;
    assert_eq!(more.status, 201);
    assert_eq!((more.json()["created"].as_u64(), more.json()["existing"].as_u64()), (Some(1), Some(2)));
    assert_eq!(cmarac_cases(&w).await.len(), 3);
}

#[actix_web::test]
async fn a_retried_import_with_its_key_gets_the_first_answer() {
    let w = world().await;
    with_st_mungos(&w).await;
    let key = uuid::Uuid::new_v4().to_string();
    let first = import_with_key(&w, GOOD, &key).await;
    assert_eq!(first.status, 201);
    let retry = import_with_key(&w, GOOD, &key).await;
    assert_eq!(retry.status, 201, "the first answer, not `file_already_imported`");
    assert_eq!(retry.json(), first.json());
    assert_eq!(retry.json()["created"], 2);
    assert_eq!(cmarac_cases(&w).await.len(), 2);
    let other = import_with_key(&w, &format!("{GOOD}CM-009,Open,2025-05-01,,,Kilburn,Hoarding,,,\n"), &key).await;
    assert_eq!(other.status, 422);
    assert_eq!(other.field_errors(), vec![("Idempotency-Key".into(), "reused_with_a_different_body".into())]);
    assert_eq!(cmarac_cases(&w).await.len(), 2);
}

#[actix_web::test]
async fn one_bad_line_is_reported_by_number_and_a_real_run_writes_nothing() {
    let w = world().await;
    with_st_mungos(&w).await;
    let bad = format!("{GOOD}CM-009,Closed,31/09/2025,,,,,Nobody We Know,abc,\n,,,,,Orphan Estate,,,,\n");
    let dry = import(&w, &bad, &format!("{QUERY}&dry_run=true"), &w.coordinator.access).await;
    assert_eq!(dry.status, 200);
    let report = dry.json();
    assert_eq!(report["invalid"], 2);
    let line4 = report["lines"].as_array().unwrap().iter().find(|l| l["line"] == 4).unwrap();
    assert_eq!(line4["outcome"], "invalid");
    let problems: Vec<(String, String)> = line4["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["field"].as_str().unwrap().into(), p["code"].as_str().unwrap().into()))
        .collect();
    assert_eq!(
        problems,
        vec![
            ("referral_date".into(), "invalid_date".into()),
            ("closure_date".into(), "required_when_closed".into()),
            ("referring_agency".into(), "unknown_agency".into()),
            ("entry_score".into(), "not_a_whole_number".into()),
        ]
    );
    let line5 = report["lines"].as_array().unwrap().iter().find(|l| l["line"] == 5).unwrap();
    assert!(
        line5["problems"].as_array().unwrap().iter().any(|p| p["field"] == "reference"),
        "an orphan line is refused"
    );

    let real = import(&w, &bad, QUERY, &w.coordinator.access).await;
    assert_eq!(real.status, 422);
    assert!(real.field_errors().contains(&("lines[4].referral_date".into(), "invalid_date".into())));
    assert!(cmarac_cases(&w).await.is_empty(), "all or nothing");
}

#[actix_web::test]
async fn imports_need_a_lawful_basis_csv_and_panel_staff() {
    let w = world().await;
    let res = import(&w, GOOD, "dry_run=true", &w.coordinator.access).await;
    assert_eq!(res.status, 422);
    assert_eq!(
        res.field_errors(),
        vec![("lawful_basis".into(), "required".into()), ("special_category_condition".into(), "required".into())]
    );
    let as_json = w
        .app
        .post(
            &format!("/api/v1/panels/{}/imports?{QUERY}", w.cmarac),
            Some(&w.coordinator.access),
            json!({ "rows": [] }),
        )
        .await;
    assert_eq!(as_json.status, 415);
    let rep = import(&w, GOOD, QUERY, &w.housing.access).await;
    assert_eq!(rep.status, 403);
    let garbage = import(&w, "just,some\nwords,here\n", QUERY, &w.coordinator.access).await;
    assert_eq!(garbage.status, 400);
    assert_eq!(garbage.field_errors(), vec![("file".into(), "no_known_columns".into())]);
}

#[actix_web::test]
async fn the_command_line_import_does_the_same_as_the_api() {
    let w = world().await;
    with_st_mungos(&w).await;
    let file = std::env::temp_dir().join(format!("register-{}.csv", uuid::Uuid::new_v4()));
    std::fs::write(&file, GOOD).unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["import", "--panel"];
        let panel = w.cmarac.to_string();
        args.push(&panel);
        args.extend([
            "--as",
            "coord@test.example",
            "--lawful-basis",
            "public_task",
            "--condition",
            "health_social_care",
        ]);
        args.extend(extra);
        let file = file.to_str().unwrap().to_owned();
        std::process::Command::new(env!("CARGO_BIN_EXE_confer"))
            .args(&args)
            .arg(&file)
            .env("DATABASE_URL", w.app.db.url())
            .env("CONFER_JWT_KEYS", format!("cli:{}", *crate::helpers::JWT_KEY_B64))
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let dry = run(&["--dry-run"]);
    assert!(dry.status.success(), "{}", String::from_utf8_lossy(&dry.stderr));
    assert!(cmarac_cases(&w).await.is_empty());
    // The same options as the API: a column mapping (here the ward ignored), and workbooks.
    let mapped = run(&["--dry-run", "--columns", r#"{"Ward": "ignore"}"#]);
    assert!(mapped.status.success(), "{}", String::from_utf8_lossy(&mapped.stderr));
    let report: Value = serde_json::from_slice(&mapped.stdout).unwrap();
    let ward = report["columns"].as_array().unwrap().iter().find(|c| c["header"] == "Ward").unwrap().clone();
    assert_eq!(ward["column"], Value::Null);
    assert_eq!(report["lines"][0]["flags"], json!(["ward_not_recorded"]));
    let bad = run(&["--dry-run", "--columns", r#"{"Ward": "shoe_size"}"#]);
    assert!(!bad.status.success());
    let book = std::env::temp_dir().join(format!("register-{}.xlsx", uuid::Uuid::new_v4()));
    std::fs::write(&book, workbook()).unwrap();
    let from_book = std::process::Command::new(env!("CARGO_BIN_EXE_confer"))
        .args(["import", "--panel", &w.cmarac.to_string(), "--as", "coord@test.example", "--lawful-basis"])
        .args(["public_task", "--condition", "health_social_care", "--dry-run", "--sheet", "2"])
        .arg(&book)
        .env("DATABASE_URL", w.app.db.url())
        .env("CONFER_JWT_KEYS", format!("cli:{}", *crate::helpers::JWT_KEY_B64))
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(from_book.status.success(), "{}", String::from_utf8_lossy(&from_book.stderr));
    let report: Value = serde_json::from_slice(&from_book.stdout).unwrap();
    assert_eq!((report["created"].clone(), report["invalid"].clone()), (json!(2), json!(0)), "{report}");
    let real = run(&[]);
    assert!(real.status.success(), "{}", String::from_utf8_lossy(&real.stderr));
    let report: Value = serde_json::from_slice(&real.stdout).unwrap();
    assert_eq!(report["created"], 2);
    assert_eq!(cmarac_cases(&w).await.len(), 2);
    let as_rep = std::process::Command::new(env!("CARGO_BIN_EXE_confer"))
        .args([
            "import",
            "--panel",
            &w.cmarac.to_string(),
            "--as",
            "housing@test.example",
            "--lawful-basis",
            "public_task",
            "--condition",
            "health_social_care",
        ])
        .arg(&file)
        .env("DATABASE_URL", w.app.db.url())
        .env("CONFER_JWT_KEYS", format!("cli:{}", *crate::helpers::JWT_KEY_B64))
        .output()
        .unwrap();
    assert!(!as_rep.status.success(), "an agency rep may not import");
    std::fs::remove_file(file).ok();
}

/// The `GOOD` register as a spreadsheet saves it in much of Europe: a byte-order mark, CRLF line
/// ends, `;` between fields, a plural header, a column the importer does not know, and a form
/// label holding a comma.
fn as_a_spreadsheet_saves_it(extra_line: &str) -> String {
    let lines = [
        "Reference;Status;Referral Date;Closure Date;Closure Reasons;Wards;Vulnerabilities;Referring Agency;Entry Score;Exit Score;Notes",
        "CM-001;Closed;01/02/2025;15/06/2025;Moved into supported accommodation;Harlesden;ASB, Substance Misuse;ST. MUNGO'S;40;25;called twice",
        "CM-002;Open;2025-03-10;;;Barn Hill;Being exploited e.g., financially or losing control of home, Crime;Peabody Trust;35;;",
        extra_line,
    ];
    format!("\u{feff}{}\r\n", lines.iter().filter(|l| !l.is_empty()).copied().collect::<Vec<_>>().join("\r\n"))
}

#[actix_web::test]
async fn a_register_saved_by_a_spreadsheet_imports_with_every_column_accounted_for() {
    let w = world().await;
    with_st_mungos(&w).await;
    let file = as_a_spreadsheet_saves_it("");
    let dry = import(&w, &file, &format!("{QUERY}&dry_run=true"), &w.coordinator.access).await;
    assert_eq!(dry.status, 200, "{}", String::from_utf8_lossy(&dry.body));
    let report = dry.json();
    assert_eq!((report["rows"].clone(), report["invalid"].clone()), (json!(2), json!(0)), "{report}");
    let columns: Vec<(String, Value)> = report["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["header"].as_str().unwrap().to_owned(), c["column"].clone()))
        .collect();
    assert_eq!(columns[0], ("Reference".into(), json!("reference")), "the BOM is not part of the first header");
    assert!(columns.contains(&("Closure Reasons".into(), json!("closure_reason"))));
    assert!(columns.contains(&("Notes".into(), Value::Null)), "an unknown column is reported ignored");
    // Line numbers are the file's own: the header is line 1.
    let lines: Vec<(i64, String)> = report["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["line"].as_i64().unwrap(), l["reference"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(lines, vec![(2, "CM-001".into()), (3, "CM-002".into())]);

    // A bad line in a real run: 422 naming the file's line and the register's reference.
    let bad = as_a_spreadsheet_saves_it("CM-003;Sideways;05/03/2025;;;;;Peabody Trust;;;");
    let refused = import(&w, &bad, QUERY, &w.coordinator.access).await;
    assert_eq!(refused.status, 422);
    let problem = refused.json()["errors"][0].clone();
    assert_eq!((problem["field"].clone(), problem["reference"].clone()), (json!("lines[4].status"), json!("CM-003")));
    assert!(cmarac_cases(&w).await.is_empty());

    // An explicit mapping overrides the reading of a header: here the notes are read as the ward.
    let mapping = url_encode(r#"{"Notes": "ward", "Wards": "ignore"}"#);
    let mapped = import(&w, &file, &format!("{QUERY}&columns={mapping}"), &w.coordinator.access).await;
    assert_eq!(mapped.status, 201, "{}", String::from_utf8_lossy(&mapped.body));
    let cases = cmarac_cases(&w).await;
    let first = cases.iter().find(|c| c["reference"] == "CM-001").unwrap();
    assert_eq!(first["area_text"], "called twice");
    assert_eq!(first["closure"]["reason"], "Moved into supported accommodation");
    let second = cases.iter().find(|c| c["reference"] == "CM-002").unwrap();
    assert_eq!(second["vulnerabilities"], json!(["being_exploited", "crime"]));
    assert_eq!(second["vulnerability_other_text"], Value::Null);
    let unknown = import(
        &w,
        &file,
        &format!("{QUERY}&columns={}", url_encode(r#"{"Notes": "shoe_size"}"#)),
        &w.coordinator.access,
    )
    .await;
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.field_errors()[0], ("columns.Notes".into(), "not_an_allowed_value".into()));
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[actix_web::test]
async fn legacy_gaps_import_as_not_recorded_with_a_flag_to_work_through() {
    let w = world().await;
    // A JAG register has no referring-agency column: nominations come from hotspot analysis.
    let jag = "Reference\tLocation\tIssue\tStatus\tReferral Date\tClosure Date\tOutcome\tWard
JAG-01\tChurch Road car park\t\"Drug dealing, Rough sleeping / bedding down\"\tClosed\t03/01/2025\t30/04/2025\tClosure orders obtained at court\tHarlesden
JAG-02\tStonebridge estate block B\tGeneral ASB and nuisance\tOpen\t10/02/2025\t\t\t
JAG-02\tStonebridge estate block B\tGeneral ASB and nuisance\tOpen\t10/02/2025\t\t\t
"
    .replace('\t', ",");
    let post = |panel: uuid::Uuid, query: String| {
        TestRequest::post()
            .uri(&format!("/api/v1/panels/{panel}/imports?{query}"))
            .insert_header(("authorization", format!("Bearer {}", w.coordinator.access)))
            .insert_header(("content-type", "text/csv"))
            .set_payload(jag.clone())
    };
    let strict = w.app.call(post(w.jag, format!("{QUERY}&strict=true"))).await;
    assert_eq!(strict.status, 422, "the strict option keeps today's refusal");
    assert!(strict.field_errors().contains(&("lines[2].referring_agency".into(), "required".into())));

    let dry = w.app.call(post(w.jag, format!("{QUERY}&dry_run=true"))).await.json();
    assert_eq!(dry["invalid"], 0, "{dry}");
    assert_eq!(dry["lines"][0]["flags"], json!(["referring_agency_not_recorded"]));
    assert_eq!(
        dry["lines"][1]["flags"],
        json!(["referring_agency_not_recorded", "ward_not_recorded", "duplicate_row"])
    );
    // A line repeated word for word is imported once; the case it makes is flagged.
    assert_eq!(
        (dry["lines"][2]["outcome"].clone(), dry["lines"][2]["duplicate_of"].clone()),
        (json!("duplicate"), json!(3))
    );
    assert_eq!(dry["duplicates"], 1);

    let real = w.app.call(post(w.jag, QUERY.to_owned())).await;
    assert_eq!(real.status, 201, "{}", String::from_utf8_lossy(&real.body));
    let page = w.app.get(&format!("/api/v1/cases?panel_id={}", w.jag), &w.coordinator.access).await.json();
    let closed = page["items"].as_array().unwrap().iter().find(|c| c["reference"] == "JAG-01").unwrap().clone();
    assert_eq!(closed["referring_agency_id"], Value::Null, "never invented");
    assert_eq!(closed["closure"]["categories"], json!(["enforcement_effective"]));
    assert_eq!(closed["closure"]["reason"], "Closure orders obtained at court");
    assert_eq!(closed["issue_categories"], json!(["drug_dealing", "rough_sleeping"]));

    let flags = w.app.get(&format!("/api/v1/panels/{}/data-quality", w.jag), &w.coordinator.access).await;
    assert_eq!(flags.status, 200, "{}", String::from_utf8_lossy(&flags.body));
    let items = flags.json()["items"].as_array().unwrap().clone();
    let listed: Vec<(String, String, i64)> = items
        .iter()
        .map(|f| {
            (f["reference"].as_str().unwrap().into(), f["kind"].as_str().unwrap().into(), f["line"].as_i64().unwrap())
        })
        .collect();
    assert_eq!(
        listed,
        vec![
            ("JAG-01".into(), "referring_agency_not_recorded".into(), 2),
            ("JAG-02".into(), "duplicate_row".into(), 3),
            ("JAG-02".into(), "referring_agency_not_recorded".into(), 3),
            ("JAG-02".into(), "ward_not_recorded".into(), 3),
        ]
    );
    let url = format!("/api/v1/panels/{}/data-quality/{}/resolve", w.jag, items[0]["id"].as_str().unwrap());
    let resolved = w.app.request(actix_web::http::Method::POST, &url, Some(&w.coordinator.access), None).await;
    assert_eq!(resolved.status, 200, "{}", String::from_utf8_lossy(&resolved.body));
    let again = w.app.request(actix_web::http::Method::POST, &url, Some(&w.coordinator.access), None).await;
    assert_eq!(again.status, 404);
    let left = w.app.get(&format!("/api/v1/panels/{}/data-quality", w.jag), &w.coordinator.access).await.json();
    assert_eq!(left["items"].as_array().unwrap().len(), 3);
    assert_eq!(w.app.get(&format!("/api/v1/panels/{}/data-quality", w.jag), &w.police.access).await.status, 403);

    // The figures count the gap as not recorded rather than losing the case.
    let period = format!("from={}&to={}", "2025-01-01", "2025-03-31");
    let m = w.app.get(&format!("/api/v1/panels/{}/metrics?{period}", w.jag), &w.coordinator.access).await.json();
    assert_eq!(m["breakdowns"]["referring_agency_type"][0]["key"], "not_recorded", "{m}");
    assert_eq!(m["breakdowns"]["referring_agency_type"][0]["count"]["value"], 2);
}

#[actix_web::test]
async fn a_register_without_references_gets_the_panels_own() {
    let w = world().await;
    let file = "Location,Issue,Status,Referral Date,Ward\r\nMarket Square,Street drinking,Open,05/01/2025,Kensal Green\r\nCanal towpath,Loitering,Open,06/01/2025,Kensal Green\r\n";
    let post = |query: String| {
        TestRequest::post()
            .uri(&format!("/api/v1/panels/{}/imports?{query}", w.jag))
            .insert_header(("authorization", format!("Bearer {}", w.coordinator.access)))
            .insert_header(("content-type", "text/csv"))
            .set_payload(file)
    };
    let dry = w.app.call(post(format!("{QUERY}&dry_run=true"))).await.json();
    assert_eq!((dry["invalid"].clone(), dry["created"].clone()), (json!(0), json!(2)), "{dry}");
    assert_eq!(dry["lines"][0]["reference"], Value::Null, "assigned only when imported");
    let real = w.app.call(post(QUERY.to_owned())).await;
    assert_eq!(real.status, 201, "{}", String::from_utf8_lossy(&real.body));
    let references: Vec<String> =
        real.json()["lines"].as_array().unwrap().iter().map(|l| l["reference"].as_str().unwrap().to_owned()).collect();
    assert_eq!(references.len(), 2);
    assert!(references.iter().all(|r| r.starts_with("JAG-")), "{references:?}");
    assert_ne!(references[0], references[1]);
    let again = w.app.call(post(QUERY.to_owned())).await.json();
    assert_eq!(again["created"], 0, "the same file again creates nothing");
}

/// A register as councils keep it: an Excel workbook, the register on its second sheet with a
/// title row above the header, dates as spreadsheet dates and scores as numbers.
fn workbook() -> Vec<u8> {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut book = Workbook::new();
    book.add_worksheet().set_name("Notes").unwrap().write_string(0, 0, "Read me first").unwrap();
    let sheet = book.add_worksheet().set_name("CMARAC register").unwrap();
    let date = Format::new().set_num_format("dd/mm/yyyy");
    let header = [
        "Reference",
        "Status",
        "Referral Date",
        "Closure Date",
        "Closure Reasons",
        "Ward",
        "Vulnerabilities",
        "Referring Agency",
        "Entry Score",
        "Exit Score",
    ];
    for (c, h) in header.iter().enumerate() {
        sheet.write_string(1, c as u16, *h).unwrap();
    }
    let rows = [
        (
            "CM-101",
            "Closed",
            (2025, 2, 1),
            Some((2025, 6, 15)),
            "Moved into supported accommodation",
            "Harlesden",
            "ASB, Substance Misuse",
            40,
            Some(25),
        ),
        (
            "CM-102",
            "Open",
            (2025, 3, 10),
            None,
            "",
            "Barn Hill",
            "Being exploited e.g., financially or losing control of home",
            35,
            None,
        ),
    ];
    for (i, (reference, status, referred, closed, reason, ward, vulnerabilities, entry, exit)) in
        rows.into_iter().enumerate()
    {
        let r = i as u32 + 2;
        sheet.write_string(r, 0, reference).unwrap();
        sheet.write_string(r, 1, status).unwrap();
        let d = |(y, m, d): (u16, u8, u8)| ExcelDateTime::from_ymd(y, m, d).unwrap();
        sheet.write_datetime_with_format(r, 2, d(referred), &date).unwrap();
        if let Some(closed) = closed {
            sheet.write_datetime_with_format(r, 3, d(closed), &date).unwrap();
        }
        sheet.write_string(r, 4, reason).unwrap();
        sheet.write_string(r, 5, ward).unwrap();
        sheet.write_string(r, 6, vulnerabilities).unwrap();
        sheet.write_string(r, 7, "Peabody Trust").unwrap();
        sheet.write_number(r, 8, entry).unwrap();
        if let Some(exit) = exit {
            sheet.write_number(r, 9, exit).unwrap();
        }
    }
    book.save_to_buffer().unwrap()
}

#[actix_web::test]
async fn an_excel_workbook_imports_from_the_sheet_named() {
    let w = world().await;
    let post = |query: String, body: Vec<u8>| {
        TestRequest::post()
            .uri(&format!("/api/v1/panels/{}/imports?{query}", w.cmarac))
            .insert_header(("authorization", format!("Bearer {}", w.coordinator.access)))
            .insert_header(("content-type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
            .set_payload(body)
    };
    let first_sheet = w.app.call(post(format!("{QUERY}&dry_run=true"), workbook())).await;
    assert_eq!(first_sheet.status, 400, "the first sheet holds no register");
    let missing = w.app.call(post(format!("{QUERY}&dry_run=true&sheet=Register%202024"), workbook())).await;
    assert_eq!(missing.field_errors(), vec![("sheet".into(), "no_such_sheet".into())]);
    let garbage = w.app.call(post(format!("{QUERY}&dry_run=true"), b"not a workbook".to_vec())).await;
    assert_eq!(garbage.field_errors(), vec![("file".into(), "unreadable_xlsx".into())]);

    let dry = w.app.call(post(format!("{QUERY}&dry_run=true&sheet=cmarac%20register"), workbook())).await;
    assert_eq!(dry.status, 200, "{}", String::from_utf8_lossy(&dry.body));
    let report = dry.json();
    assert_eq!(report["invalid"], 0, "{report}");
    assert_eq!(report["lines"][0]["line"], 3, "the spreadsheet's own row numbers");
    let by_index = w.app.call(post(format!("{QUERY}&sheet=2"), workbook())).await;
    assert_eq!(by_index.status, 201, "{}", String::from_utf8_lossy(&by_index.body));
    let cases = cmarac_cases(&w).await;
    let closed = cases.iter().find(|c| c["reference"] == "CM-101").unwrap();
    assert_eq!(closed["referral_date"], "2025-02-01");
    assert_eq!(closed["closure"]["closed_on"], "2025-06-15");
    assert_eq!(closed["risk"]["latest_entry"]["score"], 40);
    let open = cases.iter().find(|c| c["reference"] == "CM-102").unwrap();
    assert_eq!(open["vulnerabilities"], json!(["being_exploited"]));
}

#[actix_web::test]
async fn a_line_closed_without_a_reason_imports_closed_with_the_reason_not_recorded() {
    let w = world().await;
    let file = "Reference,Status,Referral Date,Closure Date,Closure Reason,Ward,Referring Agency\nCM-201,Closed,01/02/2025,15/06/2025,,Harlesden,Peabody Trust\n";
    let strict = import(&w, file, &format!("{QUERY}&strict=true&dry_run=true"), &w.coordinator.access).await.json();
    assert_eq!(strict["lines"][0]["problems"][0]["field"], "closure_reason", "{strict}");
    let imported = import(&w, file, QUERY, &w.coordinator.access).await;
    assert_eq!(imported.status, 201, "{}", String::from_utf8_lossy(&imported.body));
    assert_eq!(imported.json()["lines"][0]["flags"], json!(["closure_reason_not_recorded"]));
    let case = cmarac_cases(&w).await.into_iter().find(|c| c["reference"] == "CM-201").unwrap();
    assert_eq!(case["status"], "closed");
    assert_eq!(case["closure"]["closed_on"], "2025-06-15");
    assert_eq!((case["closure"]["reason"].clone(), case["closure"]["categories"].clone()), (Value::Null, json!([])));
    let flags = w.app.get(&format!("/api/v1/panels/{}/data-quality", w.cmarac), &w.coordinator.access).await.json();
    assert_eq!(flags["items"][0]["kind"], "closure_reason_not_recorded");
}

async fn post_register(w: &crate::cases::World, panel: uuid::Uuid, file: &str, query: &str, token: &str) -> Res {
    let req = TestRequest::post()
        .uri(&format!("/api/v1/panels/{panel}/imports?{query}"))
        .insert_header(("authorization", format!("Bearer {token}")))
        .insert_header(("content-type", "text/csv"))
        .set_payload(file.to_owned());
    w.app.call(req).await
}

async fn case_by_reference(w: &crate::cases::World, panel: uuid::Uuid, reference: &str) -> Value {
    let page =
        w.app.get(&format!("/api/v1/cases?panel_id={panel}&reference={reference}"), &w.coordinator.access).await.json();
    let id = page["items"][0]["id"].as_str().unwrap_or_else(|| panic!("no case {reference}: {page}")).to_owned();
    w.app.get(&format!("/api/v1/cases/{id}"), &w.coordinator.access).await.json()
}

#[actix_web::test]
async fn an_open_line_with_an_outcome_imports_open_with_the_outcome_kept_on_its_flag() {
    let w = world().await;
    let file = "Reference,Status,Referral Date,Closure Reasons,Ward,Referring Agency\r\n\
                CM-301,Open,2025-04-01,Engaging well with the outreach team,Harlesden,Peabody Trust\r\n";
    let strict = post_register(&w, w.cmarac, file, &format!("{QUERY}&strict=true"), &w.coordinator.access).await;
    assert_eq!(strict.status, 422);
    assert!(
        strict.field_errors().contains(&("lines[2].status".into(), "closure_recorded_on_a_case_not_closed".into())),
        "{}",
        String::from_utf8_lossy(&strict.body)
    );
    let dry = post_register(&w, w.cmarac, file, &format!("{QUERY}&dry_run=true"), &w.coordinator.access).await.json();
    assert_eq!(dry["lines"][0]["flags"], json!(["outcome_on_open_line"]), "{dry}");
    let real = post_register(&w, w.cmarac, file, QUERY, &w.coordinator.access).await;
    assert_eq!(real.status, 201, "{}", String::from_utf8_lossy(&real.body));
    let case = case_by_reference(&w, w.cmarac, "CM-301").await;
    assert_eq!(case["status"], "open");
    assert_eq!(case["closure"], Value::Null, "an open case has no closure, {case}");
    let flags = w.app.get(&format!("/api/v1/panels/{}/data-quality", w.cmarac), &w.coordinator.access).await.json();
    let flag = flags["items"].as_array().unwrap().iter().find(|f| f["kind"] == "outcome_on_open_line").unwrap().clone();
    assert_eq!(
        (flag["reference"].clone(), flag["detail"].clone(), flag["line"].clone()),
        (json!("CM-301"), json!("Engaging well with the outreach team"), json!(2)),
        "the outcome is kept verbatim for a coordinator to settle"
    );
}

/// A MARAC register that names its people: the same victim and perpetrator on two lines, the
/// later first in the file, then the register again with a line for a period the panel holds.
#[actix_web::test]
async fn register_people_are_linked_like_a_referral_and_repeats_found_in_imported_history() {
    let w = world().await;
    let file = "Ref,Status,Referral date,Victim's name,DOB,Perpetrator,Closure date,Closure reason,Referring agency,Ward\r\n\
                M-2,Open,2025-06-01,Jane Smith,1990-04-03,\"BLOGGS, Joe\",,,Metropolitan Police,Harlesden\r\n\
                M-1,Closed,2025-01-10,\"SMITH, Jane\",03/04/1990,Joe Bloggs,2025-03-01,Moved out of borough,Metropolitan Police,Harlesden\r\n";
    let dry = post_register(&w, w.marac, file, &format!("{QUERY}&dry_run=true"), &w.coordinator.access).await.json();
    assert_eq!(dry["invalid"], 0, "{dry}");
    let people = |report: &Value, line: usize| report["lines"][line]["people"].clone();
    // Lines are created in referral order, so the earlier case's people are new and the later
    // line finds them.
    assert_eq!(
        people(&dry, 1),
        json!([{ "role": "victim", "outcome": "new" }, { "role": "perpetrator", "outcome": "new" }])
    );
    assert_eq!(
        people(&dry, 0),
        json!([{ "role": "victim", "outcome": "existing" }, { "role": "perpetrator", "outcome": "existing" }])
    );
    let real = post_register(&w, w.marac, file, QUERY, &w.coordinator.access).await;
    assert_eq!(real.status, 201, "{}", String::from_utf8_lossy(&real.body));
    assert_eq!(people(&real.json(), 0), people(&dry, 0), "the dry run foretold the real run");
    let first = case_by_reference(&w, w.marac, "M-1").await;
    let later = case_by_reference(&w, w.marac, "M-2").await;
    assert_eq!(later["criteria"]["repeat"], true, "{later}");
    assert_eq!(later["repeat_of_case_id"], first["id"]);
    let ids = |c: &Value| {
        let mut ids: Vec<String> =
            c["participants"].as_array().unwrap().iter().map(|p| p["person"]["id"].as_str().unwrap().into()).collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&first).len(), 2, "{first}");
    assert_eq!(ids(&first), ids(&later), "the same two people, not recorded twice");

    // The same victim again in a period the panel already holds (M-2 is open): flagged on M-2,
    // not imported twice.
    let again = "Ref,Status,Referral date,Victim's name,DOB,Perpetrator,Referring agency,Ward\r\n\
                 M-9,Open,2025-07-15,Jane Smith,1990-04-03,Joe Bloggs,Metropolitan Police,Harlesden\r\n";
    let report = post_register(&w, w.marac, again, QUERY, &w.coordinator.access).await.json();
    assert_eq!(
        (report["lines"][0]["outcome"].clone(), report["lines"][0]["duplicate_of_case"].clone()),
        (json!("duplicate"), json!("M-2")),
        "{report}"
    );
    assert_eq!(report["created"], 0);
    let flags = w.app.get(&format!("/api/v1/panels/{}/data-quality", w.marac), &w.coordinator.access).await.json();
    assert!(
        flags["items"].as_array().unwrap().iter().any(|f| f["kind"] == "duplicate_row" && f["reference"] == "M-2"),
        "{flags}"
    );
}

#[actix_web::test]
async fn a_jag_line_for_a_location_the_panel_holds_is_flagged_not_imported_twice() {
    let w = world().await;
    let first = "Ref,Location,Issue,Status,Referral Date,Ward\r\nJ-1,Church Road car park,Drug dealing,Open,2025-02-01,Harlesden\r\n";
    assert_eq!(post_register(&w, w.jag, first, QUERY, &w.coordinator.access).await.status, 201);
    let again = "Location,Issues,Status,Referral Date,Ward\r\nchurch road car park ,Drug dealing,Open,2025-03-01,Harlesden\r\n\
                 Church Road car park,Robbery,Open,2025-03-01,Harlesden\r\n";
    let report = post_register(&w, w.jag, again, QUERY, &w.coordinator.access).await.json();
    assert_eq!(report["lines"][0]["duplicate_of_case"], "J-1", "{report}");
    assert_eq!(report["lines"][1]["outcome"], "create", "another issue at the same place is another case");
    assert_eq!((report["created"].clone(), report["duplicates"].clone()), (json!(1), json!(1)));
}

#[actix_web::test]
async fn an_exported_register_imports_into_an_empty_panel_as_itself() {
    let w = world().await;
    with_st_mungos(&w).await;
    let file = "Reference,Status,Referral Date,Closure Date,Closure Reason,Ward,Vulnerabilities,Referring Agency,Entry Score,Exit Score,Name,Date of birth,Perpetrator\r\n\
                CM-001,Closed,01/02/2025,15/06/2025,Moved into supported accommodation,Harlesden,\"Being exploited, e.g. financially or losing control of home; Substance misuse\",ST. MUNGO'S,40,25,Amy Jones,1980-01-02,\r\n\
                CM-002,Open,2025-03-10,,,\"=HYPERLINK(\"\"http://x.example\"\")\",\"Mental Health, gambling\",Peabody Trust,35,,\"de la Cruz, Maria\",,Sam Doe\r\n\
                CM-003,Monitoring,2025-04-11,,,@Barn Hill,Hoarding,,33,,,,\r\n";
    let imported = post_register(&w, w.cmarac, file, QUERY, &w.coordinator.access).await;
    assert_eq!(imported.status, 201, "{}", String::from_utf8_lossy(&imported.body));
    assert_eq!(
        imported.json()["lines"][1]["kept_as_other"],
        json!([{ "column": "vulnerability", "text": "gambling" }])
    );
    let url = |panel: uuid::Uuid, format: &str| format!("/api/v1/panels/{panel}/register?format={format}");
    let exported = w.app.get(&url(w.cmarac, "csv"), &w.coordinator.access).await;
    assert_eq!(exported.status, 200, "{}", String::from_utf8_lossy(&exported.body));
    assert_eq!(exported.header("content-type").as_deref(), Some("text/csv; charset=utf-8"));
    let csv = String::from_utf8(exported.body.clone()).unwrap();
    let csv = csv.strip_prefix('\u{feff}').expect("a byte-order mark, for Excel");
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "Reference,Status,Referral date,Referring agency,Ward,Name,Date of birth,Perpetrator,Perpetrator date of birth,\
         Vulnerabilities,Entry score,Exit score,Closure date,Closure reason,Closure category"
    );
    assert_eq!(
        lines[1],
        "CM-001,Closed,2025-02-01,St Mungos,Harlesden,\"Jones, Amy\",1980-01-02,,,\
         Being exploited; Substance misuse,40,25,2025-06-15,Moved into supported accommodation,Supported accommodation"
    );
    assert!(lines[2].contains(",\"'=HYPERLINK(\"\"http://x.example\"\")\","), "formulas neutralised: {}", lines[2]);
    assert!(lines[2].contains(",\"de la Cruz, Maria\",,\"Doe, Sam\",,Mental health; gambling,"), "{}", lines[2]);
    assert!(
        lines[3].starts_with("CM-003,Monitoring,2025-04-11,,'@Barn Hill,,,,,Self neglect hoarding,33,"),
        "{}",
        lines[3]
    );
    assert_eq!(w.app.get(&url(w.cmarac, "csv"), &w.police.access).await.status, 403, "panel staff only");

    // Into an empty panel, from the CSV and from the workbook: the same register comes back.
    let members = [w.housing_agency, w.police_agency];
    for format in ["csv", "xlsx"] {
        let panel = w.app.create_panel(&w.admin, &format!("Second CMARAC {format}"), "cmarac", &members).await;
        let coordinator = w
            .app
            .user(
                &w.admin,
                &format!("second-{format}@test.example"),
                Some(w.housing_agency),
                json!([{ "role": "coordinator", "panel_id": panel }]),
            )
            .await;
        let file = w.app.get(&url(w.cmarac, format), &w.coordinator.access).await;
        let media = if format == "csv" {
            "text/csv"
        } else {
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        };
        assert!(file.header("content-type").unwrap().starts_with(media));
        let req = TestRequest::post()
            .uri(&format!("/api/v1/panels/{panel}/imports?{QUERY}"))
            .insert_header(("authorization", format!("Bearer {}", coordinator.access)))
            .insert_header(("content-type", media))
            .set_payload(file.body.clone());
        let again = w.app.call(req).await;
        assert_eq!(again.status, 201, "{format}: {}", String::from_utf8_lossy(&again.body));
        assert_eq!(again.json()["created"], 3);
        let round = w.app.get(&url(panel, "csv"), &coordinator.access).await;
        assert_eq!(
            String::from_utf8_lossy(&round.body),
            String::from_utf8_lossy(&exported.body),
            "{format} round trip"
        );
    }
}

/// A CMARAC register as a council prints it: a title above the header, its own words for the
/// columns, placeholders in the gaps, dates with month names, status phrases, two organisations
/// in one cell and a totals line at the foot.
#[actix_web::test]
async fn a_register_as_printed_imports_with_its_title_placeholders_and_totals() {
    let w = world().await;
    with_st_mungos(&w).await;
    let file = "Brent Community MARAC register 2024/25,,,,,,,,,\r\n\
                Produced for the partnership board,,,,,,,,,\r\n\
                ,,,,,,,,,\r\n\
                Case ID,Date received,Presenting issues,Referral source,Ward,Risk score at referral,Closing risk score,Current status,Date of closure,Reason closed\r\n\
                CM-501,3 Feb 2025,\"Mental health issues, alcohol dependency\",Metropolitan Police / Peabody Trust,Harlesden,38,20,Closed - outcome achieved,30/06/25,Referred to CMHT and engaging\r\n\
                CM-502,10-Mar-2025,Hoarding and self neglect,N/A,-,33,n/a,Monitoring - review in June,,\r\n\
                Total,,,,,,,,,2\r\n";
    let report = post_register(&w, w.cmarac, file, &format!("{QUERY}&dry_run=true"), &w.coordinator.access).await;
    assert_eq!(report.status, 200, "{}", String::from_utf8_lossy(&report.body));
    let report = report.json();
    let read: Vec<(String, Value)> = report["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["header"].as_str().unwrap().to_owned(), c["column"].clone()))
        .collect();
    assert_eq!(
        read,
        vec![
            ("Case ID".into(), json!("reference")),
            ("Date received".into(), json!("referral_date")),
            ("Presenting issues".into(), json!("vulnerability")),
            ("Referral source".into(), json!("referring_agency")),
            ("Ward".into(), json!("ward")),
            ("Risk score at referral".into(), json!("entry_score")),
            ("Closing risk score".into(), json!("exit_score")),
            ("Current status".into(), json!("status")),
            ("Date of closure".into(), json!("closure_date")),
            ("Reason closed".into(), json!("closure_reason")),
        ]
    );
    assert_eq!(report["invalid"], 0, "{report}");
    let outcomes: Vec<(i64, &str)> = report["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["line"].as_i64().unwrap(), l["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(outcomes, vec![(5, "create"), (6, "create"), (7, "summary")], "line numbers are the file's own");
    assert_eq!(
        report["lines"][1]["flags"],
        json!(["referring_agency_not_recorded", "ward_not_recorded"]),
        "placeholders are gaps"
    );

    let real = post_register(&w, w.cmarac, file, QUERY, &w.coordinator.access).await;
    assert_eq!(real.status, 201, "{}", String::from_utf8_lossy(&real.body));
    let first = case_by_reference(&w, w.cmarac, "CM-501").await;
    assert_eq!(
        (first["status"].clone(), first["referral_date"].clone(), first["closure"]["closed_on"].clone()),
        (json!("closed"), json!("2025-02-03"), json!("2025-06-30"))
    );
    assert_eq!(first["vulnerabilities"], json!(["mental_health", "substance_misuse"]));
    assert_eq!(first["closure"]["categories"], json!(["mental_health_service_engaged"]));
    assert_eq!(first["referring_agency_id"], json!(w.police_agency));
    assert_eq!(first["co_referring_agency_ids"], json!([w.housing_agency]));
    let second = case_by_reference(&w, w.cmarac, "CM-502").await;
    assert_eq!((second["status"].clone(), second["referral_date"].clone()), (json!("monitoring"), json!("2025-03-10")));
    assert_eq!(second["vulnerabilities"], json!(["self_neglect_hoarding"]));
}

#[actix_web::test]
async fn a_jag_register_carries_addresses_uprns_localities_and_leads() {
    let w = world().await;
    let file = "Address,Postcode,UPRN,Locality,Lead agency,Nature of problem,Status,Nomination date,Ward\r\n\
                \"Flat block B, Stonebridge Estate\",NW10 8AA,100 023 336 956,Harlesden & Kensal,Peabody Trust,Drug dealing in the stairwell,Adopted,2025-02-01,Stonebridge\r\n";
    let real = post_register(&w, w.jag, file, QUERY, &w.coordinator.access).await;
    assert_eq!(real.status, 201, "{}", String::from_utf8_lossy(&real.body));
    let reference = real.json()["lines"][0]["reference"].as_str().unwrap().to_owned();
    let case = case_by_reference(&w, w.jag, &reference).await;
    assert_eq!(case["location"]["site_name"], "Flat block B, Stonebridge Estate", "named by its address");
    assert_eq!(
        (case["location"]["postcode"].clone(), case["location"]["uprn"].clone(), case["location"]["locality"].clone()),
        (json!("NW10 8AA"), json!("100023336956"), json!("Harlesden & Kensal"))
    );
    assert_eq!(case["issue_categories"], json!(["drug_dealing"]));
    let record = w
        .app
        .get(&format!("/api/v1/cases/{}/problem-solving", case["id"].as_str().unwrap()), &w.coordinator.access)
        .await;
    assert_eq!(record.json()["lead_agency_id"], json!(w.housing_agency));
    // The same columns on a person register do not apply: ignored and reported so, not refused;
    // a caller who maps one there is told it does not apply.
    let file = "Reference,Status,Referral date,UPRN,Lead agency\r\nCM-9,Open,2025-01-01,123,Peabody Trust\r\n";
    let on_cmarac =
        post_register(&w, w.cmarac, file, &format!("{QUERY}&dry_run=true"), &w.coordinator.access).await.json();
    assert_eq!((on_cmarac["invalid"].clone(), on_cmarac["created"].clone()), (json!(0), json!(1)), "{on_cmarac}");
    assert_eq!(
        (on_cmarac["columns"][3]["column"].clone(), on_cmarac["columns"][4]["column"].clone()),
        (Value::Null, Value::Null)
    );
    let mapped = format!("{QUERY}&columns={}", url_encode(r#"{"UPRN": "uprn"}"#));
    let mapped = post_register(&w, w.cmarac, file, &mapped, &w.coordinator.access).await;
    assert!(
        mapped.field_errors().contains(&("lines[2].uprn".into(), "only_for_jag".into())),
        "{}",
        String::from_utf8_lossy(&mapped.body)
    );
}
