//! Handlers and their request/response DTOs, one module per resource. Handlers read top to
//! bottom: extract → authorize → validate → database → respond.

pub mod actions;
pub mod agencies;
pub mod alerts;
pub mod assessments;
pub mod audit;
pub mod auth;
pub mod cases;
pub mod closures;
pub mod exclusions;
pub mod grants;
pub mod health;
pub mod imports;
pub mod meetings;
pub mod metrics;
pub mod panels;
pub mod participants;
pub mod people;
pub mod person_details;
pub mod policy;
pub mod research_notes;
pub mod transfers;
pub mod users;

use actix_web::HttpResponse;
use actix_web::http::header;
use serde::Serialize;

use crate::extract::etag;

/// `201 Created` with `Location` and the new version's `ETag`.
pub fn created<T: Serialize>(location: String, version: i32, body: &T) -> HttpResponse {
    HttpResponse::Created().insert_header((header::LOCATION, location)).insert_header(etag(version)).json(body)
}

/// `200 OK` with the version's `ETag`.
pub fn ok_versioned<T: Serialize>(version: i32, body: &T) -> HttpResponse {
    HttpResponse::Ok().insert_header(etag(version)).json(body)
}
