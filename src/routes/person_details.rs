//! What agencies hold about a person beyond the one record (DOMAIN.md §5): every date of birth,
//! with the organisation that holds it, and the dated history of addresses. Added by those who
//! may edit the person, under the field policy of every role the person holds; read with the
//! person (GET /api/v1/people/{id}), each entry judged with its own supplier.

use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;

use crate::audit::{self, Audit, Event};
use crate::db::Db;
use crate::domain::{
    AgencyId, AuditAction, AuthUser, IsoDate, PersonAddressKind, PersonId, optional_text, required_text,
};
use crate::error::{ApiError, FieldProblem};
use crate::extract::Json;
use crate::models::person;
use crate::models::person_detail::{self, NewAddress};
use crate::routes::people::{editable_sightings, require_writable_in_every_role};

#[derive(Deserialize)]
pub struct PersonPath {
    person_id: uuid::Uuid,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DateOfBirthRequest {
    date_of_birth: IsoDate,
    /// The organisation that holds this date; the caller's own when absent.
    held_by_agency_id: Option<uuid::Uuid>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddressRequest {
    kind: PersonAddressKind,
    address: String,
    postcode: Option<String>,
    from_date: Option<IsoDate>,
    to_date: Option<IsoDate>,
}

/// POST /api/v1/people/{person_id}/dates-of-birth
pub async fn add_date_of_birth(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<PersonPath>,
    body: Json<DateOfBirthRequest>,
) -> Result<HttpResponse, ApiError> {
    let req = body.into_inner();
    let date_of_birth = req.date_of_birth.get();
    if date_of_birth > Utc::now().date_naive() {
        return Err(ApiError::unprocessable("date_of_birth", "in_future"));
    }
    let id = PersonId(path.person_id);
    let out = audit::audited(&db, audit, move |conn| {
        let (_, sightings) = person::seen(conn, &user, id)?;
        let editable = editable_sightings(&user, &sightings)?;
        let held_by = match req.held_by_agency_id.map(AgencyId) {
            Some(named) => Some(named),
            None => user.agency_id,
        };
        let written = require_writable_in_every_role(&user, &sightings, &json!({ "dates_of_birth": [date_of_birth] }))?;
        let row = person_detail::add_date_of_birth(conn, id, date_of_birth, held_by, user.user_id)
            .map_err(|e| foreign_key_as(e, "held_by_agency_id", "unknown_agency"))?
            .ok_or_else(|| ApiError::conflict("date_of_birth", "already_recorded"))?;
        let event = Event::ok(AuditAction::Alter, "person", vec![id.0, row.id])
            .on_panel(editable[0].panel_id)
            .disclosing(written);
        Ok((row, event))
    })
    .await?;
    Ok(crate::routes::created_at(format!("/api/v1/people/{}", id.0), &out))
}

/// POST /api/v1/people/{person_id}/addresses
pub async fn add_address(
    db: Db,
    user: AuthUser,
    audit: Audit,
    path: web::Path<PersonPath>,
    body: Json<AddressRequest>,
) -> Result<HttpResponse, ApiError> {
    let req = body.into_inner();
    let mut p = crate::domain::Problems::default();
    let address = p.check(required_text("address", &req.address, 500));
    let postcode = p.check(optional_text("postcode", req.postcode.as_deref(), 10));
    let new = p.finish(|| {
        Some(NewAddress {
            kind: req.kind,
            address: address?,
            postcode: postcode?,
            from_date: req.from_date.map(IsoDate::get),
            to_date: req.to_date.map(IsoDate::get),
        })
    })?;
    if let (Some(from), Some(to)) = (new.from_date, new.to_date)
        && to < from
    {
        return Err(ApiError::Unprocessable(vec![FieldProblem::new("to_date", "before_from_date")]));
    }
    let id = PersonId(path.person_id);
    let out = audit::audited(&db, audit, move |conn| {
        let (_, sightings) = person::seen(conn, &user, id)?;
        let editable = editable_sightings(&user, &sightings)?;
        let written = require_writable_in_every_role(&user, &sightings, &json!({ "addresses": [new.address] }))?;
        let row = person_detail::add_address(conn, id, &new, user.agency_id, user.user_id)?;
        let event = Event::ok(AuditAction::Alter, "person", vec![id.0, row.id])
            .on_panel(editable[0].panel_id)
            .disclosing(written);
        Ok((row, event))
    })
    .await?;
    Ok(crate::routes::created_at(format!("/api/v1/people/{}", id.0), &out))
}

/// A foreign key the request named that does not exist, as a 422 on `field`.
fn foreign_key_as(e: diesel::result::Error, field: &'static str, code: &'static str) -> ApiError {
    match e {
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::ForeignKeyViolation, _) => {
            ApiError::unprocessable(field, code)
        }
        other => other.into(),
    }
}
