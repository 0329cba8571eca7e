//! What may be disclosed of case content (SECURITY.md §2.4): the one declaration of which values
//! carry which sensitivity tag (`DECLARED`), and the `Redactor` that applies a caller's field
//! access to them while a response is rendered.
//!
//! The declaration is used for writes (`tags_written`: which tags a request body would write, for
//! the field policy's check and for provenance), for reads (`redact` on a rendered record,
//! `shown` for a single value) and for search (`whole_record_tag`: a person whose record is
//! withheld cannot be found by it either). A tagged field is one entry here, plus the column that
//! records who supplied it (`models::person::Provenance`, `cases.safety_plan_supplied_by`).

use serde_json::{Map, Value};

use crate::domain::{AgencyId, FieldAccess, ParticipantRole, RiskTool, Tag};
use crate::error::{ApiError, FieldProblem};

/// Whose values a declaration covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    /// A person on a case in one of these roles.
    Person(&'static [ParticipantRole]),
    /// The case itself.
    Case,
    /// A risk assessment made with this tool.
    Assessment(RiskTool),
    /// An organisation's research note on a case.
    ResearchNote,
}

/// The record a response renders, as the declaration sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Person(ParticipantRole),
    Case,
    Assessment(RiskTool),
    ResearchNote,
}

impl Holder {
    fn covers(self, subject: Subject) -> bool {
        match (self, subject) {
            (Holder::Person(roles), Subject::Person(role)) => roles.contains(&role),
            (Holder::Case, Subject::Case) => true,
            (Holder::Assessment(tool), Subject::Assessment(used)) => tool == used,
            (Holder::ResearchNote, Subject::ResearchNote) => true,
            _ => false,
        }
    }
}

/// Values that carry one tag.
#[derive(Debug)]
pub struct Tagged {
    pub tag: Tag,
    pub holder: Holder,
    /// The fields (keys of the record's JSON object, in requests and responses alike) that hold
    /// the tagged values.
    pub fields: &'static [&'static str],
    /// When these values are withheld the whole record is, but for these fields: a child's record
    /// is tagged as a whole.
    pub whole_record_but: Option<&'static [&'static str]>,
}

const ALL_ROLES: &[ParticipantRole] = ParticipantRole::ALL;
/// Roles whose address and safe-contact details carry the victim tags.
const PROTECTED: &[ParticipantRole] = &[ParticipantRole::Victim, ParticipantRole::VulnerablePerson];

/// The declaration: every tagged value of case content.
pub const DECLARED: &[Tagged] = &[
    Tagged {
        tag: Tag::Children,
        holder: Holder::Person(&[ParticipantRole::Child]),
        fields: &[
            "surname",
            "forenames",
            "aliases",
            "date_of_birth",
            "gender",
            "ethnicity",
            "bame",
            "disability",
            "lgbt",
            "school",
            "notes",
            "language",
            "interpreter_needed",
            "dates_of_birth",
            "addresses",
            "relationship_to_victim",
            "relationship_to_perpetrator",
        ],
        whole_record_but: Some(&["id", "must_not_receive"]),
    },
    Tagged {
        tag: Tag::VictimAddress,
        holder: Holder::Person(PROTECTED),
        fields: &["address", "postcode", "address_kind", "addresses"],
        whole_record_but: None,
    },
    Tagged {
        tag: Tag::VictimSafeContact,
        holder: Holder::Person(PROTECTED),
        fields: &["safe_contact_details", "safe_to_contact"],
        whole_record_but: None,
    },
    Tagged {
        tag: Tag::Health,
        holder: Holder::Person(ALL_ROLES),
        fields: &["health_notes", "gp_practice"],
        whole_record_but: None,
    },
    Tagged {
        tag: Tag::PerpetratorCriminal,
        holder: Holder::Person(ALL_ROLES),
        fields: &["criminal_history"],
        whole_record_but: None,
    },
    Tagged { tag: Tag::SafetyPlan, holder: Holder::Case, fields: &["safety_plan"], whole_record_but: None },
    Tagged {
        tag: Tag::DashAnswers,
        holder: Holder::Assessment(RiskTool::DashRic),
        fields: &["answers"],
        whole_record_but: None,
    },
    // A note is its organisation's own: a reader who may not read it is not told it exists
    // (`models::research_note` lists only the notes `shown` allows).
    Tagged { tag: Tag::ResearchNotes, holder: Holder::ResearchNote, fields: &["body"], whole_record_but: Some(&[]) },
];

/// The declarations covering `subject`, whole-record ones first.
fn covering(subject: Subject) -> impl Iterator<Item = &'static Tagged> {
    let whole = DECLARED.iter().filter(move |d| d.holder.covers(subject) && d.whole_record_but.is_some());
    let parts = DECLARED.iter().filter(move |d| d.holder.covers(subject) && d.whole_record_but.is_none());
    whole.chain(parts)
}

/// The tag that withholds `subject`'s whole record, if any (a child's).
pub fn whole_record_tag(subject: Subject) -> Option<Tag> {
    covering(subject).find(|d| d.whole_record_but.is_some()).map(|d| d.tag)
}

/// The tag a single field of `subject` carries, if it is tagged.
pub fn tag_of(subject: Subject, field: &str) -> Option<Tag> {
    covering(subject).find(|d| d.fields.contains(&field)).map(|d| d.tag)
}

/// The tags a request body for `subject` would write, each with the first field that carries it
/// (for the field policy's 403): a tag is written when the body holds any of its fields with a
/// value. `body` is the record's JSON object as the client sent it.
pub fn tags_written(subject: Subject, body: &Value) -> Vec<(Tag, &'static str)> {
    let carries =
        |field: &str| body.get(field).is_some_and(|v| !v.is_null() && !v.as_array().is_some_and(Vec::is_empty));
    covering(subject).filter_map(|d| d.fields.iter().copied().find(|f| carries(f)).map(|f| (d.tag, f))).collect()
}

/// 403 `field-not-writable` naming each field whose tag `fields` may not write; `written` pairs
/// each tag a request writes with the field (path) that carries it.
pub fn require_writable<F: Into<String>>(
    fields: &FieldAccess,
    written: impl IntoIterator<Item = (Tag, F)>,
) -> Result<(), ApiError> {
    let refused: Vec<FieldProblem> = written
        .into_iter()
        .filter(|(tag, _)| !fields.can_write(*tag))
        .map(|(tag, field)| FieldProblem::new(field, format!("not_writable:{}", tag.as_str())))
        .collect();
    if refused.is_empty() { Ok(()) } else { Err(ApiError::FieldsNotWritable(refused)) }
}

/// Applies the field policy to `record`, the rendered JSON object of `subject`: the fields of
/// each tag the caller may not read (or may not without a purpose) are removed, as is the whole
/// record but its kept fields when a whole-record tag is withheld. `supplier` names the
/// organisation that supplied a tag's values (provenance: it may always read them back). Only
/// tags whose fields the record carries are judged. Returns the tags withheld.
pub fn redact(
    subject: Subject,
    record: &mut Map<String, Value>,
    supplier: impl Fn(Tag) -> Option<AgencyId>,
    r: &mut Redactor,
) -> Vec<&'static str> {
    let mut withheld = Vec::new();
    for d in covering(subject) {
        if !d.fields.iter().any(|f| record.contains_key(*f)) {
            continue;
        }
        if r.allow(d.tag, supplier(d.tag), &mut withheld) {
            continue;
        }
        match d.whole_record_but {
            Some(kept) => {
                record.retain(|k, _| kept.contains(&k.as_str()));
                return withheld;
            }
            None => record.retain(|k, _| !d.fields.contains(&k.as_str())),
        }
    }
    withheld
}

/// Whether the single value `field` of `subject`, supplied by `supplier`, may be shown; a field
/// no declaration covers is core and always shown. Records a withheld tag in `withheld`.
pub fn shown(
    subject: Subject,
    field: &str,
    supplier: Option<AgencyId>,
    r: &mut Redactor,
    withheld: &mut Vec<&'static str>,
) -> bool {
    match covering(subject).find(|d| d.fields.contains(&field)) {
        Some(d) => r.allow(d.tag, supplier, withheld),
        None => true,
    }
}

/// Whether the value `field` of `subject` may be shown when each of `suppliers` supplied a
/// version of it (a change's earlier and later value): every one must be readable, and the tag
/// is recorded once, as disclosed only if all were.
pub fn shown_from_all(
    subject: Subject,
    field: &str,
    suppliers: &[Option<AgencyId>],
    r: &mut Redactor,
    withheld: &mut Vec<&'static str>,
) -> bool {
    match covering(subject).find(|d| d.fields.contains(&field)) {
        Some(d) => r.allow_all(d.tag, suppliers, withheld),
        None => true,
    }
}

/// Applies the field policy while a response is rendered: answers whether a tagged value may be
/// shown, and remembers which tags were disclosed (for the audit event) and withheld.
pub struct Redactor {
    fields: FieldAccess,
    /// A valid purpose was stated, so the tags that need one may be disclosed.
    purpose_stated: bool,
    /// The answer to the caller's own write: values its organisation supplied are shown without
    /// a purpose (they disclose nothing it did not send).
    own_write: bool,
    disclosed: Vec<Tag>,
}

impl Redactor {
    pub fn new(fields: FieldAccess, purpose_stated: bool) -> Self {
        Self { fields, purpose_stated, own_write: false, disclosed: Vec::new() }
    }

    /// For the answer to a write: the caller's own values come back without a purpose.
    pub fn for_own_write(fields: FieldAccess) -> Self {
        Self { fields, purpose_stated: false, own_write: true, disclosed: Vec::new() }
    }

    /// May the value tagged `tag`, supplied by `supplier`, be shown? Records the answer in
    /// `withheld` (the record's own list) or in the disclosed set.
    pub fn allow(&mut self, tag: Tag, supplier: Option<AgencyId>, withheld: &mut Vec<&'static str>) -> bool {
        self.allow_all(tag, &[supplier], withheld)
    }

    /// As `allow`, for values of one tag supplied by each of `suppliers`: shown only if all are.
    pub fn allow_all(&mut self, tag: Tag, suppliers: &[Option<AgencyId>], withheld: &mut Vec<&'static str>) -> bool {
        let shown = suppliers.iter().all(|&supplier| {
            let readable = self.fields.can_read_supplied_by(tag, supplier);
            let own = supplier.is_some() && supplier == self.fields.agency;
            readable && (!tag.needs_purpose() || self.purpose_stated || (self.own_write && own))
        });
        if shown {
            if !self.disclosed.contains(&tag) {
                self.disclosed.push(tag);
            }
        } else if !withheld.contains(&tag.as_str()) {
            withheld.push(tag.as_str());
        }
        shown
    }

    /// The tags disclosed so far, for the audit event.
    pub fn disclosed(&self) -> Vec<Tag> {
        self.disclosed.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_tag_is_declared_once_per_holder() {
        for tag in Tag::ALL {
            assert!(DECLARED.iter().any(|d| d.tag == *tag), "{tag:?} undeclared");
        }
        for (i, a) in DECLARED.iter().enumerate() {
            for b in &DECLARED[i + 1..] {
                let shared = a.fields.iter().any(|f| b.fields.contains(f));
                assert!(!(shared && a.holder == b.holder), "{:?} and {:?} share a field", a.tag, b.tag);
            }
        }
    }

    #[test]
    fn a_body_writes_the_tags_of_the_fields_it_fills() {
        let victim = Subject::Person(ParticipantRole::Victim);
        let body = json!({ "surname": "A", "postcode": "AB1 2CD", "health_notes": null, "aliases": [] });
        assert_eq!(tags_written(victim, &body), vec![(Tag::VictimAddress, "postcode")]);
        // A perpetrator's address is core; a child's record is tagged whatever it holds.
        assert!(tags_written(Subject::Person(ParticipantRole::Perpetrator), &body).is_empty());
        assert_eq!(tags_written(Subject::Person(ParticipantRole::Child), &body)[0], (Tag::Children, "surname"));
    }

    #[test]
    fn redaction_removes_withheld_fields_and_a_withheld_child_record_whole() {
        let mut nothing = Redactor::new(FieldAccess::default(), false);
        let person = json!({ "id": 1, "surname": "A", "address": "x", "health_notes": "y", "must_not_receive": false });
        let mut victim = person.as_object().unwrap().clone();
        let withheld = redact(Subject::Person(ParticipantRole::Victim), &mut victim, |_| None, &mut nothing);
        assert_eq!(withheld, vec!["victim.address", "health"]);
        assert!(
            victim.contains_key("surname") && !victim.contains_key("address") && !victim.contains_key("health_notes")
        );
        let mut child = person.as_object().unwrap().clone();
        let withheld = redact(Subject::Person(ParticipantRole::Child), &mut child, |_| None, &mut nothing);
        assert_eq!(withheld, vec!["children"]);
        assert_eq!(child.keys().map(String::as_str).collect::<Vec<_>>(), vec!["id", "must_not_receive"]);
        assert!(nothing.disclosed().is_empty());
    }
}
