//! Per-case exclusions: panel staff keep a named user out of one case (a worker who knows the
//! victim, a conflict of interest). For that user the case is then a 404 everywhere, lists and
//! counts included, whatever their organisation's rights; lifting it gives sight back.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use diesel::OptionalExtension;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::audit::{self, Audit, Event};
use crate::db::Db;
use crate::domain::{AuditAction, AuthUser, CaseId, UserId, required_text};
use crate::error::ApiError;
use crate::extract::Json;
use crate::models::access;
use crate::models::exclusion::{self, ExclusionRow};
use crate::models::user;

#[derive(Deserialize)]
pub struct CasePath {
    case_id: Uuid,
}

#[derive(Deserialize)]
pub struct ExclusionPath {
    case_id: Uuid,
    exclusion_id: Uuid,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateExclusionRequest {
    user_id: Uuid,
    reason: String,
}

#[derive(Serialize)]
pub struct ExclusionResponse {
    id: Uuid,
    case_id: CaseId,
    user_id: UserId,
    reason: String,
    created_by: UserId,
    created_at: DateTime<Utc>,
    lifted_by: Option<UserId>,
    lifted_at: Option<DateTime<Utc>>,
}

impl From<ExclusionRow> for ExclusionResponse {
    fn from(r: ExclusionRow) -> Self {
        Self {
            id: r.id,
            case_id: r.case_id,
            user_id: r.user_id,
            reason: r.reason,
            created_by: r.created_by,
            created_at: r.created_at,
            lifted_by: r.lifted_by,
            lifted_at: r.lifted_at,
        }
    }
}

/// GET /api/v1/cases/{case_id}/exclusions
pub async fn list_exclusions(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<CasePath>,
) -> Result<HttpResponse, ApiError> {
    crate::routes::staff_case_records::<_, ExclusionResponse>(
        db,
        user,
        audit,
        CaseId(path.case_id),
        "case_exclusion",
        exclusion::of_case,
    )
    .await
}

/// POST /api/v1/cases/{case_id}/exclusions
pub async fn create_exclusion(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<CasePath>,
    body: Json<CreateExclusionRequest>,
) -> Result<HttpResponse, ApiError> {
    let CreateExclusionRequest { user_id, reason } = body.into_inner();
    let reason = required_text("reason", &reason, 2000).map_err(|p| ApiError::BadRequest(vec![p]))?;
    let excluded = UserId(user_id);
    if excluded == user.user_id {
        // Whoever would lift it could not see the case to do so.
        return Err(ApiError::unprocessable("user_id", "cannot_exclude_yourself"));
    }
    let id = CaseId(path.case_id);
    let out = audit::audited(&db, audit, move |conn| {
        let access = access::case_access_for_update(conn, &user, id)?;
        access.require_staff()?;
        if user::get(conn, excluded).optional()?.is_none() {
            return Err(ApiError::unprocessable("user_id", "unknown_user"));
        }
        let row = exclusion::insert(conn, id, excluded, &reason, user.user_id)?
            .ok_or_else(|| ApiError::conflict("user_id", "already_excluded"))?;
        let event =
            Event::ok(AuditAction::Alter, "case_exclusion", vec![id.0, excluded.0, row.id]).on_panel(access.panel_id);
        Ok((ExclusionResponse::from(row), event))
    })
    .await?;
    tracing::info!(case.id = %out.case_id, "user excluded from a case");
    Ok(crate::routes::created_at(format!("/api/v1/cases/{}/exclusions/{}", out.case_id, out.id), &out))
}

/// DELETE /api/v1/cases/{case_id}/exclusions/{exclusion_id}: lifts the exclusion (its record stays).
pub async fn lift_exclusion(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<ExclusionPath>,
) -> Result<HttpResponse, ApiError> {
    let id = CaseId(path.case_id);
    let exclusion_id = path.exclusion_id;
    let out = audit::audited(&db, audit, move |conn| {
        let access = access::case_access_for_update(conn, &user, id)?;
        access.require_staff()?;
        let row = exclusion::lift(conn, id, exclusion_id, user.user_id)?;
        let event = Event::ok(AuditAction::Alter, "case_exclusion", vec![id.0, row.user_id.0, row.id])
            .on_panel(access.panel_id);
        Ok((ExclusionResponse::from(row), event))
    })
    .await?;
    tracing::info!(case.id = %out.case_id, "case exclusion lifted");
    Ok(HttpResponse::Ok().json(out))
}
