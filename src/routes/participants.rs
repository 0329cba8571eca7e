//! The people on a case after referral: added (a newborn child, a second perpetrator, an
//! associate), their relationships changed, and ended with a reason, never deleted. Adding a victim or a perpetrator to a MARAC
//! case runs the repeat check again.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use uuid::Uuid;

use crate::audit::{self, Audit, Event};
use crate::db::Db;
use crate::disclosure;
use crate::domain::{
    AuditAction, AuthUser, CaseId, PanelKind, ParticipantRole, PersonId, Problems, Tag, optional_text, required_text,
};
use crate::error::ApiError;
use crate::extract::{IfMatch, Json};
use crate::models::access;
use crate::models::case::{self, CaseChanges};
use crate::models::panel;
use crate::models::person;
use crate::routes::cases::{CasePath, ViewFor, require_editor, role_allowed, written_view};
use crate::routes::people::PersonInput;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddParticipantRequest {
    role: ParticipantRole,
    person_id: Option<Uuid>,
    person: Option<PersonInput>,
    relationship_to_victim: Option<String>,
    relationship_to_perpetrator: Option<String>,
    /// Why, kept in the case's history when the addition makes the case a repeat.
    reason: Option<String>,
}

/// A change of a participant's relationships: absent stays, `null` clears.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateParticipantRequest {
    role: ParticipantRole,
    #[serde(default, deserialize_with = "crate::domain::double_option")]
    relationship_to_victim: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::domain::double_option")]
    relationship_to_perpetrator: Option<Option<String>>,
}

/// A relationship as sent: trimmed, at most 100 characters, blank as none.
fn relationship(field: &str, raw: Option<Option<String>>, p: &mut Problems) -> Option<Option<String>> {
    raw.map(|r| p.check(optional_text(field, r.as_deref(), 100)).flatten())
}

#[derive(Deserialize)]
pub struct ParticipantPath {
    case_id: Uuid,
    person_id: Uuid,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndParticipantRequest {
    role: ParticipantRole,
    reason: String,
}

/// POST /api/v1/cases/{case_id}/participants
pub async fn add_participant(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<CasePath>,
    body: Json<AddParticipantRequest>,
) -> Result<HttpResponse, ApiError> {
    let AddParticipantRequest {
        role,
        person_id,
        person: new_person,
        relationship_to_victim,
        relationship_to_perpetrator,
        reason,
    } = body.into_inner();
    let mut p = Problems::default();
    let to_victim = relationship("relationship_to_victim", relationship_to_victim.map(Some), &mut p);
    let to_perpetrator = relationship("relationship_to_perpetrator", relationship_to_perpetrator.map(Some), &mut p);
    let tags_written: Vec<(Tag, String)> = new_person
        .iter()
        .flat_map(|n| n.tags_written(role))
        .map(|(tag, field)| (tag, format!("person.{field}")))
        .collect();
    let new_person = match (person_id, new_person) {
        (Some(_), None) => None,
        (None, Some(n)) => n.parse("person", role, (user.user_id, user.agency_id), &mut p),
        _ => {
            p.push("person", "one_of_person_id_or_person");
            None
        }
    };
    let reason = reason.and_then(|r| p.check(required_text("reason", &r, 2000)));
    p.finish(|| Some(()))?;
    let id = CaseId(path.case_id);
    let out = audit::audited(&db, audit, move |conn| {
        let access = access::case_access_for_update(conn, &user, id)?;
        let current = case::get(conn, id)?;
        require_editor(&access, &user, &current)?;
        disclosure::require_writable(
            &user.field_access(access.panel_id),
            tags_written.iter().map(|(tag, field)| (*tag, field.clone())),
        )?;
        let related =
            serde_json::json!({ "relationship_to_victim": to_victim, "relationship_to_perpetrator": to_perpetrator });
        disclosure::require_writable(
            &user.field_access(access.panel_id),
            disclosure::tags_written(disclosure::Subject::Person(role), &related),
        )?;
        let panel = panel::get(conn, access.panel_id)?;
        if !role_allowed(panel.kind, role) {
            return Err(ApiError::unprocessable("role", "not_used_by_this_panel"));
        }
        let person = match (person_id, new_person) {
            (Some(existing), _) => {
                let existing = PersonId(existing);
                // A person the caller cannot see is as good as unknown.
                if person::visible_among(conn, &user, &[existing])?.is_empty() {
                    return Err(ApiError::unprocessable("person_id", "unknown_person"));
                }
                existing
            }
            (None, Some(new)) => person::insert(conn, &new)?,
            (None, None) => unreachable!("checked before the transaction"),
        };
        if !case::add_participant(conn, id, person, role, user.user_id)? {
            return Err(ApiError::conflict("person_id", "already_a_participant"));
        }
        case::set_relationships(conn, id, person, role, to_victim, to_perpetrator)?;
        if role.must_not_receive() {
            person::mark_must_not_receive(conn, &[person])?;
        }
        // A victim-perpetrator pair seen on an earlier case of the panel makes this one a repeat.
        if panel.kind == PanelKind::Marac
            && !current.is_repeat
            && matches!(role, ParticipantRole::Victim | ParticipantRole::Perpetrator)
        {
            let victims = case::current_participants(conn, id, ParticipantRole::Victim)?;
            let perpetrators = case::current_participants(conn, id, ParticipantRole::Perpetrator)?;
            let repeat_of = case::find_repeat_of(
                conn,
                panel.id,
                &victims,
                &perpetrators,
                current.referral_date,
                panel.settings.repeat_window(),
                Some(id),
            )?;
            if let Some(earlier) = repeat_of {
                let changes =
                    CaseChanges { is_repeat: Some(true), repeat_of_case_id: Some(Some(earlier)), ..Default::default() };
                let changed = case::changed_values(&current, &changes.applied_to(&current));
                let why = reason.as_deref().unwrap_or("A participant added after referral matches an earlier case");
                case::edit(conn, &current, &changes, &changed, Some(why), user.user_id)?;
            }
        }
        let (view, disclosed) = written_view(conn, &user, id, ViewFor::Writer)?;
        let written = tags_written.iter().map(|(t, _)| *t).collect::<Vec<_>>();
        let event = Event::ok(AuditAction::Alter, "case", vec![id.0, person.0])
            .on_panel(access.panel_id)
            .disclosing(written.into_iter().chain(disclosed));
        Ok((view, event))
    })
    .await?;
    tracing::info!(case.id = %out.id, "participant added");
    Ok(crate::routes::ok_versioned(out.version, &out))
}

/// PATCH /api/v1/cases/{case_id}/participants/{person_id}: a participant's relationships change
/// (a child's need `write` on `children`).
pub async fn update_participant(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<ParticipantPath>,
    if_match: IfMatch,
    body: Json<UpdateParticipantRequest>,
) -> Result<HttpResponse, ApiError> {
    let req = body.into_inner();
    let mut p = Problems::default();
    let to_victim = relationship("relationship_to_victim", req.relationship_to_victim, &mut p);
    let to_perpetrator = relationship("relationship_to_perpetrator", req.relationship_to_perpetrator, &mut p);
    p.finish(|| Some(()))?;
    let (id, person, role) = (CaseId(path.case_id), PersonId(path.person_id), req.role);
    let out = audit::audited(&db, audit, move |conn| {
        let access = access::case_access_for_update(conn, &user, id)?;
        let current = case::get(conn, id)?;
        require_editor(&access, &user, &current)?;
        if_match.require(current.version)?;
        match case::participant_ended(conn, id, person, role)? {
            None => return Err(ApiError::NotFound),
            Some(Some(_)) => return Err(ApiError::conflict("role", "participant_has_ended")),
            Some(None) => {}
        }
        // A field sent as `null` writes its tag too (clearing a child's relationship is writing it).
        let sent = serde_json::json!({
            "relationship_to_victim": to_victim.as_ref().map(|_| true),
            "relationship_to_perpetrator": to_perpetrator.as_ref().map(|_| true),
        });
        let written = disclosure::tags_written(disclosure::Subject::Person(role), &sent);
        disclosure::require_writable(&user.field_access(access.panel_id), written.iter().copied())?;
        case::set_relationships(conn, id, person, role, to_victim, to_perpetrator)?;
        let (view, disclosed) = written_view(conn, &user, id, ViewFor::Writer)?;
        let event = Event::ok(AuditAction::Alter, "case", vec![id.0, person.0])
            .on_panel(access.panel_id)
            .disclosing(written.into_iter().map(|(t, _)| t).chain(disclosed));
        Ok((view, event))
    })
    .await?;
    tracing::info!(case.id = %out.id, "participant changed");
    Ok(crate::routes::ok_versioned(out.version, &out))
}

/// POST /api/v1/cases/{case_id}/participants/{person_id}/end
pub async fn end_participant(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<ParticipantPath>,
    body: Json<EndParticipantRequest>,
) -> Result<HttpResponse, ApiError> {
    let EndParticipantRequest { role, reason } = body.into_inner();
    let reason = required_text("reason", &reason, 2000).map_err(|p| ApiError::BadRequest(vec![p]))?;
    let (id, person) = (CaseId(path.case_id), PersonId(path.person_id));
    let out = audit::audited(&db, audit, move |conn| {
        let access = access::case_access_for_update(conn, &user, id)?;
        let current = case::get(conn, id)?;
        require_editor(&access, &user, &current)?;
        match case::participant_ended(conn, id, person, role)? {
            None => return Err(ApiError::NotFound),
            Some(Some(_)) => return Err(ApiError::conflict("role", "already_ended")),
            Some(None) => case::end_participant(conn, id, person, role, &reason, user.user_id)?,
        }
        let (view, disclosed) = written_view(conn, &user, id, ViewFor::Reader { purpose_stated: false })?;
        let event =
            Event::ok(AuditAction::Alter, "case", vec![id.0, person.0]).on_panel(access.panel_id).disclosing(disclosed);
        Ok((view, event))
    })
    .await?;
    tracing::info!(case.id = %out.id, "participant ended");
    Ok(crate::routes::ok_versioned(out.version, &out))
}
