//! User accounts and their roles.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;

use crate::domain::{AgencyId, Email, PanelId, Role, RoleGrant, ShortText, UserId};
use crate::error::{ApiError, FieldProblem};
use crate::models::after_cursor;
use crate::models::session;
use crate::pagination::PageRequest;
use crate::schema::{agencies, panels, user_roles, users};

/// A user without the password hash, which never leaves this module's callers in a response.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    pub agency_id: Option<AgencyId>,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub struct NewUser {
    pub email: Email,
    pub display_name: ShortText,
    pub agency_id: Option<AgencyId>,
    pub password_hash: String,
    pub roles: Vec<RoleGrant>,
    pub active: bool,
}

/// A whole-record change; `None` fields keep their value.
#[derive(Default)]
pub struct UserChanges {
    pub display_name: Option<ShortText>,
    pub agency_id: Option<Option<AgencyId>>,
    pub roles: Option<Vec<RoleGrant>>,
    pub active: Option<bool>,
    pub password_hash: Option<String>,
}

#[derive(Debug, Default)]
pub struct UserFilter {
    pub agency_id: Option<AgencyId>,
    pub panel_id: Option<PanelId>,
    pub role: Option<Role>,
    pub active: Option<bool>,
    /// Only users holding a role whose last day falls between these dates.
    pub roles_ending: Option<(NaiveDate, NaiveDate)>,
}

pub fn get(conn: &mut PgConnection, id: UserId) -> QueryResult<UserRow> {
    users::table.find(id).select(UserRow::as_select()).first(conn)
}

pub fn list(conn: &mut PgConnection, filter: &UserFilter, page: &PageRequest) -> QueryResult<Vec<UserRow>> {
    let mut query = users::table.select(UserRow::as_select()).into_boxed();
    if let Some(agency) = filter.agency_id {
        query = query.filter(users::agency_id.eq(agency));
    }
    if filter.panel_id.is_some() || filter.role.is_some() || filter.roles_ending.is_some() {
        let mut holders = user_roles::table.select(user_roles::user_id).into_boxed();
        if let Some((from, to)) = filter.roles_ending {
            holders = holders.filter(user_roles::valid_to.between(from, to));
        }
        if let Some(panel) = filter.panel_id {
            holders = holders.filter(user_roles::panel_id.eq(panel));
        }
        if let Some(role) = filter.role {
            holders = holders.filter(user_roles::role.eq(role));
        }
        query = query.filter(users::id.eq_any(holders));
    }
    if let Some(active) = filter.active {
        query = query.filter(users::active.eq(active));
    }
    after_cursor!(query, users, page.after).order((users::created_at, users::id)).limit(page.fetch_limit()).load(conn)
}

/// Roles of several users at once, for a page of users.
pub fn roles_of_many(conn: &mut PgConnection, ids: &[UserId]) -> QueryResult<Vec<(UserId, RoleGrant)>> {
    Ok(session::role_rows(conn, ids)?.iter().map(|r| (r.user_id, r.grant())).collect())
}

pub fn count_users(conn: &mut PgConnection) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}

pub fn create(conn: &mut PgConnection, new: &NewUser) -> Result<UserRow, ApiError> {
    conn.transaction(|conn| {
        check_references(conn, new.agency_id, &new.roles)?;
        let row: UserRow = diesel::insert_into(users::table)
            .values((
                users::email.eq(new.email.as_str()),
                users::display_name.eq(new.display_name.as_str()),
                users::agency_id.eq(new.agency_id),
                users::password_hash.eq(&new.password_hash),
                users::active.eq(new.active),
            ))
            .returning(UserRow::as_returning())
            .get_result(conn)
            .map_err(|e| match crate::error::unique_violation(&e) {
                Some("users_email_key") => ApiError::conflict("email", "email_in_use"),
                _ => e.into(),
            })?;
        replace_roles(conn, row.id, &new.roles)?;
        Ok(row)
    })
}

/// Applies `changes` if the stored version is `expected`. A change of status, roles, agency or
/// password cuts off the user's existing access tokens (SECURITY.md AN-5).
pub fn update(conn: &mut PgConnection, id: UserId, expected: i32, changes: UserChanges) -> Result<UserRow, ApiError> {
    conn.transaction(|conn| {
        let current = get(conn, id)?;
        if current.version != expected {
            return Err(ApiError::Stale(Some(current.version)));
        }
        let agency_id = changes.agency_id.unwrap_or(current.agency_id);
        let held = session::roles_of(conn, id)?;
        let roles = changes.roles.unwrap_or_else(|| held.clone());
        check_references(conn, agency_id, &roles)?;
        let revokes = changes.active == Some(false)
            || changes.agency_id.is_some_and(|a| a != current.agency_id)
            || changes.password_hash.is_some()
            || roles.len() != held.len()
            || roles.iter().any(|r| !held.contains(r));
        let row: UserRow = diesel::update(users::table.find(id).filter(users::version.eq(expected)))
            .set((
                users::display_name
                    .eq(changes.display_name.as_ref().map_or(current.display_name.as_str(), |n| n.as_str())),
                users::agency_id.eq(agency_id),
                users::active.eq(changes.active.unwrap_or(current.active)),
                users::version.eq(users::version + 1),
                users::updated_at.eq(Utc::now()),
            ))
            .returning(UserRow::as_returning())
            .get_result(conn)?;
        if let Some(hash) = &changes.password_hash {
            session::replace_password_hash(conn, id, hash)?;
        }
        replace_roles(conn, id, &roles)?;
        if revokes {
            session::move_token_cutoff(conn, id)?;
        }
        if count_active_admins(conn)? == 0 {
            return Err(ApiError::unprocessable("roles", "last_active_system_admin"));
        }
        Ok(row)
    })
}

fn count_active_admins(conn: &mut PgConnection) -> QueryResult<i64> {
    users::table
        .inner_join(user_roles::table)
        .filter(users::active.eq(true))
        .filter(user_roles::role.eq(Role::SystemAdmin))
        .count()
        .get_result(conn)
}

fn replace_roles(conn: &mut PgConnection, id: UserId, roles: &[RoleGrant]) -> QueryResult<()> {
    diesel::delete(user_roles::table.filter(user_roles::user_id.eq(id))).execute(conn)?;
    let rows: Vec<_> = roles
        .iter()
        .map(|r| {
            (
                user_roles::user_id.eq(id),
                user_roles::role.eq(r.role),
                user_roles::panel_id.eq(r.panel_id),
                user_roles::valid_from.eq(r.valid_from),
                user_roles::valid_to.eq(r.valid_to),
            )
        })
        .collect();
    diesel::insert_into(user_roles::table).values(rows).execute(conn).map(drop)
}

/// The agency and panels a user record names must exist: a 422 naming the field otherwise.
fn check_references(conn: &mut PgConnection, agency: Option<AgencyId>, roles: &[RoleGrant]) -> Result<(), ApiError> {
    let mut problems = Vec::new();
    if let Some(agency) = agency {
        let exists: bool = diesel::select(diesel::dsl::exists(agencies::table.find(agency))).get_result(conn)?;
        if !exists {
            problems.push(FieldProblem::new("agency_id", "unknown_agency"));
        }
    }
    let panel_ids: Vec<PanelId> = roles.iter().filter_map(|r| r.panel_id).collect();
    let known: Vec<PanelId> = panels::table.filter(panels::id.eq_any(&panel_ids)).select(panels::id).load(conn)?;
    for (i, role) in roles.iter().enumerate() {
        if role.panel_id.is_some_and(|p| !known.contains(&p)) {
            problems.push(FieldProblem::new(format!("roles[{i}].panel_id"), "unknown_panel"));
        }
        if role.role.needs_agency() && agency.is_none() {
            problems.push(FieldProblem::new(format!("roles[{i}].role"), "requires_agency"));
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(ApiError::Unprocessable(problems)) }
}

/// The active users who hold a role on `panel` (any organisation's staff, reps, IDVAs), with
/// their roles there, by name: whom panel staff pick an action owner or a chair from.
pub fn on_panel(conn: &mut PgConnection, panel: PanelId) -> QueryResult<Vec<(UserRow, Vec<Role>)>> {
    let rows: Vec<(UserRow, Role)> = users::table
        .inner_join(user_roles::table)
        .filter(user_roles::panel_id.eq(panel))
        .filter(users::active.eq(true))
        .order((users::display_name, users::id, user_roles::role))
        .select((UserRow::as_select(), user_roles::role))
        .load(conn)?;
    let mut out: Vec<(UserRow, Vec<Role>)> = Vec::new();
    for (user, role) in rows {
        match out.last_mut() {
            Some((last, roles)) if last.id == user.id => roles.push(role),
            _ => out.push((user, vec![role])),
        }
    }
    Ok(out)
}
