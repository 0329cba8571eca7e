//! The Community Trigger (ASB case review, DOMAIN.md §7.7): a victim-initiated review kept as its
//! own record with the dates of each step, so overdue steps can be listed.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::domain::{CaseId, PanelId, UserId};
use crate::schema::community_triggers;

#[derive(Debug, Clone, Queryable, Selectable, AsChangeset)]
#[diesel(table_name = community_triggers, treat_none_as_null = true)]
pub struct TriggerRow {
    #[diesel(skip_update)]
    pub id: Uuid,
    #[diesel(skip_update)]
    pub panel_id: PanelId,
    pub case_id: Option<CaseId>,
    #[diesel(skip_update)]
    pub received_on: NaiveDate,
    pub summary: String,
    pub acknowledged_on: Option<NaiveDate>,
    pub threshold_met: Option<bool>,
    pub threshold_decided_on: Option<NaiveDate>,
    pub review_held_on: Option<NaiveDate>,
    pub recommendations: Option<String>,
    pub applicant_informed_on: Option<NaiveDate>,
    #[diesel(skip_update)]
    pub created_by: UserId,
    #[diesel(skip_update)]
    pub created_at: DateTime<Utc>,
    #[diesel(skip_update)]
    pub version: i32,
    #[diesel(skip_update)]
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = community_triggers)]
pub struct NewTrigger {
    pub panel_id: PanelId,
    pub case_id: Option<CaseId>,
    pub received_on: NaiveDate,
    pub summary: String,
    pub created_by: UserId,
}

pub fn insert(conn: &mut PgConnection, new: &NewTrigger) -> QueryResult<TriggerRow> {
    diesel::insert_into(community_triggers::table).values(new).returning(TriggerRow::as_returning()).get_result(conn)
}

/// The panel's triggers, oldest received first.
pub fn of_panel(conn: &mut PgConnection, panel: PanelId) -> QueryResult<Vec<TriggerRow>> {
    community_triggers::table
        .filter(community_triggers::panel_id.eq(panel))
        .order((community_triggers::received_on, community_triggers::created_at, community_triggers::id))
        .select(TriggerRow::as_select())
        .load(conn)
}

/// One trigger, locked for an edit when `for_update`.
pub fn get(conn: &mut PgConnection, id: Uuid, for_update: bool) -> QueryResult<TriggerRow> {
    let query = community_triggers::table.find(id).select(TriggerRow::as_select());
    if for_update { query.for_update().first(conn) } else { query.first(conn) }
}

/// Saves an edited trigger, moving its version on.
pub fn save(conn: &mut PgConnection, row: &TriggerRow) -> QueryResult<TriggerRow> {
    diesel::update(community_triggers::table.find(row.id))
        .set((row, community_triggers::version.eq(row.version + 1), community_triggers::updated_at.eq(Utc::now())))
        .returning(TriggerRow::as_returning())
        .get_result(conn)
}
