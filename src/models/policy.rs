//! The field-level policy (SECURITY.md §2.4), read from the `field_policy` table on every
//! request, so a change counts on the next request.

use std::collections::HashMap;

use diesel::prelude::*;

use crate::domain::{AgencyId, AgencyType, AuthUser, FieldAccessLevel, PanelId, Role, Tag};
use crate::schema::{agencies, field_policy, field_policy_version};

/// What one caller may do with each tag on one panel's cases.
#[derive(Debug, Clone, Default)]
pub struct FieldAccess {
    levels: HashMap<Tag, FieldAccessLevel>,
    /// The caller's organisation: `own` tags and provenance are judged against it.
    pub agency: Option<AgencyId>,
}

impl FieldAccess {
    pub fn can_read(&self, tag: Tag) -> bool {
        matches!(self.levels.get(&tag), Some(FieldAccessLevel::Read | FieldAccessLevel::Write))
    }

    pub fn can_write(&self, tag: Tag) -> bool {
        matches!(self.levels.get(&tag), Some(FieldAccessLevel::Write))
    }

    /// `own`: the caller's organisation's records only (research notes).
    pub fn own_only(&self, tag: Tag) -> bool {
        matches!(self.levels.get(&tag), Some(FieldAccessLevel::Own))
    }

    /// Read, or the caller's organisation supplied the value (SECURITY.md §2.4, provenance).
    pub fn can_read_supplied_by(&self, tag: Tag, supplier: Option<AgencyId>) -> bool {
        self.can_read(tag) || (supplier.is_some() && supplier == self.agency)
    }
}

/// The policy subjects a user acts as on a panel: its panel roles (coordinator, chair) and, for
/// agency reps and IDVAs, its organisation's type.
fn subjects(conn: &mut PgConnection, user: &AuthUser, panel: PanelId) -> QueryResult<Vec<(&'static str, String)>> {
    let here = user.roles_on(panel);
    let mut out = Vec::new();
    for role in [Role::Coordinator, Role::Chair] {
        if here.contains(&role) {
            out.push(("role", role.as_str().to_owned()));
        }
    }
    if here.iter().any(|r| matches!(r, Role::AgencyRep | Role::Idva))
        && let Some(agency) = user.agency_id
    {
        let t: AgencyType = agencies::table.find(agency).select(agencies::agency_type).first(conn)?;
        out.push(("agency_type", t.as_str().to_owned()));
    }
    Ok(out)
}

/// The caller's access to each tag on `panel`'s cases: the strongest any of its subjects has.
pub fn field_access(conn: &mut PgConnection, user: &AuthUser, panel: PanelId) -> QueryResult<FieldAccess> {
    let mut levels: HashMap<Tag, FieldAccessLevel> = HashMap::new();
    for (kind, subject) in subjects(conn, user, panel)? {
        let rows: Vec<(Tag, FieldAccessLevel)> = field_policy::table
            .filter(field_policy::subject_kind.eq(kind))
            .filter(field_policy::subject.eq(subject))
            .select((field_policy::tag, field_policy::access))
            .load(conn)?;
        for (tag, level) in rows {
            let stronger = matches!(
                (levels.get(&tag), level),
                (None, _)
                    | (Some(FieldAccessLevel::Own), FieldAccessLevel::Read | FieldAccessLevel::Write)
                    | (Some(FieldAccessLevel::Read), FieldAccessLevel::Write)
            );
            if stronger {
                levels.insert(tag, level);
            }
        }
    }
    Ok(FieldAccess { levels, agency: user.agency_id })
}

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
