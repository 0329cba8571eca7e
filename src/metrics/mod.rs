//! Manager metrics (DOMAIN.md §8): every figure computed by SQL aggregates over the stored
//! records, returned with its numerator and denominator, rounded once to 1 dp (half away from
//! zero, in integer arithmetic), and suppressed below k for managers (DOMAIN.md §8.7).
//!
//! By concern: `period` (the reporting period, as clients ask for it), `suppression` (rounding,
//! small-number suppression), `panel` (a panel's figures), `safelives` (the national quarterly
//! return), `compare` (panels side by side against the period before). The SQL helpers they share
//! are here.

mod compare;
mod panel;
mod period;
mod safelives;
mod suppression;

pub use compare::{Change, PanelComparison, compare_panel};
pub use panel::{PanelMetrics, panel_metrics};
pub use period::{AskedPeriod, ReportingPeriod};
pub use safelives::{RETURN_COLUMNS, ReturnRow, SafeLivesReturn, safelives_return};
pub use suppression::{Builder, Cell, Count, Rate, WeightedCell, pct_1dp, ratio_1dp};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Uuid as SqlUuid};
use serde::Serialize;

use crate::domain::PanelId;

/// Whether small numbers were suppressed in an answer, at which k, and which paths.
#[derive(Serialize)]
pub struct Suppression {
    applied: bool,
    k: i16,
    suppressed: Vec<String>,
}

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// A count query over the panel and period: `$1` panel, `$2` from, `$3` to.
fn count(conn: &mut PgConnection, sql: &str, panel: PanelId, period: ReportingPeriod) -> QueryResult<i64> {
    diesel::sql_query(sql)
        .bind::<SqlUuid, _>(panel.0)
        .bind::<Date, _>(period.from)
        .bind::<Date, _>(period.to)
        .get_result::<N>(conn)
        .map(|r| r.n)
}

/// Agenda items heard at meetings of the panel held in the period (a case heard twice counts
/// twice). A macro, so queries stay string literals (SECURITY.md IN-13: no `format!` into SQL).
#[macro_export]
macro_rules! heard {
    () => {
        "SELECT ai.case_id, m.meeting_date FROM agenda_items ai JOIN meetings m ON m.id = ai.meeting_id
          WHERE m.panel_id = $1 AND m.meeting_date BETWEEN $2 AND $3
            AND m.status IN ('held', 'minutes_circulated') AND ai.outcome = 'heard'"
    };
}

/// Every organisation that referred a case `c`: its referring agency (NULL where a register did
/// not record it, reported as `not_recorded`) and its co-referrers.
#[macro_export]
macro_rules! referrers {
    () => {
        "array_prepend(c.referring_agency_id, c.co_referring_agency_ids)"
    };
}

/// Actions of the panel due in the period, cancelled ones left out.
#[macro_export]
macro_rules! due {
    () => {
        "FROM actions x JOIN agencies a ON a.id = x.owner_agency_id
          WHERE x.panel_id = $1 AND x.due_date BETWEEN $2 AND $3 AND x.status <> 'cancelled'"
    };
}
