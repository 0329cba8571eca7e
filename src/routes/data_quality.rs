//! What imported registers did not record (issue 14): the open data-quality flags of a panel,
//! for its coordinators and chairs to work through and resolve.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::audit::{self, Audit, Event};
use crate::db::Db;
use crate::domain::{AuditAction, AuthUser, CaseId, DataQualityKind, PanelId};
use crate::error::{ApiError, Forbidden};
use crate::models::data_quality::{self, FlagRow};
use crate::routes::Items;

#[derive(Deserialize)]
pub struct PanelPath {
    panel_id: Uuid,
}

#[derive(Deserialize)]
pub struct FlagPath {
    panel_id: Uuid,
    flag_id: Uuid,
}

#[derive(Serialize)]
pub struct FlagResponse {
    id: Uuid,
    case_id: CaseId,
    reference: Option<String>,
    kind: DataQualityKind,
    import_id: Option<Uuid>,
    /// The register's line the case came from.
    line: Option<i32>,
    /// What the register said, where the flag keeps it (an open line's outcome, verbatim).
    detail: Option<String>,
    created_at: DateTime<Utc>,
}

impl FlagResponse {
    fn render(f: FlagRow, reference: Option<String>) -> Self {
        Self {
            id: f.id,
            case_id: f.case_id,
            reference,
            kind: f.kind,
            import_id: f.import_id,
            line: f.line,
            detail: f.detail,
            created_at: f.created_at,
        }
    }
}

fn require_staff(user: &AuthUser, panel: PanelId) -> Result<(), ApiError> {
    if user.is_staff_on(panel) { Ok(()) } else { Err(ApiError::Forbidden(Forbidden::PanelStaffOnly)) }
}

/// GET /api/v1/panels/{panel_id}/data-quality: the open flags, oldest first.
pub async fn list_data_quality(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<PanelPath>,
) -> Result<HttpResponse, ApiError> {
    let panel = PanelId(path.panel_id);
    require_staff(&user, panel)?;
    let out = audit::audited(&db, audit, move |conn| {
        let items: Vec<FlagResponse> = data_quality::open_on(conn, panel)?
            .into_iter()
            .map(|(f, reference)| FlagResponse::render(f, Some(reference)))
            .collect();
        let event = Event::ok(AuditAction::Consult, "data_quality_flag", vec![panel.0]).on_panel(panel);
        Ok((Items { items }, event))
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// POST /api/v1/panels/{panel_id}/data-quality/{flag_id}/resolve
pub async fn resolve_data_quality(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<FlagPath>,
) -> Result<HttpResponse, ApiError> {
    let (panel, flag) = (PanelId(path.panel_id), path.flag_id);
    require_staff(&user, panel)?;
    let out = audit::audited(&db, audit, move |conn| {
        let row = data_quality::resolve(conn, panel, flag, user.user_id)?;
        let event = Event::ok(AuditAction::Alter, "data_quality_flag", vec![row.case_id.0, row.id]).on_panel(panel);
        Ok((FlagResponse::render(row, None), event))
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}
