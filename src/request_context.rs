//! The outermost middleware: gives every request an id (returned as `X-Request-Id` and as the
//! `instance` of problems), a tracing span, panic containment, `Cache-Control: no-store`, the
//! caller's `RateLimit` headers, and makes sure no error leaves the service in any shape other
//! than problem+json.

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, ResponseError};

use futures_util::FutureExt;
use tracing::Instrument;
use uuid::Uuid;

use crate::error::{ApiError, PROBLEM_JSON};
use crate::limits::Quota;

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let id = Uuid::new_v4().simple().to_string();
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".to_owned());
    let span = tracing::info_span!("request", request.id = %id, http.method = %req.method(), http.route = %route);
    let started = Instant::now();

    // Inner layers turn their errors into responses themselves (inside this scope, so problems
    // carry the request id). A panic has no request left to answer with: it goes back to actix
    // as an error, which still answers with a 500 problem.
    let work = crate::request_id::scope(id.clone(), async move {
        match AssertUnwindSafe(next.call(req)).catch_unwind().await {
            Ok(Ok(res)) => Ok(as_problem(res.map_into_boxed_body())),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(ApiError::Internal(anyhow::anyhow!("request handler panicked")).into()),
        }
    });
    let mut res = work.instrument(span.clone()).await?;

    let headers = res.headers_mut();
    headers.insert(
        header::HeaderName::from_static("x-request-id"),
        header::HeaderValue::from_str(&id).expect("hex ids are valid header values"),
    );
    headers.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    let quota = res.request().extensions().get::<Quota>().copied();
    if let Some(quota) = quota {
        let headers = res.headers_mut();
        for (name, value) in [("ratelimit-policy", quota.policy_header()), ("ratelimit", quota.state_header())] {
            if let Ok(value) = header::HeaderValue::from_str(&value) {
                headers.insert(header::HeaderName::from_static(name), value);
            }
        }
    }
    span.in_scope(|| {
        tracing::info!(
            http.status = res.status().as_u16(),
            elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request finished"
        );
    });
    Ok(res)
}

/// Rewrites an error response that some part of actix produced in its own shape (a resource's
/// 405, an extractor's plain-text 400 …) as a problem, keeping its headers (`Allow` among them).
fn as_problem(res: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let status = res.status();
    let is_problem = res.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes() == PROBLEM_JSON.as_bytes());
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return res;
    }
    let error = match status {
        StatusCode::NOT_FOUND => ApiError::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType,
        StatusCode::UNAUTHORIZED => ApiError::Unauthenticated,
        StatusCode::SERVICE_UNAVAILABLE => ApiError::Unavailable,
        s if s.is_client_error() => ApiError::Malformed("The request could not be understood."),
        _ => ApiError::Internal(anyhow::anyhow!("unhandled error response with status {status}")),
    };
    let (req, old) = res.into_parts();
    let mut new = error.error_response();
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            new.headers_mut().insert(name.clone(), value.clone());
        }
    }
    ServiceResponse::new(req, new)
}
