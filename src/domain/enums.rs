use std::io::Write;

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;
use serde::{Deserialize, Serialize};

/// A controlled vocabulary stored as its code in a `text` column (with a CHECK constraint) and
/// sent on the wire as the same code.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $code:literal $(| $alias:literal)*),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, AsExpression, FromSqlRow)]
        #[diesel(sql_type = Text)]
        pub enum $name {
            $(#[serde(rename = $code $(, alias = $alias)*)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            pub fn from_code(code: &str) -> Option<Self> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ToSql<Text, Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                out.write_all(self.as_str().as_bytes())?;
                Ok(IsNull::No)
            }
        }

        impl FromSql<Text, Pg> for $name {
            fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
                let code = std::str::from_utf8(bytes.as_bytes())?;
                Self::from_code(code).ok_or_else(|| format!("unknown {} code {code:?}", stringify!($name)).into())
            }
        }
    };
}

text_enum!(
    /// Agency types, DOMAIN.md §7.2.
    AgencyType {
        Police = "police",
        IdvaService = "idva_service",
        ChildrensSocialCare = "childrens_social_care",
        AdultSocialCare = "adult_social_care",
        PrimaryCare = "primary_care",
        SecondaryCareAcuteTrust = "secondary_care_acute_trust",
        MentalHealth = "mental_health",
        SubstanceMisuse = "substance_misuse",
        Probation = "probation",
        VoluntarySector = "voluntary_sector",
        Mash = "mash",
        Education = "education",
        HousingLocalAuthority = "housing_local_authority",
        HousingRegisteredProvider = "housing_registered_provider",
        HomelessnessOutreach = "homelessness_outreach",
        SpecialistBamer = "specialist_bamer",
        SpecialistLgbt = "specialist_lgbt",
        FireService = "fire_service",
        Cafcass = "cafcass",
        VictimSupport = "victim_support",
        CommunitySafetyAsb = "community_safety_asb",
        Dwp = "dwp",
        Other = "other",
    }
);

text_enum!(
    /// Panel types, DOMAIN.md §7.1. `bjag` (Brent's name for its JAG) is accepted on input.
    PanelKind {
        Marac = "marac",
        Cmarac = "cmarac",
        Jag = "jag" | "bjag",
    }
);

text_enum!(
    MeetingCadence {
        Weekly = "weekly",
        Fortnightly = "fortnightly",
        Monthly = "monthly",
        SixWeekly = "six_weekly",
        Quarterly = "quarterly",
        AdHoc = "ad_hoc",
    }
);

text_enum!(
    /// What the MARAC repeat window is measured from (DOMAIN.md §3.4).
    RepeatWindowAnchor {
        LastReferral = "last_referral",
        LastMeeting = "last_meeting",
    }
);

text_enum!(
    /// Roles, SECURITY.md §2.1.
    Role {
        SystemAdmin = "system_admin",
        Coordinator = "coordinator",
        Chair = "chair",
        AgencyRep = "agency_rep",
        Idva = "idva",
        Manager = "manager",
        Auditor = "auditor",
        InformationGovernance = "information_governance",
    }
);

text_enum!(
    /// One status vocabulary for every panel (DOMAIN.md §7.8).
    CaseStatus {
        Referred = "referred",
        Screening = "screening",
        Accepted = "accepted",
        Rejected = "rejected",
        Open = "open",
        Monitoring = "monitoring",
        Closed = "closed",
        TransferredOut = "transferred_out",
        Withdrawn = "withdrawn",
    }
);

impl CaseStatus {
    /// Closed, rejected, withdrawn or transferred out: the case is changed only by reopening it.
    pub fn has_ended(self) -> bool {
        matches!(self, Self::Closed | Self::Rejected | Self::Withdrawn | Self::TransferredOut)
    }
}

text_enum!(
    /// Participant roles, DOMAIN.md §7.3.
    ParticipantRole {
        Victim = "victim",
        Perpetrator = "perpetrator",
        Child = "child",
        OtherAdultAtRisk = "other_adult_at_risk",
        VulnerablePerson = "vulnerable_person",
        PersonOfConcern = "person_of_concern",
        ExploiterAssociate = "exploiter_associate",
        FamilyMember = "family_member",
        Witness = "witness",
    }
);

impl ParticipantRole {
    /// People in these roles must never receive case information (SECURITY.md AC-4).
    pub fn must_not_receive(self) -> bool {
        matches!(self, Self::Perpetrator | Self::ExploiterAssociate | Self::PersonOfConcern)
    }
}

text_enum!(
    /// CMARAC vulnerabilities, DOMAIN.md §7.4.
    Vulnerability {
        MentalHealth = "mental_health",
        SubstanceMisuse = "substance_misuse",
        Cuckooing = "cuckooing",
        HateCrime = "hate_crime",
        Homelessness = "homelessness",
        BeingExploited = "being_exploited",
        AntiSocialBehaviour = "anti_social_behaviour",
        Crime = "crime",
        FireRisk = "fire_risk",
        FinancialAbuseFraud = "financial_abuse_fraud",
        PropertyMaintenanceRisk = "property_maintenance_risk",
        SelfNeglectHoarding = "self_neglect_hoarding",
        LearningDisability = "learning_disability",
        PhysicalHealth = "physical_health",
        RiskToSelfOrOthers = "risk_to_self_or_others",
        Offending = "offending",
        Other = "other",
    }
);

text_enum!(
    /// Whether a transfer record is of a case leaving for another area or arriving from one.
    TransferDirection {
        Out = "out",
        In = "in",
    }
);

text_enum!(
    /// What an imported register did not record about a case (issue 14): imported as not
    /// recorded, never invented, and flagged for a coordinator to work through.
    DataQualityKind {
        ReferringAgencyNotRecorded = "referring_agency_not_recorded",
        WardNotRecorded = "ward_not_recorded",
        ClosureReasonNotRecorded = "closure_reason_not_recorded",
        DuplicateRow = "duplicate_row",
        OutcomeOnOpenLine = "outcome_on_open_line",
        PossibleDuplicatePerson = "possible_duplicate_person",
    }
);

text_enum!(
    /// Why a per-case grant stopped holding.
    GrantEndReason {
        Revoked = "revoked",
        Expired = "expired",
        CaseEnded = "case_ended",
    }
);

text_enum!(
    /// A chair's decision on a closure awaiting approval (DOMAIN.md §6.1).
    ClosureDecision {
        Approved = "approved",
        Declined = "declined",
    }
);

text_enum!(
    /// Closure categories, DOMAIN.md §7.5.
    ClosureCategory {
        SupportedAccommodation = "supported_accommodation",
        CarePackageAsc = "care_package_asc",
        MentalHealthServiceEngaged = "mental_health_service_engaged",
        SteppedDownSingleAgency = "stepped_down_single_agency",
        MovedOutOfBorough = "moved_out_of_borough",
        HomelessnessResolved = "homelessness_resolved",
        CustodyRemand = "custody_remand",
        RehabilitationProgramme = "rehabilitation_programme",
        EngagementSustained = "engagement_sustained",
        EnvironmentalFix = "environmental_fix",
        EnforcementEffective = "enforcement_effective",
        ReferredToPoliceInvestigation = "referred_to_police_investigation",
        NotSubstantiated = "not_substantiated",
        DisengagedDeclined = "disengaged_declined",
        TransferredOtherPanel = "transferred_other_panel",
        Deceased = "deceased",
        TwelveMonthLapse = "twelve_month_lapse",
        TransferredOut = "transferred_out",
        Other = "other",
    }
);

text_enum!(
    /// ASB tools and interventions, DOMAIN.md §7.7.
    InterventionTool {
        VerbalWarning = "verbal_warning",
        WarningLetter = "warning_letter",
        AcceptableBehaviourAgreement = "acceptable_behaviour_agreement",
        CommunityProtectionWarning = "community_protection_warning",
        CommunityProtectionNotice = "community_protection_notice",
        FixedPenaltyNotice = "fixed_penalty_notice",
        Pspo = "pspo",
        DispersalDirection = "dispersal_direction",
        CivilInjunction = "civil_injunction",
        CriminalBehaviourOrder = "criminal_behaviour_order",
        ClosureNotice = "closure_notice",
        ClosureOrderPartial = "closure_order_partial",
        ClosureOrderFull = "closure_order_full",
        ClosureOrderBreach = "closure_order_breach",
        AbsoluteGroundPossession = "absolute_ground_possession",
        CommunityRemedy = "community_remedy",
        Warrant = "warrant",
        MobileCctvDeployment = "mobile_cctv_deployment",
        MultiAgencyOperation = "multi_agency_operation",
        DesignOutCrime = "design_out_crime",
        SupportReferral = "support_referral",
    }
);

impl InterventionTool {
    /// Tools that impose terms a person or premises can breach; a breach is recorded against one.
    pub fn can_be_breached(self) -> bool {
        matches!(
            self,
            Self::AcceptableBehaviourAgreement
                | Self::CommunityProtectionWarning
                | Self::CommunityProtectionNotice
                | Self::Pspo
                | Self::DispersalDirection
                | Self::CivilInjunction
                | Self::CriminalBehaviourOrder
                | Self::ClosureNotice
                | Self::ClosureOrderPartial
                | Self::ClosureOrderFull
        )
    }

    pub fn is_closure_order(self) -> bool {
        matches!(self, Self::ClosureNotice | Self::ClosureOrderPartial | Self::ClosureOrderFull)
    }
}

text_enum!(
    /// A data subject's right a request invokes (UK GDPR Articles 15 to 18 and 21).
    RightsRequestKind {
        Access = "access",
        Rectification = "rectification",
        Erasure = "erasure",
        Restriction = "restriction",
        Objection = "objection",
    }
);

text_enum!(
    /// What was decided on a rights request.
    RightsDecision {
        Granted = "granted",
        PartlyGranted = "partly_granted",
        Refused = "refused",
    }
);

text_enum!(
    /// Where a JAG nomination came from, DOMAIN.md §6.3.
    NominationSource {
        Partner = "partner",
        HotspotAnalysis = "hotspot_analysis",
        Partnership = "partnership",
        CommunityTrigger = "community_trigger",
    }
);

text_enum!(
    /// JAG issue categories, DOMAIN.md §7.6.
    IssueCategory {
        DrugDealing = "drug_dealing",
        DrugUse = "drug_use",
        Cuckooing = "cuckooing",
        OnStreetSexWork = "on_street_sex_work",
        Robbery = "robbery",
        NuisanceVehicles = "nuisance_vehicles",
        ParkingObstruction = "parking_obstruction",
        RoughSleeping = "rough_sleeping",
        IntimidationHarassment = "intimidation_harassment",
        NeighbourDispute = "neighbour_dispute",
        Noise = "noise",
        AsbNuisance = "asb_nuisance",
        Loitering = "loitering",
        StreetDrinking = "street_drinking",
        CriminalDamage = "criminal_damage",
        Violence = "violence",
        Other = "other",
    }
);

text_enum!(
    /// Consent to the referral (SECURITY.md DP-1).
    ConsentStatus {
        Given = "given",
        Refused = "refused",
        NotSought = "not_sought",
        VictimNotAware = "victim_not_aware",
    }
);

text_enum!(
    /// UK GDPR Article 6 basis, DOMAIN.md §7.12.
    LawfulBasis {
        Consent = "consent",
        LegalObligation = "legal_obligation",
        VitalInterests = "vital_interests",
        PublicTask = "public_task",
        LegitimateInterests = "legitimate_interests",
        RecognisedLegitimateInterest = "recognised_legitimate_interest",
        LawEnforcementPart3 = "law_enforcement_part3",
    }
);

text_enum!(
    /// Special-category / criminal-data condition, DOMAIN.md §7.12.
    SpecialCategoryCondition {
        ExplicitConsent = "explicit_consent",
        VitalInterestsSpecial = "vital_interests_special",
        HealthSocialCare = "health_social_care",
        StatutoryGovernmentPurposes = "statutory_government_purposes",
        PreventingDetectingUnlawfulActs = "preventing_detecting_unlawful_acts",
        SafeguardingChildrenIndividualsAtRisk = "safeguarding_children_individuals_at_risk",
        LawEnforcementSensitiveProcessing = "law_enforcement_sensitive_processing",
    }
);

text_enum!(
    AssessmentStage {
        Entry = "entry",
        Review = "review",
        Exit = "exit",
    }
);

text_enum!(
    /// Scored risk tools, DOMAIN.md §7.10.
    RiskTool {
        DashRic = "dash_ric",
        CmaracMatrix = "cmarac_matrix",
        CustomScore = "custom_score",
    }
);

text_enum!(
    Gender {
        Female = "female",
        Male = "male",
        NonBinary = "non_binary",
        Other = "other",
        Unknown = "unknown",
    }
);

text_enum!(
    /// A diversity flag: unknown is never collapsed into no (DOMAIN.md §5).
    TriState {
        Yes = "yes",
        No = "no",
        Unknown = "unknown",
    }
);

text_enum!(
    /// The kind of an entry in a person's address history (DOMAIN.md §5: current and home
    /// addresses apart; a refuge or temporary address is highly sensitive).
    PersonAddressKind {
        Current = "current",
        Home = "home",
        Previous = "previous",
        Refuge = "refuge",
        Temporary = "temporary",
    }
);

text_enum!(
    AddressKind {
        Current = "current",
        Refuge = "refuge",
        Temporary = "temporary",
    }
);

text_enum!(
    /// Meeting lifecycle (DOMAIN.md §6.5, the steps this service tracks).
    MeetingStatus {
        Scheduled = "scheduled",
        AgendaPublished = "agenda_published",
        InProgress = "in_progress",
        Held = "held",
        MinutesCirculated = "minutes_circulated",
        Cancelled = "cancelled",
    }
);

impl MeetingStatus {
    /// A meeting that was held: its heard items were heard.
    pub const WENT_AHEAD: [MeetingStatus; 2] = [MeetingStatus::Held, MeetingStatus::MinutesCirculated];
}

text_enum!(
    MeetingKind {
        Regular = "regular",
        Emergency = "emergency",
    }
);

text_enum!(
    MeetingMode {
        InPerson = "in_person",
        Virtual = "virtual",
        Hybrid = "hybrid",
    }
);

text_enum!(
    /// Agenda sections in SafeLives order (DOMAIN.md §6.6).
    AgendaSection {
        OutstandingActions = "outstanding_actions",
        ChildrenCases = "children_cases",
        AdultOnlyCases = "adult_only_cases",
        TwelveMonthLapseNotices = "twelve_month_lapse_notices",
        Aob = "aob",
    }
);

impl AgendaSection {
    /// Where the section comes in the meeting.
    pub fn rank(self) -> u8 {
        match self {
            Self::OutstandingActions => 0,
            Self::ChildrenCases => 1,
            Self::AdultOnlyCases => 2,
            Self::TwelveMonthLapseNotices => 3,
            Self::Aob => 4,
        }
    }
}

text_enum!(
    /// Why a case is on the agenda.
    ListingReason {
        NewReferral = "new_referral",
        Repeat = "repeat",
        Review = "review",
        TransferIn = "transfer_in",
        OutstandingActions = "outstanding_actions",
        LapseNotice = "lapse_notice",
        Added = "added",
    }
);

text_enum!(
    AgendaOutcome {
        Heard = "heard",
        Deferred = "deferred",
        Withdrawn = "withdrawn",
        NotReached = "not_reached",
    }
);

text_enum!(
    /// Attendance types, DOMAIN.md §7.9.
    AttendanceType {
        Present = "present",
        Apologies = "apologies",
        InformationSent = "information_sent",
        Observer = "observer",
    }
);

impl AttendanceType {
    /// Attendance that gives an organisation sight of the cases on the meeting's agenda.
    pub const GIVING_SIGHT: [AttendanceType; 2] = [AttendanceType::Present, AttendanceType::InformationSent];
}

text_enum!(
    /// Action lifecycle, DOMAIN.md §6.4 (`overdue` is derived, not stored).
    ActionStatus {
        Open = "open",
        InProgress = "in_progress",
        Completed = "completed",
        NotCompletedChangeOfCircumstance = "not_completed_change_of_circumstance",
        NotCompletedAgencyNotActioned = "not_completed_agency_not_actioned",
        Cancelled = "cancelled",
        CarriedForward = "carried_forward",
    }
);

impl ActionStatus {
    /// Still to be done: counts towards overdue.
    pub fn is_outstanding(self) -> bool {
        matches!(self, Self::Open | Self::InProgress | Self::CarriedForward)
    }

    /// A completion or non-completion, which needs a note.
    pub fn needs_note(self) -> bool {
        matches!(self, Self::Completed | Self::NotCompletedChangeOfCircumstance | Self::NotCompletedAgencyNotActioned)
    }
}

text_enum!(
    /// What an audit event records (SECURITY.md §4.1, after DPA 2018 s.62).
    AuditAction {
        Collect = "collect",
        Alter = "alter",
        Consult = "consult",
        Disclose = "disclose",
        Combine = "combine",
        Erase = "erase",
        Authenticate = "authenticate",
        PolicyChange = "policy_change",
    }
);

text_enum!(
    AuditOutcome {
        Ok = "ok",
        DeniedFunction = "denied_function",
        DeniedObject = "denied_object",
        DeniedField = "denied_field",
        Invalid = "invalid",
        Error = "error",
    }
);

text_enum!(
    /// Sensitivity tags of SECURITY.md §2.4; untagged fields are core.
    Tag {
        VictimAddress = "victim.address",
        VictimSafeContact = "victim.safe_contact",
        DashAnswers = "risk.dash_answers",
        Health = "health",
        PerpetratorCriminal = "perpetrator.criminal",
        Children = "children",
        SafetyPlan = "safety_plan",
        ResearchNotes = "research_notes",
    }
);

impl Tag {
    /// Reads of these need a stated purpose (SECURITY.md AU-3).
    pub fn needs_purpose(self) -> bool {
        matches!(self, Self::VictimAddress | Self::VictimSafeContact | Self::SafetyPlan | Self::Health)
    }
}

text_enum!(
    /// What the field policy grants for a tag.
    FieldAccessLevel {
        Read = "read",
        Write = "write",
        Own = "own",
    }
);

/// How a role is scoped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleScope {
    Global,
    Panel,
    GlobalOrPanel,
}

impl Role {
    pub fn scope(self) -> RoleScope {
        match self {
            Role::SystemAdmin => RoleScope::Global,
            Role::Auditor => RoleScope::GlobalOrPanel,
            Role::Coordinator
            | Role::Chair
            | Role::AgencyRep
            | Role::Idva
            | Role::Manager
            | Role::InformationGovernance => RoleScope::Panel,
        }
    }

    /// Roles that act for an organisation on a panel, so the user must belong to one.
    pub fn needs_agency(self) -> bool {
        matches!(self, Role::Coordinator | Role::Chair | Role::AgencyRep | Role::Idva)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_match_serde() {
        for t in AgencyType::ALL {
            assert_eq!(AgencyType::from_code(t.as_str()), Some(*t));
            assert_eq!(serde_json::to_value(t).unwrap(), serde_json::json!(t.as_str()));
        }
        assert_eq!(AgencyType::ALL.len(), 23);
        for r in Role::ALL {
            assert_eq!(serde_json::from_value::<Role>(serde_json::json!(r.as_str())).unwrap(), *r);
        }
    }

    #[test]
    fn bjag_is_read_as_jag_and_written_as_jag() {
        let kind: PanelKind = serde_json::from_str("\"bjag\"").unwrap();
        assert_eq!(kind, PanelKind::Jag);
        assert_eq!(serde_json::to_string(&kind).unwrap(), "\"jag\"");
        assert!(serde_json::from_str::<PanelKind>("\"JAG\"").is_err());
    }
}
