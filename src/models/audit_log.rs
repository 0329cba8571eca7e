//! Reading the audit trail (for auditors): events carry ids and tags, never values.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::domain::PanelId;
use crate::schema::audit_events;

#[derive(serde::Serialize, Queryable)]
pub struct AuditEventRow {
    pub id: i64,
    occurred_at: DateTime<Utc>,
    request_id: String,
    user_id: Option<Uuid>,
    agency_id: Option<Uuid>,
    roles: Vec<String>,
    panel_id: Option<Uuid>,
    action: String,
    route: String,
    method: String,
    object_type: String,
    object_ids: Vec<Uuid>,
    tags_disclosed: Vec<String>,
    purpose: Option<String>,
    outcome: String,
}

/// Which events to list: `panels` for a per-panel auditor (`None`: every panel).
pub struct AuditFilter {
    pub panels: Option<Vec<PanelId>>,
    pub case_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub agency_id: Option<Uuid>,
    pub request_id: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Up to `limit` events after id `after`, in id order.
pub fn page(
    conn: &mut PgConnection,
    f: &AuditFilter,
    after: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<AuditEventRow>> {
    let mut query = audit_events::table.into_boxed();
    if let Some(panels) = &f.panels {
        query = query.filter(audit_events::panel_id.eq_any(panels.iter().map(|p| p.0).collect::<Vec<_>>()));
    }
    if let Some(case) = f.case_id {
        query = query.filter(audit_events::object_ids.contains(vec![case]));
    }
    if let Some(u) = f.user_id {
        query = query.filter(audit_events::user_id.eq(u));
    }
    if let Some(a) = f.agency_id {
        query = query.filter(audit_events::org_id.eq(a));
    }
    if let Some(r) = &f.request_id {
        query = query.filter(audit_events::request_id.eq(r.clone()));
    }
    if let Some(from) = f.from {
        query = query.filter(audit_events::occurred_at.ge(from));
    }
    if let Some(to) = f.to {
        query = query.filter(audit_events::occurred_at.le(to));
    }
    if let Some(after) = after {
        query = query.filter(audit_events::id.gt(after));
    }
    query
        .order(audit_events::id)
        .limit(limit)
        .select((
            audit_events::id,
            audit_events::occurred_at,
            audit_events::request_id,
            audit_events::user_id,
            audit_events::org_id,
            audit_events::roles,
            audit_events::panel_id,
            audit_events::action,
            audit_events::route,
            audit_events::method,
            audit_events::object_type,
            audit_events::object_ids,
            audit_events::tags_disclosed,
            audit_events::purpose,
            audit_events::outcome,
        ))
        .load(conn)
}
