//! Data-quality flags: what an imported register did not record about a case, kept until a
//! coordinator resolves it.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::domain::{CaseId, DataQualityKind, PanelId, UserId};
use crate::schema::{cases, data_quality_flags};

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = data_quality_flags)]
pub struct FlagRow {
    pub id: Uuid,
    pub case_id: CaseId,
    pub kind: DataQualityKind,
    pub import_id: Option<Uuid>,
    pub line: Option<i32>,
    /// What the register said, where the flag keeps it (an open line's outcome).
    pub detail: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Flags `case` with `kind` (once: a second flag of the kind is a no-op).
pub fn flag(
    conn: &mut PgConnection,
    panel: PanelId,
    case: CaseId,
    kind: DataQualityKind,
    import: Option<Uuid>,
    line: Option<i32>,
    detail: Option<&str>,
) -> QueryResult<()> {
    diesel::insert_into(data_quality_flags::table)
        .values((
            data_quality_flags::panel_id.eq(panel),
            data_quality_flags::case_id.eq(case),
            data_quality_flags::kind.eq(kind),
            data_quality_flags::import_id.eq(import),
            data_quality_flags::line.eq(line),
            data_quality_flags::detail.eq(detail),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .map(drop)
}

/// The panel's open flags with each case's reference, oldest first (then by line and kind).
pub fn open_on(conn: &mut PgConnection, panel: PanelId) -> QueryResult<Vec<(FlagRow, String)>> {
    data_quality_flags::table
        .inner_join(cases::table)
        .filter(data_quality_flags::panel_id.eq(panel))
        .filter(data_quality_flags::resolved_at.is_null())
        .order((
            data_quality_flags::created_at,
            data_quality_flags::line,
            data_quality_flags::kind,
            data_quality_flags::id,
        ))
        .select((FlagRow::as_select(), cases::reference))
        .load(conn)
}

/// Resolves an open flag of the panel; `NotFound` when there is none with that id.
pub fn resolve(conn: &mut PgConnection, panel: PanelId, id: Uuid, by: UserId) -> QueryResult<FlagRow> {
    diesel::update(
        data_quality_flags::table
            .filter(data_quality_flags::id.eq(id))
            .filter(data_quality_flags::panel_id.eq(panel))
            .filter(data_quality_flags::resolved_at.is_null()),
    )
    .set((data_quality_flags::resolved_by.eq(by), data_quality_flags::resolved_at.eq(Utc::now())))
    .returning(FlagRow::as_returning())
    .get_result(conn)
}
