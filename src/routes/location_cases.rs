//! Location cases in full (JAG, DOMAIN.md §6.3, §7.7): the problem-solving record (nomination,
//! adoption, SARA plan), interventions one by one, and escalation links to person cases.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::audit::{self, Audit, Event};
use crate::db::Db;
use crate::domain::{
    AgencyId, AuditAction, AuthUser, CaseId, CaseStatus, InterventionTool, IsoDate, NominationSource, PanelKind,
    Problems, UserId, double_option, optional_text, required_text,
};
use crate::error::ApiError;
use crate::extract::{IfMatch, Json};
use crate::models::access::{self, CaseAccess};
use crate::models::action::london_today;
use crate::models::location_case::{self, InterventionRow, LinkRow, NewIntervention, ProblemSolvingRow};
use crate::models::{agency, case, panel};
use crate::routes::cases::CasePath;
use crate::routes::{Items, ok_versioned};

const MAX_PLAN_CHARS: usize = 10_000;

/// The panel kind of the case the caller reached; 422 `only_for_jag` unless it is a location case.
fn require_jag(conn: &mut diesel::PgConnection, access: &CaseAccess, field: &str) -> Result<(), ApiError> {
    if panel::get(conn, access.panel_id)?.kind == PanelKind::Jag {
        Ok(())
    } else {
        Err(ApiError::unprocessable(field, "only_for_jag"))
    }
}

#[derive(Serialize)]
pub struct ProblemSolvingResponse {
    case_id: CaseId,
    nomination_source: Option<NominationSource>,
    adopted_on: Option<NaiveDate>,
    locality_group: Option<String>,
    lead_agency_id: Option<AgencyId>,
    plan: SaraPlan,
    version: i32,
    updated_by: Option<UserId>,
    updated_at: DateTime<Utc>,
}

/// The problem-solving plan: scan, analysis, response, assessment.
#[derive(Serialize)]
pub struct SaraPlan {
    scan: Option<String>,
    analysis: Option<String>,
    response: Option<String>,
    assessment: Option<String>,
}

impl From<ProblemSolvingRow> for ProblemSolvingResponse {
    fn from(r: ProblemSolvingRow) -> Self {
        Self {
            case_id: r.case_id,
            nomination_source: r.nomination_source,
            adopted_on: r.adopted_on,
            locality_group: r.locality_group,
            lead_agency_id: r.lead_agency_id,
            plan: SaraPlan { scan: r.scan, analysis: r.analysis, response: r.response, assessment: r.assessment },
            version: r.version,
            updated_by: r.updated_by,
            updated_at: r.updated_at,
        }
    }
}

/// GET /api/v1/cases/{case_id}/problem-solving: a location case's nomination, adoption and plan.
pub async fn get_problem_solving(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<CasePath>,
) -> Result<HttpResponse, ApiError> {
    let id = CaseId(path.case_id);
    let out = audit::audited(&db, audit, move |conn| {
        let access = access::case_access(conn, &user, id)?;
        let row = location_case::problem_solving(conn, id, false)?;
        let event = Event::ok(AuditAction::Consult, "location_case", vec![id.0]).on_panel(access.panel_id);
        Ok((ProblemSolvingResponse::from(row), event))
    })
    .await?;
    Ok(ok_versioned(out.version, &out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProblemSolvingChanges {
    #[serde(default, deserialize_with = "double_option")]
    nomination_source: Option<Option<NominationSource>>,
    #[serde(default, deserialize_with = "double_option")]
    adopted_on: Option<Option<IsoDate>>,
    #[serde(default, deserialize_with = "double_option")]
    locality_group: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    lead_agency_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "double_option")]
    scan: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    analysis: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    response: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    assessment: Option<Option<String>>,
}

/// A clearable text field of the body, checked: `Some(new value)` when the body sets or clears it.
fn text_change(p: &mut Problems, field: &str, change: Option<Option<String>>, max: usize) -> Option<Option<String>> {
    match change? {
        None => Some(None),
        Some(v) => p.check(optional_text(field, Some(&v), max)),
    }
}

/// PATCH /api/v1/cases/{case_id}/problem-solving (If-Match): panel staff, or the lead
/// organisation's users, record the adoption and the plan. Adopting a case still at `referred` or
/// `screening` (panel staff) moves it to `accepted`, as the partnership's adoption.
pub async fn update_problem_solving(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<CasePath>,
    if_match: IfMatch,
    body: Json<ProblemSolvingChanges>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let mut p = Problems::default();
    let locality_group = text_change(&mut p, "locality_group", b.locality_group, 200);
    let plan = [
        text_change(&mut p, "scan", b.scan, MAX_PLAN_CHARS),
        text_change(&mut p, "analysis", b.analysis, MAX_PLAN_CHARS),
        text_change(&mut p, "response", b.response, MAX_PLAN_CHARS),
        text_change(&mut p, "assessment", b.assessment, MAX_PLAN_CHARS),
    ];
    p.finish(|| Some(()))?;
    let id = CaseId(path.case_id);
    let out = audit::audited(&db, audit, move |conn| {
        let access = access::case_access_for_update(conn, &user, id)?;
        let mut row = location_case::problem_solving(conn, id, true)?;
        if !access.is_staff && (user.agency_id.is_none() || user.agency_id != row.lead_agency_id) {
            return Err(ApiError::Forbidden(crate::error::Forbidden::PanelStaffOnly));
        }
        if_match.require(row.version)?;
        let case = case::get(conn, id)?;
        let today = london_today(conn)?;
        if let Some(source) = b.nomination_source {
            row.nomination_source = source;
        }
        if let Some(adopted_on) = b.adopted_on {
            let adopted_on = adopted_on.map(IsoDate::get);
            if adopted_on.is_some_and(|d| d > today) {
                return Err(ApiError::unprocessable("adopted_on", "in_future"));
            }
            if adopted_on.is_some_and(|d| d < case.referral_date) {
                return Err(ApiError::unprocessable("adopted_on", "before_referral_date"));
            }
            row.adopted_on = adopted_on;
        }
        if let Some(lead) = b.lead_agency_id {
            let lead = lead.map(AgencyId);
            if let Some(agency) = lead
                && !panel::members(conn, access.panel_id)?.iter().any(|m| m.agency_id == agency && m.active)
            {
                return Err(ApiError::unprocessable("lead_agency_id", "not_a_panel_member"));
            }
            row.lead_agency_id = lead;
        }
        if let Some(group) = locality_group {
            row.locality_group = group;
        }
        let [scan, analysis, response, assessment] = plan;
        for (field, change) in [
            (&mut row.scan, scan),
            (&mut row.analysis, analysis),
            (&mut row.response, response),
            (&mut row.assessment, assessment),
        ] {
            if let Some(value) = change {
                *field = value;
            }
        }
        row.updated_by = Some(user.user_id);
        let saved = location_case::save(conn, &row)?;
        if saved.adopted_on.is_some()
            && access.is_staff
            && matches!(case.status, CaseStatus::Referred | CaseStatus::Screening)
        {
            case::set_status(conn, &case, CaseStatus::Accepted, Some("Adopted by the partnership"), user.user_id)?;
        }
        let event = Event::ok(AuditAction::Alter, "location_case", vec![id.0]).on_panel(access.panel_id);
        Ok((ProblemSolvingResponse::from(saved), event))
    })
    .await?;
    tracing::info!(case.id = %out.case_id, "problem-solving record updated");
    Ok(ok_versioned(out.version, &out))
}

#[derive(Serialize)]
pub struct InterventionResponse {
    id: Uuid,
    case_id: CaseId,
    tool: InterventionTool,
    used_on: NaiveDate,
    agency_id: Option<AgencyId>,
    court_reference: Option<String>,
    expires_on: Option<NaiveDate>,
    breach_of: Option<Uuid>,
    notes: Option<String>,
    created_by: UserId,
    created_at: DateTime<Utc>,
}

impl From<InterventionRow> for InterventionResponse {
    fn from(r: InterventionRow) -> Self {
        Self {
            id: r.id,
            case_id: r.case_id,
            tool: r.tool,
            used_on: r.used_on,
            agency_id: r.agency_id,
            court_reference: r.court_reference,
            expires_on: r.expires_on,
            breach_of: r.breach_of,
            notes: r.notes,
            created_by: r.created_by,
            created_at: r.created_at,
        }
    }
}

/// GET /api/v1/cases/{case_id}/interventions: the escalation ladder, in the order used.
pub async fn list_interventions(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<CasePath>,
) -> Result<HttpResponse, ApiError> {
    let id = CaseId(path.case_id);
    let out = audit::audited(&db, audit, move |conn| {
        let access = access::case_access(conn, &user, id)?;
        let items: Vec<InterventionResponse> =
            location_case::interventions_of(conn, id)?.into_iter().map(Into::into).collect();
        let event = Event::ok(AuditAction::Consult, "intervention", vec![id.0]).on_panel(access.panel_id);
        Ok((Items { items }, event))
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateInterventionRequest {
    tool: InterventionTool,
    used_on: IsoDate,
    agency_id: Option<Uuid>,
    court_reference: Option<String>,
    expires_on: Option<IsoDate>,
    breach_of: Option<Uuid>,
    notes: Option<String>,
}

/// POST /api/v1/cases/{case_id}/interventions: panel staff record any organisation's
/// intervention; a partner records its own organisation's. A breach names the order it breaches.
pub async fn create_intervention(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<CasePath>,
    body: Json<CreateInterventionRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let mut p = Problems::default();
    let court_reference = p.check(optional_text("court_reference", b.court_reference.as_deref(), 100));
    let notes = p.check(optional_text("notes", b.notes.as_deref(), 2000));
    let (used_on, expires_on) = (b.used_on.get(), b.expires_on.map(IsoDate::get));
    if expires_on.is_some_and(|e| e < used_on) {
        p.push("expires_on", "before_used_on");
    }
    if b.tool == InterventionTool::ClosureOrderBreach && b.breach_of.is_none() {
        p.push("breach_of", "required_for_a_breach");
    }
    let (court_reference, notes) = p.finish(|| Some((court_reference?, notes?)))?;
    let id = CaseId(path.case_id);
    let out = audit::audited(&db, audit, move |conn| {
        let access = access::case_access_for_update(conn, &user, id)?;
        require_jag(conn, &access, "case_id")?;
        let agency_id = b.agency_id.map(AgencyId).or(user.agency_id);
        if !access.is_staff && agency_id != user.agency_id {
            return Err(ApiError::unprocessable("agency_id", "not_your_agency"));
        }
        if let Some(agency) = agency_id
            && agency::known_among(conn, &[agency])?.is_empty()
        {
            return Err(ApiError::unprocessable("agency_id", "unknown_agency"));
        }
        let case = case::get(conn, id)?;
        if case.status.has_ended() {
            return Err(ApiError::unprocessable("case_id", "case_ended"));
        }
        let today = london_today(conn)?;
        if used_on > today {
            return Err(ApiError::unprocessable("used_on", "in_future"));
        }
        if let Some(order) = b.breach_of {
            let Some(order) = location_case::intervention_on(conn, id, order)? else {
                return Err(ApiError::unprocessable("breach_of", "unknown_intervention"));
            };
            if !order.tool.can_be_breached() {
                return Err(ApiError::unprocessable("breach_of", "not_breachable"));
            }
            if b.tool == InterventionTool::ClosureOrderBreach && !order.tool.is_closure_order() {
                return Err(ApiError::unprocessable("breach_of", "not_a_closure_order"));
            }
            if used_on < order.used_on {
                return Err(ApiError::unprocessable("used_on", "before_the_order"));
            }
        }
        let row = location_case::record_intervention(
            conn,
            &NewIntervention {
                case_id: id,
                panel_id: access.panel_id,
                tool: b.tool,
                used_on,
                agency_id,
                court_reference,
                expires_on,
                breach_of: b.breach_of,
                notes,
                created_by: user.user_id,
            },
        )?;
        let event = Event::ok(AuditAction::Collect, "intervention", vec![id.0, row.id]).on_panel(access.panel_id);
        Ok((InterventionResponse::from(row), event))
    })
    .await?;
    tracing::info!(case.id = %out.case_id, tool = out.tool.as_str(), "intervention recorded");
    Ok(crate::routes::created_at(format!("/api/v1/cases/{}/interventions", out.case_id), &out))
}

#[derive(Serialize)]
pub struct LinkResponse {
    id: Uuid,
    location_case_id: CaseId,
    person_case_id: CaseId,
    reason: String,
    created_by: UserId,
    created_at: DateTime<Utc>,
    /// The case at the other end of the link.
    linked_case: LinkedCase,
}

#[derive(Serialize)]
pub struct LinkedCase {
    id: CaseId,
    reference: String,
    panel_kind: PanelKind,
    status: CaseStatus,
}

impl From<LinkRow> for LinkResponse {
    fn from(r: LinkRow) -> Self {
        Self {
            id: r.id,
            location_case_id: r.location_case_id,
            person_case_id: r.person_case_id,
            reason: r.reason,
            created_by: r.created_by,
            created_at: r.created_at,
            linked_case: LinkedCase {
                id: r.other_case_id,
                reference: r.other_reference,
                panel_kind: r.other_kind,
                status: r.other_status,
            },
        }
    }
}

/// GET /api/v1/cases/{case_id}/links: the case's escalation links whose other end the caller
/// can see; the rest are left out without a trace.
pub async fn list_links(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<CasePath>,
) -> Result<HttpResponse, ApiError> {
    let id = CaseId(path.case_id);
    let out = audit::audited(&db, audit, move |conn| {
        let access = access::case_sight(conn, &user, id)?;
        let items: Vec<LinkResponse> = location_case::links_of(conn, &user, id)?.into_iter().map(Into::into).collect();
        let mut ids = vec![id.0];
        ids.extend(items.iter().map(|l| l.linked_case.id.0));
        let event = Event::ok(AuditAction::Consult, "case_link", ids).on_panel(access.panel_id);
        Ok((Items { items }, event))
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateLinkRequest {
    person_case_id: Uuid,
    reason: String,
}

/// POST /api/v1/cases/{case_id}/links: the location case's panel staff link it to a person case
/// (MARAC or CMARAC) they can see; one they cannot see answers 404 like one that does not exist.
pub async fn create_link(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<CasePath>,
    body: Json<CreateLinkRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let reason = required_text("reason", &b.reason, 2000).map_err(|p| ApiError::BadRequest(vec![p]))?;
    let (id, person_case) = (CaseId(path.case_id), CaseId(b.person_case_id));
    let out = audit::audited(&db, audit, move |conn| {
        let access = access::case_access(conn, &user, id)?;
        access.require_staff()?;
        access.require_unrestricted()?;
        require_jag(conn, &access, "case_id")?;
        let other = access::case_sight(conn, &user, person_case)?;
        if panel::get(conn, other.panel_id)?.kind == PanelKind::Jag {
            return Err(ApiError::unprocessable("person_case_id", "not_a_person_case"));
        }
        let Some(link) = location_case::link(conn, id, person_case, &reason, user.user_id)? else {
            return Err(ApiError::conflict("person_case_id", "already_linked"));
        };
        let row = location_case::links_of(conn, &user, id)?
            .into_iter()
            .find(|l| l.id == link)
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("link {link} not read back")))?;
        let event =
            Event::ok(AuditAction::Alter, "case_link", vec![id.0, person_case.0, link]).on_panel(access.panel_id);
        Ok((LinkResponse::from(row), event))
    })
    .await?;
    Ok(crate::routes::created_at(format!("/api/v1/cases/{}/links", out.location_case_id), &out))
}
