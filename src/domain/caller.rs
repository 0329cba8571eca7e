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
}
