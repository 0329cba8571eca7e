//! The one error type. Every non-2xx answer of the service is written here, as RFC 9457
//! `application/problem+json`, with the request id as `instance`. Internal detail goes to the log,
//! never to the client.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde::Serialize;

/// One problem with one field of a request: `field` is a JSON path (`roles[0].panel_id`), `code`
/// a stable machine-readable reason (`required`, `too_long`, `unknown_field` …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    pub field: String,
    pub code: String,
    /// For a value outside a vocabulary: the values the field takes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed: Vec<String>,
    /// For a line of an imported register: the register's own reference on that line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

impl FieldProblem {
    pub fn new(field: impl Into<String>, code: impl Into<String>) -> Self {
        Self { field: field.into(), code: code.into(), allowed: Vec::new(), reference: None }
    }

    /// A value outside a vocabulary: `not_an_allowed_value`, with the values the field takes.
    pub fn not_allowed(field: impl Into<String>, allowed: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self { allowed: allowed.into_iter().map(Into::into).collect(), ..Self::new(field, "not_an_allowed_value") }
    }
}

/// Why a caller is refused (403). The caller is authenticated and the object, if any, is visible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forbidden {
    /// The caller's roles do not include one the route grants (SECURITY.md AC-1).
    Function,
    /// Only the panel's coordinators and chairs may do this to a case they can see.
    PanelStaffOnly,
    /// The caller holds no role on the panel named in the request that allows this.
    NotPanelMember,
    /// Case details of a meeting need the confidentiality statement acknowledged first.
    ConfidentialityNotAcknowledged,
    /// Only the owner agency (or panel staff) may change an action or post on it.
    NotActionOwner,
    /// Only panel staff or the referring organisation may edit a case.
    NotCaseEditor,
    /// Reading this needs a valid stated purpose (SECURITY.md AU-3).
    PurposeRequired,
    /// The caller's organisation is not listed to attend the meeting.
    NotListedToAttend,
    /// Only a chair of the panel may decide this.
    ChairOnly,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid request")]
    BadRequest(Vec<FieldProblem>),
    #[error("malformed request")]
    Malformed(&'static str),
    #[error("authentication required")]
    Unauthenticated,
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("not permitted")]
    Forbidden(Forbidden),
    /// The field policy does not let the caller write fields the request carries.
    #[error("field not writable")]
    FieldsNotWritable(Vec<FieldProblem>),
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("conflict")]
    Conflict(Vec<FieldProblem>),
    #[error("invalid transition")]
    InvalidTransition { resource: &'static str, current: &'static str, requested: &'static str },
    /// `If-Match` names another version; carries the current one when known.
    #[error("precondition failed")]
    Stale(Option<i32>),
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("unprocessable")]
    Unprocessable(Vec<FieldProblem>),
    #[error("precondition required")]
    IfMatchMissing,
    #[error("too many requests")]
    RateLimited { retry_after_secs: u64 },
    #[error("service unavailable")]
    Unavailable,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn bad_field(field: impl Into<String>, code: impl Into<String>) -> Self {
        Self::BadRequest(vec![FieldProblem::new(field, code)])
    }

    pub fn unprocessable(field: impl Into<String>, code: impl Into<String>) -> Self {
        Self::Unprocessable(vec![FieldProblem::new(field, code)])
    }

    pub fn conflict(field: impl Into<String>, code: impl Into<String>) -> Self {
        Self::Conflict(vec![FieldProblem::new(field, code)])
    }

    /// The problem `type` slug, `title` and `detail` for this error.
    fn describe(&self) -> (&'static str, &'static str, String) {
        if let Self::InvalidTransition { resource, current, requested } = self {
            return (
                "invalid-transition",
                "That change of status is not possible now",
                format!("The {resource} is `{current}`; it cannot move to `{requested}` from there."),
            );
        }
        let (slug, title, detail) = self.describe_static();
        (slug, title, detail.to_owned())
    }

    fn describe_static(&self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::BadRequest(_) => (
                "validation-error",
                "The request is not valid",
                "One or more fields are missing, malformed or not allowed; see `errors`.",
            ),
            Self::Malformed(detail) => ("malformed-request", "The request could not be read", detail),
            Self::Unauthenticated => (
                "unauthenticated",
                "Authentication required",
                "The credentials sent are missing, invalid or expired; sign in again.",
            ),
            Self::InvalidCredentials => (
                "invalid-credentials",
                "Sign-in failed",
                "The email address and password do not match an active account.",
            ),
            Self::Forbidden(Forbidden::Function) => {
                ("function-not-permitted", "Not permitted", "None of your roles may use this operation.")
            }
            Self::Forbidden(Forbidden::PanelStaffOnly) => {
                ("panel-staff-only", "Not permitted", "Only the panel's coordinators and chairs may do this.")
            }
            Self::Forbidden(Forbidden::NotPanelMember) => {
                ("not-a-panel-member", "Not permitted", "You hold no role on that panel that allows this.")
            }
            Self::Forbidden(Forbidden::ConfidentialityNotAcknowledged) => (
                "confidentiality-not-acknowledged",
                "Acknowledge the confidentiality statement first",
                "Case details of this meeting are shown once you acknowledge its confidentiality statement.",
            ),
            Self::Forbidden(Forbidden::NotActionOwner) => (
                "not-action-owner",
                "Not permitted",
                "Only the owner agency, or the panel's coordinators and chairs, may do this.",
            ),
            Self::Forbidden(Forbidden::NotCaseEditor) => (
                "not-case-editor",
                "Not permitted",
                "Only the panel's coordinators and chairs, or the organisation that referred the case, may edit it.",
            ),
            Self::Forbidden(Forbidden::PurposeRequired) => (
                "purpose-required",
                "A stated purpose is required",
                "Send X-Access-Purpose as meeting:<id>, action:<id> linked to this case, or reason:<at least 20 characters>.",
            ),
            Self::Forbidden(Forbidden::NotListedToAttend) => (
                "not-listed-to-attend",
                "Not permitted",
                "Your organisation is not listed to attend this meeting; ask the coordinator.",
            ),
            Self::Forbidden(Forbidden::ChairOnly) => {
                ("chair-only", "Not permitted", "Only a chair of the panel may decide this.")
            }
            Self::FieldsNotWritable(_) => (
                "field-not-writable",
                "Not permitted",
                "Your organisation may not write a field this request carries; see `errors`.",
            ),
            Self::NotFound => ("not-found", "Not found", "There is nothing at this address."),
            Self::MethodNotAllowed => (
                "method-not-allowed",
                "Method not allowed",
                "This address does not support that method; see the `Allow` header.",
            ),
            Self::Conflict(_) => {
                ("conflict", "The request conflicts with existing data", "See `errors` for the field that conflicts.")
            }
            Self::Stale(_) => (
                "precondition-failed",
                "The resource has changed since you read it",
                "Fetch the resource again and reapply your change.",
            ),
            Self::PayloadTooLarge => ("payload-too-large", "The request body is too large", "Send a smaller body."),
            Self::UnsupportedMediaType => {
                ("unsupported-media-type", "Unsupported media type", "Send the body as `application/json`.")
            }
            Self::Unprocessable(_) => (
                "unprocessable",
                "The request breaks a rule of the domain",
                "See `errors` for the rule that was broken.",
            ),
            Self::IfMatchMissing => {
                ("precondition-required", "If-Match required", "Send the ETag you last read as `If-Match`.")
            }
            Self::RateLimited { .. } => (
                "too-many-requests",
                "Too many requests",
                "Wait for the number of seconds in `Retry-After`, then try again.",
            ),
            Self::Unavailable => (
                "service-unavailable",
                "Service unavailable",
                "The service cannot reach its database just now; try again shortly.",
            ),
            Self::InvalidTransition { .. } => unreachable!("described with its states above"),
            Self::Internal(_) => (
                "internal-error",
                "Internal error",
                "Something went wrong on our side. Quote the `instance` when you report it.",
            ),
        }
    }

    fn field_problems(&self) -> Option<&[FieldProblem]> {
        match self {
            Self::BadRequest(p) | Self::Conflict(p) | Self::Unprocessable(p) | Self::FieldsNotWritable(p) => Some(p),
            _ => None,
        }
    }
}

#[derive(Serialize)]
struct ProblemBody<'a> {
    #[serde(rename = "type")]
    type_: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
    instance: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a [FieldProblem]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    current_status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    current_version: Option<i32>,
}

pub const PROBLEM_JSON: &str = "application/problem+json";

/// The problem `type` slug of an error response, kept in the response's extensions so the backstop
/// audit event (`audit::refusal`) can tell one refusal from another without reading the body.
#[derive(Debug, Clone, Copy)]
pub struct ProblemType(pub &'static str);

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) | Self::Malformed(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated | Self::InvalidCredentials => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) | Self::FieldsNotWritable(_) => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) | Self::InvalidTransition { .. } => StatusCode::CONFLICT,
            Self::Stale(_) => StatusCode::PRECONDITION_FAILED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::IfMatchMissing => StatusCode::PRECONDITION_REQUIRED,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(e) = self {
            tracing::error!(error = format!("{e:#}"), "internal error");
        }
        let (slug, title, detail) = self.describe();
        let status = self.status_code();
        let body = ProblemBody {
            type_: format!("/problems/{slug}"),
            title,
            status: status.as_u16(),
            detail: &detail,
            instance: crate::request_id::instance(),
            errors: self.field_problems(),
            current_status: match self {
                Self::InvalidTransition { current, .. } => Some(current),
                _ => None,
            },
            current_version: match self {
                Self::Stale(current) => *current,
                _ => None,
            },
        };
        let mut res = HttpResponse::build(status);
        res.extensions_mut().insert(ProblemType(slug));
        res.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        match self {
            Self::RateLimited { retry_after_secs } => {
                res.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            Self::Unavailable => {
                res.insert_header((header::RETRY_AFTER, "2"));
            }
            Self::Unauthenticated => {
                res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            Self::Stale(Some(current)) => {
                res.insert_header((header::ETAG, format!("\"{current}\"")));
            }
            _ => {}
        }
        res.body(serde_json::to_vec(&body).expect("problem bodies serialise"))
    }
}

impl From<DieselError> for ApiError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::NotFound => Self::NotFound,
            DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _,
            )
            | DieselError::BrokenTransactionManager => Self::Unavailable,
            DieselError::DatabaseError(_, ref info) if is_transient(info.message()) => Self::Unavailable,
            other => Self::Internal(other.into()),
        }
    }
}

/// Database errors that say "not now" rather than "wrong": a time limit, or a server going away
/// (shut down, crashed, restarting). The client may retry; the answer is 503.
fn is_transient(message: &str) -> bool {
    const TRANSIENT: [&str; 8] = [
        "canceling statement due to statement timeout",
        "canceling statement due to lock timeout",
        "terminating connection",
        "server closed the connection unexpectedly",
        "the database system is",
        "could not receive data from server",
        "no connection to the server",
        "connection to server",
    ];
    TRANSIENT.iter().any(|t| message.contains(t))
}

/// The name of the constraint a unique violation hit, so a model can map a *known* constraint
/// to a 409 on the right field; any other database error stays internal.
pub fn unique_violation(e: &DieselError) -> Option<&str> {
    match e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => info.constraint_name(),
        _ => None,
    }
}

#[cfg(test)]
mod transient_tests {
    use super::is_transient;

    #[test]
    fn a_server_going_away_is_transient_and_a_broken_rule_is_not() {
        assert!(is_transient("terminating connection due to administrator command"));
        assert!(is_transient("server closed the connection unexpectedly\n\tThis probably means ..."));
        assert!(is_transient("the database system is in recovery mode"));
        assert!(is_transient("canceling statement due to lock timeout"));
        assert!(!is_transient("duplicate key value violates unique constraint \"cases_reference_key\""));
        assert!(!is_transient("null value in column \"panel_id\" violates not-null constraint"));
    }
}
