//! The erasure job (issue 15, DP-2): erases every ended case whose retention ran out by `today`
//! (the clock is the caller's, so tests and operators can run it as of a date), one case per
//! transaction with its `erase` audit event naming ids only. Idempotent: an erased case is never
//! due again. Safe from two processes at once: each locks the cases it takes and passes over
//! those another holds.

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Serialize;

use crate::audit::{Audit, Event};
use crate::domain::{AuditAction, CaseId};
use crate::error::ApiError;
use crate::models::retention;

/// Cases taken per query; each is erased in its own transaction.
const BATCH: i64 = 50;

#[derive(Debug, Default, Serialize)]
pub struct RetentionReport {
    pub today: Option<NaiveDate>,
    pub dry_run: bool,
    /// Cases erased (or, on a dry run, due).
    pub cases: Vec<CaseId>,
    pub people_erased: usize,
    /// Cases past their retention kept by a legal hold.
    pub held: i64,
}

/// Runs the job as of `today`. A dry run lists the cases due and changes nothing.
pub fn run(conn: &mut PgConnection, today: NaiveDate, dry_run: bool) -> Result<RetentionReport, ApiError> {
    let mut report = RetentionReport { today: Some(today), dry_run, ..RetentionReport::default() };
    report.held = retention::held_past_retention(conn, today)?;
    if dry_run {
        let due = conn.transaction(|conn| retention::due(conn, today, i64::MAX))?;
        report.cases = due.into_iter().map(|d| d.case_id).collect();
        return Ok(report);
    }
    let audit = Audit::job("retention");
    loop {
        let erased = conn.transaction(|conn| -> Result<Vec<(CaseId, usize)>, ApiError> {
            let mut done = Vec::new();
            for due in retention::due(conn, today, BATCH)? {
                let people = retention::erase(conn, due.case_id, today)?;
                let mut ids = vec![due.case_id.0];
                ids.extend(people.iter().map(|p| p.0));
                audit.record_job_event(conn, Event::ok(AuditAction::Erase, "case", ids).on_panel(due.panel_id))?;
                done.push((due.case_id, people.len()));
            }
            Ok(done)
        })?;
        if erased.is_empty() {
            break;
        }
        for (case, people) in erased {
            report.cases.push(case);
            report.people_erased += people;
        }
    }
    if !report.cases.is_empty() {
        tracing::info!(cases = report.cases.len(), people = report.people_erased, "retention: cases erased");
    }
    Ok(report)
}
