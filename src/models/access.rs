//! THE object-level rule (SECURITY.md AC-2): which cases a user may see, as one SQL predicate
//! used by every case query, list or single, so counts and cursors cannot leak hidden rows.
//!
//! Today (the cases issue): coordinators and chairs see every case of their panel; agency reps
//! and IDVAs see the cases of panels on which they hold the role, provided their organisation is
//! an active member of that panel with a signed information sharing agreement. System admins,
//! managers and auditors see no case content. The access-control issue narrows agency sight to
//! need-to-know (referrer, attendee, action owner) here, in this one place.

use diesel::dsl::exists;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::Bool;

use crate::auth::AuthUser;
use crate::domain::{CaseId, PanelId, Role};
use crate::error::ApiError;
use crate::schema::{case_participants, cases, panel_members};

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
            cases::panel_id.eq_any(rep).and(exists(
                panel_members::table
                    .filter(panel_members::panel_id.eq(cases::panel_id))
                    .filter(panel_members::agency_id.eq(agency))
                    .filter(panel_members::active.eq(true))
                    .filter(panel_members::isa_signed_on.is_not_null()),
            )),
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
