//! Liveness (never touches the database) and readiness (pool, `SELECT 1`, migrations current).

use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::db;
use crate::db::Db;
use crate::error::ApiError;
use crate::state::AppState;

const READINESS_BUDGET: Duration = Duration::from_secs(1);

/// GET /health/live
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "live" }))
}

/// GET /health/ready
pub async fn ready(state: web::Data<AppState>, db: Db) -> Result<HttpResponse, ApiError> {
    if state.draining.load(std::sync::atomic::Ordering::SeqCst) {
        return Err(ApiError::Unavailable);
    }
    let check = db.run(db::ready);
    match tokio::time::timeout(READINESS_BUDGET, check).await {
        Ok(Ok(())) => Ok(HttpResponse::Ok().json(json!({ "status": "ready" }))),
        Ok(Err(ApiError::Internal(e))) => {
            tracing::warn!(error = format!("{e:#}"), "readiness check failed");
            Err(ApiError::Unavailable)
        }
        Ok(Err(_)) | Err(_) => Err(ApiError::Unavailable),
    }
}
