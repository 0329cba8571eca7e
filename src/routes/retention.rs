//! Retention settings and legal holds (issue 15, DP-2): how long ended cases are kept (per kind
//! of panel, overridable per panel, changed only by system admins and audited), and the holds
//! that keep a case past its retention. The erasure itself is the job in `crate::retention`.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::audit::{self, Audit, Event};
use crate::db::Db;
use crate::domain::{AuditAction, AuthUser, CaseId, PanelId, PanelKind, UserId, double_option, required_text};
use crate::error::ApiError;
use crate::extract::{IfMatch, Json, etag};
use crate::models::access;
use crate::models::retention::{self, HoldRow, PanelRetentionRow, PolicyRow};
use crate::routes::cases::CasePath;
use crate::routes::created_at;

#[derive(Serialize)]
pub struct RetentionResponse {
    /// Years an ended case is kept, per kind of panel.
    kinds: Vec<PolicyRow>,
    /// Panels with a period of their own.
    panels: Vec<PanelRetentionRow>,
}

/// GET /api/v1/retention: system admins and the information-governance role.
pub async fn get_retention(db: Db, _user: AuthUser) -> Result<HttpResponse, ApiError> {
    let out = db
        .run(|conn| {
            Ok(RetentionResponse { kinds: retention::policies(conn)?, panels: retention::panel_periods(conn)? })
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Deserialize)]
pub struct KindPath {
    panel_kind: PanelKind,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeriodInput {
    years_after_end: i32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PanelPeriodInput {
    /// Required; `null` returns the panel to its kind's period.
    #[serde(default, deserialize_with = "double_option")]
    years_after_end: Option<Option<i32>>,
}

fn check_years(years: i32) -> Result<i32, ApiError> {
    if (1..=100).contains(&years) {
        Ok(years)
    } else {
        Err(ApiError::bad_field("years_after_end", "out_of_range_1_100"))
    }
}

/// PUT /api/v1/retention/{panel_kind} (If-Match): a kind's period, by a system admin. Audited.
pub async fn put_retention_policy(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<KindPath>,
    if_match: IfMatch,
    body: Json<PeriodInput>,
) -> Result<HttpResponse, ApiError> {
    let years = check_years(body.into_inner().years_after_end)?;
    let kind = path.panel_kind;
    let row = audit::audited(&db, audit, move |conn| {
        let current = retention::policy(conn, kind)?;
        if_match.require(current.version)?;
        let row = retention::set_policy(conn, kind, years, current.version, user.user_id)?
            .ok_or(ApiError::Stale(Some(current.version)))?;
        Ok((row, Event::ok(AuditAction::PolicyChange, "retention_policy", Vec::new())))
    })
    .await?;
    tracing::info!(panel.kind = kind.as_str(), years, "retention period changed");
    Ok(HttpResponse::Ok().insert_header(etag(row.version)).json(row))
}

#[derive(Deserialize)]
pub struct PanelPath {
    panel_id: Uuid,
}

/// PUT /api/v1/panels/{panel_id}/retention: a panel's own period, or back to its kind's. Audited.
pub async fn put_panel_retention(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<PanelPath>,
    body: Json<PanelPeriodInput>,
) -> Result<HttpResponse, ApiError> {
    let years = body
        .into_inner()
        .years_after_end
        .ok_or_else(|| ApiError::bad_field("years_after_end", "required"))?
        .map(check_years)
        .transpose()?;
    let panel = PanelId(path.panel_id);
    let out = audit::audited(&db, audit, move |conn| {
        crate::models::panel::get(conn, panel)?;
        retention::set_panel_period(conn, panel, years, user.user_id)?;
        let out = RetentionResponse { kinds: retention::policies(conn)?, panels: retention::panel_periods(conn)? };
        Ok((out, Event::ok(AuditAction::PolicyChange, "retention_policy", vec![panel.0]).on_panel(panel)))
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Serialize)]
pub struct HoldResponse {
    id: Uuid,
    case_id: CaseId,
    reason: String,
    placed_by: UserId,
    placed_at: DateTime<Utc>,
    lifted_by: Option<UserId>,
    lifted_at: Option<DateTime<Utc>>,
}

impl From<HoldRow> for HoldResponse {
    fn from(h: HoldRow) -> Self {
        Self {
            id: h.id,
            case_id: h.case_id,
            reason: h.reason,
            placed_by: h.placed_by,
            placed_at: h.placed_at,
            lifted_by: h.lifted_by,
            lifted_at: h.lifted_at,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldInput {
    reason: String,
}

/// GET /api/v1/cases/{case_id}/legal-holds: every hold the case has had.
pub async fn list_legal_holds(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<CasePath>,
) -> Result<HttpResponse, ApiError> {
    crate::routes::governed_case_records::<HoldRow, HoldResponse>(
        db,
        user,
        audit,
        CaseId(path.case_id),
        "legal_hold",
        retention::holds_of,
    )
    .await
}

/// POST /api/v1/cases/{case_id}/legal-hold: the case is kept past its retention until the hold is
/// lifted (409 when it is held already).
pub async fn place_legal_hold(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<CasePath>,
    body: Json<HoldInput>,
) -> Result<HttpResponse, ApiError> {
    let reason = required_text("reason", &body.into_inner().reason, 2000).map_err(|p| ApiError::BadRequest(vec![p]))?;
    let id = CaseId(path.case_id);
    let out = audit::audited(&db, audit, move |conn| {
        let panel = access::governed_case(conn, &user, id)?;
        let hold = retention::place_hold(conn, id, &reason, user.user_id)?
            .ok_or_else(|| ApiError::conflict("case_id", "already_held"))?;
        let event = Event::ok(AuditAction::Alter, "legal_hold", vec![id.0, hold.id]).on_panel(panel);
        Ok((HoldResponse::from(hold), event))
    })
    .await?;
    tracing::info!(case.id = %out.case_id, "legal hold placed");
    Ok(created_at(format!("/api/v1/cases/{}/legal-holds", out.case_id), &out))
}

/// DELETE /api/v1/cases/{case_id}/legal-hold: lifts the case's hold (404 when it has none).
pub async fn lift_legal_hold(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<CasePath>,
) -> Result<HttpResponse, ApiError> {
    let id = CaseId(path.case_id);
    let out = audit::audited(&db, audit, move |conn| {
        let panel = access::governed_case(conn, &user, id)?;
        let hold = retention::lift_hold(conn, id, user.user_id)?;
        let event = Event::ok(AuditAction::Alter, "legal_hold", vec![id.0, hold.id]).on_panel(panel);
        Ok((HoldResponse::from(hold), event))
    })
    .await?;
    tracing::info!(case.id = %out.case_id, "legal hold lifted");
    Ok(HttpResponse::Ok().json(out))
}
