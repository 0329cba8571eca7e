//! The Community Trigger (ASB case review, DOMAIN.md §7.7): a victim-initiated review recorded
//! by a JAG panel's staff, with the local timescales of each step and the steps now overdue.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::audit::{self, Audit, Event};
use crate::db::Db;
use crate::domain::{
    AuditAction, AuthUser, CaseId, IsoDate, PanelId, PanelKind, Problems, UserId, add_working_days, double_option,
    optional_text, required_text,
};
use crate::error::{ApiError, Forbidden};
use crate::extract::{IfMatch, Json, Query};
use crate::models::action::london_today;
use crate::models::community_trigger::{self, NewTrigger, TriggerRow};
use crate::models::{case, panel};
use crate::routes::{Items, created, ok_versioned};

/// Working days from receipt by which each step is due (DOMAIN.md §7.7's example timescales).
const ACKNOWLEDGE_WITHIN: u32 = 10;
const THRESHOLD_DECISION_WITHIN: u32 = 15;
const REVIEW_WITHIN: u32 = 20;

#[derive(Deserialize)]
pub struct PanelPath {
    panel_id: Uuid,
}

#[derive(Deserialize)]
pub struct TriggerPath {
    panel_id: Uuid,
    trigger_id: Uuid,
}

#[derive(Serialize)]
pub struct Due {
    acknowledge_by: NaiveDate,
    threshold_decision_by: NaiveDate,
    /// Only when the threshold was met.
    review_by: Option<NaiveDate>,
}

#[derive(Serialize)]
pub struct TriggerResponse {
    id: Uuid,
    panel_id: PanelId,
    case_id: Option<CaseId>,
    received_on: NaiveDate,
    summary: String,
    acknowledged_on: Option<NaiveDate>,
    threshold_met: Option<bool>,
    threshold_decided_on: Option<NaiveDate>,
    review_held_on: Option<NaiveDate>,
    recommendations: Option<String>,
    applicant_informed_on: Option<NaiveDate>,
    due: Due,
    /// Steps not taken by their due date: `acknowledgement`, `threshold_decision`, `review`.
    overdue: Vec<&'static str>,
    version: i32,
    created_by: UserId,
    created_at: DateTime<Utc>,
}

impl TriggerResponse {
    fn render(r: TriggerRow, today: NaiveDate) -> Self {
        let due = Due {
            acknowledge_by: add_working_days(r.received_on, ACKNOWLEDGE_WITHIN),
            threshold_decision_by: add_working_days(r.received_on, THRESHOLD_DECISION_WITHIN),
            review_by: (r.threshold_met == Some(true)).then(|| add_working_days(r.received_on, REVIEW_WITHIN)),
        };
        let late = |done: Option<NaiveDate>, by: Option<NaiveDate>| done.is_none() && by.is_some_and(|by| today > by);
        let overdue = [
            ("acknowledgement", late(r.acknowledged_on, Some(due.acknowledge_by))),
            ("threshold_decision", late(r.threshold_decided_on, Some(due.threshold_decision_by))),
            ("review", late(r.review_held_on, due.review_by)),
        ]
        .into_iter()
        .filter_map(|(step, late)| late.then_some(step))
        .collect();
        Self {
            id: r.id,
            panel_id: r.panel_id,
            case_id: r.case_id,
            received_on: r.received_on,
            summary: r.summary,
            acknowledged_on: r.acknowledged_on,
            threshold_met: r.threshold_met,
            threshold_decided_on: r.threshold_decided_on,
            review_held_on: r.review_held_on,
            recommendations: r.recommendations,
            applicant_informed_on: r.applicant_informed_on,
            due,
            overdue,
            version: r.version,
            created_by: r.created_by,
            created_at: r.created_at,
        }
    }
}

/// Staff of a JAG panel only: 403 for anyone else, 422 `only_for_jag` for another kind of panel.
fn require_jag_staff(conn: &mut diesel::PgConnection, user: &AuthUser, panel: PanelId) -> Result<(), ApiError> {
    if !user.is_staff_on(panel) {
        return Err(ApiError::Forbidden(Forbidden::PanelStaffOnly));
    }
    if panel::get(conn, panel)?.kind != PanelKind::Jag {
        return Err(ApiError::unprocessable("panel_id", "only_for_jag"));
    }
    Ok(())
}

/// A case named by a trigger must be one of the panel's.
fn require_panel_case(conn: &mut diesel::PgConnection, panel: PanelId, case: Option<CaseId>) -> Result<(), ApiError> {
    use diesel::OptionalExtension;
    let Some(case) = case else { return Ok(()) };
    match case::get(conn, case).optional()? {
        Some(row) if row.panel_id == panel => Ok(()),
        _ => Err(ApiError::unprocessable("case_id", "not_a_case_of_the_panel")),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListTriggersQuery {
    #[serde(default)]
    overdue: bool,
}

/// GET /api/v1/panels/{panel_id}/community-triggers: oldest received first; `overdue=true` keeps
/// those with a step past its due date.
pub async fn list_community_triggers(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<PanelPath>,
    query: Query<ListTriggersQuery>,
) -> Result<HttpResponse, ApiError> {
    let panel = PanelId(path.panel_id);
    let only_overdue = query.0.overdue;
    let out = audit::audited(&db, audit, move |conn| {
        require_jag_staff(conn, &user, panel)?;
        let today = london_today(conn)?;
        let items: Vec<TriggerResponse> = community_trigger::of_panel(conn, panel)?
            .into_iter()
            .map(|r| TriggerResponse::render(r, today))
            .filter(|t| !only_overdue || !t.overdue.is_empty())
            .collect();
        let ids = items.iter().map(|t| t.id).collect();
        Ok((Items { items }, Event::ok(AuditAction::Consult, "community_trigger", ids).on_panel(panel)))
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTriggerRequest {
    received_on: IsoDate,
    summary: String,
    case_id: Option<Uuid>,
}

/// POST /api/v1/panels/{panel_id}/community-triggers: a review application as received.
pub async fn create_community_trigger(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<PanelPath>,
    body: Json<CreateTriggerRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let summary = required_text("summary", &b.summary, 5000).map_err(|p| ApiError::BadRequest(vec![p]))?;
    let panel = PanelId(path.panel_id);
    let out = audit::audited(&db, audit, move |conn| {
        require_jag_staff(conn, &user, panel)?;
        let today = london_today(conn)?;
        if b.received_on.get() > today {
            return Err(ApiError::unprocessable("received_on", "in_future"));
        }
        let case_id = b.case_id.map(CaseId);
        require_panel_case(conn, panel, case_id)?;
        let row = community_trigger::insert(
            conn,
            &NewTrigger {
                panel_id: panel,
                case_id,
                received_on: b.received_on.get(),
                summary,
                created_by: user.user_id,
            },
        )?;
        let event = Event::ok(AuditAction::Collect, "community_trigger", vec![row.id]).on_panel(panel);
        Ok((TriggerResponse::render(row, today), event))
    })
    .await?;
    tracing::info!(panel.id = %out.panel_id, "community trigger received");
    Ok(created(format!("/api/v1/panels/{}/community-triggers/{}", out.panel_id, out.id), out.version, &out))
}

/// GET /api/v1/panels/{panel_id}/community-triggers/{trigger_id}
pub async fn get_community_trigger(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<TriggerPath>,
) -> Result<HttpResponse, ApiError> {
    let (panel, id) = (PanelId(path.panel_id), path.trigger_id);
    let out = audit::audited(&db, audit, move |conn| {
        require_jag_staff(conn, &user, panel)?;
        let row = community_trigger::get(conn, id, false)?;
        if row.panel_id != panel {
            return Err(ApiError::NotFound);
        }
        let today = london_today(conn)?;
        Ok((
            TriggerResponse::render(row, today),
            Event::ok(AuditAction::Consult, "community_trigger", vec![id]).on_panel(panel),
        ))
    })
    .await?;
    Ok(ok_versioned(out.version, &out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerChanges {
    summary: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    case_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "double_option")]
    acknowledged_on: Option<Option<IsoDate>>,
    /// With `threshold_decided_on`: both set, or both cleared.
    #[serde(default, deserialize_with = "double_option")]
    threshold_met: Option<Option<bool>>,
    #[serde(default, deserialize_with = "double_option")]
    threshold_decided_on: Option<Option<IsoDate>>,
    #[serde(default, deserialize_with = "double_option")]
    review_held_on: Option<Option<IsoDate>>,
    #[serde(default, deserialize_with = "double_option")]
    recommendations: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    applicant_informed_on: Option<Option<IsoDate>>,
}

/// PATCH /api/v1/panels/{panel_id}/community-triggers/{trigger_id} (If-Match): each step as it is
/// taken. Dates fall between receipt and today; a review needs the threshold met.
pub async fn update_community_trigger(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<TriggerPath>,
    if_match: IfMatch,
    body: Json<TriggerChanges>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let mut p = Problems::default();
    let summary = match &b.summary {
        Some(s) => p.check(required_text("summary", s, 5000)).map(Some),
        None => Some(None),
    };
    let recommendations = match &b.recommendations {
        Some(r) => p.check(optional_text("recommendations", r.as_deref(), 10_000)).map(Some),
        None => Some(None),
    };
    if b.threshold_met.is_some() != b.threshold_decided_on.is_some()
        || b.threshold_met.is_some_and(|m| m.is_some() != b.threshold_decided_on.is_some_and(|d| d.is_some()))
    {
        p.push("threshold_met", "with_threshold_decided_on");
    }
    let (summary, recommendations) = p.finish(|| Some((summary?, recommendations?)))?;
    let (panel, id) = (PanelId(path.panel_id), path.trigger_id);
    let out = audit::audited(&db, audit, move |conn| {
        require_jag_staff(conn, &user, panel)?;
        let mut row = community_trigger::get(conn, id, true)?;
        if row.panel_id != panel {
            return Err(ApiError::NotFound);
        }
        if_match.require(row.version)?;
        let today = london_today(conn)?;
        let received = row.received_on;
        let dated = |field: &'static str, change: Option<Option<IsoDate>>, slot: &mut Option<NaiveDate>| {
            let Some(change) = change else { return Ok(()) };
            let date = change.map(IsoDate::get);
            match date {
                Some(d) if d > today => Err(ApiError::unprocessable(field, "in_future")),
                Some(d) if d < received => Err(ApiError::unprocessable(field, "before_received_on")),
                _ => {
                    *slot = date;
                    Ok(())
                }
            }
        };
        dated("acknowledged_on", b.acknowledged_on, &mut row.acknowledged_on)?;
        dated("threshold_decided_on", b.threshold_decided_on, &mut row.threshold_decided_on)?;
        dated("review_held_on", b.review_held_on, &mut row.review_held_on)?;
        dated("applicant_informed_on", b.applicant_informed_on, &mut row.applicant_informed_on)?;
        if let Some(met) = b.threshold_met {
            row.threshold_met = met;
        }
        if row.review_held_on.is_some() && row.threshold_met != Some(true) {
            return Err(ApiError::unprocessable("review_held_on", "threshold_not_met"));
        }
        if let Some(summary) = summary {
            row.summary = summary;
        }
        if let Some(recommendations) = recommendations {
            row.recommendations = recommendations;
        }
        if let Some(case_id) = b.case_id {
            let case_id = case_id.map(CaseId);
            require_panel_case(conn, panel, case_id)?;
            row.case_id = case_id;
        }
        let saved = community_trigger::save(conn, &row)?;
        let event = Event::ok(AuditAction::Alter, "community_trigger", vec![id]).on_panel(panel);
        Ok((TriggerResponse::render(saved, today), event))
    })
    .await?;
    Ok(ok_versioned(out.version, &out))
}
