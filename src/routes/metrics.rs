//! GET /api/v1/panels/{panel_id}/metrics: a panel's figures for a period, for its managers,
//! coordinators and chairs. Managers (and anyone asking for a publication copy) get small numbers
//! suppressed; the panel's coordinators and chairs see exact counts.

use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::db;
use crate::domain::{PanelId, Problems, Role};
use crate::error::{ApiError, Forbidden};
use crate::extract::Query;
use crate::metrics;
use crate::models::panel;
use crate::startup::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsQuery {
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
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

/// GET /api/v1/panels/{panel_id}/metrics
pub async fn panel_metrics(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<PanelPath>,
    query: Query<MetricsQuery>,
) -> Result<HttpResponse, ApiError> {
    let panel_id = PanelId(path.panel_id);
    let here: Vec<Role> = user.roles.iter().filter(|r| r.panel_id == Some(panel_id)).map(|r| r.role).collect();
    let staff = here.iter().any(|r| matches!(r, Role::Coordinator | Role::Chair));
    if !staff && !here.contains(&Role::Manager) {
        return Err(ApiError::Forbidden(Forbidden::NotPanelMember));
    }
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
    let suppress = !staff || q.publication;
    let figures = db::run(&state.pool, move |conn| {
        let panel = panel::get(conn, panel_id)?;
        let (from, to) = match (q.from, q.to, q.year) {
            (Some(from), Some(to), _) => (from, to),
            (_, _, Some(year)) => reporting_year(year, panel.settings.reporting_year_start_month as u32)
                .ok_or(ApiError::bad_field("year", "out_of_range"))?,
            _ => return Err(ApiError::bad_field("from", "give_from_and_to_or_year")),
        };
        Ok(metrics::panel_metrics(conn, &panel, from, to, suppress)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(figures))
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
