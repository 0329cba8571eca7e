//! Organisations: read by every signed-in user, managed by system admins.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::Db;
use crate::domain::{AgencyId, AgencyType, AuthUser, Problems, ShortText, default_true};
use crate::error::ApiError;
use crate::extract::{IfMatch, Json, Query};
use crate::models::agency::{self, AgencyFields, AgencyFilter, AgencyRow};
use crate::pagination::{Cursor, Page, PageRequest};
use crate::routes::{created, ok_versioned};

const MAX_ALIASES: usize = 20;

#[derive(Serialize)]
pub struct AgencyResponse {
    id: AgencyId,
    name: String,
    agency_type: AgencyType,
    aliases: Vec<String>,
    active: bool,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<AgencyRow> for AgencyResponse {
    fn from(r: AgencyRow) -> Self {
        Self {
            id: r.id,
            name: r.name,
            agency_type: r.agency_type,
            aliases: r.aliases,
            active: r.active,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListAgenciesQuery {
    name: Option<String>,
    agency_type: Option<AgencyType>,
    active: Option<bool>,
    limit: Option<i64>,
    cursor: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateAgencyRequest {
    name: String,
    agency_type: AgencyType,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default = "default_true")]
    active: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateAgencyRequest {
    name: Option<String>,
    agency_type: Option<AgencyType>,
    aliases: Option<Vec<String>>,
    active: Option<bool>,
}

#[derive(Deserialize)]
pub struct AgencyPath {
    agency_id: Uuid,
}

fn parse_aliases(raw: &[String], problems: &mut Problems) -> Option<Vec<ShortText>> {
    if raw.len() > MAX_ALIASES {
        problems.push("aliases", "too_many_items");
        return None;
    }
    let parsed: Vec<Option<ShortText>> =
        raw.iter().enumerate().map(|(i, a)| problems.check(ShortText::parse(format!("aliases[{i}]"), a))).collect();
    parsed.into_iter().collect()
}

impl CreateAgencyRequest {
    fn parse(self) -> Result<AgencyFields, ApiError> {
        let mut p = Problems::default();
        let name = p.check(ShortText::parse("name", &self.name));
        let aliases = parse_aliases(&self.aliases, &mut p);
        p.finish(|| {
            Some(AgencyFields { name: name?, agency_type: self.agency_type, aliases: aliases?, active: self.active })
        })
    }
}

/// A checked partial change, applied to the stored record.
struct AgencyChanges {
    name: Option<ShortText>,
    agency_type: Option<AgencyType>,
    aliases: Option<Vec<ShortText>>,
    active: Option<bool>,
}

impl UpdateAgencyRequest {
    fn parse(self) -> Result<AgencyChanges, ApiError> {
        let mut p = Problems::default();
        let name = self.name.map(|n| p.check(ShortText::parse("name", &n)));
        let aliases = self.aliases.map(|a| parse_aliases(&a, &mut p));
        p.finish(|| {
            Some(AgencyChanges {
                name: name.flatten(),
                agency_type: self.agency_type,
                aliases: aliases.flatten(),
                active: self.active,
            })
        })
    }
}

impl AgencyChanges {
    fn apply(self, current: &AgencyRow) -> Result<AgencyFields, ApiError> {
        let existing_aliases: Result<Vec<ShortText>, _> =
            current.aliases.iter().map(|a| ShortText::parse("aliases", a)).collect();
        Ok(AgencyFields {
            name: match self.name {
                Some(n) => n,
                None => ShortText::parse("name", &current.name).map_err(|p| ApiError::BadRequest(vec![p]))?,
            },
            agency_type: self.agency_type.unwrap_or(current.agency_type),
            aliases: match self.aliases {
                Some(a) => a,
                None => existing_aliases.map_err(|p| ApiError::BadRequest(vec![p]))?,
            },
            active: self.active.unwrap_or(current.active),
        })
    }
}

/// GET /api/v1/agencies
pub async fn list_agencies(db: Db, _user: AuthUser, query: Query<ListAgenciesQuery>) -> Result<HttpResponse, ApiError> {
    let q = query.0;
    let mut p = Problems::default();
    let page = PageRequest::parse(q.limit, q.cursor.as_deref(), &mut p);
    if q.name.as_ref().is_some_and(|n| n.chars().count() > ShortText::MAX) {
        p.push("name", "too_long");
    }
    let page = p.finish(|| page)?;
    let filter = AgencyFilter { name: q.name, agency_type: q.agency_type, active: q.active };
    let rows = db.run(move |conn| Ok(agency::list(conn, &filter, &page)?)).await?;
    let page = Page::from_rows(rows, &page, |r| Cursor { created_at: r.created_at, id: r.id.0 }, AgencyResponse::from);
    Ok(HttpResponse::Ok().json(page))
}

/// POST /api/v1/agencies
pub async fn create_agency(db: Db, _user: AuthUser, body: Json<CreateAgencyRequest>) -> Result<HttpResponse, ApiError> {
    let fields = body.into_inner().parse()?;
    let row = db.run(move |conn| agency::create(conn, &fields)).await?;
    tracing::info!(agency.id = %row.id, "agency created");
    Ok(created(format!("/api/v1/agencies/{}", row.id), row.version, &AgencyResponse::from(row)))
}

/// GET /api/v1/agencies/{agency_id}
pub async fn get_agency(db: Db, _user: AuthUser, path: web::Path<AgencyPath>) -> Result<HttpResponse, ApiError> {
    let id = AgencyId(path.agency_id);
    let row = db.run(move |conn| Ok(agency::get(conn, id)?)).await?;
    Ok(ok_versioned(row.version, &AgencyResponse::from(row)))
}

/// PATCH /api/v1/agencies/{agency_id}
pub async fn update_agency(
    db: Db,
    _user: AuthUser,
    path: web::Path<AgencyPath>,
    if_match: IfMatch,
    body: Json<UpdateAgencyRequest>,
) -> Result<HttpResponse, ApiError> {
    let changes = body.into_inner().parse()?;
    let (id, expected) = (AgencyId(path.agency_id), if_match.version()?);
    let row = db
        .run(move |conn| {
            let current = agency::get(conn, id)?;
            if current.version != expected {
                return Err(ApiError::Stale(Some(current.version)));
            }
            agency::update(conn, id, expected, &changes.apply(&current)?)
        })
        .await?;
    tracing::info!(agency.id = %row.id, "agency updated");
    Ok(ok_versioned(row.version, &AgencyResponse::from(row)))
}
