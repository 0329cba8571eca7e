//! User accounts, managed by system admins.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::Db;
use crate::domain::{
    AgencyId, AuthUser, Email, NewPassword, PanelId, Problems, Role, RoleDto, RoleGrant, ShortText, UserId,
    default_true, double_option,
};
use crate::error::ApiError;
use crate::extract::{IfMatch, Json, Query};
use crate::models::user::{self, NewUser, UserChanges, UserFilter, UserRow};
use crate::pagination::{Cursor, Page, PageRequest};
use crate::passwords as password;
use crate::routes::{created, ok_versioned};
use crate::state::AppState;

#[derive(Serialize)]
pub struct UserResponse {
    id: UserId,
    email: String,
    display_name: String,
    agency_id: Option<AgencyId>,
    roles: Vec<RoleDto>,
    active: bool,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl UserResponse {
    fn render(row: UserRow, roles: &[RoleGrant]) -> Self {
        Self {
            id: row.id,
            email: row.email,
            display_name: row.display_name,
            agency_id: row.agency_id,
            roles: roles.iter().map(RoleDto::render).collect(),
            active: row.active,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListUsersQuery {
    agency_id: Option<Uuid>,
    panel_id: Option<Uuid>,
    role: Option<Role>,
    active: Option<bool>,
    /// Only users holding a role whose last day falls within this many days from today.
    roles_expiring_within_days: Option<u16>,
    limit: Option<i64>,
    cursor: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    email: String,
    display_name: String,
    #[serde(default)]
    agency_id: Option<Uuid>,
    password: String,
    #[serde(default)]
    roles: Vec<RoleDto>,
    #[serde(default = "default_true")]
    active: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    display_name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    agency_id: Option<Option<Uuid>>,
    roles: Option<Vec<RoleDto>>,
    active: Option<bool>,
    password: Option<String>,
}

#[derive(Deserialize)]
pub struct UserPath {
    user_id: Uuid,
}

struct ParsedUser {
    email: Email,
    display_name: ShortText,
    agency_id: Option<AgencyId>,
    password: NewPassword,
    roles: Vec<RoleGrant>,
    active: bool,
}

impl CreateUserRequest {
    fn parse(self) -> Result<ParsedUser, ApiError> {
        let mut p = Problems::default();
        let email = p.check(Email::parse("email", &self.email));
        let display_name = p.check(ShortText::parse("display_name", &self.display_name));
        let password = p.check(NewPassword::parse("password", self.password));
        let roles = RoleDto::parse_all("roles", self.roles, &mut p);
        p.finish(|| {
            Some(ParsedUser {
                email: email?,
                display_name: display_name?,
                agency_id: self.agency_id.map(AgencyId),
                password: password?,
                roles: roles?,
                active: self.active,
            })
        })
    }
}

struct ParsedChanges {
    changes: UserChanges,
    password: Option<NewPassword>,
}

impl UpdateUserRequest {
    fn parse(self) -> Result<ParsedChanges, ApiError> {
        let mut p = Problems::default();
        let display_name = self.display_name.map(|n| p.check(ShortText::parse("display_name", &n)));
        let password = self.password.map(|pw| p.check(NewPassword::parse("password", pw)));
        let roles = self.roles.map(|r| RoleDto::parse_all("roles", r, &mut p));
        p.finish(|| {
            Some(ParsedChanges {
                changes: UserChanges {
                    display_name: display_name.flatten(),
                    agency_id: self.agency_id.map(|a| a.map(AgencyId)),
                    roles: roles.flatten(),
                    active: self.active,
                    password_hash: None,
                },
                password: password.flatten(),
            })
        })
    }
}

/// Hashes in one of the bounded hash slots: argon2 takes tens of milliseconds of CPU and 19 MiB.
async fn hash_password(state: &AppState, password: NewPassword) -> Result<String, ApiError> {
    state.hash_slots.run(move |_| password::hash(password.secret())).await?.map_err(ApiError::Internal)
}

/// GET /api/v1/users
pub async fn list_users(db: Db, _user: AuthUser, query: Query<ListUsersQuery>) -> Result<HttpResponse, ApiError> {
    let q = query.0;
    let page = PageRequest::from_query(q.limit, q.cursor.as_deref())?;
    if q.roles_expiring_within_days.is_some_and(|d| d > 366) {
        return Err(ApiError::bad_field("roles_expiring_within_days", "out_of_range"));
    }
    let mut filter = UserFilter {
        agency_id: q.agency_id.map(AgencyId),
        panel_id: q.panel_id.map(PanelId),
        role: q.role,
        active: q.active,
        roles_ending: None,
    };
    let (rows, roles) = db
        .run(move |conn| {
            if let Some(days) = q.roles_expiring_within_days {
                let today = crate::models::action::london_today(conn)?;
                filter.roles_ending = Some((today, today + chrono::Duration::days(i64::from(days))));
            }
            let rows = user::list(conn, &filter, &page)?;
            let ids: Vec<UserId> = rows.iter().map(|r| r.id).collect();
            Ok((rows, user::roles_of_many(conn, &ids)?))
        })
        .await?;
    let page = Page::from_rows(
        rows,
        &page,
        |r| Cursor { created_at: r.created_at, id: r.id.0 },
        |row| {
            let held: Vec<RoleGrant> = roles.iter().filter(|(u, _)| *u == row.id).map(|(_, g)| *g).collect();
            UserResponse::render(row, &held)
        },
    );
    Ok(HttpResponse::Ok().json(page))
}

/// POST /api/v1/users
pub async fn create_user(
    state: web::Data<AppState>,
    db: Db,
    _user: AuthUser,
    body: Json<CreateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let parsed = body.into_inner().parse()?;
    let password_hash = hash_password(&state, parsed.password).await?;
    let new = NewUser {
        email: parsed.email,
        display_name: parsed.display_name,
        agency_id: parsed.agency_id,
        password_hash,
        roles: parsed.roles,
        active: parsed.active,
    };
    let row = db
        .run(move |conn| {
            let row = user::create(conn, &new)?;
            Ok((row, new.roles))
        })
        .await?;
    let (row, roles) = row;
    tracing::info!(user.id = %row.id, "user created");
    Ok(created(format!("/api/v1/users/{}", row.id), row.version, &UserResponse::render(row, &roles)))
}

/// GET /api/v1/users/{user_id}
pub async fn get_user(db: Db, _user: AuthUser, path: web::Path<UserPath>) -> Result<HttpResponse, ApiError> {
    let id = UserId(path.user_id);
    let (row, roles) = db
        .run(move |conn| {
            let row = user::get(conn, id)?;
            Ok((row, crate::models::session::roles_of(conn, id)?))
        })
        .await?;
    Ok(ok_versioned(row.version, &UserResponse::render(row, &roles)))
}

/// PATCH /api/v1/users/{user_id}: a change of status, roles, agency or password takes effect
/// on the user's next request, whatever tokens they hold.
pub async fn update_user(
    state: web::Data<AppState>,
    db: Db,
    _user: AuthUser,
    path: web::Path<UserPath>,
    if_match: IfMatch,
    body: Json<UpdateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let ParsedChanges { mut changes, password } = body.into_inner().parse()?;
    if let Some(password) = password {
        changes.password_hash = Some(hash_password(&state, password).await?);
    }
    let (id, expected) = (UserId(path.user_id), if_match.version()?);
    let (row, roles) = db
        .run(move |conn| {
            let row = user::update(conn, id, expected, changes)?;
            Ok((row, crate::models::session::roles_of(conn, id)?))
        })
        .await?;
    tracing::info!(user.id = %row.id, "user updated");
    Ok(ok_versioned(row.version, &UserResponse::render(row, &roles)))
}
