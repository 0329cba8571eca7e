//! Actions agencies agree on cases, their partner updates, and an agency's own to-do list.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::audit::{self, Audit, Event};
use crate::db::Db;
use crate::domain::{
    ActionId, ActionStatus, ActionUpdateId, AgencyId, AuditAction, AuthUser, CaseId, IsoDate, MeetingId, Problems,
    UserId, optional_text, required_text,
};
use crate::error::{ApiError, FieldProblem, Forbidden};
use crate::extract::{IdempotencyKey, IfMatch, Json, Query};
use crate::idempotency;
use crate::models::access;
use crate::models::action::{self, ActionChanges, ActionFilter, ActionRow, NewAction};
use crate::models::{case, meeting, panel};
use crate::pagination::{Cursor, Page, PageRequest};
use crate::routes::{created, ok_versioned};

/// The event of a request about one action: the action and its case.
fn action_event(action: AuditAction, a: &ActionResponse) -> Event {
    Event::ok(action, "action", vec![a.id.0, a.case_id.0])
}

/// The event of a request about one partner update: the update and its action.
fn update_event(action: AuditAction, u: &crate::models::action::UpdateRow) -> Event {
    Event::ok(action, "action_update", vec![u.id.0, u.action_id.0])
}

#[derive(Serialize)]
pub struct ActionResponse {
    id: ActionId,
    case_id: CaseId,
    /// The case's reference, as people know it.
    case_reference: String,
    meeting_id: Option<MeetingId>,
    description: String,
    owner_agency_id: AgencyId,
    owner_user_id: Option<UserId>,
    due_date: NaiveDate,
    status: ActionStatus,
    /// Open or in progress and due before today (Europe/London).
    overdue: bool,
    outcome_note: Option<String>,
    completed_on: Option<NaiveDate>,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl ActionResponse {
    pub fn render(a: ActionRow, today: NaiveDate) -> Self {
        Self {
            overdue: a.overdue(today),
            id: a.id,
            case_id: a.case_id,
            case_reference: a.case_reference,
            meeting_id: a.meeting_id,
            description: a.description,
            owner_agency_id: a.owner_agency_id,
            owner_user_id: a.owner_user_id,
            due_date: a.due_date,
            status: a.status,
            outcome_note: a.outcome_note,
            completed_on: a.completed_on,
            version: a.version,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

#[derive(Serialize)]
pub struct ActionList {
    items: Vec<ActionResponse>,
}

#[derive(Deserialize)]
pub struct CasePath {
    case_id: Uuid,
}

#[derive(Deserialize)]
pub struct ActionPath {
    action_id: Uuid,
}

#[derive(Deserialize)]
pub struct AgencyPath {
    agency_id: Uuid,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateActionRequest {
    description: String,
    owner_agency_id: Option<Uuid>,
    owner_user_id: Option<Uuid>,
    due_date: crate::domain::IsoDate,
    meeting_id: Option<Uuid>,
}

/// The owner must be an active member of the panel, and a named owner one of its staff.
fn check_owner(
    conn: &mut diesel::PgConnection,
    panel_id: crate::domain::PanelId,
    agency: AgencyId,
    owner_user: Option<UserId>,
    problems: &mut Vec<FieldProblem>,
) -> Result<(), ApiError> {
    let members = panel::members(conn, panel_id)?;
    if !members.iter().any(|m| m.agency_id == agency && m.active) {
        problems.push(FieldProblem::new("owner_agency_id", "not_a_member_of_the_panel"));
    }
    if let Some(u) = owner_user {
        match crate::models::user::get(conn, u) {
            Ok(row) if row.agency_id == Some(agency) => {}
            Ok(_) => problems.push(FieldProblem::new("owner_user_id", "not_of_the_owner_agency")),
            Err(diesel::result::Error::NotFound) => problems.push(FieldProblem::new("owner_user_id", "unknown_user")),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// POST /api/v1/cases/{case_id}/actions: an agency volunteers an action (for itself), or the
/// panel's staff record one for any member agency.
pub async fn create_action(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<CasePath>,
    key: IdempotencyKey,
    body: Json<CreateActionRequest>,
) -> Result<HttpResponse, ApiError> {
    let fingerprint = body.fingerprint().to_vec();
    let req = body.into_inner();
    let description =
        required_text("description", &req.description, 2000).map_err(|p| ApiError::BadRequest(vec![p]))?;
    let case_id = CaseId(path.case_id);
    let out = audit::audited(&db, audit, move |conn| {
        let access = access::case_access_for_update(conn, &user, case_id)?;
        let route = format!("POST /api/v1/cases/{case_id}/actions");
        if let idempotency::Outcome::Replay(id) = idempotency::begin(conn, user.user_id, &route, key.0, &fingerprint)? {
            let row = action::get_visible(conn, &user, ActionId(id))?;
            let out = ActionResponse::render(row, action::london_today(conn)?);
            let event = action_event(AuditAction::Consult, &out);
            return Ok((out, event));
        }
        let current = case::get(conn, case_id)?;
        if matches!(
            current.status,
            crate::domain::CaseStatus::Closed
                | crate::domain::CaseStatus::Rejected
                | crate::domain::CaseStatus::Withdrawn
        ) {
            return Err(ApiError::InvalidTransition {
                resource: "case",
                current: current.status.as_str(),
                requested: "actioned",
            });
        }
        let mut problems = Vec::new();
        let owner = user.acting_for(req.owner_agency_id.map(AgencyId), access.is_staff).unwrap_or_else(|_| {
            problems.push(FieldProblem::new("owner_agency_id", "must_be_your_agency"));
            None
        });
        match owner {
            Some(a) => check_owner(conn, access.panel_id, a, req.owner_user_id.map(UserId), &mut problems)?,
            None if problems.is_empty() => problems.push(FieldProblem::new("owner_agency_id", "required")),
            None => {}
        }
        if let Some(m) = req.meeting_id.map(MeetingId) {
            match meeting::get(conn, m) {
                Ok(row) if row.panel_id == access.panel_id => {
                    if req.due_date.get() < row.meeting_date {
                        problems.push(FieldProblem::new("due_date", "before_the_meeting"));
                    }
                }
                Ok(_) | Err(diesel::result::Error::NotFound) => {
                    problems.push(FieldProblem::new("meeting_id", "unknown_meeting"))
                }
                Err(e) => return Err(e.into()),
            }
        }
        if req.due_date.get() < current.referral_date {
            problems.push(FieldProblem::new("due_date", "before_referral_date"));
        }
        if !problems.is_empty() {
            return Err(ApiError::Unprocessable(problems));
        }
        let row = action::insert(
            conn,
            &NewAction {
                case_id,
                case_reference: current.reference.clone(),
                panel_id: access.panel_id,
                meeting_id: req.meeting_id.map(MeetingId),
                description,
                owner_agency_id: owner.expect("checked above"),
                owner_user_id: req.owner_user_id.map(UserId),
                due_date: req.due_date.get(),
                created_by: user.user_id,
            },
        )?;
        idempotency::remember(conn, user.user_id, &route, key.0, &fingerprint, row.id.0)?;
        let out = ActionResponse::render(row, action::london_today(conn)?);
        let event = action_event(AuditAction::Collect, &out).on_panel(access.panel_id);
        Ok((out, event))
    })
    .await?;
    tracing::info!(action.id = %out.id, case.id = %out.case_id, "action agreed");
    Ok(created(format!("/api/v1/actions/{}", out.id), out.version, &out))
}

/// GET /api/v1/cases/{case_id}/actions
pub async fn list_case_actions(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<CasePath>,
) -> Result<HttpResponse, ApiError> {
    let case_id = CaseId(path.case_id);
    let items = audit::audited(&db, audit, move |conn| {
        let access = access::case_access(conn, &user, case_id)?;
        let today = action::london_today(conn)?;
        let items: Vec<ActionResponse> =
            action::of_case(conn, case_id)?.into_iter().map(|a| ActionResponse::render(a, today)).collect();
        let mut ids = vec![case_id.0];
        ids.extend(items.iter().map(|a| a.id.0));
        Ok((items, Event::ok(AuditAction::Consult, "action", ids).on_panel(access.panel_id)))
    })
    .await?;
    Ok(HttpResponse::Ok().json(ActionList { items }))
}

/// GET /api/v1/actions/{action_id}
pub async fn get_action(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<ActionPath>,
) -> Result<HttpResponse, ApiError> {
    let id = ActionId(path.action_id);
    let out = audit::audited(&db, audit, move |conn| {
        let row = action::get_visible(conn, &user, id)?;
        let out = ActionResponse::render(row, action::london_today(conn)?);
        let event = action_event(AuditAction::Consult, &out);
        Ok((out, event))
    })
    .await?;
    Ok(ok_versioned(out.version, &out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateActionRequest {
    description: Option<String>,
    owner_agency_id: Option<Uuid>,
    #[serde(default, deserialize_with = "crate::domain::double_option")]
    owner_user_id: Option<Option<Uuid>>,
    due_date: Option<crate::domain::IsoDate>,
    status: Option<ActionStatus>,
    outcome_note: Option<String>,
}

/// DOMAIN.md §6.4.
fn action_step_allowed(from: ActionStatus, to: ActionStatus) -> bool {
    use ActionStatus::*;
    from == to
        || matches!(
            (from, to),
            (Open | CarriedForward, InProgress)
                | (
                    Open | InProgress | CarriedForward,
                    Completed
                        | NotCompletedChangeOfCircumstance
                        | NotCompletedAgencyNotActioned
                        | Cancelled
                        | CarriedForward
                )
                | (CarriedForward, Open)
        )
}

/// PATCH /api/v1/actions/{action_id}: only the owner agency, or the panel's coordinators and
/// chairs, may change an action; only staff may reassign it.
pub async fn update_action(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<ActionPath>,
    if_match: IfMatch,
    body: Json<UpdateActionRequest>,
) -> Result<HttpResponse, ApiError> {
    let req = body.into_inner();
    let mut p = Problems::default();
    let description = req.description.as_deref().map(|d| p.check(required_text("description", d, 2000)));
    let note = p.check(optional_text("outcome_note", req.outcome_note.as_deref(), 2000));
    let (description, note) = p.finish(|| Some((description.map(|d| d.unwrap_or_default()), note?)))?;
    let id = ActionId(path.action_id);
    let out = audit::audited(&db, audit, move |conn| {
        let current = action::get_visible_for_update(conn, &user, id)?;
        let access = access::case_access(conn, &user, current.case_id)?;
        access.require_unrestricted()?;
        let is_owner = user.agency_id == Some(current.owner_agency_id);
        if !access.is_staff && !is_owner {
            return Err(ApiError::Forbidden(Forbidden::NotActionOwner));
        }
        if_match.require(current.version)?;
        let reassigning = req.owner_agency_id.is_some_and(|a| AgencyId(a) != current.owner_agency_id)
            || req.owner_user_id.is_some_and(|u| u.map(UserId) != current.owner_user_id);
        if reassigning && !access.is_staff {
            return Err(ApiError::Forbidden(Forbidden::PanelStaffOnly));
        }
        let status = req.status.unwrap_or(current.status);
        if !action_step_allowed(current.status, status) {
            return Err(ApiError::InvalidTransition {
                resource: "action",
                current: current.status.as_str(),
                requested: status.as_str(),
            });
        }
        let mut problems = Vec::new();
        let outcome_note = note.or(current.outcome_note.clone().filter(|_| status == current.status));
        if status != current.status && status.needs_note() && outcome_note.is_none() {
            problems.push(FieldProblem::new("outcome_note", "required_for_this_status"));
        }
        let due_date = req.due_date.map_or(current.due_date, IsoDate::get);
        if status == ActionStatus::CarriedForward
            && current.status != ActionStatus::CarriedForward
            && due_date <= current.due_date
        {
            problems.push(FieldProblem::new("due_date", "carry_forward_needs_a_later_date"));
        }
        let owner_agency = req.owner_agency_id.map_or(current.owner_agency_id, AgencyId);
        let owner_user = req.owner_user_id.map_or(current.owner_user_id, |u| u.map(UserId));
        if reassigning {
            check_owner(conn, access.panel_id, owner_agency, owner_user, &mut problems)?;
        }
        if !problems.is_empty() {
            return Err(ApiError::Unprocessable(problems));
        }
        let today = action::london_today(conn)?;
        let changes = ActionChanges {
            description: description.unwrap_or(current.description.clone()),
            owner_agency_id: owner_agency,
            owner_user_id: owner_user,
            due_date,
            status,
            outcome_note,
            completed_on: if status == ActionStatus::Completed { current.completed_on.or(Some(today)) } else { None },
        };
        let row = action::update(conn, id, &changes)?;
        let out = ActionResponse::render(row, today);
        let event = action_event(AuditAction::Alter, &out).on_panel(access.panel_id);
        Ok((out, event))
    })
    .await?;
    tracing::info!(action.id = %out.id, "action updated");
    Ok(ok_versioned(out.version, &out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateRequest {
    note: String,
}

#[derive(Serialize)]
pub struct UpdateResponse {
    id: ActionUpdateId,
    action_id: ActionId,
    agency_id: Option<AgencyId>,
    note: String,
    created_by: UserId,
    created_at: DateTime<Utc>,
}

impl From<action::UpdateRow> for UpdateResponse {
    fn from(u: action::UpdateRow) -> Self {
        Self {
            id: u.id,
            action_id: u.action_id,
            agency_id: u.agency_id,
            note: u.note,
            created_by: u.created_by,
            created_at: u.created_at,
        }
    }
}

#[derive(Serialize)]
pub struct UpdateList {
    items: Vec<UpdateResponse>,
}

/// POST /api/v1/actions/{action_id}/updates: a progress note by the owner agency (or panel
/// staff); never edited afterwards.
pub async fn add_action_update(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<ActionPath>,
    key: IdempotencyKey,
    body: Json<UpdateRequest>,
) -> Result<HttpResponse, ApiError> {
    let fingerprint = body.fingerprint().to_vec();
    let note = required_text("note", &body.into_inner().note, 5000).map_err(|p| ApiError::BadRequest(vec![p]))?;
    let id = ActionId(path.action_id);
    let row = audit::audited(&db, audit, move |conn| {
        let current = action::get_visible(conn, &user, id)?;
        let access = access::case_access(conn, &user, current.case_id)?;
        access.require_unrestricted()?;
        if !access.is_staff && user.agency_id != Some(current.owner_agency_id) {
            return Err(ApiError::Forbidden(Forbidden::NotActionOwner));
        }
        let route = format!("POST /api/v1/actions/{id}/updates");
        if let idempotency::Outcome::Replay(update) =
            idempotency::begin(conn, user.user_id, &route, key.0, &fingerprint)?
        {
            let row = action::update_row(conn, ActionUpdateId(update))?;
            let event = update_event(AuditAction::Consult, &row);
            return Ok((row, event));
        }
        let row = action::add_update(conn, id, user.agency_id, &note, user.user_id)?;
        idempotency::remember(conn, user.user_id, &route, key.0, &fingerprint, row.id.0)?;
        let event = update_event(AuditAction::Collect, &row);
        Ok((row, event))
    })
    .await?;
    Ok(HttpResponse::Created().json(UpdateResponse::from(row)))
}

/// GET /api/v1/actions/{action_id}/updates, in the order written.
pub async fn list_action_updates(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<ActionPath>,
) -> Result<HttpResponse, ApiError> {
    let id = ActionId(path.action_id);
    let items = audit::audited(&db, audit, move |conn| {
        let action = action::get_visible(conn, &user, id)?;
        let rows = action::updates_of(conn, id)?;
        let mut ids = vec![id.0, action.case_id.0];
        ids.extend(rows.iter().map(|u| u.id.0));
        let event = Event::ok(AuditAction::Consult, "action_update", ids);
        Ok((rows.into_iter().map(UpdateResponse::from).collect(), event))
    })
    .await?;
    Ok(HttpResponse::Ok().json(UpdateList { items }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgencyActionsQuery {
    status: Option<ActionStatus>,
    overdue: Option<bool>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// GET /api/v1/agencies/{agency_id}/actions: an organisation's to-do list across panels. Agency
/// staff see their own organisation's; panel coordinators and chairs any organisation's on their
/// panels' cases.
pub async fn agency_actions(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<AgencyPath>,
    query: Query<AgencyActionsQuery>,
) -> Result<HttpResponse, ApiError> {
    let agency = AgencyId(path.agency_id);
    if user.agency_id != Some(agency) && access::staff_panels(&user).is_empty() {
        return Err(ApiError::Forbidden(Forbidden::NotActionOwner));
    }
    let q = query.0;
    let page = PageRequest::from_query(q.limit, q.cursor.as_deref())?;
    let filter = ActionFilter { status: q.status, overdue: q.overdue };
    let page = audit::audited(&db, audit, move |conn| {
        let today = action::london_today(conn)?;
        let rows = action::of_agency(conn, &user, agency, &filter, today, &page)?;
        let page = Page::from_rows(
            rows,
            &page,
            |a| Cursor { created_at: a.created_at, id: a.id.0 },
            |a| ActionResponse::render(a, today),
        );
        let mut ids = vec![agency.0];
        ids.extend(page.items.iter().flat_map(|a| [a.id.0, a.case_id.0]));
        Ok((page, Event::ok(AuditAction::Consult, "action", ids)))
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}
