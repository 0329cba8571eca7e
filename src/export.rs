//! A panel's register out (issue 14): the columns a coordinator keeps today, one line per case,
//! as CSV or an Excel workbook. Headers are the ones `import` reads and values are written the
//! way it reads them, so an exported register imported into an empty panel reproduces itself.
//! People's values pass the caller's field policy like any other read (`withheld` where it may
//! not read them), and a cell a spreadsheet would run as a formula is neutralised.

use std::collections::HashMap;

use diesel::PgConnection;

use crate::disclosure::{self, Redactor, Subject};
use crate::domain::{AssessmentStage, CaseId, FieldAccess, PanelKind, ParticipantRole, Tag};
use crate::error::ApiError;
use crate::models::panel::PanelRow;
use crate::models::register::{self, RegisterCase, RegisterPerson};

/// Shown in place of a value the caller's field policy withholds.
const WITHHELD: &str = "withheld";

pub enum ExportFormat {
    Csv,
    Xlsx,
}

/// A register as rows of text, the header first.
pub struct Register {
    pub headers: Vec<&'static str>,
    pub lines: Vec<Vec<String>>,
    /// The cases it lists, for the audit event.
    pub cases: Vec<CaseId>,
    /// The tags whose values it shows, for the audit event.
    pub disclosed: Vec<Tag>,
}

/// The register's columns for a panel of `kind`, by the headers `import` knows them by.
fn headers(kind: PanelKind) -> Vec<&'static str> {
    let mut h = vec!["Reference", "Status", "Referral date", "Referring agency", "Ward"];
    match kind {
        PanelKind::Marac => h.extend(["Name", "Date of birth", "Perpetrator", "Perpetrator date of birth"]),
        PanelKind::Cmarac => {
            h.extend(["Name", "Date of birth", "Perpetrator", "Perpetrator date of birth", "Vulnerabilities"])
        }
        PanelKind::Jag => h.extend(["Location", "Issues"]),
    }
    h.extend(["Entry score", "Exit score", "Closure date", "Closure reason", "Closure category"]);
    h
}

/// A code as the words a register writes it in: `being_exploited` → "Being exploited".
fn words(code: &str) -> String {
    let spaced = code.replace('_', " ");
    let mut chars = spaced.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// Codes as words, with the "other" code's own text in its place.
fn list<T: Copy + PartialEq>(codes: &[T], code: fn(&T) -> &'static str, other: T, other_text: Option<&str>) -> String {
    codes
        .iter()
        .map(|c| match other_text {
            Some(text) if *c == other => text.to_owned(),
            _ => words(code(c)),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A name as registers write it and `import` splits it: "Surname, Forenames".
fn name(p: &RegisterPerson) -> String {
    format!("{}, {}", p.surname, p.forenames).trim_end().to_owned()
}

/// Reads the panel's register as `fields` lets the caller see it.
pub fn build(conn: &mut PgConnection, panel: &PanelRow, fields: FieldAccess) -> Result<Register, ApiError> {
    let subject_role = match panel.kind {
        PanelKind::Marac => ParticipantRole::Victim,
        PanelKind::Cmarac => ParticipantRole::VulnerablePerson,
        PanelKind::Jag => ParticipantRole::Victim,
    };
    let cases = register::cases_of(conn, panel.id)?;
    let mut people: HashMap<(CaseId, ParticipantRole), RegisterPerson> = HashMap::new();
    if panel.kind != PanelKind::Jag {
        for p in register::people_of(conn, panel.id, &[subject_role, ParticipantRole::Perpetrator])? {
            people.entry((p.case_id, p.role)).or_insert(p);
        }
    }
    let scores: HashMap<(CaseId, AssessmentStage), i32> =
        register::latest_scores(conn, panel.id)?.into_iter().map(|(c, s, v)| ((c, s), v)).collect();
    let mut redactor = Redactor::new(fields, false);
    let mut withheld = Vec::new();
    let mut person_cells = |p: Option<&RegisterPerson>| -> [String; 2] {
        let Some(p) = p else { return [String::new(), String::new()] };
        let mut shown = |field| {
            disclosure::shown(Subject::Person(p.role), field, p.identity_supplied_by, &mut redactor, &mut withheld)
        };
        let name = if shown("surname") && shown("forenames") { name(p) } else { WITHHELD.to_owned() };
        let dob = if shown("date_of_birth") {
            p.date_of_birth.map(|d| d.to_string()).unwrap_or_default()
        } else {
            WITHHELD.to_owned()
        };
        [name, dob]
    };
    let mut lines = Vec::with_capacity(cases.len());
    for c in &cases {
        let mut line = vec![
            c.reference.clone(),
            words(c.status.as_str()),
            c.referral_date.to_string(),
            c.referring_agency.clone().unwrap_or_default(),
            c.area_text.clone().or_else(|| c.ward_code.clone()).unwrap_or_default(),
        ];
        match panel.kind {
            PanelKind::Jag => line.extend([
                c.site_name.clone().unwrap_or_default(),
                list(
                    &c.issue_categories,
                    |i| i.as_str(),
                    crate::domain::IssueCategory::Other,
                    c.issue_other_text.as_deref(),
                ),
            ]),
            PanelKind::Marac | PanelKind::Cmarac => {
                line.extend(person_cells(people.get(&(c.id, subject_role))));
                line.extend(person_cells(people.get(&(c.id, ParticipantRole::Perpetrator))));
                if panel.kind == PanelKind::Cmarac {
                    line.push(vulnerabilities(c));
                }
            }
        }
        let score = |stage| scores.get(&(c.id, stage)).map(i32::to_string).unwrap_or_default();
        line.extend([
            score(AssessmentStage::Entry),
            score(AssessmentStage::Exit),
            c.closed_on.map(|d| d.to_string()).unwrap_or_default(),
            c.closure_reason.clone().unwrap_or_default(),
            c.closure_categories.iter().map(|k| words(k.as_str())).collect::<Vec<_>>().join("; "),
        ]);
        lines.push(line.into_iter().map(neutralised).collect());
    }
    Ok(Register {
        headers: headers(panel.kind),
        lines,
        cases: cases.iter().map(|c| c.id).collect(),
        disclosed: redactor.disclosed(),
    })
}

fn vulnerabilities(c: &RegisterCase) -> String {
    list(&c.vulnerabilities, |v| v.as_str(), crate::domain::Vulnerability::Other, c.vulnerability_other_text.as_deref())
}

/// A cell a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, or a tab or carriage
/// return before one) is written after an apostrophe, which spreadsheets show as text and
/// `import` takes off again.
pub fn neutralised(cell: String) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{cell}") } else { cell }
}

/// The register as CSV the way spreadsheets save it: a byte-order mark (so Excel reads UTF-8)
/// and CRLF line ends.
pub fn to_csv(register: &Register) -> Result<Vec<u8>, ApiError> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(&mut out);
        w.write_record(&register.headers).map_err(|e| ApiError::Internal(e.into()))?;
        for line in &register.lines {
            w.write_record(line).map_err(|e| ApiError::Internal(e.into()))?;
        }
        w.flush().map_err(|e| ApiError::Internal(e.into()))?;
    }
    Ok(out)
}

/// The register as an Excel workbook: one sheet, "Register", every cell text (dates as ISO
/// dates), the header bold and frozen.
pub fn to_xlsx(register: &Register) -> Result<Vec<u8>, ApiError> {
    use rust_xlsxwriter::{Format, Workbook};
    let internal = |e: rust_xlsxwriter::XlsxError| ApiError::Internal(e.into());
    let mut book = Workbook::new();
    let sheet = book.add_worksheet().set_name("Register").map_err(internal)?;
    let bold = Format::new().set_bold();
    for (c, h) in register.headers.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *h, &bold).map_err(internal)?;
    }
    for (r, line) in register.lines.iter().enumerate() {
        for (c, cell) in line.iter().enumerate() {
            if !cell.is_empty() {
                sheet.write_string(r as u32 + 1, c as u16, cell).map_err(internal)?;
            }
        }
    }
    sheet.set_freeze_panes(1, 0).map_err(internal)?;
    book.save_to_buffer().map_err(internal)
}
