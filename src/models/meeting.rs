//! Meetings, agendas, attendance, discussion notes and minutes.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use diesel::prelude::*;

use crate::domain::{
    AgencyId, AgendaItemId, AgendaOutcome, AgendaSection, AttendanceId, AttendanceType, CaseId, CaseStatus,
    ListingReason, MeetingId, MeetingKind, MeetingMode, MeetingStatus, NoteId, PanelId, ParticipantRole, UserId,
};
use crate::models::after_cursor;
use crate::pagination::PageRequest;
use crate::schema::{
    actions, agenda_items, attendance, case_participants, cases, discussion_notes, meetings, minutes_versions,
};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = meetings)]
pub struct MeetingRow {
    pub id: MeetingId,
    pub panel_id: PanelId,
    pub kind: MeetingKind,
    pub mode: MeetingMode,
    pub meeting_date: NaiveDate,
    pub start_time: NaiveTime,
    pub venue: Option<String>,
    pub virtual_link: Option<String>,
    pub chair_user_id: Option<UserId>,
    pub agenda_cutoff_at: Option<DateTime<Utc>>,
    pub status: MeetingStatus,
    pub agenda_version: i32,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The editable fields of a meeting.
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = meetings, treat_none_as_null = true)]
pub struct MeetingFields {
    pub kind: MeetingKind,
    pub mode: MeetingMode,
    pub meeting_date: NaiveDate,
    pub start_time: NaiveTime,
    pub venue: Option<String>,
    pub virtual_link: Option<String>,
    pub chair_user_id: Option<UserId>,
    pub agenda_cutoff_at: Option<DateTime<Utc>>,
}

pub fn insert(conn: &mut PgConnection, panel: PanelId, fields: &MeetingFields, by: UserId) -> QueryResult<MeetingRow> {
    diesel::insert_into(meetings::table)
        .values((fields, meetings::panel_id.eq(panel), meetings::created_by.eq(by)))
        .returning(MeetingRow::as_returning())
        .get_result(conn)
}

pub fn get(conn: &mut PgConnection, id: MeetingId) -> QueryResult<MeetingRow> {
    meetings::table.find(id).select(MeetingRow::as_select()).first(conn)
}

pub fn get_for_update(conn: &mut PgConnection, id: MeetingId) -> QueryResult<MeetingRow> {
    meetings::table.find(id).select(MeetingRow::as_select()).for_update().first(conn)
}

pub fn list_for_panel(conn: &mut PgConnection, panel: PanelId, page: &PageRequest) -> QueryResult<Vec<MeetingRow>> {
    let query = meetings::table.filter(meetings::panel_id.eq(panel)).select(MeetingRow::as_select()).into_boxed();
    after_cursor!(query, meetings, page.after)
        .order((meetings::created_at, meetings::id))
        .limit(page.fetch_limit())
        .load(conn)
}

/// Every meeting of a panel, by date, for its calendar.
pub fn all_for_panel(conn: &mut PgConnection, panel: PanelId) -> QueryResult<Vec<MeetingRow>> {
    meetings::table
        .filter(meetings::panel_id.eq(panel))
        .order((meetings::meeting_date, meetings::start_time, meetings::id))
        .select(MeetingRow::as_select())
        .limit(1000)
        .load(conn)
}

pub fn update(conn: &mut PgConnection, id: MeetingId, fields: &MeetingFields) -> QueryResult<MeetingRow> {
    diesel::update(meetings::table.find(id))
        .set((fields, meetings::version.eq(meetings::version + 1), meetings::updated_at.eq(Utc::now())))
        .returning(MeetingRow::as_returning())
        .get_result(conn)
}

pub fn set_status(conn: &mut PgConnection, id: MeetingId, status: MeetingStatus) -> QueryResult<MeetingRow> {
    diesel::update(meetings::table.find(id))
        .set((
            meetings::status.eq(status),
            meetings::version.eq(meetings::version + 1),
            meetings::updated_at.eq(Utc::now()),
        ))
        .returning(MeetingRow::as_returning())
        .get_result(conn)
}

/// Records every agenda item without an outcome as heard (when the meeting is held); a new
/// agenda version when any was.
pub fn mark_listed_items_heard(conn: &mut PgConnection, id: MeetingId) -> QueryResult<usize> {
    let n = diesel::update(
        agenda_items::table.filter(agenda_items::meeting_id.eq(id)).filter(agenda_items::outcome.is_null()),
    )
    .set(agenda_items::outcome.eq(Some(AgendaOutcome::Heard)))
    .execute(conn)?;
    if n > 0 {
        diesel::update(meetings::table.find(id))
            .set(meetings::agenda_version.eq(meetings::agenda_version + 1))
            .execute(conn)?;
    }
    Ok(n)
}

// ------------------------------------------------------------------ agenda

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = agenda_items)]
pub struct AgendaItemRow {
    pub id: AgendaItemId,
    pub meeting_id: MeetingId,
    pub case_id: CaseId,
    pub section: AgendaSection,
    pub position: i32,
    pub listing_reason: ListingReason,
    pub outcome: Option<AgendaOutcome>,
}

/// One line of an agenda as it is to be saved, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgendaLine {
    pub case_id: CaseId,
    pub section: AgendaSection,
    pub listing_reason: ListingReason,
    pub outcome: Option<AgendaOutcome>,
}

pub fn agenda(conn: &mut PgConnection, meeting: MeetingId) -> QueryResult<Vec<AgendaItemRow>> {
    agenda_items::table
        .filter(agenda_items::meeting_id.eq(meeting))
        .order(agenda_items::position)
        .select(AgendaItemRow::as_select())
        .load(conn)
}

pub fn agenda_item(conn: &mut PgConnection, id: AgendaItemId) -> QueryResult<AgendaItemRow> {
    agenda_items::table.find(id).select(AgendaItemRow::as_select()).first(conn)
}

/// Replaces the agenda with `lines`, in order, and moves the agenda version on. Items that stay
/// keep their id (and so their notes).
pub fn replace_agenda(conn: &mut PgConnection, meeting: MeetingId, lines: &[AgendaLine]) -> QueryResult<i32> {
    let keep: Vec<CaseId> = lines.iter().map(|l| l.case_id).collect();
    diesel::delete(
        agenda_items::table.filter(agenda_items::meeting_id.eq(meeting)).filter(agenda_items::case_id.ne_all(&keep)),
    )
    .execute(conn)?;
    for (i, line) in lines.iter().enumerate() {
        let position = i as i32 + 1;
        diesel::insert_into(agenda_items::table)
            .values((
                agenda_items::meeting_id.eq(meeting),
                agenda_items::case_id.eq(line.case_id),
                agenda_items::section.eq(line.section),
                agenda_items::position.eq(position),
                agenda_items::listing_reason.eq(line.listing_reason),
                agenda_items::outcome.eq(line.outcome),
            ))
            .on_conflict((agenda_items::meeting_id, agenda_items::case_id))
            .do_update()
            .set((
                agenda_items::section.eq(line.section),
                agenda_items::position.eq(position),
                agenda_items::listing_reason.eq(line.listing_reason),
                agenda_items::outcome.eq(line.outcome),
            ))
            .execute(conn)?;
    }
    diesel::update(meetings::table.find(meeting))
        .set(meetings::agenda_version.eq(meetings::agenda_version + 1))
        .returning(meetings::agenda_version)
        .get_result(conn)
}

/// Listing a case puts it in `open` if it was `accepted`; returns the cases moved.
pub fn open_accepted(conn: &mut PgConnection, cases_listed: &[CaseId]) -> QueryResult<Vec<CaseId>> {
    diesel::update(cases::table.filter(cases::id.eq_any(cases_listed)).filter(cases::status.eq(CaseStatus::Accepted)))
        .set((
            cases::status.eq(CaseStatus::Open),
            cases::version.eq(cases::version + 1),
            cases::updated_at.eq(Utc::now()),
        ))
        .returning(cases::id)
        .get_results(conn)
}

#[derive(Debug, Queryable)]
pub struct Candidate {
    pub case_id: CaseId,
    pub status: CaseStatus,
    pub is_repeat: bool,
    pub referral_date: NaiveDate,
    pub reference: String,
    pub children_in_household: Option<i32>,
}

/// Cases of the panel that may belong on an agenda: accepted, open or monitoring.
pub fn agenda_candidates(conn: &mut PgConnection, panel: PanelId) -> QueryResult<Vec<Candidate>> {
    cases::table
        .filter(cases::panel_id.eq(panel))
        .filter(cases::status.eq_any(vec![CaseStatus::Accepted, CaseStatus::Open, CaseStatus::Monitoring]))
        .order((cases::referral_date, cases::reference))
        .select((
            cases::id,
            cases::status,
            cases::is_repeat,
            cases::referral_date,
            cases::reference,
            cases::children_in_household,
        ))
        .load(conn)
}

/// Which of `cases` have a child recorded among their participants.
pub fn cases_with_child_participants(conn: &mut PgConnection, ids: &[CaseId]) -> QueryResult<Vec<CaseId>> {
    case_participants::table
        .filter(case_participants::case_id.eq_any(ids))
        .filter(case_participants::role.eq(ParticipantRole::Child))
        .select(case_participants::case_id)
        .distinct()
        .load(conn)
}

/// Cases already heard at an earlier meeting of the panel.
pub fn cases_heard_before(conn: &mut PgConnection, panel: PanelId, before: NaiveDate) -> QueryResult<Vec<CaseId>> {
    agenda_items::table
        .inner_join(meetings::table)
        .filter(meetings::panel_id.eq(panel))
        .filter(meetings::meeting_date.lt(before))
        .filter(agenda_items::outcome.eq(AgendaOutcome::Heard))
        .select(agenda_items::case_id)
        .distinct()
        .load(conn)
}

/// The agenda items of `case` at meetings that went ahead, with each meeting's date, oldest first.
pub fn hearings_of(conn: &mut PgConnection, case: CaseId) -> QueryResult<Vec<(AgendaItemRow, NaiveDate)>> {
    agenda_items::table
        .inner_join(meetings::table)
        .filter(agenda_items::case_id.eq(case))
        .filter(meetings::status.eq_any(MeetingStatus::WENT_AHEAD))
        .order((meetings::meeting_date, meetings::id))
        .select((AgendaItemRow::as_select(), meetings::meeting_date))
        .load(conn)
}

/// Whether `case` is listed on `meeting`'s agenda.
pub fn lists_case(conn: &mut PgConnection, meeting: MeetingId, case: CaseId) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        agenda_items::table.filter(agenda_items::meeting_id.eq(meeting)).filter(agenda_items::case_id.eq(case)),
    ))
    .get_result(conn)
}

/// Each of `cases`' last hearing: the latest meeting that was held with it heard. Cases never
/// heard are absent.
pub fn last_heard_on(conn: &mut PgConnection, cases: &[CaseId]) -> QueryResult<HashMap<CaseId, NaiveDate>> {
    let rows: Vec<(CaseId, Option<NaiveDate>)> = agenda_items::table
        .inner_join(meetings::table)
        .filter(agenda_items::case_id.eq_any(cases))
        .filter(agenda_items::outcome.eq(AgendaOutcome::Heard))
        .filter(meetings::status.eq_any(MeetingStatus::WENT_AHEAD))
        .group_by(agenda_items::case_id)
        .select((agenda_items::case_id, diesel::dsl::max(meetings::meeting_date)))
        .load(conn)?;
    Ok(rows.into_iter().filter_map(|(case, date)| Some((case, date?))).collect())
}

/// The panel's last meeting before `date` that went ahead, if any.
pub fn previous_meeting(conn: &mut PgConnection, panel: PanelId, date: NaiveDate) -> QueryResult<Option<MeetingId>> {
    meetings::table
        .filter(meetings::panel_id.eq(panel))
        .filter(meetings::meeting_date.lt(date))
        .filter(meetings::status.eq_any(vec![
            MeetingStatus::InProgress,
            MeetingStatus::Held,
            MeetingStatus::MinutesCirculated,
        ]))
        .order((meetings::meeting_date.desc(), meetings::start_time.desc()))
        .select(meetings::id)
        .first(conn)
        .optional()
}

/// Cases with actions agreed at `meeting` that are still outstanding.
pub fn cases_with_outstanding_actions_from(conn: &mut PgConnection, meeting: MeetingId) -> QueryResult<Vec<CaseId>> {
    use crate::domain::ActionStatus;
    actions::table
        .filter(actions::meeting_id.eq(meeting))
        .filter(actions::status.eq_any(vec![
            ActionStatus::Open,
            ActionStatus::InProgress,
            ActionStatus::CarriedForward,
        ]))
        .select(actions::case_id)
        .distinct()
        .load(conn)
}

// ------------------------------------------------------------------ attendance

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = attendance)]
pub struct AttendanceRow {
    pub id: AttendanceId,
    pub meeting_id: MeetingId,
    pub agency_id: AgencyId,
    pub user_id: Option<UserId>,
    pub person_name: Option<String>,
    pub attendance_type: AttendanceType,
    pub confidentiality_acknowledged_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

pub fn attendance_of(conn: &mut PgConnection, meeting: MeetingId) -> QueryResult<Vec<AttendanceRow>> {
    attendance::table
        .filter(attendance::meeting_id.eq(meeting))
        .order((attendance::created_at, attendance::id))
        .select(AttendanceRow::as_select())
        .load(conn)
}

/// Records (or re-records) one attendee.
pub fn record_attendance(
    conn: &mut PgConnection,
    meeting: MeetingId,
    agency: AgencyId,
    user: Option<UserId>,
    name: Option<&str>,
    kind: AttendanceType,
    by: UserId,
) -> QueryResult<AttendanceRow> {
    diesel::insert_into(attendance::table)
        .values((
            attendance::meeting_id.eq(meeting),
            attendance::agency_id.eq(agency),
            attendance::user_id.eq(user),
            attendance::person_name.eq(name),
            attendance::attendance_type.eq(kind),
            attendance::recorded_by.eq(by),
        ))
        .on_conflict((attendance::meeting_id, attendance::agency_id, attendance::user_id))
        .do_update()
        .set((attendance::attendance_type.eq(kind), attendance::person_name.eq(name)))
        .returning(AttendanceRow::as_returning())
        .get_result(conn)
}

/// The caller acknowledges the confidentiality statement for this meeting. Only someone whose
/// organisation is listed to attend may: their own attendance row is stamped, created from the
/// organisation's row if the coordinator listed the organisation rather than the person.
/// `None` when the organisation is not listed.
pub fn acknowledge(
    conn: &mut PgConnection,
    meeting: MeetingId,
    agency: AgencyId,
    user: UserId,
) -> QueryResult<Option<AttendanceRow>> {
    // The user's own row first, then the organisation's unnamed one, then any other of its rows.
    let listed: Option<(uuid::Uuid, Option<UserId>, AttendanceType)> = attendance::table
        .filter(attendance::meeting_id.eq(meeting))
        .filter(attendance::agency_id.eq(agency))
        .order((attendance::user_id.eq(user).desc(), attendance::user_id.is_null().desc(), attendance::id))
        .select((attendance::id, attendance::user_id, attendance::attendance_type))
        // Two people of one organisation acknowledging at once: the second waits, then sees the
        // listing named for the first and is recorded beside it.
        .for_update()
        .first(conn)
        .optional()?;
    let Some((row, named, kind)) = listed else { return Ok(None) };
    if named.is_none() || named == Some(user) {
        // The organisation's listing becomes this user's: the organisation is listed once, by
        // whoever attends for it, not once unnamed and again by name.
        return diesel::update(attendance::table.find(row))
            .set((attendance::user_id.eq(Some(user)), attendance::confidentiality_acknowledged_at.eq(Utc::now())))
            .returning(AttendanceRow::as_returning())
            .get_result(conn)
            .map(Some);
    }
    // A second person attending for the organisation.
    diesel::insert_into(attendance::table)
        .values((
            attendance::meeting_id.eq(meeting),
            attendance::agency_id.eq(agency),
            attendance::user_id.eq(Some(user)),
            attendance::attendance_type.eq(kind),
            attendance::confidentiality_acknowledged_at.eq(Utc::now()),
            attendance::recorded_by.eq(user),
        ))
        .returning(AttendanceRow::as_returning())
        .get_result(conn)
        .map(Some)
}

/// The user has acknowledged the meeting's confidentiality statement and is listed in a way that
/// gives sight of the cases heard (present or information sent; not apologies or observer).
pub fn has_acknowledged(conn: &mut PgConnection, meeting: MeetingId, user: UserId) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        attendance::table
            .filter(attendance::meeting_id.eq(meeting))
            .filter(attendance::user_id.eq(user))
            .filter(attendance::attendance_type.eq_any(crate::domain::AttendanceType::GIVING_SIGHT))
            .filter(attendance::confidentiality_acknowledged_at.is_not_null()),
    ))
    .get_result(conn)
}

// ------------------------------------------------------------------ notes and minutes

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = discussion_notes)]
pub struct NoteRow {
    pub id: NoteId,
    pub agenda_item_id: AgendaItemId,
    pub agency_id: Option<AgencyId>,
    pub shared_information: Option<String>,
    pub risk_summary: Option<String>,
    pub decisions: Option<String>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = discussion_notes)]
pub struct NewNote {
    pub agenda_item_id: AgendaItemId,
    pub agency_id: Option<AgencyId>,
    pub shared_information: Option<String>,
    pub risk_summary: Option<String>,
    pub decisions: Option<String>,
    pub created_by: UserId,
}

pub fn add_note(conn: &mut PgConnection, note: &NewNote) -> QueryResult<NoteRow> {
    diesel::insert_into(discussion_notes::table).values(note).returning(NoteRow::as_returning()).get_result(conn)
}

pub fn note(conn: &mut PgConnection, id: NoteId) -> QueryResult<NoteRow> {
    discussion_notes::table.find(id).select(NoteRow::as_select()).first(conn)
}

pub fn notes_of(conn: &mut PgConnection, items: &[AgendaItemId]) -> QueryResult<Vec<NoteRow>> {
    discussion_notes::table
        .filter(discussion_notes::agenda_item_id.eq_any(items))
        .order((discussion_notes::created_at, discussion_notes::id))
        .select(NoteRow::as_select())
        .load(conn)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = minutes_versions)]
pub struct MinutesRow {
    pub version: i32,
    pub body: String,
    pub circulated_at: Option<DateTime<Utc>>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
}

pub fn minutes_of(conn: &mut PgConnection, meeting: MeetingId) -> QueryResult<Vec<MinutesRow>> {
    minutes_versions::table
        .filter(minutes_versions::meeting_id.eq(meeting))
        .order(minutes_versions::version)
        .select(MinutesRow::as_select())
        .load(conn)
}

/// Saves the minutes as a new version; earlier versions are never changed.
pub fn add_minutes(
    conn: &mut PgConnection,
    meeting: MeetingId,
    version: i32,
    body: &str,
    by: UserId,
) -> QueryResult<MinutesRow> {
    diesel::insert_into(minutes_versions::table)
        .values((
            minutes_versions::meeting_id.eq(meeting),
            minutes_versions::version.eq(version),
            minutes_versions::body.eq(body),
            minutes_versions::created_by.eq(by),
        ))
        .returning(MinutesRow::as_returning())
        .get_result(conn)
}

pub fn circulate_minutes(conn: &mut PgConnection, meeting: MeetingId, version: i32) -> QueryResult<()> {
    diesel::update(
        minutes_versions::table
            .filter(minutes_versions::meeting_id.eq(meeting))
            .filter(minutes_versions::version.eq(version))
            .filter(minutes_versions::circulated_at.is_null()),
    )
    .set(minutes_versions::circulated_at.eq(Utc::now()))
    .execute(conn)
    .map(drop)
}
