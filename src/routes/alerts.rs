//! GET /api/v1/alerts: break-glass reads for the panel's coordinators and the auditors.

use actix_web::HttpResponse;
use serde::Deserialize;

use crate::db::Db;
use crate::domain::AuthUser;
use crate::error::ApiError;
use crate::extract::Query;
use crate::models::alert;
use crate::pagination::{Cursor, Page, PageRequest};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertQuery {
    limit: Option<i64>,
    cursor: Option<String>,
}

/// GET /api/v1/alerts
pub async fn list_alerts(db: Db, user: AuthUser, query: Query<AlertQuery>) -> Result<HttpResponse, ApiError> {
    let page = PageRequest::from_query(query.0.limit, query.0.cursor.as_deref())?;
    let rows = db.run(move |conn| Ok(alert::visible_to(conn, &user, &page)?)).await?;
    let page = Page::from_rows(rows, &page, |r| Cursor { created_at: r.created_at, id: r.id }, |r| r);
    Ok(HttpResponse::Ok().json(page))
}
