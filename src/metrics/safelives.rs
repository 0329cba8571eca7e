//! The SafeLives national MARAC data return: per meeting of the quarter, the counts of the cases
//! heard (DOMAIN.md §8.6), and their totals; as JSON or CSV.

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Uuid as SqlUuid};
use serde::Serialize;

use super::{Builder, Count, ReportingPeriod, Suppression};
use crate::domain::PanelId;
use crate::models::panel::PanelRow;
use crate::referrers;

#[derive(QueryableByName)]
struct MeetingRow {
    #[diesel(sql_type = Date)]
    meeting_date: NaiveDate,
    #[diesel(sql_type = BigInt)]
    cases_discussed: i64,
    #[diesel(sql_type = BigInt)]
    repeat_cases: i64,
    #[diesel(sql_type = BigInt)]
    police_referrals: i64,
    #[diesel(sql_type = BigInt)]
    children_in_households: i64,
    #[diesel(sql_type = BigInt)]
    bame_victims: i64,
    #[diesel(sql_type = BigInt)]
    lgbt_victims: i64,
    #[diesel(sql_type = BigInt)]
    disabled_victims: i64,
    #[diesel(sql_type = BigInt)]
    male_victims: i64,
    #[diesel(sql_type = BigInt)]
    victims_16_17: i64,
    #[diesel(sql_type = BigInt)]
    perpetrators_17_or_under: i64,
}

/// The columns of the national MARAC data return, per meeting, in order.
pub const RETURN_COLUMNS: [&str; 11] = [
    "cases_discussed",
    "repeat_cases",
    "police_referrals",
    "partner_agency_referrals",
    "children_in_households",
    "bame_victims",
    "lgbt_victims",
    "disabled_victims",
    "male_victims",
    "victims_16_17",
    "perpetrators_17_or_under",
];

#[derive(Serialize)]
pub struct ReturnRow {
    pub meeting_date: Option<NaiveDate>,
    /// One cell per `RETURN_COLUMNS` entry.
    pub cells: Vec<Count>,
}

#[derive(Serialize)]
pub struct SafeLivesReturn {
    pub panel_id: PanelId,
    pub quarter: String,
    pub period: ReportingPeriod,
    pub columns: Vec<&'static str>,
    pub meetings: Vec<ReturnRow>,
    pub totals: ReturnRow,
    pub suppression: Suppression,
}

macro_rules! victim_exists {
    ($cond:literal) => {
        concat!(
            "EXISTS (SELECT 1 FROM case_participants cp JOIN people pe ON pe.id = cp.person_id
               WHERE cp.case_id = c.id AND cp.role = 'victim' AND ",
            $cond,
            ")"
        )
    };
}

/// The quarter's per-meeting counts of cases heard and their totals (DOMAIN.md §8.6: the
/// national return is collected per meeting).
pub fn safelives_return(
    conn: &mut PgConnection,
    panel: &PanelRow,
    quarter: &str,
    period: ReportingPeriod,
    suppress: bool,
) -> QueryResult<SafeLivesReturn> {
    let (from, to) = (period.from, period.to);
    let rows: Vec<MeetingRow> = diesel::sql_query(concat!(
        "SELECT m.meeting_date,
                count(*) AS cases_discussed,
                count(*) FILTER (WHERE c.is_repeat) AS repeat_cases,
                count(*) FILTER (WHERE EXISTS (SELECT 1 FROM agencies a WHERE a.id = ANY (",
        referrers!(),
        ") AND a.agency_type = 'police')) AS police_referrals,
                coalesce(sum(c.children_in_household), 0)::bigint AS children_in_households,
                count(*) FILTER (WHERE ",
        victim_exists!("pe.bame = 'yes'"),
        ") AS bame_victims,
                count(*) FILTER (WHERE ",
        victim_exists!("pe.lgbt = 'yes'"),
        ") AS lgbt_victims,
                count(*) FILTER (WHERE ",
        victim_exists!("pe.disability = 'yes'"),
        ") AS disabled_victims,
                count(*) FILTER (WHERE ",
        victim_exists!("pe.gender = 'male'"),
        ") AS male_victims,
                count(*) FILTER (WHERE ",
        victim_exists!("coalesce(cp.age_at_referral, date_part('year', age(c.referral_date, pe.date_of_birth))) BETWEEN 16 AND 17"),
        ") AS victims_16_17,
                coalesce(sum((SELECT count(*) FROM case_participants cp JOIN people pe ON pe.id = cp.person_id
                   WHERE cp.case_id = c.id AND cp.role = 'perpetrator'
                     AND coalesce(cp.age_at_referral, date_part('year', age(c.referral_date, pe.date_of_birth))) <= 17)), 0)::bigint AS perpetrators_17_or_under
           FROM meetings m
           JOIN agenda_items ai ON ai.meeting_id = m.id AND ai.outcome = 'heard'
           JOIN cases c ON c.id = ai.case_id
          WHERE m.panel_id = $1 AND m.meeting_date BETWEEN $2 AND $3 AND m.status IN ('held', 'minutes_circulated')
          GROUP BY m.id, m.meeting_date
          ORDER BY m.meeting_date, m.id"
    ))
    .bind::<SqlUuid, _>(panel.id.0)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .load(conn)?;
    let values: Vec<[i64; 11]> = rows
        .iter()
        .map(|r| {
            [
                r.cases_discussed,
                r.repeat_cases,
                r.police_referrals,
                r.cases_discussed - r.police_referrals,
                r.children_in_households,
                r.bame_victims,
                r.lgbt_victims,
                r.disabled_victims,
                r.male_victims,
                r.victims_16_17,
                r.perpetrators_17_or_under,
            ]
        })
        .collect();
    let mut b = Builder::new(suppress.then_some(i64::from(panel.settings.suppression_k)));
    // Every cell of a meeting describes the cases discussed there: where those are too few to
    // show, so is everything derived from them (SECURITY.md 2.6).
    let discussed: Vec<i64> = values.iter().map(|v| v[0]).collect();
    let total_discussed: i64 = discussed.iter().sum();
    // Suppress column by column, so a column total cannot give a hidden meeting's cell away.
    let mut cells: Vec<Vec<Count>> = vec![Vec::new(); values.len()];
    let mut totals = Vec::new();
    for (col, name) in RETURN_COLUMNS.iter().enumerate() {
        let column: Vec<(String, i64)> =
            values.iter().enumerate().map(|(i, v)| (format!("meeting[{i}]"), v[col])).collect();
        for (i, cell) in b.breakdown_over(name, column, &discussed).into_iter().enumerate() {
            cells[i].push(cell.count);
        }
        let total = values.iter().map(|v| v[col]).sum();
        totals.push(b.count_over(&format!("{name}.total"), &[total_discussed], total));
    }
    let meetings =
        rows.iter().zip(cells).map(|(r, cells)| ReturnRow { meeting_date: Some(r.meeting_date), cells }).collect();
    Ok(SafeLivesReturn {
        panel_id: panel.id,
        quarter: quarter.to_owned(),
        period,
        columns: RETURN_COLUMNS.to_vec(),
        meetings,
        totals: ReturnRow { meeting_date: None, cells: totals },
        suppression: Suppression { applied: suppress, k: panel.settings.suppression_k, suppressed: b.suppressed },
    })
}

impl SafeLivesReturn {
    /// The return as CSV: a header, a row per meeting, a total row; suppressed cells as `<k`.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("meeting_date");
        for c in &self.columns {
            out.push(',');
            out.push_str(c);
        }
        out.push('\n');
        let k = self.suppression.k;
        let cell = |c: &Count| match c.value {
            Some(v) => v.to_string(),
            None => format!("<{k}"),
        };
        for row in self.meetings.iter().chain(std::iter::once(&self.totals)) {
            out.push_str(&row.meeting_date.map_or("Total".to_owned(), |d| d.to_string()));
            for c in &row.cells {
                out.push(',');
                out.push_str(&cell(c));
            }
            out.push('\n');
        }
        out
    }
}
