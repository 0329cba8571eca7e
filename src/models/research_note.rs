//! Agency research notes on a case (tag `research_notes`): who may read which is the disclosure
//! module's business; these queries return every note and the callers filter.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::domain::{AgencyId, CaseId, MeetingId, UserId};
use crate::schema::research_notes;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = research_notes)]
pub struct ResearchNoteRow {
    pub id: Uuid,
    pub case_id: CaseId,
    pub agency_id: AgencyId,
    pub meeting_id: Option<MeetingId>,
    pub body: String,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
}

pub fn insert(
    conn: &mut PgConnection,
    case: CaseId,
    agency: AgencyId,
    meeting: Option<MeetingId>,
    body: &str,
    by: UserId,
) -> QueryResult<ResearchNoteRow> {
    diesel::insert_into(research_notes::table)
        .values((
            research_notes::case_id.eq(case),
            research_notes::agency_id.eq(agency),
            research_notes::meeting_id.eq(meeting),
            research_notes::body.eq(body),
            research_notes::created_by.eq(by),
        ))
        .returning(ResearchNoteRow::as_returning())
        .get_result(conn)
}

/// Every note on the case, oldest first.
pub fn of_case(conn: &mut PgConnection, case: CaseId) -> QueryResult<Vec<ResearchNoteRow>> {
    research_notes::table
        .filter(research_notes::case_id.eq(case))
        .order((research_notes::created_at, research_notes::id))
        .select(ResearchNoteRow::as_select())
        .load(conn)
}

/// The notes `agency` wrote on any of `cases`, oldest first.
pub fn of_cases_by(conn: &mut PgConnection, cases: &[CaseId], agency: AgencyId) -> QueryResult<Vec<ResearchNoteRow>> {
    research_notes::table
        .filter(research_notes::case_id.eq_any(cases))
        .filter(research_notes::agency_id.eq(agency))
        .order((research_notes::created_at, research_notes::id))
        .select(ResearchNoteRow::as_select())
        .load(conn)
}
