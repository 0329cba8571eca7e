//! What agencies hold about a person beyond the one record: every date of birth (with the
//! organisation that holds it) and the dated history of addresses.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::domain::{AgencyId, PersonAddressKind, PersonId, UserId};
use crate::schema::{person_addresses, person_dates_of_birth};

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = person_dates_of_birth)]
pub struct DateOfBirthRow {
    pub id: Uuid,
    #[serde(skip)]
    pub person_id: PersonId,
    pub date_of_birth: NaiveDate,
    pub held_by: Option<AgencyId>,
    pub recorded_by: UserId,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = person_addresses)]
pub struct AddressRow {
    pub id: Uuid,
    #[serde(skip)]
    pub person_id: PersonId,
    pub kind: PersonAddressKind,
    pub address: String,
    pub postcode: Option<String>,
    pub from_date: Option<NaiveDate>,
    pub to_date: Option<NaiveDate>,
    pub supplied_by: Option<AgencyId>,
    pub recorded_by: UserId,
    pub recorded_at: DateTime<Utc>,
}

/// Records a date of birth an organisation holds; `None` when it is already recorded as held by it.
pub fn add_date_of_birth(
    conn: &mut PgConnection,
    person: PersonId,
    date_of_birth: NaiveDate,
    held_by: Option<AgencyId>,
    by: UserId,
) -> QueryResult<Option<DateOfBirthRow>> {
    diesel::insert_into(person_dates_of_birth::table)
        .values((
            person_dates_of_birth::person_id.eq(person),
            person_dates_of_birth::date_of_birth.eq(date_of_birth),
            person_dates_of_birth::held_by.eq(held_by),
            person_dates_of_birth::recorded_by.eq(by),
        ))
        .on_conflict_do_nothing()
        .returning(DateOfBirthRow::as_returning())
        .get_result(conn)
        .optional()
}

pub fn dates_of_birth(conn: &mut PgConnection, person: PersonId) -> QueryResult<Vec<DateOfBirthRow>> {
    person_dates_of_birth::table
        .filter(person_dates_of_birth::person_id.eq(person))
        .order((person_dates_of_birth::recorded_at, person_dates_of_birth::id))
        .select(DateOfBirthRow::as_select())
        .load(conn)
}

pub struct NewAddress {
    pub kind: PersonAddressKind,
    pub address: String,
    pub postcode: Option<String>,
    pub from_date: Option<NaiveDate>,
    pub to_date: Option<NaiveDate>,
}

pub fn add_address(
    conn: &mut PgConnection,
    person: PersonId,
    a: &NewAddress,
    supplied_by: Option<AgencyId>,
    by: UserId,
) -> QueryResult<AddressRow> {
    diesel::insert_into(person_addresses::table)
        .values((
            person_addresses::person_id.eq(person),
            person_addresses::kind.eq(a.kind),
            person_addresses::address.eq(&a.address),
            person_addresses::postcode.eq(&a.postcode),
            person_addresses::from_date.eq(a.from_date),
            person_addresses::to_date.eq(a.to_date),
            person_addresses::supplied_by.eq(supplied_by),
            person_addresses::recorded_by.eq(by),
        ))
        .returning(AddressRow::as_returning())
        .get_result(conn)
}

/// The person's addresses, most recent first (by the date they start, then when recorded).
pub fn addresses(conn: &mut PgConnection, person: PersonId) -> QueryResult<Vec<AddressRow>> {
    person_addresses::table
        .filter(person_addresses::person_id.eq(person))
        .order((person_addresses::from_date.desc().nulls_last(), person_addresses::recorded_at.desc()))
        .select(AddressRow::as_select())
        .load(conn)
}
