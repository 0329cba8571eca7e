//! The record of processing a data protection officer keeps (UK GDPR Art. 30; issue 15, item 7):
//! per panel, the lawful bases and conditions its cases were shared under, its retention, its
//! organisations with their information-sharing agreements, and its share decisions.

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Text, Uuid as SqlUuid};

use crate::domain::PanelId;

#[derive(Debug, QueryableByName, serde::Serialize)]
pub struct BasisCount {
    #[diesel(sql_type = Text)]
    pub lawful_basis: String,
    #[diesel(sql_type = Text)]
    pub special_category_condition: String,
    #[diesel(sql_type = BigInt)]
    pub cases: i64,
}

/// Cases referred to the panel in the period by lawful basis and special-category condition.
pub fn bases_in_use(
    conn: &mut PgConnection,
    panel: PanelId,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<BasisCount>> {
    diesel::sql_query(
        "SELECT lawful_basis, special_category_condition, count(*) AS cases FROM cases
          WHERE panel_id = $1 AND referral_date BETWEEN $2 AND $3 GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .bind::<SqlUuid, _>(panel.0)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .load(conn)
}

#[derive(Debug, QueryableByName, serde::Serialize)]
pub struct MemberAgreement {
    #[diesel(sql_type = SqlUuid)]
    pub agency_id: uuid::Uuid,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<Date>)]
    pub isa_signed_on: Option<NaiveDate>,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub active: bool,
}

/// The panel's member organisations with the date each signed the information-sharing agreement.
pub fn agreements(conn: &mut PgConnection, panel: PanelId) -> QueryResult<Vec<MemberAgreement>> {
    diesel::sql_query(
        "SELECT a.id AS agency_id, a.name, m.isa_signed_on, m.active FROM panel_members m
           JOIN agencies a ON a.id = m.agency_id WHERE m.panel_id = $1 ORDER BY a.name, a.id",
    )
    .bind::<SqlUuid, _>(panel.0)
    .load(conn)
}

#[derive(Debug, QueryableByName)]
pub struct SharingCounts {
    #[diesel(sql_type = BigInt)]
    pub share_decisions: i64,
    #[diesel(sql_type = BigInt)]
    pub referrals_without_consent: i64,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub retention_years_after_end: i32,
}

/// The panel's decisions to share without consent and referrals without consent in the period,
/// and the retention its cases are kept under.
pub fn sharing(conn: &mut PgConnection, panel: PanelId, from: NaiveDate, to: NaiveDate) -> QueryResult<SharingCounts> {
    diesel::sql_query(
        "SELECT (SELECT count(*) FROM share_decisions s JOIN cases c ON c.id = s.case_id
                  WHERE c.panel_id = $1 AND s.decided_on BETWEEN $2 AND $3) AS share_decisions,
                (SELECT count(*) FROM cases WHERE panel_id = $1 AND referral_date BETWEEN $2 AND $3
                    AND consent_status <> 'given') AS referrals_without_consent,
                coalesce((SELECT years_after_end FROM panel_retention WHERE panel_id = $1),
                         (SELECT r.years_after_end FROM retention_policies r JOIN panels p ON p.kind = r.panel_kind
                           WHERE p.id = $1)) AS retention_years_after_end",
    )
    .bind::<SqlUuid, _>(panel.0)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .get_result(conn)
}

/// Restricts processing of the case (Art. 18); `false` when it is restricted already.
pub fn restrict(
    conn: &mut PgConnection,
    case: crate::domain::CaseId,
    reason: &str,
    by: crate::domain::UserId,
) -> QueryResult<bool> {
    use crate::schema::cases;
    diesel::update(cases::table.find(case).filter(cases::restricted_at.is_null()))
        .set((
            cases::restricted_at.eq(chrono::Utc::now()),
            cases::restricted_by.eq(by),
            cases::restriction_reason.eq(reason),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

/// Lifts the case's restriction; `false` when it was not restricted.
pub fn lift_restriction(conn: &mut PgConnection, case: crate::domain::CaseId) -> QueryResult<bool> {
    use crate::schema::cases;
    diesel::update(cases::table.find(case).filter(cases::restricted_at.is_not_null()))
        .set((
            cases::restricted_at.eq(None::<chrono::DateTime<chrono::Utc>>),
            cases::restricted_by.eq(None::<uuid::Uuid>),
            cases::restriction_reason.eq(None::<String>),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

#[derive(Debug, Clone, Queryable, Selectable, AsChangeset)]
#[diesel(table_name = crate::schema::rights_requests, treat_none_as_null = true)]
pub struct RightsRequestRow {
    #[diesel(skip_update)]
    pub id: uuid::Uuid,
    #[diesel(skip_update)]
    pub panel_id: PanelId,
    #[diesel(skip_update)]
    pub kind: crate::domain::RightsRequestKind,
    pub person_id: Option<crate::domain::PersonId>,
    pub case_id: Option<crate::domain::CaseId>,
    #[diesel(skip_update)]
    pub received_on: NaiveDate,
    pub identity_check: String,
    pub summary: String,
    pub extended_reason: Option<String>,
    pub decision: Option<crate::domain::RightsDecision>,
    pub decision_reason: Option<String>,
    pub closed_on: Option<NaiveDate>,
    #[diesel(skip_update)]
    pub created_by: crate::domain::UserId,
    #[diesel(skip_update)]
    pub created_at: chrono::DateTime<chrono::Utc>,
    #[diesel(skip_update)]
    pub version: i32,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = crate::schema::rights_requests)]
pub struct NewRightsRequest {
    pub panel_id: PanelId,
    pub kind: crate::domain::RightsRequestKind,
    pub person_id: Option<crate::domain::PersonId>,
    pub case_id: Option<crate::domain::CaseId>,
    pub received_on: NaiveDate,
    pub identity_check: String,
    pub summary: String,
    pub created_by: crate::domain::UserId,
}

pub fn record_request(conn: &mut PgConnection, new: &NewRightsRequest) -> QueryResult<RightsRequestRow> {
    use crate::schema::rights_requests;
    diesel::insert_into(rights_requests::table).values(new).returning(RightsRequestRow::as_returning()).get_result(conn)
}

pub fn requests_of(conn: &mut PgConnection, panel: PanelId) -> QueryResult<Vec<RightsRequestRow>> {
    use crate::schema::rights_requests;
    rights_requests::table
        .filter(rights_requests::panel_id.eq(panel))
        .order((rights_requests::received_on, rights_requests::created_at, rights_requests::id))
        .select(RightsRequestRow::as_select())
        .load(conn)
}

/// One request of the panel, locked for an edit.
pub fn request_for_update(conn: &mut PgConnection, panel: PanelId, id: uuid::Uuid) -> QueryResult<RightsRequestRow> {
    use crate::schema::rights_requests;
    rights_requests::table
        .filter(rights_requests::id.eq(id))
        .filter(rights_requests::panel_id.eq(panel))
        .select(RightsRequestRow::as_select())
        .for_update()
        .first(conn)
}

pub fn save_request(conn: &mut PgConnection, row: &RightsRequestRow) -> QueryResult<RightsRequestRow> {
    use crate::schema::rights_requests;
    diesel::update(rights_requests::table.find(row.id))
        .set((row, rights_requests::version.eq(row.version + 1)))
        .returning(RightsRequestRow::as_returning())
        .get_result(conn)
}
