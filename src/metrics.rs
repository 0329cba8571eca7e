//! Manager metrics (DOMAIN.md §8): every figure computed by SQL aggregates over the stored
//! records, returned with its numerator and denominator, rounded once to 1 dp (half away from
//! zero, in integer arithmetic), and suppressed below k for managers (DOMAIN.md §8.7).

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Double, Nullable, Text, Uuid as SqlUuid};
use serde::Serialize;

use crate::domain::{PanelId, PanelKind};
use crate::models::panel::PanelRow;

/// `num / den × 100` to 1 dp, half away from zero; `None` when `den` is 0.
pub fn pct_1dp(num: i64, den: i64) -> Option<f64> {
    ratio_1dp(num * 100, den)
}

/// `num / den` to 1 dp, half away from zero, in integers so no binary rounding flips a 5.
pub fn ratio_1dp(num: i64, den: i64) -> Option<f64> {
    if den == 0 {
        return None;
    }
    let (n, d) = (i128::from(num) * 10, i128::from(den));
    let negative = (n < 0) != (d < 0);
    let (n, d) = (n.abs(), d.abs());
    let mut q = n / d;
    if (n % d) * 2 >= d {
        q += 1;
    }
    let tenths = if negative { -q } else { q };
    Some(tenths as f64 / 10.0)
}

/// A count, or a suppressed cell.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Count {
    pub value: Option<i64>,
    pub suppressed: bool,
}

/// A rate with the counts it is built from.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Rate {
    pub numerator: Option<i64>,
    pub denominator: Option<i64>,
    pub value: Option<f64>,
    pub suppressed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub key: String,
    pub count: Count,
}

/// Builds the answer, applying suppression (k) when asked and noting every suppressed path.
pub struct Builder {
    k: Option<i64>,
    pub suppressed: Vec<String>,
}

impl Builder {
    pub fn new(suppress_below: Option<i64>) -> Self {
        Self { k: suppress_below, suppressed: Vec::new() }
    }

    fn hides(&self, n: i64) -> bool {
        self.k.is_some_and(|k| n > 0 && n < k)
    }

    pub fn count(&mut self, path: &str, n: i64) -> Count {
        if self.hides(n) {
            self.suppressed.push(path.to_owned());
            Count { value: None, suppressed: true }
        } else {
            Count { value: Some(n), suppressed: false }
        }
    }

    /// A percentage of two counts; suppressed when either count is.
    pub fn pct(&mut self, path: &str, num: i64, den: i64) -> Rate {
        self.rate(path, num, den, pct_1dp(num, den))
    }

    /// A plain ratio (cases per meeting); suppressed when either count is.
    pub fn ratio(&mut self, path: &str, num: i64, den: i64) -> Rate {
        self.rate(path, num, den, ratio_1dp(num, den))
    }

    /// A rate over `basis` counts whose numerator and denominator are not themselves counts of
    /// people (sums of scores, a count scaled to a population): suppressed when any basis count is.
    pub fn pct_over(&mut self, path: &str, basis: &[i64], num: i64, den: i64) -> Rate {
        self.rate_over(path, basis, num, den, pct_1dp(num, den))
    }

    pub fn ratio_over(&mut self, path: &str, basis: &[i64], num: i64, den: i64) -> Rate {
        self.rate_over(path, basis, num, den, ratio_1dp(num, den))
    }

    /// A count of something about the people counted in `basis` (their children, the unknowns
    /// among them): suppressed when it or any basis count is (SECURITY.md 2.6).
    pub fn count_over(&mut self, path: &str, basis: &[i64], n: i64) -> Count {
        if self.hides_any(basis) {
            self.suppressed.push(path.to_owned());
            Count { value: None, suppressed: true }
        } else {
            self.count(path, n)
        }
    }

    /// Any other figure derived from the counts in `basis` (a sum, a median): `None`, and noted,
    /// when any of them is suppressed.
    pub fn derived<T>(&mut self, path: &str, basis: &[i64], value: Option<T>) -> Option<T> {
        if self.hides_any(basis) {
            self.suppressed.push(path.to_owned());
            None
        } else {
            value
        }
    }

    fn hides_any(&self, counts: &[i64]) -> bool {
        counts.iter().any(|n| self.hides(*n))
    }

    fn rate_over(&mut self, path: &str, basis: &[i64], num: i64, den: i64, value: Option<f64>) -> Rate {
        if self.hides_any(basis) {
            self.suppressed.push(path.to_owned());
            Rate { numerator: None, denominator: None, value: None, suppressed: true }
        } else {
            Rate { numerator: Some(num), denominator: Some(den), value, suppressed: false }
        }
    }

    fn rate(&mut self, path: &str, num: i64, den: i64, value: Option<f64>) -> Rate {
        if self.hides(num) || self.hides(den) {
            self.suppressed.push(path.to_owned());
            Rate { numerator: None, denominator: None, value: None, suppressed: true }
        } else {
            Rate { numerator: Some(num), denominator: Some(den), value, suppressed: false }
        }
    }

    /// A breakdown whose cells sum to a shown total: if suppression hides exactly one cell, the
    /// next smallest is hidden too, so the total cannot give the hidden one away.
    pub fn breakdown(&mut self, path: &str, rows: Vec<(String, i64)>) -> Vec<Cell> {
        let none = vec![0; rows.len()];
        self.breakdown_over(path, rows, &none)
    }

    /// As `breakdown`, where row `i` also hides when `basis[i]` (the people it describes) does.
    pub fn breakdown_over(&mut self, path: &str, rows: Vec<(String, i64)>, basis: &[i64]) -> Vec<Cell> {
        let mut hidden: Vec<bool> =
            rows.iter().zip(basis).map(|((_, n), of)| self.hides(*n) || self.hides(*of)).collect();
        if self.k.is_some() && hidden.iter().filter(|h| **h).count() == 1 {
            let next = rows
                .iter()
                .enumerate()
                .filter(|(i, (_, n))| !hidden[*i] && *n > 0)
                .min_by_key(|(_, (_, n))| *n)
                .map(|(i, _)| i);
            if let Some(i) = next {
                hidden[i] = true;
            }
        }
        rows.into_iter()
            .zip(hidden)
            .map(|((key, n), hide)| {
                if hide {
                    self.suppressed.push(format!("{path}.{key}"));
                    Cell { key, count: Count { value: None, suppressed: true } }
                } else {
                    Cell { key, count: Count { value: Some(n), suppressed: false } }
                }
            })
            .collect()
    }
}

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// A count query over the panel and period: `$1` panel, `$2` from, `$3` to.
fn count(conn: &mut PgConnection, sql: &str, panel: PanelId, from: NaiveDate, to: NaiveDate) -> QueryResult<i64> {
    diesel::sql_query(sql)
        .bind::<SqlUuid, _>(panel.0)
        .bind::<Date, _>(from)
        .bind::<Date, _>(to)
        .get_result::<N>(conn)
        .map(|r| r.n)
}

/// Agenda items heard at meetings of the panel held in the period (a case heard twice counts
/// twice). A macro, so queries stay string literals (SECURITY.md IN-13: no `format!` into SQL).
macro_rules! heard {
    () => {
        "SELECT ai.case_id, m.meeting_date FROM agenda_items ai JOIN meetings m ON m.id = ai.meeting_id
          WHERE m.panel_id = $1 AND m.meeting_date BETWEEN $2 AND $3
            AND m.status IN ('held', 'minutes_circulated') AND ai.outcome = 'heard'"
    };
}

/// Actions of the panel due in the period, cancelled ones left out.
macro_rules! due {
    () => {
        "FROM actions x JOIN agencies a ON a.id = x.owner_agency_id
          WHERE x.panel_id = $1 AND x.due_date BETWEEN $2 AND $3 AND x.status <> 'cancelled'"
    };
}

#[derive(Serialize)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

#[derive(Serialize)]
pub struct Volume {
    referrals_received: Count,
    referrals_rejected: Count,
    meetings_held: Count,
    cases_heard: Count,
    cases_per_meeting: Rate,
    heard_per_referral: Rate,
}

#[derive(Serialize)]
pub struct Diversity {
    /// Denominator for every share: cases heard. Unknowns stay in it and are counted beside.
    bame: Rate,
    bame_unknown: Count,
    lgbt: Rate,
    lgbt_unknown: Count,
    disability: Rate,
    disability_unknown: Count,
    male_victims: Rate,
    victims_aged_16_17: Rate,
    perpetrators_aged_17_or_under: Count,
    children_in_households: Count,
}

#[derive(Serialize)]
pub struct Population {
    cases_per_10000_adult_females: Option<Rate>,
    recommended_cases: Option<f64>,
    adult_female_population_16_plus: Option<i32>,
    note: Option<&'static str>,
}

#[derive(Serialize)]
pub struct RiskReduction {
    cases_counted: Count,
    cases_left_out_missing_score: Count,
    entry_sum: Option<i64>,
    exit_sum: Option<i64>,
    change_pct: Rate,
    cases_whose_score_fell: Rate,
}

#[derive(Serialize)]
pub struct Actions {
    due: Count,
    completed_on_time: Count,
    completed_late: Count,
    not_completed_change_of_circumstance: Count,
    not_completed_agency_not_actioned: Count,
    overdue_now: Count,
    completion_rate: Rate,
    due_by_owner_agency: Vec<Cell>,
}

#[derive(Serialize)]
pub struct Breakdowns {
    /// Referrals received in the period by current status.
    status: Vec<Cell>,
    area: Vec<Cell>,
    /// A case counts once per vulnerability, so this can sum to more than the cases.
    vulnerability: Vec<Cell>,
    referring_agency_type: Vec<Cell>,
    /// Cases closed in the period, once per category.
    closure_category: Vec<Cell>,
    issue_category: Vec<Cell>,
}

#[derive(Serialize)]
pub struct Time {
    median_days_referral_to_first_hearing: Option<f64>,
    median_days_referral_to_closure: Option<f64>,
}

#[derive(Serialize)]
pub struct Suppression {
    applied: bool,
    k: i16,
    suppressed: Vec<String>,
}

#[derive(Serialize)]
pub struct PanelMetrics {
    panel_id: PanelId,
    kind: PanelKind,
    period: Period,
    volume: Volume,
    repeat_rate: Rate,
    referral_routes: Vec<Cell>,
    non_police_referral_share: Rate,
    diversity: Diversity,
    population: Population,
    risk_reduction: Option<RiskReduction>,
    breakdowns: Breakdowns,
    actions: Actions,
    time: Time,
    suppression: Suppression,
}

/// Everything counted over the cases heard in the period, in one pass: a case heard twice counts
/// twice, as in the national return.
#[derive(QueryableByName)]
struct HeardFigures {
    #[diesel(sql_type = BigInt)]
    heard: i64,
    #[diesel(sql_type = BigInt)]
    meetings: i64,
    #[diesel(sql_type = BigInt)]
    repeats_heard: i64,
    #[diesel(sql_type = BigInt)]
    police_heard: i64,
    #[diesel(sql_type = BigInt)]
    bame: i64,
    #[diesel(sql_type = BigInt)]
    bame_unknown: i64,
    #[diesel(sql_type = BigInt)]
    lgbt: i64,
    #[diesel(sql_type = BigInt)]
    lgbt_unknown: i64,
    #[diesel(sql_type = BigInt)]
    disability: i64,
    #[diesel(sql_type = BigInt)]
    disability_unknown: i64,
    #[diesel(sql_type = BigInt)]
    male: i64,
    #[diesel(sql_type = BigInt)]
    aged_16_17: i64,
    #[diesel(sql_type = BigInt)]
    young_perpetrators: i64,
    #[diesel(sql_type = BigInt)]
    children: i64,
}

fn heard_figures(conn: &mut PgConnection, panel: PanelId, from: NaiveDate, to: NaiveDate) -> QueryResult<HeardFigures> {
    diesel::sql_query(concat!(
        "WITH h AS (",
        heard!(),
        "), hc AS (
            SELECT c.id, c.is_repeat, c.children_in_household, c.referral_date, a.agency_type
              FROM h JOIN cases c ON c.id = h.case_id LEFT JOIN agencies a ON a.id = c.referring_agency_id)
         SELECT count(*) AS heard,
                (SELECT count(*) FROM meetings WHERE panel_id = $1 AND meeting_date BETWEEN $2 AND $3
                    AND status IN ('held', 'minutes_circulated')) AS meetings,
                count(*) FILTER (WHERE hc.is_repeat) AS repeats_heard,
                count(*) FILTER (WHERE hc.agency_type = 'police') AS police_heard,
                count(*) FILTER (WHERE v.bame) AS bame,
                count(*) FILTER (WHERE v.bame_unknown) AS bame_unknown,
                count(*) FILTER (WHERE v.lgbt) AS lgbt,
                count(*) FILTER (WHERE v.lgbt_unknown) AS lgbt_unknown,
                count(*) FILTER (WHERE v.disability) AS disability,
                count(*) FILTER (WHERE v.disability_unknown) AS disability_unknown,
                count(*) FILTER (WHERE v.male) AS male,
                count(*) FILTER (WHERE v.aged_16_17) AS aged_16_17,
                coalesce(sum(v.young_perpetrators), 0)::bigint AS young_perpetrators,
                coalesce(sum(hc.children_in_household), 0)::bigint AS children
           FROM hc
           LEFT JOIN LATERAL (
             SELECT bool_or(pe.bame = 'yes') FILTER (WHERE cp.role <> 'perpetrator') AS bame,
                    bool_or(pe.bame = 'unknown') FILTER (WHERE cp.role <> 'perpetrator') AS bame_unknown,
                    bool_or(pe.lgbt = 'yes') FILTER (WHERE cp.role <> 'perpetrator') AS lgbt,
                    bool_or(pe.lgbt = 'unknown') FILTER (WHERE cp.role <> 'perpetrator') AS lgbt_unknown,
                    bool_or(pe.disability = 'yes') FILTER (WHERE cp.role <> 'perpetrator') AS disability,
                    bool_or(pe.disability = 'unknown') FILTER (WHERE cp.role <> 'perpetrator') AS disability_unknown,
                    bool_or(pe.gender = 'male') FILTER (WHERE cp.role <> 'perpetrator') AS male,
                    bool_or(date_part('year', age(hc.referral_date, pe.date_of_birth)) BETWEEN 16 AND 17)
                      FILTER (WHERE cp.role = 'victim') AS aged_16_17,
                    count(*) FILTER (WHERE cp.role = 'perpetrator'
                      AND date_part('year', age(hc.referral_date, pe.date_of_birth)) <= 17) AS young_perpetrators
               FROM case_participants cp JOIN people pe ON pe.id = cp.person_id
              WHERE cp.case_id = hc.id AND cp.role IN ('victim', 'vulnerable_person', 'perpetrator')) v ON true"
    ))
    .bind::<SqlUuid, _>(panel.0)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .get_result(conn)
}

#[derive(QueryableByName)]
struct DimKeyN {
    #[diesel(sql_type = Text)]
    dim: String,
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Every breakdown of the panel-period in one statement: (breakdown name → [(key, count)]),
/// keys in order.
fn breakdowns(
    conn: &mut PgConnection,
    panel: PanelId,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<std::collections::HashMap<String, Vec<(String, i64)>>> {
    let rows: Vec<DimKeyN> = diesel::sql_query(concat!(
        "WITH referred AS (SELECT * FROM cases WHERE panel_id = $1 AND referral_date BETWEEN $2 AND $3)
         SELECT 'status' AS dim, status AS key, count(*) AS n FROM referred GROUP BY status
         UNION ALL
         SELECT 'area', coalesce(ward_code, area_text, 'not recorded'), count(*) FROM referred GROUP BY 2
         UNION ALL
         SELECT 'vulnerability', v, count(*) FROM referred, unnest(vulnerabilities) v GROUP BY v
         UNION ALL
         SELECT 'referring_agency_type', a.agency_type, count(*)
           FROM referred c JOIN agencies a ON a.id = c.referring_agency_id GROUP BY a.agency_type
         UNION ALL
         SELECT 'issue_category', i, count(*) FROM referred, unnest(issue_categories) i GROUP BY i
         UNION ALL
         SELECT 'closure_category', cc, count(*) FROM cases, unnest(closure_categories) cc
          WHERE panel_id = $1 AND closed_on BETWEEN $2 AND $3 GROUP BY cc
         UNION ALL
         SELECT 'referral_route', a.agency_type, count(*) FROM (",
        heard!(),
        ") h JOIN cases c ON c.id = h.case_id JOIN agencies a ON a.id = c.referring_agency_id GROUP BY a.agency_type
         UNION ALL
         SELECT 'due_by_owner_agency', a.name, count(*) ",
        due!(),
        " GROUP BY a.name
         ORDER BY 1, 2"
    ))
    .bind::<SqlUuid, _>(panel.0)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .load(conn)?;
    let mut out: std::collections::HashMap<String, Vec<(String, i64)>> = std::collections::HashMap::new();
    for r in rows {
        out.entry(r.dim).or_default().push((r.key, r.n));
    }
    Ok(out)
}

#[derive(QueryableByName)]
struct ActionFigures {
    #[diesel(sql_type = BigInt)]
    due: i64,
    #[diesel(sql_type = BigInt)]
    on_time: i64,
    #[diesel(sql_type = BigInt)]
    late: i64,
    #[diesel(sql_type = BigInt)]
    change: i64,
    #[diesel(sql_type = BigInt)]
    failed: i64,
    #[diesel(sql_type = BigInt)]
    overdue: i64,
}

#[derive(QueryableByName)]
struct Medians {
    #[diesel(sql_type = Nullable<Double>)]
    to_first_hearing: Option<f64>,
    /// The cases behind the median: a median of fewer than k is one of them.
    #[diesel(sql_type = BigInt)]
    first_hearings: i64,
    #[diesel(sql_type = Nullable<Double>)]
    to_closure: Option<f64>,
    #[diesel(sql_type = BigInt)]
    closures: i64,
}

/// The panel's actions due in the period by outcome, and those overdue today.
fn action_figures(
    conn: &mut PgConnection,
    panel: PanelId,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<ActionFigures> {
    diesel::sql_query(concat!(
        "SELECT count(*) AS due,
                count(*) FILTER (WHERE x.status = 'completed' AND x.completed_on <= x.due_date) AS on_time,
                count(*) FILTER (WHERE x.status = 'completed' AND x.completed_on > x.due_date) AS late,
                count(*) FILTER (WHERE x.status = 'not_completed_change_of_circumstance') AS change,
                count(*) FILTER (WHERE x.status = 'not_completed_agency_not_actioned') AS failed,
                (SELECT count(*) FROM actions o WHERE o.panel_id = $1 AND o.status IN ('open', 'in_progress')
                    AND o.due_date < (now() AT TIME ZONE 'Europe/London')::date) AS overdue ",
        due!()
    ))
    .bind::<SqlUuid, _>(panel.0)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .get_result(conn)
}

/// Median days from referral to first hearing and to closure, to 1 dp.
fn medians(conn: &mut PgConnection, panel: PanelId, from: NaiveDate, to: NaiveDate) -> QueryResult<Medians> {
    let m: Medians = diesel::sql_query(
        // A case first heard in the period was heard in it: its first hearing is looked up
        // among those cases only, not among every case the panel ever heard.
        concat!(
            "SELECT fh.median AS to_first_hearing, fh.n AS first_hearings, cl.median AS to_closure, cl.n AS closures
               FROM (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY f.first - c.referral_date) AS median, count(*) AS n
                       FROM cases c JOIN (
                         SELECT ai.case_id, min(m.meeting_date) AS first FROM agenda_items ai JOIN meetings m ON m.id = ai.meeting_id
                          WHERE ai.case_id IN (SELECT case_id FROM (", heard!(), ") h)
                            AND m.panel_id = $1 AND ai.outcome = 'heard' AND m.status IN ('held', 'minutes_circulated')
                          GROUP BY ai.case_id) f ON f.case_id = c.id
                      WHERE f.first BETWEEN $2 AND $3) fh,
                    (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY closed_on - referral_date) AS median, count(*) AS n
                       FROM cases WHERE panel_id = $1 AND closed_on BETWEEN $2 AND $3) cl"
        )
    )
    .bind::<SqlUuid, _>(panel.0)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .get_result(conn)?;
    let one_dp = |v: Option<f64>| v.map(|v| (v * 10.0).round() / 10.0);
    Ok(Medians { to_first_hearing: one_dp(m.to_first_hearing), to_closure: one_dp(m.to_closure), ..m })
}

/// Computes a panel's figures for `[from, to]`; `suppress` applies small-number suppression.
pub fn panel_metrics(
    conn: &mut PgConnection,
    panel: &PanelRow,
    from: NaiveDate,
    to: NaiveDate,
    suppress: bool,
) -> QueryResult<PanelMetrics> {
    let k = i64::from(panel.settings.suppression_k);
    let mut b = Builder::new(suppress.then_some(k));
    let p = panel.id;

    let h = heard_figures(conn, p, from, to)?;
    let mut breakdowns = breakdowns(conn, p, from, to)?;
    let status = breakdowns.remove("status").unwrap_or_default();
    let referred: i64 = status.iter().map(|(_, n)| n).sum();
    let rejected = status.iter().find(|(k, _)| k == "rejected").map_or(0, |(_, n)| *n);
    let heard = h.heard;
    let routes = breakdowns.remove("referral_route").unwrap_or_default();

    // Rates per 10,000 adult females always run over the 12 months to the period end.
    let population = match panel.settings.adult_female_population_16_plus {
        Some(pop) => {
            let heard_12m = count(
                conn,
                concat!("SELECT count(*) AS n FROM (", heard!(), ") h"),
                p,
                to - chrono::Duration::days(364),
                to,
            )?;
            Population {
                cases_per_10000_adult_females: Some(b.ratio_over(
                    "population.cases_per_10000_adult_females",
                    &[heard_12m],
                    heard_12m * 10_000,
                    i64::from(pop),
                )),
                recommended_cases: ratio_1dp(40 * i64::from(pop), 10_000),
                adult_female_population_16_plus: Some(pop),
                note: None,
            }
        }
        None => Population {
            cases_per_10000_adult_females: None,
            recommended_cases: None,
            adult_female_population_16_plus: None,
            note: Some("the panel's adult female population (16+) is not set"),
        },
    };

    let risk_reduction =
        if panel.kind == PanelKind::Cmarac { Some(risk_reduction(conn, &mut b, p, from, to)?) } else { None };

    let actions = action_figures(conn, p, from, to)?;
    let medians = medians(conn, p, from, to)?;
    let mut breakdown = |name: &str| breakdowns.remove(name).unwrap_or_default();
    let (area, vulnerability, agency_type) =
        (breakdown("area"), breakdown("vulnerability"), breakdown("referring_agency_type"));
    let (closure, issue, by_owner) =
        (breakdown("closure_category"), breakdown("issue_category"), breakdown("due_by_owner_agency"));

    Ok(PanelMetrics {
        panel_id: p,
        kind: panel.kind,
        period: Period { from, to },
        volume: Volume {
            referrals_received: b.count("volume.referrals_received", referred),
            referrals_rejected: b.count("volume.referrals_rejected", rejected),
            meetings_held: b.count("volume.meetings_held", h.meetings),
            cases_heard: b.count("volume.cases_heard", heard),
            cases_per_meeting: b.ratio("volume.cases_per_meeting", heard, h.meetings),
            heard_per_referral: b.pct("volume.heard_per_referral", heard, referred),
        },
        repeat_rate: b.pct("repeat_rate", h.repeats_heard, heard),
        referral_routes: b.breakdown("referral_routes", routes),
        non_police_referral_share: b.pct("non_police_referral_share", heard - h.police_heard, heard),
        diversity: Diversity {
            bame: b.pct("diversity.bame", h.bame, heard),
            bame_unknown: b.count_over("diversity.bame_unknown", &[heard], h.bame_unknown),
            lgbt: b.pct("diversity.lgbt", h.lgbt, heard),
            lgbt_unknown: b.count_over("diversity.lgbt_unknown", &[heard], h.lgbt_unknown),
            disability: b.pct("diversity.disability", h.disability, heard),
            disability_unknown: b.count_over("diversity.disability_unknown", &[heard], h.disability_unknown),
            male_victims: b.pct("diversity.male_victims", h.male, heard),
            victims_aged_16_17: b.pct("diversity.victims_aged_16_17", h.aged_16_17, heard),
            perpetrators_aged_17_or_under: b.count_over(
                "diversity.perpetrators_aged_17_or_under",
                &[heard],
                h.young_perpetrators,
            ),
            children_in_households: b.count_over("diversity.children_in_households", &[heard], h.children),
        },
        population,
        risk_reduction,
        breakdowns: Breakdowns {
            status: b.breakdown("breakdowns.status", status),
            area: b.breakdown("breakdowns.area", area),
            vulnerability: b.breakdown("breakdowns.vulnerability", vulnerability),
            referring_agency_type: b.breakdown("breakdowns.referring_agency_type", agency_type),
            closure_category: b.breakdown("breakdowns.closure_category", closure),
            issue_category: b.breakdown("breakdowns.issue_category", issue),
        },
        actions: Actions {
            due: b.count("actions.due", actions.due),
            completed_on_time: b.count("actions.completed_on_time", actions.on_time),
            completed_late: b.count("actions.completed_late", actions.late),
            not_completed_change_of_circumstance: b
                .count("actions.not_completed_change_of_circumstance", actions.change),
            not_completed_agency_not_actioned: b.count("actions.not_completed_agency_not_actioned", actions.failed),
            overdue_now: b.count("actions.overdue_now", actions.overdue),
            completion_rate: b.pct("actions.completion_rate", actions.on_time + actions.late, actions.due),
            due_by_owner_agency: b.breakdown("actions.due_by_owner_agency", by_owner),
        },
        time: Time {
            median_days_referral_to_first_hearing: b.derived(
                "time.median_days_referral_to_first_hearing",
                &[medians.first_hearings],
                medians.to_first_hearing,
            ),
            median_days_referral_to_closure: b.derived(
                "time.median_days_referral_to_closure",
                &[medians.closures],
                medians.to_closure,
            ),
        },
        suppression: Suppression { applied: suppress, k: panel.settings.suppression_k, suppressed: b.suppressed },
    })
}

#[derive(QueryableByName)]
struct Reduction {
    #[diesel(sql_type = BigInt)]
    counted: i64,
    #[diesel(sql_type = BigInt)]
    left_out: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    entry_sum: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    exit_sum: Option<i64>,
    #[diesel(sql_type = BigInt)]
    fell: i64,
}

/// DOMAIN.md §8.2: over CMARAC cases closed in the period with both scores from the same tool
/// version, the first entry score and the last exit score.
fn risk_reduction(
    conn: &mut PgConnection,
    b: &mut Builder,
    panel: PanelId,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<RiskReduction> {
    let r: Reduction = diesel::sql_query(
        "WITH closed AS (
            SELECT id FROM cases WHERE panel_id = $1 AND status = 'closed' AND closed_on BETWEEN $2 AND $3),
          scored AS (
            SELECT c.id,
                   (SELECT ra.score FROM risk_assessments ra WHERE ra.case_id = c.id AND ra.stage = 'entry'
                     ORDER BY ra.created_at, ra.id LIMIT 1) AS entry,
                   (SELECT ra.tool || '/' || ra.tool_version FROM risk_assessments ra WHERE ra.case_id = c.id AND ra.stage = 'entry'
                     ORDER BY ra.created_at, ra.id LIMIT 1) AS entry_tool,
                   (SELECT ra.score FROM risk_assessments ra WHERE ra.case_id = c.id AND ra.stage = 'exit'
                     ORDER BY ra.created_at DESC, ra.id DESC LIMIT 1) AS exit,
                   (SELECT ra.tool || '/' || ra.tool_version FROM risk_assessments ra WHERE ra.case_id = c.id AND ra.stage = 'exit'
                     ORDER BY ra.created_at DESC, ra.id DESC LIMIT 1) AS exit_tool
              FROM closed c),
          cohort AS (SELECT * FROM scored WHERE entry IS NOT NULL AND exit IS NOT NULL AND entry_tool = exit_tool)
         SELECT (SELECT count(*) FROM cohort) AS counted,
                (SELECT count(*) FROM scored) - (SELECT count(*) FROM cohort) AS left_out,
                (SELECT sum(entry) FROM cohort)::bigint AS entry_sum,
                (SELECT sum(exit) FROM cohort)::bigint AS exit_sum,
                (SELECT count(*) FROM cohort WHERE exit < entry) AS fell",
    )
    .bind::<SqlUuid, _>(panel.0)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .get_result(conn)?;
    let (entry, exit) = (r.entry_sum.unwrap_or(0), r.exit_sum.unwrap_or(0));
    Ok(RiskReduction {
        cases_counted: b.count("risk_reduction.cases_counted", r.counted),
        cases_left_out_missing_score: b.count("risk_reduction.cases_left_out_missing_score", r.left_out),
        entry_sum: b.derived("risk_reduction.entry_sum", &[r.counted], r.entry_sum),
        exit_sum: b.derived("risk_reduction.exit_sum", &[r.counted], r.exit_sum),
        change_pct: b.pct_over("risk_reduction.change_pct", &[r.counted], exit - entry, entry),
        cases_whose_score_fell: b.pct("risk_reduction.cases_whose_score_fell", r.fell, r.counted),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_half_away_from_zero_and_exact() {
        // DOMAIN.md §8.5 check value: 3,682 → 3,551 is −3.56 → −3.6 %.
        assert_eq!(pct_1dp(3551 - 3682, 3682), Some(-3.6));
        // The published errors DOMAIN.md §9 lists: 289 → 282 is −2.4 %, 3,103 → 3,060 is −1.4 %.
        assert_eq!(pct_1dp(282 - 289, 289), Some(-2.4));
        assert_eq!(pct_1dp(3060 - 3103, 3103), Some(-1.4));
        assert_eq!(pct_1dp(30 - 50, 50), Some(-40.0));
        assert_eq!(pct_1dp(1, 8), Some(12.5));
        assert_eq!(pct_1dp(1, 16), Some(6.3), "6.25 rounds up");
        assert_eq!(pct_1dp(-1, 16), Some(-6.3), "and away from zero below it");
        assert_eq!(pct_1dp(5, 0), None);
        assert_eq!(ratio_1dp(47, 3), Some(15.7));
    }

    #[test]
    fn quarters_are_calendar_quarters() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(quarter_dates("2024Q3"), Some((d(2024, 7, 1), d(2024, 9, 30))));
        assert_eq!(quarter_dates("2024Q1"), Some((d(2024, 1, 1), d(2024, 3, 31))));
        assert_eq!(quarter_dates("2024q4"), Some((d(2024, 10, 1), d(2024, 12, 31))));
        for bad in ["2024Q5", "2024Q0", "24Q1", "2024-Q1", "Q1", ""] {
            assert_eq!(quarter_dates(bad), None, "{bad}");
        }
    }

    #[test]
    fn suppression_hides_small_cells_and_one_more_when_one_alone_would_show() {
        let mut b = Builder::new(Some(5));
        assert_eq!(b.count("a", 4).value, None);
        assert_eq!(b.count("b", 0).value, Some(0), "zero is not a small number");
        assert_eq!(b.count("c", 5).value, Some(5));
        let cells = b.breakdown("x", vec![("p".into(), 3), ("q".into(), 20), ("r".into(), 9)]);
        let shown: Vec<Option<i64>> = cells.iter().map(|c| c.count.value).collect();
        assert_eq!(shown, vec![None, Some(20), None], "9 is hidden too so 3 cannot be recovered");
        assert!(b.suppressed.contains(&"x.r".to_owned()));
        let rate = b.pct("rate", 3, 40);
        assert!(rate.suppressed && rate.value.is_none(), "rates from suppressed counts are suppressed");
        let mut exact = Builder::new(None);
        assert_eq!(exact.count("a", 1).value, Some(1));
    }
}

// ---------------------------------------------------------------- SafeLives quarterly return

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
    pub period: Period,
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

/// Calendar quarter `2024Q3` as two dates.
pub fn quarter_dates(raw: &str) -> Option<(NaiveDate, NaiveDate)> {
    let (year, q) = raw.split_once(['Q', 'q'])?;
    let year: i32 = year.parse().ok().filter(|y| (2000..=2100).contains(y))?;
    let q: u32 = q.parse().ok().filter(|q| (1..=4).contains(q))?;
    let from = NaiveDate::from_ymd_opt(year, 3 * q - 2, 1)?;
    let to = if q == 4 {
        NaiveDate::from_ymd_opt(year, 12, 31)?
    } else {
        NaiveDate::from_ymd_opt(year, 3 * q + 1, 1)?.pred_opt()?
    };
    Some((from, to))
}

/// The quarter's per-meeting counts of cases heard and their totals (DOMAIN.md §8.6: the
/// national return is collected per meeting).
pub fn safelives_return(
    conn: &mut PgConnection,
    panel: &PanelRow,
    quarter: &str,
    from: NaiveDate,
    to: NaiveDate,
    suppress: bool,
) -> QueryResult<SafeLivesReturn> {
    let rows: Vec<MeetingRow> = diesel::sql_query(concat!(
        "SELECT m.meeting_date,
                count(*) AS cases_discussed,
                count(*) FILTER (WHERE c.is_repeat) AS repeat_cases,
                count(*) FILTER (WHERE a.agency_type = 'police') AS police_referrals,
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
        victim_exists!("date_part('year', age(c.referral_date, pe.date_of_birth)) BETWEEN 16 AND 17"),
        ") AS victims_16_17,
                coalesce(sum((SELECT count(*) FROM case_participants cp JOIN people pe ON pe.id = cp.person_id
                   WHERE cp.case_id = c.id AND cp.role = 'perpetrator'
                     AND date_part('year', age(c.referral_date, pe.date_of_birth)) <= 17)), 0)::bigint AS perpetrators_17_or_under
           FROM meetings m
           JOIN agenda_items ai ON ai.meeting_id = m.id AND ai.outcome = 'heard'
           JOIN cases c ON c.id = ai.case_id
           JOIN agencies a ON a.id = c.referring_agency_id
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
        period: Period { from, to },
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

// ---------------------------------------------------------------- panels side by side

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

/// One panel's counts for `[from, to]` and for the same number of days just before.
pub fn compare_panel(
    conn: &mut PgConnection,
    panel: &PanelRow,
    from: NaiveDate,
    to: NaiveDate,
    suppress: bool,
) -> QueryResult<PanelComparison> {
    let days = (to - from).num_days() + 1;
    let (prev_from, prev_to) = (from - chrono::Duration::days(days), from - chrono::Duration::days(1));
    let mut b = Builder::new(suppress.then_some(i64::from(panel.settings.suppression_k)));
    let both = |conn: &mut PgConnection, sql: &str| -> QueryResult<(i64, i64)> {
        Ok((count(conn, sql, panel.id, from, to)?, count(conn, sql, panel.id, prev_from, prev_to)?))
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
