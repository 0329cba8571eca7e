//! Per-case grants (SECURITY.md §2.4, the `G` cells): panel staff let one member organisation
//! read one tag on one case, with a reason and an expiry date. The grant lapses at its expiry or
//! when the case ends, and may be revoked sooner; every grant and revocation is audited.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::audit::{self, Audit, Event};
use crate::db::Db;
use crate::domain::{AgencyId, AuditAction, AuthUser, CaseId, GrantEndReason, IsoDate, Tag, UserId, required_text};
use crate::error::{ApiError, FieldProblem};
use crate::extract::Json;
use crate::models::grant::{self, GrantRow, NewGrant};
use crate::models::{access, action, case, panel};

/// The longest a grant may run: a year, after which the coordinator decides again.
const MAX_GRANT_DAYS: i64 = 366;

#[derive(Deserialize)]
pub struct CasePath {
    case_id: Uuid,
}

#[derive(Deserialize)]
pub struct GrantPath {
    case_id: Uuid,
    grant_id: Uuid,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateGrantRequest {
    agency_id: Uuid,
    tag: Tag,
    reason: String,
    expires_on: IsoDate,
}

#[derive(Serialize)]
pub struct GrantResponse {
    id: Uuid,
    case_id: CaseId,
    agency_id: AgencyId,
    tag: Tag,
    reason: String,
    expires_on: NaiveDate,
    granted_by: UserId,
    granted_at: DateTime<Utc>,
    ended_at: Option<DateTime<Utc>>,
    ended_by: Option<UserId>,
    end_reason: Option<GrantEndReason>,
}

impl From<GrantRow> for GrantResponse {
    fn from(r: GrantRow) -> Self {
        Self {
            id: r.id,
            case_id: r.case_id,
            agency_id: r.agency_id,
            tag: r.tag,
            reason: r.reason,
            expires_on: r.expires_on,
            granted_by: r.granted_by,
            granted_at: r.granted_at,
            ended_at: r.ended_at,
            ended_by: r.ended_by,
            end_reason: r.end_reason,
        }
    }
}

/// GET /api/v1/cases/{case_id}/grants
pub async fn list_grants(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<CasePath>,
) -> Result<HttpResponse, ApiError> {
    crate::routes::staff_case_records::<_, GrantResponse>(
        db,
        user,
        audit,
        CaseId(path.case_id),
        "case_grant",
        grant::of_case,
    )
    .await
}

/// POST /api/v1/cases/{case_id}/grants
pub async fn create_grant(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<CasePath>,
    body: Json<CreateGrantRequest>,
) -> Result<HttpResponse, ApiError> {
    let CreateGrantRequest { agency_id, tag, reason, expires_on } = body.into_inner();
    let reason = required_text("reason", &reason, 2000).map_err(|p| ApiError::BadRequest(vec![p]))?;
    let (agency, expires_on) = (AgencyId(agency_id), expires_on.get());
    let id = CaseId(path.case_id);
    let out = audit::audited(&db, audit, move |conn| {
        let access = access::case_access_for_update(conn, &user, id)?;
        access.require_staff()?;
        let current = case::get(conn, id)?;
        if current.status.has_ended() {
            return Err(ApiError::conflict("status", format!("not_grantable_when_{}", current.status.as_str())));
        }
        let today = action::london_today(conn)?;
        let mut problems = Vec::new();
        if tag == Tag::ResearchNotes {
            // An organisation's research is its own; staff read it by the policy already.
            problems.push(FieldProblem::new("tag", "not_grantable"));
        }
        if expires_on < today {
            problems.push(FieldProblem::new("expires_on", "in_past"));
        } else if expires_on > today + Duration::days(MAX_GRANT_DAYS) {
            problems.push(FieldProblem::new("expires_on", "more_than_a_year_ahead"));
        }
        let member = panel::members(conn, access.panel_id)?
            .into_iter()
            .any(|m| m.agency_id == agency && m.active && m.isa_signed_on.is_some());
        if !member {
            problems.push(FieldProblem::new("agency_id", "not_a_panel_member"));
        }
        if !problems.is_empty() {
            return Err(ApiError::Unprocessable(problems));
        }
        let new = NewGrant { case: id, agency, tag, reason: &reason, expires_on };
        let row =
            grant::insert(conn, &new, user.user_id)?.ok_or_else(|| ApiError::conflict("tag", "already_granted"))?;
        let event = Event::ok(AuditAction::Alter, "case_grant", vec![id.0, agency.0, row.id]).on_panel(access.panel_id);
        Ok((GrantResponse::from(row), event))
    })
    .await?;
    tracing::info!(case.id = %out.case_id, "per-case grant recorded");
    Ok(crate::routes::created_at(format!("/api/v1/cases/{}/grants/{}", out.case_id, out.id), &out))
}

/// DELETE /api/v1/cases/{case_id}/grants/{grant_id}: revokes a standing grant (its record stays).
pub async fn revoke_grant(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<GrantPath>,
) -> Result<HttpResponse, ApiError> {
    let id = CaseId(path.case_id);
    let grant_id = path.grant_id;
    let out = audit::audited(&db, audit, move |conn| {
        let access = access::case_access_for_update(conn, &user, id)?;
        access.require_staff()?;
        let row = grant::revoke(conn, id, grant_id, user.user_id)?;
        let event =
            Event::ok(AuditAction::Alter, "case_grant", vec![id.0, row.agency_id.0, row.id]).on_panel(access.panel_id);
        Ok((GrantResponse::from(row), event))
    })
    .await?;
    tracing::info!(case.id = %out.case_id, "per-case grant revoked");
    Ok(HttpResponse::Ok().json(out))
}
