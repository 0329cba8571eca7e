//! MARAC-to-MARAC transfers (DOMAIN.md §6.1): the record of a case leaving for, or arriving
//! from, another area.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::domain::{CaseId, PanelId, TransferDirection, UserId};
use crate::schema::{case_transfers, cases};

#[derive(Debug, Clone, Queryable, Selectable, serde::Deserialize)]
#[diesel(table_name = case_transfers)]
pub struct TransferRow {
    pub id: Uuid,
    pub case_id: CaseId,
    pub direction: TransferDirection,
    pub other_area: String,
    pub other_panel_id: Option<PanelId>,
    pub other_case_id: Option<CaseId>,
    pub other_reference: Option<String>,
    pub transferred_on: NaiveDate,
    pub reason: String,
    pub idva_handover_to: Option<String>,
    pub idva_handover_on: Option<NaiveDate>,
    pub recorded_by: UserId,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = case_transfers)]
pub struct NewTransfer {
    pub case_id: CaseId,
    pub direction: TransferDirection,
    pub other_area: String,
    pub other_panel_id: Option<PanelId>,
    pub other_case_id: Option<CaseId>,
    pub other_reference: Option<String>,
    pub transferred_on: NaiveDate,
    pub reason: String,
    pub idva_handover_to: Option<String>,
    pub idva_handover_on: Option<NaiveDate>,
    pub recorded_by: UserId,
}

pub fn insert(conn: &mut PgConnection, new: &NewTransfer) -> QueryResult<TransferRow> {
    diesel::insert_into(case_transfers::table).values(new).returning(TransferRow::as_returning()).get_result(conn)
}

/// The area each of `cases` arrived from, for those that came by transfer.
pub fn origins(conn: &mut PgConnection, cases: &[CaseId]) -> QueryResult<HashMap<CaseId, String>> {
    let rows: Vec<(CaseId, String)> = case_transfers::table
        .filter(case_transfers::case_id.eq_any(cases))
        .filter(case_transfers::direction.eq(TransferDirection::In))
        .select((case_transfers::case_id, case_transfers::other_area))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// The transfer that took `case` out (`Out`) or brought it in (`In`, naming the case it left
/// when that is on this system); a case has at most one of each.
pub fn of_case_in(
    conn: &mut PgConnection,
    case: CaseId,
    direction: TransferDirection,
) -> QueryResult<Option<TransferRow>> {
    case_transfers::table
        .filter(case_transfers::case_id.eq(case))
        .filter(case_transfers::direction.eq(direction))
        .select(TransferRow::as_select())
        .first(conn)
        .optional()
}

/// Transfers of `panel`'s cases in each direction dated within the period.
pub fn counts(conn: &mut PgConnection, panel: PanelId, from: NaiveDate, to: NaiveDate) -> QueryResult<(i64, i64)> {
    let rows: Vec<(TransferDirection, i64)> = case_transfers::table
        .filter(case_transfers::case_id.eq_any(cases::table.filter(cases::panel_id.eq(panel)).select(cases::id)))
        .filter(case_transfers::transferred_on.between(from, to))
        .group_by(case_transfers::direction)
        .select((case_transfers::direction, diesel::dsl::count_star()))
        .load(conn)?;
    let of = |d| rows.iter().find(|(dir, _)| *dir == d).map_or(0, |(_, n)| *n);
    Ok((of(TransferDirection::In), of(TransferDirection::Out)))
}
