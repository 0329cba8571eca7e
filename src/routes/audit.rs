//! GET /api/v1/audit: the audit trail for auditors. Events carry ids and tags, never values.

use actix_web::{HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db;
use crate::domain::AuthUser;
use crate::domain::{IsoTimestamp, PanelId, Problems, Role};
use crate::error::ApiError;
use crate::extract::Query;
use crate::pagination::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::schema::audit_events;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    case_id: Option<Uuid>,
    user_id: Option<Uuid>,
    agency_id: Option<Uuid>,
    request_id: Option<String>,
    from: Option<IsoTimestamp>,
    to: Option<IsoTimestamp>,
    limit: Option<i64>,
    cursor: Option<String>,
}

#[derive(Serialize, Queryable)]
pub struct AuditEventResponse {
    id: i64,
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

#[derive(Serialize)]
pub struct AuditPage {
    items: Vec<AuditEventResponse>,
    next_cursor: Option<String>,
}

fn decode_cursor(raw: &str) -> Option<i64> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
    std::str::from_utf8(&bytes).ok()?.strip_prefix("audit:")?.parse().ok()
}

/// GET /api/v1/audit: auditors with a global role see every event; per-panel auditors the
/// events of their panels.
pub async fn list_audit_events(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.0;
    let mut p = Problems::default();
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        p.push("limit", "out_of_range_1_100");
    }
    let after = match q.cursor.as_deref() {
        None => None,
        Some(raw) => {
            let decoded = decode_cursor(raw);
            if decoded.is_none() {
                p.push("cursor", "invalid_cursor");
            }
            decoded
        }
    };
    if q.request_id.as_ref().is_some_and(|r| r.len() > 64) {
        p.push("request_id", "too_long");
    }
    p.finish(|| Some(()))?;
    let global = user.roles.iter().any(|r| r.role == Role::Auditor && r.panel_id.is_none());
    let panels: Vec<PanelId> =
        user.roles.iter().filter(|r| r.role == Role::Auditor).filter_map(|r| r.panel_id).collect();
    let page = db::run(&state.pool, move |conn| {
        let mut query = audit_events::table.into_boxed();
        if !global {
            query = query.filter(audit_events::panel_id.eq_any(panels.iter().map(|p| p.0).collect::<Vec<_>>()));
        }
        if let Some(case) = q.case_id {
            query = query.filter(audit_events::object_ids.contains(vec![case]));
        }
        if let Some(u) = q.user_id {
            query = query.filter(audit_events::user_id.eq(u));
        }
        if let Some(a) = q.agency_id {
            query = query.filter(audit_events::org_id.eq(a));
        }
        if let Some(r) = q.request_id {
            query = query.filter(audit_events::request_id.eq(r));
        }
        if let Some(from) = q.from {
            query = query.filter(audit_events::occurred_at.ge(from.get()));
        }
        if let Some(to) = q.to {
            query = query.filter(audit_events::occurred_at.le(to.get()));
        }
        if let Some(after) = after {
            query = query.filter(audit_events::id.gt(after));
        }
        let mut rows: Vec<AuditEventResponse> = query
            .order(audit_events::id)
            .limit(limit + 1)
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
            .load(conn)?;
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next_cursor =
            if more { rows.last().map(|r| URL_SAFE_NO_PAD.encode(format!("audit:{}", r.id))) } else { None };
        Ok(AuditPage { items: rows, next_cursor })
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}
