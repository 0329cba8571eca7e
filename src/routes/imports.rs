//! A panel's register in and out: POST /api/v1/panels/{panel_id}/imports takes one as `text/csv`
//! or an Excel workbook; GET /api/v1/panels/{panel_id}/register gives it back in either.

use actix_web::dev::Payload;
use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use serde::Deserialize;
use uuid::Uuid;

use crate::audit::{self, Audit, Event};
use crate::db::Db;
use crate::domain::{AuditAction, AuthUser, LawfulBasis, PanelId, Problems, SpecialCategoryCondition};
use crate::error::{ApiError, Forbidden};
use crate::export;
use crate::extract::{IdempotencyKey, Query};
use crate::idempotency;
use crate::import::{self, ImportOptions, RegisterFormat};
use crate::models::panel;

/// The largest register accepted, in bytes.
pub const MAX_CSV_BYTES: usize = 2 * 1024 * 1024;

/// The media type of an Excel workbook (.xlsx).
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A register as the request body, at most `MAX_CSV_BYTES`: `text/csv` (UTF-8), or an Excel
/// workbook when `xlsx`.
pub struct RegisterBody {
    pub bytes: web::Bytes,
    pub xlsx: bool,
}

impl FromRequest for RegisterBody {
    type Error = ApiError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let media = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|m| m.trim().to_ascii_lowercase());
        let xlsx = media.as_deref() == Some(XLSX);
        let is_csv = media.as_deref() == Some("text/csv");
        let too_long = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
            .is_some_and(|n| n > MAX_CSV_BYTES);
        let mut payload = payload.take();
        Box::pin(async move {
            if !is_csv && !xlsx {
                return Err(ApiError::UnsupportedMediaType);
            }
            if too_long {
                return Err(ApiError::PayloadTooLarge);
            }
            let mut body = web::BytesMut::new();
            use futures_util::StreamExt;
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|_| ApiError::Malformed("The request body could not be read."))?;
                if body.len() + chunk.len() > MAX_CSV_BYTES {
                    return Err(ApiError::PayloadTooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            if !xlsx && body.contains(&0) {
                return Err(ApiError::bad_field("file", "nul_character"));
            }
            if !xlsx && std::str::from_utf8(&body).is_err() {
                return Err(ApiError::bad_field("file", "not_utf8"));
            }
            Ok(RegisterBody { bytes: body.freeze(), xlsx })
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    #[serde(default)]
    dry_run: bool,
    lawful_basis: Option<LawfulBasis>,
    special_category_condition: Option<SpecialCategoryCondition>,
    /// `{"<header>": "<column code>" | "ignore"}`, overriding how headers are read.
    columns: Option<String>,
    /// Refuse lines with a blank referring agency instead of flagging them.
    #[serde(default)]
    strict: bool,
    /// A workbook's sheet, by name or 1-based index (the first when absent).
    sheet: Option<String>,
}

#[derive(Deserialize)]
pub struct PanelPath {
    panel_id: Uuid,
}

/// POST /api/v1/panels/{panel_id}/imports
pub async fn import_cases(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<PanelPath>,
    query: Query<ImportQuery>,
    key: IdempotencyKey,
    body: RegisterBody,
) -> Result<HttpResponse, ApiError> {
    let panel_id = PanelId(path.panel_id);
    if !user.is_staff_on(panel_id) {
        return Err(ApiError::Forbidden(Forbidden::PanelStaffOnly));
    }
    let q = query.0;
    let mut p = Problems::default();
    if q.lawful_basis.is_none() {
        p.push("lawful_basis", "required");
    }
    if q.special_category_condition.is_none() {
        p.push("special_category_condition", "required");
    }
    let mapping = match q.columns.as_deref().map(import::parse_mapping).transpose() {
        Ok(mapping) => mapping.unwrap_or_default(),
        Err(problems) => return Err(ApiError::BadRequest(problems)),
    };
    if !p.is_empty() {
        return Err(ApiError::Unprocessable(p.into_problems()));
    }
    let options = ImportOptions {
        mapping,
        strict: q.strict,
        format: if body.xlsx { RegisterFormat::Xlsx { sheet: q.sheet } } else { RegisterFormat::Csv },
        dry_run: q.dry_run,
        lawful_basis: q.lawful_basis.expect("checked above"),
        special_category_condition: q.special_category_condition.expect("checked above"),
    };
    // A dry run creates nothing, so only a real run takes the key.
    let key = key.0.filter(|_| !options.dry_run);
    let fingerprint = import::request_fingerprint(&body.bytes, &options);
    let (created, dry_run, answer) = audit::audited(&db, audit, move |conn| {
        let panel = panel::get(conn, panel_id)?;
        let route = format!("POST /api/v1/panels/{panel_id}/imports");
        if let idempotency::Outcome::Replay(import_id) =
            idempotency::begin(conn, user.user_id, &route, key, &fingerprint)?
        {
            let kept = import::kept_report(conn, import_id)?
                .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("import {import_id} kept no report")))?;
            let created = kept["created"].as_u64().unwrap_or(0) as usize;
            let event = Event::ok(AuditAction::Consult, "case_import", vec![import_id]).on_panel(panel_id);
            return Ok(((created, false, kept), event));
        }
        let imported = import::run(conn, &panel, user.user_id, &body.bytes, &options)?;
        if let Some(import_id) = imported.import_id {
            idempotency::remember(conn, user.user_id, &route, key, &fingerprint, import_id)?;
        }
        let report = &imported.report;
        let answer = serde_json::to_value(report).map_err(|e| ApiError::Internal(e.into()))?;
        let action = if report.dry_run { AuditAction::Consult } else { AuditAction::Collect };
        let event = Event::ok(action, "case_import", imported.import_id.into_iter().collect()).on_panel(panel_id);
        Ok(((report.created, report.dry_run, answer), event))
    })
    .await?;
    tracing::info!(panel.id = %panel_id, created, dry_run, "register import");
    let status = if dry_run || created == 0 { StatusCode::OK } else { StatusCode::CREATED };
    Ok(HttpResponse::build(status).json(answer))
}

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum RegisterFileFormat {
    #[default]
    Csv,
    Xlsx,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterQuery {
    #[serde(default)]
    format: RegisterFileFormat,
}

/// GET /api/v1/panels/{panel_id}/register: the panel's register as CSV (default) or an Excel
/// workbook (`format=xlsx`), through the caller's field policy.
pub async fn export_register(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<PanelPath>,
    query: Query<RegisterQuery>,
) -> Result<HttpResponse, ApiError> {
    let panel_id = PanelId(path.panel_id);
    if !user.is_staff_on(panel_id) {
        return Err(ApiError::Forbidden(Forbidden::PanelStaffOnly));
    }
    let format = query.0.format;
    let (file, rows) = audit::audited(&db, audit, move |conn| {
        let panel = panel::get(conn, panel_id)?;
        let register = export::build(conn, &panel, user.field_access(panel_id))?;
        let file = match format {
            RegisterFileFormat::Csv => export::to_csv(&register)?,
            RegisterFileFormat::Xlsx => export::to_xlsx(&register)?,
        };
        let ids = register.cases.iter().map(|c| c.0).collect();
        let event = Event::ok(AuditAction::Disclose, "case", ids).on_panel(panel_id).disclosing(register.disclosed);
        Ok(((file, register.lines.len()), event))
    })
    .await?;
    tracing::info!(panel.id = %panel_id, rows, "register export");
    let (media, extension) = match format {
        RegisterFileFormat::Csv => ("text/csv; charset=utf-8", "csv"),
        RegisterFileFormat::Xlsx => (XLSX, "xlsx"),
    };
    Ok(HttpResponse::Ok()
        .content_type(media)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"register-{panel_id}.{extension}\""),
        ))
        .body(file))
}
