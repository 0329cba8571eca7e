//! Per-case exclusions: a named user kept out of one case (the rule itself is in `access`).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::domain::{CaseId, UserId};
use crate::schema::case_exclusions;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = case_exclusions)]
pub struct ExclusionRow {
    pub id: Uuid,
    pub case_id: CaseId,
    pub user_id: UserId,
    pub reason: String,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub lifted_by: Option<UserId>,
    pub lifted_at: Option<DateTime<Utc>>,
}

/// Excludes `user` from `case`; `None` when an exclusion already stands.
pub fn insert(
    conn: &mut PgConnection,
    case: CaseId,
    user: UserId,
    reason: &str,
    by: UserId,
) -> QueryResult<Option<ExclusionRow>> {
    diesel::insert_into(case_exclusions::table)
        .values((
            case_exclusions::case_id.eq(case),
            case_exclusions::user_id.eq(user),
            case_exclusions::reason.eq(reason),
            case_exclusions::created_by.eq(by),
        ))
        .on_conflict_do_nothing()
        .returning(ExclusionRow::as_returning())
        .get_result(conn)
        .optional()
}

/// Every exclusion of the case, standing and lifted, oldest first.
pub fn of_case(conn: &mut PgConnection, case: CaseId) -> QueryResult<Vec<ExclusionRow>> {
    case_exclusions::table
        .filter(case_exclusions::case_id.eq(case))
        .order((case_exclusions::created_at, case_exclusions::id))
        .select(ExclusionRow::as_select())
        .load(conn)
}

/// Lifts a standing exclusion of the case; `NotFound` when there is none with that id.
pub fn lift(conn: &mut PgConnection, case: CaseId, id: Uuid, by: UserId) -> QueryResult<ExclusionRow> {
    diesel::update(
        case_exclusions::table
            .filter(case_exclusions::id.eq(id))
            .filter(case_exclusions::case_id.eq(case))
            .filter(case_exclusions::lifted_at.is_null()),
    )
    .set((case_exclusions::lifted_by.eq(by), case_exclusions::lifted_at.eq(Utc::now())))
    .returning(ExclusionRow::as_returning())
    .get_result(conn)
}
