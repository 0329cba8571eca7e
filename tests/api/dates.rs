//! Every date a client can send, found from `openapi.yaml` (query parameters and request body
//! fields of `format: date` or `date-time`, however deeply nested), is swept with a date the
//! service does not support and with loose spellings: each gets a problem naming the field, never a
//! 500 (issue 11: `to=9999-12-31` on the comparison answered 500).

use actix_web::http::Method;
use actix_web::test::TestRequest;
use confer::domain::Role;
use confer::startup::ROUTES;
use confer::state::Grant;
use serde_json::{Value, json};

use crate::cases::{days_ago, world};
use crate::contract::SPEC;
use crate::helpers::Session;

/// Resolves a local `$ref`.
fn resolve(schema: &Value) -> &Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let mut node = &*SPEC;
            for part in r.trim_start_matches("#/").split('/') {
                node = &node[part];
            }
            resolve(node)
        }
        None => schema,
    }
}

/// The JSON paths (as the service names them: `a.b[0].c`) of every date field under `schema`,
/// with its format.
fn date_fields(schema: &Value, path: &str, depth: usize, out: &mut Vec<(String, String)>) {
    let schema = resolve(schema);
    if depth > 6 {
        return;
    }
    let format = schema.get("format").and_then(Value::as_str);
    if matches!(format, Some("date" | "date-time")) && !path.is_empty() {
        out.push((path.to_owned(), format.unwrap().to_owned()));
        return;
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        for option in schema.get(key).and_then(Value::as_array).into_iter().flatten() {
            date_fields(option, path, depth + 1, out);
        }
    }
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (name, prop) in props {
            let child = if path.is_empty() { name.clone() } else { format!("{path}.{name}") };
            date_fields(prop, &child, depth + 1, out);
        }
    }
    if let Some(items) = schema.get("items") {
        date_fields(items, &format!("{path}[0]"), depth + 1, out);
    }
}

/// A body carrying only `value` at `path`: the field is read, and refused, before any field
/// the body lacks is missed.
fn body_with(path: &str, value: &str) -> Value {
    let mut segments: Vec<(String, bool)> = Vec::new();
    for part in path.split('.') {
        match part.strip_suffix("[0]") {
            Some(name) => segments.push((name.to_owned(), true)),
            None => segments.push((part.to_owned(), false)),
        }
    }
    let mut node = json!(value);
    for (name, is_array) in segments.into_iter().rev() {
        if is_array {
            node = json!([node]);
        }
        node = json!({ name: node });
    }
    node
}

fn allows(grant: &Grant, role: Role) -> bool {
    match grant {
        Grant::Public | Grant::AnyUser => true,
        Grant::Roles(roles) | Grant::CaseData(roles) => roles.contains(&role),
    }
}

#[actix_web::test]
async fn every_date_a_client_sends_is_a_full_iso_date_in_the_supported_range() {
    let w = world().await;
    let auditor = w.app.user(&w.admin, "aud@test.example", None, json!([{ "role": "auditor" }])).await;
    let callers: [(Role, &Session); 3] =
        [(Role::SystemAdmin, &w.admin), (Role::Coordinator, &w.coordinator), (Role::Auditor, &auditor)];
    let random = uuid::Uuid::new_v4().to_string();
    let mut swept = 0;
    let mut failures = Vec::new();
    for route in ROUTES {
        let op = &SPEC["paths"][route.path][route.method.to_lowercase()];
        let Some((_, who)) = callers.iter().find(|(role, _)| allows(&route.grant, *role)) else { continue };
        let path = route
            .path
            .split('/')
            .map(|s| if s.starts_with('{') { random.as_str() } else { s })
            .collect::<Vec<_>>()
            .join("/");
        let mut fields = Vec::new();
        for param in op["parameters"].as_array().into_iter().flatten().map(resolve) {
            if param["in"] == "query" {
                let format = resolve(&param["schema"])["format"].as_str().unwrap_or_default();
                if matches!(format, "date" | "date-time") {
                    fields.push((true, param["name"].as_str().unwrap().to_owned(), format.to_owned()));
                }
            }
        }
        if let Some(schema) = op["requestBody"]["content"]["application/json"].get("schema") {
            let mut found = Vec::new();
            date_fields(schema, "", 0, &mut found);
            fields.extend(found.into_iter().map(|(p, f)| (false, p, f)));
        }
        for (in_query, field, format) in fields {
            let cases: &[(&str, &[u16])] = if format == "date" {
                &[
                    ("9999-12-31", &[422]),
                    ("1850-01-01", &[422]),
                    ("2024-1-1", &[400, 422]),
                    ("+10000-01-01", &[400, 422]),
                ]
            } else {
                &[("9999-12-31T00:00:00Z", &[422])]
            };
            for (value, expected) in cases {
                let method = Method::from_bytes(route.method.as_bytes()).unwrap();
                let mut req = TestRequest::default()
                    .method(method)
                    .insert_header(("authorization", format!("Bearer {}", who.access)))
                    .insert_header(("idempotency-key", uuid::Uuid::new_v4().to_string()))
                    .insert_header(("if-match", "\"1\""));
                if in_query {
                    let q: String = form_urlencoded::Serializer::new(String::new()).append_pair(&field, value).finish();
                    req = req.uri(&format!("{path}?{q}"));
                } else {
                    req = req.uri(&path).set_json(body_with(&field, value));
                }
                let res = w.app.call(req).await;
                swept += 1;
                let named = res.status.as_u16() >= 400
                    && res.status.as_u16() < 500
                    && res.field_errors().iter().any(|(f, _)| f == &field);
                if !expected.contains(&res.status.as_u16()) || !named {
                    failures.push(format!(
                        "{} {} {field}={value}: {} {}",
                        route.method,
                        route.path,
                        res.status,
                        String::from_utf8_lossy(&res.body)
                    ));
                }
            }
        }
    }
    println!("date sweep: {swept} requests over every date field and parameter in openapi.yaml");
    assert!(swept > 40, "the sweep found the dates ({swept})");
    assert!(failures.is_empty(), "{failures:#?}");

    // The comparison that answered 500, with real panels.
    let res = w
        .app
        .get(
            &format!("/api/v1/metrics/compare?panels={}&from=2000-01-01&to=9999-12-31", w.marac),
            &w.coordinator.access,
        )
        .await;
    assert_eq!(res.status, 422);
    assert_eq!(res.field_errors(), vec![("to".to_owned(), confer::domain::DATE_OUT_OF_RANGE.to_owned())]);
    // In-range dates still work.
    let ok = w
        .app
        .get(
            &format!("/api/v1/metrics/compare?panels={}&from={}&to={}", w.marac, days_ago(30), days_ago(0)),
            &w.coordinator.access,
        )
        .await;
    assert_eq!(ok.status, 200);
}
