//! GET /api/v1/audit: the audit trail for auditors. Events carry ids and tags, never values.

use actix_web::HttpResponse;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::Db;
use crate::domain::{AuthUser, IsoTimestamp, PanelId, Problems, Role};
use crate::error::ApiError;
use crate::extract::Query;
use crate::models::audit_log::{self, AuditEventRow, AuditFilter};
use crate::pagination::{DEFAULT_LIMIT, MAX_LIMIT};

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

#[derive(Serialize)]
pub struct AuditPage {
    items: Vec<AuditEventRow>,
    next_cursor: Option<String>,
}

fn decode_cursor(raw: &str) -> Option<i64> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
    std::str::from_utf8(&bytes).ok()?.strip_prefix("audit:")?.parse().ok()
}

/// GET /api/v1/audit: auditors with a global role see every event; per-panel auditors the
/// events of their panels.
pub async fn list_audit_events(db: Db, user: AuthUser, query: Query<AuditQuery>) -> Result<HttpResponse, ApiError> {
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
    let filter = AuditFilter {
        panels: (!global).then_some(panels),
        case_id: q.case_id,
        user_id: q.user_id,
        agency_id: q.agency_id,
        request_id: q.request_id,
        from: q.from.map(IsoTimestamp::get),
        to: q.to.map(IsoTimestamp::get),
    };
    let page = db
        .run(move |conn| {
            let mut rows = audit_log::page(conn, &filter, after, limit + 1)?;
            let more = rows.len() as i64 > limit;
            rows.truncate(limit as usize);
            let next_cursor =
                if more { rows.last().map(|r| URL_SAFE_NO_PAD.encode(format!("audit:{}", r.id))) } else { None };
            Ok(AuditPage { items: rows, next_cursor })
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}
