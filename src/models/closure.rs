//! Closure requests: on a panel that requires it, a coordinator's closure waits for a chair's
//! approval (DOMAIN.md §6.1). Decided requests stay on record.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::domain::{CaseId, ClosureCategory, ClosureDecision, UserId};
use crate::schema::case_closure_requests;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = case_closure_requests)]
pub struct ClosureRequestRow {
    pub id: Uuid,
    pub case_id: CaseId,
    pub categories: Vec<ClosureCategory>,
    pub reason: String,
    pub closed_on: NaiveDate,
    pub requested_by: UserId,
    pub requested_at: DateTime<Utc>,
    pub decision: Option<ClosureDecision>,
    pub decision_reason: Option<String>,
    pub decided_by: Option<UserId>,
    pub decided_at: Option<DateTime<Utc>>,
}

/// Records a closure awaiting approval; `None` when one is already pending for the case.
pub fn request(
    conn: &mut PgConnection,
    case: CaseId,
    categories: &[ClosureCategory],
    reason: &str,
    closed_on: NaiveDate,
    by: UserId,
) -> QueryResult<Option<ClosureRequestRow>> {
    diesel::insert_into(case_closure_requests::table)
        .values((
            case_closure_requests::case_id.eq(case),
            case_closure_requests::categories.eq(categories),
            case_closure_requests::reason.eq(reason),
            case_closure_requests::closed_on.eq(closed_on),
            case_closure_requests::requested_by.eq(by),
        ))
        .on_conflict_do_nothing()
        .returning(ClosureRequestRow::as_returning())
        .get_result(conn)
        .optional()
}

/// Every closure request of the case, oldest first.
pub fn of_case(conn: &mut PgConnection, case: CaseId) -> QueryResult<Vec<ClosureRequestRow>> {
    case_closure_requests::table
        .filter(case_closure_requests::case_id.eq(case))
        .order((case_closure_requests::requested_at, case_closure_requests::id))
        .select(ClosureRequestRow::as_select())
        .load(conn)
}

/// One request of the case; `NotFound` when the case has none with that id.
pub fn get(conn: &mut PgConnection, case: CaseId, id: Uuid) -> QueryResult<ClosureRequestRow> {
    case_closure_requests::table
        .filter(case_closure_requests::id.eq(id))
        .filter(case_closure_requests::case_id.eq(case))
        .select(ClosureRequestRow::as_select())
        .first(conn)
}

/// Records the decision on a pending request.
pub fn decide(
    conn: &mut PgConnection,
    id: Uuid,
    decision: ClosureDecision,
    reason: Option<&str>,
    by: UserId,
) -> QueryResult<ClosureRequestRow> {
    diesel::update(
        case_closure_requests::table
            .filter(case_closure_requests::id.eq(id))
            .filter(case_closure_requests::decision.is_null()),
    )
    .set((
        case_closure_requests::decision.eq(decision),
        case_closure_requests::decision_reason.eq(reason),
        case_closure_requests::decided_by.eq(by),
        case_closure_requests::decided_at.eq(Utc::now()),
    ))
    .returning(ClosureRequestRow::as_returning())
    .get_result(conn)
}

/// Declines what is still pending for the case (it ended another way: `case::ended`).
pub fn decline_pending(conn: &mut PgConnection, case: CaseId, reason: &str, by: UserId) -> QueryResult<usize> {
    diesel::update(
        case_closure_requests::table
            .filter(case_closure_requests::case_id.eq(case))
            .filter(case_closure_requests::decision.is_null()),
    )
    .set((
        case_closure_requests::decision.eq(ClosureDecision::Declined),
        case_closure_requests::decision_reason.eq(reason),
        case_closure_requests::decided_by.eq(by),
        case_closure_requests::decided_at.eq(Utc::now()),
    ))
    .execute(conn)
}
