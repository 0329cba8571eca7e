//! People as they appear on cases, and the duplicate check offered before recording someone.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::{self, Audit, Event};
use crate::db::Db;
use crate::disclosure::Redactor;
use crate::disclosure::{self, Subject};
use crate::domain::{
    AddressKind, AgencyId, AuditAction, AuthUser, CaseId, Gender, IsoDate, ParticipantRole, PersonId, Problems,
    ShortText, Tag, TriState, UserId, double_option, optional_text, required_text,
};
use crate::error::{ApiError, Forbidden};
use crate::extract::{AccessPurpose, IfMatch, Json};
use crate::models::person::{self, NewPerson, PersonRow, Provenance};
use crate::models::{access, alert, grant, person_detail};

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PersonInput {
    surname: String,
    forenames: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    date_of_birth: Option<crate::domain::IsoDate>,
    gender: Option<Gender>,
    ethnicity: Option<String>,
    bame: Option<TriState>,
    disability: Option<TriState>,
    lgbt: Option<TriState>,
    address_kind: Option<AddressKind>,
    address: Option<String>,
    postcode: Option<String>,
    safe_to_contact: Option<bool>,
    safe_contact_details: Option<String>,
    notes: Option<String>,
    health_notes: Option<String>,
    criminal_history: Option<String>,
    school: Option<String>,
    language: Option<String>,
    interpreter_needed: Option<bool>,
    /// Tag health.
    gp_practice: Option<String>,
}

impl PersonInput {
    /// Checks the person, recording problems under `prefix`. `supplier` is the caller's
    /// organisation, recorded as the supplier of each tagged value it sends.
    pub fn parse(
        self,
        prefix: &str,
        role: ParticipantRole,
        (user, supplier): (UserId, Option<AgencyId>),
        p: &mut Problems,
    ) -> Option<NewPerson> {
        let f = |name: &str| format!("{prefix}.{name}");
        let surname = p.check(required_text(&f("surname"), &self.surname, 200));
        let forenames = p.check(optional_text(&f("forenames"), self.forenames.as_deref(), 200));
        if self.aliases.len() > 20 {
            p.push(f("aliases"), "too_many_items");
        }
        let aliases: Vec<Option<ShortText>> = self
            .aliases
            .iter()
            .enumerate()
            .map(|(i, a)| p.check(ShortText::parse(format!("{prefix}.aliases[{i}]"), a)))
            .collect();
        let today = Utc::now().date_naive();
        if let Some(dob) = self.date_of_birth.map(IsoDate::get) {
            if dob > today {
                p.push(f("date_of_birth"), "in_future");
            } else if dob < NaiveDate::from_ymd_opt(1900, 1, 1).expect("valid date") {
                p.push(f("date_of_birth"), "too_early");
            }
        }
        let ethnicity = p.check(optional_text(&f("ethnicity"), self.ethnicity.as_deref(), 200));
        let address = p.check(optional_text(&f("address"), self.address.as_deref(), 500));
        let postcode = p.check(optional_text(&f("postcode"), self.postcode.as_deref(), 10));
        let safe_contact =
            p.check(optional_text(&f("safe_contact_details"), self.safe_contact_details.as_deref(), 2000));
        let notes = p.check(optional_text(&f("notes"), self.notes.as_deref(), 10_000));
        let health = p.check(optional_text(&f("health_notes"), self.health_notes.as_deref(), 10_000));
        let criminal = p.check(optional_text(&f("criminal_history"), self.criminal_history.as_deref(), 10_000));
        let school = p.check(optional_text(&f("school"), self.school.as_deref(), 200));
        let language = p.check(optional_text(&f("language"), self.language.as_deref(), 100));
        let gp_practice = p.check(optional_text(&f("gp_practice"), self.gp_practice.as_deref(), 200));
        let surname = surname?;
        let forenames = forenames?.unwrap_or_default();
        // The person may be linked in another role later: the supplier of every value that a
        // role tags is recorded, whatever the role here.
        let body = self.as_body();
        let carried: Vec<Tag> = ParticipantRole::ALL
            .iter()
            .flat_map(|r| disclosure::tags_written(Subject::Person(*r), &body))
            .map(|(tag, _)| tag)
            .collect();
        let provenance = Provenance::of_new(supplier, &carried);
        Some(NewPerson {
            normalized_name: person::name_key(&forenames, &surname),
            surname,
            forenames,
            aliases: aliases.into_iter().collect::<Option<Vec<_>>>()?.into_iter().map(ShortText::into_inner).collect(),
            date_of_birth: self.date_of_birth.map(IsoDate::get),
            gender: self.gender.unwrap_or(Gender::Unknown),
            ethnicity: ethnicity?,
            bame: self.bame.unwrap_or(TriState::Unknown),
            disability: self.disability.unwrap_or(TriState::Unknown),
            lgbt: self.lgbt.unwrap_or(TriState::Unknown),
            address_kind: self.address_kind,
            address: address?,
            postcode: postcode?,
            safe_to_contact: self.safe_to_contact,
            safe_contact_details: safe_contact?,
            notes: notes?,
            must_not_receive: role.must_not_receive(),
            health_notes: health?,
            criminal_history: criminal?,
            school: school?,
            language: language?,
            interpreter_needed: self.interpreter_needed,
            gp_practice: gp_practice?,
            provenance,
            created_by: user,
        })
    }
}

/// A person's values as stored, every field, before the field policy is applied.
#[derive(Serialize)]
struct PersonFields {
    id: PersonId,
    surname: String,
    forenames: String,
    aliases: Vec<String>,
    date_of_birth: Option<NaiveDate>,
    gender: Gender,
    ethnicity: Option<String>,
    bame: TriState,
    disability: TriState,
    lgbt: TriState,
    address_kind: Option<AddressKind>,
    address: Option<String>,
    postcode: Option<String>,
    safe_to_contact: Option<bool>,
    safe_contact_details: Option<String>,
    school: Option<String>,
    language: Option<String>,
    interpreter_needed: Option<bool>,
    gp_practice: Option<String>,
    health_notes: Option<String>,
    criminal_history: Option<String>,
    notes: Option<String>,
    must_not_receive: bool,
}

impl From<PersonRow> for PersonFields {
    fn from(p: PersonRow) -> Self {
        Self {
            id: p.id,
            surname: p.surname,
            forenames: p.forenames,
            aliases: p.aliases,
            date_of_birth: p.date_of_birth,
            gender: p.gender,
            ethnicity: p.ethnicity,
            bame: p.bame,
            disability: p.disability,
            lgbt: p.lgbt,
            address_kind: p.address_kind,
            address: p.address,
            postcode: p.postcode,
            safe_to_contact: p.safe_to_contact,
            safe_contact_details: p.safe_contact_details,
            school: p.school,
            language: p.language,
            interpreter_needed: p.interpreter_needed,
            gp_practice: p.gp_practice,
            health_notes: p.health_notes,
            criminal_history: p.criminal_history,
            notes: p.notes,
            must_not_receive: p.must_not_receive,
        }
    }
}

/// The fields the research list shows of a person (SECURITY.md 2.3), as the policy allows.
const RESEARCH_FIELDS: &[&str] = &["id", "surname", "forenames", "date_of_birth"];

/// A person rendered through the field policy (`disclosure::redact`), keeping only `fields` if
/// given. Tagged fields are left out (whether or not they hold a value) when the policy or a
/// missing purpose withholds them; `withheld` names their tags. Each tagged value may always be
/// read back by the organisation that supplied it (its provenance).
fn person_view(role: ParticipantRole, p: PersonRow, fields: Option<&[&str]>, r: &mut Redactor) -> serde_json::Value {
    let provenance = p.provenance.clone();
    let mut person = match serde_json::to_value(PersonFields::from(p)) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => unreachable!("a struct serializes as an object"),
    };
    if let Some(keep) = fields {
        person.retain(|k, _| keep.contains(&k.as_str()));
    }
    let withheld = disclosure::redact(Subject::Person(role), &mut person, |tag| provenance.supplier_of(tag), r);
    person.insert("withheld".to_owned(), serde_json::json!(withheld));
    serde_json::Value::Object(person)
}

/// A person on a case, in full as the policy allows.
#[derive(Serialize)]
pub struct ParticipantResponse {
    role: ParticipantRole,
    person: serde_json::Value,
    added_at: DateTime<Utc>,
    /// When and why the person left the case; they stay on its record.
    ended_at: Option<DateTime<Utc>>,
    ended_reason: Option<String>,
    /// Left out with the rest of a child's record when `children` is withheld.
    #[serde(skip_serializing_if = "Option::is_none")]
    relationship_to_victim: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    relationship_to_perpetrator: Option<Option<String>>,
}

impl ParticipantResponse {
    pub fn render(p: crate::models::case::Participant, r: &mut Redactor) -> Self {
        let supplier = p.person.provenance.identity_supplied_by;
        let mut withheld = Vec::new();
        let related = disclosure::shown(Subject::Person(p.role), "relationship_to_victim", supplier, r, &mut withheld);
        Self {
            relationship_to_victim: related.then_some(p.relationship_to_victim),
            relationship_to_perpetrator: related.then_some(p.relationship_to_perpetrator),
            role: p.role,
            person: person_view(p.role, p.person, None, r),
            added_at: p.added_at,
            ended_at: p.ended_at,
            ended_reason: p.ended_reason,
        }
    }
}

/// A participant as the research list shows them: names and date of birth as the field policy
/// allows, nothing else.
#[derive(Serialize)]
pub struct ResearchParticipant {
    role: ParticipantRole,
    person: serde_json::Value,
}

impl ResearchParticipant {
    pub fn render(role: ParticipantRole, p: PersonRow, r: &mut Redactor) -> Self {
        Self { role, person: person_view(role, p, Some(RESEARCH_FIELDS), r) }
    }
}

impl PersonInput {
    /// The sensitivity tags this new record would write in `role`, with the field that carries
    /// each (`disclosure::DECLARED`).
    pub fn tags_written(&self, role: ParticipantRole) -> Vec<(Tag, &'static str)> {
        disclosure::tags_written(Subject::Person(role), &self.as_body())
    }

    /// The record as a request body object, which the disclosure declaration reads by field.
    fn as_body(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchRequest {
    surname: String,
    forenames: Option<String>,
    date_of_birth: Option<crate::domain::IsoDate>,
}

#[derive(Serialize)]
pub struct PersonMatch {
    id: PersonId,
    surname: String,
    forenames: String,
    date_of_birth: Option<NaiveDate>,
}

#[derive(Serialize)]
pub struct MatchResponse {
    items: Vec<PersonMatch>,
}

/// POST /api/v1/people/matches: likely existing records for a person about to be recorded,
/// among the people on cases the caller can see. A POST, so no name travels in a URL.
pub async fn match_people(
    db: Db,
    user: AuthUser,
    audit: Audit,
    body: Json<MatchRequest>,
) -> Result<HttpResponse, ApiError> {
    let req = body.into_inner();
    let mut p = Problems::default();
    let surname = p.check(required_text("surname", &req.surname, 200));
    let forenames = p.check(optional_text("forenames", req.forenames.as_deref(), 200));
    let key = p.finish(|| Some(person::name_key(&forenames?.unwrap_or_default(), &surname?)))?;
    let dob = req.date_of_birth.map(IsoDate::get);
    let rows = audit::audited(&db, audit, move |conn| {
        let rows = person::likely_matches(conn, &user, &key, dob)?;
        let event = Event::ok(AuditAction::Consult, "person", rows.iter().map(|r| r.id.0).collect());
        Ok((rows, event))
    })
    .await?;
    let items = rows
        .into_iter()
        .map(|r| PersonMatch { id: r.id, surname: r.surname, forenames: r.forenames, date_of_birth: r.date_of_birth })
        .collect();
    Ok(HttpResponse::Ok().json(MatchResponse { items }))
}

/// Where a person is seen, in the person view.
#[derive(Serialize)]
pub struct PersonCase {
    case_id: CaseId,
    reference: String,
    role: ParticipantRole,
    ended_at: Option<DateTime<Utc>>,
}

#[derive(Serialize)]
pub struct PersonResponse {
    person: serde_json::Value,
    cases: Vec<PersonCase>,
    version: i32,
}

/// GET /api/v1/people/{person_id}: a person on a case the caller can see (404 otherwise, alike
/// for one that does not exist), through the field policy of every case and role the caller sees
/// them in: a value withheld in any of them is withheld. Only the research list's fields when the
/// caller sees none of those cases in full. The tags that need a stated purpose are read on the
/// case, where the purpose is checked against it.
pub async fn get_person(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<PersonPath>,
    purpose: AccessPurpose,
) -> Result<HttpResponse, ApiError> {
    let id = PersonId(path.person_id);
    let request_id = audit.request_id().to_owned();
    let out = audit::audited(&db, audit, move |conn| {
        let (row, sightings) = person::seen(conn, &user, id)?;
        let full = sightings.iter().any(|s| s.full);
        let shown: Vec<&person::Sighting> = sightings.iter().filter(|s| s.full == full).collect();
        // A stated purpose (SECURITY.md AU-3) is checked against each case the person is seen on;
        // the tags that need one are shown through the cases where it holds.
        let mut purpose_holds: Vec<bool> = vec![false; shown.len()];
        let mut audited_purpose = None;
        if let Some(raw) = purpose.0.as_deref().filter(|_| full) {
            for (s, holds) in shown.iter().zip(purpose_holds.iter_mut()) {
                // Only the purpose is checked here; nothing on the case is changed.
                let case = access::CaseAccess::seen(&user, s.case_id, s.panel_id, true, false);
                if let Ok(checked) = access::check_purpose(conn, &user, &case, raw) {
                    *holds = true;
                    if let Some(reason) = checked.break_glass.as_deref()
                        && audited_purpose.is_none()
                    {
                        tracing::warn!(user.id = %user.user_id, person.id = %id, "break-glass read of protected fields");
                        alert::break_glass(conn, &user, s.panel_id, s.case_id, reason, &request_id)?;
                    }
                    audited_purpose.get_or_insert(checked.audited);
                }
            }
            if audited_purpose.is_none() {
                return Err(ApiError::Forbidden(Forbidden::PurposeRequired));
            }
        }
        let version = row.version;
        let provenance = row.provenance.clone();
        let mut view = match serde_json::to_value(PersonFields::from(row)) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => unreachable!("a struct serializes as an object"),
        };
        if !full {
            view.retain(|k, _| RESEARCH_FIELDS.contains(&k.as_str()));
        }
        let mut withheld: Vec<&'static str> = Vec::new();
        let mut disclosed: Option<Vec<Tag>> = None;
        // Each entry of the lists is judged with its own supplier, in every role alike.
        let (dobs, addresses) = if full {
            (person_detail::dates_of_birth(conn, id)?, person_detail::addresses(conn, id)?)
        } else {
            (Vec::new(), Vec::new())
        };
        let mut dob_shown = vec![true; dobs.len()];
        let mut address_shown = vec![true; addresses.len()];
        for (s, purpose_stated) in shown.iter().zip(purpose_holds) {
            let mut r = Redactor::new(grant::field_access(conn, &user, s.panel_id, s.case_id)?, purpose_stated);
            let subject = Subject::Person(s.role);
            for (d, keep) in dobs.iter().zip(dob_shown.iter_mut()) {
                *keep &= disclosure::shown(subject, "dates_of_birth", d.held_by, &mut r, &mut withheld);
            }
            for (a, keep) in addresses.iter().zip(address_shown.iter_mut()) {
                *keep &= disclosure::shown(subject, "addresses", a.supplied_by, &mut r, &mut withheld);
            }
            for tag in disclosure::redact(Subject::Person(s.role), &mut view, |tag| provenance.supplier_of(tag), &mut r)
            {
                if !withheld.contains(&tag) {
                    withheld.push(tag);
                }
            }
            // A tag is disclosed only if every sighting let it through.
            let here = r.disclosed();
            disclosed = Some(match disclosed {
                None => here,
                Some(before) => before.into_iter().filter(|t| here.contains(t)).collect(),
            });
        }
        let disclosed: Vec<Tag> =
            disclosed.unwrap_or_default().into_iter().filter(|t| !withheld.contains(&t.as_str())).collect();
        if full {
            let kept = |rows: Vec<serde_json::Value>, shown: &[bool]| -> Vec<serde_json::Value> {
                rows.into_iter().zip(shown).filter(|(_, s)| **s).map(|(v, _)| v).collect()
            };
            let dobs = dobs.iter().map(|d| serde_json::json!(d)).collect();
            let addresses = addresses.iter().map(|a| serde_json::json!(a)).collect();
            view.insert("dates_of_birth".to_owned(), serde_json::json!(kept(dobs, &dob_shown)));
            view.insert("addresses".to_owned(), serde_json::json!(kept(addresses, &address_shown)));
        }
        view.insert("withheld".to_owned(), serde_json::json!(withheld));
        let cases = shown
            .iter()
            .map(|s| PersonCase {
                case_id: s.case_id,
                reference: s.reference.clone(),
                role: s.role,
                ended_at: s.ended_at,
            })
            .collect();
        let panel = shown.first().map(|s| s.panel_id);
        let mut event =
            Event::ok(AuditAction::Consult, "person", vec![id.0]).disclosing(disclosed).for_purpose(audited_purpose);
        if let Some(panel) = panel {
            event = event.on_panel(panel);
        }
        Ok((PersonResponse { person: serde_json::Value::Object(view), cases, version }, event))
    })
    .await?;
    Ok(crate::routes::ok_versioned(out.version, &out))
}

#[derive(Deserialize)]
pub struct PersonPath {
    person_id: uuid::Uuid,
}

/// Where the caller may change the person: cases it sees in full where it is panel staff or its
/// organisation referred; 403 not-case-editor when there are none.
pub(crate) fn editable_sightings<'a>(
    user: &AuthUser,
    sightings: &'a [person::Sighting],
) -> Result<Vec<&'a person::Sighting>, ApiError> {
    let editable: Vec<&person::Sighting> = sightings
        .iter()
        .filter(|s| {
            let referred = s.referring_agency_id.is_some() && user.agency_id == s.referring_agency_id;
            s.full && (user.is_staff_on(s.panel_id) || referred)
        })
        .collect();
    if editable.is_empty() { Err(ApiError::Forbidden(Forbidden::NotCaseEditor)) } else { Ok(editable) }
}

/// The tags `sent` (a person's fields as a JSON object) writes in every role the person holds on
/// a case the caller sees; 403 field-not-writable when any role's policy refuses one.
pub(crate) fn require_writable_in_every_role(
    user: &AuthUser,
    sightings: &[person::Sighting],
    sent: &serde_json::Value,
) -> Result<Vec<Tag>, ApiError> {
    let mut written: Vec<Tag> = Vec::new();
    for s in sightings {
        let tags = disclosure::tags_written(Subject::Person(s.role), sent);
        disclosure::require_writable(&user.field_access(s.panel_id), tags.iter().copied())?;
        for (tag, _) in tags {
            if !written.contains(&tag) {
                written.push(tag);
            }
        }
    }
    Ok(written)
}

/// A person edit: absent fields stay as they are, `null` clears a field that may be empty.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UpdatePersonRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    surname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    forenames: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aliases: Option<Vec<String>>,
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    date_of_birth: Option<Option<IsoDate>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gender: Option<Gender>,
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    ethnicity: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bame: Option<TriState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    disability: Option<TriState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lgbt: Option<TriState>,
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    address_kind: Option<Option<AddressKind>>,
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    address: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    postcode: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    safe_to_contact: Option<Option<bool>>,
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    safe_contact_details: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    notes: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    health_notes: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    criminal_history: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    school: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    language: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    interpreter_needed: Option<Option<bool>>,
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    gp_practice: Option<Option<String>>,
    /// Why; kept with every value changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

impl UpdatePersonRequest {
    /// The fields the body sends, as the disclosure declaration reads them: a field sent, even
    /// as `null`, writes its tag (clearing a refuge address is writing it).
    fn fields_sent(&self) -> serde_json::Value {
        let mut body = serde_json::to_value(self).unwrap_or_default();
        if let Some(map) = body.as_object_mut() {
            for v in map.values_mut() {
                if v.is_null() {
                    *v = serde_json::Value::Bool(true);
                }
            }
        }
        body
    }

    fn parse(self) -> Result<(person::PersonChanges, Option<String>), ApiError> {
        let mut p = Problems::default();
        let mut text = |field: &str, v: Option<Option<String>>, max: usize| {
            v.map(|v| p.check(optional_text(field, v.as_deref(), max)).flatten())
        };
        let changes = person::PersonChanges {
            ethnicity: text("ethnicity", self.ethnicity, 200),
            address: text("address", self.address, 500),
            postcode: text("postcode", self.postcode, 10),
            safe_contact_details: text("safe_contact_details", self.safe_contact_details, 2000),
            notes: text("notes", self.notes, 10_000),
            health_notes: text("health_notes", self.health_notes, 10_000),
            criminal_history: text("criminal_history", self.criminal_history, 10_000),
            school: text("school", self.school, 200),
            language: text("language", self.language, 100),
            gp_practice: text("gp_practice", self.gp_practice, 200),
            interpreter_needed: self.interpreter_needed,
            surname: self.surname.map(|s| p.check(required_text("surname", &s, 200)).unwrap_or_default()),
            forenames: self
                .forenames
                .map(|f| p.check(optional_text("forenames", Some(&f), 200)).flatten().unwrap_or_default()),
            aliases: self.aliases.map(|aliases| {
                if aliases.len() > 20 {
                    p.push("aliases", "too_many_items");
                }
                aliases
                    .iter()
                    .enumerate()
                    .filter_map(|(i, a)| {
                        p.check(ShortText::parse(format!("aliases[{i}]"), a)).map(ShortText::into_inner)
                    })
                    .collect()
            }),
            date_of_birth: self.date_of_birth.map(|d| d.map(IsoDate::get)),
            gender: self.gender,
            bame: self.bame,
            disability: self.disability,
            lgbt: self.lgbt,
            address_kind: self.address_kind,
            safe_to_contact: self.safe_to_contact,
            ..Default::default()
        };
        let today = Utc::now().date_naive();
        if let Some(Some(dob)) = changes.date_of_birth {
            if dob > today {
                p.push("date_of_birth", "in_future");
            } else if dob < NaiveDate::from_ymd_opt(1900, 1, 1).expect("valid date") {
                p.push("date_of_birth", "too_early");
            }
        }
        let reason = self.reason.and_then(|r| p.check(required_text("reason", &r, 2000)));
        p.finish(|| Some((changes, reason)))
    }
}

/// PATCH /api/v1/people/{person_id}: panel staff of a case the person is on, or the organisation
/// that referred it, seeing it in full, with `If-Match`. Tagged values follow the field policy on
/// write in every role the person holds on those cases; the writer becomes their supplier. Every
/// earlier value is kept (GET .../history).
pub async fn update_person(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<PersonPath>,
    if_match: IfMatch,
    body: Json<UpdatePersonRequest>,
) -> Result<HttpResponse, ApiError> {
    let req = body.into_inner();
    let sent = req.fields_sent();
    let (mut changes, reason) = req.parse()?;
    let id = PersonId(path.person_id);
    let out = audit::audited(&db, audit, move |conn| {
        let (_, sightings) = person::seen(conn, &user, id)?;
        let editable = editable_sightings(&user, &sightings)?;
        let current = person::get_for_update(conn, id)?;
        if_match.require(current.version)?;
        let written = require_writable_in_every_role(&user, &sightings, &sent)?;
        let all_roles: Vec<Tag> = ParticipantRole::ALL
            .iter()
            .flat_map(|r| disclosure::tags_written(Subject::Person(*r), &sent))
            .map(|(t, _)| t)
            .collect();
        changes.supplied_by(user.agency_id, &all_roles);
        let after = changes.applied_to(&current);
        if changes.surname.is_some() || changes.forenames.is_some() {
            changes.normalized_name = Some(person::name_key(&after.forenames, &after.surname));
        }
        let changed = person::changed_values(&current, &after);
        let row = if changed.is_empty() {
            current
        } else {
            person::edit(conn, &current, &changes, &changed, reason.as_deref(), user.user_id)?
        };
        let version = row.version;
        let role = editable[0].role;
        let mut r = Redactor::for_own_write(user.field_access(editable[0].panel_id));
        let view = person_view(role, row, None, &mut r);
        let event = Event::ok(AuditAction::Alter, "person", vec![id.0])
            .on_panel(editable[0].panel_id)
            .disclosing(written.into_iter().chain(r.disclosed()));
        Ok((PersonEdited { person: view, version }, event))
    })
    .await?;
    Ok(crate::routes::ok_versioned(out.version, &out))
}

#[derive(Serialize)]
pub struct PersonEdited {
    person: serde_json::Value,
    version: i32,
}

/// One kept change of a person's value; `from` and `to` are left out when withheld.
#[derive(Serialize)]
pub struct PersonChange {
    field: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    to: Option<serde_json::Value>,
    reason: Option<String>,
    changed_by: UserId,
    changed_at: DateTime<Utc>,
    withheld: Vec<&'static str>,
}

#[derive(Serialize)]
pub struct PersonHistory {
    person_id: PersonId,
    items: Vec<PersonChange>,
}

/// GET /api/v1/people/{person_id}/history: every kept change, a value shown only when every role
/// the caller sees the person in lets it read that value from both suppliers (no purpose: the
/// tags that need one stay withheld here, as in the person view).
pub async fn get_person_history(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<PersonPath>,
) -> Result<HttpResponse, ApiError> {
    let id = PersonId(path.person_id);
    let out = audit::audited(&db, audit, move |conn| {
        let (_, sightings) = person::seen(conn, &user, id)?;
        let full: Vec<&person::Sighting> = sightings.iter().filter(|s| s.full).collect();
        if full.is_empty() {
            return Err(ApiError::Forbidden(Forbidden::ConfidentialityNotAcknowledged));
        }
        let mut redactors: Vec<(ParticipantRole, Redactor)> = Vec::new();
        for s in &full {
            redactors.push((s.role, Redactor::new(grant::field_access(conn, &user, s.panel_id, s.case_id)?, false)));
        }
        let items = person::changes(conn, id)?
            .into_iter()
            .map(|c| {
                let mut withheld = Vec::new();
                let mut shown = true;
                let suppliers = [c.old_supplied_by, c.new_supplied_by];
                for (role, r) in redactors.iter_mut() {
                    shown &= disclosure::shown_from_all(Subject::Person(*role), &c.field, &suppliers, r, &mut withheld);
                }
                PersonChange {
                    from: shown.then_some(c.old_value),
                    to: shown.then_some(c.new_value),
                    field: c.field,
                    reason: c.reason,
                    changed_by: c.changed_by,
                    changed_at: c.changed_at,
                    withheld,
                }
            })
            .collect();
        let mut disclosed: Vec<Tag> = Vec::new();
        for (_, r) in &redactors {
            disclosed.extend(r.disclosed());
        }
        let event =
            Event::ok(AuditAction::Consult, "person", vec![id.0]).on_panel(full[0].panel_id).disclosing(disclosed);
        Ok((PersonHistory { person_id: id, items }, event))
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}
