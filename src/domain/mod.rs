//! Domain types: typed ids, controlled vocabularies (the codes of DOMAIN.md §7) and checked text.
//! Request DTOs hold primitives; their `parse()` turns them into these types, so code past the
//! handler never sees an unchecked value.

mod caller;
pub mod dash;
mod date;
mod enums;
mod ids;
mod text;

pub use caller::*;
pub use date::*;
pub use enums::*;
pub use ids::*;
pub use text::*;

use crate::error::{ApiError, FieldProblem};

/// Collects field problems while a request is parsed, so the client hears about all of them at once.
#[derive(Debug, Default)]
pub struct Problems(Vec<FieldProblem>);

impl Problems {
    pub fn check<T>(&mut self, result: Result<T, FieldProblem>) -> Option<T> {
        result.map_err(|p| self.0.push(p)).ok()
    }

    pub fn push(&mut self, field: impl Into<String>, code: impl Into<String>) {
        self.0.push(FieldProblem::new(field, code));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_problems(self) -> Vec<FieldProblem> {
        self.0
    }

    /// `400` with every problem found, or the value `build` assembles from the parsed parts.
    pub fn finish<T>(self, build: impl FnOnce() -> Option<T>) -> Result<T, ApiError> {
        if !self.0.is_empty() {
            return Err(ApiError::BadRequest(self.0));
        }
        build().ok_or_else(|| ApiError::Internal(anyhow::anyhow!("a parsed field went missing without a problem")))
    }
}

/// For PATCH fields that may be cleared: absent → `None` (keep), `null` → `Some(None)` (clear),
/// a value → `Some(Some(v))`. Use with `#[serde(default, deserialize_with = "double_option")]`.
pub fn double_option<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(deserializer).map(Some)
}

/// A role in a request or response: `{ "role": "coordinator", "panel_id": "…" }`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleDto {
    pub role: Role,
    #[serde(default)]
    pub panel_id: Option<uuid::Uuid>,
    /// The first and last day the role is held (inclusive); absent or null for no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<IsoDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<IsoDate>,
}

impl RoleDto {
    pub const MAX_PER_USER: usize = 50;

    /// Checks each role's scope (a panel for panel roles, none for system_admin) and drops repeats.
    pub fn parse_all(field: &str, raw: Vec<RoleDto>, problems: &mut Problems) -> Option<Vec<RoleGrant>> {
        if raw.len() > Self::MAX_PER_USER {
            problems.push(field, "too_many_items");
            return None;
        }
        let before = problems.0.len();
        let mut out: Vec<RoleGrant> = Vec::new();
        for (i, dto) in raw.into_iter().enumerate() {
            let panel_id = dto.panel_id.map(PanelId);
            match (dto.role.scope(), panel_id) {
                (RoleScope::Panel, None) => problems.push(format!("{field}[{i}].panel_id"), "required_for_role"),
                (RoleScope::Global, Some(_)) => problems.push(format!("{field}[{i}].panel_id"), "not_allowed_for_role"),
                _ if dto.valid_to.is_some_and(|to| dto.valid_from.is_some_and(|from| to < from)) => {
                    problems.push(format!("{field}[{i}].valid_to"), "before_valid_from")
                }
                _ => {
                    let grant = RoleGrant {
                        role: dto.role,
                        panel_id,
                        valid_from: dto.valid_from.map(IsoDate::get),
                        valid_to: dto.valid_to.map(IsoDate::get),
                    };
                    if !out.iter().any(|g| g.role == grant.role && g.panel_id == grant.panel_id) {
                        out.push(grant);
                    }
                }
            }
        }
        (problems.0.len() == before).then_some(out)
    }

    pub fn render(grant: &RoleGrant) -> Self {
        Self {
            role: grant.role,
            panel_id: grant.panel_id.map(|p| p.0),
            valid_from: grant.valid_from.map(IsoDate::from_stored),
            valid_to: grant.valid_to.map(IsoDate::from_stored),
        }
    }
}

/// `#[serde(default = "default_true")]` for flags such as `active` that default to on.
pub fn default_true() -> bool {
    true
}
