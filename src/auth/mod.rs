//! The request path of every signed-in request (SECURITY.md AC-1, AN-3, AN-5, AU-1).
//!
//! `gate` runs before any extractor. It finds the route's grant in the one route table
//! (`startup::ROUTES`, handed to `AppState`) and verifies the bearer token; it reads the body (so
//! a slow client holds no connection); it checks out the request's one connection (`db::Db`) and
//! on it loads the user's current status and roles and takes a rate-limit token in one statement
//! (so a disabled account or a changed role counts on the very next request), then refuses a role
//! the route does not grant. The handler runs every database step on that connection, in one
//! transaction; the gate commits it on a success and rolls it back otherwise. For a case-data
//! route that did not commit an event of its own (a refusal, invalid input, an error) the gate
//! then writes the backstop event (`audit::refusal`), so each such request leaves exactly one.
//! Handlers take `AuthUser` and `Db`, which only read what the gate stored; with no user stored
//! `AuthUser` fails closed with 401.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest, ResponseError, web};
use futures_util::StreamExt;

use crate::audit;
use crate::db::Db;
use crate::domain::AuthUser;
use crate::error::{ApiError, Forbidden};
use crate::limits::RouteClass;
use crate::models::session as sessions;
use crate::state::{AppState, Grant};

/// How long a client may take to send a request body once its headers arrived.
const BODY_DEADLINE: Duration = Duration::from_secs(10);

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(req.extensions().get::<AuthUser>().cloned().ok_or(ApiError::Unauthenticated))
    }
}

impl FromRequest for Db {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    /// The connection the gate holds for a signed-in request; the pool on public routes.
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let db = req
            .extensions()
            .get::<Db>()
            .cloned()
            .or_else(|| req.app_data::<web::Data<AppState>>().map(|state| Db::Pool(state.pool.clone())));
        std::future::ready(db.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("application state missing"))))
    }
}

pub async fn gate(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    let grant = req.match_pattern().and_then(|pattern| state.route(&pattern, req.method().as_str())).map(|r| r.grant);
    let grant = match grant {
        // Unknown paths and methods fall through to the router's 404/405.
        None | Some(Grant::Public) => return next.call(req).await.map(ServiceResponse::map_into_boxed_body),
        Some(grant) => grant,
    };
    let case_data = matches!(grant, Grant::CaseData(_));
    let event_written = Arc::new(AtomicBool::new(false));
    req.extensions_mut().insert(audit::Written(event_written.clone()));

    let (res, db) = match admit(&mut req, &state, grant).await {
        Ok(db) => {
            req.extensions_mut().insert(db.clone());
            let res = match next.call(req).await {
                Ok(res) => res.map_into_boxed_body(),
                Err(e) => {
                    db.finish(false).await.ok();
                    db.release();
                    return Err(e);
                }
            };
            let success = res.status().is_success() || res.status().is_redirection();
            match db.finish(success).await {
                Ok(()) => (res, Some(db)),
                Err(e) => {
                    tracing::error!(error = %e, "the request's transaction did not commit; answering 503");
                    let (req, _) = res.into_parts();
                    (ServiceResponse::new(req, ApiError::Unavailable.error_response()), Some(db))
                }
            }
        }
        Err(e) => (req.error_response(e), None),
    };

    let res = if case_data && !(event_written.load(Ordering::SeqCst) && res.status().is_success()) {
        let db = db.clone().unwrap_or_else(|| Db::Pool(state.pool.clone()));
        audit::refusal(&db, res).await
    } else {
        res
    };
    if let Some(db) = db {
        db.release();
    }
    Ok(res)
}

/// Authenticates the request and checks its grant and rate limit; returns the request's
/// connection, with the user and their quota stored in the request.
async fn admit(req: &mut ServiceRequest, state: &AppState, grant: Grant) -> Result<Db, ApiError> {
    let token = bearer_token(req.headers()).ok_or(ApiError::Unauthenticated)?;
    let claims = state.keys.verify(token).map_err(|reason| {
        tracing::info!(reason = ?reason, "access token refused");
        ApiError::Unauthenticated
    })?;
    read_body(req, state.json_body_limit).await?;

    let class = if req.method() == actix_web::http::Method::GET { RouteClass::Read } else { RouteClass::Write };
    let capacity = state.limiter.capacity(class);
    let (db, (user, bucket)) =
        Db::open(&state.pool, move |conn| Ok(sessions::check_session(conn, &claims, class, capacity)?)).await?;
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
    req.extensions_mut().insert(user);
    Ok(db)
}

/// Reads the request body into memory before a connection is checked out, so a client that
/// sends slowly holds memory (at most `limit` and a chunk) rather than a database connection.
/// A body over `limit` is cut there; the extractor then answers 413.
async fn read_body(req: &mut ServiceRequest, limit: usize) -> Result<(), ApiError> {
    let mut payload = req.take_payload();
    let mut body = web::BytesMut::new();
    let reading = async {
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|_| ApiError::Malformed("The request body could not be read."))?;
            body.extend_from_slice(&chunk);
            if body.len() > limit {
                break;
            }
        }
        Ok::<_, ApiError>(())
    };
    tokio::time::timeout(BODY_DEADLINE, reading)
        .await
        .map_err(|_| ApiError::Malformed("The request body did not arrive in time."))??;
    req.set_payload(Payload::from(body.freeze()));
    Ok(())
}

fn bearer_token(headers: &header::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}
