//! Importing the registers councils keep today (CSV as spreadsheets save it, or an Excel
//! workbook) into a panel's cases. A dry run reports how every header was read and, per line,
//! what would be created, every problem and every gap; a real run is all-or-nothing, and
//! importing the same file (or the same references) again creates nothing. What a register did
//! not record is imported as not recorded, with a data-quality flag (`models::data_quality`).

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use diesel::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::admission::{self, Admission, Consent, RecordedClosure, Source};
use crate::domain::{
    AgencyId, AssessmentStage, CaseId, CaseStatus, ClosureCategory, ConsentStatus, DataQualityKind, Gender,
    IssueCategory, LawfulBasis, NominationSource, PanelKind, ParticipantRole, PersonId, RiskTool,
    SpecialCategoryCondition, TriState, UserId, Vulnerability, normalize_org_name,
};
use crate::error::{ApiError, FieldProblem};
use crate::models::assessment::NewAssessment;
use crate::models::case::{self, NewLocation};
use crate::models::data_quality;
use crate::models::location_case;
use crate::models::panel::PanelRow;
use crate::models::person::{self, NewPerson, PersonMatch, Provenance};
use crate::schema::{agency_names, case_imports};

pub const MAX_ROWS: usize = 5_000;
const TOOL_VERSION: &str = "imported_register";
const IMPORTED_CONSENT_NOTE: &str = "Imported from an existing register, which did not record consent.";

/// What the caller states for the whole file: registers do not carry a lawful basis per row.
pub struct ImportOptions {
    pub dry_run: bool,
    pub lawful_basis: LawfulBasis,
    pub special_category_condition: SpecialCategoryCondition,
    /// Headers the caller maps itself, by their text: to a column, or `None` to ignore it.
    pub mapping: Vec<(String, Option<Column>)>,
    /// Refuse a line whose referring agency is blank (today's rule) rather than import it as not
    /// recorded with a data-quality flag.
    pub strict: bool,
    pub format: RegisterFormat,
}

/// A caller's column mapping, `{"<header>": "<column code>" | "ignore", …}`, checked: each
/// unknown code is a problem on `columns.<header>` naming the codes allowed.
pub fn parse_mapping(raw: &str) -> Result<Vec<(String, Option<Column>)>, Vec<FieldProblem>> {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(raw) else {
        return Err(vec![FieldProblem::new("columns", "not_a_json_object")]);
    };
    let mut mapping = Vec::new();
    let mut problems = Vec::new();
    for (header, code) in map {
        match code.as_str() {
            Some("ignore") => mapping.push((header, None)),
            Some(code) if Column::from_code(code).is_some() => mapping.push((header, Column::from_code(code))),
            _ => problems.push(FieldProblem::not_allowed(
                format!("columns.{header}"),
                Column::ALL.iter().map(|c| c.code()).chain(["ignore"]),
            )),
        }
    }
    if problems.is_empty() { Ok(mapping) } else { Err(problems) }
}

/// What the import made of one header of the file.
#[derive(Debug, Serialize)]
pub struct ColumnReport {
    pub header: String,
    /// The column it was read as; `null` when ignored.
    pub column: Option<&'static str>,
}

#[derive(Debug, Serialize, PartialEq, Eq, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum LineOutcome {
    Create,
    Exists,
    Invalid,
    /// The same line, word for word, as an earlier one (`duplicate_of`), or a case the panel
    /// holds (`duplicate_of_case`): not imported again.
    Duplicate,
    /// A totals line ("Total", "Grand total") under the register: not a case.
    Summary,
}

#[derive(Debug, Serialize)]
pub struct LineReport {
    pub line: u64,
    pub reference: Option<String>,
    pub outcome: LineOutcome,
    pub problems: Vec<FieldProblem>,
    /// What the register did not record, imported as not recorded (`data_quality_flags`).
    pub flags: Vec<&'static str>,
    /// For a duplicate line, the line it repeats.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<u64>,
    /// For a line that describes a case the panel already holds (the same site, issues and
    /// status; or the same person in the same open period), that case's reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_of_case: Option<String>,
    /// The people the line names, and whether each is someone already known.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub people: Vec<PersonReport>,
    /// Text of a multi-valued cell that matched no code, kept verbatim as the "other" text.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kept_as_other: Vec<KeptAsOther>,
}

#[derive(Debug, Serialize)]
pub struct KeptAsOther {
    /// The column's code (`vulnerability`, `issue`).
    pub column: &'static str,
    pub text: String,
}

impl LineReport {
    fn new(line: u64, reference: Option<String>, outcome: LineOutcome) -> Self {
        Self {
            line,
            reference,
            outcome,
            problems: Vec::new(),
            flags: Vec::new(),
            duplicate_of: None,
            duplicate_of_case: None,
            people: Vec::new(),
            kept_as_other: Vec::new(),
        }
    }
}

/// Who a register person turned out to be.
#[derive(Debug, Serialize, PartialEq, Eq, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum PersonOutcome {
    /// Someone already known (visible to the importer): linked, not recorded again.
    Existing,
    /// Nobody known: recorded as a new person.
    New,
    /// Several people known by the name: recorded as a new person, flagged
    /// `possible_duplicate_person` for a coordinator to merge or keep apart.
    Ambiguous,
}

#[derive(Debug, Serialize)]
pub struct PersonReport {
    pub role: ParticipantRole,
    pub outcome: PersonOutcome,
}

#[derive(Debug, Serialize)]
pub struct ImportReport {
    pub dry_run: bool,
    pub file_already_imported: bool,
    /// Every header of the file, as read or ignored.
    pub columns: Vec<ColumnReport>,
    pub rows: usize,
    pub created: usize,
    pub existing: usize,
    pub invalid: usize,
    pub duplicates: usize,
    pub lines: Vec<LineReport>,
}

/// One register line, checked.
struct Row {
    /// `None` when the register has no reference column: the panel's next is assigned on import.
    reference: Option<String>,
    status: CaseStatus,
    referral_date: NaiveDate,
    closed_on: Option<NaiveDate>,
    closure_categories: Vec<ClosureCategory>,
    closure_reason: Option<String>,
    /// The outcome an open line records, kept on its `outcome_on_open_line` flag.
    open_outcome: Option<String>,
    /// The people the line names, in the order of the register's columns.
    people: Vec<RegisterPerson>,
    area_text: Option<String>,
    vulnerabilities: Vec<Vulnerability>,
    vulnerability_other_text: Option<String>,
    referring_agency: Option<AgencyId>,
    /// Organisations named with the first in the referring-agency cell ("Police / Housing").
    co_referrers: Vec<AgencyId>,
    /// The data-quality flags this line's case carries.
    flags: Vec<DataQualityKind>,
    entry_score: Option<i32>,
    exit_score: Option<i32>,
    location: RegisterPlace,
    lead_agency: Option<AgencyId>,
    issue_categories: Vec<IssueCategory>,
    issue_other_text: Option<String>,
}

/// The columns a register may have, by the names councils give them (compared normalised).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    Reference,
    Status,
    ReferralDate,
    ClosureDate,
    ClosureReason,
    /// Closure categories by their codes or words, where a register keeps them beside the reason.
    ClosureCategory,
    Ward,
    Vulnerability,
    ReferringAgency,
    EntryScore,
    ExitScore,
    Location,
    Issue,
    /// The victim (MARAC) or vulnerable person (CMARAC) the line is about.
    Name,
    DateOfBirth,
    PerpetratorName,
    PerpetratorDateOfBirth,
    /// A location's street address (JAG); its site name when the register has no location column.
    Address,
    Postcode,
    Uprn,
    Locality,
    /// The organisation leading a location case (JAG).
    LeadAgency,
}

impl Column {
    pub const ALL: [Column; 22] = [
        Column::Reference,
        Column::Status,
        Column::ReferralDate,
        Column::ClosureDate,
        Column::ClosureReason,
        Column::ClosureCategory,
        Column::Ward,
        Column::Vulnerability,
        Column::ReferringAgency,
        Column::EntryScore,
        Column::ExitScore,
        Column::Location,
        Column::Issue,
        Column::Name,
        Column::DateOfBirth,
        Column::PerpetratorName,
        Column::PerpetratorDateOfBirth,
        Column::Address,
        Column::Postcode,
        Column::Uprn,
        Column::Locality,
        Column::LeadAgency,
    ];

    /// The code a caller names the column by in a mapping, and the report names it by.
    pub fn code(self) -> &'static str {
        match self {
            Column::Reference => "reference",
            Column::Status => "status",
            Column::ReferralDate => "referral_date",
            Column::ClosureDate => "closure_date",
            Column::ClosureReason => "closure_reason",
            Column::ClosureCategory => "closure_category",
            Column::Ward => "ward",
            Column::Vulnerability => "vulnerability",
            Column::ReferringAgency => "referring_agency",
            Column::EntryScore => "entry_score",
            Column::ExitScore => "exit_score",
            Column::Location => "location",
            Column::Issue => "issue",
            Column::Name => "name",
            Column::DateOfBirth => "date_of_birth",
            Column::PerpetratorName => "perpetrator_name",
            Column::PerpetratorDateOfBirth => "perpetrator_date_of_birth",
            Column::Address => "address",
            Column::Postcode => "postcode",
            Column::Uprn => "uprn",
            Column::Locality => "locality",
            Column::LeadAgency => "lead_agency",
        }
    }

    /// What a header read as `self` means on a panel of `kind`: a CMARAC register's "Issues" are
    /// the person's vulnerabilities, a JAG register's "Vulnerabilities" the place's issues and its
    /// "Name" the place's; a column that does not apply to the kind (people on a JAG register, a
    /// location or lead agency on a person register) is ignored and reported so, not refused. A
    /// caller's own mapping is taken as given.
    fn as_read_on(self, kind: PanelKind) -> Option<Column> {
        match (kind, self) {
            (PanelKind::Cmarac, Column::Issue) => Some(Column::Vulnerability),
            (PanelKind::Jag, Column::Vulnerability) => Some(Column::Issue),
            (PanelKind::Jag, Column::Name) => Some(Column::Location),
            (PanelKind::Jag, Column::DateOfBirth | Column::PerpetratorName | Column::PerpetratorDateOfBirth) => None,
            (
                PanelKind::Marac | PanelKind::Cmarac,
                Column::Location | Column::Issue | Column::Address | Column::Postcode | Column::Uprn,
            )
            | (PanelKind::Marac | PanelKind::Cmarac, Column::Locality | Column::LeadAgency) => None,
            (_, c) => Some(c),
        }
    }

    pub fn from_code(code: &str) -> Option<Column> {
        Column::ALL.into_iter().find(|c| c.code() == code)
    }
}

/// The column a header names, compared loosely: case and punctuation aside, and with each word's
/// plural `s` dropped when the exact words are not known ("Closure Reasons", "Wards").
fn column_for(header: &str) -> Option<Column> {
    let key = normalize_org_name(header);
    known_column(&key).or_else(|| {
        let singular: Vec<&str> =
            key.split(' ').map(|w| if w.len() > 3 && w.ends_with('s') { &w[..w.len() - 1] } else { w }).collect();
        known_column(&singular.join(" "))
    })
}

fn known_column(key: &str) -> Option<Column> {
    Some(match key {
        "reference" | "ref" | "case reference" | "case ref" | "case number" | "case no" | "ref no"
        | "reference number" | "case id" | "id" | "urn" | "jag ref" | "marac ref" | "cmarac ref" => Column::Reference,
        "status" | "case status" | "current status" | "referred" => Column::Status,
        "referral date" | "date referred" | "date of referral" | "referred on" | "received" | "date received"
        | "referral received" | "date of nomination" | "nomination date" | "date nominated" | "nominated on" => {
            Column::ReferralDate
        }
        "closure date" | "date closed" | "closed on" | "close date" | "date of closure" | "closed date"
        | "date case closed" | "end date" => Column::ClosureDate,
        "closure reason"
        | "reason for closure"
        | "outcome"
        | "closure"
        | "reason closed"
        | "closing reason"
        | "closure reason outcome"
        | "outcome closure reason"
        | "case outcome"
        | "outcome of case" => Column::ClosureReason,
        "closure category" | "closure categories" | "outcome category" => Column::ClosureCategory,
        "ward" | "area" | "ward area" | "ward name" | "area ward" => Column::Ward,
        "vulnerability"
        | "vulnerabilities"
        | "vulnerability type"
        | "vulnerabilities identified"
        | "presenting issue"
        | "concern"
        | "need" => Column::Vulnerability,
        "referring agency"
        | "referrer"
        | "referred by"
        | "agency"
        | "referring organisation"
        | "referral source"
        | "source of referral"
        | "referring partner"
        | "nominated by"
        | "nominating agency"
        | "nominating organisation" => Column::ReferringAgency,
        "entry score" | "risk score at entry" | "entry risk score" => Column::EntryScore,
        "exit score" | "risk score at exit" | "exit risk score" => Column::ExitScore,
        "location" | "site" | "location name" | "hotspot" | "premises" => Column::Location,
        "issue"
        | "issues"
        | "issue category"
        | "issue type"
        | "issue description"
        | "problem"
        | "problem description"
        | "description of issue"
        | "nature of problem"
        | "issues identified" => Column::Issue,
        "name" | "full name" | "victim" | "victim name" | "client" | "client name" | "subject" | "subject name"
        | "person" | "service user" | "service user name" | "vulnerable person" | "name of victim"
        | "name of client" => Column::Name,
        "dob" | "date of birth" | "victim dob" | "victim date of birth" | "client dob" | "d o b" => Column::DateOfBirth,
        "perpetrator" | "perpetrator name" | "alleged perpetrator" | "perp" | "alleged perpetrator name" => {
            Column::PerpetratorName
        }
        "perpetrator dob" | "perpetrator date of birth" | "perp dob" => Column::PerpetratorDateOfBirth,
        "address" | "site address" | "property address" | "location address" => Column::Address,
        "postcode" | "post code" => Column::Postcode,
        "uprn" => Column::Uprn,
        "locality" | "locality group" | "neighbourhood" => Column::Locality,
        "lead agency" | "lead" | "lead organisation" | "lead partner" => Column::LeadAgency,
        _ => return score_column(key),
    })
}

/// A score column named in words: a risk score "at referral", "initial", "closing", "final"….
fn score_column(key: &str) -> Option<Column> {
    let words: Vec<&str> = key.split(' ').collect();
    let has = |any: &[&str]| words.iter().any(|w| any.contains(w));
    if !has(&["score", "risk", "rag", "matrix"]) {
        return None;
    }
    if has(&["entry", "referral", "initial", "start", "opening", "baseline"]) {
        Some(Column::EntryScore)
    } else if has(&["exit", "closure", "closing", "final", "end"]) {
        Some(Column::ExitScore)
    } else {
        None
    }
}

/// How the register is sent.
pub enum RegisterFormat {
    Csv,
    /// An Excel workbook; the sheet by name or 1-based index, else the first.
    Xlsx {
        sheet: Option<String>,
    },
}

/// A register's rows, title and header rows included, each with the line (row) number the file
/// itself shows.
struct Sheet {
    rows: Vec<(u64, csv::StringRecord)>,
}

/// How many of a register's first rows may come before its header (titles, notes, blank rows).
const HEADER_SEARCH_ROWS: usize = 10;

impl Sheet {
    /// The header and the lines below it. The header is the first row, among the first few that
    /// hold anything, naming at least two columns the import knows (or the caller maps); failing
    /// that, the first such row. Registers often carry a title or a note above the header.
    fn split_header(
        self,
        mapping: &[(String, Option<Column>)],
    ) -> Result<(csv::StringRecord, Vec<(u64, csv::StringRecord)>), ApiError> {
        let known = |r: &csv::StringRecord| {
            r.iter()
                .filter(|h| {
                    let mapped = mapping.iter().find(|(header, _)| normalize_org_name(header) == normalize_org_name(h));
                    mapped.map_or_else(|| column_for(h).is_some(), |(_, c)| c.is_some())
                })
                .count()
        };
        let filled: Vec<usize> = (0..self.rows.len())
            .filter(|i| self.rows[*i].1.iter().any(|c| !c.trim().is_empty()))
            .take(HEADER_SEARCH_ROWS)
            .collect();
        let at = filled
            .iter()
            .copied()
            .find(|i| known(&self.rows[*i].1) >= 2)
            .or(filled.first().copied())
            .ok_or_else(|| ApiError::bad_field("file", "no_known_columns"))?;
        let mut rows = self.rows;
        let lines = rows.split_off(at + 1);
        let header = rows.pop().map(|(_, h)| h).unwrap_or_default();
        Ok((header, lines))
    }
}

/// A CSV register as spreadsheets save it: with a byte-order mark, CRLF line ends and, in much of
/// Europe, `;` between fields. Line numbers are the file's own (header = 1), counted from each
/// record's byte offset: the reader's own count falls one short on CRLF files.
fn read_csv(file: &[u8]) -> Result<Sheet, ApiError> {
    let unreadable = || ApiError::bad_field("file", "unreadable_csv");
    let text = file.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(file);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .delimiter(delimiter_of(text))
        .from_reader(text);
    let (mut counted_to, mut line) = (0usize, 1u64);
    let mut lines = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|_| unreadable())?;
        let mut start = record.position().map_or(counted_to, |p| p.byte() as usize).clamp(counted_to, text.len());
        // On CRLF the reader places a record's start at the `\n` that ends the line before it.
        while text.get(start).is_some_and(|b| matches!(b, b'\r' | b'\n')) {
            start += 1;
        }
        line += text[counted_to..start].iter().filter(|b| **b == b'\n').count() as u64;
        counted_to = start;
        if lines.len() > MAX_ROWS + HEADER_SEARCH_ROWS {
            return Err(ApiError::bad_field("file", "too_many_rows"));
        }
        lines.push((line, record));
    }
    Ok(Sheet { rows: lines })
}

/// An Excel workbook's sheet: line numbers are the spreadsheet's row numbers; dates read as YYYY-MM-DD, whole numbers without a decimal point.
fn read_xlsx(file: &[u8], sheet: Option<&str>) -> Result<Sheet, ApiError> {
    use calamine::{Data, Reader};
    let mut book =
        calamine::Xlsx::new(std::io::Cursor::new(file)).map_err(|_| ApiError::bad_field("file", "unreadable_xlsx"))?;
    let names = book.sheet_names();
    let name = match sheet {
        None => names.first().cloned(),
        Some(s) => names
            .iter()
            .find(|n| n.eq_ignore_ascii_case(s.trim()))
            .cloned()
            .or_else(|| s.trim().parse::<usize>().ok().and_then(|i| names.get(i.checked_sub(1)?).cloned())),
    }
    .ok_or_else(|| ApiError::bad_field("sheet", "no_such_sheet"))?;
    let range = book.worksheet_range(&name).map_err(|_| ApiError::bad_field("file", "unreadable_xlsx"))?;
    let first_row = range.start().map_or(0, |(row, _)| u64::from(row));
    let text = |cell: &Data| match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => d.as_datetime().map(|d| d.date().to_string()).unwrap_or_default(),
        Data::Error(_) => String::new(),
    };
    let rows: Vec<_> = range
        .rows()
        .enumerate()
        .map(|(i, row)| (first_row + i as u64 + 1, csv::StringRecord::from(row.iter().map(text).collect::<Vec<_>>())))
        .take(MAX_ROWS + HEADER_SEARCH_ROWS + 1)
        .collect();
    if rows.len() > MAX_ROWS + HEADER_SEARCH_ROWS {
        return Err(ApiError::bad_field("file", "too_many_rows"));
    }
    Ok(Sheet { rows })
}

/// The field separator of a CSV file: `;` when its first lines (a title may come before the
/// header) hold more of them than commas (outside quotes), else `,`.
fn delimiter_of(text: &[u8]) -> u8 {
    let first_lines: Vec<u8> =
        text.split(|b| *b == b'\n').take(HEADER_SEARCH_ROWS).flat_map(|l| l.iter().copied()).collect();
    let (mut commas, mut semicolons, mut quoted) = (0, 0, false);
    for b in &first_lines {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => commas += 1,
            b';' if !quoted => semicolons += 1,
            _ => {}
        }
    }
    if semicolons > commas { b';' } else { b',' }
}

/// A cell trimmed, and without the apostrophe a register out (`export::neutralised`) or a
/// spreadsheet user puts before text that would otherwise run as a formula.
fn unquoted(cell: &str) -> &str {
    let cell = cell.trim();
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => cell,
    }
}

/// Whether a cell says nothing: empty, or one of the placeholders registers put in a gap ("-",
/// "N/A", "Unknown", "TBC"). A gap is imported as not recorded, like an empty cell.
fn is_blank(cell: &str) -> bool {
    const PLACEHOLDERS: &[&str] =
        &["", "na", "n a", "none", "nil", "unknown", "not known", "not recorded", "tbc", "tbd"];
    cell.chars().all(|c| matches!(c, '-' | '?' | '.' | ' ' | '\u{2013}' | '\u{2014}'))
        || PLACEHOLDERS.contains(&normalize_org_name(cell).as_str())
}

/// A register's date, in the forms councils write them (ISO, day first with `/`, `-`, `.` or
/// spaces, two- or four-digit years, month names), within the years the service supports.
fn parse_date(raw: &str) -> Option<NaiveDate> {
    let raw = raw.trim();
    // A four-digit year is tried first: "%y" would read "01/02/2025" as the year 20.
    [
        "%Y-%m-%d", "%Y/%m/%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%d %b %Y", "%d %B %Y", "%d-%b-%Y", "%d-%B-%Y",
        "%d/%m/%y", "%d-%m-%y", "%d.%m.%y", "%d %b %y", "%d-%b-%y",
    ]
    .iter()
    .find_map(|f| {
        NaiveDate::parse_from_str(raw, f).ok().filter(|d| (crate::domain::EARLIEST..=crate::domain::LATEST).contains(d))
    })
    .filter(|d| (crate::domain::EARLIEST..=crate::domain::LATEST).contains(d))
}

/// A status as registers write it: a code, a known word, or a phrase that begins with one
/// ("Closed - outcome achieved", "Open (monitoring)").
fn status_for(raw: &str) -> Option<CaseStatus> {
    let key = normalize_org_name(raw);
    status_word(&key).or_else(|| {
        let words: Vec<&str> = key.split(' ').collect();
        (1..words.len()).rev().find_map(|n| status_word(&words[..n].join(" ")))
    })
}

fn status_word(key: &str) -> Option<CaseStatus> {
    Some(match key {
        "referred" | "new" | "nominated" | "submitted" => CaseStatus::Referred,
        "screening" => CaseStatus::Screening,
        "accepted" | "adopted" => CaseStatus::Accepted,
        "rejected" | "declined" | "not accepted" => CaseStatus::Rejected,
        "open"
        | "live"
        | "active"
        | "ongoing"
        | "current"
        | "listed"
        | "heard"
        | "under review"
        | "plan agreed"
        | "interventions underway" => CaseStatus::Open,
        "monitoring" => CaseStatus::Monitoring,
        "closed" | "case closed" | "resolved" | "escalated" | "complete" | "completed" => CaseStatus::Closed,
        "transferred out" | "transferred" => CaseStatus::TransferredOut,
        "withdrawn" => CaseStatus::Withdrawn,
        _ => return None,
    })
}

/// The labels of DOMAIN.md §7.4 as the CMARAC form prints them (some hold commas).
const VULNERABILITY_LABELS: &[(Vulnerability, &str)] = &[
    (Vulnerability::Homelessness, "Homelessness or risk of homelessness"),
    (Vulnerability::BeingExploited, "Being exploited, e.g. financially or losing control of home"),
    (Vulnerability::FireRisk, "At risk of fire-related incidents"),
    (Vulnerability::FinancialAbuseFraud, "Financial abuse or fraud"),
    (Vulnerability::PropertyMaintenanceRisk, "Difficulty maintaining property or tenancy"),
    (Vulnerability::SelfNeglectHoarding, "Self-neglect or hoarding"),
    (Vulnerability::RiskToSelfOrOthers, "Risk of harm to self or others"),
    (Vulnerability::Offending, "Offending or at risk of offending"),
];

/// The labels of DOMAIN.md §7.6 as JAG registers print them.
const ISSUE_LABELS: &[(IssueCategory, &str)] = &[
    (IssueCategory::DrugUse, "Drug use (including in communal areas)"),
    (IssueCategory::OnStreetSexWork, "On-street prostitution / sex work"),
    (IssueCategory::NuisanceVehicles, "Nuisance vehicles (motorbikes on pavements, car meets)"),
    (IssueCategory::ParkingObstruction, "Parking obstruction (e.g. delivery mopeds)"),
    (IssueCategory::RoughSleeping, "Rough sleeping / bedding down"),
    (IssueCategory::IntimidationHarassment, "Intimidation and harassment"),
    (IssueCategory::AsbNuisance, "General ASB and nuisance"),
    (IssueCategory::Violence, "Violence / physical attacks"),
];

/// A code whose words ("mental_health" ↔ "Mental Health") or printed label `key` is.
fn by_words_or_label<T: Copy + 'static>(
    key: &str,
    all: &[T],
    code: fn(&T) -> &'static str,
    labels: &[(T, &str)],
) -> Option<T> {
    all.iter()
        .find(|v| normalize_org_name(&code(v).replace('_', " ")) == key)
        .copied()
        .or_else(|| labels.iter().find(|(_, label)| normalize_org_name(label) == key).map(|(v, _)| *v))
}

/// Matches a code or its words ("mental_health" ↔ "Mental Health"), the form's labels, and the
/// shorthand registers use.
fn vulnerability_for(text: &str) -> Option<Vulnerability> {
    let key = normalize_org_name(text);
    if let Some(v) = by_words_or_label(&key, Vulnerability::ALL, |v| v.as_str(), VULNERABILITY_LABELS) {
        return Some(v);
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
    if let Some(v) = by_words_or_label(&key, IssueCategory::ALL, |v| v.as_str(), ISSUE_LABELS) {
        return Some(v);
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

/// Words that say a closure category plainly, in the order they are tried (DOMAIN.md §7.5 and its
/// examples, JAG's included). Compared with the normalised text (lower case, no punctuation).
const CLOSURE_WORDS: &[(ClosureCategory, &[&str])] = &[
    (ClosureCategory::Deceased, &["deceased", "died"]),
    (ClosureCategory::CustodyRemand, &["custody", "remanded", "prison"]),
    (ClosureCategory::TransferredOut, &["transferred to"]),
    (ClosureCategory::SupportedAccommodation, &["supported accommodation"]),
    (ClosureCategory::CarePackageAsc, &["care package", "adult social care"]),
    (ClosureCategory::MentalHealthServiceEngaged, &["cmht", "mental health team", "mental health service"]),
    (ClosureCategory::HomelessnessResolved, &["end homelessness", "homelessness resolved", "rehoused"]),
    (ClosureCategory::RehabilitationProgramme, &["rehab"]),
    (ClosureCategory::MovedOutOfBorough, &["out of borough", "out of the borough", "moved out of", "move out of"]),
    (ClosureCategory::SteppedDownSingleAgency, &["single agency", "referred back to"]),
    (ClosureCategory::TwelveMonthLapse, &["12 months", "twelve months"]),
    (ClosureCategory::EnvironmentalFix, &["design out", "designing out", "redesign", "environmental"]),
    (
        ClosureCategory::EnforcementEffective,
        &["closure order", "enforcement", "cpw", "cpn", "injunction", "criminal behaviour order", "cbo"],
    ),
    (ClosureCategory::ReferredToPoliceInvestigation, &["police to investigate", "police investigation"]),
    (ClosureCategory::NotSubstantiated, &["not established", "not substantiated", "no evidence"]),
    (ClosureCategory::DisengagedDeclined, &["disengaged", "declined", "refused"]),
    (ClosureCategory::EngagementSustained, &["engaging", "engagement", "engaged"]),
];

/// A closure category named by its code or its words ("enforcement_effective", "Enforcement effective").
fn closure_code_for(text: &str) -> Option<ClosureCategory> {
    let key = normalize_org_name(text);
    ClosureCategory::ALL.iter().find(|c| normalize_org_name(&c.as_str().replace('_', " ")) == key).copied()
}

/// Closure reasons written as text map to a category where they say one plainly; the text is
/// always kept as the reason.
fn closure_for(text: &str) -> ClosureCategory {
    if let Some(c) = closure_code_for(text) {
        return c;
    }
    let key = normalize_org_name(text);
    let words: Vec<&str> = key.split(' ').collect();
    // Each word of the phrase begins a word of the text, in a row: "closure order" is in "closure
    // orders obtained", "rehab" in "rehabilitation", but "cbo" is not in "cupboard".
    let says = |phrase: &&str| {
        let phrase: Vec<&str> = phrase.split(' ').collect();
        words.windows(phrase.len()).any(|run| run.iter().zip(&phrase).all(|(w, p)| w.starts_with(p)))
    };
    CLOSURE_WORDS.iter().find(|(_, words)| words.iter().any(says)).map_or(ClosureCategory::Other, |(c, _)| *c)
}

/// Splits a multi-valued cell ("ASB, Substance Misuse") into codes and the text that matched none.
/// Labels may hold commas and slashes themselves ("Being exploited, e.g. financially…", "Rough
/// sleeping / bedding down"), so the longest run of pieces that names a code is taken first.
fn split_codes<T: Copy + PartialEq>(
    cell: &str,
    map: fn(&str) -> Option<T>,
    words: &[(T, &[&str])],
    other: T,
) -> (Vec<T>, Option<String>) {
    let mut codes = Vec::new();
    let mut unmatched = Vec::new();
    let add = |code: T, codes: &mut Vec<T>| {
        if !codes.contains(&code) {
            codes.push(code);
        }
    };
    for part in cell.split([';', '\n']).map(str::trim).filter(|p| !p.is_empty()) {
        let pieces: Vec<&str> = part.split([',', '/']).collect();
        let mut start = 0;
        while start < pieces.len() {
            let longest = (start + 1..=pieces.len()).rev().find_map(|end| {
                let run = &part[offset(part, pieces[start])..offset(part, pieces[end - 1]) + pieces[end - 1].len()];
                map(run.trim()).map(|code| (end, code))
            });
            match longest {
                Some((end, code)) => {
                    add(code, &mut codes);
                    start = end;
                }
                None => {
                    let piece = pieces[start].trim();
                    // A description rather than a label: the categories its words name.
                    let said = keyword_codes(piece, words);
                    if said.is_empty() && !piece.is_empty() {
                        unmatched.push(piece.to_owned());
                    }
                    for code in said {
                        add(code, &mut codes);
                    }
                    start += 1;
                }
            }
        }
    }
    if !unmatched.is_empty() && !codes.contains(&other) {
        codes.push(other);
    }
    (codes, (!unmatched.is_empty()).then(|| unmatched.join("; ")))
}

/// The codes whose phrases a free-text description contains, in the order they appear. A phrase
/// matches where each of its words begins a word of the text, in a row ("rough sleep" is in
/// "rough sleepers"); at each word the longest phrase wins and its words are used up, so "hate
/// crime" does not also count as "crime".
fn keyword_codes<T: Copy + PartialEq>(text: &str, words: &[(T, &[&str])]) -> Vec<T> {
    let key = normalize_org_name(text);
    let text: Vec<&str> = key.split(' ').filter(|w| !w.is_empty()).collect();
    let mut codes = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let found = words
            .iter()
            .flat_map(|(code, phrases)| phrases.iter().map(move |p| (*code, p.split(' ').collect::<Vec<_>>())))
            .filter(|(_, phrase)| {
                text.len() - i >= phrase.len() && text[i..].iter().zip(phrase).all(|(w, p)| w.starts_with(p))
            })
            .max_by_key(|(_, phrase)| phrase.len());
        match found {
            Some((code, phrase)) => {
                if !codes.contains(&code) {
                    codes.push(code);
                }
                i += phrase.len();
            }
            None => i += 1,
        }
    }
    codes
}

/// Phrases that name a vulnerability in a register's free text (DOMAIN.md §7.4).
const VULNERABILITY_WORDS: &[(Vulnerability, &[&str])] = &[
    (Vulnerability::MentalHealth, &["mental health", "mental ill", "psychosis", "depress", "schizo", "bipolar"]),
    (Vulnerability::SubstanceMisuse, &["substance", "drug", "alcohol", "addict"]),
    (Vulnerability::Cuckooing, &["cuckoo"]),
    (Vulnerability::HateCrime, &["hate crime", "hate incident"]),
    (Vulnerability::Homelessness, &["homeless", "rough sleep", "no fixed abode", "nfa"]),
    (Vulnerability::BeingExploited, &["exploit", "losing control of home"]),
    (Vulnerability::AntiSocialBehaviour, &["asb", "anti social", "antisocial"]),
    (Vulnerability::Crime, &["crime", "criminal"]),
    (Vulnerability::FireRisk, &["fire"]),
    (Vulnerability::FinancialAbuseFraud, &["financial abuse", "fraud", "scam"]),
    (Vulnerability::PropertyMaintenanceRisk, &["tenancy", "property maintenance", "maintaining property"]),
    (Vulnerability::SelfNeglectHoarding, &["self neglect", "hoard"]),
    (Vulnerability::LearningDisability, &["learning disab", "learning difficult"]),
    (Vulnerability::PhysicalHealth, &["physical health", "mobility"]),
    (Vulnerability::RiskToSelfOrOthers, &["self harm", "suicid", "harm to self", "harm to others"]),
    (Vulnerability::Offending, &["offend"]),
];

/// Phrases that name a JAG issue in a register's description of the problem (DOMAIN.md §7.6).
const ISSUE_WORDS: &[(IssueCategory, &[&str])] = &[
    (
        IssueCategory::DrugDealing,
        &["drug dealing", "dealing", "dealers", "drug supply", "county lines", "drug activity"],
    ),
    (
        IssueCategory::DrugUse,
        &["drug use", "drug using", "using drugs", "drug taking", "needles", "paraphernalia", "cannabis", "crack"],
    ),
    (IssueCategory::Cuckooing, &["cuckoo"]),
    (IssueCategory::OnStreetSexWork, &["sex work", "prostitut", "kerb crawl", "soliciting"]),
    (IssueCategory::Robbery, &["robber", "mugging"]),
    (IssueCategory::ParkingObstruction, &["parking", "obstruct", "delivery drivers", "delivery mopeds"]),
    (
        IssueCategory::NuisanceVehicles,
        &["motorbike", "motorcycle", "moped", "car meet", "nuisance vehicle", "off road bike", "vehicle nuisance"],
    ),
    (IssueCategory::RoughSleeping, &["rough sleep", "sleeping rough", "bedding down", "encampment", "tents"]),
    (IssueCategory::IntimidationHarassment, &["intimidat", "harass", "threatening", "aggressive"]),
    (IssueCategory::NeighbourDispute, &["neighbour dispute", "neighbour"]),
    (IssueCategory::Noise, &["noise", "noisy", "loud music", "parties"]),
    (IssueCategory::AsbNuisance, &["asb", "anti social", "antisocial", "nuisance", "fly tipping", "littering"]),
    (IssueCategory::Loitering, &["loiter", "congregat", "gathering", "hanging around"]),
    (IssueCategory::StreetDrinking, &["street drink", "drinking", "drunk", "alcohol"]),
    (IssueCategory::CriminalDamage, &["criminal damage", "graffiti", "vandal", "damage"]),
    (IssueCategory::Violence, &["violence", "violent", "assault", "fight", "stabbing", "weapon"]),
];

fn offset(whole: &str, piece: &str) -> usize {
    piece.as_ptr() as usize - whole.as_ptr() as usize
}

/// Where a JAG line's problem is, as the register describes it.
#[derive(Debug, Clone, Default)]
struct RegisterPlace {
    site: Option<String>,
    address: Option<String>,
    postcode: Option<String>,
    uprn: Option<String>,
    locality: Option<String>,
}

/// A person a register line names: a name as registers write it ("Jane Smith" or "SMITH, Jane")
/// and perhaps a date of birth.
#[derive(Debug, Clone)]
struct RegisterPerson {
    role: ParticipantRole,
    surname: String,
    forenames: String,
    date_of_birth: Option<NaiveDate>,
}

impl RegisterPerson {
    fn key(&self) -> String {
        person::name_key(&self.forenames, &self.surname)
    }
}

/// Splits a register's name cell: "SURNAME, Forenames" or "Forenames Surname".
fn split_name(name: &str) -> (String, String) {
    let name = name.trim();
    if let Some((surname, forenames)) = name.split_once(',') {
        return (surname.trim().to_owned(), forenames.trim().to_owned());
    }
    match name.rsplit_once(char::is_whitespace) {
        Some((forenames, surname)) => (surname.trim().to_owned(), forenames.trim().to_owned()),
        None => (name.to_owned(), String::new()),
    }
}

/// The people a line names: its subject (the victim of a MARAC, the vulnerable person of a
/// CMARAC) and a perpetrator, each with a date of birth where the register keeps one. JAG lines
/// are about places: a name there is a problem.
fn register_people<'a>(
    kind: PanelKind,
    cell: &impl Fn(Column) -> Option<&'a str>,
    problems: &mut Vec<FieldProblem>,
) -> Vec<RegisterPerson> {
    let subject = match kind {
        PanelKind::Marac => ParticipantRole::Victim,
        PanelKind::Cmarac => ParticipantRole::VulnerablePerson,
        PanelKind::Jag => {
            for c in [Column::Name, Column::DateOfBirth, Column::PerpetratorName, Column::PerpetratorDateOfBirth] {
                if cell(c).is_some() {
                    problems.push(FieldProblem::new(c.code(), "not_for_jag"));
                }
            }
            return Vec::new();
        }
    };
    let mut people = Vec::new();
    for (role, name_column, dob_column) in [
        (subject, Column::Name, Column::DateOfBirth),
        (ParticipantRole::Perpetrator, Column::PerpetratorName, Column::PerpetratorDateOfBirth),
    ] {
        let date_of_birth = cell(dob_column).and_then(|d| {
            let parsed = parse_date(d);
            if parsed.is_none() {
                problems.push(FieldProblem::new(dob_column.code(), "invalid_date"));
            }
            parsed
        });
        let Some(name) = cell(name_column) else {
            if cell(dob_column).is_some() {
                problems.push(FieldProblem::new(name_column.code(), "required_with_date_of_birth"));
            }
            continue;
        };
        if name.chars().count() > 200 {
            problems.push(FieldProblem::new(name_column.code(), "too_long"));
            continue;
        }
        let (surname, forenames) = split_name(name);
        if person::name_key(&forenames, &surname).is_empty() {
            problems.push(FieldProblem::new(name_column.code(), "no_name"));
            continue;
        }
        people.push(RegisterPerson { role, surname, forenames, date_of_birth });
    }
    people
}

fn agency_by_name(conn: &mut PgConnection, name: &str) -> QueryResult<Option<AgencyId>> {
    agency_names::table
        .filter(agency_names::normalized.eq(normalize_org_name(name)))
        .select(agency_names::agency_id)
        .first(conn)
        .optional()
}

/// The organisations a referring-agency cell names: one by its name or alias, or several joined
/// ("Police / Housing", "IDVA and Police") when every piece is one, first the referrer; at most
/// six, as on a referral. `None` when the cell names no organisation the service knows.
fn agencies_named(conn: &mut PgConnection, cell: &str) -> QueryResult<Option<Vec<AgencyId>>> {
    if let Some(one) = agency_by_name(conn, cell)? {
        return Ok(Some(vec![one]));
    }
    let spaced = format!(" {} ", cell.replace(['/', '&', ',', ';', '+'], " and "));
    let pieces: Vec<&str> = spaced.split(" and ").map(str::trim).filter(|p| !p.is_empty()).collect();
    if pieces.len() < 2 || pieces.len() > 6 {
        return Ok(None);
    }
    let mut found: Vec<AgencyId> = Vec::new();
    for piece in pieces {
        match agency_by_name(conn, piece)? {
            Some(a) if !found.contains(&a) => found.push(a),
            Some(_) => {}
            None => return Ok(None),
        }
    }
    Ok(Some(found))
}

/// A line whose first filled cell says it sums up the register rather than records a case.
fn is_totals_line(record: &csv::StringRecord) -> bool {
    let first = record.iter().map(normalize_org_name).find(|c| !c.is_empty()).unwrap_or_default();
    matches!(first.as_str(), "total" | "totals" | "grand total" | "sub total" | "subtotal")
        || first.starts_with("total ")
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
    strict: bool,
) -> QueryResult<Result<Row, RefusedLine>> {
    let cell = |c: Column| columns.get(&c).and_then(|i| record.get(*i)).map(unquoted).filter(|v| !is_blank(v));
    let mut problems = Vec::new();
    let mut problem = |field: &str, code: &str| problems.push(FieldProblem::new(field, code));

    let reference = cell(Column::Reference).map(str::to_owned);
    match &reference {
        // A register without a reference column gets the panel's own references on import.
        None if !columns.contains_key(&Column::Reference) => {}
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
    let closure_categories = match cell(Column::ClosureCategory) {
        None => closure_reason.as_deref().map(closure_for).into_iter().collect(),
        Some(named) => {
            let (categories, unknown) = split_codes(named, closure_code_for, &[], ClosureCategory::Other);
            if unknown.is_some() {
                problem("closure_category", "unknown_closure_category");
            }
            categories
        }
    };
    let mut flags = Vec::new();
    if status == Some(CaseStatus::Closed) {
        if closed_on.is_none() && cell(Column::ClosureDate).is_none() {
            problem("closure_date", "required_when_closed");
        }
        if closure_reason.is_none() {
            if strict {
                problem("closure_reason", "required_when_closed");
            } else {
                flags.push(DataQualityKind::ClosureReasonNotRecorded);
            }
        }
    } else if status.is_some() && closed_on.is_some() {
        problem("status", "closure_recorded_on_a_case_not_closed");
    } else if status.is_some() && (closure_reason.is_some() || cell(Column::ClosureCategory).is_some()) {
        // An open line with an outcome: imported open, the outcome kept on its flag to settle.
        if strict {
            problem("status", "closure_recorded_on_a_case_not_closed");
        } else {
            flags.push(DataQualityKind::OutcomeOnOpenLine);
        }
    }
    if closure_reason.as_ref().is_some_and(|r| r.chars().count() > 2000) {
        problem("closure_reason", "too_long");
    }
    let mut co_referrers = Vec::new();
    let referring_agency = match cell(Column::ReferringAgency) {
        None if strict => {
            problem("referring_agency", "required");
            None
        }
        None => {
            flags.push(DataQualityKind::ReferringAgencyNotRecorded);
            None
        }
        Some(name) => match agencies_named(conn, name)? {
            Some(mut agencies) => {
                let first = agencies.remove(0);
                co_referrers = agencies;
                Some(first)
            }
            None => {
                problem("referring_agency", "unknown_agency");
                None
            }
        },
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
        .map_or((Vec::new(), None), |v| split_codes(v, vulnerability_for, VULNERABILITY_WORDS, Vulnerability::Other));
    let place = RegisterPlace {
        // A register without a location column names the place by its address.
        site: cell(Column::Location).or(cell(Column::Address)).map(|s| s.chars().take(200).collect()),
        address: cell(Column::Address).map(|a| a.chars().take(500).collect()),
        postcode: cell(Column::Postcode).map(str::to_owned),
        uprn: cell(Column::Uprn).map(|u| u.replace(' ', "")),
        locality: cell(Column::Locality).map(|l| l.chars().take(200).collect()),
    };
    if place.postcode.as_ref().is_some_and(|p| p.chars().count() > 10) {
        problems.push(FieldProblem::new("postcode", "too_long"));
    }
    if place.uprn.as_ref().is_some_and(|u| u.len() > 12 || !u.chars().all(|c| c.is_ascii_digit())) {
        problems.push(FieldProblem::new("uprn", "not_a_uprn"));
    }
    let lead_agency = match cell(Column::LeadAgency) {
        None => None,
        Some(name) => {
            let found = agency_by_name(conn, name)?;
            if found.is_none() {
                problems.push(FieldProblem::new("lead_agency", "unknown_agency"));
            }
            found
        }
    };
    let (issue_categories, issue_other_text) = cell(Column::Issue)
        .map_or((Vec::new(), None), |v| split_codes(v, issue_for, ISSUE_WORDS, IssueCategory::Other));
    if panel.kind != PanelKind::Jag {
        let jag_only = [
            (Column::Location, place.site.is_some()),
            (Column::Issue, !issue_categories.is_empty()),
            (Column::Postcode, place.postcode.is_some()),
            (Column::Uprn, place.uprn.is_some()),
            (Column::Locality, place.locality.is_some()),
            (Column::LeadAgency, lead_agency.is_some()),
        ];
        for (column, given) in jag_only {
            if given {
                problems.push(FieldProblem::new(column.code(), "only_for_jag"));
            }
        }
    }
    let area_text = cell(Column::Ward).map(|w| w.chars().take(200).collect());
    let people = register_people(panel.kind, &cell, &mut problems);
    if !problems.is_empty() {
        return Ok(Err((reference, problems)));
    }
    if area_text.is_none() {
        flags.push(DataQualityKind::WardNotRecorded);
    }
    let (Some(status), Some(referral_date)) = (status, referral_date) else {
        return Ok(Err((None, vec![FieldProblem::new("line", "incomplete")])));
    };
    let (closure_reason, open_outcome) = if status == CaseStatus::Closed {
        (closure_reason, None)
    } else {
        let said = [closure_reason.as_deref(), cell(Column::ClosureCategory)];
        (None, Some(said.into_iter().flatten().collect::<Vec<_>>().join("; ")).filter(|s| !s.is_empty()))
    };
    Ok(Ok(Row {
        closure_categories: if status == CaseStatus::Closed { closure_categories } else { Vec::new() },
        reference,
        status,
        referral_date,
        closed_on,
        closure_reason,
        open_outcome,
        people,
        area_text,
        vulnerabilities,
        vulnerability_other_text,
        referring_agency,
        co_referrers,
        flags,
        entry_score,
        exit_score,
        location: place,
        lead_agency,
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

    let sheet = match &options.format {
        RegisterFormat::Csv => read_csv(file)?,
        RegisterFormat::Xlsx { sheet } => read_xlsx(file, sheet.as_deref())?,
    };
    let (headers, data) = sheet.split_header(&options.mapping)?;
    let mut columns = HashMap::new();
    let mut column_report = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        let named = options.mapping.iter().find(|(header, _)| normalize_org_name(header) == normalize_org_name(h));
        let column = match named {
            Some((_, column)) => *column,
            None => column_for(h).and_then(|c| Column::as_read_on(c, panel.kind)),
        };
        // A column read twice is read from its first header; the others are reported ignored.
        let column = column.filter(|c| !columns.contains_key(c));
        if let Some(c) = column {
            columns.insert(c, i);
        }
        column_report.push(ColumnReport { header: h.to_owned(), column: column.map(Column::code) });
    }
    if columns.is_empty() {
        return Err(ApiError::bad_field("file", "no_known_columns"));
    }
    let today = Utc::now().date_naive();
    let mut lines: Vec<LineReport> = Vec::new();
    let mut rows: Vec<(u64, Row)> = Vec::new();
    let mut seen: HashMap<Vec<String>, u64> = HashMap::new();
    let mut held_duplicates = Vec::new();
    for (line, record) in data {
        if lines.len() >= MAX_ROWS {
            return Err(ApiError::bad_field("file", "too_many_rows"));
        }
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if is_totals_line(&record) {
            lines.push(LineReport::new(line, None, LineOutcome::Summary));
            continue;
        }
        // A line repeated word for word is imported once, and the case it made is flagged.
        let content: Vec<String> = record.iter().map(|c| c.trim().to_lowercase()).collect();
        if let Some(&first) = seen.get(&content) {
            let repeated = lines.iter_mut().find(|l| l.line == first).expect("seen lines are reported");
            if !repeated.flags.contains(&DataQualityKind::DuplicateRow.as_str()) {
                repeated.flags.push(DataQualityKind::DuplicateRow.as_str());
            }
            if let Some((_, row)) = rows.iter_mut().find(|(l, _)| *l == first)
                && !row.flags.contains(&DataQualityKind::DuplicateRow)
            {
                row.flags.push(DataQualityKind::DuplicateRow);
            }
            let reference = repeated.reference.clone();
            lines.push(LineReport {
                duplicate_of: Some(first),
                ..LineReport::new(line, reference, LineOutcome::Duplicate)
            });
            continue;
        }
        seen.insert(content, line);
        match check_line(conn, panel, &record, &columns, today, options.strict)? {
            Ok(row) => {
                let duplicate = row.reference.is_some() && rows.iter().any(|(_, r)| r.reference == row.reference);
                let exists = match &row.reference {
                    Some(reference) => case::reference_exists(conn, panel.id, reference)?,
                    None => false,
                };
                let held = if duplicate || exists || already { None } else { held_case(conn, panel, &row)? };
                let outcome = if duplicate {
                    LineOutcome::Invalid
                } else if exists || already {
                    LineOutcome::Exists
                } else if held.is_some() {
                    LineOutcome::Duplicate
                } else {
                    LineOutcome::Create
                };
                let mut report = LineReport::new(line, row.reference.clone(), outcome);
                if duplicate {
                    report.problems.push(FieldProblem::new("reference", "duplicate_in_file"));
                }
                report.flags = row.flags.iter().map(|f| f.as_str()).collect();
                let other_texts =
                    [(Column::Vulnerability, &row.vulnerability_other_text), (Column::Issue, &row.issue_other_text)];
                for (column, text) in other_texts {
                    if let Some(text) = text {
                        report.kept_as_other.push(KeptAsOther { column: column.code(), text: text.clone() });
                    }
                }
                if let Some((case_id, reference)) = held {
                    report.flags = vec![DataQualityKind::DuplicateRow.as_str()];
                    report.duplicate_of_case = Some(reference);
                    held_duplicates.push((case_id, line));
                }
                lines.push(report);
                if outcome == LineOutcome::Create {
                    rows.push((line, row));
                }
            }
            Err((reference, problems)) => {
                lines.push(LineReport { problems, ..LineReport::new(line, reference, LineOutcome::Invalid) })
            }
        }
    }
    // Cases are made in the order they were referred, so a repeat is found against the history
    // imported before it.
    rows.sort_by_key(|(line, row)| (row.referral_date, *line));
    let count = |o: LineOutcome| lines.iter().filter(|l| l.outcome == o).count();
    let mut report = ImportReport {
        dry_run: options.dry_run,
        file_already_imported: already,
        columns: column_report,
        rows: lines.len(),
        created: 0,
        existing: count(LineOutcome::Exists),
        duplicates: count(LineOutcome::Duplicate),
        invalid: count(LineOutcome::Invalid),
        lines,
    };
    if options.dry_run {
        let mut named_earlier = Vec::new();
        for (line, row) in &rows {
            let found = row.people.iter().map(|p| Ok((p, find_person(conn, panel, p, &named_earlier)?)));
            let found: Vec<_> = found.collect::<QueryResult<_>>()?;
            let reported = report.lines.iter_mut().find(|l| l.line == *line).expect("every line is reported");
            for (person, found) in found {
                reported.people.push(PersonReport { role: person.role, outcome: found.outcome() });
                if found == PersonMatch::Several {
                    reported.flags.push(DataQualityKind::PossibleDuplicatePerson.as_str());
                }
                named_earlier.push(person.clone());
            }
        }
        report.created = rows.len();
        return Ok(Imported { report, import_id: None });
    }
    if report.invalid > 0 {
        let problems = report
            .lines
            .iter()
            .flat_map(|l| {
                l.problems.iter().map(move |p| FieldProblem {
                    reference: l.reference.clone(),
                    ..FieldProblem::new(format!("lines[{}].{}", l.line, p.field), p.code.clone())
                })
            })
            .collect();
        return Err(ApiError::Unprocessable(problems));
    }
    let mut created = Vec::new();
    for (line, row) in &rows {
        let mut participants = Vec::new();
        let mut flags: Vec<(DataQualityKind, Option<&str>)> = row.flags.iter().map(|f| (*f, None)).collect();
        let reported = report.lines.iter_mut().find(|l| l.line == *line).expect("every line is reported");
        for person in &row.people {
            let found = find_person(conn, panel, person, &[])?;
            let id = match found {
                PersonMatch::One(id) => id,
                PersonMatch::None | PersonMatch::Several => person::insert(conn, &new_person(person, user))?,
            };
            if found == PersonMatch::Several {
                flags.push((DataQualityKind::PossibleDuplicatePerson, None));
                reported.flags.push(DataQualityKind::PossibleDuplicatePerson.as_str());
            }
            reported.people.push(PersonReport { role: person.role, outcome: found.outcome() });
            participants.push((id, person.role));
        }
        if let Some(outcome) = &row.open_outcome {
            flags.retain(|(k, _)| *k != DataQualityKind::OutcomeOnOpenLine);
            flags.push((DataQualityKind::OutcomeOnOpenLine, Some(outcome)));
        }
        let case = create_case(conn, panel, user, row, participants, options)?;
        if let Some(lead) = row.lead_agency {
            location_case::set_lead(conn, case.id, lead)?;
        }
        if row.reference.is_none() {
            reported.reference = Some(case.reference);
        }
        created.push((case.id, *line, flags));
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
    for (case, line, flags) in created {
        for (kind, detail) in flags {
            data_quality::flag(conn, panel.id, case, kind, import_id, i32::try_from(line).ok(), detail)?;
        }
    }
    for (case, line) in held_duplicates {
        let kind = DataQualityKind::DuplicateRow;
        data_quality::flag(conn, panel.id, case, kind, import_id, i32::try_from(line).ok(), None)?;
    }
    Ok(Imported { report, import_id })
}

/// The case the panel already holds that a checked line describes again, if any: the same site,
/// issues and status for a location case; the same subject on a case open at the line's
/// referral date for a person case.
fn held_case(conn: &mut PgConnection, panel: &PanelRow, row: &Row) -> QueryResult<Option<(CaseId, String)>> {
    if let Some(site) = &row.location.site {
        return case::same_location_case(conn, panel.id, site, &row.issue_categories, row.status);
    }
    let Some(subject) = row.people.first().filter(|p| p.role != ParticipantRole::Perpetrator) else {
        return Ok(None);
    };
    match find_person(conn, panel, subject, &[])? {
        PersonMatch::One(person) => case::open_case_of(conn, panel.id, person, subject.role, row.referral_date),
        PersonMatch::None | PersonMatch::Several => Ok(None),
    }
}

/// Whom a register person is among the people on the panel's cases, or (in a dry run, where the
/// file's earlier lines recorded nobody yet) among the people named on earlier lines.
fn find_person(
    conn: &mut PgConnection,
    panel: &PanelRow,
    person: &RegisterPerson,
    named_earlier: &[RegisterPerson],
) -> QueryResult<PersonMatch> {
    let found = person::register_match(conn, panel.id, &person.key(), person.date_of_birth)?;
    if found != PersonMatch::None {
        return Ok(found);
    }
    let same = |p: &&RegisterPerson| {
        p.key() == person.key()
            && (p.date_of_birth.is_none() || person.date_of_birth.is_none() || p.date_of_birth == person.date_of_birth)
    };
    // A placeholder id: the dry run reports the match and records nothing.
    Ok(if named_earlier.iter().any(|p| same(&p)) { PersonMatch::One(PersonId(Uuid::nil())) } else { PersonMatch::None })
}

impl PersonMatch {
    fn outcome(self) -> PersonOutcome {
        match self {
            PersonMatch::None => PersonOutcome::New,
            PersonMatch::One(_) => PersonOutcome::Existing,
            PersonMatch::Several => PersonOutcome::Ambiguous,
        }
    }
}

/// A register person as a new record: a name and perhaps a date of birth, nothing invented.
fn new_person(p: &RegisterPerson, user: UserId) -> NewPerson {
    NewPerson {
        normalized_name: p.key(),
        surname: p.surname.clone(),
        forenames: p.forenames.clone(),
        aliases: Vec::new(),
        date_of_birth: p.date_of_birth,
        gender: Gender::Unknown,
        ethnicity: None,
        bame: TriState::Unknown,
        disability: TriState::Unknown,
        lgbt: TriState::Unknown,
        address_kind: None,
        address: None,
        postcode: None,
        safe_to_contact: None,
        safe_contact_details: None,
        notes: None,
        must_not_receive: p.role.must_not_receive(),
        health_notes: None,
        criminal_history: None,
        school: None,
        language: None,
        interpreter_needed: None,
        gp_practice: None,
        // Supplied by the panel's own register, not by an organisation.
        provenance: Provenance::of_new(None, &[]),
        created_by: user,
    }
}

/// What makes two import requests the same request, for `Idempotency-Key`: the file and the
/// legal grounds it is imported under.
pub fn request_fingerprint(file: &[u8], options: &ImportOptions) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(options.lawful_basis.as_str());
    h.update([0]);
    h.update(options.special_category_condition.as_str());
    h.update([u8::from(options.strict)]);
    if let RegisterFormat::Xlsx { sheet } = &options.format {
        h.update(b"xlsx");
        h.update(sheet.as_deref().unwrap_or_default().as_bytes());
        h.update([0]);
    }
    for (header, column) in &options.mapping {
        h.update(header.as_bytes());
        h.update([0]);
        h.update(column.map_or("ignore", Column::code));
        h.update([0]);
    }
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
    participants: Vec<(PersonId, ParticipantRole)>,
    options: &ImportOptions,
) -> Result<case::CaseRow, ApiError> {
    let tool = if panel.kind == PanelKind::Cmarac { RiskTool::CmaracMatrix } else { RiskTool::CustomScore };
    let threshold = panel.settings.cmarac_high_risk_threshold;
    let scores = [
        (AssessmentStage::Entry, row.entry_score, row.referral_date),
        (AssessmentStage::Exit, row.exit_score, row.closed_on.unwrap_or(row.referral_date)),
    ];
    let admission = Admission {
        source: Source::Register {
            reference: match &row.reference {
                Some(reference) => reference.clone(),
                None => case::next_reference(conn, panel.id, panel.kind, case::current_year())?,
            },
            status: row.status,
        },
        referral_date: row.referral_date,
        referring_agency_id: row.referring_agency,
        co_referring_agency_ids: row.co_referrers.clone(),
        participants,
        professional_judgement_reason: None,
        escalation_incident_count: None,
        location: row.location.site.as_ref().map(|site| NewLocation {
            site_name: site.clone(),
            description: None,
            ward_code: None,
            area_text: row.area_text.clone(),
            locality: row.location.locality.clone(),
            latitude: None,
            longitude: None,
            address: row.location.address.clone(),
            postcode: row.location.postcode.clone(),
            uprn: row.location.uprn.clone(),
            created_by: user,
        }),
        // A register line naming the organisation that nominated the place came from a partner.
        nomination_source: row.referring_agency.map(|_| NominationSource::Partner),
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
        closure: row.closed_on.map(|closed_on| RecordedClosure {
            categories: row.closure_categories.clone(),
            reason: row.closure_reason.clone(),
            closed_on,
        }),
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
    admission::admit(conn, panel, admission)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_that_hold_commas_and_slashes_are_matched_whole_before_splitting() {
        for cell in [
            "Being exploited e.g., financially or losing control of home, Crime",
            "Being exploited e.g. financially or losing control of home; Crime",
            "Being exploited, e.g. financially or losing control of home, crime",
        ] {
            let (codes, other) = split_codes(cell, vulnerability_for, VULNERABILITY_WORDS, Vulnerability::Other);
            assert_eq!(codes, vec![Vulnerability::BeingExploited, Vulnerability::Crime], "{cell}");
            assert_eq!(other, None, "{cell}");
        }
        let (codes, other) = split_codes(
            "Rough sleeping / bedding down, Noise, knife crime",
            issue_for,
            ISSUE_WORDS,
            IssueCategory::Other,
        );
        assert_eq!(codes, vec![IssueCategory::RoughSleeping, IssueCategory::Noise, IssueCategory::Other]);
        assert_eq!(other.as_deref(), Some("knife crime"));
    }

    #[test]
    fn descriptions_map_to_every_category_their_words_name() {
        let issues = |cell| split_codes(cell, issue_for, ISSUE_WORDS, IssueCategory::Other);
        use IssueCategory as I;
        for (cell, expected) in [
            ("Drug dealing and rough sleepers in the stairwell", vec![I::DrugDealing, I::RoughSleeping]),
            (
                "Youths congregating, causing ASB and intimidating residents",
                vec![I::Loitering, I::AsbNuisance, I::IntimidationHarassment],
            ),
            ("Motorbikes riding on pavements", vec![I::NuisanceVehicles]),
            ("Delivery mopeds parking on the footway", vec![I::ParkingObstruction]),
            ("Street drinking and urination", vec![I::StreetDrinking]),
            ("Sex workers and kerb crawlers", vec![I::OnStreetSexWork]),
            ("Robberies on the footbridge", vec![I::Robbery]),
            ("Cuckooing at flat 12", vec![I::Cuckooing]),
            ("Noise complaints from parties", vec![I::Noise]),
            ("Graffiti and criminal damage to the lifts", vec![I::CriminalDamage]),
        ] {
            assert_eq!(issues(cell), (expected, None), "{cell}");
        }
        assert_eq!(issues("Pigeons"), (vec![I::Other], Some("Pigeons".to_owned())), "left as it was written");
        let vulnerabilities = |cell| split_codes(cell, vulnerability_for, VULNERABILITY_WORDS, Vulnerability::Other).0;
        assert_eq!(vulnerabilities("Victim of hate crime"), vec![Vulnerability::HateCrime], "not crime as well");
        assert_eq!(
            vulnerabilities("Alcohol dependency and self-neglect"),
            vec![Vulnerability::SubstanceMisuse, Vulnerability::SelfNeglectHoarding]
        );
    }

    #[test]
    fn closure_text_maps_where_it_says_a_category_plainly() {
        let cases = [
            ("Closure orders obtained at court", ClosureCategory::EnforcementEffective),
            ("Resolved following enforcement", ClosureCategory::EnforcementEffective),
            ("CPW served and no further breaches.", ClosureCategory::EnforcementEffective),
            (
                "Design out crime recommendations shared with housing to secure all exits",
                ClosureCategory::EnvironmentalFix,
            ),
            ("Recommendations sent to Parking to redesign the bays.", ClosureCategory::EnvironmentalFix),
            (
                "CCTV installed and referred on to the Metropolitan Police to investigate",
                ClosureCategory::ReferredToPoliceInvestigation,
            ),
            ("Joint operation carried out. Nuisance and ASB were not established.", ClosureCategory::NotSubstantiated),
            ("Organised referral to Adult Social Care, care package in place", ClosureCategory::CarePackageAsc),
            ("Organised referral to CMHT, accepted and receiving support", ClosureCategory::MentalHealthServiceEngaged),
            ("Supported to move out of the borough to stop cuckooing", ClosureCategory::MovedOutOfBorough),
            ("St Mungos supported to end homelessness", ClosureCategory::HomelessnessResolved),
            ("Referred back to Network Homes to follow their ASB Policy.", ClosureCategory::SteppedDownSingleAgency),
            ("Remanded in custody due to criminal offence", ClosureCategory::CustodyRemand),
            ("Kept under review by the cupboard team", ClosureCategory::Other),
        ];
        for (text, expected) in cases {
            assert_eq!(closure_for(text), expected, "{text}");
        }
    }

    #[test]
    fn headers_are_read_loosely_and_files_as_spreadsheets_save_them() {
        assert_eq!(column_for("Closure Reasons"), Some(Column::ClosureReason));
        assert_eq!(column_for("WARDS"), Some(Column::Ward));
        assert_eq!(column_for("Referred"), Some(Column::Status));
        assert_eq!(column_for("Notes"), None);
        assert_eq!(delimiter_of(b"Ref;Status;Notes, if any\r\n1;open;x"), b';');
        assert_eq!(delimiter_of(b"Ref,Status,\"Notes; if any\"\n"), b',');
    }

    #[test]
    fn register_cells_map_to_codes_and_keep_the_rest_as_text() {
        let (codes, other) =
            split_codes("ASB, Substance Misuse", vulnerability_for, VULNERABILITY_WORDS, Vulnerability::Other);
        assert_eq!(codes, vec![Vulnerability::AntiSocialBehaviour, Vulnerability::SubstanceMisuse]);
        assert_eq!(other, None);
        let (codes, other) = split_codes(
            "Anti-Social Behaviour, Crime, Other (please specify in the next field)",
            vulnerability_for,
            VULNERABILITY_WORDS,
            Vulnerability::Other,
        );
        assert_eq!(codes, vec![Vulnerability::AntiSocialBehaviour, Vulnerability::Crime, Vulnerability::Other]);
        assert_eq!(other, None);
        let (codes, other) =
            split_codes("Mental Health, gambling", vulnerability_for, VULNERABILITY_WORDS, Vulnerability::Other);
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
        assert_eq!(closure_for("CPW served and no further breaches."), ClosureCategory::EnforcementEffective);
        assert_eq!(column_for("Referral Date"), Some(Column::ReferralDate));
        assert_eq!(column_for("Referring agency"), Some(Column::ReferringAgency));
    }
}
