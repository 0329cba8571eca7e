//! Request extractors that answer in the service's problem shape: a JSON body that refuses
//! unknown fields and NUL characters and names the field at fault, a query string that does the
//! same, and `If-Match`.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, web};
use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::Digest;

use crate::error::{ApiError, FieldProblem};

/// A JSON request body, parsed into `T` (whose DTOs use `deny_unknown_fields`), with the SHA-256
/// of its canonical form (keys sorted), which idempotent creates compare.
pub struct Json<T> {
    value: T,
    fingerprint: Vec<u8>,
}

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.value
    }

    pub fn fingerprint(&self) -> &[u8] {
        &self.fingerprint
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type_ok = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
            })
            .unwrap_or(false);
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !content_type_ok {
                return Err(ApiError::UnsupportedMediaType);
            }
            let bytes = body.await.map_err(|e| {
                if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge
                } else {
                    ApiError::Malformed("The request body could not be read.")
                }
            })?;
            let value: T = parse_json(&bytes)?;
            let canonical: Value = serde_json::from_slice(&bytes)
                .map_err(|_| ApiError::Malformed("The request body is not valid JSON."))?;
            let fingerprint =
                sha2::Sha256::digest(serde_json::to_vec(&canonical).expect("JSON values serialise")).to_vec();
            Ok(Json { value, fingerprint })
        })
    }
}

/// Parses a JSON document into `T`, mapping every failure to a problem a client can act on.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|_| ApiError::Malformed("The request body is not valid JSON."))?;
    let mut problems = Vec::new();
    find_nul_characters(&value, "", &mut problems);
    if !problems.is_empty() {
        return Err(ApiError::BadRequest(problems));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let problem = problem_from_serde(&path, &e.inner().to_string());
        // The shape is wrong (unknown or missing field, wrong JSON type): 400. The shape is right
        // but the value is not one the domain allows (an unknown code, an impossible date): 422.
        if matches!(
            problem.code.as_str(),
            "not_an_allowed_value"
                | "invalid_value"
                | crate::domain::NOT_AN_ISO_DATE
                | crate::domain::DATE_OUT_OF_RANGE
        ) {
            ApiError::Unprocessable(vec![problem])
        } else {
            ApiError::BadRequest(vec![problem])
        }
    })
}

/// PostgreSQL cannot store U+0000 in text or jsonb; refuse it anywhere, keys included.
fn find_nul_characters(value: &Value, path: &str, out: &mut Vec<FieldProblem>) {
    match value {
        Value::String(s) if s.contains('\0') => out.push(FieldProblem::new(display_path(path), "nul_character")),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                find_nul_characters(item, &format!("{path}[{i}]"), out);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let child = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                if key.contains('\0') {
                    out.push(FieldProblem::new(display_path(path), "nul_character"));
                } else {
                    find_nul_characters(item, &child, out);
                }
            }
        }
        _ => {}
    }
}

fn display_path(path: &str) -> String {
    if path.is_empty() { ".".to_owned() } else { path.to_owned() }
}

/// Turns serde's message into a field path and a stable code.
fn problem_from_serde(path: &str, message: &str) -> FieldProblem {
    let parent = if path == "." { "" } else { path };
    let join = |name: &str| if parent.is_empty() { name.to_owned() } else { format!("{parent}.{name}") };
    let quoted = |m: &str| m.split('`').nth(1).map(str::to_owned);
    if message.starts_with("unknown field") {
        // The path already ends with the unknown key.
        let name = quoted(message).unwrap_or_default();
        let field = if parent.ends_with(&name) && !name.is_empty() { parent.to_owned() } else { join(&name) };
        return FieldProblem::new(field, "unknown_field");
    }
    if message.starts_with("missing field") {
        let name = quoted(message).unwrap_or_default();
        return FieldProblem::new(join(&name), "required");
    }
    if let Some(code) = message.strip_prefix("code:") {
        return FieldProblem::new(display_path(parent), code);
    }
    if message.starts_with("unknown variant") {
        // serde says: unknown variant `x`, expected one of `a`, `b`, `c`
        let allowed: Vec<String> = message
            .split_once("expected")
            .map(|(_, list)| list.split('`').skip(1).step_by(2).map(str::to_owned).collect())
            .unwrap_or_default();
        return FieldProblem::not_allowed(display_path(parent), allowed);
    }
    // A list where an object belongs reaches serde as "invalid length": the shape is wrong.
    let code = if message.starts_with("invalid type") || message.starts_with("invalid length") {
        "invalid_type"
    } else {
        "invalid_value"
    };
    FieldProblem::new(display_path(parent), code)
}

/// A query string parsed into `T` (with `deny_unknown_fields`), with the same problem shape.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let parsed = serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
            .map_err(|_| ApiError::Malformed("The query string could not be read."))
            .and_then(|pairs| {
                if let Some((name, _)) = pairs.iter().find(|(k, v)| k.contains('\0') || v.contains('\0')) {
                    return Err(ApiError::bad_field(name.replace('\0', ""), "nul_character"));
                }
                let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(req.query_string().as_bytes()));
                serde_path_to_error::deserialize(de).map_err(|e| {
                    let path = e.path().to_string();
                    let problem = problem_from_serde(&path, &e.inner().to_string());
                    // A well-formed date the service does not support is a value it will not
                    // take (422), as in a body; other unreadable query values are 400.
                    if problem.code == crate::domain::DATE_OUT_OF_RANGE {
                        ApiError::Unprocessable(vec![problem])
                    } else {
                        ApiError::BadRequest(vec![problem])
                    }
                })
            })
            .map(Query);
        std::future::ready(parsed)
    }
}

/// `If-Match` as sent. Extraction never fails, so a bad body is reported before a bad
/// precondition; the handler asks for `version()` where it compares.
#[derive(Debug, Clone, Copy)]
pub enum IfMatch {
    Missing,
    NotAnEntityTag,
    /// A weak or foreign tag: it can match no version of ours.
    Unmatchable,
    Version(i32),
}

impl IfMatch {
    /// The version named by `If-Match: "N"` (the strong ETag this service hands out). Missing →
    /// 428; not an entity tag → 400; any other tag → 412.
    pub fn version(self) -> Result<i32, ApiError> {
        match self {
            IfMatch::Missing => Err(ApiError::IfMatchMissing),
            IfMatch::NotAnEntityTag => Err(ApiError::bad_field("If-Match", "not_an_entity_tag")),
            IfMatch::Unmatchable => Err(ApiError::Stale(None)),
            IfMatch::Version(v) => Ok(v),
        }
    }

    /// Ok when the request names `current`, the version as it stands; 412 with it otherwise
    /// (428 when missing, 400 when not an entity tag).
    pub fn require(self, current: i32) -> Result<(), ApiError> {
        if self.version()? == current { Ok(()) } else { Err(ApiError::Stale(Some(current))) }
    }
}

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let parsed = match req.headers().get(header::IF_MATCH) {
            None => IfMatch::Missing,
            Some(value) => match value.to_str().ok().map(str::trim) {
                Some(tag) if tag.len() >= 2 && tag.starts_with('"') && tag.ends_with('"') => {
                    tag[1..tag.len() - 1].parse::<i32>().map_or(IfMatch::Unmatchable, IfMatch::Version)
                }
                Some(tag) if tag.starts_with("W/") => IfMatch::Unmatchable,
                _ => IfMatch::NotAnEntityTag,
            },
        };
        std::future::ready(Ok(parsed))
    }
}

/// `X-Access-Purpose`: why the caller reads the most sensitive fields (SECURITY.md AU-3), as
/// `meeting:<id>`, `action:<id>` or `reason:<text>`. Checked against the case by
/// `models::access::check_purpose`.
pub struct AccessPurpose(pub Option<String>);

pub const PURPOSE_HEADER: &str = "x-access-purpose";

impl FromRequest for AccessPurpose {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let result = match req.headers().get(PURPOSE_HEADER) {
            None => Ok(AccessPurpose(None)),
            Some(v) => match v.to_str() {
                Ok(s) if s.len() <= 500 && !s.chars().any(char::is_control) => {
                    Ok(AccessPurpose(Some(s.trim().to_owned())))
                }
                _ => Err(ApiError::bad_field(PURPOSE_HEADER, "invalid_purpose")),
            },
        };
        std::future::ready(result)
    }
}

/// `Idempotency-Key: <uuid>` on a create (SECURITY.md RE-2); a malformed key is 400.
pub struct IdempotencyKey(pub Option<uuid::Uuid>);

impl FromRequest for IdempotencyKey {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let result = match req.headers().get("idempotency-key") {
            None => Ok(IdempotencyKey(None)),
            Some(v) => v
                .to_str()
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .map(|k| IdempotencyKey(Some(k)))
                .ok_or_else(|| ApiError::bad_field("Idempotency-Key", "not_a_uuid")),
        };
        std::future::ready(result)
    }
}

/// The strong ETag for a row version.
pub fn etag(version: i32) -> (header::HeaderName, String) {
    (header::ETAG, format!("\"{version}\""))
}

/// `web::Path` errors (a malformed UUID) as a 400 problem instead of actix's plain-text 404.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_, _| ApiError::bad_field("path", "invalid_path_parameter").into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        code: String,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        items: Vec<Inner>,
        limit: Option<u32>,
    }

    fn problems(body: &str) -> Vec<FieldProblem> {
        match parse_json::<Outer>(body.as_bytes()) {
            Err(ApiError::BadRequest(p) | ApiError::Unprocessable(p)) => p,
            other => panic!("expected a 400 or 422, got {:?}", other.map(|_| ())),
        }
    }

    #[test]
    fn field_errors_name_the_path_and_reason() {
        assert_eq!(problems(r#"{"items": []}"#), vec![FieldProblem::new("name", "required")]);
        assert_eq!(
            problems(r#"{"name": "a", "items": [], "extra": 1}"#),
            vec![FieldProblem::new("extra", "unknown_field")]
        );
        assert_eq!(problems(r#"{"name": 5, "items": []}"#), vec![FieldProblem::new("name", "invalid_type")]);
        assert_eq!(
            problems("[]"),
            vec![FieldProblem::new(".", "invalid_type")],
            "a list for an object is the wrong shape"
        );
        assert!(matches!(parse_json::<Outer>(b"[]"), Err(ApiError::BadRequest(_))), "and a 400");
        assert_eq!(
            problems(r#"{"name": "a", "items": [{"code": "x"}, {"cod": "y"}]}"#),
            vec![FieldProblem::new("items[1].cod", "unknown_field")]
        );
        assert_eq!(
            problems(r#"{"name": "a", "items": [], "limit": -1}"#),
            vec![FieldProblem::new("limit", "invalid_value")]
        );
    }

    #[test]
    fn nul_characters_are_refused_wherever_they_are() {
        let found = problems(r#"{"name": "a\u0000b", "items": [{"code": "\u0000"}]}"#);
        assert_eq!(found.len(), 2);
        assert!(found.contains(&FieldProblem::new("name", "nul_character")));
        assert!(found.contains(&FieldProblem::new("items[0].code", "nul_character")));
    }

    #[test]
    fn a_wrong_shape_is_400_and_a_disallowed_value_is_422() {
        assert!(matches!(parse_json::<Outer>(br#"{"items": []}"#), Err(ApiError::BadRequest(_))));
        assert!(matches!(parse_json::<Outer>(br#"{"name": 1, "items": []}"#), Err(ApiError::BadRequest(_))));
        assert!(matches!(
            parse_json::<Outer>(br#"{"name": "a", "items": [], "limit": -1}"#),
            Err(ApiError::Unprocessable(_))
        ));
    }

    #[test]
    fn syntax_errors_are_malformed_not_validation() {
        assert!(matches!(parse_json::<Outer>(b"{\"name\": "), Err(ApiError::Malformed(_))));
        assert!(matches!(parse_json::<Outer>(b""), Err(ApiError::Malformed(_))));
    }
}
