//! What a panel's register shows (issue 14): one line per case with the people it is about and
//! its entry and exit scores, read in three statements for the whole panel.

use chrono::NaiveDate;
use diesel::prelude::*;

use crate::domain::{
    AgencyId, AssessmentStage, CaseId, CaseStatus, ClosureCategory, IssueCategory, PanelId, ParticipantRole,
    Vulnerability,
};
use crate::schema::{agencies, case_participants, cases, locations, people, risk_assessments};

#[derive(Debug, Queryable)]
pub struct RegisterCase {
    pub id: CaseId,
    pub reference: String,
    pub status: CaseStatus,
    pub referral_date: NaiveDate,
    pub referring_agency: Option<String>,
    pub area_text: Option<String>,
    pub ward_code: Option<String>,
    pub vulnerabilities: Vec<Vulnerability>,
    pub vulnerability_other_text: Option<String>,
    pub site_name: Option<String>,
    pub issue_categories: Vec<IssueCategory>,
    pub issue_other_text: Option<String>,
    pub closed_on: Option<NaiveDate>,
    pub closure_reason: Option<String>,
    pub closure_categories: Vec<ClosureCategory>,
}

/// The panel's cases in the order a register keeps them: by referral date, then reference.
pub fn cases_of(conn: &mut PgConnection, panel: PanelId) -> QueryResult<Vec<RegisterCase>> {
    cases::table
        .left_join(agencies::table.on(agencies::id.nullable().eq(cases::referring_agency_id)))
        .left_join(locations::table)
        .filter(cases::panel_id.eq(panel))
        .order((cases::referral_date, cases::reference))
        .select((
            cases::id,
            cases::reference,
            cases::status,
            cases::referral_date,
            agencies::name.nullable(),
            cases::area_text,
            cases::ward_code,
            cases::vulnerabilities,
            cases::vulnerability_other_text,
            locations::site_name.nullable(),
            cases::issue_categories,
            cases::issue_other_text,
            cases::closed_on,
            cases::closure_reason,
            cases::closure_categories,
        ))
        .load(conn)
}

#[derive(Debug, Queryable)]
pub struct RegisterPerson {
    pub case_id: CaseId,
    pub role: ParticipantRole,
    pub surname: String,
    pub forenames: String,
    pub date_of_birth: Option<NaiveDate>,
    /// Who supplied the name and date of birth, for the field policy.
    pub identity_supplied_by: Option<AgencyId>,
}

/// The people in `roles` on the panel's cases, still on them, first linked first.
pub fn people_of(
    conn: &mut PgConnection,
    panel: PanelId,
    roles: &[ParticipantRole],
) -> QueryResult<Vec<RegisterPerson>> {
    case_participants::table
        .inner_join(cases::table)
        .inner_join(people::table)
        .filter(cases::panel_id.eq(panel))
        .filter(case_participants::role.eq_any(roles))
        .filter(case_participants::ended_at.is_null())
        .order((case_participants::case_id, case_participants::added_at, people::id))
        .select((
            case_participants::case_id,
            case_participants::role,
            people::surname,
            people::forenames,
            people::date_of_birth,
            people::identity_supplied_by,
        ))
        .load(conn)
}

/// Each case's latest score at each stage (entry, exit): `(case, stage, score)`.
pub fn latest_scores(conn: &mut PgConnection, panel: PanelId) -> QueryResult<Vec<(CaseId, AssessmentStage, i32)>> {
    risk_assessments::table
        .inner_join(cases::table)
        .filter(cases::panel_id.eq(panel))
        .distinct_on((risk_assessments::case_id, risk_assessments::stage))
        .order((
            risk_assessments::case_id,
            risk_assessments::stage,
            risk_assessments::assessed_on.desc(),
            risk_assessments::created_at.desc(),
        ))
        .select((risk_assessments::case_id, risk_assessments::stage, risk_assessments::score))
        .load(conn)
}
