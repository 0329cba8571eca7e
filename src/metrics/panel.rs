//! A panel's figures for a period (DOMAIN.md §8): volume, repeats, referral routes, diversity,
//! population rates, risk reduction, breakdowns, actions and time, in five statements.

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Double, Nullable, Text, Uuid as SqlUuid};
use serde::Serialize;

use super::{Builder, Cell, Count, Rate, ReportingPeriod, Suppression, WeightedCell, count, ratio_1dp};
use crate::domain::{PanelId, PanelKind};
use crate::models::panel::PanelRow;
use crate::{due, heard, referrers};

#[derive(Serialize)]
pub struct Volume {
    referrals_received: Count,
    referrals_rejected: Count,
    meetings_held: Count,
    cases_heard: Count,
    cases_per_meeting: Rate,
    heard_per_referral: Rate,
    /// Cases that arrived from, and left for, another area's MARAC, by transfer date.
    transfers_in: Count,
    transfers_out: Count,
    /// Referrals received in the period whose subject had not consented to sharing (DP-1), and
    /// the decisions to share without consent recorded for the period's dates.
    referrals_without_consent: Count,
    share_decisions: Count,
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
    /// A case counts once per type among its referring and co-referring organisations.
    referring_agency_type: Vec<Cell>,
    /// Referrals by referring organisation, co-referrers included (DOMAIN.md §8.2).
    referring_organisation: Vec<Cell>,
    /// Cases closed in the period, once per category.
    closure_category: Vec<Cell>,
    issue_category: Vec<Cell>,
}

/// Location-case figures (DOMAIN.md §8.3), for JAG panels.
#[derive(Serialize)]
pub struct JagFigures {
    /// Cases open at the period's end (nominated by then, not closed by then; rejected, withdrawn
    /// and transferred cases aside), by locality group (else the location's locality), ward and issue.
    open_by_locality: Vec<Cell>,
    open_by_ward: Vec<Cell>,
    open_by_issue: Vec<Cell>,
    /// Cases closed in the period, likewise.
    closed_by_locality: Vec<Cell>,
    closed_by_ward: Vec<Cell>,
    closed_by_issue: Vec<Cell>,
    /// Interventions used in the period, by tool; breaches are those recorded against an order.
    interventions_by_tool: Vec<Cell>,
    breaches: Count,
    /// Cases closed in the period with an enforcement outcome (`enforcement_effective`), and the rest.
    closed_by_enforcement: Count,
    closed_otherwise: Count,
    /// Over cases closed in the period with an adoption date (recorded, else the day they were accepted).
    median_days_adoption_to_closure: Option<f64>,
    /// Nominations in the period of a location nominated before within 12 months (the same UPRN
    /// where both have one, else the same site name).
    repeat_nominations: Count,
}

#[derive(Serialize)]
pub struct Time {
    median_days_referral_to_first_hearing: Option<f64>,
    median_days_referral_to_closure: Option<f64>,
}

#[derive(Serialize)]
pub struct PanelMetrics {
    panel_id: PanelId,
    kind: PanelKind,
    period: ReportingPeriod,
    volume: Volume,
    repeat_rate: Rate,
    /// Cases heard by referring agency type, each case shared among its referrers (1/n each).
    referral_routes: Vec<WeightedCell>,
    non_police_referral_share: Rate,
    diversity: Diversity,
    population: Population,
    risk_reduction: Option<RiskReduction>,
    breakdowns: Breakdowns,
    actions: Actions,
    time: Time,
    /// JAG panels only.
    #[serde(skip_serializing_if = "Option::is_none")]
    jag: Option<JagFigures>,
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
            SELECT c.id, c.is_repeat, c.children_in_household, c.referral_date,
                   EXISTS (SELECT 1 FROM agencies a WHERE a.id = ANY (",
        referrers!(),
        ") AND a.agency_type = 'police') AS police_referred
              FROM h JOIN cases c ON c.id = h.case_id)
         SELECT count(*) AS heard,
                (SELECT count(*) FROM meetings WHERE panel_id = $1 AND meeting_date BETWEEN $2 AND $3
                    AND status IN ('held', 'minutes_circulated')) AS meetings,
                count(*) FILTER (WHERE hc.is_repeat) AS repeats_heard,
                count(*) FILTER (WHERE hc.police_referred) AS police_heard,
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
                    bool_or(coalesce(cp.age_at_referral, date_part('year', age(hc.referral_date, pe.date_of_birth))) BETWEEN 16 AND 17)
                      FILTER (WHERE cp.role = 'victim') AS aged_16_17,
                    count(*) FILTER (WHERE cp.role = 'perpetrator'
                      AND coalesce(cp.age_at_referral, date_part('year', age(hc.referral_date, pe.date_of_birth))) <= 17) AS young_perpetrators
               FROM case_participants cp JOIN people pe ON pe.id = cp.person_id
              WHERE cp.case_id = hc.id AND cp.role IN ('victim', 'vulnerable_person', 'perpetrator')) v ON true"
    ))
    .bind::<SqlUuid, _>(panel.0)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .get_result(conn)
}

#[derive(QueryableByName)]
struct RouteRow {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = BigInt)]
    weight: i64,
    #[diesel(sql_type = BigInt)]
    cases: i64,
}

/// Cases heard by referring agency type (DOMAIN.md §8): each hearing's weight of 1 is shared
/// equally among the case's referring organisations, counted in `WEIGHT_UNIT`ths so the sum is
/// exact; with the hearings each type takes part in.
fn referral_routes(
    conn: &mut PgConnection,
    panel: PanelId,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<(String, i64, i64)>> {
    let rows: Vec<RouteRow> = diesel::sql_query(concat!(
        "WITH h AS (",
        heard!(),
        "), r AS (
            SELECT h.case_id, h.meeting_date, ref.agency_id,
                   $4 / (1 + cardinality(c.co_referring_agency_ids)) AS weight
              FROM h JOIN cases c ON c.id = h.case_id
             CROSS JOIN LATERAL unnest(",
        referrers!(),
        ") AS ref(agency_id))
         SELECT coalesce(a.agency_type, 'not_recorded') AS key, sum(r.weight)::bigint AS weight,
                count(DISTINCT (r.case_id, r.meeting_date)) AS cases
           FROM r LEFT JOIN agencies a ON a.id = r.agency_id
          GROUP BY 1 ORDER BY 1"
    ))
    .bind::<SqlUuid, _>(panel.0)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .bind::<BigInt, _>(super::suppression::WEIGHT_UNIT)
    .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.key, r.weight, r.cases)).collect())
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
         SELECT 'referring_agency_type', coalesce(a.agency_type, 'not_recorded'), count(DISTINCT c.id)
           FROM referred c CROSS JOIN LATERAL unnest(",
        referrers!(),
        ") AS r(agency_id) LEFT JOIN agencies a ON a.id = r.agency_id GROUP BY 2
         UNION ALL
         SELECT 'referring_organisation', coalesce(a.name, 'not recorded'), count(DISTINCT c.id)
           FROM referred c CROSS JOIN LATERAL unnest(",
        referrers!(),
        ") AS r(agency_id) LEFT JOIN agencies a ON a.id = r.agency_id GROUP BY 2
         UNION ALL
         SELECT 'issue_category', i, count(*) FROM referred, unnest(issue_categories) i GROUP BY i
         UNION ALL
         SELECT 'closure_category', cc, count(*) FROM cases, unnest(closure_categories) cc
          WHERE panel_id = $1 AND closed_on BETWEEN $2 AND $3 GROUP BY cc

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

/// Computes a panel's figures for `period`; `suppress` applies small-number suppression.
pub fn panel_metrics(
    conn: &mut PgConnection,
    panel: &PanelRow,
    period: ReportingPeriod,
    suppress: bool,
) -> QueryResult<PanelMetrics> {
    let (from, to) = (period.from, period.to);
    let k = i64::from(panel.settings.suppression_k);
    let mut b = Builder::new(suppress.then_some(k));
    let p = panel.id;

    let h = heard_figures(conn, p, from, to)?;
    let mut breakdowns = breakdowns(conn, p, from, to)?;
    let status = breakdowns.remove("status").unwrap_or_default();
    let referred: i64 = status.iter().map(|(_, n)| n).sum();
    let rejected = status.iter().find(|(k, _)| k == "rejected").map_or(0, |(_, n)| *n);
    let heard = h.heard;
    let routes = referral_routes(conn, p, from, to)?;
    let (transfers_in, transfers_out) = crate::models::transfer::counts(conn, p, from, to)?;
    let without_consent = count(
        conn,
        "SELECT count(*) AS n FROM cases WHERE panel_id = $1 AND referral_date BETWEEN $2 AND $3
            AND consent_status <> 'given'",
        p,
        period,
    )?;
    let share_decisions = count(
        conn,
        "SELECT count(*) AS n FROM share_decisions s JOIN cases c ON c.id = s.case_id
          WHERE c.panel_id = $1 AND s.decided_on BETWEEN $2 AND $3",
        p,
        period,
    )?;

    // Rates per 10,000 adult females always run over the 12 months to the period end.
    let population = match panel.settings.adult_female_population_16_plus {
        Some(pop) => {
            let heard_12m =
                count(conn, concat!("SELECT count(*) AS n FROM (", heard!(), ") h"), p, period.twelve_months_to_end())?;
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

    let jag = if panel.kind == PanelKind::Jag { Some(jag_figures(conn, &mut b, p, from, to)?) } else { None };
    let actions = action_figures(conn, p, from, to)?;
    let medians = medians(conn, p, from, to)?;
    let mut breakdown = |name: &str| breakdowns.remove(name).unwrap_or_default();
    let (area, vulnerability, agency_type, organisation) = (
        breakdown("area"),
        breakdown("vulnerability"),
        breakdown("referring_agency_type"),
        breakdown("referring_organisation"),
    );
    let (closure, issue, by_owner) =
        (breakdown("closure_category"), breakdown("issue_category"), breakdown("due_by_owner_agency"));

    Ok(PanelMetrics {
        panel_id: p,
        kind: panel.kind,
        period,
        volume: Volume {
            referrals_received: b.count("volume.referrals_received", referred),
            referrals_rejected: b.count("volume.referrals_rejected", rejected),
            meetings_held: b.count("volume.meetings_held", h.meetings),
            cases_heard: b.count("volume.cases_heard", heard),
            cases_per_meeting: b.ratio("volume.cases_per_meeting", heard, h.meetings),
            heard_per_referral: b.pct("volume.heard_per_referral", heard, referred),
            transfers_in: b.count("volume.transfers_in", transfers_in),
            transfers_out: b.count("volume.transfers_out", transfers_out),
            referrals_without_consent: b.count("volume.referrals_without_consent", without_consent),
            share_decisions: b.count("volume.share_decisions", share_decisions),
        },
        repeat_rate: b.pct("repeat_rate", h.repeats_heard, heard),
        referral_routes: b.weighted_breakdown("referral_routes", routes),
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
            referring_organisation: b.breakdown("breakdowns.referring_organisation", organisation),
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
        jag,
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

#[derive(QueryableByName)]
struct AdoptionMedian {
    #[diesel(sql_type = Nullable<Double>)]
    median: Option<f64>,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The location cases of a panel with where they are and when they were adopted, those open at the
/// period's end and those closed in it. A macro, so queries stay string literals (SECURITY.md IN-13).
macro_rules! location_cases {
    () => {
        "WITH loc AS (
    SELECT c.id, c.referral_date, c.closed_on, c.status, c.issue_categories, c.closure_categories,
           coalesce(lc.locality_group, l.locality, 'not recorded') AS locality,
           coalesce(l.ward_code, c.ward_code, l.area_text, c.area_text, 'not recorded') AS ward,
           coalesce(lc.adopted_on, (SELECT min((h.changed_at AT TIME ZONE 'Europe/London')::date)
                                      FROM case_status_history h WHERE h.case_id = c.id AND h.to_status = 'accepted'))
             AS adopted_on,
           l.uprn, lower(btrim(l.site_name)) AS site
      FROM cases c LEFT JOIN locations l ON l.id = c.location_id LEFT JOIN location_cases lc ON lc.case_id = c.id
     WHERE c.panel_id = $1),
  open AS (SELECT * FROM loc WHERE referral_date <= $3 AND (closed_on IS NULL OR closed_on > $3)
                                 AND status NOT IN ('rejected', 'withdrawn', 'transferred_out')),
  closed AS (SELECT * FROM loc WHERE closed_on BETWEEN $2 AND $3) "
    };
}

/// DOMAIN.md §8.3, in two statements: the breakdowns and totals, then the median.
fn jag_figures(
    conn: &mut PgConnection,
    b: &mut Builder,
    panel: PanelId,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<JagFigures> {
    let rows: Vec<DimKeyN> = diesel::sql_query(concat!(
        location_cases!(),
        "SELECT 'open_by_locality' AS dim, locality AS key, count(*) AS n FROM open GROUP BY 2
         UNION ALL SELECT 'open_by_ward', ward, count(*) FROM open GROUP BY 2
         UNION ALL SELECT 'open_by_issue', i, count(*) FROM open, unnest(issue_categories) i GROUP BY 2
         UNION ALL SELECT 'closed_by_locality', locality, count(*) FROM closed GROUP BY 2
         UNION ALL SELECT 'closed_by_ward', ward, count(*) FROM closed GROUP BY 2
         UNION ALL SELECT 'closed_by_issue', i, count(*) FROM closed, unnest(issue_categories) i GROUP BY 2
         UNION ALL SELECT 'interventions_by_tool', tool, count(*) FROM interventions
                    WHERE panel_id = $1 AND used_on BETWEEN $2 AND $3 GROUP BY 2
         UNION ALL SELECT 'total', 'breaches', count(*) FROM interventions
                    WHERE panel_id = $1 AND used_on BETWEEN $2 AND $3 AND breach_of IS NOT NULL
         UNION ALL SELECT 'total', 'closed_by_enforcement', count(*) FROM closed
                    WHERE 'enforcement_effective' = ANY (closure_categories)
         UNION ALL SELECT 'total', 'closed_otherwise', count(*) FROM closed
                    WHERE NOT 'enforcement_effective' = ANY (closure_categories)
         UNION ALL SELECT 'total', 'repeat_nominations', count(*) FROM loc n
                    WHERE n.referral_date BETWEEN $2 AND $3 AND EXISTS (
                      SELECT 1 FROM loc e
                       WHERE e.id <> n.id AND e.referral_date BETWEEN n.referral_date - 365 AND n.referral_date
                         AND (e.referral_date < n.referral_date OR e.id < n.id)
                         AND CASE WHEN n.uprn IS NOT NULL AND e.uprn IS NOT NULL THEN e.uprn = n.uprn
                                  ELSE e.site = n.site END)
         ORDER BY 1, 2"
    ))
    .bind::<SqlUuid, _>(panel.0)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .load(conn)?;
    let median: AdoptionMedian = diesel::sql_query(concat!(
        location_cases!(),
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY closed_on - adopted_on) AS median, count(*) AS n
           FROM closed WHERE adopted_on IS NOT NULL"
    ))
    .bind::<SqlUuid, _>(panel.0)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .get_result(conn)?;
    let mut dims: std::collections::HashMap<String, Vec<(String, i64)>> = std::collections::HashMap::new();
    for r in rows {
        dims.entry(r.dim).or_default().push((r.key, r.n));
    }
    let mut dim = |name: &str| dims.remove(name).unwrap_or_default();
    let totals = dim("total");
    let total = |key: &str| totals.iter().find(|(k, _)| k == key).map_or(0, |(_, n)| *n);
    Ok(JagFigures {
        open_by_locality: b.breakdown("jag.open_by_locality", dim("open_by_locality")),
        open_by_ward: b.breakdown("jag.open_by_ward", dim("open_by_ward")),
        open_by_issue: b.breakdown("jag.open_by_issue", dim("open_by_issue")),
        closed_by_locality: b.breakdown("jag.closed_by_locality", dim("closed_by_locality")),
        closed_by_ward: b.breakdown("jag.closed_by_ward", dim("closed_by_ward")),
        closed_by_issue: b.breakdown("jag.closed_by_issue", dim("closed_by_issue")),
        interventions_by_tool: b.breakdown("jag.interventions_by_tool", dim("interventions_by_tool")),
        breaches: b.count("jag.breaches", total("breaches")),
        closed_by_enforcement: b.count("jag.closed_by_enforcement", total("closed_by_enforcement")),
        closed_otherwise: b.count("jag.closed_otherwise", total("closed_otherwise")),
        median_days_adoption_to_closure: b.derived(
            "jag.median_days_adoption_to_closure",
            &[median.n],
            median.median.map(|v| (v * 10.0).round() / 10.0),
        ),
        repeat_nominations: b.count("jag.repeat_nominations", total("repeat_nominations")),
    })
}
