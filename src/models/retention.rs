//! Retention (issue 15, DP-2): how long ended cases are kept, per kind of panel and per panel;
//! legal holds that stop erasure; the cases due; and their erasure by the database's own
//! `erase_case`, the one path by which append-only history is ever removed.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Date, Uuid as SqlUuid};
use uuid::Uuid;

use crate::domain::{CaseId, PanelId, PanelKind, PersonId, UserId};
use crate::schema::{legal_holds, panel_retention, retention_policies};

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = retention_policies)]
pub struct PolicyRow {
    pub panel_kind: PanelKind,
    pub years_after_end: i32,
    pub version: i32,
    pub updated_by: Option<UserId>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = panel_retention)]
pub struct PanelRetentionRow {
    pub panel_id: PanelId,
    pub years_after_end: i32,
    pub updated_by: UserId,
    pub updated_at: DateTime<Utc>,
}

pub fn policies(conn: &mut PgConnection) -> QueryResult<Vec<PolicyRow>> {
    retention_policies::table.order(retention_policies::panel_kind).select(PolicyRow::as_select()).load(conn)
}

pub fn panel_periods(conn: &mut PgConnection) -> QueryResult<Vec<PanelRetentionRow>> {
    panel_retention::table.order(panel_retention::panel_id).select(PanelRetentionRow::as_select()).load(conn)
}

/// Sets a kind's period, if `version` is current; `None` when it is not (or no such kind).
pub fn set_policy(
    conn: &mut PgConnection,
    kind: PanelKind,
    years: i32,
    version: i32,
    by: UserId,
) -> QueryResult<Option<PolicyRow>> {
    diesel::update(
        retention_policies::table
            .filter(retention_policies::panel_kind.eq(kind))
            .filter(retention_policies::version.eq(version)),
    )
    .set((
        retention_policies::years_after_end.eq(years),
        retention_policies::version.eq(version + 1),
        retention_policies::updated_by.eq(by),
        retention_policies::updated_at.eq(Utc::now()),
    ))
    .returning(PolicyRow::as_returning())
    .get_result(conn)
    .optional()
}

pub fn policy(conn: &mut PgConnection, kind: PanelKind) -> QueryResult<PolicyRow> {
    retention_policies::table.find(kind).select(PolicyRow::as_select()).first(conn)
}

/// Sets (`Some`) or removes (`None`) a panel's own period.
pub fn set_panel_period(conn: &mut PgConnection, panel: PanelId, years: Option<i32>, by: UserId) -> QueryResult<()> {
    match years {
        None => diesel::delete(panel_retention::table.find(panel)).execute(conn).map(drop),
        Some(years) => diesel::insert_into(panel_retention::table)
            .values((
                panel_retention::panel_id.eq(panel),
                panel_retention::years_after_end.eq(years),
                panel_retention::updated_by.eq(by),
            ))
            .on_conflict(panel_retention::panel_id)
            .do_update()
            .set((
                panel_retention::years_after_end.eq(years),
                panel_retention::updated_by.eq(by),
                panel_retention::updated_at.eq(Utc::now()),
            ))
            .execute(conn)
            .map(drop),
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = legal_holds)]
pub struct HoldRow {
    pub id: Uuid,
    pub case_id: CaseId,
    pub reason: String,
    pub placed_by: UserId,
    pub placed_at: DateTime<Utc>,
    pub lifted_by: Option<UserId>,
    pub lifted_at: Option<DateTime<Utc>>,
}

/// Places a hold; `None` when the case is held already.
pub fn place_hold(conn: &mut PgConnection, case: CaseId, reason: &str, by: UserId) -> QueryResult<Option<HoldRow>> {
    diesel::insert_into(legal_holds::table)
        .values((legal_holds::case_id.eq(case), legal_holds::reason.eq(reason), legal_holds::placed_by.eq(by)))
        .on_conflict_do_nothing()
        .returning(HoldRow::as_returning())
        .get_result(conn)
        .optional()
}

/// Lifts the case's hold; `NotFound` when it has none.
pub fn lift_hold(conn: &mut PgConnection, case: CaseId, by: UserId) -> QueryResult<HoldRow> {
    diesel::update(legal_holds::table.filter(legal_holds::case_id.eq(case)).filter(legal_holds::lifted_at.is_null()))
        .set((legal_holds::lifted_by.eq(by), legal_holds::lifted_at.eq(Utc::now())))
        .returning(HoldRow::as_returning())
        .get_result(conn)
}

/// Every hold the case has had, oldest first.
pub fn holds_of(conn: &mut PgConnection, case: CaseId) -> QueryResult<Vec<HoldRow>> {
    legal_holds::table
        .filter(legal_holds::case_id.eq(case))
        .order((legal_holds::placed_at, legal_holds::id))
        .select(HoldRow::as_select())
        .load(conn)
}

#[derive(Debug, Clone, QueryableByName)]
pub struct DueCase {
    #[diesel(sql_type = SqlUuid)]
    pub case_id: CaseId,
    #[diesel(sql_type = SqlUuid)]
    pub panel_id: PanelId,
    #[diesel(sql_type = Date)]
    pub ends_on: NaiveDate,
}

/// Up to `limit` cases whose retention ran out by `today`, not held and not erased yet, locked
/// for this transaction; cases another process holds locked are passed over, so two jobs at once
/// never take the same case.
pub fn due(conn: &mut PgConnection, today: NaiveDate, limit: i64) -> QueryResult<Vec<DueCase>> {
    diesel::sql_query(
        "SELECT r.case_id, r.panel_id, r.ends_on FROM case_retention r JOIN cases c ON c.id = r.case_id
          WHERE r.erased_at IS NULL AND NOT r.on_hold AND r.ends_on <= $1
          ORDER BY r.ends_on, r.case_id LIMIT $2 FOR UPDATE OF c SKIP LOCKED",
    )
    .bind::<Date, _>(today)
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .load(conn)
}

/// How many ended cases are held past their retention by a legal hold on `today`.
pub fn held_past_retention(conn: &mut PgConnection, today: NaiveDate) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let n: N = diesel::sql_query(
        "SELECT count(*) AS n FROM case_retention WHERE erased_at IS NULL AND on_hold AND ends_on <= $1",
    )
    .bind::<Date, _>(today)
    .get_result(conn)?;
    Ok(n.n)
}

#[derive(QueryableByName)]
struct Erased {
    #[diesel(sql_type = Array<SqlUuid>)]
    erased: Vec<Uuid>,
}

/// Erases a due case (see the migration's `erase_case`); the people erased with it.
pub fn erase(conn: &mut PgConnection, case: CaseId, today: NaiveDate) -> QueryResult<Vec<PersonId>> {
    let out: Erased = diesel::sql_query("SELECT erase_case($1, $2) AS erased")
        .bind::<SqlUuid, _>(case.0)
        .bind::<Date, _>(today)
        .get_result(conn)?;
    Ok(out.erased.into_iter().map(PersonId).collect())
}
