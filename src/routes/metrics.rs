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
use crate::metrics::{self, AskedPeriod, ReportingPeriod};
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

/// Whether the caller may see the panel's figures, and whether they come suppressed: exact for
/// the panel's coordinators and chairs, suppressed for its managers.
fn figures_access(user: &AuthUser, panel: PanelId) -> Result<bool, ApiError> {
    if user.is_staff_on(panel) {
        Ok(false)
    } else if user.roles_on(panel).contains(&Role::Manager) {
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
    let asked = AskedPeriod::parse(q.from, q.to, q.year).map_err(|p| ApiError::BadRequest(vec![p]))?;
    let suppress = suppressed_by_role || q.publication;
    let figures = db
        .run(move |conn| {
            let panel = panel::get(conn, panel_id)?;
            let period = asked
                .resolve(panel.settings.reporting_year_start_month as u32)
                .map_err(|p| ApiError::BadRequest(vec![p]))?;
            Ok(metrics::panel_metrics(conn, &panel, period, suppress)?)
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
    let period =
        ReportingPeriod::quarter(&quarter).ok_or(ApiError::bad_field("quarter", "not_a_quarter_like_2024Q3"))?;
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
            Ok(metrics::safelives_return(conn, &panel, &quarter, period, suppress)?)
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
    let period = p.check(ReportingPeriod::between(q.from.get(), q.to.get()));
    let period = p.finish(|| period)?;
    let ids: Vec<PanelId> = ids.into_iter().flatten().collect();
    let access: Vec<(PanelId, bool)> =
        ids.iter().map(|id| figures_access(&user, *id).map(|s| (*id, s || q.publication))).collect::<Result<_, _>>()?;
    let panels = db
        .run(move |conn| {
            access
                .iter()
                .map(|(id, suppress)| {
                    let panel = panel::get(conn, *id)?;
                    Ok(metrics::compare_panel(conn, &panel, period, *suppress)?)
                })
                .collect::<Result<Vec<_>, ApiError>>()
        })
        .await?;
    let previous = period.previous();
    Ok(HttpResponse::Ok().json(Comparison {
        from: period.from,
        to: period.to,
        previous_from: previous.from,
        previous_to: previous.to,
        panels,
    }))
}
