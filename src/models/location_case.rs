//! The parts of a location case (JAG, DOMAIN.md §6.3) beyond the case itself: its
//! problem-solving record (nomination, adoption, the SARA plan), its interventions one by one,
//! and its escalation links to person cases.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::domain::{
    AgencyId, AuthUser, CaseId, CaseStatus, InterventionTool, NominationSource, PanelId, PanelKind, UserId,
};
use crate::models::access::visible_case_ids;
use crate::schema::{case_links, cases, interventions, location_cases, panels};

#[derive(Debug, Clone, Queryable, Selectable, AsChangeset)]
#[diesel(table_name = location_cases, treat_none_as_null = true)]
pub struct ProblemSolvingRow {
    pub case_id: CaseId,
    pub nomination_source: Option<NominationSource>,
    pub adopted_on: Option<NaiveDate>,
    pub locality_group: Option<String>,
    pub lead_agency_id: Option<AgencyId>,
    pub scan: Option<String>,
    pub analysis: Option<String>,
    pub response: Option<String>,
    pub assessment: Option<String>,
    #[diesel(skip_update)]
    pub version: i32,
    pub updated_by: Option<UserId>,
    #[diesel(skip_update)]
    pub updated_at: DateTime<Utc>,
}

/// Starts the problem-solving record of a new location case.
pub fn start(conn: &mut PgConnection, case: CaseId, source: Option<NominationSource>) -> QueryResult<()> {
    diesel::insert_into(location_cases::table)
        .values((location_cases::case_id.eq(case), location_cases::nomination_source.eq(source)))
        .execute(conn)
        .map(drop)
}

/// Records the organisation leading a location case.
pub fn set_lead(conn: &mut PgConnection, case: CaseId, lead: AgencyId) -> QueryResult<()> {
    diesel::update(location_cases::table.find(case))
        .set(location_cases::lead_agency_id.eq(lead))
        .execute(conn)
        .map(drop)
}

/// The case's problem-solving record, locked for an edit when `for_update`; `NotFound` for a
/// case that is not a location case.
pub fn problem_solving(conn: &mut PgConnection, case: CaseId, for_update: bool) -> QueryResult<ProblemSolvingRow> {
    let query = location_cases::table.find(case).select(ProblemSolvingRow::as_select());
    if for_update { query.for_update().first(conn) } else { query.first(conn) }
}

/// Saves an edited record, moving its version on.
pub fn save(conn: &mut PgConnection, row: &ProblemSolvingRow) -> QueryResult<ProblemSolvingRow> {
    diesel::update(location_cases::table.find(row.case_id))
        .set((row, location_cases::version.eq(row.version + 1), location_cases::updated_at.eq(Utc::now())))
        .returning(ProblemSolvingRow::as_returning())
        .get_result(conn)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = interventions)]
pub struct InterventionRow {
    pub id: Uuid,
    pub case_id: CaseId,
    pub tool: InterventionTool,
    pub used_on: NaiveDate,
    pub agency_id: Option<AgencyId>,
    pub court_reference: Option<String>,
    pub expires_on: Option<NaiveDate>,
    pub breach_of: Option<Uuid>,
    pub notes: Option<String>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = interventions)]
pub struct NewIntervention {
    pub case_id: CaseId,
    pub panel_id: PanelId,
    pub tool: InterventionTool,
    pub used_on: NaiveDate,
    pub agency_id: Option<AgencyId>,
    pub court_reference: Option<String>,
    pub expires_on: Option<NaiveDate>,
    pub breach_of: Option<Uuid>,
    pub notes: Option<String>,
    pub created_by: UserId,
}

pub fn record_intervention(conn: &mut PgConnection, new: &NewIntervention) -> QueryResult<InterventionRow> {
    diesel::insert_into(interventions::table).values(new).returning(InterventionRow::as_returning()).get_result(conn)
}

/// The case's interventions in the order they were used: its escalation ladder.
pub fn interventions_of(conn: &mut PgConnection, case: CaseId) -> QueryResult<Vec<InterventionRow>> {
    interventions::table
        .filter(interventions::case_id.eq(case))
        .order((interventions::used_on, interventions::created_at, interventions::id))
        .select(InterventionRow::as_select())
        .load(conn)
}

/// One intervention of the case, if it has it.
pub fn intervention_on(conn: &mut PgConnection, case: CaseId, id: Uuid) -> QueryResult<Option<InterventionRow>> {
    interventions::table
        .filter(interventions::case_id.eq(case))
        .filter(interventions::id.eq(id))
        .select(InterventionRow::as_select())
        .first(conn)
        .optional()
}

#[derive(Debug, Clone, Queryable)]
pub struct LinkRow {
    pub id: Uuid,
    pub location_case_id: CaseId,
    pub person_case_id: CaseId,
    pub reason: String,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    /// The case at the other end, as the reader sees it.
    pub other_case_id: CaseId,
    pub other_reference: String,
    pub other_kind: PanelKind,
    pub other_status: CaseStatus,
}

/// Links `location_case` to `person_case`; `None` when they are linked already.
pub fn link(
    conn: &mut PgConnection,
    location_case: CaseId,
    person_case: CaseId,
    reason: &str,
    by: UserId,
) -> QueryResult<Option<Uuid>> {
    diesel::insert_into(case_links::table)
        .values((
            case_links::location_case_id.eq(location_case),
            case_links::person_case_id.eq(person_case),
            case_links::reason.eq(reason),
            case_links::created_by.eq(by),
        ))
        .on_conflict_do_nothing()
        .returning(case_links::id)
        .get_result(conn)
        .optional()
}

/// The case's links whose other end the reader can see, oldest first: a link never reveals a
/// case its reader could not find by id.
pub fn links_of(conn: &mut PgConnection, user: &AuthUser, case: CaseId) -> QueryResult<Vec<LinkRow>> {
    let other = diesel::alias!(cases as other);
    let other_id = case_links::location_case_id
        .eq(case)
        .and(other.field(cases::id).eq(case_links::person_case_id))
        .or(case_links::person_case_id.eq(case).and(other.field(cases::id).eq(case_links::location_case_id)));
    case_links::table
        .inner_join(other.on(other_id))
        .inner_join(panels::table.on(panels::id.eq(other.field(cases::panel_id))))
        .filter(case_links::location_case_id.eq(case).or(case_links::person_case_id.eq(case)))
        .filter(other.field(cases::id).eq_any(visible_case_ids(user)))
        .order((case_links::created_at, case_links::id))
        .select((
            case_links::id,
            case_links::location_case_id,
            case_links::person_case_id,
            case_links::reason,
            case_links::created_by,
            case_links::created_at,
            other.field(cases::id),
            other.field(cases::reference),
            panels::kind,
            other.field(cases::status),
        ))
        .load(conn)
}
