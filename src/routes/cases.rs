//! Cases: referral, finding, workflow transitions, closure and reopening.

use actix_web::{HttpResponse, web};
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::admission::{self, Admission, Consent, Source};
use crate::audit::{self, Audit, Event};
use crate::db::Db;
use crate::disclosure::{self, Redactor, Subject};
use crate::domain::{
    AgencyId, AuditAction, AuthUser, CaseId, CaseStatus, ClosureCategory, ConsentStatus, IsoDate, IssueCategory,
    LawfulBasis, LocationId, NominationSource, PanelId, PanelKind, ParticipantRole, PersonId, Problems, Role,
    SpecialCategoryCondition, Tag, UserId, Vulnerability, double_option, optional_text, required_text,
};
use crate::error::{ApiError, FieldProblem, Forbidden};
use crate::extract::{AccessPurpose, IdempotencyKey, IfMatch, Json, Query};
use crate::idempotency;
use crate::models::access::{self, CaseAccess, Sight};
use crate::models::alert;
use crate::models::assessment::{self, AssessmentRow};
use crate::models::case::{self, CaseContents, CaseFilter, CaseRow, NewLocation};
use crate::models::panel;
use crate::models::person::{self, NewPerson};
use crate::models::{grant, transfer};
use crate::pagination::{Cursor, Page, PageRequest};
use crate::routes::assessments::{AssessmentInput, AssessmentResponse, ScoreSummary, score_assessment};
use crate::routes::people::{ParticipantResponse, PersonInput, ResearchParticipant};
use crate::routes::transfers::TransferResponse;
use crate::routes::{created, ok_versioned};

const MAX_PARTICIPANTS: usize = 30;
const MAX_CODES: usize = 20;

// ---------------------------------------------------------------- requests

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfessionalJudgementInput {
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationInput {
    incident_count: i32,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CriteriaInput {
    professional_judgement: Option<ProfessionalJudgementInput>,
    potential_escalation: Option<EscalationInput>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentInput {
    status: ConsentStatus,
    victim_aware: Option<bool>,
    non_consent_reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParticipantInput {
    role: ParticipantRole,
    person_id: Option<Uuid>,
    person: Option<PersonInput>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationInput {
    site_name: String,
    description: Option<String>,
    ward_code: Option<String>,
    area_text: Option<String>,
    locality: Option<String>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    address: Option<String>,
    postcode: Option<String>,
    uprn: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateCaseRequest {
    panel_id: Uuid,
    referring_agency_id: Option<Uuid>,
    #[serde(default)]
    co_referring_agency_ids: Vec<Uuid>,
    referral_date: crate::domain::IsoDate,
    #[serde(default)]
    criteria: CriteriaInput,
    #[serde(default)]
    participants: Vec<ParticipantInput>,
    location: Option<LocationInput>,
    /// JAG: where the nomination came from; `partner` when absent and a referring agency is named.
    nomination_source: Option<NominationSource>,
    ward_code: Option<String>,
    area_text: Option<String>,
    #[serde(default)]
    vulnerabilities: Vec<Vulnerability>,
    vulnerability_other_text: Option<String>,
    #[serde(default)]
    issue_categories: Vec<IssueCategory>,
    issue_other_text: Option<String>,
    children_in_household: Option<i32>,
    consent: Option<ConsentInput>,
    lawful_basis: Option<LawfulBasis>,
    special_category_condition: Option<SpecialCategoryCondition>,
    summary: Option<String>,
    safety_plan: Option<String>,
    entry_assessment: Option<AssessmentInput>,
    transfer_in: Option<TransferInInput>,
}

/// A case arriving from another area's MARAC that is not on this system (DOMAIN.md §6.1).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferInInput {
    origin_area: String,
    origin_reference: Option<String>,
    transferred_on: crate::domain::IsoDate,
}

/// A checked `TransferInInput`.
struct TransferIn {
    origin_area: String,
    origin_reference: Option<String>,
    transferred_on: NaiveDate,
}

/// A participant as checked: an existing person, or a new one to record.
enum Participant {
    Existing(PersonId, ParticipantRole),
    New(Box<NewPerson>, ParticipantRole),
}

/// A referral whose fields are checked on their own; rules that need the panel come later.
struct ParsedReferral {
    panel_id: PanelId,
    referring_agency_id: Option<AgencyId>,
    co_referring_agency_ids: Vec<AgencyId>,
    transfer_in: Option<TransferIn>,
    referral_date: NaiveDate,
    professional_judgement_reason: Option<String>,
    escalation_incident_count: Option<i32>,
    participants: Vec<Participant>,
    location: Option<NewLocation>,
    nomination_source: Option<NominationSource>,
    ward_code: Option<String>,
    area_text: Option<String>,
    vulnerabilities: Vec<Vulnerability>,
    vulnerability_other_text: Option<String>,
    issue_categories: Vec<IssueCategory>,
    issue_other_text: Option<String>,
    children_in_household: Option<i32>,
    consent: Option<(ConsentStatus, Option<bool>, Option<String>)>,
    lawful_basis: Option<LawfulBasis>,
    special_category_condition: Option<SpecialCategoryCondition>,
    summary: Option<String>,
    safety_plan: Option<String>,
    entry_assessment: Option<AssessmentInput>,
    /// Tagged fields the referral writes, with the field path carrying each.
    tags_written: Vec<(Tag, String)>,
}

pub(crate) fn dedup<T: PartialEq + Copy>(items: &[T]) -> Vec<T> {
    let mut out = Vec::new();
    for i in items {
        if !out.contains(i) {
            out.push(*i);
        }
    }
    out
}

impl CreateCaseRequest {
    fn parse(self, user: (UserId, Option<AgencyId>)) -> Result<ParsedReferral, ApiError> {
        let mut p = Problems::default();
        let pj = self
            .criteria
            .professional_judgement
            .map(|pj| p.check(required_text("criteria.professional_judgement.reason", &pj.reason, 2000)));
        let escalation = self.criteria.potential_escalation.map(|e| e.incident_count);
        if escalation.is_some_and(|n| !(0..=1000).contains(&n)) {
            p.push("criteria.potential_escalation.incident_count", "out_of_range");
        }
        if self.participants.len() > MAX_PARTICIPANTS {
            p.push("participants", "too_many_items");
        }
        let mut participants = Vec::new();
        let mut tags_written: Vec<(Tag, String)> = Vec::new();
        for (i, input) in self.participants.into_iter().enumerate() {
            match (input.person_id, input.person) {
                (Some(id), None) => participants.push(Participant::Existing(PersonId(id), input.role)),
                (None, Some(person)) => {
                    for (tag, field) in person.tags_written(input.role) {
                        tags_written.push((tag, format!("participants[{i}].person.{field}")));
                    }
                    if let Some(new) = person.parse(&format!("participants[{i}].person"), input.role, user, &mut p) {
                        participants.push(Participant::New(Box::new(new), input.role));
                    }
                }
                _ => p.push(format!("participants[{i}]"), "one_of_person_id_or_person"),
            }
        }
        let location = self.location.map(|l| {
            let site = p.check(required_text("location.site_name", &l.site_name, 200));
            let description = p.check(optional_text("location.description", l.description.as_deref(), 2000));
            let ward = p.check(optional_text("location.ward_code", l.ward_code.as_deref(), 50));
            let area = p.check(optional_text("location.area_text", l.area_text.as_deref(), 200));
            let locality = p.check(optional_text("location.locality", l.locality.as_deref(), 200));
            let address = p.check(optional_text("location.address", l.address.as_deref(), 500));
            let postcode = p.check(optional_text("location.postcode", l.postcode.as_deref(), 10));
            let uprn = p.check(optional_text("location.uprn", l.uprn.as_deref(), 12));
            if uprn.as_ref().is_some_and(|u| u.as_ref().is_some_and(|u| !u.chars().all(|c| c.is_ascii_digit()))) {
                p.push("location.uprn", "not_a_uprn");
            }
            if l.latitude.is_some_and(|v| !(-90.0..=90.0).contains(&v)) {
                p.push("location.latitude", "out_of_range");
            }
            if l.longitude.is_some_and(|v| !(-180.0..=180.0).contains(&v)) {
                p.push("location.longitude", "out_of_range");
            }
            NewLocation {
                site_name: site.unwrap_or_default(),
                description: description.flatten(),
                ward_code: ward.flatten(),
                area_text: area.flatten(),
                locality: locality.flatten(),
                latitude: l.latitude,
                longitude: l.longitude,
                address: address.flatten(),
                postcode: postcode.flatten(),
                uprn: uprn.flatten(),
                created_by: user.0,
            }
        });
        let ward_code = p.check(optional_text("ward_code", self.ward_code.as_deref(), 50));
        let area_text = p.check(optional_text("area_text", self.area_text.as_deref(), 200));
        if self.vulnerabilities.len() > MAX_CODES {
            p.push("vulnerabilities", "too_many_items");
        }
        if self.issue_categories.len() > MAX_CODES {
            p.push("issue_categories", "too_many_items");
        }
        let vulnerability_other_text =
            p.check(optional_text("vulnerability_other_text", self.vulnerability_other_text.as_deref(), 500));
        let issue_other_text = p.check(optional_text("issue_other_text", self.issue_other_text.as_deref(), 500));
        if self.children_in_household.is_some_and(|n| !(0..=50).contains(&n)) {
            p.push("children_in_household", "out_of_range");
        }
        let consent = self.consent.map(|c| {
            let reason = p.check(optional_text("consent.non_consent_reason", c.non_consent_reason.as_deref(), 2000));
            (c.status, c.victim_aware, reason.flatten())
        });
        let summary = p.check(optional_text("summary", self.summary.as_deref(), 10_000));
        let safety_plan = p.check(optional_text("safety_plan", self.safety_plan.as_deref(), 10_000));
        let case_fields = serde_json::json!({ "safety_plan": safety_plan.as_ref().and_then(Option::as_ref) });
        for (tag, field) in disclosure::tags_written(Subject::Case, &case_fields) {
            tags_written.push((tag, field.to_owned()));
        }
        for (tag, field) in self.entry_assessment.iter().flat_map(AssessmentInput::tags_written) {
            tags_written.push((tag, format!("entry_assessment.{field}")));
        }
        let transfer_in = self.transfer_in.map(|t| {
            let origin_area = p.check(required_text("transfer_in.origin_area", &t.origin_area, 200));
            let origin_reference =
                p.check(optional_text("transfer_in.origin_reference", t.origin_reference.as_deref(), 100));
            origin_area.map(|origin_area| TransferIn {
                origin_area,
                origin_reference: origin_reference.flatten(),
                transferred_on: t.transferred_on.get(),
            })
        });
        p.finish(|| {
            Some(ParsedReferral {
                transfer_in: match transfer_in {
                    Some(t) => Some(t?),
                    None => None,
                },
                panel_id: PanelId(self.panel_id),
                referring_agency_id: self.referring_agency_id.map(AgencyId),
                co_referring_agency_ids: self.co_referring_agency_ids.into_iter().map(AgencyId).collect(),
                referral_date: self.referral_date.get(),
                professional_judgement_reason: pj.flatten(),
                escalation_incident_count: escalation,
                participants,
                location,
                nomination_source: self.nomination_source,
                ward_code: ward_code?,
                area_text: area_text?,
                vulnerabilities: dedup(&self.vulnerabilities),
                vulnerability_other_text: vulnerability_other_text?,
                issue_categories: dedup(&self.issue_categories),
                issue_other_text: issue_other_text?,
                children_in_household: self.children_in_household,
                consent,
                lawful_basis: self.lawful_basis,
                special_category_condition: self.special_category_condition,
                summary: summary?,
                safety_plan: safety_plan?,
                entry_assessment: self.entry_assessment,
                tags_written,
            })
        })
    }
}

/// Which participant roles each kind of panel uses (DOMAIN.md §7.3).
pub(crate) fn role_allowed(kind: PanelKind, role: ParticipantRole) -> bool {
    use ParticipantRole::*;
    match kind {
        PanelKind::Marac => matches!(role, Victim | Perpetrator | Child | OtherAdultAtRisk | FamilyMember),
        PanelKind::Cmarac => {
            matches!(
                role,
                Victim | Perpetrator | Child | OtherAdultAtRisk | VulnerablePerson | ExploiterAssociate | FamilyMember
            )
        }
        PanelKind::Jag => matches!(role, Perpetrator | PersonOfConcern | ExploiterAssociate | FamilyMember | Witness),
    }
}

/// Rules of the domain that need the panel: a 422 naming each broken one.
/// The organisations referring together with `referring`: at most five, each named once, none
/// the referring agency itself, each an active member of the panel.
fn check_co_referrers(co: &[AgencyId], referring: Option<AgencyId>, members: &[panel::Member]) -> Vec<FieldProblem> {
    let mut problems = Vec::new();
    if co.len() > 5 {
        problems.push(FieldProblem::new("co_referring_agency_ids", "too_many_items"));
    }
    for (i, a) in co.iter().enumerate() {
        let field = format!("co_referring_agency_ids[{i}]");
        if Some(*a) == referring {
            problems.push(FieldProblem::new(field, "is_the_referring_agency"));
        } else if co[..i].contains(a) {
            problems.push(FieldProblem::new(field, "duplicate"));
        } else if !members.iter().any(|m| m.agency_id == *a && m.active) {
            problems.push(FieldProblem::new(field, "not_a_member_of_the_panel"));
        }
    }
    problems
}

fn check_referral_rules(r: &ParsedReferral, kind: PanelKind, today: NaiveDate) -> Vec<FieldProblem> {
    let mut problems = Vec::new();
    let mut push = |f: &str, c: &str| problems.push(FieldProblem::new(f, c));
    if r.referral_date > today {
        push("referral_date", "in_future");
    }
    if r.referral_date < NaiveDate::from_ymd_opt(2000, 1, 1).expect("valid date") {
        push("referral_date", "too_early");
    }
    if r.lawful_basis.is_none() {
        push("lawful_basis", "required");
    }
    if r.special_category_condition.is_none() {
        push("special_category_condition", "required");
    }
    match &r.consent {
        None => push("consent", "required"),
        Some((status, _, reason)) if *status != ConsentStatus::Given && reason.is_none() => {
            push("consent.non_consent_reason", "required_without_consent")
        }
        _ => {}
    }
    let roles: Vec<ParticipantRole> = r
        .participants
        .iter()
        .map(|p| match p {
            Participant::Existing(_, role) | Participant::New(_, role) => *role,
        })
        .collect();
    for (i, role) in roles.iter().enumerate() {
        if !role_allowed(kind, *role) {
            push(&format!("participants[{i}].role"), "not_used_by_this_panel");
        }
    }
    match kind {
        PanelKind::Marac => {
            if !roles.contains(&ParticipantRole::Victim) {
                push("participants", "victim_required");
            }
            if r.location.is_some() {
                push("location", "only_for_jag");
            }
            if r.nomination_source.is_some() {
                push("nomination_source", "only_for_jag");
            }
        }
        PanelKind::Cmarac => {
            if !roles.contains(&ParticipantRole::VulnerablePerson) && !roles.contains(&ParticipantRole::Victim) {
                push("participants", "vulnerable_person_required");
            }
            if r.location.is_some() {
                push("location", "only_for_jag");
            }
            if r.nomination_source.is_some() {
                push("nomination_source", "only_for_jag");
            }
        }
        PanelKind::Jag => {
            if r.location.is_none() && !roles.contains(&ParticipantRole::PersonOfConcern) {
                push("location", "location_or_person_of_concern_required");
            }
        }
    }
    if kind != PanelKind::Jag && !r.issue_categories.is_empty() {
        push("issue_categories", "only_for_jag");
    }
    if r.vulnerabilities.contains(&Vulnerability::Other) && r.vulnerability_other_text.is_none() {
        push("vulnerability_other_text", "required_for_other");
    }
    if r.issue_categories.contains(&IssueCategory::Other) && r.issue_other_text.is_none() {
        push("issue_other_text", "required_for_other");
    }
    problems
}

// ---------------------------------------------------------------- responses

#[derive(Serialize)]
pub struct CriteriaResponse {
    visible_high_risk: bool,
    professional_judgement: bool,
    professional_judgement_reason: Option<String>,
    potential_escalation: bool,
    escalation_incident_count: Option<i32>,
    repeat: bool,
}

#[derive(Serialize)]
pub struct ConsentResponse {
    status: ConsentStatus,
    victim_aware: Option<bool>,
    non_consent_reason: Option<String>,
}

#[derive(Serialize)]
pub struct ClosureResponse {
    categories: Vec<ClosureCategory>,
    reason: Option<String>,
    closed_on: Option<NaiveDate>,
    monitoring_window_ends_on: Option<NaiveDate>,
}

#[derive(Serialize)]
pub struct LocationResponse {
    id: LocationId,
    site_name: String,
    description: Option<String>,
    ward_code: Option<String>,
    area_text: Option<String>,
    locality: Option<String>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    address: Option<String>,
    postcode: Option<String>,
    uprn: Option<String>,
}

#[derive(Serialize)]
pub struct HistoryEntry {
    from_status: Option<CaseStatus>,
    to_status: CaseStatus,
    reason: Option<String>,
    changed_by: UserId,
    changed_at: chrono::DateTime<Utc>,
}

#[derive(Serialize)]
pub struct CaseResponse {
    pub(crate) id: CaseId,
    panel_id: PanelId,
    reference: String,
    status: CaseStatus,
    referring_agency_id: Option<AgencyId>,
    co_referring_agency_ids: Vec<AgencyId>,
    referring_user_id: Option<UserId>,
    referral_date: NaiveDate,
    criteria: CriteriaResponse,
    repeat_of_case_id: Option<CaseId>,
    ward_code: Option<String>,
    area_text: Option<String>,
    vulnerabilities: Vec<Vulnerability>,
    vulnerability_other_text: Option<String>,
    issue_categories: Vec<IssueCategory>,
    issue_other_text: Option<String>,
    children_in_household: Option<i32>,
    consent: ConsentResponse,
    lawful_basis: LawfulBasis,
    special_category_condition: SpecialCategoryCondition,
    summary: Option<String>,
    rejection_reason: Option<String>,
    closure: Option<ClosureResponse>,
    risk: ScoreSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<LocationResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    participants: Option<Vec<ParticipantResponse>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    assessments: Option<Vec<AssessmentResponse>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    history: Option<Vec<HistoryEntry>>,
    /// Tag safety_plan; in the full view only, when the policy and a stated purpose allow.
    #[serde(skip_serializing_if = "Option::is_none")]
    safety_plan: Option<Option<String>>,
    /// Where the case went or came from (DOMAIN.md §6.1); in the full view only.
    #[serde(skip_serializing_if = "Option::is_none")]
    transfers: Option<Vec<TransferResponse>>,
    /// The case arrived by transfer and no DASH has been recorded here yet; full view only.
    #[serde(skip_serializing_if = "Option::is_none")]
    new_dash_expected: Option<bool>,
    /// Case-level sensitivity tags left out of this answer.
    withheld: Vec<&'static str>,
    pub(crate) version: i32,
    created_at: chrono::DateTime<Utc>,
    updated_at: chrono::DateTime<Utc>,
}

/// What a full case view carries beyond the row itself, already rendered through the policy.
pub struct CaseDetail {
    pub participants: Vec<ParticipantResponse>,
    pub assessments: Vec<AssessmentResponse>,
    pub history: Vec<case::HistoryRow>,
    pub location: Option<case::LocationRow>,
    pub safety_plan: Option<Option<String>>,
    pub transfers: Vec<crate::models::transfer::TransferRow>,
    pub withheld: Vec<&'static str>,
}

impl CaseResponse {
    pub fn render(row: CaseRow, assessments: &[AssessmentRow], detail: Option<CaseDetail>) -> Self {
        let closure =
            (row.status == CaseStatus::Closed || !row.closure_categories.is_empty()).then(|| ClosureResponse {
                categories: row.closure_categories.clone(),
                reason: row.closure_reason.clone(),
                closed_on: row.closed_on,
                monitoring_window_ends_on: row.monitoring_window_ends_on,
            });
        let risk = ScoreSummary::of(assessments.iter().filter(|a| a.case_id == row.id));
        let (safety_plan, withheld) = match &detail {
            Some(d) => (d.safety_plan.clone(), d.withheld.clone()),
            None => (None, Vec::new()),
        };
        let new_dash_expected = detail.as_ref().map(|d| {
            d.transfers.iter().any(|t| t.direction == crate::domain::TransferDirection::In)
                && !assessments.iter().any(|a| a.case_id == row.id && a.tool == crate::domain::RiskTool::DashRic)
        });
        let transfers = detail.as_ref().map(|d| d.transfers.iter().cloned().map(TransferResponse::from).collect());
        let (participants, assessments, history, location) = match detail {
            Some(d) => (
                Some(d.participants),
                Some(d.assessments),
                Some(
                    d.history
                        .into_iter()
                        .map(|h| HistoryEntry {
                            from_status: h.from_status,
                            to_status: h.to_status,
                            reason: h.reason,
                            changed_by: h.changed_by,
                            changed_at: h.changed_at,
                        })
                        .collect(),
                ),
                d.location.map(|l| LocationResponse {
                    id: l.id,
                    site_name: l.site_name,
                    description: l.description,
                    ward_code: l.ward_code,
                    area_text: l.area_text,
                    locality: l.locality,
                    latitude: l.latitude,
                    longitude: l.longitude,
                    address: l.address,
                    postcode: l.postcode,
                    uprn: l.uprn,
                }),
            ),
            None => (None, None, None, None),
        };
        Self {
            id: row.id,
            panel_id: row.panel_id,
            reference: row.reference,
            status: row.status,
            referring_agency_id: row.referring_agency_id,
            co_referring_agency_ids: row.co_referring_agency_ids,
            referring_user_id: row.referring_user_id,
            referral_date: row.referral_date,
            criteria: CriteriaResponse {
                visible_high_risk: row.visible_high_risk,
                professional_judgement: row.professional_judgement,
                professional_judgement_reason: row.professional_judgement_reason,
                potential_escalation: row.potential_escalation,
                escalation_incident_count: row.escalation_incident_count,
                repeat: row.is_repeat,
            },
            repeat_of_case_id: row.repeat_of_case_id,
            ward_code: row.ward_code,
            area_text: row.area_text,
            vulnerabilities: row.vulnerabilities,
            vulnerability_other_text: row.vulnerability_other_text,
            issue_categories: row.issue_categories,
            issue_other_text: row.issue_other_text,
            children_in_household: row.children_in_household,
            consent: ConsentResponse {
                status: row.consent_status,
                victim_aware: row.victim_aware,
                non_consent_reason: row.non_consent_reason,
            },
            lawful_basis: row.lawful_basis,
            special_category_condition: row.special_category_condition,
            summary: row.summary,
            rejection_reason: row.rejection_reason,
            closure,
            risk,
            location,
            participants,
            assessments,
            history,
            safety_plan,
            transfers,
            new_dash_expected,
            withheld,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// A case as the research list shows it: what MARAC practice circulates before a meeting so
/// agencies can research, to an organisation whose sight of the case comes only from a meeting
/// whose confidentiality statement the caller has not yet acknowledged.
#[derive(Serialize)]
pub struct CaseResearchView {
    id: CaseId,
    panel_id: PanelId,
    reference: String,
    sight: &'static str,
    participants: Vec<ResearchParticipant>,
    withheld: Vec<&'static str>,
}

impl CaseResearchView {
    fn render(row: &CaseRow, participants: Vec<ResearchParticipant>) -> Self {
        Self {
            id: row.id,
            panel_id: row.panel_id,
            reference: row.reference.clone(),
            sight: "research_list",
            participants,
            withheld: vec!["case_details"],
        }
    }
}

/// A case read: in full, or the research list.
enum CaseAnswer {
    Full(Box<CaseResponse>),
    ResearchList(CaseResearchView),
}

/// One item of the case list.
#[derive(Serialize)]
#[serde(untagged)]
pub enum CaseListItem {
    Full(Box<CaseResponse>),
    ResearchList(CaseResearchView),
}

impl CaseListItem {
    fn id(&self) -> uuid::Uuid {
        match self {
            CaseListItem::Full(c) => c.id.0,
            CaseListItem::ResearchList(c) => c.id.0,
        }
    }
}

fn research_view(row: &CaseRow, contents: CaseContents, user: &AuthUser) -> CaseResearchView {
    let mut r = Redactor::new(user.field_access(row.panel_id).on_case(&contents.grants), false);
    let participants =
        contents.participants.into_iter().map(|p| ResearchParticipant::render(p.role, p.person, &mut r)).collect();
    CaseResearchView::render(row, participants)
}

/// Whom a full case view answers: a reader (with or without a valid purpose), or the caller who
/// has just written the case, who gets its own organisation's values back without a purpose.
#[derive(Clone, Copy)]
pub(crate) enum ViewFor {
    Reader { purpose_stated: bool },
    Writer,
}

/// The full view of a case through the field policy: its people, assessments, history and
/// safety plan, and the tags it disclosed (for the audit event).
fn full_view(row: CaseRow, contents: CaseContents, user: &AuthUser, view_for: ViewFor) -> (CaseResponse, Vec<Tag>) {
    let fields = user.field_access(row.panel_id).on_case(&contents.grants);
    let mut r = match view_for {
        ViewFor::Reader { purpose_stated } => Redactor::new(fields, purpose_stated),
        ViewFor::Writer => Redactor::for_own_write(fields),
    };
    let CaseContents { participants, assessments: assessment_rows, history, location, transfers, grants: _ } = contents;
    let participants = participants.into_iter().map(|p| ParticipantResponse::render(p, &mut r)).collect();
    let assessments = assessment_rows.iter().cloned().map(|a| AssessmentResponse::render(a, &mut r)).collect();
    let mut withheld = Vec::new();
    let safety_plan =
        disclosure::shown(Subject::Case, "safety_plan", row.safety_plan_supplied_by, &mut r, &mut withheld)
            .then(|| row.safety_plan.clone());
    let detail = CaseDetail { participants, assessments, history, location, safety_plan, transfers, withheld };
    (CaseResponse::render(row, &assessment_rows, Some(detail)), r.disclosed())
}

/// The case as it stands after the caller's write, in full, read back in one statement.
pub(crate) fn written_view(
    conn: &mut diesel::PgConnection,
    user: &AuthUser,
    id: CaseId,
    view_for: ViewFor,
) -> Result<(CaseResponse, Vec<Tag>), ApiError> {
    let (_, row, contents) = case::read(conn, user, id)?;
    Ok(full_view(row, contents, user, view_for))
}

/// The answer to a change of a case, and its `alter` event.
pub(crate) fn altered(
    conn: &mut diesel::PgConnection,
    id: CaseId,
    user: &AuthUser,
) -> Result<(CaseResponse, Event), ApiError> {
    let (view, disclosed) = written_view(conn, user, id, ViewFor::Reader { purpose_stated: false })?;
    let event = Event::ok(AuditAction::Alter, "case", vec![view.id.0]).on_panel(view.panel_id).disclosing(disclosed);
    Ok((view, event))
}

// ---------------------------------------------------------------- handlers

#[derive(Deserialize)]
pub struct CasePath {
    pub(crate) case_id: Uuid,
}

/// The route idempotency keys of referrals are scoped to.
const REFERRAL_ROUTE: &str = "POST /api/v1/cases";

/// Roles that may refer to a panel.
const REFERRING_ROLES: &[Role] = &[Role::Coordinator, Role::Chair, Role::AgencyRep, Role::Idva];

/// POST /api/v1/cases
pub async fn create_case(
    db: Db,
    user: AuthUser,
    audit: Audit,
    key: IdempotencyKey,
    body: Json<CreateCaseRequest>,
) -> Result<HttpResponse, ApiError> {
    // Required for referrals (SECURITY.md RE-2): a flaky connection must not refer twice.
    let key = key.0.ok_or_else(|| ApiError::bad_field("Idempotency-Key", "required"))?;
    let fingerprint = body.fingerprint().to_vec();
    let referral = body.into_inner().parse((user.user_id, user.agency_id))?;
    let out = audit::audited(&db, audit, move |conn| {
        if let idempotency::Outcome::Replay(id) =
            idempotency::begin(conn, user.user_id, REFERRAL_ROUTE, Some(key), &fingerprint)?
        {
            // The original answer, re-rendered for the caller as it stands now.
            let (access, row, contents) = case::read(conn, &user, CaseId(id))?;
            let access = access.require_full()?;
            let (view, disclosed) = full_view(row, contents, &user, ViewFor::Writer);
            let event =
                Event::ok(AuditAction::Consult, "case", vec![id]).on_panel(access.panel_id).disclosing(disclosed);
            return Ok((view, event));
        }
        let roles_here: Vec<Role> = user.roles_on(referral.panel_id);
        if !roles_here.iter().any(|r| REFERRING_ROLES.contains(r)) {
            return Err(ApiError::Forbidden(Forbidden::NotPanelMember));
        }
        let is_staff = roles_here.iter().any(|r| matches!(r, Role::Coordinator | Role::Chair));
        let panel = panel::get(conn, referral.panel_id)?;
        // The field policy decides which tagged fields the caller may supply (403 otherwise).
        let fields = user.field_access(panel.id);
        disclosure::require_writable(&fields, referral.tags_written.iter().map(|(tag, field)| (*tag, field.clone())))?;
        let today = Utc::now().date_naive();
        let mut problems = check_referral_rules(&referral, panel.kind, today);
        if let Some(t) = &referral.transfer_in {
            // Recording an arrival is the receiving coordinator's work.
            if !is_staff {
                return Err(ApiError::Forbidden(Forbidden::PanelStaffOnly));
            }
            if panel.kind != PanelKind::Marac {
                problems.push(FieldProblem::new("transfer_in", "transfers_are_between_maracs"));
            }
            if t.origin_area.trim().eq_ignore_ascii_case(panel.local_area.trim()) {
                problems.push(FieldProblem::new("transfer_in.origin_area", "is_this_panels_area"));
            }
            if t.transferred_on > today {
                problems.push(FieldProblem::new("transfer_in.transferred_on", "in_future"));
            }
        }

        // The referring agency: an agency rep refers for its own organisation; staff may log
        // a referral on behalf of any member organisation.
        let referring_agency = user.acting_for(referral.referring_agency_id, is_staff).unwrap_or_else(|_| {
            problems.push(FieldProblem::new("referring_agency_id", "must_be_your_agency"));
            None
        });
        match referring_agency {
            Some(a) => {
                let members = panel::members(conn, panel.id)?;
                if !members.iter().any(|m| m.agency_id == a && m.active) {
                    problems.push(FieldProblem::new("referring_agency_id", "not_a_member_of_the_panel"));
                }
                problems.extend(check_co_referrers(&referral.co_referring_agency_ids, Some(a), &members));
            }
            None if problems.iter().all(|p| p.field != "referring_agency_id") => {
                problems.push(FieldProblem::new("referring_agency_id", "required"))
            }
            None => {}
        }
        // Existing people must be visible to the caller, or they are as good as unknown.
        let existing: Vec<PersonId> = referral
            .participants
            .iter()
            .filter_map(|p| match p {
                Participant::Existing(id, _) => Some(*id),
                Participant::New(..) => None,
            })
            .collect();
        let visible = person::visible_among(conn, &user, &existing)?;
        for (i, p) in referral.participants.iter().enumerate() {
            if let Participant::Existing(id, _) = p
                && !visible.contains(id)
            {
                problems.push(FieldProblem::new(format!("participants[{i}].person_id"), "unknown_person"));
            }
        }
        let scored = match &referral.entry_assessment {
            Some(a) => match score_assessment(a, &panel, crate::domain::AssessmentStage::Entry) {
                Ok(s) => Some(s),
                Err(mut ps) => {
                    for p in &mut ps {
                        p.field = format!("entry_assessment.{}", p.field);
                    }
                    problems.extend(ps);
                    None
                }
            },
            None => None,
        };
        if !problems.is_empty() {
            return Err(ApiError::Unprocessable(problems));
        }
        let referring_agency = referring_agency.expect("checked above");

        let mut participants: Vec<(PersonId, ParticipantRole)> = Vec::new();
        for p in referral.participants {
            match p {
                Participant::Existing(id, role) => participants.push((id, role)),
                Participant::New(new, role) => participants.push((person::insert(conn, &new)?, role)),
            }
        }
        let (consent_status, victim_aware, non_consent_reason) = referral.consent.expect("checked above");
        let admission = Admission {
            source: match referral.transfer_in {
                Some(_) => Source::TransferIn,
                None => Source::Referral { referrer: user.user_id },
            },
            referral_date: referral.referral_date,
            referring_agency_id: Some(referring_agency),
            co_referring_agency_ids: referral.co_referring_agency_ids,
            participants,
            professional_judgement_reason: referral.professional_judgement_reason,
            escalation_incident_count: referral.escalation_incident_count,
            location: referral.location,
            // A JAG nomination referred through the API comes from its referring organisation.
            nomination_source: referral.nomination_source.or(Some(NominationSource::Partner)),
            ward_code: referral.ward_code,
            area_text: referral.area_text,
            vulnerabilities: referral.vulnerabilities,
            vulnerability_other_text: referral.vulnerability_other_text,
            issue_categories: referral.issue_categories,
            issue_other_text: referral.issue_other_text,
            children_in_household: referral.children_in_household,
            consent: Consent { status: consent_status, victim_aware, non_consent_reason },
            lawful_basis: referral.lawful_basis.expect("checked above"),
            special_category_condition: referral.special_category_condition.expect("checked above"),
            summary: referral.summary,
            safety_plan: referral.safety_plan.map(|plan| (plan, user.agency_id)),
            closure: None,
            assessments: scored
                .into_iter()
                .map(|s| s.into_new(user.agency_id, user.user_id, referral.referral_date))
                .collect(),
            recorded_by: user.user_id,
        };
        let row = admission::admit(conn, &panel, admission)?;
        if let Some(t) = referral.transfer_in {
            let reason = format!("Transferred in from {}", t.origin_area);
            transfer::insert(
                conn,
                &transfer::NewTransfer {
                    case_id: row.id,
                    direction: crate::domain::TransferDirection::In,
                    other_area: t.origin_area,
                    other_panel_id: None,
                    other_case_id: None,
                    other_reference: t.origin_reference,
                    transferred_on: t.transferred_on,
                    reason,
                    idva_handover_to: None,
                    idva_handover_on: None,
                    recorded_by: user.user_id,
                },
            )?;
        }
        idempotency::remember(conn, user.user_id, REFERRAL_ROUTE, Some(key), &fingerprint, row.id.0)?;
        let written: Vec<Tag> = referral.tags_written.iter().map(|(t, _)| *t).collect();
        let (view, disclosed) = written_view(conn, &user, row.id, ViewFor::Writer)?;
        let event = Event::ok(AuditAction::Collect, "case", vec![view.id.0])
            .on_panel(view.panel_id)
            .disclosing(written.into_iter().chain(disclosed));
        Ok((view, event))
    })
    .await?;
    tracing::info!(case.id = %out.id, "case referred");
    Ok(created(format!("/api/v1/cases/{}", out.id), out.version, &out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListCasesQuery {
    panel_id: Option<Uuid>,
    status: Option<CaseStatus>,
    area: Option<String>,
    vulnerability: Option<Vulnerability>,
    referring_agency_id: Option<Uuid>,
    repeat: Option<bool>,
    referred_from: Option<crate::domain::IsoDate>,
    referred_to: Option<crate::domain::IsoDate>,
    reference: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// GET /api/v1/cases
pub async fn list_cases(
    db: Db,
    user: AuthUser,
    audit: Audit,
    query: Query<ListCasesQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.0;
    let mut p = Problems::default();
    let page = PageRequest::parse(q.limit, q.cursor.as_deref(), &mut p);
    let area = p.check(optional_text("area", q.area.as_deref(), 200));
    let reference = p.check(optional_text("reference", q.reference.as_deref(), 50));
    if let (Some(from), Some(to)) = (q.referred_from, q.referred_to)
        && from > to
    {
        p.push("referred_from", "after_referred_to");
    }
    let (page, filter) = p.finish(|| {
        Some((
            page?,
            CaseFilter {
                panel_id: q.panel_id.map(PanelId),
                status: q.status,
                area: area?,
                vulnerability: q.vulnerability,
                referring_agency_id: q.referring_agency_id.map(AgencyId),
                is_repeat: q.repeat,
                referred_from: q.referred_from.map(IsoDate::get),
                referred_to: q.referred_to.map(IsoDate::get),
                reference: reference?,
            },
        ))
    })?;
    let page = audit::audited(&db, audit, move |conn| {
        let rows = case::list(conn, &user, &filter, &page)?;
        let (full, research): (Vec<CaseId>, Vec<CaseId>) = (
            rows.iter().filter(|r| r.1).map(|r| r.0.id).collect(),
            rows.iter().filter(|r| !r.1).map(|r| r.0.id).collect(),
        );
        let assessments = assessment::of_cases(conn, &full)?;
        let mut people = if research.is_empty() { Vec::new() } else { person::participants_of(conn, &research)? };
        let grants = grant::standing_for(conn, &research, user.agency_id)?;
        let page = Page::from_rows(
            rows,
            &page,
            |(r, _)| Cursor { created_at: r.created_at, id: r.id.0 },
            |(row, full)| {
                if full {
                    return CaseListItem::Full(Box::new(CaseResponse::render(row, &assessments, None)));
                }
                let fields = user.field_access(row.panel_id).on_case(&grant::on(row.id, &grants));
                let mut r = Redactor::new(fields, false);
                let participants = people
                    .extract_if(.., |(case, _, _)| *case == row.id)
                    .map(|(_, role, person)| ResearchParticipant::render(role, person, &mut r))
                    .collect();
                CaseListItem::ResearchList(CaseResearchView::render(&row, participants))
            },
        );
        let listed = page.items.iter().map(CaseListItem::id).collect();
        Ok((page, Event::ok(AuditAction::Consult, "case", listed)))
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// GET /api/v1/cases/{case_id}
pub async fn get_case(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<CasePath>,
    purpose: AccessPurpose,
) -> Result<HttpResponse, ApiError> {
    let id = CaseId(path.case_id);
    let request_id = audit.request_id().to_owned();
    let out = audit::audited(&db, audit, move |conn| {
        let (access, row, contents) = case::read(conn, &user, id)?;
        let event = Event::ok(AuditAction::Consult, "case", vec![id.0]).on_panel(access.panel_id);
        if access.sight == Sight::ResearchList {
            return Ok((CaseAnswer::ResearchList(research_view(&row, contents, &user)), event));
        }
        let purpose = purpose.0.map(|p| access::check_purpose(conn, &user, &access, &p)).transpose()?;
        if let Some(reason) = purpose.as_ref().and_then(|p| p.break_glass.as_deref()) {
            tracing::warn!(user.id = %user.user_id, case.id = %id, "break-glass read of protected fields");
            alert::break_glass(conn, &user, access.panel_id, id, reason, &request_id)?;
        }
        let purpose_stated = purpose.is_some();
        let (view, disclosed) = full_view(row, contents, &user, ViewFor::Reader { purpose_stated });
        let event = event.disclosing(disclosed).for_purpose(purpose.map(|p| p.audited));
        Ok((CaseAnswer::Full(Box::new(view)), event))
    })
    .await?;
    Ok(match out {
        CaseAnswer::Full(view) => ok_versioned(view.version, &view),
        CaseAnswer::ResearchList(view) => HttpResponse::Ok().json(view),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    to: CaseStatus,
    reason: Option<String>,
}

/// The workflow (DOMAIN.md §6): which explicit transitions each status allows. Closing,
/// reopening and transferring out have their own calls.
fn transition_allowed(from: CaseStatus, to: CaseStatus) -> bool {
    use CaseStatus::*;
    matches!(
        (from, to),
        (Referred, Screening | Withdrawn)
            | (Screening, Accepted | Rejected | Withdrawn)
            | (Accepted, Open | Withdrawn)
            | (Open, Monitoring)
            | (Monitoring, Open)
    )
}

/// POST /api/v1/cases/{case_id}/transitions
pub async fn transition_case(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<CasePath>,
    body: Json<TransitionRequest>,
) -> Result<HttpResponse, ApiError> {
    let TransitionRequest { to, reason } = body.into_inner();
    let reason = optional_text("reason", reason.as_deref(), 2000).map_err(|p| ApiError::BadRequest(vec![p]))?;
    if matches!(to, CaseStatus::Rejected | CaseStatus::TransferredOut | CaseStatus::Withdrawn) && reason.is_none() {
        return Err(ApiError::unprocessable("reason", "required_for_this_status"));
    }
    let id = CaseId(path.case_id);
    let out = audit::audited(&db, audit, move |conn| {
        let access: CaseAccess = access::case_access_for_update(conn, &user, id)?;
        access.require_staff()?;
        let current = case::get(conn, id)?;
        if !transition_allowed(current.status, to) {
            return Err(ApiError::InvalidTransition {
                resource: "case",
                current: current.status.as_str(),
                requested: to.as_str(),
            });
        }
        let row = case::set_status(conn, &current, to, reason.as_deref(), user.user_id)?;
        altered(conn, row.id, &user)
    })
    .await?;
    tracing::info!(case.id = %out.id, "case status changed");
    Ok(ok_versioned(out.version, &out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReopenRequest {
    reason: String,
}

/// POST /api/v1/cases/{case_id}/reopen
pub async fn reopen_case(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<CasePath>,
    body: Json<ReopenRequest>,
) -> Result<HttpResponse, ApiError> {
    let reason = required_text("reason", &body.into_inner().reason, 2000).map_err(|p| ApiError::BadRequest(vec![p]))?;
    let id = CaseId(path.case_id);
    let out = audit::audited(&db, audit, move |conn| {
        access::case_access_for_update(conn, &user, id)?.require_staff()?;
        let current = case::get(conn, id)?;
        if current.status != CaseStatus::Closed {
            return Err(ApiError::InvalidTransition {
                resource: "case",
                current: current.status.as_str(),
                requested: "open",
            });
        }
        if case::is_erased(conn, id)? {
            return Err(ApiError::unprocessable("case_id", "case_erased"));
        }
        let row = case::reopen(conn, &current, &reason, user.user_id)?;
        altered(conn, row.id, &user)
    })
    .await?;
    tracing::info!(case.id = %out.id, "case reopened");
    Ok(ok_versioned(out.version, &out))
}

/// A review of the referral criteria: `null` withdraws a criterion, an object sets it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CriteriaReview {
    #[serde(default, deserialize_with = "double_option")]
    professional_judgement: Option<Option<ProfessionalJudgementInput>>,
    #[serde(default, deserialize_with = "double_option")]
    potential_escalation: Option<Option<EscalationInput>>,
}

/// A case edit: absent fields stay as they are, `null` clears a field that may be empty.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateCaseRequest {
    co_referring_agency_ids: Option<Vec<Uuid>>,
    #[serde(default, deserialize_with = "double_option")]
    summary: Option<Option<String>>,
    criteria: Option<CriteriaReview>,
    #[serde(default, deserialize_with = "double_option")]
    children_in_household: Option<Option<i32>>,
    #[serde(default, deserialize_with = "double_option")]
    safety_plan: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    ward_code: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    area_text: Option<Option<String>>,
    vulnerabilities: Option<Vec<Vulnerability>>,
    #[serde(default, deserialize_with = "double_option")]
    vulnerability_other_text: Option<Option<String>>,
    issue_categories: Option<Vec<IssueCategory>>,
    #[serde(default, deserialize_with = "double_option")]
    issue_other_text: Option<Option<String>>,
    consent: Option<ConsentInput>,
    lawful_basis: Option<LawfulBasis>,
    special_category_condition: Option<SpecialCategoryCondition>,
    /// Why: kept with every value changed; required when consent or the lawful basis changes.
    reason: Option<String>,
}

impl UpdateCaseRequest {
    /// The changes as checked field by field (rules that need the case come after), the reason,
    /// and whether the edit writes the safety plan (a tagged field).
    fn parse(self, supplier: Option<AgencyId>) -> Result<(case::CaseChanges, Option<String>, bool), ApiError> {
        let mut p = Problems::default();
        let mut text = |field: &str, v: Option<Option<String>>, max: usize| {
            v.map(|v| p.check(optional_text(field, v.as_deref(), max)).flatten())
        };
        let summary = text("summary", self.summary, 10_000);
        let safety_plan = text("safety_plan", self.safety_plan, 10_000);
        let ward_code = text("ward_code", self.ward_code, 50);
        let area_text = text("area_text", self.area_text, 200);
        let vulnerability_other_text = text("vulnerability_other_text", self.vulnerability_other_text, 500);
        let issue_other_text = text("issue_other_text", self.issue_other_text, 500);
        let reason = text("reason", Some(self.reason), 2000).flatten();
        let mut changes = case::CaseChanges {
            co_referring_agency_ids: self.co_referring_agency_ids.map(|ids| ids.into_iter().map(AgencyId).collect()),
            summary,
            ward_code,
            area_text,
            vulnerability_other_text,
            issue_other_text,
            safety_plan_supplied_by: safety_plan.as_ref().map(|plan| plan.as_ref().and(supplier)),
            safety_plan,
            lawful_basis: self.lawful_basis,
            special_category_condition: self.special_category_condition,
            ..Default::default()
        };
        if let Some(criteria) = self.criteria {
            if let Some(pj) = criteria.professional_judgement {
                let reason = pj.map(|pj| {
                    p.check(required_text("criteria.professional_judgement.reason", &pj.reason, 2000))
                        .unwrap_or_default()
                });
                changes.professional_judgement = Some(reason.is_some());
                changes.professional_judgement_reason = Some(reason);
            }
            if let Some(escalation) = criteria.potential_escalation {
                let count = escalation.map(|e| e.incident_count);
                if count.is_some_and(|n| !(0..=1000).contains(&n)) {
                    p.push("criteria.potential_escalation.incident_count", "out_of_range");
                }
                changes.potential_escalation = Some(count.is_some());
                changes.escalation_incident_count = Some(count);
            }
        }
        if let Some(n) = self.children_in_household {
            if n.is_some_and(|n| !(0..=50).contains(&n)) {
                p.push("children_in_household", "out_of_range");
            }
            changes.children_in_household = Some(n);
        }
        for (field, len) in [
            ("vulnerabilities", self.vulnerabilities.as_ref().map(Vec::len)),
            ("issue_categories", self.issue_categories.as_ref().map(Vec::len)),
        ] {
            if len.is_some_and(|n| n > MAX_CODES) {
                p.push(field, "too_many_items");
            }
        }
        changes.vulnerabilities = self.vulnerabilities.as_deref().map(dedup);
        changes.issue_categories = self.issue_categories.as_deref().map(dedup);
        if let Some(c) = self.consent {
            let why = p.check(optional_text("consent.non_consent_reason", c.non_consent_reason.as_deref(), 2000));
            changes.consent_status = Some(c.status);
            changes.victim_aware = Some(c.victim_aware);
            changes.non_consent_reason = Some(why.flatten());
        }
        let writes_safety_plan = changes.safety_plan.is_some();
        p.finish(|| Some((changes, reason, writes_safety_plan)))
    }
}

/// The rules a case must still meet after an edit (as at referral), on the edited row.
fn check_edited(row: &CaseRow, kind: PanelKind) -> Vec<FieldProblem> {
    let mut problems = Vec::new();
    if row.consent_status != ConsentStatus::Given && row.non_consent_reason.is_none() {
        problems.push(FieldProblem::new("consent.non_consent_reason", "required_without_consent"));
    }
    if kind != PanelKind::Jag && !row.issue_categories.is_empty() {
        problems.push(FieldProblem::new("issue_categories", "only_for_jag"));
    }
    if row.vulnerabilities.contains(&Vulnerability::Other) && row.vulnerability_other_text.is_none() {
        problems.push(FieldProblem::new("vulnerability_other_text", "required_for_other"));
    }
    if row.issue_categories.contains(&IssueCategory::Other) && row.issue_other_text.is_none() {
        problems.push(FieldProblem::new("issue_other_text", "required_for_other"));
    }
    problems
}

/// Who may change a running case: panel staff, or the organisation that referred it; a case
/// that has ended (closed, rejected, withdrawn, transferred out) is changed only by reopening it.
pub(crate) fn require_editor(access: &CaseAccess, user: &AuthUser, case: &CaseRow) -> Result<(), ApiError> {
    let referred = case.referring_agency_id.is_some() && user.agency_id == case.referring_agency_id;
    if !access.is_staff && !referred {
        return Err(ApiError::Forbidden(Forbidden::NotCaseEditor));
    }
    if case.status.has_ended() {
        return Err(ApiError::conflict("status", format!("not_editable_when_{}", case.status.as_str())));
    }
    Ok(())
}

/// Fields whose change must say why (DOMAIN.md §5: a change of consent or lawful basis is
/// recorded with who, when and why).
const CHANGES_NEEDING_A_REASON: &[&str] = &[
    "consent.status",
    "consent.victim_aware",
    "consent.non_consent_reason",
    "lawful_basis",
    "special_category_condition",
];

/// PATCH /api/v1/cases/{case_id}
pub async fn update_case(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<CasePath>,
    if_match: IfMatch,
    body: Json<UpdateCaseRequest>,
) -> Result<HttpResponse, ApiError> {
    let (changes, reason, writes_safety_plan) = body.into_inner().parse(user.agency_id)?;
    let id = CaseId(path.case_id);
    let out = audit::audited(&db, audit, move |conn| {
        let access = access::case_access_for_update(conn, &user, id)?;
        let current = case::get(conn, id)?;
        require_editor(&access, &user, &current)?;
        if_match.require(current.version)?;
        let written = writes_safety_plan.then_some((Tag::SafetyPlan, "safety_plan"));
        disclosure::require_writable(&user.field_access(access.panel_id), written)?;
        let after = changes.applied_to(&current);
        let changed = case::changed_values(&current, &after);
        let mut problems = check_edited(&after, panel::get(conn, current.panel_id)?.kind);
        if let Some(co) = &changes.co_referring_agency_ids {
            let members = panel::members(conn, current.panel_id)?;
            problems.extend(check_co_referrers(co, current.referring_agency_id, &members));
        }
        if reason.is_none() && changed.iter().any(|c| CHANGES_NEEDING_A_REASON.contains(&c.field)) {
            problems.push(FieldProblem::new("reason", "required_when_consent_or_lawful_basis_changes"));
        }
        if !problems.is_empty() {
            return Err(ApiError::Unprocessable(problems));
        }
        if !changed.is_empty() {
            case::edit(conn, &current, &changes, &changed, reason.as_deref(), user.user_id)?;
        }
        let (view, disclosed) = written_view(conn, &user, id, ViewFor::Writer)?;
        let event = Event::ok(AuditAction::Alter, "case", vec![id.0])
            .on_panel(view.panel_id)
            .disclosing(written.map(|(tag, _)| tag).into_iter().chain(disclosed));
        Ok((view, event))
    })
    .await?;
    tracing::info!(case.id = %out.id, "case edited");
    Ok(ok_versioned(out.version, &out))
}

/// One entry of a case's history: a change of status or of a value. A value the reader may not
/// read is not shown, only that it changed (`withheld`).
#[derive(Serialize)]
pub struct CaseHistoryEntry {
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    to: Option<serde_json::Value>,
    reason: Option<String>,
    changed_by: UserId,
    changed_at: chrono::DateTime<Utc>,
    withheld: Vec<&'static str>,
}

#[derive(Serialize)]
pub struct CaseHistory {
    case_id: CaseId,
    items: Vec<CaseHistoryEntry>,
}

/// GET /api/v1/cases/{case_id}/history
pub async fn get_case_history(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<CasePath>,
    purpose: AccessPurpose,
) -> Result<HttpResponse, ApiError> {
    let id = CaseId(path.case_id);
    let out = audit::audited(&db, audit, move |conn| {
        let access = access::case_access(conn, &user, id)?.require_full()?;
        let purpose = purpose.0.map(|p| access::check_purpose(conn, &user, &access, &p)).transpose()?;
        let mut r = Redactor::new(grant::field_access(conn, &user, access.panel_id, id)?, purpose.is_some());
        let (fields, statuses) = case::changes(conn, id)?;
        let mut items: Vec<CaseHistoryEntry> = statuses
            .into_iter()
            .map(|h| CaseHistoryEntry {
                kind: "status",
                field: None,
                from: h.from_status.map(|s| serde_json::json!(s)),
                to: Some(serde_json::json!(h.to_status)),
                reason: h.reason,
                changed_by: h.changed_by,
                changed_at: h.changed_at,
                withheld: Vec::new(),
            })
            .collect();
        for change in fields {
            let mut withheld = Vec::new();
            // Both values must be readable: each was supplied by its own organisation.
            let suppliers = [change.old_supplied_by, change.new_supplied_by];
            let shown = disclosure::shown_from_all(Subject::Case, &change.field, &suppliers, &mut r, &mut withheld);
            items.push(CaseHistoryEntry {
                kind: "value",
                from: shown.then_some(change.old_value),
                to: shown.then_some(change.new_value),
                field: Some(change.field),
                reason: change.reason,
                changed_by: change.changed_by,
                changed_at: change.changed_at,
                withheld,
            });
        }
        items.sort_by_key(|i| i.changed_at);
        let event = Event::ok(AuditAction::Consult, "case", vec![id.0])
            .on_panel(access.panel_id)
            .disclosing(r.disclosed())
            .for_purpose(purpose.map(|p| p.audited));
        Ok((CaseHistory { case_id: id, items }, event))
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}
