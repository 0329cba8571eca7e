//! GET /api/v1/panels/{panel_id}/metrics: a panel's figures for a period, for its managers,
//! coordinators and chairs. Managers (and anyone asking for a publication copy) get small numbers
//! suppressed; the panel's coordinators and chairs see exact counts.

use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use serde::Deserialize;
use uuid::Uuid;

use crate::db::Db;
use crate::domain::{AuthUser, PanelId, Problems, Role};
use crate::error::{ApiError, Forbidden};
use crate::extract::Query;
use crate::metrics;
use crate::models::panel;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsQuery {
    from: Option<crate::domain::IsoDate>,
    to: Option<crate::domain::IsoDate>,
    year: Option<i32>,
    #[serde(default)]
    publication: bool,
}

#[derive(Deserialize)]
pub struct PanelPath {
    panel_id: Uuid,
}

/// The reporting year `year` that starts in `start_month` (Brent: October), as two dates.
pub fn reporting_year(year: i32, start_month: u32) -> Option<(NaiveDate, NaiveDate)> {
    let from = NaiveDate::from_ymd_opt(year, start_month, 1)?;
    let next = NaiveDate::from_ymd_opt(year + 1, start_month, 1)?;
    Some((from, next.pred_opt()?))
}

/// Whether the caller may see the panel's figures, and whether they come suppressed: exact for
/// the panel's coordinators and chairs, suppressed for its managers.
fn figures_access(user: &AuthUser, panel: PanelId) -> Result<bool, ApiError> {
    let here = user.roles_on(panel);
    let staff = here.iter().any(|r| matches!(r, Role::Coordinator | Role::Chair));
    if staff {
        Ok(false)
    } else if here.contains(&Role::Manager) {
        Ok(true)
    } else {
        Err(ApiError::Forbidden(Forbidden::NotPanelMember))
    }
}

/// GET /api/v1/panels/{panel_id}/metrics
pub async fn panel_metrics(
    db: Db,
    user: AuthUser,
    path: web::Path<PanelPath>,
    query: Query<MetricsQuery>,
) -> Result<HttpResponse, ApiError> {
    let panel_id = PanelId(path.panel_id);
    let suppressed_by_role = figures_access(&user, panel_id)?;
    let q = query.0;
    let mut p = Problems::default();
    match (q.from, q.to, q.year) {
        (Some(_), Some(_), None) | (None, None, Some(_)) => {}
        _ => p.push("from", "give_from_and_to_or_year"),
    }
    if let (Some(from), Some(to)) = (q.from, q.to)
        && from > to
    {
        p.push("from", "after_to");
    }
    if q.year.is_some_and(|y| !(2000..=2100).contains(&y)) {
        p.push("year", "out_of_range");
    }
    p.finish(|| Some(()))?;
    let suppress = suppressed_by_role || q.publication;
    let figures = db
        .run(move |conn| {
            let panel = panel::get(conn, panel_id)?;
            let (from, to) = match (q.from, q.to, q.year) {
                (Some(from), Some(to), _) => (from.get(), to.get()),
                (_, _, Some(year)) => reporting_year(year, panel.settings.reporting_year_start_month as u32)
                    .ok_or(ApiError::bad_field("year", "out_of_range"))?,
                _ => return Err(ApiError::bad_field("from", "give_from_and_to_or_year")),
            };
            Ok(metrics::panel_metrics(conn, &panel, from, to, suppress)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(figures))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnQuery {
    quarter: String,
    #[serde(default)]
    publication: bool,
}

/// GET /api/v1/panels/{panel_id}/reports/safelives-return: JSON, or CSV with `Accept: text/csv`.
pub async fn safelives_return(
    db: Db,
    user: AuthUser,
    req: actix_web::HttpRequest,
    path: web::Path<PanelPath>,
    query: Query<ReturnQuery>,
) -> Result<HttpResponse, ApiError> {
    let panel_id = PanelId(path.panel_id);
    let suppress = figures_access(&user, panel_id)? || query.0.publication;
    let quarter = query.0.quarter;
    let (from, to) =
        metrics::quarter_dates(&quarter).ok_or(ApiError::bad_field("quarter", "not_a_quarter_like_2024Q3"))?;
    let wants_csv = req
        .headers()
        .get(actix_web::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/csv"));
    let report = db
        .run(move |conn| {
            let panel = panel::get(conn, panel_id)?;
            if panel.kind != crate::domain::PanelKind::Marac {
                return Err(ApiError::unprocessable("panel_id", "the_return_is_for_marac_panels"));
            }
            Ok(metrics::safelives_return(conn, &panel, &quarter, from, to, suppress)?)
        })
        .await?;
    if wants_csv {
        Ok(HttpResponse::Ok().content_type("text/csv; charset=utf-8").body(report.to_csv()))
    } else {
        Ok(HttpResponse::Ok().json(report))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompareQuery {
    panels: String,
    from: crate::domain::IsoDate,
    to: crate::domain::IsoDate,
    #[serde(default)]
    publication: bool,
}

#[derive(serde::Serialize)]
pub struct Comparison {
    from: NaiveDate,
    to: NaiveDate,
    previous_from: NaiveDate,
    previous_to: NaiveDate,
    panels: Vec<metrics::PanelComparison>,
}

/// GET /api/v1/metrics/compare?panels=a,b&from&to: panels side by side, each count with the
/// same-length period just before and the change between them.
pub async fn compare_panels(db: Db, user: AuthUser, query: Query<CompareQuery>) -> Result<HttpResponse, ApiError> {
    let q = query.0;
    let mut p = Problems::default();
    let ids: Vec<Option<PanelId>> = q.panels.split(',').map(|s| s.trim().parse::<Uuid>().ok().map(PanelId)).collect();
    if ids.iter().any(Option::is_none) || ids.is_empty() {
        p.push("panels", "comma_separated_panel_ids");
    }
    if ids.len() > 20 {
        p.push("panels", "too_many_items");
    }
    if q.from > q.to {
        p.push("from", "after_to");
    }
    p.finish(|| Some(()))?;
    let ids: Vec<PanelId> = ids.into_iter().flatten().collect();
    let access: Vec<(PanelId, bool)> =
        ids.iter().map(|id| figures_access(&user, *id).map(|s| (*id, s || q.publication))).collect::<Result<_, _>>()?;
    let (from, to) = (q.from.get(), q.to.get());
    let panels = db
        .run(move |conn| {
            access
                .iter()
                .map(|(id, suppress)| {
                    let panel = panel::get(conn, *id)?;
                    Ok(metrics::compare_panel(conn, &panel, from, to, *suppress)?)
                })
                .collect::<Result<Vec<_>, ApiError>>()
        })
        .await?;
    let days = (to - from).num_days() + 1;
    Ok(HttpResponse::Ok().json(Comparison {
        from,
        to,
        previous_from: from - chrono::Duration::days(days),
        previous_to: from - chrono::Duration::days(1),
        panels,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reporting_years_follow_the_panels_start_month() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(reporting_year(2022, 10), Some((d(2022, 10, 1), d(2023, 9, 30))), "Brent");
        assert_eq!(reporting_year(2023, 4), Some((d(2023, 4, 1), d(2024, 3, 31))));
        assert_eq!(reporting_year(2024, 1), Some((d(2024, 1, 1), d(2024, 12, 31))), "a leap year");
        assert_eq!(reporting_year(2023, 3), Some((d(2023, 3, 1), d(2024, 2, 29))), "ends on a leap day");
    }
}
