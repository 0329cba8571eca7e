//! Admission: the one way a case enters confer, whether referred through the API
//! (`POST /api/v1/cases`) or carried in from a panel's register (`import`). Both hand `admit` an
//! `Admission`; it derives the criteria the data shows (DOMAIN.md §9: a repeat from the case
//! history, visible high risk from an entry DASH at or above the threshold, escalation from the
//! incident count), refuses a new MARAC referral that meets none, gives the case its reference,
//! and writes the case, its location, participants, first history entry and assessments in the
//! caller's transaction. So the two ways in cannot drift apart.

use chrono::NaiveDate;
use diesel::PgConnection;

use crate::domain::{
    AgencyId, AssessmentStage, CaseStatus, ClosureCategory, ConsentStatus, IssueCategory, LawfulBasis,
    NominationSource, PanelKind, ParticipantRole, PersonId, RiskTool, SpecialCategoryCondition, UserId, Vulnerability,
};
use crate::error::ApiError;
use crate::models::assessment::{self, NewAssessment};
use crate::models::case::{self, CaseRow, NewCase, NewLocation};
use crate::models::location_case;
use crate::models::panel::PanelRow;
use crate::models::person;

/// Where a case comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A new referral by `referrer`: it starts at `referred`, takes the panel's next reference,
    /// and a MARAC referral must meet a criterion.
    Referral { referrer: UserId },
    /// A case a panel already decided on, as its register records it: its own reference and
    /// status; the criteria the register does not carry stay unrecorded.
    Register { reference: String, status: CaseStatus },
    /// A case arriving from another area's MARAC (DOMAIN.md §6.1): it starts at `screening` with
    /// the panel's next reference; the first area's decision stands, so no criterion is asked for.
    TransferIn,
}

/// Consent to share, as the referral records it.
#[derive(Debug, Clone)]
pub struct Consent {
    pub status: ConsentStatus,
    pub victim_aware: Option<bool>,
    pub non_consent_reason: Option<String>,
}

/// A closure a register records for a case it carries in.
#[derive(Debug, Clone)]
pub struct RecordedClosure {
    pub categories: Vec<ClosureCategory>,
    /// `None` where the register closed the line without a reason (a data-quality flag says so).
    pub reason: Option<String>,
    pub closed_on: NaiveDate,
}

/// Everything a case enters with, checked by the way in that built it.
#[derive(Debug, Clone)]
pub struct Admission {
    pub source: Source,
    pub referral_date: NaiveDate,
    /// `None` only for a register line that did not record it (a data-quality flag says so).
    pub referring_agency_id: Option<AgencyId>,
    /// Organisations referring together with `referring_agency_id`, checked by the caller.
    pub co_referring_agency_ids: Vec<AgencyId>,
    /// People already recorded (new ones are inserted by the caller first), with their roles.
    pub participants: Vec<(PersonId, ParticipantRole)>,
    pub professional_judgement_reason: Option<String>,
    pub escalation_incident_count: Option<i32>,
    pub location: Option<NewLocation>,
    /// Where a JAG nomination came from (`None`: not recorded).
    pub nomination_source: Option<NominationSource>,
    pub ward_code: Option<String>,
    pub area_text: Option<String>,
    pub vulnerabilities: Vec<Vulnerability>,
    pub vulnerability_other_text: Option<String>,
    pub issue_categories: Vec<IssueCategory>,
    pub issue_other_text: Option<String>,
    pub children_in_household: Option<i32>,
    pub consent: Consent,
    pub lawful_basis: LawfulBasis,
    pub special_category_condition: SpecialCategoryCondition,
    pub summary: Option<String>,
    /// The safety plan and the organisation that supplied it (SECURITY.md §2.4, provenance).
    pub safety_plan: Option<(String, Option<AgencyId>)>,
    pub closure: Option<RecordedClosure>,
    /// Assessments the case enters with.
    pub assessments: Vec<NewAssessment>,
    pub recorded_by: UserId,
}

/// Admits the case to `panel` (see the module's note). 422 `no_referral_criterion_met` for a new
/// MARAC referral that meets no criterion.
pub fn admit(conn: &mut PgConnection, panel: &PanelRow, a: Admission) -> Result<CaseRow, ApiError> {
    let shielded: Vec<PersonId> =
        a.participants.iter().filter(|(_, r)| r.must_not_receive()).map(|(id, _)| *id).collect();
    person::mark_must_not_receive(conn, &shielded)?;

    let of_role = |role| a.participants.iter().filter(|(_, r)| *r == role).map(|(id, _)| *id).collect::<Vec<_>>();
    let repeat_of = if panel.kind == PanelKind::Marac {
        case::find_repeat_of(
            conn,
            panel.id,
            &of_role(ParticipantRole::Victim),
            &of_role(ParticipantRole::Perpetrator),
            a.referral_date,
            panel.settings.repeat_window(),
            None,
        )?
    } else {
        None
    };
    let visible_high_risk =
        a.assessments.iter().any(|s| s.stage == AssessmentStage::Entry && s.tool == RiskTool::DashRic && s.high_risk);
    let escalation =
        a.escalation_incident_count.is_some_and(|n| n >= i32::from(panel.settings.escalation_incident_count));

    let referring_user_id = match a.source {
        Source::Referral { referrer } => Some(referrer),
        Source::Register { .. } | Source::TransferIn => None,
    };
    let (reference, status) = match a.source {
        Source::Referral { .. } => {
            let met_one =
                visible_high_risk || a.professional_judgement_reason.is_some() || escalation || repeat_of.is_some();
            if panel.kind == PanelKind::Marac && !met_one {
                return Err(ApiError::unprocessable("criteria", "no_referral_criterion_met"));
            }
            (case::next_reference(conn, panel.id, panel.kind, case::current_year())?, CaseStatus::Referred)
        }
        Source::Register { reference, status } => (reference, status),
        Source::TransferIn => {
            (case::next_reference(conn, panel.id, panel.kind, case::current_year())?, CaseStatus::Screening)
        }
    };
    let location_id = a.location.as_ref().map(|l| case::insert_location(conn, l)).transpose()?;
    let (safety_plan, safety_plan_supplied_by) = a.safety_plan.map_or((None, None), |(p, by)| (Some(p), by));
    let new = NewCase {
        panel_id: panel.id,
        reference,
        status,
        location_id,
        referring_agency_id: a.referring_agency_id,
        co_referring_agency_ids: a.co_referring_agency_ids,
        referring_user_id,
        referral_date: a.referral_date,
        visible_high_risk,
        professional_judgement: a.professional_judgement_reason.is_some(),
        professional_judgement_reason: a.professional_judgement_reason,
        potential_escalation: escalation,
        escalation_incident_count: a.escalation_incident_count,
        is_repeat: repeat_of.is_some(),
        repeat_of_case_id: repeat_of,
        ward_code: a.ward_code,
        area_text: a.area_text,
        vulnerabilities: a.vulnerabilities,
        vulnerability_other_text: a.vulnerability_other_text,
        issue_categories: a.issue_categories,
        issue_other_text: a.issue_other_text,
        children_in_household: a.children_in_household,
        consent_status: a.consent.status,
        victim_aware: a.consent.victim_aware,
        non_consent_reason: a.consent.non_consent_reason,
        lawful_basis: a.lawful_basis,
        special_category_condition: a.special_category_condition,
        summary: a.summary,
        closure_categories: a.closure.as_ref().map(|c| c.categories.clone()).unwrap_or_default(),
        closure_reason: a.closure.as_ref().and_then(|c| c.reason.clone()),
        closed_on: a.closure.as_ref().map(|c| c.closed_on),
        safety_plan,
        safety_plan_supplied_by,
        created_by: a.recorded_by,
    };
    let row = case::insert(conn, &new, &a.participants)?;
    if panel.kind == PanelKind::Jag {
        location_case::start(conn, row.id, a.nomination_source)?;
    }
    for assessment in &a.assessments {
        assessment::insert(conn, row.id, assessment)?;
    }
    Ok(row)
}
