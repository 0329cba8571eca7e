//! People as they appear on cases, and the duplicate check offered before recording someone.

use actix_web::HttpResponse;
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::{self, Audit, Event};
use crate::db::Db;
use crate::domain::{
    AddressKind, AgencyId, AuditAction, AuthUser, Gender, IsoDate, ParticipantRole, PersonId, Problems, ShortText, Tag,
    TriState, UserId, normalize_org_name, optional_text, required_text,
};
use crate::error::ApiError;
use crate::extract::Json;
use crate::models::person::{self, NewPerson, PersonRow, Provenance};
use crate::models::policy::Redactor;

#[derive(Deserialize)]
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
}

/// The key people are matched on: forenames and surname, normalised.
pub fn person_key(forenames: &str, surname: &str) -> String {
    normalize_org_name(&format!("{forenames} {surname}"))
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
        let surname = surname?;
        let forenames = forenames?.unwrap_or_default();
        let supplied = |any: bool| any.then_some(supplier).flatten();
        let provenance = Provenance {
            identity_supplied_by: supplier,
            address_supplied_by: supplied(
                self.address.is_some() || self.postcode.is_some() || self.address_kind.is_some(),
            ),
            safe_contact_supplied_by: supplied(self.safe_contact_details.is_some() || self.safe_to_contact.is_some()),
            health_supplied_by: supplied(self.health_notes.is_some()),
            criminal_supplied_by: supplied(self.criminal_history.is_some()),
        };
        Some(NewPerson {
            normalized_name: person_key(&forenames, &surname),
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
            provenance,
            created_by: user,
        })
    }
}

/// A person on a case. Tagged fields are left out (whether or not they hold a value) when the
/// field policy or a missing purpose withholds them; `withheld` names their tags.
#[derive(Serialize)]
pub struct PersonResponse {
    id: PersonId,
    #[serde(skip_serializing_if = "Option::is_none")]
    surname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    forenames: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aliases: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    date_of_birth: Option<Option<NaiveDate>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gender: Option<Gender>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ethnicity: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bame: Option<TriState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    disability: Option<TriState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lgbt: Option<TriState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address_kind: Option<Option<AddressKind>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    postcode: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    safe_to_contact: Option<Option<bool>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    safe_contact_details: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    school: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    health_notes: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    criminal_history: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notes: Option<Option<String>>,
    must_not_receive: bool,
    /// Sensitivity tags left out of this answer because the caller may not read them (or stated
    /// no purpose). A field is left out whether or not it holds a value.
    withheld: Vec<&'static str>,
}

#[derive(Serialize)]
pub struct ParticipantResponse {
    role: ParticipantRole,
    person: PersonResponse,
}

/// Whether a person's identity (names, dates of birth, school) may be shown: a child's whole
/// record carries the `children` tag; everyone else's identity is core.
fn identity_shown(role: ParticipantRole, p: &PersonRow, r: &mut Redactor, withheld: &mut Vec<&'static str>) -> bool {
    role != ParticipantRole::Child || r.allow(Tag::Children, p.provenance.identity_supplied_by, withheld)
}

/// Roles whose address and safe-contact details carry the victim tags.
fn contact_is_protected(role: ParticipantRole) -> bool {
    matches!(role, ParticipantRole::Victim | ParticipantRole::VulnerablePerson)
}

impl ParticipantResponse {
    /// Renders a participant through the field policy. Each tagged value may always be read back
    /// by the organisation that supplied it (its provenance), and by no one else beyond the policy.
    pub fn render(role: ParticipantRole, p: PersonRow, r: &mut Redactor) -> Self {
        let mut withheld = Vec::new();
        let identity = identity_shown(role, &p, r, &mut withheld);
        let by = &p.provenance;
        let protected = contact_is_protected(role);
        let address = identity && (!protected || r.allow(Tag::VictimAddress, by.address_supplied_by, &mut withheld));
        let contact =
            identity && (!protected || r.allow(Tag::VictimSafeContact, by.safe_contact_supplied_by, &mut withheld));
        let health = identity && r.allow(Tag::Health, by.health_supplied_by, &mut withheld);
        let criminal = identity && r.allow(Tag::PerpetratorCriminal, by.criminal_supplied_by, &mut withheld);
        let show = |ok: bool| ok.then_some(());
        Self {
            role,
            person: PersonResponse {
                id: p.id,
                surname: show(identity).map(|_| p.surname),
                forenames: show(identity).map(|_| p.forenames),
                aliases: show(identity).map(|_| p.aliases),
                date_of_birth: show(identity).map(|_| p.date_of_birth),
                gender: show(identity).map(|_| p.gender),
                ethnicity: show(identity).map(|_| p.ethnicity),
                bame: show(identity).map(|_| p.bame),
                disability: show(identity).map(|_| p.disability),
                lgbt: show(identity).map(|_| p.lgbt),
                address_kind: show(address).map(|_| p.address_kind),
                address: show(address).map(|_| p.address),
                postcode: show(address).map(|_| p.postcode),
                safe_to_contact: show(contact).map(|_| p.safe_to_contact),
                safe_contact_details: show(contact).map(|_| p.safe_contact_details),
                school: show(identity).map(|_| p.school),
                health_notes: show(health).map(|_| p.health_notes),
                criminal_history: show(criminal).map(|_| p.criminal_history),
                notes: show(identity).map(|_| p.notes),
                must_not_receive: p.must_not_receive,
                withheld,
            },
        }
    }
}

/// A participant as the research list shows them (SECURITY.md 2.3): names and date of birth as
/// the field policy allows, nothing else.
#[derive(Serialize)]
pub struct ResearchParticipant {
    role: ParticipantRole,
    person: ResearchPerson,
}

#[derive(Serialize)]
pub struct ResearchPerson {
    id: PersonId,
    #[serde(skip_serializing_if = "Option::is_none")]
    surname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    forenames: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    date_of_birth: Option<Option<NaiveDate>>,
    withheld: Vec<&'static str>,
}

impl ResearchParticipant {
    pub fn render(role: ParticipantRole, p: PersonRow, r: &mut Redactor) -> Self {
        let mut withheld = Vec::new();
        let identity = identity_shown(role, &p, r, &mut withheld);
        let show = |ok: bool| ok.then_some(());
        Self {
            role,
            person: ResearchPerson {
                id: p.id,
                surname: show(identity).map(|_| p.surname),
                forenames: show(identity).map(|_| p.forenames),
                date_of_birth: show(identity).map(|_| p.date_of_birth),
                withheld,
            },
        }
    }
}

impl PersonInput {
    /// The sensitivity tags this new record would write, with the field that carries each.
    pub fn tags_written(&self, role: ParticipantRole) -> Vec<(Tag, &'static str)> {
        let mut out = Vec::new();
        if role == ParticipantRole::Child {
            out.push((Tag::Children, "surname"));
        }
        if contact_is_protected(role) {
            if self.address.is_some() || self.postcode.is_some() || self.address_kind.is_some() {
                out.push((Tag::VictimAddress, "address"));
            }
            if self.safe_contact_details.is_some() || self.safe_to_contact.is_some() {
                out.push((Tag::VictimSafeContact, "safe_contact_details"));
            }
        }
        if self.health_notes.is_some() {
            out.push((Tag::Health, "health_notes"));
        }
        if self.criminal_history.is_some() {
            out.push((Tag::PerpetratorCriminal, "criminal_history"));
        }
        out
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
    let key = p.finish(|| Some(person_key(&forenames?.unwrap_or_default(), &surname?)))?;
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
