//! THE object-level rule (SECURITY.md AC-2): which cases a user may see, as one SQL predicate
//! used by every case query, list or single, so counts and cursors cannot leak hidden rows.
//!
//! Coordinators and chairs see every case of their panel. Agency reps and IDVAs see a case of a
//! panel on which they hold the role when their organisation is an active member of that panel
//! with a signed information sharing agreement **and** it referred the case, or is listed to
//! attend (present or sending information) a meeting where the case is on the agenda, or owns an
//! action on it. A user excluded from a case does not see it at all. System admins, managers and
//! auditors hold no case role and see no case content.

use diesel::dsl::exists;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::Bool;

use crate::domain::{AttendanceType, AuthUser, CaseId, PanelId, Role};
use crate::error::ApiError;
use crate::schema::{actions, agenda_items, attendance, case_exclusions, case_participants, cases, panel_members};

type CasePredicate = Box<dyn BoxableExpression<cases::table, Pg, SqlType = Bool>>;

/// Panels on which the user is coordinator or chair.
pub fn staff_panels(user: &AuthUser) -> Vec<PanelId> {
    user.panels_with(&[Role::Coordinator, Role::Chair])
}

/// True for the cases `user` may see, at least as the research list (see `Sight`).
pub fn case_visible(user: &AuthUser) -> CasePredicate {
    case_predicate(user, false)
}

/// True for the cases `user` may see in full: as `case_visible`, except that sight coming only
/// from a meeting counts once the user has acknowledged that meeting's confidentiality statement.
pub fn case_fully_visible(user: &AuthUser) -> CasePredicate {
    case_predicate(user, true)
}

fn case_predicate(user: &AuthUser, full: bool) -> CasePredicate {
    let staff = staff_panels(user);
    let rep = user.panels_with(&[Role::AgencyRep, Role::Idva]);
    let by_membership: CasePredicate = match user.agency_id {
        Some(agency) if !rep.is_empty() => {
            let mut meetings_giving_sight = attendance::table
                .filter(attendance::agency_id.eq(agency))
                .filter(attendance::attendance_type.eq_any(AttendanceType::GIVING_SIGHT))
                .select(attendance::meeting_id)
                .into_boxed();
            if full {
                meetings_giving_sight = meetings_giving_sight
                    .filter(attendance::user_id.eq(user.user_id))
                    .filter(attendance::confidentiality_acknowledged_at.is_not_null());
            }
            Box::new(
                cases::panel_id
                    .eq_any(rep)
                    .and(exists(
                        panel_members::table
                            .filter(panel_members::panel_id.eq(cases::panel_id))
                            .filter(panel_members::agency_id.eq(agency))
                            .filter(panel_members::active.eq(true))
                            .filter(panel_members::isa_signed_on.is_not_null()),
                    ))
                    // A restricted case (Art. 18) is for its panel's staff only.
                    .and(cases::restricted_at.is_null())
                    .and(
                        cases::referring_agency_id
                            .is_not_distinct_from(agency)
                            .or(cases::co_referring_agency_ids.contains(vec![agency]))
                            .or(exists(
                                actions::table
                                    .filter(actions::case_id.eq(cases::id))
                                    .filter(actions::owner_agency_id.eq(agency)),
                            ))
                            .or(exists(
                                agenda_items::table
                                    .filter(agenda_items::case_id.eq(cases::id))
                                    .filter(agenda_items::meeting_id.eq_any(meetings_giving_sight)),
                            )),
                    ),
            )
        }
        _ => Box::new(super::fragment::<Bool>("false")),
    };
    // A user excluded from a case does not see it, whatever else would let them (SECURITY.md 2.3).
    let not_excluded = diesel::dsl::not(exists(
        case_exclusions::table
            .filter(case_exclusions::case_id.eq(cases::id))
            .filter(case_exclusions::user_id.eq(user.user_id))
            .filter(case_exclusions::lifted_at.is_null()),
    ));
    Box::new(cases::panel_id.eq_any(staff).or(by_membership).and(not_excluded))
}

/// How much of a visible case the caller may see (SECURITY.md 2.3). Sight that comes only from a
/// meeting is the research list until the caller acknowledges that meeting's confidentiality
/// statement: the reference and the people's names and dates of birth as the field policy
/// allows, on every route alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sight {
    Full,
    ResearchList,
}

/// A visible case's panel, the caller's sight of it and whether the caller is staff
/// (coordinator or chair) there; `NotFound` when it does not exist or is not visible, alike.
pub struct CaseAccess {
    pub case_id: CaseId,
    pub panel_id: PanelId,
    pub is_staff: bool,
    pub sight: Sight,
    /// Processing is restricted (Art. 18): the case is read, never changed, until it is lifted.
    pub restricted: bool,
}

impl CaseAccess {
    /// 422 `case_restricted` for a restricted case: nothing on it changes until the restriction
    /// is lifted.
    pub fn require_unrestricted(&self) -> Result<(), ApiError> {
        if self.restricted { Err(ApiError::unprocessable("case_id", "case_restricted")) } else { Ok(()) }
    }

    /// This access if the caller sees the case in full; 403 confidentiality-not-acknowledged
    /// when it sees only the research list (it can see the case, so the refusal reveals nothing).
    pub fn require_full(self) -> Result<Self, ApiError> {
        match self.sight {
            Sight::Full => Ok(self),
            Sight::ResearchList => Err(ApiError::Forbidden(crate::error::Forbidden::ConfidentialityNotAcknowledged)),
        }
    }

    /// The access a caller has to a case the rule let it see (`case_visible`), in full when
    /// `case_fully_visible` held too.
    pub fn seen(user: &AuthUser, case_id: CaseId, panel_id: PanelId, full: bool, restricted: bool) -> Self {
        Self {
            case_id,
            panel_id,
            is_staff: user.is_staff_on(panel_id),
            sight: if full { Sight::Full } else { Sight::ResearchList },
            restricted,
        }
    }

    /// Panel staff only; the caller can already see the case, so a refusal reveals nothing.
    pub fn require_staff(&self) -> Result<(), ApiError> {
        if self.is_staff { Ok(()) } else { Err(ApiError::Forbidden(crate::error::Forbidden::PanelStaffOnly)) }
    }
}

/// The one lookup behind every `CaseAccess` (with `case::read`, which reads the case whole with
/// the same predicates): the case's panel and the caller's sight, in one statement, with a row
/// lock when `lock` (the caller means to change the case: refused while it is restricted).
fn look_up(conn: &mut PgConnection, user: &AuthUser, id: CaseId, lock: bool) -> Result<CaseAccess, ApiError> {
    let query = cases::table.filter(cases::id.eq(id)).filter(case_visible(user)).select((
        cases::panel_id,
        case_fully_visible(user),
        cases::restricted_at.is_not_null(),
    ));
    let (panel_id, full, restricted): (PanelId, bool, bool) =
        if lock { query.for_update().first(conn)? } else { query.first(conn)? };
    let access = CaseAccess::seen(user, id, panel_id, full, restricted);
    if lock {
        access.require_unrestricted()?;
    }
    Ok(access)
}

/// A case the caller can see, at least as the research list (what agencies research their own
/// records from before a meeting).
pub fn case_sight(conn: &mut PgConnection, user: &AuthUser, id: CaseId) -> Result<CaseAccess, ApiError> {
    look_up(conn, user, id, false)
}

/// A case the caller sees in full; 403 confidentiality-not-acknowledged when it sees only the
/// research list (it can see the case, so the refusal reveals nothing). Locks nothing; use
/// `case_access_for_update` before changing the case.
pub fn case_access(conn: &mut PgConnection, user: &AuthUser, id: CaseId) -> Result<CaseAccess, ApiError> {
    look_up(conn, user, id, false)?.require_full()
}

/// As `case_access`, holding a row lock on the case until the transaction ends, so a status
/// check and the change it guards cannot interleave with another writer.
pub fn case_access_for_update(conn: &mut PgConnection, user: &AuthUser, id: CaseId) -> Result<CaseAccess, ApiError> {
    look_up(conn, user, id, true)?.require_full()
}

/// Which of `ids` the caller sees in full.
pub fn fully_visible_among(conn: &mut PgConnection, user: &AuthUser, ids: &[CaseId]) -> QueryResult<Vec<CaseId>> {
    cases::table.filter(cases::id.eq_any(ids)).filter(case_fully_visible(user)).select(cases::id).load(conn)
}

/// Ids of the cases the user sees in full, as a subquery (actions hang off these only).
pub fn fully_visible_case_ids(user: &AuthUser) -> cases::BoxedQuery<'static, Pg, diesel::sql_types::Uuid> {
    cases::table.filter(case_fully_visible(user)).select(cases::id).into_boxed()
}

/// Ids of the cases the user can see, as a subquery.
pub fn visible_case_ids(user: &AuthUser) -> cases::BoxedQuery<'static, Pg, diesel::sql_types::Uuid> {
    cases::table.filter(case_visible(user)).select(cases::id).into_boxed()
}

/// People linked to at least one case the user can see, as a subquery.
pub fn person_visible_ids(user: &AuthUser) -> case_participants::BoxedQuery<'static, Pg, diesel::sql_types::Uuid> {
    case_participants::table
        .filter(case_participants::case_id.eq_any(visible_case_ids(user)))
        .select(case_participants::person_id)
        .into_boxed()
}

/// People whose names and date of birth the user may read somewhere: on a case they can see, in
/// a role whose identity is untagged, or as a child (tag `children`) on a panel in
/// `children_panels` (where the field policy lets the user read it) or supplied by the user's own
/// organisation. The people search matches among these only, so it finds no one the caller's case
/// views would withhold.
pub fn person_identity_visible_ids(
    user: &AuthUser,
    children_panels: Vec<PanelId>,
) -> case_participants::BoxedQuery<'static, Pg, diesel::sql_types::Uuid> {
    use crate::domain::ParticipantRole;
    use crate::schema::people;
    let own_records = people::table
        .filter(people::identity_supplied_by.eq(user.agency_id).and(people::identity_supplied_by.is_not_null()))
        .select(people::id);
    case_participants::table
        .filter(case_participants::case_id.eq_any(visible_case_ids(user)))
        .filter(
            case_participants::role
                .ne(ParticipantRole::Child)
                .or(case_participants::case_id
                    .eq_any(cases::table.filter(cases::panel_id.eq_any(children_panels)).select(cases::id)))
                .or(case_participants::person_id.eq_any(own_records)),
        )
        .select(case_participants::person_id)
        .into_boxed()
}

/// A case for information-governance work (legal holds, share decisions): for its panel's
/// coordinators and chairs, and the information-governance role on its panel; `NotFound` for
/// anyone else, like a case that does not exist. The case's panel.
pub fn governed_case(conn: &mut PgConnection, user: &AuthUser, id: CaseId) -> Result<PanelId, ApiError> {
    let panel: PanelId = cases::table.find(id).select(cases::panel_id).first(conn)?;
    let roles = user.roles_on(panel);
    if roles.iter().any(|r| matches!(r, Role::Coordinator | Role::Chair | Role::InformationGovernance)) {
        Ok(panel)
    } else {
        Err(ApiError::NotFound)
    }
}

/// Panels on which the user holds a role that works with cases.
pub fn member_panels(user: &AuthUser) -> Vec<PanelId> {
    user.panels_with(&[Role::Coordinator, Role::Chair, Role::AgencyRep, Role::Idva])
}

/// A meeting the caller may see (they hold a case-working role on its panel), and whether they
/// are staff there; `NotFound` otherwise, like a meeting that does not exist.
pub struct MeetingAccess {
    pub meeting: crate::models::meeting::MeetingRow,
    pub is_staff: bool,
}

impl MeetingAccess {
    pub fn require_staff(&self) -> Result<(), ApiError> {
        if self.is_staff { Ok(()) } else { Err(ApiError::Forbidden(crate::error::Forbidden::PanelStaffOnly)) }
    }
}

pub fn meeting_access(
    conn: &mut PgConnection,
    user: &AuthUser,
    id: crate::domain::MeetingId,
    lock: bool,
) -> Result<MeetingAccess, ApiError> {
    use crate::schema::meetings;
    let query = meetings::table
        .filter(meetings::id.eq(id))
        .filter(meetings::panel_id.eq_any(member_panels(user)))
        .select(crate::models::meeting::MeetingRow::as_select());
    let meeting = if lock { query.for_update().first(conn)? } else { query.first(conn)? };
    let is_staff = user.is_staff_on(meeting.panel_id);
    Ok(MeetingAccess { meeting, is_staff })
}

/// The least a break-glass reason must say.
pub const MIN_REASON_CHARS: usize = 20;

/// A purpose that held: as audited, and the break-glass reason when it was one (which must
/// raise an alert, SECURITY.md AU-3).
pub struct CheckedPurpose {
    pub audited: String,
    pub break_glass: Option<String>,
}

/// Checks a stated purpose for reading a case's most sensitive fields against the caller
/// (SECURITY.md AU-3): a meeting of the case's panel where the case is on the agenda and the
/// caller's organisation is listed to attend (any such meeting for panel staff), an action on the
/// case owned by the caller's organisation (any action on it for panel staff), or a break-glass
/// reason of at least 20 characters. 403 purpose-required when it does not hold.
pub fn check_purpose(
    conn: &mut PgConnection,
    user: &AuthUser,
    case: &CaseAccess,
    raw: &str,
) -> Result<CheckedPurpose, ApiError> {
    use crate::schema::meetings;
    let refused = || ApiError::Forbidden(crate::error::Forbidden::PurposeRequired);
    let linked = |audited: String| Ok(CheckedPurpose { audited, break_glass: None });
    // An organisation's own link; staff run the panel and are linked to all of it.
    let own_agency = if case.is_staff { None } else { Some(user.agency_id.ok_or_else(refused)?) };
    if let Some(id) = raw.strip_prefix("meeting:") {
        let id: uuid::Uuid = id.trim().parse().map_err(|_| refused())?;
        let mut query = agenda_items::table
            .inner_join(meetings::table)
            .filter(agenda_items::case_id.eq(case.case_id))
            .filter(meetings::id.eq(id))
            .filter(meetings::panel_id.eq(case.panel_id))
            .select(agenda_items::id)
            .into_boxed();
        if let Some(agency) = own_agency {
            query = query.filter(
                meetings::id.eq_any(
                    attendance::table
                        .filter(attendance::agency_id.eq(agency))
                        .filter(attendance::attendance_type.eq_any(AttendanceType::GIVING_SIGHT))
                        .select(attendance::meeting_id),
                ),
            );
        }
        let listed: bool = diesel::select(exists(query)).get_result(conn)?;
        return if listed { linked(format!("meeting:{id}")) } else { Err(refused()) };
    }
    if let Some(id) = raw.strip_prefix("action:") {
        let id: uuid::Uuid = id.trim().parse().map_err(|_| refused())?;
        let mut query = actions::table
            .filter(actions::id.eq(id))
            .filter(actions::case_id.eq(case.case_id))
            .select(actions::id)
            .into_boxed();
        if let Some(agency) = own_agency {
            query = query.filter(actions::owner_agency_id.eq(agency));
        }
        let owned: bool = diesel::select(exists(query)).get_result(conn)?;
        return if owned { linked(format!("action:{id}")) } else { Err(refused()) };
    }
    if let Some(reason) = raw.strip_prefix("reason:") {
        let reason = reason.trim();
        if reason.chars().count() >= MIN_REASON_CHARS {
            return Ok(CheckedPurpose { audited: format!("reason:{reason}"), break_glass: Some(reason.to_owned()) });
        }
    }
    Err(refused())
}
