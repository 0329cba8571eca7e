//! MARAC-to-MARAC transfers (DOMAIN.md §6.1). Out: panel staff transfer an active case to a named
//! receiving area, recording the IDVA handover; the case becomes `transferred_out`. When the
//! receiving MARAC is on this system the case arrives there at `screening`, with its origin
//! recorded and a new DASH expected. The transfer pack (minutes extracts, actions and their
//! status, the latest risk assessments) is rendered when asked for, through the reader's field
//! access, as JSON or as a printable HTML page.

use actix_web::{HttpResponse, web};
use chrono::{NaiveDate, Utc};
use diesel::OptionalExtension;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::admission::{self, Admission, Consent, Source};
use crate::audit::{self, Audit, Event};
use crate::db::Db;
use crate::disclosure::Redactor;
use crate::domain::{
    AgencyId, AgendaOutcome, AssessmentStage, AuditAction, AuthUser, CaseId, CaseStatus, IsoDate, PanelId, PanelKind,
    Tag, TransferDirection, UserId, required_text,
};
use crate::error::{ApiError, FieldProblem};
use crate::extract::Json;
use crate::models::access::{self, CaseAccess};
use crate::models::case::{self, CaseRow};
use crate::models::transfer::{self, NewTransfer, TransferRow};
use crate::models::{action, meeting, panel};
use crate::routes::actions::ActionResponse;
use crate::routes::assessments::AssessmentResponse;
use crate::routes::people::ParticipantResponse;

#[derive(Deserialize)]
pub struct CasePath {
    case_id: Uuid,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdvaHandoverInput {
    to: String,
    on: IsoDate,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    receiving_area: String,
    /// The receiving MARAC, when it is on this system: the case arrives there.
    receiving_panel_id: Option<Uuid>,
    reason: String,
    transferred_on: Option<IsoDate>,
    idva_handover: Option<IdvaHandoverInput>,
}

#[derive(Serialize)]
pub struct TransferResponse {
    id: Uuid,
    case_id: CaseId,
    direction: TransferDirection,
    other_area: String,
    other_panel_id: Option<PanelId>,
    other_case_id: Option<CaseId>,
    other_reference: Option<String>,
    transferred_on: NaiveDate,
    reason: String,
    idva_handover_to: Option<String>,
    idva_handover_on: Option<NaiveDate>,
    recorded_by: UserId,
    recorded_at: chrono::DateTime<Utc>,
}

impl From<TransferRow> for TransferResponse {
    fn from(t: TransferRow) -> Self {
        Self {
            id: t.id,
            case_id: t.case_id,
            direction: t.direction,
            other_area: t.other_area,
            other_panel_id: t.other_panel_id,
            other_case_id: t.other_case_id,
            other_reference: t.other_reference,
            transferred_on: t.transferred_on,
            reason: t.reason,
            idva_handover_to: t.idva_handover_to,
            idva_handover_on: t.idva_handover_on,
            recorded_by: t.recorded_by,
            recorded_at: t.recorded_at,
        }
    }
}

/// Area names compare without case or surrounding space.
fn same_area(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// POST /api/v1/cases/{case_id}/transfer
pub async fn transfer_case(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<CasePath>,
    body: Json<TransferRequest>,
) -> Result<HttpResponse, ApiError> {
    let req = body.into_inner();
    let mut p = crate::domain::Problems::default();
    let area = p.check(required_text("receiving_area", &req.receiving_area, 200));
    let reason = p.check(required_text("reason", &req.reason, 2000));
    let handover = req.idva_handover.map(|h| {
        let to = p.check(required_text("idva_handover.to", &h.to, 200));
        (to, h.on.get())
    });
    let (area, reason) = p.finish(|| Some((area?, reason?)))?;
    let handover = match handover {
        Some((Some(to), on)) => Some((to, on)),
        _ => None,
    };
    let id = CaseId(path.case_id);
    let receiving_panel_id = req.receiving_panel_id.map(PanelId);
    let today = Utc::now().date_naive();
    let transferred_on = req.transferred_on.map_or(today, IsoDate::get);
    let out = audit::audited(&db, audit, move |conn| {
        let access = access::case_access_for_update(conn, &user, id)?;
        access.require_staff()?;
        let current = case::get(conn, id)?;
        let origin = panel::get(conn, current.panel_id)?;
        if current.status.has_ended() {
            return Err(ApiError::InvalidTransition {
                resource: "case",
                current: current.status.as_str(),
                requested: CaseStatus::TransferredOut.as_str(),
            });
        }
        let mut problems = Vec::new();
        if origin.kind != PanelKind::Marac {
            problems.push(FieldProblem::new("case", "transfers_are_between_maracs"));
        }
        if same_area(&area, &origin.local_area) {
            problems.push(FieldProblem::new("receiving_area", "is_this_panels_area"));
        }
        if transferred_on > today {
            problems.push(FieldProblem::new("transferred_on", "in_future"));
        } else if transferred_on < current.referral_date {
            problems.push(FieldProblem::new("transferred_on", "before_referral_date"));
        }
        if let Some((_, on)) = &handover
            && (*on > today || *on < current.referral_date)
        {
            problems.push(FieldProblem::new("idva_handover.on", "out_of_range"));
        }
        let receiving = match receiving_panel_id {
            Some(pid) => match panel::get(conn, pid).optional()? {
                Some(r) if r.kind == PanelKind::Marac && r.active && r.id != origin.id => {
                    if !same_area(&r.local_area, &area) {
                        problems.push(FieldProblem::new("receiving_area", "not_the_receiving_panels_area"));
                    }
                    Some(r)
                }
                _ => {
                    problems.push(FieldProblem::new("receiving_panel_id", "not_an_active_marac"));
                    None
                }
            },
            None => None,
        };
        if !problems.is_empty() {
            return Err(ApiError::Unprocessable(problems));
        }
        case::set_status(conn, &current, CaseStatus::TransferredOut, Some(&reason), user.user_id)?;
        let arrived = match &receiving {
            Some(r) => Some(admit_arrival(conn, &current, r, transferred_on, user.user_id)?),
            None => None,
        };
        let (handover_to, handover_on) = handover.map_or((None, None), |(to, on)| (Some(to), Some(on)));
        let out = transfer::insert(
            conn,
            &NewTransfer {
                case_id: id,
                direction: TransferDirection::Out,
                other_area: area.clone(),
                other_panel_id: receiving.as_ref().map(|r| r.id),
                other_case_id: arrived.as_ref().map(|c| c.id),
                other_reference: arrived.as_ref().map(|c| c.reference.clone()),
                transferred_on,
                reason: reason.clone(),
                idva_handover_to: handover_to,
                idva_handover_on: handover_on,
                recorded_by: user.user_id,
            },
        )?;
        if let Some(c) = &arrived {
            transfer::insert(
                conn,
                &NewTransfer {
                    case_id: c.id,
                    direction: TransferDirection::In,
                    other_area: origin.local_area.clone(),
                    other_panel_id: Some(origin.id),
                    other_case_id: Some(id),
                    other_reference: Some(current.reference.clone()),
                    transferred_on,
                    reason: reason.clone(),
                    idva_handover_to: out.idva_handover_to.clone(),
                    idva_handover_on: out.idva_handover_on,
                    recorded_by: user.user_id,
                },
            )?;
        }
        let ids = std::iter::once(id.0).chain(arrived.as_ref().map(|c| c.id.0)).collect();
        let event = Event::ok(AuditAction::Alter, "case_transfer", ids).on_panel(access.panel_id);
        Ok((TransferResponse::from(out), event))
    })
    .await?;
    tracing::info!(case.id = %out.case_id, "case transferred out");
    Ok(crate::routes::created_at(format!("/api/v1/cases/{}/transfer-pack", out.case_id), &out))
}

/// The case as it arrives at the receiving MARAC: the same people (a perpetrator keeps
/// `must_not_receive`), consent and lawful basis, the origin's summary; at `screening`, with no
/// assessment (a new DASH is expected) and no tagged value copied (they travel in the pack).
fn admit_arrival(
    conn: &mut diesel::PgConnection,
    origin: &CaseRow,
    receiving: &crate::models::panel::PanelRow,
    transferred_on: NaiveDate,
    by: UserId,
) -> Result<CaseRow, ApiError> {
    let participants = case::contents_of(conn, origin.id)?
        .participants
        .into_iter()
        .filter(|p| p.ended_at.is_none())
        .map(|p| (p.person.id, p.role))
        .collect();
    let admission = Admission {
        source: Source::TransferIn,
        referral_date: transferred_on,
        referring_agency_id: origin.referring_agency_id,
        co_referring_agency_ids: Vec::new(),
        participants,
        professional_judgement_reason: None,
        escalation_incident_count: None,
        location: None,
        nomination_source: None,
        ward_code: None,
        area_text: None,
        vulnerabilities: origin.vulnerabilities.clone(),
        vulnerability_other_text: origin.vulnerability_other_text.clone(),
        issue_categories: Vec::new(),
        issue_other_text: None,
        children_in_household: origin.children_in_household,
        consent: Consent {
            status: origin.consent_status,
            victim_aware: origin.victim_aware,
            non_consent_reason: origin.non_consent_reason.clone(),
        },
        lawful_basis: origin.lawful_basis,
        special_category_condition: origin.special_category_condition,
        summary: origin.summary.clone(),
        safety_plan: None,
        closure: None,
        assessments: Vec::new(),
        recorded_by: by,
    };
    admission::admit(conn, receiving, admission)
}

// ---------------------------------------------------------------- the pack

#[derive(Serialize)]
pub struct PackCase {
    id: CaseId,
    reference: String,
    area: String,
    referral_date: NaiveDate,
    status: CaseStatus,
    summary: Option<String>,
    children_in_household: Option<i32>,
}

#[derive(Serialize)]
pub struct PackNote {
    agency_id: Option<AgencyId>,
    shared_information: Option<String>,
    risk_summary: Option<String>,
    decisions: Option<String>,
    created_at: chrono::DateTime<Utc>,
}

/// A hearing of the case and what was minuted about it.
#[derive(Serialize)]
pub struct PackHearing {
    meeting_date: NaiveDate,
    outcome: Option<AgendaOutcome>,
    notes: Vec<PackNote>,
}

#[derive(Serialize)]
pub struct TransferPack {
    case: PackCase,
    transfer: TransferResponse,
    participants: Vec<ParticipantResponse>,
    /// The latest assessment of each stage.
    latest_risk_assessments: Vec<AssessmentResponse>,
    actions: Vec<ActionResponse>,
    hearings: Vec<PackHearing>,
}

/// The pack of the transfer the case took part in, and the event of reading it. Panel staff of
/// the case read it: on the case that left, its own; on the case that arrived from a panel on
/// this system, the origin's (the transfer is what gives the receiving panel sight of it).
fn pack_for(
    conn: &mut diesel::PgConnection,
    user: &AuthUser,
    access: &CaseAccess,
) -> Result<(TransferPack, Vec<Tag>), ApiError> {
    // The case that left: this one, or the one this case arrived from on this system.
    let out = match transfer::of_case_in(conn, access.case_id, TransferDirection::Out)? {
        Some(out) => out,
        None => {
            let origin = transfer::of_case_in(conn, access.case_id, TransferDirection::In)?
                .and_then(|arrival| arrival.other_case_id)
                .ok_or(ApiError::NotFound)?;
            transfer::of_case_in(conn, origin, TransferDirection::Out)?.ok_or(ApiError::NotFound)?
        }
    };
    let origin_id = out.case_id;
    let row = case::get(conn, origin_id)?;
    let contents = case::contents_of(conn, origin_id)?;
    // Read through the reader's own panel's field policy: a receiving coordinator reads as one.
    let fields = user.field_access(access.panel_id);
    let mut r = Redactor::new(fields, false);
    let participants = contents.participants.into_iter().map(|p| ParticipantResponse::render(p, &mut r)).collect();
    let mut latest: Vec<crate::models::assessment::AssessmentRow> = Vec::new();
    for a in contents.assessments.into_iter().rev() {
        if !latest.iter().any(|l| l.stage == a.stage) {
            latest.push(a);
        }
    }
    latest.sort_by_key(|a| match a.stage {
        AssessmentStage::Entry => 0,
        AssessmentStage::Review => 1,
        AssessmentStage::Exit => 2,
    });
    let latest_risk_assessments = latest.into_iter().map(|a| AssessmentResponse::render(a, &mut r)).collect();
    let today = action::london_today(conn)?;
    let actions = action::of_case(conn, origin_id)?.into_iter().map(|a| ActionResponse::render(a, today)).collect();
    let hearings_rows = meeting::hearings_of(conn, origin_id)?;
    let item_ids: Vec<_> = hearings_rows.iter().map(|(i, _)| i.id).collect();
    let notes = meeting::notes_of(conn, &item_ids)?;
    let hearings = hearings_rows
        .into_iter()
        .map(|(item, meeting_date)| PackHearing {
            meeting_date,
            outcome: item.outcome,
            notes: notes
                .iter()
                .filter(|n| n.agenda_item_id == item.id)
                .map(|n| PackNote {
                    agency_id: n.agency_id,
                    shared_information: n.shared_information.clone(),
                    risk_summary: n.risk_summary.clone(),
                    decisions: n.decisions.clone(),
                    created_at: n.created_at,
                })
                .collect(),
        })
        .collect();
    let origin_panel = panel::get(conn, row.panel_id)?;
    let pack = TransferPack {
        case: PackCase {
            id: row.id,
            reference: row.reference,
            area: origin_panel.local_area,
            referral_date: row.referral_date,
            status: row.status,
            summary: row.summary,
            children_in_household: row.children_in_household,
        },
        transfer: out.into(),
        participants,
        latest_risk_assessments,
        actions,
        hearings,
    };
    Ok((pack, r.disclosed()))
}

/// GET /api/v1/cases/{case_id}/transfer-pack
pub async fn get_transfer_pack(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<CasePath>,
) -> Result<HttpResponse, ApiError> {
    let pack = read_pack(db, user, audit, CaseId(path.case_id)).await?;
    Ok(HttpResponse::Ok().json(pack))
}

/// GET /api/v1/cases/{case_id}/transfer-pack.html: the same pack as a page to print.
pub async fn get_transfer_pack_html(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<CasePath>,
) -> Result<HttpResponse, ApiError> {
    let pack = read_pack(db, user, audit, CaseId(path.case_id)).await?;
    let value = serde_json::to_value(&pack).map_err(|e| ApiError::Internal(e.into()))?;
    let title = format!("Transfer pack: {}", escape(&pack.case.reference));
    let body = format!(
        "<!DOCTYPE html>\n<html lang=\"en-GB\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>body{{font-family:Arial,sans-serif;margin:2em}}dt{{font-weight:bold}}dd{{margin:0 0 .5em 1.5em}}\
         @media print{{body{{margin:0}}}}</style></head><body><h1>{title}</h1>\
         <p>OFFICIAL-SENSITIVE. Shared for the receiving MARAC only; do not forward.</p>{}</body></html>\n",
        html_of(&value, 2)
    );
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(body))
}

async fn read_pack(db: Db, user: AuthUser, audit: Audit, id: CaseId) -> Result<TransferPack, ApiError> {
    audit::audited(&db, audit, move |conn| {
        let access = access::case_access(conn, &user, id)?;
        access.require_staff()?;
        let (pack, disclosed) = pack_for(conn, &user, &access)?;
        let event = Event::ok(AuditAction::Consult, "transfer_pack", vec![id.0, pack.case.id.0])
            .on_panel(access.panel_id)
            .disclosing(disclosed);
        Ok((pack, event))
    })
    .await
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// A JSON value as nested definition lists and ordered lists, every text escaped.
fn html_of(v: &serde_json::Value, level: usize) -> String {
    use serde_json::Value;
    match v {
        Value::Null => "<em>not recorded</em>".to_owned(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.to_owned(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => escape(s),
        Value::Array(items) if items.is_empty() => "<em>none</em>".to_owned(),
        Value::Array(items) => {
            format!(
                "<ol>{}</ol>",
                items.iter().map(|i| format!("<li>{}</li>", html_of(i, level + 1))).collect::<String>()
            )
        }
        Value::Object(map) => {
            let entries: String = map
                .iter()
                .map(|(k, v)| {
                    let label = escape(&k.replace('_', " "));
                    if level == 2 && (v.is_object() || v.is_array()) {
                        format!("<h{level}>{label}</h{level}>{}", html_of(v, level + 1))
                    } else {
                        format!("<dt>{label}</dt><dd>{}</dd>", html_of(v, level + 1))
                    }
                })
                .collect();
            if level == 2 { entries } else { format!("<dl>{entries}</dl>") }
        }
    }
}
