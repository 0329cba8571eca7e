//! Panel meetings: scheduling, the agenda (built in SafeLives order), attendance with the
//! confidentiality acknowledgement, discussion notes, minutes, the meeting pack and a calendar.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::audit::{self, Audit, Event};
use crate::db::Db;
use crate::disclosure::Redactor;
use crate::domain::{
    AgencyId, AgendaItemId, AgendaOutcome, AgendaSection, AttendanceId, AttendanceType, AuditAction, AuthUser, CaseId,
    CaseStatus, IsoDate, IsoTimestamp, ListingReason, MeetingId, MeetingKind, MeetingMode, MeetingStatus, NoteId,
    PanelId, PanelKind, Problems, Tag, UserId, optional_text,
};
use crate::error::{ApiError, FieldProblem, Forbidden};
use crate::extract::{IdempotencyKey, IfMatch, Json, Query, etag};
use crate::idempotency;
use crate::models::access::{self, MeetingAccess};
use crate::models::action::{self, ActionRow};
use crate::models::assessment;
use crate::models::case::{self, CaseRow};
use crate::models::meeting::{self, AgendaItemRow, AgendaLine, MeetingFields, MeetingRow, NewNote};
use crate::models::panel::{self, PanelRow};
use crate::models::person;
use crate::models::research_note;
use crate::models::transfer;
use crate::pagination::{Cursor, Page, PageRequest};
use crate::routes::actions::ActionResponse;
use crate::routes::assessments::ScoreSummary;
use crate::routes::people::ResearchParticipant;
use crate::routes::research_notes::ResearchNoteResponse;
use crate::routes::{created, ok_versioned};

const MAX_AGENDA_ITEMS: usize = 200;
/// Minutes must fit the JSON body limit (64 KiB by default).
const MAX_MINUTES_CHARS: usize = 60_000;

// ------------------------------------------------------------------ meetings

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeetingInput {
    kind: Option<MeetingKind>,
    mode: Option<MeetingMode>,
    meeting_date: Option<crate::domain::IsoDate>,
    start_time: Option<NaiveTime>,
    venue: Option<String>,
    virtual_link: Option<String>,
    chair_user_id: Option<Uuid>,
    agenda_cutoff_at: Option<IsoTimestamp>,
}

impl MeetingInput {
    /// Checks the input merged over `base` (a stored meeting, or nothing for a new one).
    fn merge(self, base: Option<&MeetingRow>) -> Result<MeetingFields, ApiError> {
        let mut p = Problems::default();
        let venue = p.check(optional_text("venue", self.venue.as_deref(), 500));
        let link = p.check(optional_text("virtual_link", self.virtual_link.as_deref(), 500));
        let date = self.meeting_date.map(IsoDate::get).or(base.map(|b| b.meeting_date));
        let time = self.start_time.or(base.map(|b| b.start_time));
        if date.is_none() {
            p.push("meeting_date", "required");
        }
        if time.is_none() {
            p.push("start_time", "required");
        }
        p.finish(|| {
            Some(MeetingFields {
                kind: self.kind.or(base.map(|b| b.kind)).unwrap_or(MeetingKind::Regular),
                mode: self.mode.or(base.map(|b| b.mode)).unwrap_or(MeetingMode::Virtual),
                meeting_date: date?,
                start_time: time?,
                venue: venue?.or(base.and_then(|b| b.venue.clone())),
                virtual_link: link?.or(base.and_then(|b| b.virtual_link.clone())),
                chair_user_id: self.chair_user_id.map(UserId).or(base.and_then(|b| b.chair_user_id)),
                agenda_cutoff_at: self
                    .agenda_cutoff_at
                    .map(IsoTimestamp::get)
                    .or(base.and_then(|b| b.agenda_cutoff_at)),
            })
        })
    }
}

/// Domain rules for a meeting: where it happens, who chairs, when the agenda closes.
fn check_meeting(conn: &mut diesel::PgConnection, panel: PanelId, f: &MeetingFields) -> Result<(), ApiError> {
    let mut problems = Vec::new();
    if matches!(f.mode, MeetingMode::InPerson | MeetingMode::Hybrid) && f.venue.is_none() {
        problems.push(FieldProblem::new("venue", "required_for_mode"));
    }
    if matches!(f.mode, MeetingMode::Virtual | MeetingMode::Hybrid) && f.virtual_link.is_none() {
        problems.push(FieldProblem::new("virtual_link", "required_for_mode"));
    }
    if let Some(chair) = f.chair_user_id {
        let roles = crate::models::session::roles_in_force(conn, chair)?;
        if !crate::domain::is_staff_on(&roles, panel) {
            problems.push(FieldProblem::new("chair_user_id", "not_a_chair_of_this_panel"));
        }
    }
    if let Some(cutoff) = f.agenda_cutoff_at
        && cutoff.naive_utc() > f.meeting_date.and_time(f.start_time)
    {
        problems.push(FieldProblem::new("agenda_cutoff_at", "after_meeting_start"));
    }
    if problems.is_empty() { Ok(()) } else { Err(ApiError::Unprocessable(problems)) }
}

#[derive(Serialize)]
pub struct MeetingResponse {
    id: MeetingId,
    panel_id: PanelId,
    kind: MeetingKind,
    mode: MeetingMode,
    meeting_date: NaiveDate,
    start_time: String,
    venue: Option<String>,
    virtual_link: Option<String>,
    chair_user_id: Option<UserId>,
    agenda_cutoff_at: Option<DateTime<Utc>>,
    status: MeetingStatus,
    agenda_version: i32,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<MeetingRow> for MeetingResponse {
    fn from(m: MeetingRow) -> Self {
        Self {
            id: m.id,
            panel_id: m.panel_id,
            kind: m.kind,
            mode: m.mode,
            meeting_date: m.meeting_date,
            start_time: m.start_time.format("%H:%M").to_string(),
            venue: m.venue,
            virtual_link: m.virtual_link,
            chair_user_id: m.chair_user_id,
            agenda_cutoff_at: m.agenda_cutoff_at,
            status: m.status,
            agenda_version: m.agenda_version,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

#[derive(Deserialize)]
pub struct PanelPath {
    panel_id: Uuid,
}

#[derive(Deserialize)]
pub struct MeetingPath {
    meeting_id: Uuid,
}

#[derive(Deserialize)]
pub struct ItemPath {
    meeting_id: Uuid,
    item_id: Uuid,
}

fn require_panel_staff(user: &AuthUser, panel: PanelId) -> Result<(), ApiError> {
    if user.is_staff_on(panel) { Ok(()) } else { Err(ApiError::Forbidden(Forbidden::PanelStaffOnly)) }
}

/// POST /api/v1/panels/{panel_id}/meetings
pub async fn create_meeting(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<PanelPath>,
    key: IdempotencyKey,
    body: Json<MeetingInput>,
) -> Result<HttpResponse, ApiError> {
    let panel_id = PanelId(path.panel_id);
    require_panel_staff(&user, panel_id)?;
    let fingerprint = body.fingerprint().to_vec();
    let fields = body.into_inner().merge(None)?;
    let row = audit::audited(&db, audit, move |conn| {
        panel::get(conn, panel_id)?;
        let route = format!("POST /api/v1/panels/{panel_id}/meetings");
        if let idempotency::Outcome::Replay(original) =
            idempotency::begin(conn, user.user_id, &route, key.0, &fingerprint)?
        {
            let row = meeting::get(conn, MeetingId(original))?;
            let event = meeting_event(AuditAction::Consult, &row);
            return Ok((row, event));
        }
        check_meeting(conn, panel_id, &fields)?;
        let row = meeting::insert(conn, panel_id, &fields, user.user_id)?;
        idempotency::remember(conn, user.user_id, &route, key.0, &fingerprint, row.id.0)?;
        let event = meeting_event(AuditAction::Collect, &row);
        Ok((row, event))
    })
    .await?;
    tracing::info!(meeting.id = %row.id, "meeting scheduled");
    Ok(created(format!("/api/v1/meetings/{}", row.id), row.version, &MeetingResponse::from(row)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    limit: Option<i64>,
    cursor: Option<String>,
}

/// GET /api/v1/panels/{panel_id}/meetings
pub async fn list_meetings(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<PanelPath>,
    query: Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let panel_id = PanelId(path.panel_id);
    if !access::member_panels(&user).contains(&panel_id) {
        return Err(ApiError::Forbidden(Forbidden::NotPanelMember));
    }
    let page = PageRequest::from_query(query.0.limit, query.0.cursor.as_deref())?;
    let rows = audit::audited(&db, audit, move |conn| {
        let rows = meeting::list_for_panel(conn, panel_id, &page)?;
        let ids = rows.iter().take(page.limit as usize).map(|m| m.id.0).collect();
        Ok((rows, Event::ok(AuditAction::Consult, "meeting", ids).on_panel(panel_id)))
    })
    .await?;
    let page = Page::from_rows(rows, &page, |m| Cursor { created_at: m.created_at, id: m.id.0 }, MeetingResponse::from);
    Ok(HttpResponse::Ok().json(page))
}

/// GET /api/v1/meetings/{meeting_id}
pub async fn get_meeting(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<MeetingPath>,
) -> Result<HttpResponse, ApiError> {
    let id = MeetingId(path.meeting_id);
    let m = audit::audited(&db, audit, move |conn| {
        let m = access::meeting_access(conn, &user, id, false)?.meeting;
        let event = meeting_event(AuditAction::Consult, &m);
        Ok((m, event))
    })
    .await?;
    Ok(ok_versioned(m.version, &MeetingResponse::from(m)))
}

/// PATCH /api/v1/meetings/{meeting_id}
pub async fn update_meeting(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<MeetingPath>,
    if_match: IfMatch,
    body: Json<MeetingInput>,
) -> Result<HttpResponse, ApiError> {
    let id = MeetingId(path.meeting_id);
    let input = body.into_inner();
    let row = audit::audited(&db, audit, move |conn| {
        let access = access::meeting_access(conn, &user, id, true)?;
        access.require_staff()?;
        let current = access.meeting;
        if_match.require(current.version)?;
        if !matches!(current.status, MeetingStatus::Scheduled | MeetingStatus::AgendaPublished) {
            return Err(ApiError::InvalidTransition {
                resource: "meeting",
                current: current.status.as_str(),
                requested: "rescheduled",
            });
        }
        let fields = input.merge(Some(&current))?;
        check_meeting(conn, current.panel_id, &fields)?;
        let row = meeting::update(conn, id, &fields)?;
        let event = meeting_event(AuditAction::Alter, &row);
        Ok((row, event))
    })
    .await?;
    Ok(ok_versioned(row.version, &MeetingResponse::from(row)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeetingTransition {
    to: MeetingStatus,
}

/// DOMAIN.md §6.5: a meeting moves forward one step at a time; it can be cancelled until it starts.
fn meeting_step_allowed(from: MeetingStatus, to: MeetingStatus) -> bool {
    use MeetingStatus::*;
    matches!(
        (from, to),
        (Scheduled, AgendaPublished | Cancelled) | (AgendaPublished, InProgress | Cancelled) | (InProgress, Held)
    )
}

/// POST /api/v1/meetings/{meeting_id}/transitions
pub async fn transition_meeting(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<MeetingPath>,
    body: Json<MeetingTransition>,
) -> Result<HttpResponse, ApiError> {
    let id = MeetingId(path.meeting_id);
    let to = body.into_inner().to;
    let row = audit::audited(&db, audit, move |conn| {
        let access = access::meeting_access(conn, &user, id, true)?;
        access.require_staff()?;
        let from = access.meeting.status;
        if !meeting_step_allowed(from, to) {
            return Err(ApiError::InvalidTransition {
                resource: "meeting",
                current: from.as_str(),
                requested: to.as_str(),
            });
        }
        if to == MeetingStatus::Held {
            if access.meeting.meeting_date > crate::models::action::london_today(conn)? {
                return Err(ApiError::unprocessable("meeting_date", "in_future"));
            }
            // Items still listed when the meeting is held were heard unless marked otherwise.
            meeting::mark_listed_items_heard(conn, id)?;
        }
        let row = meeting::set_status(conn, id, to)?;
        let event = meeting_event(AuditAction::Alter, &row);
        Ok((row, event))
    })
    .await?;
    tracing::info!(meeting.id = %row.id, status = %row.status, "meeting status changed");
    Ok(ok_versioned(row.version, &MeetingResponse::from(row)))
}

// ------------------------------------------------------------------ agenda

#[derive(Serialize)]
pub struct CaseSummary {
    id: CaseId,
    reference: String,
    status: CaseStatus,
    referral_date: NaiveDate,
    repeat: bool,
    visible_high_risk: bool,
    children_in_household: Option<i32>,
    summary: Option<String>,
}

impl From<&CaseRow> for CaseSummary {
    fn from(c: &CaseRow) -> Self {
        Self {
            id: c.id,
            reference: c.reference.clone(),
            status: c.status,
            referral_date: c.referral_date,
            repeat: c.is_repeat,
            visible_high_risk: c.visible_high_risk,
            children_in_household: c.children_in_household,
            summary: c.summary.clone(),
        }
    }
}

/// An agenda item's case as the research list shows it (SECURITY.md 2.3), to a caller who sees
/// the case only through this meeting and has not yet acknowledged its confidentiality statement.
#[derive(Serialize)]
pub struct ResearchEntry {
    id: CaseId,
    reference: String,
    participants: Vec<ResearchParticipant>,
}

#[derive(Serialize)]
pub struct AgendaItemResponse {
    id: AgendaItemId,
    /// The item's place among the items this caller can see (hidden items are not counted).
    position: i32,
    section: AgendaSection,
    listing_reason: ListingReason,
    outcome: Option<AgendaOutcome>,
    /// The slot among the items this caller can see, so hidden items leave no gaps.
    starts_at: String,
    ends_at: String,
    /// The case, for callers who see it in full.
    #[serde(skip_serializing_if = "Option::is_none")]
    case: Option<CaseSummary>,
    /// The research list, for callers who do not (yet) see the case in full.
    #[serde(skip_serializing_if = "Option::is_none")]
    research: Option<ResearchEntry>,
    /// The area a case arrived from by transfer (DOMAIN.md §6.1: the item is marked with it).
    transferred_from: Option<String>,
    withheld: Vec<&'static str>,
}

#[derive(Serialize)]
pub struct AgendaResponse {
    meeting_id: MeetingId,
    meeting_status: MeetingStatus,
    agenda_version: i32,
    minutes_per_case: i16,
    /// False until the caller acknowledges the confidentiality statement for this meeting; until
    /// then cases the caller sees only through this meeting show as the research list.
    confidentiality_acknowledged: bool,
    items: Vec<AgendaItemResponse>,
}

/// What a caller may see of an agenda: the items whose cases they can see, numbered and timed
/// among themselves; each case in full when the caller sees it in full (panel staff, the
/// referrer, an action owner, or after acknowledging the confidentiality statement), otherwise
/// as the research list.
struct AgendaView {
    response: AgendaResponse,
    /// The cases shown in full.
    cases: Vec<CaseRow>,
    /// Every case shown, in full or as the research list, and the tags the research list showed.
    shown: Vec<CaseId>,
    disclosed: Vec<crate::domain::Tag>,
}

impl AgendaView {
    /// The audit event of an answer carrying this view: the meeting and every case it shows.
    fn event(&self, action: AuditAction, m: &MeetingRow) -> Event {
        let mut ids = vec![m.id.0];
        ids.extend(self.shown.iter().map(|c| c.0));
        Event::ok(action, "agenda", ids).on_panel(m.panel_id).disclosing(self.disclosed.clone())
    }
}

fn agenda_view(
    conn: &mut diesel::PgConnection,
    user: &AuthUser,
    access: &MeetingAccess,
) -> Result<AgendaView, ApiError> {
    let m = &access.meeting;
    let panel = panel::get(conn, m.panel_id)?;
    let items = meeting::agenda(conn, m.id)?;
    let acknowledged = meeting::has_acknowledged(conn, m.id, user.user_id)?;
    let ids: Vec<CaseId> = items.iter().map(|i| i.case_id).collect();
    let visible = case::visible_among(conn, user, &ids)?;
    let in_full = access::fully_visible_among(conn, user, &ids)?;
    let (cases, research_rows): (Vec<CaseRow>, Vec<CaseRow>) =
        case::get_many(conn, &visible)?.into_iter().partition(|c| in_full.contains(&c.id));
    let research_ids: Vec<CaseId> = research_rows.iter().map(|c| c.id).collect();
    let mut people = if research_ids.is_empty() { Vec::new() } else { person::participants_of(conn, &research_ids)? };
    let mut redactor = Redactor::new(user.field_access(m.panel_id), false);
    let origins = transfer::origins(conn, &visible)?;
    let slot = i64::from(panel.settings.minutes_per_case);
    let start = m.meeting_date.and_time(m.start_time);
    let items = items
        .into_iter()
        .filter(|item| visible.contains(&item.case_id))
        .enumerate()
        .map(|(i, item)| {
            let starts = start + Duration::minutes(slot * i as i64);
            let case = cases.iter().find(|c| c.id == item.case_id).map(CaseSummary::from);
            let research = research_rows.iter().find(|c| c.id == item.case_id).map(|c| ResearchEntry {
                id: c.id,
                reference: c.reference.clone(),
                participants: people
                    .extract_if(.., |(case, _, _)| *case == c.id)
                    .map(|(_, role, person)| ResearchParticipant::render(role, person, &mut redactor))
                    .collect(),
            });
            AgendaItemResponse {
                transferred_from: origins.get(&item.case_id).cloned(),
                withheld: if case.is_some() { Vec::new() } else { vec!["case_details"] },
                case,
                research,
                id: item.id,
                position: i as i32 + 1,
                section: item.section,
                listing_reason: item.listing_reason,
                outcome: item.outcome,
                starts_at: starts.format("%H:%M").to_string(),
                ends_at: (starts + Duration::minutes(slot)).format("%H:%M").to_string(),
            }
        })
        .collect();
    Ok(AgendaView {
        response: AgendaResponse {
            meeting_id: m.id,
            meeting_status: m.status,
            agenda_version: m.agenda_version,
            minutes_per_case: panel.settings.minutes_per_case,
            confidentiality_acknowledged: acknowledged,
            items,
        },
        cases,
        disclosed: redactor.disclosed(),
        shown: visible,
    })
}

fn agenda_answer(view: AgendaView) -> HttpResponse {
    HttpResponse::Ok().insert_header(etag(view.response.agenda_version)).json(view.response)
}

/// GET /api/v1/meetings/{meeting_id}/agenda
pub async fn get_agenda(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<MeetingPath>,
) -> Result<HttpResponse, ApiError> {
    let id = MeetingId(path.meeting_id);
    let view = audit::audited(&db, audit, move |conn| {
        let access = access::meeting_access(conn, &user, id, false)?;
        let view = agenda_view(conn, &user, &access)?;
        let event = view.event(AuditAction::Consult, &access.meeting);
        Ok((view, event))
    })
    .await?;
    Ok(agenda_answer(view))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgendaItemInput {
    case_id: Uuid,
    section: Option<AgendaSection>,
    outcome: Option<AgendaOutcome>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgendaInput {
    items: Vec<AgendaItemInput>,
}

/// Children's cases come first so children's agencies can leave (DOMAIN.md §6.6).
fn default_section(case: &CaseRow, with_child: &[CaseId]) -> AgendaSection {
    if case.children_in_household.is_some_and(|n| n > 0) || with_child.contains(&case.id) {
        AgendaSection::ChildrenCases
    } else {
        AgendaSection::AdultOnlyCases
    }
}

fn cutoff_passed(m: &MeetingRow) -> bool {
    m.kind == MeetingKind::Regular && m.agenda_cutoff_at.is_some_and(|c| Utc::now() > c)
}

/// Saves the agenda and lists its cases: accepted cases become open, with a history entry.
fn save_agenda(
    conn: &mut diesel::PgConnection,
    user: &AuthUser,
    m: &MeetingRow,
    lines: &[AgendaLine],
) -> Result<(), ApiError> {
    let existing: Vec<CaseId> = meeting::agenda(conn, m.id)?.into_iter().map(|i| i.case_id).collect();
    let added = lines.iter().any(|l| !existing.contains(&l.case_id));
    let removed = existing.iter().any(|c| !lines.iter().any(|l| l.case_id == *c));
    if (added || removed) && m.status != MeetingStatus::Scheduled {
        return Err(ApiError::InvalidTransition {
            resource: "meeting",
            current: m.status.as_str(),
            requested: "agenda_changed",
        });
    }
    if added && cutoff_passed(m) {
        return Err(ApiError::unprocessable("items", "after_agenda_cutoff"));
    }
    meeting::replace_agenda(conn, m.id, lines)?;
    let listed: Vec<CaseId> = lines.iter().map(|l| l.case_id).collect();
    for opened in meeting::open_accepted(conn, &listed)? {
        let reason = format!("Listed for the meeting on {}", m.meeting_date);
        case::record_history(conn, opened, Some(CaseStatus::Accepted), CaseStatus::Open, Some(&reason), user.user_id)?;
    }
    Ok(())
}

/// PUT /api/v1/meetings/{meeting_id}/agenda
pub async fn put_agenda(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<MeetingPath>,
    if_match: IfMatch,
    body: Json<AgendaInput>,
) -> Result<HttpResponse, ApiError> {
    let id = MeetingId(path.meeting_id);
    let input = body.into_inner();
    if input.items.len() > MAX_AGENDA_ITEMS {
        return Err(ApiError::bad_field("items", "too_many_items"));
    }
    let view = audit::audited(&db, audit, move |conn| {
        {
            let access = access::meeting_access(conn, &user, id, true)?;
            access.require_staff()?;
            let m = &access.meeting;
            if_match.require(m.agenda_version)?;
            let current: Vec<AgendaItemRow> = meeting::agenda(conn, m.id)?;
            let ids: Vec<CaseId> = input.items.iter().map(|i| CaseId(i.case_id)).collect();
            let with_child = meeting::cases_with_child_participants(conn, &ids)?;
            let mut problems = Vec::new();
            let mut lines: Vec<AgendaLine> = Vec::new();
            for (i, item) in input.items.iter().enumerate() {
                let case_id = CaseId(item.case_id);
                if lines.iter().any(|l| l.case_id == case_id) {
                    problems.push(FieldProblem::new(format!("items[{i}].case_id"), "duplicate"));
                    continue;
                }
                let row = match access::case_access(conn, &user, case_id) {
                    Ok(a) if a.restricted => {
                        problems.push(FieldProblem::new(format!("items[{i}].case_id"), "case_restricted"));
                        continue;
                    }
                    Ok(a) if a.panel_id == m.panel_id => case::get(conn, case_id)?,
                    Ok(_) | Err(ApiError::NotFound) => {
                        problems.push(FieldProblem::new(format!("items[{i}].case_id"), "unknown_case"));
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                let already = current.iter().find(|c| c.case_id == case_id);
                if already.is_none()
                    && !matches!(row.status, CaseStatus::Accepted | CaseStatus::Open | CaseStatus::Monitoring)
                {
                    problems.push(FieldProblem::new(format!("items[{i}].case_id"), "case_not_ready_for_listing"));
                    continue;
                }
                lines.push(AgendaLine {
                    case_id,
                    section: item
                        .section
                        .or(already.map(|a| a.section))
                        .unwrap_or_else(|| default_section(&row, &with_child)),
                    listing_reason: already.map_or(ListingReason::Added, |a| a.listing_reason),
                    outcome: item.outcome.or(already.and_then(|a| a.outcome)),
                });
            }
            if !problems.is_empty() {
                return Err(ApiError::Unprocessable(problems));
            }
            // Sections run in SafeLives order; the order given is kept within each section.
            lines.sort_by_key(|l| l.section.rank());
            save_agenda(conn, &user, m, &lines)?;
            let access = access::meeting_access(conn, &user, id, false)?;
            let view = agenda_view(conn, &user, &access)?;
            let event = view.event(AuditAction::Alter, &access.meeting);
            Ok((view, event))
        }
    })
    .await?;
    Ok(agenda_answer(view))
}

/// The proposed agenda: outstanding actions from the previous meeting first, then cases with
/// children in the household, then adult-only cases, then notices of lapsed 12-month windows.
fn propose_agenda(
    conn: &mut diesel::PgConnection,
    m: &MeetingRow,
    panel: &PanelRow,
) -> Result<Vec<AgendaLine>, ApiError> {
    let candidates = meeting::agenda_candidates(conn, m.panel_id)?;
    let heard = meeting::cases_heard_before(conn, m.panel_id, m.meeting_date)?;
    let outstanding = match meeting::previous_meeting(conn, m.panel_id, m.meeting_date)? {
        Some(prev) => meeting::cases_with_outstanding_actions_from(conn, prev)?,
        None => Vec::new(),
    };
    let ids: Vec<CaseId> = candidates.iter().map(|c| c.case_id).collect();
    let with_child = meeting::cases_with_child_participants(conn, &ids)?;
    let window = panel.settings.repeat_window();
    let last_heard = meeting::last_heard_on(conn, &ids)?;
    let arrived = transfer::origins(conn, &ids)?;
    let mut lines: Vec<AgendaLine> = Vec::new();
    for c in &candidates {
        let has_children = c.children_in_household.is_some_and(|n| n > 0) || with_child.contains(&c.case_id);
        let line = |section, listing_reason| AgendaLine { case_id: c.case_id, section, listing_reason, outcome: None };
        let case_section = if has_children { AgendaSection::ChildrenCases } else { AgendaSection::AdultOnlyCases };
        if outstanding.contains(&c.case_id) {
            lines.push(line(AgendaSection::OutstandingActions, ListingReason::OutstandingActions));
        } else if c.status == CaseStatus::Accepted && !heard.contains(&c.case_id) {
            let reason = if arrived.contains_key(&c.case_id) {
                ListingReason::TransferIn
            } else if c.is_repeat {
                ListingReason::Repeat
            } else {
                ListingReason::NewReferral
            };
            lines.push(line(case_section, reason));
        } else if panel.kind == PanelKind::Marac
            && c.status == CaseStatus::Monitoring
            && window.ends_on(c.referral_date, last_heard.get(&c.case_id).copied()) < m.meeting_date
        {
            lines.push(line(AgendaSection::TwelveMonthLapseNotices, ListingReason::LapseNotice));
        } else if panel.kind != PanelKind::Marac && c.status == CaseStatus::Open {
            // Community MARAC and JAG cases are reviewed at each meeting while open.
            lines.push(line(case_section, ListingReason::Review));
        }
    }
    lines.sort_by_key(|l| l.section.rank());
    Ok(lines)
}

/// POST /api/v1/meetings/{meeting_id}/agenda/build
pub async fn build_agenda(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<MeetingPath>,
) -> Result<HttpResponse, ApiError> {
    let id = MeetingId(path.meeting_id);
    let view = audit::audited(&db, audit, move |conn| {
        let access = access::meeting_access(conn, &user, id, true)?;
        access.require_staff()?;
        let m = &access.meeting;
        if m.status != MeetingStatus::Scheduled {
            return Err(ApiError::InvalidTransition {
                resource: "meeting",
                current: m.status.as_str(),
                requested: "agenda_built",
            });
        }
        let panel = panel::get(conn, m.panel_id)?;
        let lines = propose_agenda(conn, m, &panel)?;
        save_agenda(conn, &user, m, &lines)?;
        let access = access::meeting_access(conn, &user, id, false)?;
        let view = agenda_view(conn, &user, &access)?;
        let event = view.event(AuditAction::Alter, &access.meeting);
        Ok((view, event))
    })
    .await?;
    Ok(agenda_answer(view))
}

// ------------------------------------------------------------------ attendance

#[derive(Serialize)]
pub struct AttendanceResponse {
    id: AttendanceId,
    agency_id: AgencyId,
    user_id: Option<UserId>,
    person_name: Option<String>,
    attendance_type: AttendanceType,
    confidentiality_acknowledged_at: Option<DateTime<Utc>>,
}

impl From<meeting::AttendanceRow> for AttendanceResponse {
    fn from(a: meeting::AttendanceRow) -> Self {
        Self {
            id: a.id,
            agency_id: a.agency_id,
            user_id: a.user_id,
            person_name: a.person_name,
            attendance_type: a.attendance_type,
            confidentiality_acknowledged_at: a.confidentiality_acknowledged_at,
        }
    }
}

#[derive(Serialize)]
pub struct AttendanceList {
    items: Vec<AttendanceResponse>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttendanceInput {
    agency_id: Uuid,
    user_id: Option<Uuid>,
    person_name: Option<String>,
    attendance_type: AttendanceType,
}

/// GET /api/v1/meetings/{meeting_id}/attendance
pub async fn list_attendance(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<MeetingPath>,
) -> Result<HttpResponse, ApiError> {
    let id = MeetingId(path.meeting_id);
    let items = audit::audited(&db, audit, move |conn| {
        let access = access::meeting_access(conn, &user, id, false)?;
        let items = meeting::attendance_of(conn, id)?.into_iter().map(AttendanceResponse::from).collect();
        Ok((items, meeting_event(AuditAction::Consult, &access.meeting)))
    })
    .await?;
    Ok(HttpResponse::Ok().json(AttendanceList { items }))
}

/// POST /api/v1/meetings/{meeting_id}/attendance
pub async fn record_attendance(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<MeetingPath>,
    body: Json<AttendanceInput>,
) -> Result<HttpResponse, ApiError> {
    let id = MeetingId(path.meeting_id);
    let input = body.into_inner();
    let name =
        optional_text("person_name", input.person_name.as_deref(), 200).map_err(|p| ApiError::BadRequest(vec![p]))?;
    let row = audit::audited(&db, audit, move |conn| {
        let access = access::meeting_access(conn, &user, id, true)?;
        access.require_staff()?;
        let agency = AgencyId(input.agency_id);
        let members = panel::members(conn, access.meeting.panel_id)?;
        if !members.iter().any(|m| m.agency_id == agency) {
            return Err(ApiError::unprocessable("agency_id", "not_a_member_of_the_panel"));
        }
        let attendee = input.user_id.map(UserId);
        if let Some(u) = attendee {
            let row =
                crate::models::user::get(conn, u).map_err(|_| ApiError::unprocessable("user_id", "unknown_user"))?;
            if row.agency_id != Some(agency) {
                return Err(ApiError::unprocessable("user_id", "not_of_that_agency"));
            }
        }
        let row = meeting::record_attendance(
            conn,
            id,
            agency,
            attendee,
            name.as_deref(),
            input.attendance_type,
            user.user_id,
        )?;
        Ok((row, meeting_event(AuditAction::Alter, &access.meeting)))
    })
    .await?;
    Ok(HttpResponse::Created().json(AttendanceResponse::from(row)))
}

/// POST /api/v1/meetings/{meeting_id}/acknowledgement: the caller acknowledges the
/// confidentiality statement for this meeting.
pub async fn acknowledge_confidentiality(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<MeetingPath>,
) -> Result<HttpResponse, ApiError> {
    let id = MeetingId(path.meeting_id);
    let row = audit::audited(&db, audit, move |conn| {
        let access = access::meeting_access(conn, &user, id, false)?;
        let agency = user.agency_id.ok_or(ApiError::unprocessable("agency_id", "requires_agency"))?;
        let row = meeting::acknowledge(conn, id, agency, user.user_id)?
            .ok_or(ApiError::Forbidden(Forbidden::NotListedToAttend))?;
        Ok((row, meeting_event(AuditAction::Alter, &access.meeting)))
    })
    .await?;
    Ok(HttpResponse::Ok().json(AttendanceResponse::from(row)))
}

// ------------------------------------------------------------------ notes

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoteInput {
    agency_id: Option<Uuid>,
    shared_information: Option<String>,
    risk_summary: Option<String>,
    decisions: Option<String>,
}

#[derive(Serialize)]
pub struct NoteResponse {
    id: NoteId,
    agenda_item_id: AgendaItemId,
    agency_id: Option<AgencyId>,
    shared_information: Option<String>,
    risk_summary: Option<String>,
    decisions: Option<String>,
    created_by: UserId,
    created_at: DateTime<Utc>,
}

impl From<meeting::NoteRow> for NoteResponse {
    fn from(n: meeting::NoteRow) -> Self {
        Self {
            id: n.id,
            agenda_item_id: n.agenda_item_id,
            agency_id: n.agency_id,
            shared_information: n.shared_information,
            risk_summary: n.risk_summary,
            decisions: n.decisions,
            created_by: n.created_by,
            created_at: n.created_at,
        }
    }
}

#[derive(Serialize)]
pub struct NoteList {
    items: Vec<NoteResponse>,
}

/// The agenda item, checked to belong to the meeting and to a case the caller can see.
fn visible_item(
    conn: &mut diesel::PgConnection,
    user: &AuthUser,
    meeting_id: MeetingId,
    item_id: AgendaItemId,
    lock: bool,
) -> Result<(MeetingAccess, AgendaItemRow), ApiError> {
    let access = access::meeting_access(conn, user, meeting_id, lock)?;
    let item = meeting::agenda_item(conn, item_id)?;
    if item.meeting_id != meeting_id {
        return Err(ApiError::NotFound);
    }
    access::case_access(conn, user, item.case_id)?;
    Ok((access, item))
}

/// POST /api/v1/meetings/{meeting_id}/items/{item_id}/notes
pub async fn add_note(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<ItemPath>,
    key: IdempotencyKey,
    body: Json<NoteInput>,
) -> Result<HttpResponse, ApiError> {
    let (meeting_id, item_id) = (MeetingId(path.meeting_id), AgendaItemId(path.item_id));
    let fingerprint = body.fingerprint().to_vec();
    let input = body.into_inner();
    let mut p = Problems::default();
    let shared = p.check(optional_text("shared_information", input.shared_information.as_deref(), 10_000));
    let risk = p.check(optional_text("risk_summary", input.risk_summary.as_deref(), 10_000));
    let decisions = p.check(optional_text("decisions", input.decisions.as_deref(), 10_000));
    let (shared, risk, decisions) = p.finish(|| Some((shared?, risk?, decisions?)))?;
    if shared.is_none() && risk.is_none() && decisions.is_none() {
        return Err(ApiError::bad_field("shared_information", "note_is_empty"));
    }
    let row = audit::audited(&db, audit, move |conn| {
        let (access, item) = visible_item(conn, &user, meeting_id, item_id, false)?;
        access.require_staff()?;
        let event = |action, note: NoteId| {
            Event::ok(action, "discussion_note", vec![note.0, item.id.0, item.case_id.0, meeting_id.0])
                .on_panel(access.meeting.panel_id)
        };
        let route = format!("POST /api/v1/meetings/{meeting_id}/items/{item_id}/notes");
        if let idempotency::Outcome::Replay(original) =
            idempotency::begin(conn, user.user_id, &route, key.0, &fingerprint)?
        {
            let row = meeting::note(conn, NoteId(original))?;
            return Ok((row, event(AuditAction::Consult, NoteId(original))));
        }
        if !matches!(access.meeting.status, MeetingStatus::InProgress | MeetingStatus::Held) {
            return Err(ApiError::InvalidTransition {
                resource: "meeting",
                current: access.meeting.status.as_str(),
                requested: "noted",
            });
        }
        let note = NewNote {
            agenda_item_id: item.id,
            agency_id: input.agency_id.map(AgencyId),
            shared_information: shared,
            risk_summary: risk,
            decisions,
            created_by: user.user_id,
        };
        let row = meeting::add_note(conn, &note)?;
        idempotency::remember(conn, user.user_id, &route, key.0, &fingerprint, row.id.0)?;
        let event = event(AuditAction::Collect, row.id);
        Ok((row, event))
    })
    .await?;
    Ok(HttpResponse::Created().json(NoteResponse::from(row)))
}

/// GET /api/v1/meetings/{meeting_id}/items/{item_id}/notes
pub async fn list_notes(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<ItemPath>,
) -> Result<HttpResponse, ApiError> {
    let (meeting_id, item_id) = (MeetingId(path.meeting_id), AgendaItemId(path.item_id));
    let items = audit::audited(&db, audit, move |conn| {
        let (access, item) = visible_item(conn, &user, meeting_id, item_id, false)?;
        if !access.is_staff && !meeting::has_acknowledged(conn, meeting_id, user.user_id)? {
            return Err(ApiError::Forbidden(Forbidden::ConfidentialityNotAcknowledged));
        }
        let notes: Vec<NoteResponse> =
            meeting::notes_of(conn, &[item.id])?.into_iter().map(NoteResponse::from).collect();
        let mut ids = vec![item.id.0, item.case_id.0, meeting_id.0];
        ids.extend(notes.iter().map(|n| n.id.0));
        let event = Event::ok(AuditAction::Consult, "discussion_note", ids).on_panel(access.meeting.panel_id);
        Ok((notes, event))
    })
    .await?;
    Ok(HttpResponse::Ok().json(NoteList { items }))
}

// ------------------------------------------------------------------ minutes

#[derive(Serialize)]
pub struct MinutesVersion {
    version: i32,
    body: String,
    circulated_at: Option<DateTime<Utc>>,
    created_by: UserId,
    created_at: DateTime<Utc>,
}

#[derive(Serialize)]
pub struct MinutesResponse {
    meeting_id: MeetingId,
    /// `draft` until circulated; after that the text is read-only and corrections are new versions.
    state: &'static str,
    current: Option<MinutesVersion>,
    versions: Vec<MinutesVersion>,
}

fn minutes_response(meeting_id: MeetingId, rows: Vec<meeting::MinutesRow>) -> (i32, MinutesResponse) {
    let versions: Vec<MinutesVersion> = rows
        .into_iter()
        .map(|m| MinutesVersion {
            version: m.version,
            body: m.body,
            circulated_at: m.circulated_at,
            created_by: m.created_by,
            created_at: m.created_at,
        })
        .collect();
    let latest = versions.last().map_or(0, |v| v.version);
    let state = if versions.last().is_some_and(|v| v.circulated_at.is_some()) { "circulated" } else { "draft" };
    let current = versions.last().map(|v| MinutesVersion {
        version: v.version,
        body: v.body.clone(),
        circulated_at: v.circulated_at,
        created_by: v.created_by,
        created_at: v.created_at,
    });
    (latest, MinutesResponse { meeting_id, state, current, versions })
}

/// Minutes are case data about every case heard: the panel's staff read them, and so does a
/// caller whose organisation's attendance gives it sight of the cases heard (present or
/// information sent) once the caller has acknowledged the confidentiality statement, the same
/// rule as discussion notes and the pack. An organisation recorded only with apologies gets none.
fn may_read_minutes(
    conn: &mut diesel::PgConnection,
    user: &AuthUser,
    access: &MeetingAccess,
) -> Result<bool, ApiError> {
    Ok(access.is_staff || meeting::has_acknowledged(conn, access.meeting.id, user.user_id)?)
}

/// GET /api/v1/meetings/{meeting_id}/minutes
pub async fn get_minutes(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<MeetingPath>,
) -> Result<HttpResponse, ApiError> {
    let id = MeetingId(path.meeting_id);
    let (latest, body) = audit::audited(&db, audit, move |conn| {
        let access = access::meeting_access(conn, &user, id, false)?;
        if !may_read_minutes(conn, &user, &access)? {
            return Err(ApiError::Forbidden(Forbidden::ConfidentialityNotAcknowledged));
        }
        Ok((minutes_response(id, meeting::minutes_of(conn, id)?), meeting_event(AuditAction::Consult, &access.meeting)))
    })
    .await?;
    Ok(HttpResponse::Ok().insert_header(etag(latest)).json(body))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MinutesInput {
    body: String,
}

/// PUT /api/v1/meetings/{meeting_id}/minutes: saves a new version (`If-Match: "0"` for the
/// first). After circulation this is a correction: a new version, the circulated text kept.
pub async fn put_minutes(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<MeetingPath>,
    if_match: IfMatch,
    body: Json<MinutesInput>,
) -> Result<HttpResponse, ApiError> {
    let id = MeetingId(path.meeting_id);
    let text = crate::domain::required_text("body", &body.into_inner().body, MAX_MINUTES_CHARS)
        .map_err(|p| ApiError::BadRequest(vec![p]))?;
    let (latest, out) = audit::audited(&db, audit, move |conn| {
        let access = access::meeting_access(conn, &user, id, true)?;
        access.require_staff()?;
        if !matches!(
            access.meeting.status,
            MeetingStatus::InProgress | MeetingStatus::Held | MeetingStatus::MinutesCirculated
        ) {
            return Err(ApiError::InvalidTransition {
                resource: "meeting",
                current: access.meeting.status.as_str(),
                requested: "minuted",
            });
        }
        let versions = meeting::minutes_of(conn, id)?;
        let latest = versions.last().map_or(0, |v| v.version);
        if_match.require(latest)?;
        meeting::add_minutes(conn, id, latest + 1, &text, user.user_id)?;
        Ok((minutes_response(id, meeting::minutes_of(conn, id)?), meeting_event(AuditAction::Alter, &access.meeting)))
    })
    .await?;
    Ok(HttpResponse::Ok().insert_header(etag(latest)).json(out))
}

/// POST /api/v1/meetings/{meeting_id}/minutes/circulate: the current version becomes read-only
/// and the meeting's minutes are circulated.
pub async fn circulate_minutes(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<MeetingPath>,
) -> Result<HttpResponse, ApiError> {
    let id = MeetingId(path.meeting_id);
    let (latest, out) = audit::audited(&db, audit, move |conn| {
        let access = access::meeting_access(conn, &user, id, true)?;
        access.require_staff()?;
        if !matches!(access.meeting.status, MeetingStatus::Held | MeetingStatus::MinutesCirculated) {
            return Err(ApiError::InvalidTransition {
                resource: "meeting",
                current: access.meeting.status.as_str(),
                requested: MeetingStatus::MinutesCirculated.as_str(),
            });
        }
        let versions = meeting::minutes_of(conn, id)?;
        let Some(latest) = versions.last() else {
            return Err(ApiError::unprocessable("body", "no_minutes_to_circulate"));
        };
        meeting::circulate_minutes(conn, id, latest.version)?;
        if access.meeting.status == MeetingStatus::Held {
            meeting::set_status(conn, id, MeetingStatus::MinutesCirculated)?;
        }
        Ok((minutes_response(id, meeting::minutes_of(conn, id)?), meeting_event(AuditAction::Alter, &access.meeting)))
    })
    .await?;
    Ok(HttpResponse::Ok().insert_header(etag(latest)).json(out))
}

// ------------------------------------------------------------------ pack and calendar

#[derive(Serialize)]
pub struct PackItem {
    item_id: AgendaItemId,
    position: i32,
    section: AgendaSection,
    starts_at: String,
    case: CaseSummary,
    risk: ScoreSummary,
    outstanding_actions: Vec<ActionResponse>,
    /// The caller's own organisation's research on the case, for its authors only.
    research_notes: Vec<ResearchNoteResponse>,
}

#[derive(Serialize)]
pub struct PackResponse {
    meeting: MeetingResponse,
    items: Vec<PackItem>,
}

/// GET /api/v1/meetings/{meeting_id}/pack: the agenda with each visible case's summary, latest
/// scores and outstanding actions, in one answer.
pub async fn get_pack(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<MeetingPath>,
) -> Result<HttpResponse, ApiError> {
    let id = MeetingId(path.meeting_id);
    let pack = audit::audited(&db, audit, move |conn| {
        let access = access::meeting_access(conn, &user, id, false)?;
        if !access.is_staff && !meeting::has_acknowledged(conn, id, user.user_id)? {
            return Err(ApiError::Forbidden(Forbidden::ConfidentialityNotAcknowledged));
        }
        let view = agenda_view(conn, &user, &access)?;
        let mut event = view.event(AuditAction::Consult, &access.meeting);
        let ids: Vec<CaseId> = view.cases.iter().map(|c| c.id).collect();
        let own_notes = match user.agency_id {
            Some(agency) => research_note::of_cases_by(conn, &ids, agency)?,
            None => Vec::new(),
        };
        if !own_notes.is_empty() {
            event = event.disclosing([Tag::ResearchNotes]);
        }
        let assessments = assessment::of_cases(conn, &ids)?;
        let actions: Vec<ActionRow> = action::of_cases(conn, &ids)?;
        let today = action::london_today(conn)?;
        let items = view
            .response
            .items
            .into_iter()
            .filter_map(|item| {
                let c = view.cases.iter().find(|c| Some(c.id) == item.case.as_ref().map(|s| s.id))?;
                Some(PackItem {
                    item_id: item.id,
                    position: item.position,
                    section: item.section,
                    starts_at: item.starts_at,
                    risk: ScoreSummary::of(assessments.iter().filter(|a| a.case_id == c.id)),
                    outstanding_actions: actions
                        .iter()
                        .filter(|a| a.case_id == c.id && a.status.is_outstanding())
                        .map(|a| ActionResponse::render(a.clone(), today))
                        .collect(),
                    research_notes: own_notes.iter().filter(|n| n.case_id == c.id).cloned().map(Into::into).collect(),
                    case: CaseSummary::from(c),
                })
            })
            .collect();
        Ok((PackResponse { meeting: MeetingResponse::from(access.meeting), items }, event))
    })
    .await?;
    Ok(HttpResponse::Ok().json(pack))
}

/// The event of a request about one meeting.
fn meeting_event(action: AuditAction, m: &MeetingRow) -> Event {
    Event::ok(action, "meeting", vec![m.id.0]).on_panel(m.panel_id)
}

fn ics_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace(';', "\\;").replace(',', "\\,").replace('\n', "\\n").replace('\r', "")
}

/// GET /api/v1/panels/{panel_id}/meetings.ics: the panel's meetings as an iCalendar feed, with
/// no case details.
pub async fn meetings_calendar(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<PanelPath>,
) -> Result<HttpResponse, ApiError> {
    let panel_id = PanelId(path.panel_id);
    if !access::member_panels(&user).contains(&panel_id) {
        return Err(ApiError::Forbidden(Forbidden::NotPanelMember));
    }
    let (panel, meetings) = audit::audited(&db, audit, move |conn| {
        let (panel, meetings) = (panel::get(conn, panel_id)?, meeting::all_for_panel(conn, panel_id)?);
        let ids = meetings.iter().map(|m| m.id.0).collect();
        Ok(((panel, meetings), Event::ok(AuditAction::Consult, "meeting", ids).on_panel(panel_id)))
    })
    .await?;
    let mut ics =
        String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//confer//meetings//EN\r\nCALSCALE:GREGORIAN\r\n");
    ics.push_str(&format!("X-WR-CALNAME:{}\r\n", ics_escape(&panel.name)));
    let stamp = Utc::now().format("%Y%m%dT%H%M%SZ");
    for m in meetings {
        let start = m.meeting_date.and_time(m.start_time);
        let end = start + Duration::hours(3);
        let location = match m.mode {
            MeetingMode::Virtual => "Virtual meeting".to_owned(),
            _ => m.venue.clone().unwrap_or_default(),
        };
        let kind = if m.kind == MeetingKind::Emergency { "Emergency meeting" } else { "Meeting" };
        ics.push_str("BEGIN:VEVENT\r\n");
        ics.push_str(&format!("UID:{}@confer\r\nDTSTAMP:{stamp}\r\n", m.id));
        ics.push_str(&format!("DTSTART;TZID=Europe/London:{}\r\n", start.format("%Y%m%dT%H%M%S")));
        ics.push_str(&format!("DTEND;TZID=Europe/London:{}\r\n", end.format("%Y%m%dT%H%M%S")));
        ics.push_str(&format!("SUMMARY:{}\r\n", ics_escape(&format!("{}: {kind}", panel.name))));
        if !location.is_empty() {
            ics.push_str(&format!("LOCATION:{}\r\n", ics_escape(&location)));
        }
        ics.push_str(if m.status == MeetingStatus::Cancelled {
            "STATUS:CANCELLED\r\n"
        } else {
            "STATUS:CONFIRMED\r\n"
        });
        ics.push_str(&format!("SEQUENCE:{}\r\n", m.version));
        ics.push_str("END:VEVENT\r\n");
    }
    ics.push_str("END:VCALENDAR\r\n");
    Ok(HttpResponse::Ok().content_type("text/calendar; charset=utf-8").body(ics))
}
