//! Who is calling: the signed-in user as the database says it is now, with the roles it holds
//! and the field policy (SECURITY.md §2.4) that applies to it.

use std::collections::HashMap;
use std::sync::Arc;

use crate::domain::{AgencyId, FieldAccessLevel, PanelId, Role, SessionId, Tag, UserId};

/// One role a user holds, for a panel or globally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleGrant {
    pub role: Role,
    pub panel_id: Option<PanelId>,
    /// The first and last day the role is held (London dates, inclusive); `None` is open.
    pub valid_from: Option<chrono::NaiveDate>,
    pub valid_to: Option<chrono::NaiveDate>,
}

impl RoleGrant {
    /// A role held with no end date.
    pub fn standing(role: Role, panel_id: Option<PanelId>) -> Self {
        Self { role, panel_id, valid_from: None, valid_to: None }
    }

    /// Whether the role is held on `day`.
    pub fn in_force_on(&self, day: chrono::NaiveDate) -> bool {
        self.valid_from.is_none_or(|f| f <= day) && self.valid_to.is_none_or(|t| t >= day)
    }
}

/// The signed-in caller, as the database says it is now.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user_id: UserId,
    pub session_id: SessionId,
    pub agency_id: Option<AgencyId>,
    pub roles: Vec<RoleGrant>,
    /// The rows of the field policy that can apply to the caller: those of the panel-staff roles
    /// and of its organisation's type. Read with the session, so a change counts on the next
    /// request; `field_access` picks the ones a panel's roles call for.
    pub policy: Arc<[PolicyGrant]>,
}

/// A caller who is not panel staff named an organisation other than its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotYourAgency;

/// Who a row of the field policy is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicySubject {
    /// A panel-staff role (coordinator, chair) on the panel.
    Role(Role),
    /// The caller's organisation's type, for agency reps and IDVAs on the panel.
    OwnAgencyType,
}

/// One row of the field policy that can apply to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyGrant {
    pub subject: PolicySubject,
    pub tag: Tag,
    pub level: FieldAccessLevel,
}

impl AuthUser {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.iter().any(|r| r.role == role)
    }

    /// The roles the caller holds on `panel`.
    pub fn roles_on(&self, panel: PanelId) -> Vec<Role> {
        roles_on(&self.roles, panel)
    }

    /// Coordinator or chair of `panel`: its staff.
    pub fn is_staff_on(&self, panel: PanelId) -> bool {
        is_staff_on(&self.roles, panel)
    }

    /// The caller's access to each tag on `panel`'s cases: the strongest any of its subjects
    /// there has (its staff roles; its organisation's type if it is an agency rep or IDVA there).
    pub fn field_access(&self, panel: PanelId) -> FieldAccess {
        let here = self.roles_on(panel);
        let acts_for_agency =
            self.agency_id.is_some() && here.iter().any(|r| matches!(r, Role::AgencyRep | Role::Idva));
        let applies = |s: PolicySubject| match s {
            PolicySubject::Role(role) => matches!(role, Role::Coordinator | Role::Chair) && here.contains(&role),
            PolicySubject::OwnAgencyType => acts_for_agency,
        };
        let mut levels: HashMap<Tag, FieldAccessLevel> = HashMap::new();
        for grant in self.policy.iter().filter(|g| applies(g.subject)) {
            let stronger = matches!(
                (levels.get(&grant.tag), grant.level),
                (None, _)
                    | (Some(FieldAccessLevel::Own), FieldAccessLevel::Read | FieldAccessLevel::Write)
                    | (Some(FieldAccessLevel::Read), FieldAccessLevel::Write)
            );
            if stronger {
                levels.insert(grant.tag, grant.level);
            }
        }
        FieldAccess { levels, agency: self.agency_id, granted: Vec::new() }
    }

    /// The organisation the caller acts for when it names `named` (or none): panel staff may act
    /// for any organisation, others only for their own. `Err` when a non-staff caller names
    /// another organisation; `Ok(None)` when it names none and belongs to none.
    pub fn acting_for(&self, named: Option<AgencyId>, is_staff: bool) -> Result<Option<AgencyId>, NotYourAgency> {
        match (named, is_staff) {
            (Some(a), true) => Ok(Some(a)),
            (Some(a), false) if Some(a) == self.agency_id => Ok(Some(a)),
            (Some(_), false) => Err(NotYourAgency),
            (None, _) => Ok(self.agency_id),
        }
    }

    /// The panels on which the caller holds any of `roles`.
    pub fn panels_with(&self, roles: &[Role]) -> Vec<PanelId> {
        self.roles.iter().filter(|r| roles.contains(&r.role)).filter_map(|r| r.panel_id).collect()
    }
}

/// The roles among `grants` held on `panel`: the one answer to "what am I on this panel".
pub fn roles_on(grants: &[RoleGrant], panel: PanelId) -> Vec<Role> {
    grants.iter().filter(|r| r.panel_id == Some(panel)).map(|r| r.role).collect()
}

/// Whether `grants` make their holder staff (coordinator or chair) of `panel`.
pub fn is_staff_on(grants: &[RoleGrant], panel: PanelId) -> bool {
    roles_on(grants, panel).iter().any(|r| matches!(r, Role::Coordinator | Role::Chair))
}

/// What one caller may do with each tag on one panel's cases.
#[derive(Debug, Clone, Default)]
pub struct FieldAccess {
    levels: HashMap<Tag, FieldAccessLevel>,
    /// The caller's organisation: `own` tags and provenance are judged against it.
    pub agency: Option<AgencyId>,
    /// Tags a coordinator granted the caller's organisation on the one case being read.
    granted: Vec<Tag>,
}

impl FieldAccess {
    pub fn can_read(&self, tag: Tag) -> bool {
        matches!(self.levels.get(&tag), Some(FieldAccessLevel::Read | FieldAccessLevel::Write))
            || self.granted.contains(&tag)
    }

    /// This access on one case, with the per-case grants standing there: `grants` pairs each
    /// granted tag with the organisation it was granted to; the caller's organisation's read.
    pub fn on_case(mut self, grants: &[(AgencyId, Tag)]) -> Self {
        if let Some(agency) = self.agency {
            self.granted.extend(grants.iter().filter(|(to, _)| *to == agency).map(|(_, tag)| *tag));
        }
        self
    }

    /// `write`, or `own`: the caller's organisation writes values it then supplies (and reads
    /// back by provenance), without reading other organisations'.
    pub fn can_write(&self, tag: Tag) -> bool {
        matches!(self.levels.get(&tag), Some(FieldAccessLevel::Write | FieldAccessLevel::Own))
    }

    /// Read, or the caller's organisation supplied the value (SECURITY.md §2.4, provenance).
    pub fn can_read_supplied_by(&self, tag: Tag, supplier: Option<AgencyId>) -> bool {
        self.can_read(tag) || (supplier.is_some() && supplier == self.agency)
    }
}
