//! Cases: referral, workflow history, repeats, closure. Every read goes through
//! `access::case_visible`.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use diesel::prelude::*;

use crate::disclosure;
use crate::domain::{
    AgencyId, AgendaOutcome, AuthUser, CaseId, CaseStatus, ClosureCategory, ConsentStatus, IssueCategory, LawfulBasis,
    LocationId, MeetingStatus, PanelId, PanelKind, ParticipantRole, PersonId, RepeatWindowAnchor,
    SpecialCategoryCondition, UserId, Vulnerability,
};
use crate::error::ApiError;
use crate::models::access::{CaseAccess, case_fully_visible, case_visible};
use crate::models::assessment::AssessmentRow;
use crate::models::panel::RepeatWindow;
use crate::models::person::PersonRow;
use crate::models::{EditableValues, ValueChange, after_cursor};
use crate::pagination::PageRequest;
use crate::schema::{
    agenda_items, case_field_changes, case_participants, case_reference_counters, case_status_history, cases,
    locations, meetings,
};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = cases)]
pub struct CaseRow {
    pub id: CaseId,
    pub panel_id: PanelId,
    pub reference: String,
    pub status: CaseStatus,
    pub location_id: Option<LocationId>,
    /// `None` only for a case imported from a register that did not record it.
    pub referring_agency_id: Option<AgencyId>,
    /// Organisations that referred the case together with the referring agency.
    pub co_referring_agency_ids: Vec<AgencyId>,
    pub referring_user_id: Option<UserId>,
    pub referral_date: NaiveDate,
    pub visible_high_risk: bool,
    pub professional_judgement: bool,
    pub professional_judgement_reason: Option<String>,
    pub potential_escalation: bool,
    pub escalation_incident_count: Option<i32>,
    pub is_repeat: bool,
    pub repeat_of_case_id: Option<CaseId>,
    pub ward_code: Option<String>,
    pub area_text: Option<String>,
    pub vulnerabilities: Vec<Vulnerability>,
    pub vulnerability_other_text: Option<String>,
    pub issue_categories: Vec<IssueCategory>,
    pub issue_other_text: Option<String>,
    pub children_in_household: Option<i32>,
    pub consent_status: ConsentStatus,
    pub victim_aware: Option<bool>,
    pub non_consent_reason: Option<String>,
    pub lawful_basis: LawfulBasis,
    pub special_category_condition: SpecialCategoryCondition,
    pub summary: Option<String>,
    pub rejection_reason: Option<String>,
    pub closure_categories: Vec<ClosureCategory>,
    pub closure_reason: Option<String>,
    pub closed_on: Option<NaiveDate>,
    pub monitoring_window_ends_on: Option<NaiveDate>,
    pub safety_plan: Option<String>,
    /// The organisation that supplied the safety plan (SECURITY.md 2.4, provenance).
    pub safety_plan_supplied_by: Option<AgencyId>,
    /// Processing restricted (Art. 18) since then: read by panel staff only, changed by no one.
    pub restricted_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = cases)]
pub struct NewCase {
    pub panel_id: PanelId,
    pub reference: String,
    pub status: CaseStatus,
    pub location_id: Option<LocationId>,
    pub referring_agency_id: Option<AgencyId>,
    pub co_referring_agency_ids: Vec<AgencyId>,
    pub referring_user_id: Option<UserId>,
    pub referral_date: NaiveDate,
    pub visible_high_risk: bool,
    pub professional_judgement: bool,
    pub professional_judgement_reason: Option<String>,
    pub potential_escalation: bool,
    pub escalation_incident_count: Option<i32>,
    pub is_repeat: bool,
    pub repeat_of_case_id: Option<CaseId>,
    pub ward_code: Option<String>,
    pub area_text: Option<String>,
    pub vulnerabilities: Vec<Vulnerability>,
    pub vulnerability_other_text: Option<String>,
    pub issue_categories: Vec<IssueCategory>,
    pub issue_other_text: Option<String>,
    pub children_in_household: Option<i32>,
    pub consent_status: ConsentStatus,
    pub victim_aware: Option<bool>,
    pub non_consent_reason: Option<String>,
    pub lawful_basis: LawfulBasis,
    pub special_category_condition: SpecialCategoryCondition,
    pub summary: Option<String>,
    pub closure_categories: Vec<ClosureCategory>,
    pub closure_reason: Option<String>,
    pub closed_on: Option<NaiveDate>,
    pub safety_plan: Option<String>,
    pub safety_plan_supplied_by: Option<AgencyId>,
    pub created_by: UserId,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = locations)]
pub struct NewLocation {
    pub site_name: String,
    pub description: Option<String>,
    pub ward_code: Option<String>,
    pub area_text: Option<String>,
    pub locality: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub address: Option<String>,
    pub postcode: Option<String>,
    /// The Unique Property Reference Number, where the place has one.
    pub uprn: Option<String>,
    pub created_by: UserId,
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Deserialize)]
#[diesel(table_name = locations)]
pub struct LocationRow {
    pub id: LocationId,
    pub site_name: String,
    pub description: Option<String>,
    pub ward_code: Option<String>,
    pub area_text: Option<String>,
    pub locality: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub address: Option<String>,
    pub postcode: Option<String>,
    pub uprn: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Deserialize)]
#[diesel(table_name = case_status_history)]
pub struct HistoryRow {
    pub from_status: Option<CaseStatus>,
    pub to_status: CaseStatus,
    pub reason: Option<String>,
    pub changed_by: UserId,
    pub changed_at: DateTime<Utc>,
}

#[derive(Debug, Default)]
pub struct CaseFilter {
    pub panel_id: Option<PanelId>,
    pub status: Option<CaseStatus>,
    pub area: Option<String>,
    pub vulnerability: Option<Vulnerability>,
    pub referring_agency_id: Option<AgencyId>,
    pub is_repeat: Option<bool>,
    pub referred_from: Option<NaiveDate>,
    pub referred_to: Option<NaiveDate>,
    pub reference: Option<String>,
}

impl CaseFilter {
    /// Filters on more than the panel and the reference (which the research list shows).
    fn filters_on_details(&self) -> bool {
        self.status.is_some()
            || self.area.is_some()
            || self.vulnerability.is_some()
            || self.referring_agency_id.is_some()
            || self.is_repeat.is_some()
            || self.referred_from.is_some()
            || self.referred_to.is_some()
    }
}

/// Which of `ids` the user can see (in full or as the research list).
pub fn visible_among(conn: &mut PgConnection, user: &AuthUser, ids: &[CaseId]) -> QueryResult<Vec<CaseId>> {
    cases::table.filter(cases::id.eq_any(ids)).filter(case_visible(user)).select(cases::id).load(conn)
}

/// The next free generated reference for the panel and year, such as `MARAC-2026-0042`.
pub fn next_reference(conn: &mut PgConnection, panel: PanelId, kind: PanelKind, year: i32) -> QueryResult<String> {
    loop {
        let n: i32 = diesel::insert_into(case_reference_counters::table)
            .values((
                case_reference_counters::panel_id.eq(panel),
                case_reference_counters::year.eq(year),
                case_reference_counters::last.eq(1),
            ))
            .on_conflict((case_reference_counters::panel_id, case_reference_counters::year))
            .do_update()
            .set(case_reference_counters::last.eq(case_reference_counters::last + 1))
            .returning(case_reference_counters::last)
            .get_result(conn)?;
        let reference = format!("{}-{year}-{n:04}", kind.as_str().to_uppercase());
        if !reference_exists(conn, panel, &reference)? {
            return Ok(reference);
        }
    }
}

/// Whether the case was erased at the end of its retention (only its stub is left).
pub fn is_erased(conn: &mut PgConnection, id: CaseId) -> QueryResult<bool> {
    cases::table.find(id).select(cases::erased_at.is_not_null()).first(conn)
}

pub fn reference_exists(conn: &mut PgConnection, panel: PanelId, reference: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        cases::table.filter(cases::panel_id.eq(panel)).filter(cases::reference.eq(reference)),
    ))
    .get_result(conn)
}

diesel::define_sql_function! {
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// A location case of the panel that a register line describes again: the same site (case and
/// surrounding spaces aside), the same issues and the same status. Its id and reference.
pub fn same_location_case(
    conn: &mut PgConnection,
    panel: PanelId,
    site_name: &str,
    issues: &[IssueCategory],
    status: CaseStatus,
) -> QueryResult<Option<(CaseId, String)>> {
    let found: Vec<(CaseId, String, Vec<IssueCategory>)> = cases::table
        .inner_join(locations::table)
        .filter(cases::panel_id.eq(panel))
        .filter(cases::status.eq(status))
        .filter(lower(locations::site_name).eq(site_name.trim().to_lowercase()))
        .order((cases::created_at, cases::id))
        .select((cases::id, cases::reference, cases::issue_categories))
        .load(conn)?;
    let same = |theirs: &[IssueCategory]| {
        theirs.len() == issues.len()
            && theirs.iter().all(|i| issues.contains(i))
            && issues.iter().all(|i| theirs.contains(i))
    };
    Ok(found.into_iter().find(|(_, _, theirs)| same(theirs)).map(|(id, reference, _)| (id, reference)))
}

/// A case of the panel on which `person` is in `role` and which was open on `on` (referred by
/// then, not closed before; rejected and withdrawn referrals aside): the case a register line
/// about the same person in the same period repeats. Its id and reference.
pub fn open_case_of(
    conn: &mut PgConnection,
    panel: PanelId,
    person: PersonId,
    role: ParticipantRole,
    on: NaiveDate,
) -> QueryResult<Option<(CaseId, String)>> {
    cases::table
        .inner_join(case_participants::table)
        .filter(cases::panel_id.eq(panel))
        .filter(case_participants::person_id.eq(person))
        .filter(case_participants::role.eq(role))
        .filter(cases::status.ne_all(vec![CaseStatus::Rejected, CaseStatus::Withdrawn]))
        .filter(cases::referral_date.le(on))
        .filter(cases::closed_on.is_null().or(cases::closed_on.ge(on)))
        .order((cases::referral_date, cases::id))
        .select((cases::id, cases::reference))
        .first(conn)
        .optional()
}

pub fn insert_location(conn: &mut PgConnection, new: &NewLocation) -> QueryResult<LocationId> {
    diesel::insert_into(locations::table).values(new).returning(locations::id).get_result(conn)
}

/// Inserts the case, its participants and the first history entry.
pub fn insert(
    conn: &mut PgConnection,
    new: &NewCase,
    participants: &[(PersonId, ParticipantRole)],
) -> QueryResult<CaseRow> {
    let row: CaseRow =
        diesel::insert_into(cases::table).values(new).returning(CaseRow::as_returning()).get_result(conn)?;
    let links: Vec<_> = participants
        .iter()
        .map(|(person, role)| {
            (
                case_participants::case_id.eq(row.id),
                case_participants::person_id.eq(*person),
                case_participants::role.eq(*role),
            )
        })
        .collect();
    diesel::insert_into(case_participants::table).values(links).on_conflict_do_nothing().execute(conn)?;
    record_history(conn, row.id, None, row.status, None, new.created_by)?;
    Ok(row)
}

pub fn record_history(
    conn: &mut PgConnection,
    case: CaseId,
    from: Option<CaseStatus>,
    to: CaseStatus,
    reason: Option<&str>,
    by: UserId,
) -> QueryResult<()> {
    diesel::insert_into(case_status_history::table)
        .values((
            case_status_history::case_id.eq(case),
            case_status_history::from_status.eq(from),
            case_status_history::to_status.eq(to),
            case_status_history::reason.eq(reason),
            case_status_history::changed_by.eq(by),
        ))
        .execute(conn)
        .map(drop)
}

/// What an edit sets on a case (`edit`); `None` leaves a column as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = cases)]
pub struct CaseChanges {
    pub co_referring_agency_ids: Option<Vec<AgencyId>>,
    pub summary: Option<Option<String>>,
    pub professional_judgement: Option<bool>,
    pub professional_judgement_reason: Option<Option<String>>,
    pub potential_escalation: Option<bool>,
    pub escalation_incident_count: Option<Option<i32>>,
    pub children_in_household: Option<Option<i32>>,
    pub safety_plan: Option<Option<String>>,
    pub safety_plan_supplied_by: Option<Option<AgencyId>>,
    pub ward_code: Option<Option<String>>,
    pub area_text: Option<Option<String>>,
    pub vulnerabilities: Option<Vec<Vulnerability>>,
    pub vulnerability_other_text: Option<Option<String>>,
    pub issue_categories: Option<Vec<IssueCategory>>,
    pub issue_other_text: Option<Option<String>>,
    pub consent_status: Option<ConsentStatus>,
    pub victim_aware: Option<Option<bool>>,
    pub non_consent_reason: Option<Option<String>>,
    pub lawful_basis: Option<LawfulBasis>,
    pub special_category_condition: Option<SpecialCategoryCondition>,
    /// Derived, never sent by a client: a participant added later can make the case a repeat.
    pub is_repeat: Option<bool>,
    pub repeat_of_case_id: Option<Option<CaseId>>,
}

/// The values of a case an edit can change, by the names `case_field_changes` keeps, each with
/// the organisation that supplied it when it is tagged (provenance).
fn editable_values(row: &CaseRow) -> EditableValues {
    use serde_json::json;
    vec![
        ("co_referring_agency_ids", json!(row.co_referring_agency_ids), None),
        ("summary", json!(row.summary), None),
        ("criteria.professional_judgement", json!(row.professional_judgement), None),
        ("criteria.professional_judgement_reason", json!(row.professional_judgement_reason), None),
        ("criteria.potential_escalation", json!(row.potential_escalation), None),
        ("criteria.escalation_incident_count", json!(row.escalation_incident_count), None),
        ("children_in_household", json!(row.children_in_household), None),
        ("safety_plan", json!(row.safety_plan), row.safety_plan_supplied_by),
        ("ward_code", json!(row.ward_code), None),
        ("area_text", json!(row.area_text), None),
        ("vulnerabilities", json!(row.vulnerabilities), None),
        ("vulnerability_other_text", json!(row.vulnerability_other_text), None),
        ("issue_categories", json!(row.issue_categories), None),
        ("issue_other_text", json!(row.issue_other_text), None),
        ("consent.status", json!(row.consent_status), None),
        ("consent.victim_aware", json!(row.victim_aware), None),
        ("consent.non_consent_reason", json!(row.non_consent_reason), None),
        ("lawful_basis", json!(row.lawful_basis), None),
        ("special_category_condition", json!(row.special_category_condition), None),
        ("criteria.repeat", json!(row.is_repeat), None),
        ("repeat_of_case_id", json!(row.repeat_of_case_id), None),
    ]
}

impl CaseChanges {
    /// `row` as it would stand with these changes, to check before anything is written.
    pub fn applied_to(&self, row: &CaseRow) -> CaseRow {
        fn set<T: Clone>(target: &mut T, change: &Option<T>) {
            if let Some(v) = change {
                *target = v.clone();
            }
        }
        let mut r = row.clone();
        set(&mut r.co_referring_agency_ids, &self.co_referring_agency_ids);
        set(&mut r.summary, &self.summary);
        set(&mut r.professional_judgement, &self.professional_judgement);
        set(&mut r.professional_judgement_reason, &self.professional_judgement_reason);
        set(&mut r.potential_escalation, &self.potential_escalation);
        set(&mut r.escalation_incident_count, &self.escalation_incident_count);
        set(&mut r.children_in_household, &self.children_in_household);
        set(&mut r.safety_plan, &self.safety_plan);
        set(&mut r.safety_plan_supplied_by, &self.safety_plan_supplied_by);
        set(&mut r.ward_code, &self.ward_code);
        set(&mut r.area_text, &self.area_text);
        set(&mut r.vulnerabilities, &self.vulnerabilities);
        set(&mut r.vulnerability_other_text, &self.vulnerability_other_text);
        set(&mut r.issue_categories, &self.issue_categories);
        set(&mut r.issue_other_text, &self.issue_other_text);
        set(&mut r.consent_status, &self.consent_status);
        set(&mut r.victim_aware, &self.victim_aware);
        set(&mut r.non_consent_reason, &self.non_consent_reason);
        set(&mut r.lawful_basis, &self.lawful_basis);
        set(&mut r.special_category_condition, &self.special_category_condition);
        set(&mut r.is_repeat, &self.is_repeat);
        set(&mut r.repeat_of_case_id, &self.repeat_of_case_id);
        r
    }
}

/// The values that differ between `before` and `after`.
pub fn changed_values(before: &CaseRow, after: &CaseRow) -> Vec<ValueChange> {
    super::changed_values(editable_values(before), editable_values(after))
}

/// Applies `changes` to the case and keeps every earlier value (`changed`, from
/// `changed_values`): one `case_field_changes` row per value, with its tag (from the disclosure
/// declaration). Returns the row as it now stands.
pub fn edit(
    conn: &mut PgConnection,
    current: &CaseRow,
    changes: &CaseChanges,
    changed: &[ValueChange],
    reason: Option<&str>,
    by: UserId,
) -> QueryResult<CaseRow> {
    let row = diesel::update(cases::table.find(current.id))
        .set((changes, cases::version.eq(cases::version + 1), cases::updated_at.eq(Utc::now())))
        .returning(CaseRow::as_returning())
        .get_result(conn)?;
    let kept: Vec<_> = changed
        .iter()
        .map(|c| {
            (
                case_field_changes::case_id.eq(current.id),
                case_field_changes::field.eq(c.field),
                case_field_changes::tag.eq(disclosure::tag_of(disclosure::Subject::Case, c.field).map(|t| t.as_str())),
                case_field_changes::old_value.eq(&c.old),
                case_field_changes::new_value.eq(&c.new),
                case_field_changes::old_supplied_by.eq(c.old_supplied_by),
                case_field_changes::new_supplied_by.eq(c.new_supplied_by),
                case_field_changes::reason.eq(reason),
                case_field_changes::changed_by.eq(by),
            )
        })
        .collect();
    diesel::insert_into(case_field_changes::table).values(kept).execute(conn)?;
    Ok(row)
}

/// One kept change of a case's value.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = case_field_changes)]
pub struct FieldChangeRow {
    pub field: String,
    pub tag: Option<String>,
    pub old_value: serde_json::Value,
    pub new_value: serde_json::Value,
    pub old_supplied_by: Option<AgencyId>,
    pub new_supplied_by: Option<AgencyId>,
    pub reason: Option<String>,
    pub changed_by: UserId,
    pub changed_at: DateTime<Utc>,
}

/// A case's kept changes and its status history, oldest first (the caller has checked that it
/// may see the case).
pub fn changes(conn: &mut PgConnection, case: CaseId) -> QueryResult<(Vec<FieldChangeRow>, Vec<HistoryRow>)> {
    let fields = case_field_changes::table
        .filter(case_field_changes::case_id.eq(case))
        .order((case_field_changes::changed_at, case_field_changes::id))
        .select(FieldChangeRow::as_select())
        .load(conn)?;
    let statuses = case_status_history::table
        .filter(case_status_history::case_id.eq(case))
        .order((case_status_history::changed_at, case_status_history::id))
        .select(HistoryRow::as_select())
        .load(conn)?;
    Ok((fields, statuses))
}

/// The most recent earlier referral on the panel sharing a victim and a perpetrator with this
/// one whose repeat window (from its referral or last hearing) is still open on `referral_date`:
/// the case this one repeats.
pub fn find_repeat_of(
    conn: &mut PgConnection,
    panel: PanelId,
    victims: &[PersonId],
    perpetrators: &[PersonId],
    referral_date: NaiveDate,
    window: RepeatWindow,
    this_case: Option<CaseId>,
) -> QueryResult<Option<CaseId>> {
    if victims.is_empty() || perpetrators.is_empty() {
        return Ok(None);
    }
    let window_start = referral_date - chrono::Duration::days(window.days);
    // With the `last_meeting` anchor an earlier case's window runs from its last hearing, which
    // is never before its referral: it is open when either falls in the window.
    let anchored_in_window: Box<
        dyn BoxableExpression<cases::table, diesel::pg::Pg, SqlType = diesel::sql_types::Bool>,
    > = match window.anchor {
        RepeatWindowAnchor::LastReferral => Box::new(cases::referral_date.ge(window_start)),
        RepeatWindowAnchor::LastMeeting => Box::new(
            cases::referral_date.ge(window_start).or(diesel::dsl::exists(
                agenda_items::table
                    .inner_join(meetings::table)
                    .filter(agenda_items::case_id.eq(cases::id))
                    .filter(agenda_items::outcome.eq(AgendaOutcome::Heard))
                    .filter(meetings::status.eq_any(MeetingStatus::WENT_AHEAD))
                    .filter(meetings::meeting_date.between(window_start, referral_date)),
            )),
        ),
    };
    let (victim_links, perpetrator_links) =
        diesel::alias!(case_participants as victim_links, case_participants as perpetrator_links);
    cases::table
        .filter(cases::panel_id.eq(panel))
        .filter(cases::id.ne_all(this_case.into_iter().collect::<Vec<_>>()))
        .filter(cases::status.ne_all(vec![CaseStatus::Rejected, CaseStatus::Withdrawn]))
        .filter(cases::referral_date.le(referral_date))
        .filter(anchored_in_window)
        .filter(diesel::dsl::exists(
            victim_links
                .filter(victim_links.field(case_participants::case_id).eq(cases::id))
                .filter(victim_links.field(case_participants::role).eq(ParticipantRole::Victim))
                .filter(victim_links.field(case_participants::person_id).eq_any(victims)),
        ))
        .filter(diesel::dsl::exists(
            perpetrator_links
                .filter(perpetrator_links.field(case_participants::case_id).eq(cases::id))
                .filter(perpetrator_links.field(case_participants::role).eq(ParticipantRole::Perpetrator))
                .filter(perpetrator_links.field(case_participants::person_id).eq_any(perpetrators)),
        ))
        .order((cases::referral_date.desc(), cases::created_at.desc()))
        .select(cases::id)
        .first(conn)
        .optional()
}

/// What a case's full view shows besides the case row, read with it (`read`).
#[derive(Debug, serde::Deserialize)]
pub struct CaseContents {
    pub participants: Vec<Participant>,
    pub assessments: Vec<AssessmentRow>,
    pub history: Vec<HistoryRow>,
    pub location: Option<LocationRow>,
    /// Where the case went or came from (`models::transfer`).
    pub transfers: Vec<super::transfer::TransferRow>,
    /// The per-case grants standing now, as (organisation, tag): see `models::grant`.
    pub grants: Vec<(AgencyId, crate::domain::Tag)>,
}

#[derive(Debug, serde::Deserialize)]
pub struct Participant {
    pub role: ParticipantRole,
    pub person: PersonRow,
    pub added_at: DateTime<Utc>,
    /// Set when the person left the case (they stay on its record).
    pub ended_at: Option<DateTime<Utc>>,
    pub ended_reason: Option<String>,
    #[serde(default)]
    pub relationship_to_victim: Option<String>,
    #[serde(default)]
    pub relationship_to_perpetrator: Option<String>,
}

/// `CaseContents` as one JSON value, beside the case row in `read`'s one statement. Orders as
/// the separate reads did: people by role then surname, assessments and history oldest first.
const CONTENTS_SQL: &str = "json_build_object(
    'participants', (SELECT coalesce(json_agg(json_build_object('role', cp.role, 'person', p, 'added_at', cp.added_at,
                           'ended_at', cp.ended_at, 'ended_reason', cp.ended_reason,
                           'relationship_to_victim', cp.relationship_to_victim,
                           'relationship_to_perpetrator', cp.relationship_to_perpetrator) ORDER BY cp.role, p.surname), '[]')
                       FROM case_participants cp JOIN people p ON p.id = cp.person_id WHERE cp.case_id = cases.id),
    'assessments', (SELECT coalesce(json_agg(a ORDER BY a.created_at, a.id), '[]') FROM risk_assessments a WHERE a.case_id = cases.id),
    'history', (SELECT coalesce(json_agg(h ORDER BY h.changed_at, h.id), '[]') FROM case_status_history h WHERE h.case_id = cases.id),
    'location', (SELECT row_to_json(l) FROM locations l WHERE l.id = cases.location_id),
    'transfers', (SELECT coalesce(json_agg(t ORDER BY t.recorded_at, t.id), '[]') FROM case_transfers t WHERE t.case_id = cases.id),
    'grants', (SELECT coalesce(json_agg(json_build_array(g.agency_id, g.tag)), '[]') FROM case_grants g
               WHERE g.case_id = cases.id AND g.ended_at IS NULL AND g.expires_on >= (now() AT TIME ZONE 'Europe/London')::date))";

/// The case `id` if the caller can see it (`NotFound` alike when it cannot or does not exist):
/// the caller's access, the row, and all the full view shows, in one statement. The access rule
/// is `access::case_visible`; callers holding only the research list use the participants alone.
pub fn read(
    conn: &mut PgConnection,
    user: &AuthUser,
    id: CaseId,
) -> Result<(CaseAccess, CaseRow, CaseContents), ApiError> {
    let (row, full, contents): (CaseRow, bool, serde_json::Value) = read_query(user, id).first(conn)?;
    let contents = serde_json::from_value(contents)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("case contents did not read back: {e}")))?;
    let restricted = row.restricted_at.is_some();
    Ok((CaseAccess::seen(user, id, row.panel_id, full, restricted), row, contents))
}

/// `read`'s one statement. Every part of it can be prepared (see the test below): this is the
/// statement the service runs most.
fn read_query(
    user: &AuthUser,
    id: CaseId,
) -> impl for<'a> diesel::query_dsl::LoadQuery<'a, PgConnection, (CaseRow, bool, serde_json::Value)>
+ diesel::query_builder::QueryFragment<diesel::pg::Pg>
+ diesel::query_dsl::methods::LimitDsl<
    Output: for<'a> diesel::query_dsl::LoadQuery<'a, PgConnection, (CaseRow, bool, serde_json::Value)>,
> {
    cases::table.filter(cases::id.eq(id)).filter(case_visible(user)).select((
        CaseRow::as_select(),
        case_fully_visible(user),
        super::fragment::<diesel::sql_types::Json>(CONTENTS_SQL),
    ))
}

/// What `read` shows besides the row, for a case whose sight the caller has through something
/// other than the access rule (a transfer pack for the receiving panel).
pub fn contents_of(conn: &mut PgConnection, id: CaseId) -> Result<CaseContents, ApiError> {
    let contents: serde_json::Value =
        cases::table.find(id).select(super::fragment::<diesel::sql_types::Json>(CONTENTS_SQL)).first(conn)?;
    serde_json::from_value(contents)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("case contents did not read back: {e}")))
}

pub fn get(conn: &mut PgConnection, id: CaseId) -> QueryResult<CaseRow> {
    cases::table.find(id).select(CaseRow::as_select()).first(conn)
}

/// Several cases in one statement (callers have checked that they may see them).
pub fn get_many(conn: &mut PgConnection, ids: &[CaseId]) -> QueryResult<Vec<CaseRow>> {
    cases::table.filter(cases::id.eq_any(ids)).select(CaseRow::as_select()).load(conn)
}

/// A page of the cases the user can see, each with whether the user sees it in full. Filters on
/// case details match only cases seen in full: a research-list case must not be found, or
/// counted, by what the caller may not yet read of it.
pub fn list(
    conn: &mut PgConnection,
    user: &AuthUser,
    f: &CaseFilter,
    page: &PageRequest,
) -> QueryResult<Vec<(CaseRow, bool)>> {
    let mut query =
        cases::table.filter(case_visible(user)).select((CaseRow::as_select(), case_fully_visible(user))).into_boxed();
    if f.filters_on_details() {
        query = query.filter(case_fully_visible(user));
    }
    if let Some(panel) = f.panel_id {
        query = query.filter(cases::panel_id.eq(panel));
    }
    if let Some(status) = f.status {
        query = query.filter(cases::status.eq(status));
    }
    if let Some(area) = &f.area {
        query = query.filter(cases::ward_code.eq(area.clone()).or(cases::area_text.ilike(area.clone())));
    }
    if let Some(v) = f.vulnerability {
        query = query.filter(cases::vulnerabilities.contains(vec![v]));
    }
    if let Some(agency) = f.referring_agency_id {
        query = query.filter(cases::referring_agency_id.eq(agency));
    }
    if let Some(repeat) = f.is_repeat {
        query = query.filter(cases::is_repeat.eq(repeat));
    }
    if let Some(from) = f.referred_from {
        query = query.filter(cases::referral_date.ge(from));
    }
    if let Some(to) = f.referred_to {
        query = query.filter(cases::referral_date.le(to));
    }
    if let Some(reference) = &f.reference {
        query = query.filter(cases::reference.eq(reference.clone()));
    }
    after_cursor!(query, cases, page.after).order((cases::created_at, cases::id)).limit(page.fetch_limit()).load(conn)
}

/// Moves the case to `to` and records it.
pub fn set_status(
    conn: &mut PgConnection,
    current: &CaseRow,
    to: CaseStatus,
    reason: Option<&str>,
    by: UserId,
) -> QueryResult<CaseRow> {
    let rejection = if to == CaseStatus::Rejected { reason } else { current.rejection_reason.as_deref() };
    let row = diesel::update(cases::table.find(current.id))
        .set((
            cases::status.eq(to),
            cases::rejection_reason.eq(rejection),
            cases::version.eq(cases::version + 1),
            cases::updated_at.eq(Utc::now()),
        ))
        .returning(CaseRow::as_returning())
        .get_result(conn)?;
    record_history(conn, current.id, Some(current.status), to, reason, by)?;
    if to.has_ended() {
        ended(conn, current.id, by)?;
    }
    Ok(row)
}

/// What lapses when a case ends (closed, rejected, withdrawn, transferred out): its per-case
/// grants (SECURITY.md §2.4) and any closure still waiting for a chair.
fn ended(conn: &mut PgConnection, case: CaseId, by: UserId) -> QueryResult<()> {
    super::grant::end_all(conn, case)?;
    super::closure::decline_pending(conn, case, "Superseded: the case ended another way", by)?;
    Ok(())
}

pub struct Closure<'a> {
    pub categories: &'a [ClosureCategory],
    pub reason: &'a str,
    pub closed_on: NaiveDate,
    pub monitoring_window_ends_on: Option<NaiveDate>,
}

pub fn close(conn: &mut PgConnection, current: &CaseRow, closure: &Closure<'_>, by: UserId) -> QueryResult<CaseRow> {
    let row = diesel::update(cases::table.find(current.id))
        .set((
            cases::status.eq(CaseStatus::Closed),
            cases::closure_categories.eq(closure.categories),
            cases::closure_reason.eq(closure.reason),
            cases::closed_on.eq(closure.closed_on),
            cases::monitoring_window_ends_on.eq(closure.monitoring_window_ends_on),
            cases::version.eq(cases::version + 1),
            cases::updated_at.eq(Utc::now()),
        ))
        .returning(CaseRow::as_returning())
        .get_result(conn)?;
    record_history(conn, current.id, Some(current.status), CaseStatus::Closed, Some(closure.reason), by)?;
    ended(conn, current.id, by)?;
    Ok(row)
}

/// Reopens a closed case; the closure stays in the history.
pub fn reopen(conn: &mut PgConnection, current: &CaseRow, reason: &str, by: UserId) -> QueryResult<CaseRow> {
    let row = diesel::update(cases::table.find(current.id))
        .set((
            cases::status.eq(CaseStatus::Open),
            cases::closure_categories.eq(Vec::<ClosureCategory>::new()),
            cases::closure_reason.eq(None::<String>),
            cases::closed_on.eq(None::<NaiveDate>),
            cases::monitoring_window_ends_on.eq(None::<NaiveDate>),
            cases::version.eq(cases::version + 1),
            cases::updated_at.eq(Utc::now()),
        ))
        .returning(CaseRow::as_returning())
        .get_result(conn)?;
    record_history(conn, current.id, Some(current.status), CaseStatus::Open, Some(reason), by)?;
    Ok(row)
}

pub fn mark_visible_high_risk(conn: &mut PgConnection, case: CaseId) -> QueryResult<()> {
    diesel::update(cases::table.find(case)).set(cases::visible_high_risk.eq(true)).execute(conn).map(drop)
}

/// Today's year, for generated references.
pub fn current_year() -> i32 {
    Utc::now().date_naive().year()
}

// ---------------------------------------------------------------- participants

/// Adds `person` to the case in `role`; false when they already are (ended or not).
pub fn add_participant(
    conn: &mut PgConnection,
    case: CaseId,
    person: PersonId,
    role: ParticipantRole,
    by: UserId,
) -> QueryResult<bool> {
    diesel::insert_into(case_participants::table)
        .values((
            case_participants::case_id.eq(case),
            case_participants::person_id.eq(person),
            case_participants::role.eq(role),
            case_participants::added_by.eq(by),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .map(|n| n == 1)
}

/// Sets a participant's relationships to the victim and to the perpetrator; `None` leaves one as
/// it is, `Some(None)` clears it.
pub fn set_relationships(
    conn: &mut PgConnection,
    case: CaseId,
    person: PersonId,
    role: ParticipantRole,
    to_victim: Option<Option<String>>,
    to_perpetrator: Option<Option<String>>,
) -> QueryResult<()> {
    #[derive(AsChangeset)]
    #[diesel(table_name = case_participants)]
    struct Relationships {
        relationship_to_victim: Option<Option<String>>,
        relationship_to_perpetrator: Option<Option<String>>,
    }
    if to_victim.is_none() && to_perpetrator.is_none() {
        return Ok(());
    }
    let changes = Relationships { relationship_to_victim: to_victim, relationship_to_perpetrator: to_perpetrator };
    diesel::update(case_participants::table.find((case, person, role))).set(&changes).execute(conn)?;
    // The case's content changed: its version moves on, so a stale `If-Match` is refused.
    diesel::update(cases::table.find(case))
        .set((cases::version.eq(cases::version + 1), cases::updated_at.eq(Utc::now())))
        .execute(conn)
        .map(drop)
}

/// The case's current (not ended) participants in `role`.
pub fn current_participants(
    conn: &mut PgConnection,
    case: CaseId,
    role: ParticipantRole,
) -> QueryResult<Vec<PersonId>> {
    case_participants::table
        .filter(case_participants::case_id.eq(case))
        .filter(case_participants::role.eq(role))
        .filter(case_participants::ended_at.is_null())
        .select(case_participants::person_id)
        .load(conn)
}

/// Whether the participant exists and when it ended (`None`: no such participant).
pub fn participant_ended(
    conn: &mut PgConnection,
    case: CaseId,
    person: PersonId,
    role: ParticipantRole,
) -> QueryResult<Option<Option<DateTime<Utc>>>> {
    case_participants::table
        .find((case, person, role))
        .select(case_participants::ended_at)
        .for_update()
        .first(conn)
        .optional()
}

/// Ends a participant: they stay on the case's record, with who ended them, when and why.
pub fn end_participant(
    conn: &mut PgConnection,
    case: CaseId,
    person: PersonId,
    role: ParticipantRole,
    reason: &str,
    by: UserId,
) -> QueryResult<()> {
    diesel::update(case_participants::table.find((case, person, role)))
        .set((
            case_participants::ended_at.eq(Utc::now()),
            case_participants::ended_by.eq(by),
            case_participants::ended_reason.eq(reason),
        ))
        .execute(conn)
        .map(drop)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use diesel::query_builder::QueryFragment;

    use super::*;
    use crate::domain::{AgencyId, PanelId, Role, RoleGrant, SessionId};

    fn caller(role: Role, agency: Option<AgencyId>) -> AuthUser {
        AuthUser {
            user_id: UserId(uuid::Uuid::new_v4()),
            session_id: SessionId(uuid::Uuid::new_v4()),
            agency_id: agency,
            roles: vec![
                RoleGrant::standing(role, Some(PanelId(uuid::Uuid::new_v4()))),
                RoleGrant::standing(role, Some(PanelId(uuid::Uuid::new_v4()))),
            ],
            policy: Arc::from(Vec::new()),
        }
    }

    /// `dsl::sql` or an `IN (…)` list would make diesel send the case read unprepared, and
    /// PostgreSQL would parse and plan it on every request (measured: a third of the read's
    /// throughput, docs/PERFORMANCE.md).
    #[test]
    fn the_case_read_can_be_prepared_for_staff_and_partners() {
        let agency = Some(AgencyId(uuid::Uuid::new_v4()));
        for user in [caller(Role::Coordinator, None), caller(Role::AgencyRep, agency), caller(Role::Idva, agency)] {
            let query = read_query(&user, CaseId(uuid::Uuid::new_v4()));
            assert!(query.is_safe_to_cache_prepared(&diesel::pg::Pg).unwrap(), "{:?}", user.roles);
        }
    }
}
