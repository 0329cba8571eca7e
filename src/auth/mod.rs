//! Authentication and function-level authorization (SECURITY.md AC-1, AN-3, AN-5).
//!
//! `gate` runs for every request before any extractor: it finds the route's grant in the one route
//! table (`startup::ROUTES`, handed to `AppState`), verifies the bearer token, loads the user's current status and roles
//! from the database (so a disabled account or a changed role counts on the very next request) and
//! refuses a role the route does not grant. Handlers take `AuthUser`, which only reads what the
//! gate stored; with nothing stored it fails closed with 401.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest, web};

use crate::db;
use crate::domain::AuthUser;
use crate::error::{ApiError, Forbidden};
use crate::limits::RouteClass;
use crate::models::session as sessions;
use crate::state::{AppState, Grant};

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(req.extensions().get::<AuthUser>().cloned().ok_or(ApiError::Unauthenticated))
    }
}

pub async fn gate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let grant =
        req.match_pattern().and_then(|pattern| state.as_ref()?.route(&pattern, req.method().as_str())).map(|r| r.grant);
    let grant = match grant {
        // Unknown paths and methods fall through to the router's 404/405.
        None | Some(Grant::Public) => return next.call(req).await.map(ServiceResponse::map_into_boxed_body),
        Some(grant) => grant,
    };
    match authenticate(&req, grant).await {
        Ok(user) => {
            req.extensions_mut().insert(user);
            next.call(req).await.map(ServiceResponse::map_into_boxed_body)
        }
        Err(e) => Ok(req.error_response(e)),
    }
}

async fn authenticate(req: &ServiceRequest, grant: Grant) -> Result<AuthUser, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("application state missing")))?;

    let token = bearer_token(req.headers()).ok_or(ApiError::Unauthenticated)?;
    let claims = state.keys.verify(token).map_err(|reason| {
        tracing::info!(reason = ?reason, "access token refused");
        ApiError::Unauthenticated
    })?;
    let class = if req.method() == actix_web::http::Method::GET { RouteClass::Read } else { RouteClass::Write };
    let capacity = state.limiter.capacity(class);
    let (user, bucket) =
        db::run(&state.pool, move |conn| Ok(sessions::check_session(conn, &claims, class, capacity)?)).await?;
    let Some(user) = user else {
        tracing::info!("access token refused: user, session or issue time no longer valid");
        return Err(ApiError::Unauthenticated);
    };
    if !grant.allows(&user) {
        tracing::info!(user.id = %user.user_id, "function not granted");
        return Err(ApiError::Forbidden(Forbidden::Function));
    }
    let quota = state.limiter.quota(class, bucket);
    // The response carries the caller's quota; request_context writes the headers.
    req.extensions_mut().insert(quota.unwrap_or_else(|q| q));
    if let Err(empty) = quota {
        tracing::info!(user.id = %user.user_id, "rate limited");
        return Err(ApiError::RateLimited { retry_after_secs: empty.reset_secs });
    }
    Ok(user)
}

fn bearer_token(headers: &header::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}
