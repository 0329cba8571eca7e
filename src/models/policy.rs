//! The field-level policy (SECURITY.md §2.4) as stored and administered. The rows that apply to
//! a caller are read with its session on every request (`session::check_session`), so a change
//! counts on the next request; `AuthUser::field_access` applies them.

use diesel::prelude::*;

use crate::domain::{AgencyId, FieldAccess, FieldAccessLevel, Tag};
use crate::schema::{field_policy, field_policy_version};

/// One row of the policy.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Insertable, serde::Serialize, serde::Deserialize)]
#[diesel(table_name = field_policy)]
pub struct PolicyRow {
    pub subject_kind: String,
    pub subject: String,
    pub tag: Tag,
    pub access: FieldAccessLevel,
}

pub fn all_rows(conn: &mut PgConnection) -> QueryResult<(i32, Vec<PolicyRow>)> {
    let version: i32 = field_policy_version::table.select(field_policy_version::version).first(conn)?;
    let rows = field_policy::table
        .order((field_policy::subject_kind, field_policy::subject, field_policy::tag))
        .select((field_policy::subject_kind, field_policy::subject, field_policy::tag, field_policy::access))
        .load(conn)?;
    Ok((version, rows))
}

/// Replaces the whole policy and moves its version on.
pub fn replace(conn: &mut PgConnection, rows: &[PolicyRow], by: crate::domain::UserId) -> QueryResult<i32> {
    diesel::delete(field_policy::table).execute(conn)?;
    diesel::insert_into(field_policy::table).values(rows).execute(conn)?;
    diesel::update(field_policy_version::table)
        .set((
            field_policy_version::version.eq(field_policy_version::version + 1),
            field_policy_version::changed_at.eq(chrono::Utc::now()),
            field_policy_version::changed_by.eq(Some(by)),
        ))
        .returning(field_policy_version::version)
        .get_result(conn)
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
        let readable = self.fields.can_read_supplied_by(tag, supplier);
        let own = supplier.is_some() && supplier == self.fields.agency;
        let purpose_met = !tag.needs_purpose() || self.purpose_stated || (self.own_write && own);
        let shown = readable && purpose_met;
        if shown {
            if !self.disclosed.contains(&tag) {
                self.disclosed.push(tag);
            }
        } else if !withheld.contains(&tag.as_str()) {
            withheld.push(tag.as_str());
        }
        shown
    }

    pub fn fields(&self) -> &FieldAccess {
        &self.fields
    }

    /// The tags disclosed so far, for the audit event.
    pub fn disclosed(&self) -> Vec<Tag> {
        self.disclosed.clone()
    }
}
