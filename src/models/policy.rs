//! The field-level policy (SECURITY.md §2.4) as stored and administered. The rows that apply to
//! a caller are read with its session on every request (`session::check_session`), so a change
//! counts on the next request; `AuthUser::field_access` applies them.

use diesel::prelude::*;

use crate::domain::{FieldAccessLevel, Tag};
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
