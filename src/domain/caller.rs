//! Who is calling: the signed-in user as the database says it is now, with the roles it holds.

use crate::domain::{AgencyId, PanelId, Role, SessionId, UserId};

/// One role a user holds, for a panel or globally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleGrant {
    pub role: Role,
    pub panel_id: Option<PanelId>,
}

/// The signed-in caller, as the database says it is now.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user_id: UserId,
    pub session_id: SessionId,
    pub agency_id: Option<AgencyId>,
    pub roles: Vec<RoleGrant>,
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
