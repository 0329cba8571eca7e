//! Decisions to share without consent (issue 15, DP-1): who decided, when, why, on what lawful
//! basis and with which organisations, each its own record on the case.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::domain::{AgencyId, CaseId, LawfulBasis, UserId};
use crate::schema::share_decisions;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = share_decisions)]
pub struct ShareDecisionRow {
    pub id: Uuid,
    pub case_id: CaseId,
    pub decided_by: String,
    pub decided_on: NaiveDate,
    pub reason: String,
    pub lawful_basis: LawfulBasis,
    pub organisation_ids: Vec<AgencyId>,
    pub recorded_by: UserId,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = share_decisions)]
pub struct NewShareDecision {
    pub case_id: CaseId,
    pub decided_by: String,
    pub decided_on: NaiveDate,
    pub reason: String,
    pub lawful_basis: LawfulBasis,
    pub organisation_ids: Vec<AgencyId>,
    pub recorded_by: UserId,
}

pub fn insert(conn: &mut PgConnection, new: &NewShareDecision) -> QueryResult<ShareDecisionRow> {
    diesel::insert_into(share_decisions::table).values(new).returning(ShareDecisionRow::as_returning()).get_result(conn)
}

pub fn of_case(conn: &mut PgConnection, case: CaseId) -> QueryResult<Vec<ShareDecisionRow>> {
    share_decisions::table
        .filter(share_decisions::case_id.eq(case))
        .order((share_decisions::recorded_at, share_decisions::id))
        .select(ShareDecisionRow::as_select())
        .load(conn)
}
