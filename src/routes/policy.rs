//! The field-level policy as data: read by admins and auditors, replaced whole by system admins
//! (audited as `policy_change`). Changes count on the next request.

use actix_web::HttpResponse;
use serde::{Deserialize, Serialize};

use crate::audit::{Audit, Event, audited};
use crate::db::Db;
use crate::domain::{AgencyType, AuditAction, AuthUser, FieldAccessLevel, Role, Tag};
use crate::error::{ApiError, FieldProblem};
use crate::extract::{IfMatch, Json, etag};
use crate::models::policy::{self, PolicyRow};

const MAX_ROWS: usize = 1000;

#[derive(Serialize)]
pub struct PolicyResponse {
    version: i32,
    rows: Vec<PolicyRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyRowInput {
    subject_kind: String,
    subject: String,
    tag: Tag,
    access: FieldAccessLevel,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyInput {
    rows: Vec<PolicyRowInput>,
}

/// GET /api/v1/field-policy
pub async fn get_field_policy(db: Db, _user: AuthUser) -> Result<HttpResponse, ApiError> {
    let (version, rows) = db.run(|conn| Ok(policy::all_rows(conn)?)).await?;
    Ok(HttpResponse::Ok().insert_header(etag(version)).json(PolicyResponse { version, rows }))
}

/// The roles the policy names (agency reps and IDVAs are subject to their organisation's type).
const POLICY_ROLES: [Role; 2] = [Role::Coordinator, Role::Chair];

/// PUT /api/v1/field-policy: replaces the whole policy.
pub async fn put_field_policy(
    db: Db,
    user: AuthUser,
    audit: Audit,
    if_match: IfMatch,
    body: Json<PolicyInput>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner();
    if input.rows.len() > MAX_ROWS {
        return Err(ApiError::bad_field("rows", "too_many_items"));
    }
    let mut problems = Vec::new();
    let mut rows: Vec<PolicyRow> = Vec::new();
    for (i, r) in input.rows.into_iter().enumerate() {
        let subjects: Vec<&str> = match r.subject_kind.as_str() {
            "agency_type" => AgencyType::ALL.iter().map(|t| t.as_str()).collect(),
            "role" => POLICY_ROLES.iter().map(|r| r.as_str()).collect(),
            _ => {
                problems.push(FieldProblem::not_allowed(format!("rows[{i}].subject_kind"), ["agency_type", "role"]));
                continue;
            }
        };
        if !subjects.contains(&r.subject.as_str()) {
            problems.push(FieldProblem::not_allowed(format!("rows[{i}].subject"), subjects));
            continue;
        }
        if rows.iter().any(|o| o.subject_kind == r.subject_kind && o.subject == r.subject && o.tag == r.tag) {
            problems.push(FieldProblem::new(format!("rows[{i}]"), "duplicate"));
            continue;
        }
        rows.push(PolicyRow { subject_kind: r.subject_kind, subject: r.subject, tag: r.tag, access: r.access });
    }
    if !problems.is_empty() {
        return Err(ApiError::Unprocessable(problems));
    }
    let (version, rows) = audited(&db, audit, move |conn| {
        let (current, _) = policy::all_rows(conn)?;
        if_match.require(current)?;
        policy::replace(conn, &rows, user.user_id)?;
        Ok((policy::all_rows(conn)?, Event::ok(AuditAction::PolicyChange, "field_policy", Vec::new())))
    })
    .await?;
    tracing::info!(policy.version = version, "field policy replaced");
    Ok(HttpResponse::Ok().insert_header(etag(version)).json(PolicyResponse { version, rows }))
}
