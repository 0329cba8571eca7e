//! Organisations and the names they are known by.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::domain::{AgencyId, AgencyType, ShortText, normalize_org_name};
use crate::error::{ApiError, FieldProblem};
use crate::models::after_cursor;
use crate::pagination::PageRequest;
use crate::schema::{agencies, agency_names};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = agencies)]
pub struct AgencyRow {
    pub id: AgencyId,
    pub name: String,
    pub agency_type: AgencyType,
    pub aliases: Vec<String>,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A checked organisation: its name, type and other spellings.
pub struct AgencyFields {
    pub name: ShortText,
    pub agency_type: AgencyType,
    pub aliases: Vec<ShortText>,
    pub active: bool,
}

#[derive(Debug, Default)]
pub struct AgencyFilter {
    /// Any spelling: matches the canonical name or an alias after normalisation.
    pub name: Option<String>,
    pub agency_type: Option<AgencyType>,
    pub active: Option<bool>,
}

/// Which of `ids` name organisations the service knows.
pub fn known_among(conn: &mut PgConnection, ids: &[AgencyId]) -> QueryResult<Vec<AgencyId>> {
    agencies::table.filter(agencies::id.eq_any(ids)).select(agencies::id).load(conn)
}

pub fn get(conn: &mut PgConnection, id: AgencyId) -> QueryResult<AgencyRow> {
    agencies::table.find(id).select(AgencyRow::as_select()).first(conn)
}

pub fn list(conn: &mut PgConnection, filter: &AgencyFilter, page: &PageRequest) -> QueryResult<Vec<AgencyRow>> {
    let mut query = agencies::table.select(AgencyRow::as_select()).into_boxed();
    if let Some(name) = &filter.name {
        let key = normalize_org_name(name);
        query = query.filter(
            agencies::id
                .eq_any(agency_names::table.filter(agency_names::normalized.eq(key)).select(agency_names::agency_id)),
        );
    }
    if let Some(t) = filter.agency_type {
        query = query.filter(agencies::agency_type.eq(t));
    }
    if let Some(active) = filter.active {
        query = query.filter(agencies::active.eq(active));
    }
    after_cursor!(query, agencies, page.after)
        .order((agencies::created_at, agencies::id))
        .limit(page.fetch_limit())
        .load(conn)
}

pub fn create(conn: &mut PgConnection, fields: &AgencyFields) -> Result<AgencyRow, ApiError> {
    conn.transaction(|conn| {
        let row: AgencyRow = diesel::insert_into(agencies::table)
            .values((
                agencies::name.eq(fields.name.as_str()),
                agencies::agency_type.eq(fields.agency_type),
                agencies::aliases.eq(alias_strings(fields)),
                agencies::active.eq(fields.active),
            ))
            .returning(AgencyRow::as_returning())
            .get_result(conn)?;
        register_names(conn, row.id, fields)?;
        Ok(row)
    })
}

/// Applies `fields` if the stored version is `expected`; `Stale` otherwise.
pub fn update(
    conn: &mut PgConnection,
    id: AgencyId,
    expected: i32,
    fields: &AgencyFields,
) -> Result<AgencyRow, ApiError> {
    conn.transaction(|conn| {
        let row: Option<AgencyRow> = diesel::update(agencies::table.find(id).filter(agencies::version.eq(expected)))
            .set((
                agencies::name.eq(fields.name.as_str()),
                agencies::agency_type.eq(fields.agency_type),
                agencies::aliases.eq(alias_strings(fields)),
                agencies::active.eq(fields.active),
                agencies::version.eq(agencies::version + 1),
                agencies::updated_at.eq(Utc::now()),
            ))
            .returning(AgencyRow::as_returning())
            .get_result(conn)
            .optional()?;
        let Some(row) = row else {
            let current = get(conn, id)?; // 404 when it does not exist at all
            return Err(ApiError::Stale(Some(current.version)));
        };
        diesel::delete(agency_names::table.filter(agency_names::agency_id.eq(id))).execute(conn)?;
        register_names(conn, id, fields)?;
        Ok(row)
    })
}

fn alias_strings(fields: &AgencyFields) -> Vec<String> {
    fields.aliases.iter().map(|a| a.as_str().to_owned()).collect()
}

/// Claims every normalised spelling for the agency; a spelling another agency already holds is
/// a 409 naming the field (`name` or `aliases[i]`).
fn register_names(conn: &mut PgConnection, id: AgencyId, fields: &AgencyFields) -> Result<(), ApiError> {
    let spellings = std::iter::once(("name".to_owned(), fields.name.as_str()))
        .chain(fields.aliases.iter().enumerate().map(|(i, a)| (format!("aliases[{i}]"), a.as_str())));
    let mut keys: Vec<(String, String)> = Vec::new();
    let mut problems = Vec::new();
    for (field, spelling) in spellings {
        let key = normalize_org_name(spelling);
        if key.is_empty() {
            problems.push(FieldProblem::new(field, "no_letters_or_digits"));
        } else if !keys.iter().any(|(_, k)| *k == key) {
            keys.push((field, key));
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::BadRequest(problems));
    }
    let taken: Vec<String> = agency_names::table
        .filter(agency_names::normalized.eq_any(keys.iter().map(|(_, k)| k.as_str())))
        .filter(agency_names::agency_id.ne(id))
        .select(agency_names::normalized)
        .load(conn)?;
    let conflicts: Vec<FieldProblem> = keys
        .iter()
        .filter(|(_, k)| taken.contains(k))
        .map(|(field, _)| FieldProblem::new(field.clone(), "name_in_use"))
        .collect();
    if !conflicts.is_empty() {
        return Err(ApiError::Conflict(conflicts));
    }
    let rows: Vec<_> =
        keys.iter().map(|(_, k)| (agency_names::normalized.eq(k), agency_names::agency_id.eq(id))).collect();
    diesel::insert_into(agency_names::table).values(rows).execute(conn).map_err(|e| {
        if crate::error::unique_violation(&e) == Some("agency_names_pkey") {
            ApiError::conflict("name", "name_in_use")
        } else {
            e.into()
        }
    })?;
    Ok(())
}
