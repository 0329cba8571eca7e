//! Closing a case (DOMAIN.md §6.1–6.3), directly or, on a panel that requires it, through a
//! closure request a chair approves or declines.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::audit::{self, Audit, Event};
use crate::db::Db;
use crate::domain::{
    AssessmentStage, AuditAction, AuthUser, CaseId, CaseStatus, ClosureCategory, ClosureDecision, IsoDate, PanelKind,
    Problems, Role, UserId, optional_text, required_text,
};
use crate::error::{ApiError, FieldProblem, Forbidden};
use crate::extract::Json;
use crate::models::access::{self, CaseAccess};
use crate::models::case::{self, CaseRow, Closure};
use crate::models::closure::{self, ClosureRequestRow};
use crate::models::panel::PanelRow;
use crate::models::{action, assessment, meeting, panel};
use crate::routes::cases::{CasePath, CaseResponse, altered, dedup};
use crate::routes::ok_versioned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClosureRequest {
    categories: Vec<ClosureCategory>,
    reason: String,
    closed_on: Option<IsoDate>,
}

#[derive(Deserialize)]
pub struct ClosureRequestPath {
    case_id: Uuid,
    request_id: Uuid,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    decision: ClosureDecision,
    reason: Option<String>,
}

#[derive(Serialize)]
pub struct ClosureRequestResponse {
    id: Uuid,
    case_id: CaseId,
    categories: Vec<ClosureCategory>,
    reason: String,
    closed_on: NaiveDate,
    requested_by: UserId,
    requested_at: DateTime<Utc>,
    decision: Option<ClosureDecision>,
    decision_reason: Option<String>,
    decided_by: Option<UserId>,
    decided_at: Option<DateTime<Utc>>,
}

impl From<ClosureRequestRow> for ClosureRequestResponse {
    fn from(r: ClosureRequestRow) -> Self {
        Self {
            id: r.id,
            case_id: r.case_id,
            categories: r.categories,
            reason: r.reason,
            closed_on: r.closed_on,
            requested_by: r.requested_by,
            requested_at: r.requested_at,
            decision: r.decision,
            decision_reason: r.decision_reason,
            decided_by: r.decided_by,
            decided_at: r.decided_at,
        }
    }
}

/// What a closure did: closed the case, or left it waiting for a chair.
enum Closing {
    Closed(Box<CaseResponse>),
    AwaitingApproval(ClosureRequestResponse),
}

/// The rules a closure must meet (DOMAIN.md §6.1–6.2) as of `today`; answers the end of a MARAC
/// case's monitoring window (from its referral, or its last hearing with the `last_meeting`
/// anchor).
fn check_closure(
    conn: &mut PgConnection,
    current: &CaseRow,
    panel: &PanelRow,
    categories: &[ClosureCategory],
    closed_on: NaiveDate,
    today: NaiveDate,
) -> Result<Option<NaiveDate>, ApiError> {
    if !matches!(current.status, CaseStatus::Open | CaseStatus::Monitoring | CaseStatus::Accepted) {
        return Err(ApiError::InvalidTransition {
            resource: "case",
            current: current.status.as_str(),
            requested: CaseStatus::Closed.as_str(),
        });
    }
    let mut problems = Vec::new();
    if closed_on > today {
        problems.push(FieldProblem::new("closed_on", "in_future"));
    }
    if closed_on < current.referral_date {
        problems.push(FieldProblem::new("closed_on", "before_referral_date"));
    }
    // DOMAIN.md §6.2, for every kind of panel: remaining actions are completed, cancelled or
    // handed on first.
    if action::of_case(conn, current.id)?.iter().any(|a| a.status.is_outstanding()) {
        problems.push(FieldProblem::new("actions", "outstanding_actions_remain"));
    }
    let window_end = match panel.kind {
        PanelKind::Marac => {
            let last_heard = meeting::last_heard_on(conn, &[current.id])?.remove(&current.id);
            Some(panel.settings.repeat_window().ends_on(current.referral_date, last_heard))
        }
        PanelKind::Cmarac | PanelKind::Jag => None,
    };
    if panel.kind == PanelKind::Cmarac && !assessment::has_stage(conn, current.id, AssessmentStage::Exit)? {
        problems.push(FieldProblem::new("exit_assessment", "required_before_closure"));
    }
    if categories.contains(&ClosureCategory::TwelveMonthLapse) && window_end.is_some_and(|end| closed_on <= end) {
        problems.push(FieldProblem::new("closed_on", "monitoring_window_not_lapsed"));
    }
    if problems.is_empty() { Ok(window_end) } else { Err(ApiError::Unprocessable(problems)) }
}

/// Is the caller a chair of the case's panel?
fn is_chair(user: &AuthUser, access: &CaseAccess) -> bool {
    user.roles_on(access.panel_id).contains(&Role::Chair)
}

/// POST /api/v1/cases/{case_id}/closure: closes the case, or, on a panel that requires a chair's
/// approval and for a caller who is not its chair, records the closure as a request (202).
pub async fn close_case(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<CasePath>,
    body: Json<ClosureRequest>,
) -> Result<HttpResponse, ApiError> {
    let req = body.into_inner();
    let mut p = Problems::default();
    if req.categories.is_empty() {
        p.push("categories", "at_least_one");
    }
    if req.categories.len() > 5 {
        p.push("categories", "too_many_items");
    }
    let reason = p.check(required_text("reason", &req.reason, 2000));
    let (categories, reason) = p.finish(|| Some((dedup(&req.categories), reason?)))?;
    let today = Utc::now().date_naive();
    let closed_on = req.closed_on.map_or(today, IsoDate::get);
    let id = CaseId(path.case_id);
    let out = audit::audited(&db, audit, move |conn| {
        let access = access::case_access_for_update(conn, &user, id)?;
        access.require_staff()?;
        let current = case::get(conn, id)?;
        let panel = panel::get(conn, current.panel_id)?;
        let window_end = check_closure(conn, &current, &panel, &categories, closed_on, today)?;
        if panel.settings.closure_requires_approval && !is_chair(&user, &access) {
            let row = closure::request(conn, id, &categories, &reason, closed_on, user.user_id)?
                .ok_or_else(|| ApiError::conflict("case", "closure_already_requested"))?;
            let event = Event::ok(AuditAction::Alter, "closure_request", vec![id.0, row.id]).on_panel(access.panel_id);
            return Ok((Closing::AwaitingApproval(row.into()), event));
        }
        let closure =
            Closure { categories: &categories, reason: &reason, closed_on, monitoring_window_ends_on: window_end };
        let row = case::close(conn, &current, &closure, user.user_id)?;
        let (view, event) = altered(conn, row.id, &user)?;
        Ok((Closing::Closed(Box::new(view)), event))
    })
    .await?;
    match out {
        Closing::Closed(view) => {
            tracing::info!(case.id = %view.id, "case closed");
            Ok(ok_versioned(view.version, &view))
        }
        Closing::AwaitingApproval(request) => {
            tracing::info!(case.id = %request.case_id, "case closure awaits approval");
            Ok(HttpResponse::Accepted()
                .insert_header((
                    actix_web::http::header::LOCATION,
                    format!("/api/v1/cases/{}/closure-requests", request.case_id),
                ))
                .json(request))
        }
    }
}

/// GET /api/v1/cases/{case_id}/closure-requests
pub async fn list_closure_requests(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<CasePath>,
) -> Result<HttpResponse, ApiError> {
    crate::routes::staff_case_records::<_, ClosureRequestResponse>(
        db,
        user,
        audit,
        CaseId(path.case_id),
        "closure_request",
        closure::of_case,
    )
    .await
}

/// POST /api/v1/cases/{case_id}/closure-requests/{request_id}/decision: a chair of the panel
/// approves (the case closes as requested, the rules checked again) or declines with a reason.
pub async fn decide_closure_request(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<ClosureRequestPath>,
    body: Json<DecisionRequest>,
) -> Result<HttpResponse, ApiError> {
    let DecisionRequest { decision, reason } = body.into_inner();
    let reason = optional_text("reason", reason.as_deref(), 2000).map_err(|p| ApiError::BadRequest(vec![p]))?;
    if decision == ClosureDecision::Declined && reason.is_none() {
        return Err(ApiError::BadRequest(vec![FieldProblem::new("reason", "required")]));
    }
    let id = CaseId(path.case_id);
    let request_id = path.request_id;
    let today = Utc::now().date_naive();
    let out = audit::audited(&db, audit, move |conn| {
        let access = access::case_access_for_update(conn, &user, id)?;
        access.require_staff()?;
        if !is_chair(&user, &access) {
            return Err(ApiError::Forbidden(Forbidden::ChairOnly));
        }
        let pending = closure::get(conn, id, request_id)?;
        if pending.decision.is_some() {
            return Err(ApiError::conflict("decision", "already_decided"));
        }
        let decided = closure::decide(conn, request_id, decision, reason.as_deref(), user.user_id)?;
        if decision == ClosureDecision::Approved {
            let current = case::get(conn, id)?;
            let panel = panel::get(conn, current.panel_id)?;
            let window_end = check_closure(conn, &current, &panel, &pending.categories, pending.closed_on, today)?;
            let closure = Closure {
                categories: &pending.categories,
                reason: &pending.reason,
                closed_on: pending.closed_on,
                monitoring_window_ends_on: window_end,
            };
            case::close(conn, &current, &closure, user.user_id)?;
        }
        let event = Event::ok(AuditAction::Alter, "closure_request", vec![id.0, decided.id]).on_panel(access.panel_id);
        Ok((ClosureRequestResponse::from(decided), event))
    })
    .await?;
    tracing::info!(case.id = %out.case_id, "closure request decided");
    Ok(HttpResponse::Ok().json(out))
}
