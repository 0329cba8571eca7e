//! Risk assessments at entry, review and exit. DASH scores are computed here from the answers;
//! matrix scores are checked against the panel's threshold (DOMAIN.md §4, §7.10).

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::audit::{self, Audit, Event};
use crate::db::Db;
use crate::disclosure::{self, Redactor, Subject};
use crate::domain::dash::{self, Answer};
use crate::domain::{
    AgencyId, AssessmentId, AssessmentStage, AuditAction, AuthUser, CaseId, CaseStatus, IsoDate, PanelKind, RiskTool,
    Tag, UserId, optional_text,
};
use crate::error::{ApiError, FieldProblem};
use crate::extract::{IdempotencyKey, Json};
use crate::idempotency;
use crate::models::access;
use crate::models::assessment::{self, AssessmentRow, NewAssessment};
use crate::models::case;
use crate::models::panel::{self, PanelRow};
use crate::routes::created;

const MAX_MATRIX_SCORE: i32 = 10_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DashAnswerInput {
    answer: Answer,
    comment: Option<String>,
    source: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssessmentInput {
    stage: Option<AssessmentStage>,
    tool: RiskTool,
    tool_version: String,
    assessed_on: Option<crate::domain::IsoDate>,
    answers: Option<BTreeMap<String, DashAnswerInput>>,
    score: Option<i32>,
    breakdown: Option<BTreeMap<String, f64>>,
}

impl AssessmentInput {
    /// The tags this assessment would write, with the field that carries each
    /// (`disclosure::DECLARED`: a DASH's individual answers).
    pub fn tags_written(&self) -> Vec<(Tag, &'static str)> {
        let answers = self.answers.as_ref().map(|a| serde_json::json!(a.keys().collect::<Vec<_>>()));
        disclosure::tags_written(Subject::Assessment(self.tool), &serde_json::json!({ "answers": answers }))
    }
}

/// A checked, scored assessment, ready to store against a case.
pub struct Scored {
    pub stage: AssessmentStage,
    pub tool: RiskTool,
    tool_version: String,
    answers: Option<serde_json::Value>,
    score: i32,
    dont_know_count: Option<i32>,
    threshold: Option<i32>,
    pub high_risk: bool,
    breakdown: Option<serde_json::Value>,
    assessed_on: Option<NaiveDate>,
}

impl Scored {
    pub fn into_new(self, agency: Option<AgencyId>, user: UserId, default_date: NaiveDate) -> NewAssessment {
        NewAssessment {
            stage: self.stage,
            tool: self.tool,
            tool_version: self.tool_version,
            answers: self.answers,
            score: self.score,
            dont_know_count: self.dont_know_count,
            threshold: self.threshold,
            high_risk: self.high_risk,
            breakdown: self.breakdown,
            assessed_on: self.assessed_on.unwrap_or(default_date),
            agency_id: agency,
            created_by: user,
        }
    }
}

/// Scores an assessment for `panel`; every problem is a 422 field problem.
pub fn score_assessment(
    input: &AssessmentInput,
    panel: &PanelRow,
    default_stage: AssessmentStage,
) -> Result<Scored, Vec<FieldProblem>> {
    let mut problems = Vec::new();
    let mut push = |f: &str, c: &str| problems.push(FieldProblem::new(f, c));
    let stage = input.stage.unwrap_or(default_stage);
    if input.assessed_on.is_some_and(|d| d.get() > Utc::now().date_naive()) {
        push("assessed_on", "in_future");
    }
    let version = match optional_text("tool_version", Some(&input.tool_version), 100) {
        Ok(Some(v)) => v,
        Ok(None) => {
            push("tool_version", "blank");
            String::new()
        }
        Err(p) => {
            push(&p.field, &p.code);
            String::new()
        }
    };
    if input.breakdown.as_ref().is_some_and(|b| b.len() > 50) {
        push("breakdown", "too_many_items");
    }
    let scored = match input.tool {
        RiskTool::DashRic => {
            if panel.kind != PanelKind::Marac {
                push("tool", "not_used_by_this_panel");
            }
            if version != dash::SAFELIVES_24 {
                push("tool_version", "unsupported_tool_version");
            }
            if input.score.is_some() {
                push("score", "computed_by_the_server");
            }
            let answers = input.answers.clone().unwrap_or_default();
            if input.answers.is_none() {
                push("answers", "required");
            }
            for code in answers.keys() {
                if !dash::QUESTIONS.contains(&code.as_str()) {
                    push(&format!("answers.{code}"), "unknown_question");
                }
            }
            for code in dash::QUESTIONS {
                if input.answers.is_some() && !answers.contains_key(code) {
                    push(&format!("answers.{code}"), "required");
                }
            }
            for (code, a) in &answers {
                for (name, text) in [("comment", &a.comment), ("source", &a.source)] {
                    if text.as_ref().is_some_and(|t| t.chars().count() > 2000) {
                        push(&format!("answers.{code}.{name}"), "too_long");
                    }
                }
            }
            let (yes, dont_know) = dash::score(answers.values().map(|a| &a.answer));
            let threshold = i32::from(panel.settings.dash_high_risk_threshold);
            Scored {
                stage,
                tool: input.tool,
                tool_version: version,
                answers: Some(serde_json::to_value(&answers).expect("answers serialise")),
                score: yes,
                dont_know_count: Some(dont_know),
                threshold: Some(threshold),
                high_risk: yes >= threshold,
                breakdown: None,
                assessed_on: input.assessed_on.map(IsoDate::get),
            }
        }
        RiskTool::CmaracMatrix | RiskTool::CustomScore => {
            if input.tool == RiskTool::CmaracMatrix && panel.kind != PanelKind::Cmarac {
                push("tool", "not_used_by_this_panel");
            }
            if input.answers.is_some() {
                push("answers", "only_for_dash_ric");
            }
            let score = match input.score {
                None => {
                    push("score", "required");
                    0
                }
                Some(s) if !(0..=MAX_MATRIX_SCORE).contains(&s) => {
                    push("score", "out_of_range");
                    0
                }
                Some(s) => s,
            };
            // Islington's rule: strictly above the threshold is high risk.
            let threshold = panel.settings.cmarac_high_risk_threshold;
            Scored {
                stage,
                tool: input.tool,
                tool_version: version,
                answers: None,
                score,
                dont_know_count: None,
                threshold,
                high_risk: threshold.is_some_and(|t| score > t),
                breakdown: input.breakdown.as_ref().map(|b| serde_json::to_value(b).expect("numbers serialise")),
                assessed_on: input.assessed_on.map(IsoDate::get),
            }
        }
    };
    if problems.is_empty() { Ok(scored) } else { Err(problems) }
}

#[derive(Serialize)]
pub struct ScoreRef {
    assessment_id: AssessmentId,
    score: i32,
    tool: RiskTool,
    tool_version: String,
    assessed_on: NaiveDate,
    high_risk: bool,
}

/// The latest entry and exit scores of a case and the change between them, when both come from
/// the same tool and version (scores from different tools are never compared).
#[derive(Serialize)]
pub struct ScoreSummary {
    latest_entry: Option<ScoreRef>,
    latest_exit: Option<ScoreRef>,
    change: Option<i32>,
    change_pct: Option<f64>,
}

impl ScoreSummary {
    pub fn of<'a>(assessments: impl Iterator<Item = &'a AssessmentRow>) -> Self {
        let mut entry: Option<&AssessmentRow> = None;
        let mut exit: Option<&AssessmentRow> = None;
        for a in assessments {
            match a.stage {
                AssessmentStage::Entry => entry = Some(a),
                AssessmentStage::Exit => exit = Some(a),
                AssessmentStage::Review => {}
            }
        }
        let as_ref = |a: &AssessmentRow| ScoreRef {
            assessment_id: a.id,
            score: a.score,
            tool: a.tool,
            tool_version: a.tool_version.clone(),
            assessed_on: a.assessed_on,
            high_risk: a.high_risk,
        };
        let comparable = match (entry, exit) {
            (Some(e), Some(x)) => e.tool == x.tool && e.tool_version == x.tool_version,
            _ => false,
        };
        let (change, change_pct) = match (entry, exit) {
            (Some(e), Some(x)) if comparable => {
                let change = x.score - e.score;
                let pct = (e.score != 0).then(|| (f64::from(change) * 1000.0 / f64::from(e.score)).round() / 10.0);
                (Some(change), pct)
            }
            _ => (None, None),
        };
        Self { latest_entry: entry.map(as_ref), latest_exit: exit.map(as_ref), change, change_pct }
    }
}

#[derive(Serialize)]
pub struct AssessmentResponse {
    id: AssessmentId,
    case_id: CaseId,
    stage: AssessmentStage,
    tool: RiskTool,
    tool_version: String,
    score: i32,
    dont_know_count: Option<i32>,
    threshold: Option<i32>,
    high_risk: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    answers: Option<serde_json::Value>,
    breakdown: Option<serde_json::Value>,
    assessed_on: NaiveDate,
    agency_id: Option<AgencyId>,
    created_by: UserId,
    created_at: chrono::DateTime<Utc>,
    withheld: Vec<&'static str>,
}

impl AssessmentResponse {
    /// Renders through the field policy: individual DASH answers carry risk.dash_answers (the
    /// score is core); the organisation that supplied them may always read them back.
    pub fn render(a: AssessmentRow, r: &mut Redactor) -> Self {
        let mut withheld = Vec::new();
        let readable = disclosure::shown(Subject::Assessment(a.tool), "answers", a.agency_id, r, &mut withheld);
        Self {
            withheld,
            answers: if readable { a.answers } else { None },
            id: a.id,
            case_id: a.case_id,
            stage: a.stage,
            tool: a.tool,
            tool_version: a.tool_version,
            score: a.score,
            dont_know_count: a.dont_know_count,
            threshold: a.threshold,
            high_risk: a.high_risk,
            breakdown: a.breakdown,
            assessed_on: a.assessed_on,
            agency_id: a.agency_id,
            created_by: a.created_by,
            created_at: a.created_at,
        }
    }
}

#[derive(Deserialize)]
pub struct CasePath {
    case_id: Uuid,
}

#[derive(Serialize)]
pub struct AssessmentList {
    items: Vec<AssessmentResponse>,
}

/// POST /api/v1/cases/{case_id}/risk-assessments
pub async fn create_risk_assessment(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<CasePath>,
    key: IdempotencyKey,
    body: Json<AssessmentInput>,
) -> Result<HttpResponse, ApiError> {
    let fingerprint = body.fingerprint().to_vec();
    let input = body.into_inner();
    if input.stage.is_none() {
        return Err(ApiError::bad_field("stage", "required"));
    }
    let id = CaseId(path.case_id);
    let out = audit::audited(&db, audit, move |conn| {
        let access = access::case_access_for_update(conn, &user, id)?;
        let route = format!("POST /api/v1/cases/{id}/risk-assessments");
        let fields = user.field_access(access.panel_id);
        if let idempotency::Outcome::Replay(original) =
            idempotency::begin(conn, user.user_id, &route, key.0, &fingerprint)?
        {
            // The original answer, redacted for the caller as the policy stands now.
            let mut r = Redactor::new(fields, false);
            let out = AssessmentResponse::render(assessment::get(conn, AssessmentId(original))?, &mut r);
            let event = Event::ok(AuditAction::Consult, "risk_assessment", vec![id.0, original])
                .on_panel(access.panel_id)
                .disclosing(r.disclosed());
            return Ok((out, event));
        }
        let current = case::get(conn, id)?;
        if matches!(
            current.status,
            CaseStatus::Closed | CaseStatus::Rejected | CaseStatus::Withdrawn | CaseStatus::TransferredOut
        ) {
            return Err(ApiError::InvalidTransition {
                resource: "case",
                current: current.status.as_str(),
                requested: "assessed",
            });
        }
        let panel = panel::get(conn, access.panel_id)?;
        disclosure::require_writable(&fields, input.tags_written())?;
        let scored = score_assessment(&input, &panel, AssessmentStage::Review).map_err(ApiError::Unprocessable)?;
        if let Some(d) = input.assessed_on
            && d.get() < current.referral_date
        {
            return Err(ApiError::unprocessable("assessed_on", "before_referral_date"));
        }
        // A DASH at or above the threshold marks the referral visible high risk; a lower
        // later score never clears it.
        if scored.tool == RiskTool::DashRic && scored.high_risk && scored.stage == AssessmentStage::Entry {
            case::mark_visible_high_risk(conn, id)?;
        }
        let row =
            assessment::insert(conn, id, &scored.into_new(user.agency_id, user.user_id, Utc::now().date_naive()))?;
        idempotency::remember(conn, user.user_id, &route, key.0, &fingerprint, row.id.0)?;
        let mut r = Redactor::new(fields, false);
        let out = AssessmentResponse::render(row, &mut r);
        let event = Event::ok(AuditAction::Collect, "risk_assessment", vec![id.0, out.id.0])
            .on_panel(access.panel_id)
            .disclosing(r.disclosed());
        Ok((out, event))
    })
    .await?;
    tracing::info!(case.id = %out.case_id, assessment.id = %out.id, "risk assessment recorded");
    Ok(created(format!("/api/v1/cases/{}/risk-assessments", out.case_id), 1, &out))
}

/// GET /api/v1/cases/{case_id}/risk-assessments
pub async fn list_risk_assessments(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<CasePath>,
) -> Result<HttpResponse, ApiError> {
    let id = CaseId(path.case_id);
    let items = audit::audited(&db, audit, move |conn| {
        let access = access::case_access(conn, &user, id)?;
        let rows = assessment::of_cases(conn, &[id])?;
        let mut r = Redactor::new(crate::models::grant::field_access(conn, &user, access.panel_id, id)?, false);
        let items: Vec<AssessmentResponse> = rows.into_iter().map(|a| AssessmentResponse::render(a, &mut r)).collect();
        let event = Event::ok(AuditAction::Consult, "risk_assessment", vec![id.0])
            .on_panel(access.panel_id)
            .disclosing(r.disclosed());
        Ok((items, event))
    })
    .await?;
    Ok(HttpResponse::Ok().json(AssessmentList { items }))
}
