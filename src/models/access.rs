//! THE object-level rule (SECURITY.md AC-2): which cases a user may see, as one SQL predicate
//! used by every case query, list or single, so counts and cursors cannot leak hidden rows.
//!
//! Coordinators and chairs see every case of their panel. Agency reps and IDVAs see a case of a
//! panel on which they hold the role when their organisation is an active member of that panel
//! with a signed information sharing agreement **and** it referred the case, or is listed to
//! attend (present or sending information) a meeting where the case is on the agenda, or owns an
//! action on it. System admins, managers and auditors hold no case role and see no case content.

use diesel::dsl::exists;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::Bool;

use crate::auth::AuthUser;
use crate::domain::AttendanceType;
use crate::domain::{CaseId, PanelId, Role};
use crate::error::ApiError;
use crate::schema::{actions, agenda_items, attendance, case_participants, cases, panel_members};

/// Attendance types that give an organisation sight of the cases on the meeting's agenda.
pub const ATTENDANCE_GIVING_SIGHT: [AttendanceType; 2] = [AttendanceType::Present, AttendanceType::InformationSent];

type CasePredicate = Box<dyn BoxableExpression<cases::table, Pg, SqlType = Bool>>;

/// Panels on which the user is coordinator or chair.
pub fn staff_panels(user: &AuthUser) -> Vec<PanelId> {
    panels_with(user, &[Role::Coordinator, Role::Chair])
}

fn panels_with(user: &AuthUser, roles: &[Role]) -> Vec<PanelId> {
    user.roles.iter().filter(|r| roles.contains(&r.role)).filter_map(|r| r.panel_id).collect()
}

/// True for the cases `user` may see.
pub fn case_visible(user: &AuthUser) -> CasePredicate {
    let staff = staff_panels(user);
    let rep = panels_with(user, &[Role::AgencyRep, Role::Idva]);
    let by_membership: CasePredicate = match user.agency_id {
        Some(agency) if !rep.is_empty() => Box::new(
            cases::panel_id
                .eq_any(rep)
                .and(exists(
                    panel_members::table
                        .filter(panel_members::panel_id.eq(cases::panel_id))
                        .filter(panel_members::agency_id.eq(agency))
                        .filter(panel_members::active.eq(true))
                        .filter(panel_members::isa_signed_on.is_not_null()),
                ))
                .and(
                    cases::referring_agency_id
                        .eq(agency)
                        .or(exists(
                            actions::table
                                .filter(actions::case_id.eq(cases::id))
                                .filter(actions::owner_agency_id.eq(agency)),
                        ))
                        .or(exists(
                            agenda_items::table.filter(agenda_items::case_id.eq(cases::id)).filter(
                                agenda_items::meeting_id.eq_any(
                                    attendance::table
                                        .filter(attendance::agency_id.eq(agency))
                                        .filter(attendance::attendance_type.eq_any(ATTENDANCE_GIVING_SIGHT))
                                        .select(attendance::meeting_id),
                                ),
                            ),
                        )),
                ),
        ),
        _ => Box::new(diesel::dsl::sql::<Bool>("false")),
    };
    Box::new(cases::panel_id.eq_any(staff).or(by_membership))
}

/// A visible case's panel and whether the caller is staff (coordinator or chair) there;
/// `NotFound` when it does not exist or is not visible, alike.
pub struct CaseAccess {
    pub case_id: CaseId,
    pub panel_id: PanelId,
    pub is_staff: bool,
}

impl CaseAccess {
    /// Panel staff only; the caller can already see the case, so a refusal reveals nothing.
    pub fn require_staff(&self) -> Result<(), ApiError> {
        if self.is_staff { Ok(()) } else { Err(ApiError::Forbidden(crate::error::Forbidden::PanelStaffOnly)) }
    }
}

/// Locks nothing; use `case_access_for_update` before changing the case.
pub fn case_access(conn: &mut PgConnection, user: &AuthUser, id: CaseId) -> Result<CaseAccess, ApiError> {
    let panel_id: PanelId =
        cases::table.filter(cases::id.eq(id)).filter(case_visible(user)).select(cases::panel_id).first(conn)?;
    Ok(CaseAccess { case_id: id, panel_id, is_staff: staff_panels(user).contains(&panel_id) })
}

/// As `case_access`, holding a row lock on the case until the transaction ends, so a status
/// check and the change it guards cannot interleave with another writer.
pub fn case_access_for_update(conn: &mut PgConnection, user: &AuthUser, id: CaseId) -> Result<CaseAccess, ApiError> {
    let panel_id: PanelId = cases::table
        .filter(cases::id.eq(id))
        .filter(case_visible(user))
        .select(cases::panel_id)
        .for_update()
        .first(conn)?;
    Ok(CaseAccess { case_id: id, panel_id, is_staff: staff_panels(user).contains(&panel_id) })
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

/// Panels on which the user holds a role that works with cases.
pub fn member_panels(user: &AuthUser) -> Vec<PanelId> {
    panels_with(user, &[Role::Coordinator, Role::Chair, Role::AgencyRep, Role::Idva])
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
    let is_staff = staff_panels(user).contains(&meeting.panel_id);
    Ok(MeetingAccess { meeting, is_staff })
}

/// The least a break-glass reason must say.
pub const MIN_REASON_CHARS: usize = 20;

/// Checks a stated purpose for reading a case's most sensitive fields: a meeting of the case's
/// panel where it is on the agenda, an action on the case, or a break-glass reason of at least
/// 20 characters (which raises an alert). Returns the purpose as audited; 403 purpose-required
/// when it does not hold.
pub fn check_purpose(conn: &mut PgConnection, user: &AuthUser, case: CaseId, raw: &str) -> Result<String, ApiError> {
    use crate::schema::meetings;
    let refused = || ApiError::Forbidden(crate::error::Forbidden::PurposeRequired);
    if let Some(id) = raw.strip_prefix("meeting:") {
        let id: uuid::Uuid = id.trim().parse().map_err(|_| refused())?;
        let listed: bool = diesel::select(exists(
            agenda_items::table
                .inner_join(meetings::table)
                .filter(agenda_items::case_id.eq(case))
                .filter(meetings::id.eq(id))
                .filter(meetings::panel_id.eq_any(member_panels(user))),
        ))
        .get_result(conn)?;
        return if listed { Ok(format!("meeting:{id}")) } else { Err(refused()) };
    }
    if let Some(id) = raw.strip_prefix("action:") {
        let id: uuid::Uuid = id.trim().parse().map_err(|_| refused())?;
        let on_case: bool =
            diesel::select(exists(actions::table.filter(actions::id.eq(id)).filter(actions::case_id.eq(case))))
                .get_result(conn)?;
        return if on_case { Ok(format!("action:{id}")) } else { Err(refused()) };
    }
    if let Some(reason) = raw.strip_prefix("reason:") {
        let reason = reason.trim();
        if reason.chars().count() >= MIN_REASON_CHARS {
            tracing::warn!(user.id = %user.user_id, case.id = %case, "break-glass read of protected fields");
            return Ok(format!("reason:{reason}"));
        }
    }
    Err(refused())
}
