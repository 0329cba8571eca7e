//! Risk assessments: kept, never overwritten (DOMAIN.md §4.2).

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;

use crate::domain::{AgencyId, AssessmentId, AssessmentStage, CaseId, RiskTool, UserId};
use crate::schema::risk_assessments;

#[derive(Debug, Clone, Queryable, Selectable, serde::Deserialize)]
#[diesel(table_name = risk_assessments)]
pub struct AssessmentRow {
    pub id: AssessmentId,
    pub case_id: CaseId,
    pub stage: AssessmentStage,
    pub tool: RiskTool,
    pub tool_version: String,
    pub answers: Option<serde_json::Value>,
    pub score: i32,
    pub dont_know_count: Option<i32>,
    pub threshold: Option<i32>,
    pub high_risk: bool,
    pub breakdown: Option<serde_json::Value>,
    pub assessed_on: NaiveDate,
    pub agency_id: Option<AgencyId>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = risk_assessments)]
pub struct NewAssessment {
    pub stage: AssessmentStage,
    pub tool: RiskTool,
    pub tool_version: String,
    pub answers: Option<serde_json::Value>,
    pub score: i32,
    pub dont_know_count: Option<i32>,
    pub threshold: Option<i32>,
    pub high_risk: bool,
    pub breakdown: Option<serde_json::Value>,
    pub assessed_on: NaiveDate,
    pub agency_id: Option<AgencyId>,
    pub created_by: UserId,
}

/// Records an assessment of `case`.
pub fn insert(conn: &mut PgConnection, case: CaseId, new: &NewAssessment) -> QueryResult<AssessmentRow> {
    diesel::insert_into(risk_assessments::table)
        .values((risk_assessments::case_id.eq(case), new))
        .returning(AssessmentRow::as_returning())
        .get_result(conn)
}

pub fn get(conn: &mut PgConnection, id: AssessmentId) -> QueryResult<AssessmentRow> {
    risk_assessments::table.find(id).select(AssessmentRow::as_select()).first(conn)
}

/// Assessments of the given cases, oldest first.
pub fn of_cases(conn: &mut PgConnection, cases: &[CaseId]) -> QueryResult<Vec<AssessmentRow>> {
    risk_assessments::table
        .filter(risk_assessments::case_id.eq_any(cases))
        .order((risk_assessments::case_id, risk_assessments::created_at, risk_assessments::id))
        .select(AssessmentRow::as_select())
        .load(conn)
}

pub fn has_stage(conn: &mut PgConnection, case: CaseId, stage: AssessmentStage) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        risk_assessments::table.filter(risk_assessments::case_id.eq(case)).filter(risk_assessments::stage.eq(stage)),
    ))
    .get_result(conn)
}
