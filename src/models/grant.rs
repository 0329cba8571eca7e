//! Per-case grants (SECURITY.md §2.4, the `G` cells): one organisation may read one tag on one
//! case until the grant's expiry date (London time), the case's end or a revocation. Reads apply
//! them through `FieldAccess::on_case`.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Date};
use uuid::Uuid;

use crate::domain::{AgencyId, CaseId, GrantEndReason, Tag, UserId};
use crate::schema::case_grants;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = case_grants)]
pub struct GrantRow {
    pub id: Uuid,
    pub case_id: CaseId,
    pub agency_id: AgencyId,
    pub tag: Tag,
    pub reason: String,
    pub expires_on: NaiveDate,
    pub granted_by: UserId,
    pub granted_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub ended_by: Option<UserId>,
    pub end_reason: Option<GrantEndReason>,
}

/// Today in London, the day a grant's expiry date is judged by.
const LONDON_TODAY: &str = "(now() AT TIME ZONE 'Europe/London')::date";

/// True for grants that hold now. The case read checks the same in SQL (`case::CONTENTS_SQL`).
fn standing() -> Box<dyn BoxableExpression<case_grants::table, Pg, SqlType = Bool>> {
    Box::new(case_grants::ended_at.is_null().and(case_grants::expires_on.ge(super::fragment::<Date>(LONDON_TODAY))))
}

pub struct NewGrant<'a> {
    pub case: CaseId,
    pub agency: AgencyId,
    pub tag: Tag,
    pub reason: &'a str,
    pub expires_on: NaiveDate,
}

/// Records a grant; `None` when one already holds for the organisation and tag on the case. A
/// grant past its expiry that was never ended is ended first, so it does not block a new one.
pub fn insert(conn: &mut PgConnection, new: &NewGrant<'_>, by: UserId) -> QueryResult<Option<GrantRow>> {
    diesel::update(
        case_grants::table
            .filter(case_grants::case_id.eq(new.case))
            .filter(case_grants::agency_id.eq(new.agency))
            .filter(case_grants::tag.eq(new.tag))
            .filter(case_grants::ended_at.is_null())
            .filter(case_grants::expires_on.lt(super::fragment::<Date>(LONDON_TODAY))),
    )
    .set((case_grants::ended_at.eq(Utc::now()), case_grants::end_reason.eq(GrantEndReason::Expired)))
    .execute(conn)?;
    diesel::insert_into(case_grants::table)
        .values((
            case_grants::case_id.eq(new.case),
            case_grants::agency_id.eq(new.agency),
            case_grants::tag.eq(new.tag),
            case_grants::reason.eq(new.reason),
            case_grants::expires_on.eq(new.expires_on),
            case_grants::granted_by.eq(by),
        ))
        .on_conflict_do_nothing()
        .returning(GrantRow::as_returning())
        .get_result(conn)
        .optional()
}

/// Every grant of the case, standing and ended, oldest first.
pub fn of_case(conn: &mut PgConnection, case: CaseId) -> QueryResult<Vec<GrantRow>> {
    case_grants::table
        .filter(case_grants::case_id.eq(case))
        .order((case_grants::granted_at, case_grants::id))
        .select(GrantRow::as_select())
        .load(conn)
}

/// The grants holding now on each of `cases` for `agency`.
pub fn standing_for(
    conn: &mut PgConnection,
    cases: &[CaseId],
    agency: Option<AgencyId>,
) -> QueryResult<Vec<(CaseId, AgencyId, Tag)>> {
    let Some(agency) = agency else { return Ok(Vec::new()) };
    case_grants::table
        .filter(case_grants::case_id.eq_any(cases))
        .filter(case_grants::agency_id.eq(agency))
        .filter(standing())
        .select((case_grants::case_id, case_grants::agency_id, case_grants::tag))
        .load(conn)
}

/// The (organisation, tag) pairs granted on one case among `standing_for`'s answer.
pub fn on(case: CaseId, standing: &[(CaseId, AgencyId, Tag)]) -> Vec<(AgencyId, Tag)> {
    standing.iter().filter(|(c, _, _)| *c == case).map(|(_, agency, tag)| (*agency, *tag)).collect()
}

/// Revokes a standing grant of the case; `NotFound` when there is none with that id.
pub fn revoke(conn: &mut PgConnection, case: CaseId, id: Uuid, by: UserId) -> QueryResult<GrantRow> {
    diesel::update(
        case_grants::table
            .filter(case_grants::id.eq(id))
            .filter(case_grants::case_id.eq(case))
            .filter(case_grants::ended_at.is_null()),
    )
    .set((
        case_grants::ended_at.eq(Utc::now()),
        case_grants::ended_by.eq(by),
        case_grants::end_reason.eq(GrantEndReason::Revoked),
    ))
    .returning(GrantRow::as_returning())
    .get_result(conn)
}

/// Ends every grant still open on a case that has ended.
pub fn end_all(conn: &mut PgConnection, case: CaseId) -> QueryResult<usize> {
    diesel::update(case_grants::table.filter(case_grants::case_id.eq(case)).filter(case_grants::ended_at.is_null()))
        .set((case_grants::ended_at.eq(Utc::now()), case_grants::end_reason.eq(GrantEndReason::CaseEnded)))
        .execute(conn)
}

/// `user`'s access to each tag on one case of `panel`: the field policy, with the grants standing
/// on the case for the user's organisation.
pub fn field_access(
    conn: &mut PgConnection,
    user: &crate::domain::AuthUser,
    panel: crate::domain::PanelId,
    case: CaseId,
) -> QueryResult<crate::domain::FieldAccess> {
    let standing = standing_for(conn, &[case], user.agency_id)?;
    Ok(user.field_access(panel).on_case(&on(case, &standing)))
}
