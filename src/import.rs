//! Importing the registers councils keep today (CSV with a header row) into a panel's cases.
//! A dry run reports, per line, what would be created and every problem; a real run is
//! all-or-nothing, and importing the same file (or the same references) again creates nothing.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use diesel::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::admission::{self, Admission, Consent, RecordedClosure, Source};
use crate::domain::{
    AgencyId, AssessmentStage, CaseStatus, ClosureCategory, ConsentStatus, IssueCategory, LawfulBasis, PanelKind,
    RiskTool, SpecialCategoryCondition, UserId, Vulnerability, normalize_org_name,
};
use crate::error::{ApiError, FieldProblem};
use crate::models::assessment::NewAssessment;
use crate::models::case::{self, NewLocation};
use crate::models::panel::PanelRow;
use crate::schema::{agency_names, case_imports};

pub const MAX_ROWS: usize = 5_000;
const TOOL_VERSION: &str = "imported_register";
const IMPORTED_CONSENT_NOTE: &str = "Imported from an existing register, which did not record consent.";

/// What the caller states for the whole file: registers do not carry a lawful basis per row.
pub struct ImportOptions {
    pub dry_run: bool,
    pub lawful_basis: LawfulBasis,
    pub special_category_condition: SpecialCategoryCondition,
}

#[derive(Debug, Serialize, PartialEq, Eq, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum LineOutcome {
    Create,
    Exists,
    Invalid,
}

#[derive(Debug, Serialize)]
pub struct LineReport {
    pub line: u64,
    pub reference: Option<String>,
    pub outcome: LineOutcome,
    pub problems: Vec<FieldProblem>,
}

#[derive(Debug, Serialize)]
pub struct ImportReport {
    pub dry_run: bool,
    pub file_already_imported: bool,
    pub rows: usize,
    pub created: usize,
    pub existing: usize,
    pub invalid: usize,
    pub lines: Vec<LineReport>,
}

/// One register line, checked.
struct Row {
    reference: String,
    status: CaseStatus,
    referral_date: NaiveDate,
    closed_on: Option<NaiveDate>,
    closure_categories: Vec<ClosureCategory>,
    closure_reason: Option<String>,
    area_text: Option<String>,
    vulnerabilities: Vec<Vulnerability>,
    vulnerability_other_text: Option<String>,
    referring_agency: AgencyId,
    entry_score: Option<i32>,
    exit_score: Option<i32>,
    location: Option<String>,
    issue_categories: Vec<IssueCategory>,
    issue_other_text: Option<String>,
}

/// The columns a register may have, by the names councils give them (compared normalised).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Column {
    Reference,
    Status,
    ReferralDate,
    ClosureDate,
    ClosureReason,
    Ward,
    Vulnerability,
    ReferringAgency,
    EntryScore,
    ExitScore,
    Location,
    Issue,
}

fn column_for(header: &str) -> Option<Column> {
    Some(match normalize_org_name(header).as_str() {
        "reference" | "ref" | "case reference" | "case ref" | "case number" | "case no" => Column::Reference,
        "status" | "case status" => Column::Status,
        "referral date" | "date referred" | "date of referral" | "referred on" | "received" => Column::ReferralDate,
        "closure date" | "date closed" | "closed on" | "close date" => Column::ClosureDate,
        "closure reason" | "reason for closure" | "outcome" | "closure" => Column::ClosureReason,
        "ward" | "area" | "ward area" => Column::Ward,
        "vulnerability" | "vulnerabilities" => Column::Vulnerability,
        "referring agency" | "referrer" | "referred by" | "agency" => Column::ReferringAgency,
        "entry score" | "risk score at entry" | "entry risk score" => Column::EntryScore,
        "exit score" | "risk score at exit" | "exit risk score" => Column::ExitScore,
        "location" | "site" | "location name" => Column::Location,
        "issue" | "issues" | "issue category" => Column::Issue,
        _ => return None,
    })
}

/// A register's date, in the forms councils write them, within the years the service supports.
fn parse_date(raw: &str) -> Option<NaiveDate> {
    let raw = raw.trim();
    ["%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(raw, f).ok())
        .filter(|d| (crate::domain::EARLIEST..=crate::domain::LATEST).contains(d))
}

fn status_for(raw: &str) -> Option<CaseStatus> {
    Some(match normalize_org_name(raw).as_str() {
        "referred" | "new" | "nominated" | "submitted" => CaseStatus::Referred,
        "screening" => CaseStatus::Screening,
        "accepted" | "adopted" => CaseStatus::Accepted,
        "rejected" | "declined" | "not accepted" => CaseStatus::Rejected,
        "open" | "live" | "active" | "listed" | "heard" | "under review" | "plan agreed" | "interventions underway" => {
            CaseStatus::Open
        }
        "monitoring" => CaseStatus::Monitoring,
        "closed" | "resolved" | "escalated" => CaseStatus::Closed,
        "transferred out" | "transferred" => CaseStatus::TransferredOut,
        "withdrawn" => CaseStatus::Withdrawn,
        _ => return None,
    })
}

/// Matches a code or its words ("mental_health" ↔ "Mental Health"), plus the labels and common
/// shorthand registers use.
fn vulnerability_for(text: &str) -> Option<Vulnerability> {
    let key = normalize_org_name(text);
    if let Some(v) = Vulnerability::ALL.iter().find(|v| normalize_org_name(&v.as_str().replace('_', " ")) == key) {
        return Some(*v);
    }
    Some(match key.as_str() {
        "asb" | "antisocial behaviour" => Vulnerability::AntiSocialBehaviour,
        "homelessness or risk of homelessness" | "risk of homelessness" | "homeless" => Vulnerability::Homelessness,
        "being exploited" | "exploitation" => Vulnerability::BeingExploited,
        "self neglect" | "hoarding" | "self neglect or hoarding" => Vulnerability::SelfNeglectHoarding,
        "financial abuse" | "fraud" | "financial abuse or fraud" => Vulnerability::FinancialAbuseFraud,
        "risk of harm to self or others" => Vulnerability::RiskToSelfOrOthers,
        "drugs" | "alcohol" | "drugs and alcohol" => Vulnerability::SubstanceMisuse,
        k if k.starts_with("other") => Vulnerability::Other,
        _ => return None,
    })
}

fn issue_for(text: &str) -> Option<IssueCategory> {
    let key = normalize_org_name(text);
    if let Some(v) = IssueCategory::ALL.iter().find(|v| normalize_org_name(&v.as_str().replace('_', " ")) == key) {
        return Some(*v);
    }
    Some(match key.as_str() {
        "asb" | "nuisance" | "general asb and nuisance" => IssueCategory::AsbNuisance,
        "drugs" | "drug activity" => IssueCategory::DrugDealing,
        "prostitution" | "sex work" => IssueCategory::OnStreetSexWork,
        "rough sleepers" | "bedding down" => IssueCategory::RoughSleeping,
        k if k.starts_with("other") => IssueCategory::Other,
        _ => return None,
    })
}

/// Closure reasons written as text map to a category where they say one plainly; the text is
/// always kept as the reason.
fn closure_for(text: &str) -> ClosureCategory {
    let key = normalize_org_name(text);
    if let Some(c) = ClosureCategory::ALL.iter().find(|c| normalize_org_name(&c.as_str().replace('_', " ")) == key) {
        return *c;
    }
    let has = |w: &str| key.contains(w);
    if has("supported accommodation") {
        ClosureCategory::SupportedAccommodation
    } else if has("custody") || has("remanded") {
        ClosureCategory::CustodyRemand
    } else if has("deceased") || has("died") {
        ClosureCategory::Deceased
    } else if has("moved out of") || has("out of borough") {
        ClosureCategory::MovedOutOfBorough
    } else if has("single agency") || has("referred back to") {
        ClosureCategory::SteppedDownSingleAgency
    } else if has("12 months") || has("twelve months") {
        ClosureCategory::TwelveMonthLapse
    } else {
        ClosureCategory::Other
    }
}

/// Splits a multi-valued cell ("ASB, Substance Misuse") into codes and the text that matched none.
fn split_codes<T: Copy + PartialEq>(cell: &str, map: fn(&str) -> Option<T>, other: T) -> (Vec<T>, Option<String>) {
    let mut codes = Vec::new();
    let mut unmatched = Vec::new();
    for piece in cell.split([',', ';', '/']).map(str::trim).filter(|p| !p.is_empty()) {
        match map(piece) {
            Some(code) => {
                if !codes.contains(&code) {
                    codes.push(code);
                }
            }
            None => unmatched.push(piece.to_owned()),
        }
    }
    if !unmatched.is_empty() && !codes.contains(&other) {
        codes.push(other);
    }
    (codes, (!unmatched.is_empty()).then(|| unmatched.join("; ")))
}

fn agency_by_name(conn: &mut PgConnection, name: &str) -> QueryResult<Option<AgencyId>> {
    agency_names::table
        .filter(agency_names::normalized.eq(normalize_org_name(name)))
        .select(agency_names::agency_id)
        .first(conn)
        .optional()
}

/// A line that cannot be imported: its reference, if it has one, and why.
type RefusedLine = (Option<String>, Vec<FieldProblem>);

/// Reads and checks every line; problems are named `column` with a code.
fn check_line(
    conn: &mut PgConnection,
    panel: &PanelRow,
    record: &csv::StringRecord,
    columns: &HashMap<Column, usize>,
    today: NaiveDate,
) -> QueryResult<Result<Row, RefusedLine>> {
    let cell = |c: Column| columns.get(&c).and_then(|i| record.get(*i)).map(str::trim).filter(|v| !v.is_empty());
    let mut problems = Vec::new();
    let mut problem = |field: &str, code: &str| problems.push(FieldProblem::new(field, code));

    let reference = cell(Column::Reference).map(str::to_owned);
    match &reference {
        None => problem("reference", "required"),
        Some(r) if r.chars().count() > 50 => problem("reference", "too_long"),
        _ => {}
    }
    let status = match cell(Column::Status) {
        None => {
            problem("status", "required");
            None
        }
        Some(s) => status_for(s).or_else(|| {
            problem("status", "unknown_status");
            None
        }),
    };
    let referral_date = match cell(Column::ReferralDate) {
        None => {
            problem("referral_date", "required");
            None
        }
        Some(d) => match parse_date(d) {
            None => {
                problem("referral_date", "invalid_date");
                None
            }
            Some(d) if d > today => {
                problem("referral_date", "in_future");
                None
            }
            Some(d) => Some(d),
        },
    };
    let closed_on = match cell(Column::ClosureDate).map(|d| (d, parse_date(d))) {
        None => None,
        Some((_, None)) => {
            problem("closure_date", "invalid_date");
            None
        }
        Some((_, Some(d))) if d > today => {
            problem("closure_date", "in_future");
            None
        }
        Some((_, Some(d))) => {
            if referral_date.is_some_and(|r| d < r) {
                problem("closure_date", "before_referral_date");
            }
            Some(d)
        }
    };
    let closure_reason = cell(Column::ClosureReason).map(str::to_owned);
    if status == Some(CaseStatus::Closed) {
        if closed_on.is_none() && cell(Column::ClosureDate).is_none() {
            problem("closure_date", "required_when_closed");
        }
        if closure_reason.is_none() {
            problem("closure_reason", "required_when_closed");
        }
    } else if status.is_some() && (closed_on.is_some() || closure_reason.is_some()) {
        problem("status", "closure_recorded_on_a_case_not_closed");
    }
    if closure_reason.as_ref().is_some_and(|r| r.chars().count() > 2000) {
        problem("closure_reason", "too_long");
    }
    let referring_agency = match cell(Column::ReferringAgency) {
        None => {
            problem("referring_agency", "required");
            None
        }
        Some(name) => {
            let found = agency_by_name(conn, name)?;
            if found.is_none() {
                problem("referring_agency", "unknown_agency");
            }
            found
        }
    };
    let mut score = |c: Column, field: &str| match cell(c) {
        None => None,
        Some(s) => match s.parse::<i32>() {
            Ok(v) if (0..=10_000).contains(&v) => Some(v),
            Ok(_) => {
                problems.push(FieldProblem::new(field, "out_of_range"));
                None
            }
            Err(_) => {
                problems.push(FieldProblem::new(field, "not_a_whole_number"));
                None
            }
        },
    };
    let entry_score = score(Column::EntryScore, "entry_score");
    let exit_score = score(Column::ExitScore, "exit_score");
    let (vulnerabilities, vulnerability_other_text) = cell(Column::Vulnerability)
        .map_or((Vec::new(), None), |v| split_codes(v, vulnerability_for, Vulnerability::Other));
    let location = cell(Column::Location).map(str::to_owned);
    let (issue_categories, issue_other_text) =
        cell(Column::Issue).map_or((Vec::new(), None), |v| split_codes(v, issue_for, IssueCategory::Other));
    if panel.kind != PanelKind::Jag {
        if location.is_some() {
            problems.push(FieldProblem::new("location", "only_for_jag"));
        }
        if !issue_categories.is_empty() {
            problems.push(FieldProblem::new("issue", "only_for_jag"));
        }
    }
    let area_text = cell(Column::Ward).map(|w| w.chars().take(200).collect());
    if !problems.is_empty() {
        return Ok(Err((reference, problems)));
    }
    let (Some(reference), Some(status), Some(referral_date), Some(referring_agency)) =
        (reference, status, referral_date, referring_agency)
    else {
        return Ok(Err((None, vec![FieldProblem::new("line", "incomplete")])));
    };
    Ok(Ok(Row {
        closure_categories: closure_reason.as_deref().map(closure_for).into_iter().collect(),
        reference,
        status,
        referral_date,
        closed_on,
        closure_reason,
        area_text,
        vulnerabilities,
        vulnerability_other_text,
        referring_agency,
        entry_score,
        exit_score,
        location,
        issue_categories,
        issue_other_text,
    }))
}

/// Checks the file and, unless it is a dry run or any line is invalid, creates its cases in the
/// caller's transaction. Invalid lines in a real run give a 422 naming each line and field.
pub fn run(
    conn: &mut PgConnection,
    panel: &PanelRow,
    user: UserId,
    file: &[u8],
    options: &ImportOptions,
) -> Result<Imported, ApiError> {
    let digest = Sha256::digest(file).to_vec();
    let already: bool = diesel::select(diesel::dsl::exists(
        case_imports::table.filter(case_imports::panel_id.eq(panel.id)).filter(case_imports::file_sha256.eq(&digest)),
    ))
    .get_result(conn)?;

    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(file);
    let headers = reader.headers().map_err(|_| ApiError::bad_field("file", "unreadable_csv"))?.clone();
    let mut columns = HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        if let Some(c) = column_for(h) {
            columns.entry(c).or_insert(i);
        }
    }
    if columns.is_empty() {
        return Err(ApiError::bad_field("file", "no_known_columns"));
    }
    let today = Utc::now().date_naive();
    let mut lines = Vec::new();
    let mut rows: Vec<(u64, Row)> = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|_| ApiError::bad_field("file", "unreadable_csv"))?;
        let line = record.position().map_or(0, |p| p.line());
        if lines.len() >= MAX_ROWS {
            return Err(ApiError::bad_field("file", "too_many_rows"));
        }
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        match check_line(conn, panel, &record, &columns, today)? {
            Ok(row) => {
                let duplicate = rows.iter().any(|(_, r)| r.reference == row.reference);
                let exists = case::reference_exists(conn, panel.id, &row.reference)?;
                let outcome = if duplicate {
                    LineOutcome::Invalid
                } else if exists || already {
                    LineOutcome::Exists
                } else {
                    LineOutcome::Create
                };
                let problems =
                    if duplicate { vec![FieldProblem::new("reference", "duplicate_in_file")] } else { Vec::new() };
                lines.push(LineReport { line, reference: Some(row.reference.clone()), outcome, problems });
                if outcome == LineOutcome::Create {
                    rows.push((line, row));
                }
            }
            Err((reference, problems)) => {
                lines.push(LineReport { line, reference, outcome: LineOutcome::Invalid, problems })
            }
        }
    }
    let count = |o: LineOutcome| lines.iter().filter(|l| l.outcome == o).count();
    let mut report = ImportReport {
        dry_run: options.dry_run,
        file_already_imported: already,
        rows: lines.len(),
        created: 0,
        existing: count(LineOutcome::Exists),
        invalid: count(LineOutcome::Invalid),
        lines,
    };
    if options.dry_run {
        report.created = rows.len();
        return Ok(Imported { report, import_id: None });
    }
    if report.invalid > 0 {
        let problems = report
            .lines
            .iter()
            .flat_map(|l| {
                l.problems
                    .iter()
                    .map(move |p| FieldProblem::new(format!("lines[{}].{}", l.line, p.field), p.code.clone()))
            })
            .collect();
        return Err(ApiError::Unprocessable(problems));
    }
    for (_, row) in &rows {
        create_case(conn, panel, user, row, options)?;
    }
    report.created = rows.len();
    let mut import_id = None;
    if !already {
        let kept = serde_json::to_value(&report).map_err(|e| ApiError::Internal(e.into()))?;
        import_id = Some(
            diesel::insert_into(case_imports::table)
                .values((
                    case_imports::panel_id.eq(panel.id),
                    case_imports::file_sha256.eq(&digest),
                    case_imports::rows_total.eq(report.rows as i32),
                    case_imports::cases_created.eq(report.created as i32),
                    case_imports::imported_by.eq(user),
                    case_imports::report.eq(kept),
                ))
                .returning(case_imports::id)
                .get_result(conn)?,
        );
    }
    Ok(Imported { report, import_id })
}

/// What makes two import requests the same request, for `Idempotency-Key`: the file and the
/// legal grounds it is imported under.
pub fn request_fingerprint(file: &[u8], options: &ImportOptions) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(options.lawful_basis.as_str());
    h.update([0]);
    h.update(options.special_category_condition.as_str());
    h.update([0]);
    h.update(file);
    h.finalize().to_vec()
}

/// The answer of an import, and the `case_imports` row that records it when one was written.
pub struct Imported {
    pub report: ImportReport,
    pub import_id: Option<Uuid>,
}

/// The answer an earlier import gave, kept with its record.
pub fn kept_report(conn: &mut PgConnection, import_id: Uuid) -> QueryResult<Option<serde_json::Value>> {
    case_imports::table.find(import_id).select(case_imports::report).first(conn)
}

fn create_case(
    conn: &mut PgConnection,
    panel: &PanelRow,
    user: UserId,
    row: &Row,
    options: &ImportOptions,
) -> Result<(), ApiError> {
    let tool = if panel.kind == PanelKind::Cmarac { RiskTool::CmaracMatrix } else { RiskTool::CustomScore };
    let threshold = panel.settings.cmarac_high_risk_threshold;
    let scores = [
        (AssessmentStage::Entry, row.entry_score, row.referral_date),
        (AssessmentStage::Exit, row.exit_score, row.closed_on.unwrap_or(row.referral_date)),
    ];
    let admission = Admission {
        source: Source::Register { reference: row.reference.clone(), status: row.status },
        referral_date: row.referral_date,
        referring_agency_id: row.referring_agency,
        co_referring_agency_ids: Vec::new(),
        participants: Vec::new(),
        professional_judgement_reason: None,
        escalation_incident_count: None,
        location: row.location.as_ref().map(|site| NewLocation {
            site_name: site.chars().take(200).collect(),
            description: None,
            ward_code: None,
            area_text: row.area_text.clone(),
            locality: None,
            latitude: None,
            longitude: None,
            created_by: user,
        }),
        ward_code: None,
        area_text: row.area_text.clone(),
        vulnerabilities: row.vulnerabilities.clone(),
        vulnerability_other_text: row.vulnerability_other_text.clone(),
        issue_categories: row.issue_categories.clone(),
        issue_other_text: row.issue_other_text.clone(),
        children_in_household: None,
        consent: Consent {
            status: ConsentStatus::NotSought,
            victim_aware: None,
            non_consent_reason: Some(IMPORTED_CONSENT_NOTE.to_owned()),
        },
        lawful_basis: options.lawful_basis,
        special_category_condition: options.special_category_condition,
        summary: None,
        safety_plan: None,
        closure: match (&row.closure_reason, row.closed_on) {
            (Some(reason), Some(closed_on)) => {
                Some(RecordedClosure { categories: row.closure_categories.clone(), reason: reason.clone(), closed_on })
            }
            _ => None,
        },
        assessments: scores
            .into_iter()
            .filter_map(|(stage, score, date)| {
                let score = score?;
                Some(NewAssessment {
                    stage,
                    tool,
                    tool_version: TOOL_VERSION.to_owned(),
                    answers: None,
                    score,
                    dont_know_count: None,
                    threshold,
                    high_risk: threshold.is_some_and(|t| score > t),
                    breakdown: None,
                    assessed_on: date,
                    agency_id: None,
                    created_by: user,
                })
            })
            .collect(),
        recorded_by: user,
    };
    admission::admit(conn, panel, admission)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_cells_map_to_codes_and_keep_the_rest_as_text() {
        let (codes, other) = split_codes("ASB, Substance Misuse", vulnerability_for, Vulnerability::Other);
        assert_eq!(codes, vec![Vulnerability::AntiSocialBehaviour, Vulnerability::SubstanceMisuse]);
        assert_eq!(other, None);
        let (codes, other) = split_codes(
            "Anti-Social Behaviour, Crime, Other (please specify in the next field)",
            vulnerability_for,
            Vulnerability::Other,
        );
        assert_eq!(codes, vec![Vulnerability::AntiSocialBehaviour, Vulnerability::Crime, Vulnerability::Other]);
        assert_eq!(other, None);
        let (codes, other) = split_codes("Mental Health, gambling", vulnerability_for, Vulnerability::Other);
        assert_eq!(codes, vec![Vulnerability::MentalHealth, Vulnerability::Other]);
        assert_eq!(other.as_deref(), Some("gambling"));
    }

    #[test]
    fn dates_statuses_and_closure_reasons_are_read_as_registers_write_them() {
        assert_eq!(parse_date("31/01/2023"), NaiveDate::from_ymd_opt(2023, 1, 31));
        assert_eq!(parse_date("2023-01-31"), NaiveDate::from_ymd_opt(2023, 1, 31));
        assert_eq!(parse_date("31/09/2023"), None, "no 31 September");
        assert_eq!(parse_date("Sept 20223"), None);
        assert_eq!(status_for("Closed"), Some(CaseStatus::Closed));
        assert_eq!(status_for("Under review"), Some(CaseStatus::Open));
        assert_eq!(status_for("Referred?"), Some(CaseStatus::Referred));
        assert_eq!(status_for("maybe"), None);
        assert_eq!(closure_for("Moved into supported accommodation"), ClosureCategory::SupportedAccommodation);
        assert_eq!(closure_for("Remanded in custody due to criminal offence"), ClosureCategory::CustodyRemand);
        assert_eq!(closure_for("CPW served and no further breaches."), ClosureCategory::Other);
        assert_eq!(column_for("Referral Date"), Some(Column::ReferralDate));
        assert_eq!(column_for("Referring agency"), Some(Column::ReferringAgency));
    }
}
