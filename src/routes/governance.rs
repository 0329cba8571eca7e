//! Information governance (issue 15): the record of processing (UK GDPR Art. 30) over the panels
//! the information-governance role holds, the restriction of a case (Art. 18), and the log of
//! data-subject rights requests with their deadlines.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::audit::{self, Audit, Event};
use crate::db::Db;
use crate::domain::{
    AuditAction, AuthUser, CaseId, IsoDate, PanelId, PanelKind, PersonId, Problems, RightsDecision, RightsRequestKind,
    Role, UserId, double_option, optional_text, required_text,
};
use crate::error::ApiError;
use crate::extract::{IfMatch, Json, Query};
use crate::metrics::ReportingPeriod;
use crate::models::access;
use crate::models::action::london_today;
use crate::models::governance::{self, BasisCount, MemberAgreement, NewRightsRequest, RightsRequestRow};
use crate::models::panel;
use crate::routes::cases::CasePath;
use crate::routes::{Items, created, ok_versioned};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessingQuery {
    from: IsoDate,
    to: IsoDate,
}

#[derive(Serialize)]
pub struct PanelProcessing {
    panel_id: PanelId,
    name: String,
    kind: PanelKind,
    /// Cases referred in the period by lawful basis and special-category condition.
    lawful_bases: Vec<BasisCount>,
    retention_years_after_end: i32,
    organisations: Vec<MemberAgreement>,
    share_decisions: i64,
    referrals_without_consent: i64,
}

#[derive(Serialize)]
pub struct ProcessingRecord {
    period: ReportingPeriod,
    panels: Vec<PanelProcessing>,
}

pub async fn get_processing_record(
    db: Db,
    user: AuthUser,
    audit: Audit,
    query: Query<ProcessingQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.0;
    let period = ReportingPeriod::between(q.from.get(), q.to.get()).map_err(|p| ApiError::BadRequest(vec![p]))?;
    let panels = user.panels_with(&[Role::InformationGovernance]);
    let out = audit::audited(&db, audit, move |conn| {
        let mut out = Vec::new();
        for id in &panels {
            let p = panel::get(conn, *id)?;
            let sharing = governance::sharing(conn, p.id, period.from, period.to)?;
            out.push(PanelProcessing {
                panel_id: p.id,
                name: p.name,
                kind: p.kind,
                lawful_bases: governance::bases_in_use(conn, p.id, period.from, period.to)?,
                retention_years_after_end: sharing.retention_years_after_end,
                organisations: governance::agreements(conn, p.id)?,
                share_decisions: sharing.share_decisions,
                referrals_without_consent: sharing.referrals_without_consent,
            });
        }
        let ids = panels.iter().map(|p| p.0).collect();
        Ok((ProcessingRecord { period, panels: out }, Event::ok(AuditAction::Consult, "processing_record", ids)))
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestrictionInput {
    reason: String,
}

#[derive(Serialize)]
pub struct RestrictionResponse {
    case_id: CaseId,
    restricted: bool,
}

/// POST /api/v1/cases/{case_id}/restriction: restricts processing of the case (Art. 18): only its
/// panel's staff read it, and nothing on it changes until the restriction is lifted (409 when it
/// is restricted already).
pub async fn restrict_case(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<CasePath>,
    body: Json<RestrictionInput>,
) -> Result<HttpResponse, ApiError> {
    let reason = required_text("reason", &body.into_inner().reason, 2000).map_err(|p| ApiError::BadRequest(vec![p]))?;
    let id = CaseId(path.case_id);
    let out = audit::audited(&db, audit, move |conn| {
        let panel = access::governed_case(conn, &user, id)?;
        if !governance::restrict(conn, id, &reason, user.user_id)? {
            return Err(ApiError::conflict("case_id", "already_restricted"));
        }
        let event = Event::ok(AuditAction::Alter, "case_restriction", vec![id.0]).on_panel(panel);
        Ok((RestrictionResponse { case_id: id, restricted: true }, event))
    })
    .await?;
    tracing::info!(case.id = %out.case_id, "case restricted");
    Ok(HttpResponse::Ok().json(out))
}

/// DELETE /api/v1/cases/{case_id}/restriction: lifts it (404 when the case is not restricted).
pub async fn lift_case_restriction(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<CasePath>,
) -> Result<HttpResponse, ApiError> {
    let id = CaseId(path.case_id);
    let out = audit::audited(&db, audit, move |conn| {
        let panel = access::governed_case(conn, &user, id)?;
        if !governance::lift_restriction(conn, id)? {
            return Err(ApiError::NotFound);
        }
        let event = Event::ok(AuditAction::Alter, "case_restriction", vec![id.0]).on_panel(panel);
        Ok((RestrictionResponse { case_id: id, restricted: false }, event))
    })
    .await?;
    tracing::info!(case.id = %out.case_id, "case restriction lifted");
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Deserialize)]
pub struct PanelPath {
    panel_id: Uuid,
}

#[derive(Deserialize)]
pub struct RequestPath {
    panel_id: Uuid,
    request_id: Uuid,
}

/// The governance role on `panel`, else 403 (the role is per panel).
fn require_governance(user: &AuthUser, panel: PanelId) -> Result<(), ApiError> {
    if user.roles_on(panel).contains(&Role::InformationGovernance) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(crate::error::Forbidden::Function))
    }
}

#[derive(Serialize)]
pub struct RightsRequestResponse {
    id: Uuid,
    panel_id: PanelId,
    kind: RightsRequestKind,
    person_id: Option<PersonId>,
    case_id: Option<CaseId>,
    received_on: NaiveDate,
    identity_check: String,
    summary: String,
    /// One calendar month from receipt, three when extended.
    due_on: NaiveDate,
    extended_reason: Option<String>,
    decision: Option<RightsDecision>,
    decision_reason: Option<String>,
    closed_on: Option<NaiveDate>,
    overdue: bool,
    version: i32,
    created_by: UserId,
    created_at: DateTime<Utc>,
}

impl RightsRequestResponse {
    fn render(r: RightsRequestRow, today: NaiveDate) -> Self {
        let months = if r.extended_reason.is_some() { 3 } else { 1 };
        let due_on = r.received_on.checked_add_months(chrono::Months::new(months)).unwrap_or(r.received_on);
        Self {
            overdue: r.closed_on.is_none() && today > due_on,
            id: r.id,
            panel_id: r.panel_id,
            kind: r.kind,
            person_id: r.person_id,
            case_id: r.case_id,
            received_on: r.received_on,
            identity_check: r.identity_check,
            summary: r.summary,
            due_on,
            extended_reason: r.extended_reason,
            decision: r.decision,
            decision_reason: r.decision_reason,
            closed_on: r.closed_on,
            version: r.version,
            created_by: r.created_by,
            created_at: r.created_at,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListRequestsQuery {
    #[serde(default)]
    overdue: bool,
}

/// GET /api/v1/panels/{panel_id}/rights-requests: the governance role on the panel; oldest
/// received first; `overdue=true` keeps those open past their due date.
pub async fn list_rights_requests(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<PanelPath>,
    query: Query<ListRequestsQuery>,
) -> Result<HttpResponse, ApiError> {
    let panel = PanelId(path.panel_id);
    require_governance(&user, panel)?;
    let only_overdue = query.0.overdue;
    let out = audit::audited(&db, audit, move |conn| {
        let today = london_today(conn)?;
        let items: Vec<RightsRequestResponse> = governance::requests_of(conn, panel)?
            .into_iter()
            .map(|r| RightsRequestResponse::render(r, today))
            .filter(|r| !only_overdue || r.overdue)
            .collect();
        let ids = items.iter().map(|r| r.id).collect();
        Ok((Items { items }, Event::ok(AuditAction::Consult, "rights_request", ids).on_panel(panel)))
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RightsRequestInput {
    kind: RightsRequestKind,
    received_on: IsoDate,
    identity_check: String,
    summary: String,
    person_id: Option<Uuid>,
    case_id: Option<Uuid>,
}

/// POST /api/v1/panels/{panel_id}/rights-requests
pub async fn create_rights_request(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<PanelPath>,
    body: Json<RightsRequestInput>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let mut p = Problems::default();
    let identity_check = p.check(required_text("identity_check", &b.identity_check, 500));
    let summary = p.check(required_text("summary", &b.summary, 5000));
    let (identity_check, summary) = p.finish(|| Some((identity_check?, summary?)))?;
    let panel = PanelId(path.panel_id);
    require_governance(&user, panel)?;
    let out = audit::audited(&db, audit, move |conn| {
        let today = london_today(conn)?;
        if b.received_on.get() > today {
            return Err(ApiError::unprocessable("received_on", "in_future"));
        }
        let person_id = b.person_id.map(PersonId);
        if let Some(person) = person_id
            && !crate::models::person::exists(conn, person)?
        {
            return Err(ApiError::unprocessable("person_id", "unknown_person"));
        }
        let case_id = b.case_id.map(CaseId);
        if let Some(case) = case_id {
            match access::governed_case(conn, &user, case) {
                Ok(of) if of == panel => {}
                _ => return Err(ApiError::unprocessable("case_id", "not_a_case_of_the_panel")),
            }
        }
        let row = governance::record_request(
            conn,
            &NewRightsRequest {
                panel_id: panel,
                kind: b.kind,
                person_id,
                case_id,
                received_on: b.received_on.get(),
                identity_check,
                summary,
                created_by: user.user_id,
            },
        )?;
        let event = Event::ok(AuditAction::Collect, "rights_request", vec![row.id]).on_panel(panel);
        Ok((RightsRequestResponse::render(row, today), event))
    })
    .await?;
    Ok(created(format!("/api/v1/panels/{}/rights-requests", out.panel_id), out.version, &out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RightsRequestChanges {
    #[serde(default, deserialize_with = "double_option")]
    extended_reason: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    decision: Option<Option<RightsDecision>>,
    #[serde(default, deserialize_with = "double_option")]
    decision_reason: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    closed_on: Option<Option<IsoDate>>,
}

/// PATCH /api/v1/panels/{panel_id}/rights-requests/{request_id} (If-Match): an extension (with
/// its reason), the decision and the closure. A request closes only once decided.
pub async fn update_rights_request(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<RequestPath>,
    if_match: IfMatch,
    body: Json<RightsRequestChanges>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let mut p = Problems::default();
    let extended_reason = match &b.extended_reason {
        Some(Some(r)) => p.check(required_text("extended_reason", r, 2000)).map(|r| Some(Some(r))),
        Some(None) => Some(Some(None)),
        None => Some(None),
    };
    let decision_reason = match &b.decision_reason {
        Some(r) => p.check(optional_text("decision_reason", r.as_deref(), 5000)).map(Some),
        None => Some(None),
    };
    let (extended_reason, decision_reason) = p.finish(|| Some((extended_reason?, decision_reason?)))?;
    let (panel, id) = (PanelId(path.panel_id), path.request_id);
    require_governance(&user, panel)?;
    let out = audit::audited(&db, audit, move |conn| {
        let mut row = governance::request_for_update(conn, panel, id)?;
        if_match.require(row.version)?;
        let today = london_today(conn)?;
        if let Some(reason) = extended_reason {
            row.extended_reason = reason;
        }
        if let Some(decision) = b.decision {
            row.decision = decision;
        }
        if let Some(reason) = decision_reason {
            row.decision_reason = reason;
        }
        if let Some(closed) = b.closed_on {
            let closed = closed.map(IsoDate::get);
            if closed.is_some_and(|d| d > today) {
                return Err(ApiError::unprocessable("closed_on", "in_future"));
            }
            if closed.is_some_and(|d| d < row.received_on) {
                return Err(ApiError::unprocessable("closed_on", "before_received_on"));
            }
            row.closed_on = closed;
        }
        if row.closed_on.is_some() && row.decision.is_none() {
            return Err(ApiError::unprocessable("decision", "required_to_close"));
        }
        let saved = governance::save_request(conn, &row)?;
        let event = Event::ok(AuditAction::Alter, "rights_request", vec![id]).on_panel(panel);
        Ok((RightsRequestResponse::render(saved, today), event))
    })
    .await?;
    Ok(ok_versioned(out.version, &out))
}
