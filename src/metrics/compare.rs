//! Panels side by side: each count for the period and for the same number of days just before,
//! with the change between them.

use diesel::prelude::*;
use serde::Serialize;

use super::{Builder, Count, ReportingPeriod, Suppression, count, pct_1dp};
use crate::domain::{PanelId, PanelKind};
use crate::models::panel::PanelRow;
use crate::{due, heard};

#[derive(Serialize)]
pub struct Change {
    pub current: Count,
    pub previous: Count,
    /// (current − previous) / previous × 100 to 1 dp; null when previous is 0 or a count is hidden.
    pub pct_change: Option<f64>,
}

#[derive(Serialize)]
pub struct PanelComparison {
    pub panel_id: PanelId,
    pub kind: PanelKind,
    pub name: String,
    pub referrals_received: Change,
    pub cases_heard: Change,
    pub meetings_held: Change,
    pub repeat_cases_heard: Change,
    pub actions_due: Change,
    pub cases_closed: Change,
    pub suppression: Suppression,
}

fn change(b: &mut Builder, path: &str, current: i64, previous: i64) -> Change {
    let current_cell = b.count(&format!("{path}.current"), current);
    let previous_cell = b.count(&format!("{path}.previous"), previous);
    let shown = !current_cell.suppressed && !previous_cell.suppressed;
    Change {
        pct_change: if shown { pct_1dp(current - previous, previous) } else { None },
        current: current_cell,
        previous: previous_cell,
    }
}

/// One panel's counts for `period` and for the same number of days just before.
pub fn compare_panel(
    conn: &mut PgConnection,
    panel: &PanelRow,
    period: ReportingPeriod,
    suppress: bool,
) -> QueryResult<PanelComparison> {
    let mut b = Builder::new(suppress.then_some(i64::from(panel.settings.suppression_k)));
    let both = |conn: &mut PgConnection, sql: &str| -> QueryResult<(i64, i64)> {
        Ok((count(conn, sql, panel.id, period)?, count(conn, sql, panel.id, period.previous())?))
    };
    let referred =
        both(conn, "SELECT count(*) AS n FROM cases WHERE panel_id = $1 AND referral_date BETWEEN $2 AND $3")?;
    let heard = both(conn, concat!("SELECT count(*) AS n FROM (", heard!(), ") h"))?;
    let meetings = both(
        conn,
        "SELECT count(*) AS n FROM meetings WHERE panel_id = $1 AND meeting_date BETWEEN $2 AND $3
           AND status IN ('held', 'minutes_circulated')",
    )?;
    let repeats = both(
        conn,
        concat!("SELECT count(*) AS n FROM (", heard!(), ") h JOIN cases c ON c.id = h.case_id WHERE c.is_repeat"),
    )?;
    let due = both(conn, concat!("SELECT count(*) AS n ", due!()))?;
    let closed = both(conn, "SELECT count(*) AS n FROM cases WHERE panel_id = $1 AND closed_on BETWEEN $2 AND $3")?;
    Ok(PanelComparison {
        panel_id: panel.id,
        kind: panel.kind,
        name: panel.name.clone(),
        referrals_received: change(&mut b, "referrals_received", referred.0, referred.1),
        cases_heard: change(&mut b, "cases_heard", heard.0, heard.1),
        meetings_held: change(&mut b, "meetings_held", meetings.0, meetings.1),
        repeat_cases_heard: change(&mut b, "repeat_cases_heard", repeats.0, repeats.1),
        actions_due: change(&mut b, "actions_due", due.0, due.1),
        cases_closed: change(&mut b, "cases_closed", closed.0, closed.1),
        suppression: Suppression { applied: suppress, k: panel.settings.suppression_k, suppressed: b.suppressed },
    })
}
