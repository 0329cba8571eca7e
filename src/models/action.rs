//! Actions agencies agree on cases, and their partner updates.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::Date;

use crate::domain::{ActionId, ActionStatus, ActionUpdateId, AgencyId, AuthUser, CaseId, MeetingId, PanelId, UserId};
use crate::models::access::fully_visible_case_ids;
use crate::models::after_cursor;
use crate::pagination::PageRequest;
use crate::schema::{action_updates, actions};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = actions)]
pub struct ActionRow {
    pub id: ActionId,
    pub case_id: CaseId,
    pub case_reference: String,
    pub meeting_id: Option<MeetingId>,
    pub description: String,
    pub owner_agency_id: AgencyId,
    pub owner_user_id: Option<UserId>,
    pub due_date: NaiveDate,
    pub status: ActionStatus,
    pub outcome_note: Option<String>,
    pub completed_on: Option<NaiveDate>,
    pub created_by: UserId,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ActionRow {
    /// DOMAIN.md §6.4: open or in progress, and due before `today`.
    pub fn overdue(&self, today: NaiveDate) -> bool {
        matches!(self.status, ActionStatus::Open | ActionStatus::InProgress) && self.due_date < today
    }
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = actions)]
pub struct NewAction {
    pub case_id: CaseId,
    pub case_reference: String,
    /// The case's panel (metrics count a panel's actions by it).
    pub panel_id: PanelId,
    pub meeting_id: Option<MeetingId>,
    pub description: String,
    pub owner_agency_id: AgencyId,
    pub owner_user_id: Option<UserId>,
    pub due_date: NaiveDate,
    pub created_by: UserId,
}

/// The fields a PATCH may change, already merged with the stored row.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = actions, treat_none_as_null = true)]
pub struct ActionChanges {
    pub description: String,
    pub owner_agency_id: AgencyId,
    pub owner_user_id: Option<UserId>,
    pub due_date: NaiveDate,
    pub status: ActionStatus,
    pub outcome_note: Option<String>,
    pub completed_on: Option<NaiveDate>,
}

/// Today's date in England and Wales, which is what "due" means to the people using this.
pub fn london_today(conn: &mut PgConnection) -> QueryResult<NaiveDate> {
    diesel::select(super::fragment::<Date>("(now() AT TIME ZONE 'Europe/London')::date")).get_result(conn)
}

pub fn insert(conn: &mut PgConnection, new: &NewAction) -> QueryResult<ActionRow> {
    diesel::insert_into(actions::table).values(new).returning(ActionRow::as_returning()).get_result(conn)
}

/// An action whose case the user can see; `NotFound` otherwise.
pub fn get_visible(conn: &mut PgConnection, user: &AuthUser, id: ActionId) -> QueryResult<ActionRow> {
    actions::table
        .filter(actions::id.eq(id))
        .filter(actions::case_id.eq_any(fully_visible_case_ids(user)))
        .select(ActionRow::as_select())
        .first(conn)
}

pub fn get_visible_for_update(conn: &mut PgConnection, user: &AuthUser, id: ActionId) -> QueryResult<ActionRow> {
    actions::table
        .filter(actions::id.eq(id))
        .filter(actions::case_id.eq_any(fully_visible_case_ids(user)))
        .select(ActionRow::as_select())
        .for_update()
        .first(conn)
}

pub fn of_case(conn: &mut PgConnection, case: CaseId) -> QueryResult<Vec<ActionRow>> {
    actions::table
        .filter(actions::case_id.eq(case))
        .order((actions::created_at, actions::id))
        .select(ActionRow::as_select())
        .load(conn)
}

pub fn of_cases(conn: &mut PgConnection, cases: &[CaseId]) -> QueryResult<Vec<ActionRow>> {
    actions::table
        .filter(actions::case_id.eq_any(cases))
        .order((actions::case_id, actions::created_at, actions::id))
        .select(ActionRow::as_select())
        .load(conn)
}

#[derive(Debug, Default)]
pub struct ActionFilter {
    pub status: Option<ActionStatus>,
    pub overdue: Option<bool>,
}

/// An organisation's actions on cases the user can see, across panels.
pub fn of_agency(
    conn: &mut PgConnection,
    user: &AuthUser,
    agency: AgencyId,
    filter: &ActionFilter,
    today: NaiveDate,
    page: &PageRequest,
) -> QueryResult<Vec<ActionRow>> {
    let mut query = actions::table
        .filter(actions::owner_agency_id.eq(agency))
        .filter(actions::case_id.eq_any(fully_visible_case_ids(user)))
        .select(ActionRow::as_select())
        .into_boxed();
    if let Some(status) = filter.status {
        query = query.filter(actions::status.eq(status));
    }
    let overdue_statuses = vec![ActionStatus::Open, ActionStatus::InProgress];
    match filter.overdue {
        Some(true) => {
            query = query.filter(actions::status.eq_any(overdue_statuses)).filter(actions::due_date.lt(today));
        }
        Some(false) => {
            query = query.filter(actions::status.ne_all(overdue_statuses).or(actions::due_date.ge(today)));
        }
        None => {}
    }
    after_cursor!(query, actions, page.after)
        .order((actions::created_at, actions::id))
        .limit(page.fetch_limit())
        .load(conn)
}

pub fn update(conn: &mut PgConnection, id: ActionId, changes: &ActionChanges) -> QueryResult<ActionRow> {
    diesel::update(actions::table.find(id))
        .set((changes, actions::version.eq(actions::version + 1), actions::updated_at.eq(Utc::now())))
        .returning(ActionRow::as_returning())
        .get_result(conn)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = action_updates)]
pub struct UpdateRow {
    pub id: ActionUpdateId,
    pub action_id: ActionId,
    pub agency_id: Option<AgencyId>,
    pub note: String,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
}

pub fn add_update(
    conn: &mut PgConnection,
    action: ActionId,
    agency: Option<AgencyId>,
    note: &str,
    by: UserId,
) -> QueryResult<UpdateRow> {
    diesel::insert_into(action_updates::table)
        .values((
            action_updates::action_id.eq(action),
            action_updates::agency_id.eq(agency),
            action_updates::note.eq(note),
            action_updates::created_by.eq(by),
        ))
        .returning(UpdateRow::as_returning())
        .get_result(conn)
}

pub fn update_row(conn: &mut PgConnection, id: ActionUpdateId) -> QueryResult<UpdateRow> {
    action_updates::table.find(id).select(UpdateRow::as_select()).first(conn)
}

/// Partner updates in the order they were written.
pub fn updates_of(conn: &mut PgConnection, action: ActionId) -> QueryResult<Vec<UpdateRow>> {
    action_updates::table
        .filter(action_updates::action_id.eq(action))
        .order(action_updates::seq)
        .select(UpdateRow::as_select())
        .load(conn)
}
