//! Agency research notes (SECURITY.md §2.4, tag `research_notes`): each organisation records its
//! pre-meeting research on a case it can see, from the research list on. Its own organisation
//! and the panel's staff read it (as the field policy says); to anyone else a note does not exist.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::audit::{self, Audit, Event};
use crate::db::Db;
use crate::disclosure::{self, Redactor, Subject};
use crate::domain::{AgencyId, AuditAction, AuthUser, CaseId, MeetingId, Tag, UserId, required_text};
use crate::error::ApiError;
use crate::extract::Json;
use crate::models::access;
use crate::models::meeting;
use crate::models::research_note::{self, ResearchNoteRow};
use crate::routes::cases::CasePath;

const MAX_BODY_CHARS: usize = 10_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateResearchNoteRequest {
    body: String,
    meeting_id: Option<Uuid>,
}

#[derive(Serialize)]
pub struct ResearchNoteResponse {
    id: Uuid,
    case_id: CaseId,
    agency_id: AgencyId,
    meeting_id: Option<MeetingId>,
    body: String,
    created_by: UserId,
    created_at: DateTime<Utc>,
}

impl From<ResearchNoteRow> for ResearchNoteResponse {
    fn from(r: ResearchNoteRow) -> Self {
        Self {
            id: r.id,
            case_id: r.case_id,
            agency_id: r.agency_id,
            meeting_id: r.meeting_id,
            body: r.body,
            created_by: r.created_by,
            created_at: r.created_at,
        }
    }
}

#[derive(Serialize)]
pub struct ResearchNoteList {
    items: Vec<ResearchNoteResponse>,
}

/// The notes among `rows` the redactor lets its caller read; the others are left out whole.
pub fn readable(rows: Vec<ResearchNoteRow>, r: &mut Redactor) -> Vec<ResearchNoteResponse> {
    let mut withheld = Vec::new();
    rows.into_iter()
        .filter(|n| disclosure::shown(Subject::ResearchNote, "body", Some(n.agency_id), r, &mut withheld))
        .map(Into::into)
        .collect()
}

/// GET /api/v1/cases/{case_id}/research-notes
pub async fn list_research_notes(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<CasePath>,
) -> Result<HttpResponse, ApiError> {
    let id = CaseId(path.case_id);
    let out = audit::audited(&db, audit, move |conn| {
        let access = access::case_sight(conn, &user, id)?;
        let mut r = Redactor::new(user.field_access(access.panel_id), false);
        let items = readable(research_note::of_case(conn, id)?, &mut r);
        let event = Event::ok(AuditAction::Consult, "research_note", vec![id.0])
            .on_panel(access.panel_id)
            .disclosing(if items.is_empty() { Vec::new() } else { r.disclosed() });
        Ok((ResearchNoteList { items }, event))
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// POST /api/v1/cases/{case_id}/research-notes: the caller's organisation records its research.
pub async fn create_research_note(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<CasePath>,
    body: Json<CreateResearchNoteRequest>,
) -> Result<HttpResponse, ApiError> {
    let CreateResearchNoteRequest { body, meeting_id } = body.into_inner();
    let body = required_text("body", &body, MAX_BODY_CHARS).map_err(|p| ApiError::BadRequest(vec![p]))?;
    let id = CaseId(path.case_id);
    let meeting_id = meeting_id.map(MeetingId);
    let out = audit::audited(&db, audit, move |conn| {
        let access = access::case_sight(conn, &user, id)?;
        access.require_unrestricted()?;
        let fields = user.field_access(access.panel_id);
        disclosure::require_writable(&fields, [(Tag::ResearchNotes, "body")])?;
        // `own` and `write` both come through an organisation; a caller without one writes none.
        let agency = fields.agency.ok_or(ApiError::FieldsNotWritable(vec![crate::error::FieldProblem::new(
            "body",
            format!("not_writable:{}", Tag::ResearchNotes.as_str()),
        )]))?;
        if let Some(m) = meeting_id
            && !meeting::lists_case(conn, m, id)?
        {
            return Err(ApiError::unprocessable("meeting_id", "case_not_on_agenda"));
        }
        let row = research_note::insert(conn, id, agency, meeting_id, &body, user.user_id)?;
        let event = Event::ok(AuditAction::Alter, "research_note", vec![id.0, row.id])
            .on_panel(access.panel_id)
            .disclosing([Tag::ResearchNotes]);
        Ok((ResearchNoteResponse::from(row), event))
    })
    .await?;
    tracing::info!(case.id = %out.case_id, "research note recorded");
    Ok(crate::routes::created_at(format!("/api/v1/cases/{}/research-notes", out.case_id), &out))
}
