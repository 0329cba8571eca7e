//! GET /api/v1/governance/processing: the record of processing (UK GDPR Art. 30) for the
//! information-governance role, over the panels it holds the role on.

use actix_web::HttpResponse;
use serde::{Deserialize, Serialize};

use crate::audit::{self, Audit, Event};
use crate::db::Db;
use crate::domain::{AuditAction, AuthUser, IsoDate, PanelId, PanelKind, Role};
use crate::error::ApiError;
use crate::extract::Query;
use crate::metrics::ReportingPeriod;
use crate::models::governance::{self, BasisCount, MemberAgreement};
use crate::models::panel;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessingQuery {
    from: IsoDate,
    to: IsoDate,
}

#[derive(Serialize)]
pub struct PanelProcessing {
    panel_id: PanelId,
    name: String,
    kind: PanelKind,
    /// Cases referred in the period by lawful basis and special-category condition.
    lawful_bases: Vec<BasisCount>,
    retention_years_after_end: i32,
    organisations: Vec<MemberAgreement>,
    share_decisions: i64,
    referrals_without_consent: i64,
}

#[derive(Serialize)]
pub struct ProcessingRecord {
    period: ReportingPeriod,
    panels: Vec<PanelProcessing>,
}

pub async fn get_processing_record(
    db: Db,
    user: AuthUser,
    audit: Audit,
    query: Query<ProcessingQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.0;
    let period = ReportingPeriod::between(q.from.get(), q.to.get()).map_err(|p| ApiError::BadRequest(vec![p]))?;
    let panels = user.panels_with(&[Role::InformationGovernance]);
    let out = audit::audited(&db, audit, move |conn| {
        let mut out = Vec::new();
        for id in &panels {
            let p = panel::get(conn, *id)?;
            let sharing = governance::sharing(conn, p.id, period.from, period.to)?;
            out.push(PanelProcessing {
                panel_id: p.id,
                name: p.name,
                kind: p.kind,
                lawful_bases: governance::bases_in_use(conn, p.id, period.from, period.to)?,
                retention_years_after_end: sharing.retention_years_after_end,
                organisations: governance::agreements(conn, p.id)?,
                share_decisions: sharing.share_decisions,
                referrals_without_consent: sharing.referrals_without_consent,
            });
        }
        let ids = panels.iter().map(|p| p.0).collect();
        Ok((ProcessingRecord { period, panels: out }, Event::ok(AuditAction::Consult, "processing_record", ids)))
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}
