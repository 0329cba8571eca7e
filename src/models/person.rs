//! People, recorded once and linked to cases in roles.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;

use crate::disclosure::{self, Subject};
use crate::domain::{
    AddressKind, AgencyId, AuthUser, CaseId, Gender, PanelId, ParticipantRole, PersonId, Tag, TriState, UserId,
};
use crate::models::{EditableValues, ValueChange, access};
use crate::schema::{case_participants, cases, people, person_field_changes};

#[derive(Debug, Clone, Queryable, Selectable, serde::Deserialize)]
#[diesel(table_name = people)]
pub struct PersonRow {
    pub id: PersonId,
    pub surname: String,
    pub forenames: String,
    pub aliases: Vec<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub gender: Gender,
    pub ethnicity: Option<String>,
    pub bame: TriState,
    pub disability: TriState,
    pub lgbt: TriState,
    pub address_kind: Option<AddressKind>,
    pub address: Option<String>,
    pub postcode: Option<String>,
    pub safe_to_contact: Option<bool>,
    pub safe_contact_details: Option<String>,
    pub notes: Option<String>,
    pub must_not_receive: bool,
    pub health_notes: Option<String>,
    pub criminal_history: Option<String>,
    pub school: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub interpreter_needed: Option<bool>,
    /// Tag health.
    #[serde(default)]
    pub gp_practice: Option<String>,
    #[diesel(embed)]
    #[serde(flatten)]
    pub provenance: Provenance,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A checked new person.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = people)]
pub struct NewPerson {
    pub surname: String,
    pub forenames: String,
    pub aliases: Vec<String>,
    pub normalized_name: String,
    pub date_of_birth: Option<NaiveDate>,
    pub gender: Gender,
    pub ethnicity: Option<String>,
    pub bame: TriState,
    pub disability: TriState,
    pub lgbt: TriState,
    pub address_kind: Option<AddressKind>,
    pub address: Option<String>,
    pub postcode: Option<String>,
    pub safe_to_contact: Option<bool>,
    pub safe_contact_details: Option<String>,
    pub notes: Option<String>,
    pub must_not_receive: bool,
    pub health_notes: Option<String>,
    pub criminal_history: Option<String>,
    pub school: Option<String>,
    pub language: Option<String>,
    pub interpreter_needed: Option<bool>,
    pub gp_practice: Option<String>,
    #[diesel(embed)]
    pub provenance: Provenance,
    pub created_by: UserId,
}

/// Which organisation supplied each tagged group of a person's values (SECURITY.md 2.4): read-back
/// is granted per value, so linking a known person to a new case gives the linking organisation
/// nothing it could not already read.
#[derive(Debug, Clone, Default, Queryable, Selectable, Insertable, serde::Deserialize)]
#[diesel(table_name = people)]
pub struct Provenance {
    /// Names, dates of birth and school: tagged `children` on a child's record.
    pub identity_supplied_by: Option<AgencyId>,
    pub address_supplied_by: Option<AgencyId>,
    pub safe_contact_supplied_by: Option<AgencyId>,
    pub health_supplied_by: Option<AgencyId>,
    pub criminal_supplied_by: Option<AgencyId>,
}

impl Provenance {
    /// The organisation that supplied this record's values tagged `tag` (the column beside each
    /// tagged group of `disclosure::DECLARED`).
    pub fn supplier_of(&self, tag: Tag) -> Option<AgencyId> {
        match tag {
            Tag::Children => self.identity_supplied_by,
            Tag::VictimAddress => self.address_supplied_by,
            Tag::VictimSafeContact => self.safe_contact_supplied_by,
            Tag::Health => self.health_supplied_by,
            Tag::PerpetratorCriminal => self.criminal_supplied_by,
            Tag::SafetyPlan | Tag::DashAnswers | Tag::ResearchNotes => None,
        }
    }

    /// A new record's provenance: `supplier` supplied its identity and the values of each tag in
    /// `written`.
    pub fn of_new(supplier: Option<AgencyId>, written: &[Tag]) -> Self {
        let by = |tag: Tag| written.contains(&tag).then_some(supplier).flatten();
        Self {
            identity_supplied_by: supplier,
            address_supplied_by: by(Tag::VictimAddress),
            safe_contact_supplied_by: by(Tag::VictimSafeContact),
            health_supplied_by: by(Tag::Health),
            criminal_supplied_by: by(Tag::PerpetratorCriminal),
        }
    }
}

/// The key people are matched on: forenames and surname, normalised.
pub fn name_key(forenames: &str, surname: &str) -> String {
    crate::domain::normalize_org_name(&format!("{forenames} {surname}"))
}

/// Whom a name (and perhaps a date of birth) from a register names among the people already known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonMatch {
    /// Nobody known by it.
    None,
    /// Exactly one visible person.
    One(PersonId),
    /// More than one: the register cannot say which.
    Several,
}

/// The people on the panel's cases (children aside) with exactly this name key and, when
/// `date_of_birth` is given, that date of birth or none recorded. A register carries no more
/// than a name and a date, so only an exact, unique match links a line to someone already known
/// on the panel; a near match is for a person to judge, as on a referral. Registers are imported
/// by the panel's staff, who see every case of the panel.
pub fn register_match(
    conn: &mut PgConnection,
    panel: PanelId,
    key: &str,
    date_of_birth: Option<NaiveDate>,
) -> QueryResult<PersonMatch> {
    let on_panel = case_participants::table
        .inner_join(cases::table)
        .filter(cases::panel_id.eq(panel))
        .filter(case_participants::role.ne(ParticipantRole::Child))
        .select(case_participants::person_id);
    let mut query = people::table
        .filter(people::normalized_name.eq(key))
        .filter(people::id.eq_any(on_panel))
        .select(people::id)
        .into_boxed();
    if let Some(dob) = date_of_birth {
        query = query.filter(people::date_of_birth.eq(dob).or(people::date_of_birth.is_null()));
    }
    let found: Vec<PersonId> = query.order((people::created_at, people::id)).limit(2).load(conn)?;
    Ok(match found[..] {
        [] => PersonMatch::None,
        [one] => PersonMatch::One(one),
        _ => PersonMatch::Several,
    })
}

pub fn exists(conn: &mut PgConnection, id: PersonId) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(people::table.find(id))).get_result(conn)
}

pub fn insert(conn: &mut PgConnection, new: &NewPerson) -> QueryResult<PersonId> {
    diesel::insert_into(people::table).values(new).returning(people::id).get_result(conn)
}

/// Which of `ids` the user may see (linked to a case they can see).
pub fn visible_among(conn: &mut PgConnection, user: &AuthUser, ids: &[PersonId]) -> QueryResult<Vec<PersonId>> {
    people::table
        .filter(people::id.eq_any(ids))
        .filter(people::id.eq_any(access::person_visible_ids(user)))
        .select(people::id)
        .load(conn)
}

diesel::define_sql_function! {
    /// pg_trgm: how well the first text matches some part of the second (0 to 1).
    fn word_similarity(a: diesel::sql_types::Text, b: diesel::sql_types::Text) -> diesel::sql_types::Float4;
}

/// How alike two names must be to be offered as the same person: one letter off in a surname
/// still matches, another surname does not.
const NAME_SIMILARITY: f32 = 0.6;

/// Dates of birth a record keyed in by hand may hold for `dob`: itself, day and month swapped,
/// and any two neighbouring digits of DDMMYYYY swapped (a transposition typo).
pub fn transposed_dates(dob: NaiveDate) -> Vec<NaiveDate> {
    let digits: Vec<char> = dob.format("%d%m%Y").to_string().chars().collect();
    let mut out = vec![dob];
    let mut candidates: Vec<String> = (0..digits.len() - 1)
        .map(|i| {
            let mut d = digits.clone();
            d.swap(i, i + 1);
            d.into_iter().collect()
        })
        .collect();
    candidates.push(dob.format("%m%d%Y").to_string());
    for c in candidates {
        if let Ok(date) = NaiveDate::parse_from_str(&c, "%d%m%Y")
            && !out.contains(&date)
        {
            out.push(date);
        }
    }
    out
}

/// Visible people whose name is like `normalized_name` (pg_trgm word similarity, so a surname
/// alone or a name one letter off matches) and whose date of birth is the same, a transposition
/// of it, or unknown on either side: the likely duplicates to offer before recording someone
/// again, most alike first. Only people whose names and date of birth the caller could read on a
/// case it can see are candidates (a child only where the field policy lets the caller read
/// `children`).
pub fn likely_matches(
    conn: &mut PgConnection,
    user: &AuthUser,
    normalized_name: &str,
    date_of_birth: Option<NaiveDate>,
) -> QueryResult<Vec<PersonRow>> {
    // A child's whole record carries a tag: where the caller may not read it, no child is found.
    let child_record = disclosure::whole_record_tag(Subject::Person(ParticipantRole::Child));
    let mut children_panels = Vec::new();
    for panel in access::member_panels(user) {
        if child_record.is_none_or(|tag| user.field_access(panel).can_read(tag)) {
            children_panels.push(panel);
        }
    }
    let likeness = word_similarity(normalized_name.to_owned(), people::normalized_name);
    let mut query = people::table
        .filter(likeness.clone().ge(NAME_SIMILARITY))
        .filter(people::id.eq_any(access::person_identity_visible_ids(user, children_panels)))
        .select(PersonRow::as_select())
        .into_boxed();
    if let Some(dob) = date_of_birth {
        query = query.filter(people::date_of_birth.eq_any(transposed_dates(dob)).or(people::date_of_birth.is_null()));
    }
    query.order((likeness.desc(), people::created_at, people::id)).limit(20).load(conn)
}

/// Marks people who must never receive case information.
pub fn mark_must_not_receive(conn: &mut PgConnection, ids: &[PersonId]) -> QueryResult<()> {
    diesel::update(people::table.filter(people::id.eq_any(ids)))
        .set(people::must_not_receive.eq(true))
        .execute(conn)
        .map(drop)
}

/// The participants of several cases, with their person records.
pub fn participants_of(
    conn: &mut PgConnection,
    cases: &[CaseId],
) -> QueryResult<Vec<(CaseId, ParticipantRole, PersonRow)>> {
    case_participants::table
        .inner_join(people::table)
        .filter(case_participants::case_id.eq_any(cases))
        .order((case_participants::case_id, case_participants::role, people::surname))
        .select((case_participants::case_id, case_participants::role, PersonRow::as_select()))
        .load(conn)
}

/// One place the caller sees a person: a case it can see, the person's role there, and whether
/// the caller sees that case in full (otherwise the research list).
#[derive(Debug)]
pub struct Sighting {
    pub case_id: CaseId,
    pub panel_id: PanelId,
    pub referring_agency_id: Option<AgencyId>,
    pub reference: String,
    pub role: ParticipantRole,
    pub ended_at: Option<DateTime<Utc>>,
    pub full: bool,
}

/// The person and where the caller sees them; `NotFound` when on no case it can see (alike
/// for a person who does not exist).
pub fn seen(conn: &mut PgConnection, user: &AuthUser, id: PersonId) -> QueryResult<(PersonRow, Vec<Sighting>)> {
    let seen_cases: Vec<(CaseId, PanelId, Option<AgencyId>, String, bool)> = cases::table
        .filter(cases::id.eq_any(
            case_participants::table.filter(case_participants::person_id.eq(id)).select(case_participants::case_id),
        ))
        .filter(access::case_visible(user))
        .order((cases::referral_date, cases::id))
        .select((
            cases::id,
            cases::panel_id,
            cases::referring_agency_id,
            cases::reference,
            access::case_fully_visible(user),
        ))
        .load(conn)?;
    let roles: Vec<(CaseId, ParticipantRole, Option<DateTime<Utc>>)> = case_participants::table
        .filter(case_participants::person_id.eq(id))
        .order(case_participants::role)
        .select((case_participants::case_id, case_participants::role, case_participants::ended_at))
        .load(conn)?;
    let sightings: Vec<Sighting> = seen_cases
        .into_iter()
        .flat_map(|(case_id, panel_id, referring_agency_id, reference, full)| {
            roles.iter().filter(move |(c, ..)| *c == case_id).map(move |(_, role, ended_at)| Sighting {
                case_id,
                panel_id,
                referring_agency_id,
                reference: reference.clone(),
                role: *role,
                ended_at: *ended_at,
                full,
            })
        })
        .collect();
    if sightings.is_empty() {
        return Err(diesel::result::Error::NotFound);
    }
    let person = people::table.find(id).select(PersonRow::as_select()).first(conn)?;
    Ok((person, sightings))
}

// ---------------------------------------------------------------- edits

/// What an edit sets on a person; `None` leaves a column as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = people)]
pub struct PersonChanges {
    pub surname: Option<String>,
    pub forenames: Option<String>,
    pub normalized_name: Option<String>,
    pub aliases: Option<Vec<String>>,
    pub date_of_birth: Option<Option<NaiveDate>>,
    pub gender: Option<Gender>,
    pub ethnicity: Option<Option<String>>,
    pub bame: Option<TriState>,
    pub disability: Option<TriState>,
    pub lgbt: Option<TriState>,
    pub address_kind: Option<Option<AddressKind>>,
    pub address: Option<Option<String>>,
    pub postcode: Option<Option<String>>,
    pub safe_to_contact: Option<Option<bool>>,
    pub safe_contact_details: Option<Option<String>>,
    pub notes: Option<Option<String>>,
    pub health_notes: Option<Option<String>>,
    pub criminal_history: Option<Option<String>>,
    pub school: Option<Option<String>>,
    pub language: Option<Option<String>>,
    pub interpreter_needed: Option<Option<bool>>,
    pub gp_practice: Option<Option<String>>,
    pub identity_supplied_by: Option<Option<AgencyId>>,
    pub address_supplied_by: Option<Option<AgencyId>>,
    pub safe_contact_supplied_by: Option<Option<AgencyId>>,
    pub health_supplied_by: Option<Option<AgencyId>>,
    pub criminal_supplied_by: Option<Option<AgencyId>>,
}

impl PersonChanges {
    /// `row` as it would stand with these changes.
    pub fn applied_to(&self, row: &PersonRow) -> PersonRow {
        fn set<T: Clone>(target: &mut T, change: &Option<T>) {
            if let Some(v) = change {
                *target = v.clone();
            }
        }
        let mut r = row.clone();
        set(&mut r.surname, &self.surname);
        set(&mut r.forenames, &self.forenames);
        set(&mut r.aliases, &self.aliases);
        set(&mut r.date_of_birth, &self.date_of_birth);
        set(&mut r.gender, &self.gender);
        set(&mut r.ethnicity, &self.ethnicity);
        set(&mut r.bame, &self.bame);
        set(&mut r.disability, &self.disability);
        set(&mut r.lgbt, &self.lgbt);
        set(&mut r.address_kind, &self.address_kind);
        set(&mut r.address, &self.address);
        set(&mut r.postcode, &self.postcode);
        set(&mut r.safe_to_contact, &self.safe_to_contact);
        set(&mut r.safe_contact_details, &self.safe_contact_details);
        set(&mut r.notes, &self.notes);
        set(&mut r.health_notes, &self.health_notes);
        set(&mut r.criminal_history, &self.criminal_history);
        set(&mut r.school, &self.school);
        set(&mut r.language, &self.language);
        set(&mut r.interpreter_needed, &self.interpreter_needed);
        set(&mut r.gp_practice, &self.gp_practice);
        set(&mut r.provenance.identity_supplied_by, &self.identity_supplied_by);
        set(&mut r.provenance.address_supplied_by, &self.address_supplied_by);
        set(&mut r.provenance.safe_contact_supplied_by, &self.safe_contact_supplied_by);
        set(&mut r.provenance.health_supplied_by, &self.health_supplied_by);
        set(&mut r.provenance.criminal_supplied_by, &self.criminal_supplied_by);
        r
    }

    /// Records `supplier` as the supplier of every group of values `tags` names.
    pub fn supplied_by(&mut self, supplier: Option<AgencyId>, tags: &[Tag]) {
        for tag in tags {
            match tag {
                Tag::Children => self.identity_supplied_by = Some(supplier),
                Tag::VictimAddress => self.address_supplied_by = Some(supplier),
                Tag::VictimSafeContact => self.safe_contact_supplied_by = Some(supplier),
                Tag::Health => self.health_supplied_by = Some(supplier),
                Tag::PerpetratorCriminal => self.criminal_supplied_by = Some(supplier),
                Tag::SafetyPlan | Tag::DashAnswers | Tag::ResearchNotes => {}
            }
        }
    }
}

/// The organisation that supplied `field`'s value: the supplier of the tag the field carries in
/// any role (names are tagged on a child's record, addresses on a victim's).
fn supplier_of_field(row: &PersonRow, field: &str) -> Option<AgencyId> {
    ParticipantRole::ALL
        .iter()
        .find_map(|role| disclosure::tag_of(Subject::Person(*role), field))
        .and_then(|tag| row.provenance.supplier_of(tag))
}

fn editable_values(r: &PersonRow) -> EditableValues {
    use serde_json::json;
    let values = vec![
        ("surname", json!(r.surname)),
        ("forenames", json!(r.forenames)),
        ("aliases", json!(r.aliases)),
        ("date_of_birth", json!(r.date_of_birth)),
        ("gender", json!(r.gender)),
        ("ethnicity", json!(r.ethnicity)),
        ("bame", json!(r.bame)),
        ("disability", json!(r.disability)),
        ("lgbt", json!(r.lgbt)),
        ("address_kind", json!(r.address_kind)),
        ("address", json!(r.address)),
        ("postcode", json!(r.postcode)),
        ("safe_to_contact", json!(r.safe_to_contact)),
        ("safe_contact_details", json!(r.safe_contact_details)),
        ("notes", json!(r.notes)),
        ("health_notes", json!(r.health_notes)),
        ("criminal_history", json!(r.criminal_history)),
        ("school", json!(r.school)),
        ("language", json!(r.language)),
        ("interpreter_needed", json!(r.interpreter_needed)),
        ("gp_practice", json!(r.gp_practice)),
    ];
    values.into_iter().map(|(field, value)| (field, value, supplier_of_field(r, field))).collect()
}

/// The values that differ between `before` and `after`.
pub fn changed_values(before: &PersonRow, after: &PersonRow) -> Vec<ValueChange> {
    super::changed_values(editable_values(before), editable_values(after))
}

/// Applies `changes` and keeps every earlier value, with the suppliers of both.
pub fn edit(
    conn: &mut PgConnection,
    current: &PersonRow,
    changes: &PersonChanges,
    changed: &[ValueChange],
    reason: Option<&str>,
    by: UserId,
) -> QueryResult<PersonRow> {
    let row = diesel::update(people::table.find(current.id))
        .set((changes, people::version.eq(people::version + 1), people::updated_at.eq(Utc::now())))
        .returning(PersonRow::as_returning())
        .get_result(conn)?;
    let kept: Vec<_> = changed
        .iter()
        .map(|c| {
            (
                person_field_changes::person_id.eq(current.id),
                person_field_changes::field.eq(c.field),
                person_field_changes::old_value.eq(&c.old),
                person_field_changes::new_value.eq(&c.new),
                person_field_changes::old_supplied_by.eq(c.old_supplied_by),
                person_field_changes::new_supplied_by.eq(c.new_supplied_by),
                person_field_changes::reason.eq(reason),
                person_field_changes::changed_by.eq(by),
            )
        })
        .collect();
    diesel::insert_into(person_field_changes::table).values(kept).execute(conn)?;
    Ok(row)
}

/// The person, locked for an edit (the caller has checked that it may see them).
pub fn get_for_update(conn: &mut PgConnection, id: PersonId) -> QueryResult<PersonRow> {
    people::table.find(id).select(PersonRow::as_select()).for_update().first(conn)
}

/// One kept change of a person's value.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = person_field_changes)]
pub struct PersonChangeRow {
    pub field: String,
    pub old_value: serde_json::Value,
    pub new_value: serde_json::Value,
    pub old_supplied_by: Option<AgencyId>,
    pub new_supplied_by: Option<AgencyId>,
    pub reason: Option<String>,
    pub changed_by: UserId,
    pub changed_at: DateTime<Utc>,
}

/// A person's kept changes, oldest first.
pub fn changes(conn: &mut PgConnection, id: PersonId) -> QueryResult<Vec<PersonChangeRow>> {
    person_field_changes::table
        .filter(person_field_changes::person_id.eq(id))
        .order((person_field_changes::changed_at, person_field_changes::id))
        .select(PersonChangeRow::as_select())
        .load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transposed_dates_of_birth_are_offered_and_other_dates_are_not() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let dates = transposed_dates(d("1990-04-01"));
        for expected in ["1990-04-01", "1990-01-04", "1990-04-10", "1909-04-01"] {
            assert!(dates.contains(&d(expected)), "{expected}: {dates:?}");
        }
        assert!(!dates.contains(&d("1991-04-01")));
        assert!(!dates.contains(&d("1990-05-01")));
    }
}
