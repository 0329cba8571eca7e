//! People as they appear on cases, and the duplicate check offered before recording someone.

use actix_web::{HttpResponse, web};
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::auth::AuthUser;
use crate::db;
use crate::domain::{
    AddressKind, Gender, PanelId, ParticipantRole, PersonId, Problems, Role, ShortText, TriState, UserId,
    normalize_org_name, optional_text, required_text,
};
use crate::error::ApiError;
use crate::extract::Json;
use crate::models::person::{self, NewPerson, PersonRow};
use crate::startup::AppState;

pub const TAG_VICTIM_ADDRESS: &str = "victim.address";
pub const TAG_VICTIM_SAFE_CONTACT: &str = "victim.safe_contact";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonInput {
    surname: String,
    forenames: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    date_of_birth: Option<NaiveDate>,
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
}

/// The key people are matched on: forenames and surname, normalised.
pub fn person_key(forenames: &str, surname: &str) -> String {
    normalize_org_name(&format!("{forenames} {surname}"))
}

impl PersonInput {
    /// Checks the person, recording problems under `prefix`.
    pub fn parse(self, prefix: &str, role: ParticipantRole, user: UserId, p: &mut Problems) -> Option<NewPerson> {
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
        if let Some(dob) = self.date_of_birth {
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
        let surname = surname?;
        let forenames = forenames?.unwrap_or_default();
        Some(NewPerson {
            normalized_name: person_key(&forenames, &surname),
            surname,
            forenames,
            aliases: aliases.into_iter().collect::<Option<Vec<_>>>()?.into_iter().map(ShortText::into_inner).collect(),
            date_of_birth: self.date_of_birth,
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
            created_by: user,
        })
    }
}

#[derive(Serialize)]
pub struct PersonResponse {
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
    notes: Option<String>,
    must_not_receive: bool,
    /// Sensitivity tags left out of this answer because the caller may not read them. A field
    /// is left out whether or not it holds a value.
    withheld: Vec<&'static str>,
}

#[derive(Serialize)]
pub struct ParticipantResponse {
    role: ParticipantRole,
    person: PersonResponse,
}

/// Interim field rule until the policy table of the access-control issue: the address and safe
/// contact details of a victim, vulnerable person or child are shown only to the panel's
/// coordinators and to IDVAs on the panel (SECURITY.md §2.4 gives both `write`).
fn may_read_protected_contact(user: &AuthUser, panel: PanelId) -> bool {
    user.roles.iter().any(|r| r.panel_id == Some(panel) && matches!(r.role, Role::Coordinator | Role::Idva))
}

impl ParticipantResponse {
    pub fn render(role: ParticipantRole, p: PersonRow, user: &AuthUser, panel: PanelId) -> Self {
        let protected =
            matches!(role, ParticipantRole::Victim | ParticipantRole::VulnerablePerson | ParticipantRole::Child);
        let show = !protected || may_read_protected_contact(user, panel);
        let withheld = if show { Vec::new() } else { vec![TAG_VICTIM_ADDRESS, TAG_VICTIM_SAFE_CONTACT] };
        Self {
            role,
            person: PersonResponse {
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
                address_kind: show.then_some(p.address_kind),
                address: show.then_some(p.address),
                postcode: show.then_some(p.postcode),
                safe_to_contact: show.then_some(p.safe_to_contact),
                safe_contact_details: show.then_some(p.safe_contact_details),
                notes: p.notes,
                must_not_receive: p.must_not_receive,
                withheld,
            },
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchRequest {
    surname: String,
    forenames: Option<String>,
    date_of_birth: Option<NaiveDate>,
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
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<MatchRequest>,
) -> Result<HttpResponse, ApiError> {
    let req = body.into_inner();
    let mut p = Problems::default();
    let surname = p.check(required_text("surname", &req.surname, 200));
    let forenames = p.check(optional_text("forenames", req.forenames.as_deref(), 200));
    let key = p.finish(|| Some(person_key(&forenames?.unwrap_or_default(), &surname?)))?;
    let dob = req.date_of_birth;
    let rows = db::run(&state.pool, move |conn| Ok(person::likely_matches(conn, &user, &key, dob)?)).await?;
    let items = rows
        .into_iter()
        .map(|r| PersonMatch { id: r.id, surname: r.surname, forenames: r.forenames, date_of_birth: r.date_of_birth })
        .collect();
    Ok(HttpResponse::Ok().json(MatchResponse { items }))
}
