//! `openapi.yaml` and the route table agree, and every response the suite sees matches the
//! schema the spec gives for its operation and status.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use actix_web::http::Method;
use confer::startup::ROUTES;
use serde_json::{Value, json};

use crate::helpers::Res;

pub static SPEC: LazyLock<Value> = LazyLock::new(|| {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).unwrap();
    serde_yaml::from_str(&text).expect("openapi.yaml is valid YAML")
});

const METHODS: &[&str] = &["get", "put", "post", "delete", "patch", "head", "options", "trace"];

fn spec_operations() -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in SPEC["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if METHODS.contains(&method.as_str()) {
                let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
                out.insert((method.to_uppercase(), path.clone(), id.to_owned()));
            }
        }
    }
    out
}

/// The routed operation a request for `method` `path` reaches, if any.
pub fn route_for(method: &str, path: &str) -> Option<&'static confer::state::RouteSpec> {
    let path = path.split('?').next().unwrap_or_default();
    let pattern = pattern_for(path)?;
    ROUTES.iter().find(|r| r.path == pattern && r.method == method)
}

/// The route pattern `path` matches, if any.
fn pattern_for(path: &str) -> Option<&'static str> {
    let segs: Vec<&str> = path.split('/').collect();
    ROUTES.iter().map(|r| r.path).find(|pattern| {
        let p: Vec<&str> = pattern.split('/').collect();
        p.len() == segs.len() && p.iter().zip(&segs).all(|(a, b)| a.starts_with('{') || a == b)
    })
}

fn validate(schema: &Value, body: &Value, context: &str) {
    let mut root = schema.clone();
    root.as_object_mut().unwrap().insert("components".into(), SPEC["components"].clone());
    let validator = jsonschema::validator_for(&root).unwrap_or_else(|e| panic!("{context}: bad schema: {e}"));
    let errors: Vec<String> = validator.iter_errors(body).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{context}: response does not match openapi.yaml: {errors:?}\nbody: {body}");
}

pub fn check_response(method: &Method, path: &str, res: &Res) {
    let context = format!("{method} {path} -> {}", res.status.as_u16());
    let content_type = res.header("content-type").unwrap_or_default();
    if !res.status.is_success() {
        assert_eq!(content_type, "application/problem+json", "{context}: errors are problem+json");
        validate(&json!({ "$ref": "#/components/schemas/Problem" }), &res.json(), &context);
    }
    let Some(pattern) = pattern_for(path) else { return };
    let Some(op) = SPEC["paths"][pattern].get(method.as_str().to_lowercase()) else { return };
    let status = res.status.as_u16().to_string();
    let response = op["responses"]
        .get(&status)
        .unwrap_or_else(|| panic!("{context}: status {status} is not documented for {method} {pattern}"));
    let response = match response.get("$ref").and_then(Value::as_str) {
        Some(r) => &SPEC["components"]["responses"][r.rsplit('/').next().unwrap()],
        None => response,
    };
    if res.body.is_empty() {
        return;
    }
    let media = content_type.split(';').next().unwrap_or_default().trim().to_owned();
    let schema = &response["content"][&media]["schema"];
    assert!(!schema.is_null(), "{context}: content type {media} is not documented");
    if media.ends_with("json") {
        validate(schema, &res.json(), &context);
    }
}

#[test]
fn every_routed_operation_is_documented_and_every_documented_one_is_routed() {
    let routed: BTreeSet<(String, String, String)> =
        ROUTES.iter().map(|r| (r.method.to_owned(), r.path.to_owned(), r.operation_id.to_owned())).collect();
    let documented = spec_operations();
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(undocumented.is_empty(), "routed but not in openapi.yaml (method, path, operationId): {undocumented:?}");
    assert!(unrouted.is_empty(), "in openapi.yaml but not routed: {unrouted:?}");
}

#[test]
fn the_spec_is_openapi_3_1_and_every_operation_documents_its_errors() {
    assert_eq!(SPEC["openapi"].as_str().map(|v| v.starts_with("3.1")), Some(true));
    for route in ROUTES {
        let op = &SPEC["paths"][route.path][route.method.to_lowercase()];
        let responses = op["responses"].as_object().unwrap();
        let is_public = matches!(route.grant, confer::state::Grant::Public);
        if !is_public {
            for status in ["401", "403"] {
                if status == "403" && matches!(route.grant, confer::state::Grant::AnyUser) {
                    continue;
                }
                assert!(responses.contains_key(status), "{} {} lacks {status}", route.method, route.path);
            }
        }
        if op.get("requestBody").is_some() {
            for status in ["400", "413", "415"] {
                assert!(responses.contains_key(status), "{} {} lacks {status}", route.method, route.path);
            }
        }
        if route.method == "PATCH" {
            for status in ["412", "428"] {
                assert!(responses.contains_key(status), "{} {} lacks {status}", route.method, route.path);
            }
        }
    }
}
