//! GET/POST /api/v1/cases/{case_id}/share-decisions (issue 15, DP-1): a decision to share a case
//! without the subject's consent, recorded as its own record for panel staff and the
//! information-governance role.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::audit::{self, Audit, Event};
use crate::db::Db;
use crate::domain::{
    AgencyId, AuditAction, AuthUser, CaseId, ConsentStatus, IsoDate, LawfulBasis, Problems, UserId, required_text,
};
use crate::error::ApiError;
use crate::extract::Json;
use crate::models::access;
use crate::models::action::london_today;
use crate::models::share_decision::{self, NewShareDecision, ShareDecisionRow};
use crate::models::{agency, case};
use crate::routes::cases::CasePath;
use crate::routes::created_at;

const MAX_ORGANISATIONS: usize = 30;

#[derive(Serialize)]
pub struct ShareDecisionResponse {
    id: Uuid,
    case_id: CaseId,
    decided_by: String,
    decided_on: NaiveDate,
    reason: String,
    lawful_basis: LawfulBasis,
    organisation_ids: Vec<AgencyId>,
    recorded_by: UserId,
    recorded_at: DateTime<Utc>,
}

impl From<ShareDecisionRow> for ShareDecisionResponse {
    fn from(r: ShareDecisionRow) -> Self {
        Self {
            id: r.id,
            case_id: r.case_id,
            decided_by: r.decided_by,
            decided_on: r.decided_on,
            reason: r.reason,
            lawful_basis: r.lawful_basis,
            organisation_ids: r.organisation_ids,
            recorded_by: r.recorded_by,
            recorded_at: r.recorded_at,
        }
    }
}

/// GET /api/v1/cases/{case_id}/share-decisions
pub async fn list_share_decisions(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<CasePath>,
) -> Result<HttpResponse, ApiError> {
    crate::routes::governed_case_records::<ShareDecisionRow, ShareDecisionResponse>(
        db,
        user,
        audit,
        CaseId(path.case_id),
        "share_decision",
        share_decision::of_case,
    )
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShareDecisionInput {
    /// The person who decided, as they sign it (name and role).
    decided_by: String,
    decided_on: IsoDate,
    reason: String,
    lawful_basis: LawfulBasis,
    organisation_ids: Vec<Uuid>,
}

/// POST /api/v1/cases/{case_id}/share-decisions: only for a case shared without consent (422
/// consent_given otherwise).
pub async fn create_share_decision(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<CasePath>,
    body: Json<ShareDecisionInput>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let mut p = Problems::default();
    let decided_by = p.check(required_text("decided_by", &b.decided_by, 200));
    let reason = p.check(required_text("reason", &b.reason, 5000));
    let mut organisations: Vec<AgencyId> = Vec::new();
    for o in b.organisation_ids.iter().map(|o| AgencyId(*o)) {
        if !organisations.contains(&o) {
            organisations.push(o);
        }
    }
    if organisations.is_empty() {
        p.push("organisation_ids", "required");
    } else if organisations.len() > MAX_ORGANISATIONS {
        p.push("organisation_ids", "too_many_items");
    }
    let (decided_by, reason) = p.finish(|| Some((decided_by?, reason?)))?;
    let id = CaseId(path.case_id);
    let out = audit::audited(&db, audit, move |conn| {
        let panel = access::governed_case(conn, &user, id)?;
        if case::get(conn, id)?.consent_status == ConsentStatus::Given {
            return Err(ApiError::unprocessable("case_id", "consent_given"));
        }
        if b.decided_on.get() > london_today(conn)? {
            return Err(ApiError::unprocessable("decided_on", "in_future"));
        }
        let known = agency::known_among(conn, &organisations)?;
        if let Some(i) = organisations.iter().position(|o| !known.contains(o)) {
            return Err(ApiError::unprocessable(format!("organisation_ids[{i}]"), "unknown_agency"));
        }
        let row = share_decision::insert(
            conn,
            &NewShareDecision {
                case_id: id,
                decided_by,
                decided_on: b.decided_on.get(),
                reason,
                lawful_basis: b.lawful_basis,
                organisation_ids: organisations,
                recorded_by: user.user_id,
            },
        )?;
        let event = Event::ok(AuditAction::Collect, "share_decision", vec![id.0, row.id]).on_panel(panel);
        Ok((ShareDecisionResponse::from(row), event))
    })
    .await?;
    tracing::info!(case.id = %out.case_id, "share decision recorded");
    Ok(created_at(format!("/api/v1/cases/{}/share-decisions", out.case_id), &out))
}
