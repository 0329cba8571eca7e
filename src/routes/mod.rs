//! Handlers and their request/response DTOs, one module per resource. Handlers read top to
//! bottom: extract → authorize → validate → database → respond.

pub mod actions;
pub mod agencies;
pub mod alerts;
pub mod assessments;
pub mod audit;
pub mod auth;
pub mod cases;
pub mod closures;
pub mod community_triggers;
pub mod data_quality;
pub mod exclusions;
pub mod governance;
pub mod grants;
pub mod health;
pub mod imports;
pub mod location_cases;
pub mod meetings;
pub mod metrics;
pub mod panels;
pub mod participants;
pub mod people;
pub mod person_details;
pub mod policy;
pub mod research_notes;
pub mod retention;
pub mod share_decisions;
pub mod transfers;
pub mod users;

use actix_web::HttpResponse;
use actix_web::http::header;
use serde::Serialize;

use crate::extract::etag;

/// `201 Created` with `Location` and the new version's `ETag`.
pub fn created<T: Serialize>(location: String, version: i32, body: &T) -> HttpResponse {
    HttpResponse::Created().insert_header((header::LOCATION, location)).insert_header(etag(version)).json(body)
}

/// `201 Created` with `Location`, for a record that carries no version.
pub fn created_at<T: Serialize>(location: String, body: &T) -> HttpResponse {
    HttpResponse::Created().insert_header((header::LOCATION, location)).json(body)
}

/// A list answer: `{ "items": [...] }`.
#[derive(Serialize)]
pub struct Items<T> {
    pub items: Vec<T>,
}

/// Who may read a case's restricted records, as the case's panel: `NotFound` (or 403 where the
/// caller can already see the case) for anyone else.
type Reach = fn(
    &mut diesel::PgConnection,
    &crate::domain::AuthUser,
    crate::domain::CaseId,
) -> Result<crate::domain::PanelId, crate::error::ApiError>;

/// The case seen in full, by its panel's staff only.
fn staff_reach(
    conn: &mut diesel::PgConnection,
    user: &crate::domain::AuthUser,
    case: crate::domain::CaseId,
) -> Result<crate::domain::PanelId, crate::error::ApiError> {
    let access = crate::models::access::case_access(conn, user, case)?;
    access.require_staff()?;
    Ok(access.panel_id)
}

/// GET of one case's records that only its panel staff read (exclusions, grants, closure
/// requests): the case seen in full, staff only, every record (oldest first, as `load` orders),
/// audited as a `consult` of `object_type`.
pub async fn staff_case_records<R, T>(
    db: crate::db::Db,
    user: crate::domain::AuthUser,
    audit: crate::audit::Audit,
    case: crate::domain::CaseId,
    object_type: &'static str,
    load: fn(&mut diesel::PgConnection, crate::domain::CaseId) -> diesel::QueryResult<Vec<R>>,
) -> Result<HttpResponse, crate::error::ApiError>
where
    R: Into<T> + 'static,
    T: Serialize + Send + 'static,
{
    case_records(db, user, audit, case, object_type, load, staff_reach).await
}

/// GET of one case's information-governance records (legal holds, share decisions): for its
/// panel's staff and the governance role on its panel (`access::governed_case`), every record
/// (oldest first, as `load` orders), audited as a `consult` of `object_type`.
pub async fn governed_case_records<R, T>(
    db: crate::db::Db,
    user: crate::domain::AuthUser,
    audit: crate::audit::Audit,
    case: crate::domain::CaseId,
    object_type: &'static str,
    load: fn(&mut diesel::PgConnection, crate::domain::CaseId) -> diesel::QueryResult<Vec<R>>,
) -> Result<HttpResponse, crate::error::ApiError>
where
    R: Into<T> + 'static,
    T: Serialize + Send + 'static,
{
    case_records(db, user, audit, case, object_type, load, crate::models::access::governed_case).await
}

async fn case_records<R, T>(
    db: crate::db::Db,
    user: crate::domain::AuthUser,
    audit: crate::audit::Audit,
    case: crate::domain::CaseId,
    object_type: &'static str,
    load: fn(&mut diesel::PgConnection, crate::domain::CaseId) -> diesel::QueryResult<Vec<R>>,
    reach: Reach,
) -> Result<HttpResponse, crate::error::ApiError>
where
    R: Into<T> + 'static,
    T: Serialize + Send + 'static,
{
    let out = crate::audit::audited(&db, audit, move |conn| {
        let panel = reach(conn, &user, case)?;
        let items: Vec<T> = load(conn, case)?.into_iter().map(Into::into).collect();
        let event =
            crate::audit::Event::ok(crate::domain::AuditAction::Consult, object_type, vec![case.0]).on_panel(panel);
        Ok((Items { items }, event))
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// `200 OK` with the version's `ETag`.
pub fn ok_versioned<T: Serialize>(version: i32, body: &T) -> HttpResponse {
    HttpResponse::Ok().insert_header(etag(version)).json(body)
}
