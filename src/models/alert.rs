//! Alerts for the people who must know at once: a break-glass read of protected fields alerts
//! the panel's coordinators and the auditors (SECURITY.md AU-3). Ids and the stated reason only.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::domain::{AgencyId, AuthUser, CaseId, PanelId, Role, UserId};
use crate::models::after_cursor;
use crate::pagination::PageRequest;
use crate::schema::alerts;

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = alerts)]
pub struct AlertRow {
    pub id: uuid::Uuid,
    pub kind: String,
    pub panel_id: PanelId,
    pub case_id: CaseId,
    pub user_id: UserId,
    pub agency_id: Option<AgencyId>,
    pub reason: String,
    pub request_id: String,
    pub created_at: DateTime<Utc>,
}

/// Records a break-glass read, in the transaction of the read itself.
pub fn break_glass(
    conn: &mut PgConnection,
    user: &AuthUser,
    panel: PanelId,
    case: CaseId,
    reason: &str,
    request_id: &str,
) -> QueryResult<()> {
    diesel::insert_into(alerts::table)
        .values((
            alerts::kind.eq("break_glass"),
            alerts::panel_id.eq(panel),
            alerts::case_id.eq(case),
            alerts::user_id.eq(user.user_id),
            alerts::agency_id.eq(user.agency_id),
            alerts::reason.eq(reason),
            alerts::request_id.eq(request_id),
        ))
        .execute(conn)
        .map(drop)
}

/// The alerts the user should see: a global auditor all of them; a coordinator or per-panel
/// auditor those of their panels. Oldest first, keyset paged.
pub fn visible_to(conn: &mut PgConnection, user: &AuthUser, page: &PageRequest) -> QueryResult<Vec<AlertRow>> {
    let global = user.roles.iter().any(|r| r.role == Role::Auditor && r.panel_id.is_none());
    let panels: Vec<PanelId> = user
        .roles
        .iter()
        .filter(|r| matches!(r.role, Role::Auditor | Role::Coordinator))
        .filter_map(|r| r.panel_id)
        .collect();
    let mut query = alerts::table.select(AlertRow::as_select()).into_boxed();
    if !global {
        query = query.filter(alerts::panel_id.eq_any(panels));
    }
    after_cursor!(query, alerts, page.after)
        .order((alerts::created_at, alerts::id))
        .limit(page.fetch_limit())
        .load(conn)
}
