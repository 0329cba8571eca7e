//! Panels, their member organisations and the history of their settings.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::domain::{AgencyId, MeetingCadence, PanelId, PanelKind, RepeatWindowAnchor, ShortText};
use crate::error::{ApiError, FieldProblem};
use crate::models::after_cursor;
use crate::pagination::PageRequest;
use crate::schema::{panel_members, panel_settings_versions, panels};

/// The per-panel rules DOMAIN.md §3.4 says vary locally.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = panels, treat_none_as_null = true)]
pub struct PanelSettings {
    pub minutes_per_case: i16,
    pub dash_high_risk_threshold: i16,
    pub escalation_incident_count: i16,
    pub escalation_window_days: i16,
    pub repeat_window_days: i16,
    pub repeat_window_anchor: RepeatWindowAnchor,
    pub cmarac_high_risk_threshold: Option<i32>,
    pub reporting_year_start_month: i16,
    pub adult_female_population_16_plus: Option<i32>,
    pub population_source: Option<String>,
    pub population_year: Option<i16>,
    pub suppression_k: i16,
    /// A chair approves a coordinator's closure before the case closes (DOMAIN.md §6.1).
    #[serde(default)]
    pub closure_requires_approval: bool,
}

impl Default for PanelSettings {
    fn default() -> Self {
        Self {
            minutes_per_case: 10,
            dash_high_risk_threshold: 14,
            escalation_incident_count: 3,
            escalation_window_days: 365,
            repeat_window_days: 365,
            repeat_window_anchor: RepeatWindowAnchor::LastReferral,
            cmarac_high_risk_threshold: None,
            reporting_year_start_month: 4,
            adult_female_population_16_plus: None,
            population_source: None,
            population_year: None,
            suppression_k: 5,
            closure_requires_approval: false,
        }
    }
}

/// How long after a MARAC case a new incident between the same people is a repeat (DOMAIN.md
/// §6.1): `days` from the case's referral, or from its last hearing with the `last_meeting` anchor.
#[derive(Debug, Clone, Copy)]
pub struct RepeatWindow {
    pub days: i64,
    pub anchor: RepeatWindowAnchor,
}

impl RepeatWindow {
    /// The last day of a case's window, given its referral date and its last hearing if it was heard.
    pub fn ends_on(self, referral_date: NaiveDate, last_heard: Option<NaiveDate>) -> NaiveDate {
        let from = match self.anchor {
            RepeatWindowAnchor::LastReferral => referral_date,
            RepeatWindowAnchor::LastMeeting => last_heard.map_or(referral_date, |heard| heard.max(referral_date)),
        };
        from + chrono::Duration::days(self.days)
    }
}

impl PanelSettings {
    pub fn repeat_window(&self) -> RepeatWindow {
        RepeatWindow { days: i64::from(self.repeat_window_days), anchor: self.repeat_window_anchor }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = panels)]
pub struct PanelRow {
    pub id: PanelId,
    pub kind: PanelKind,
    pub name: String,
    pub local_area: String,
    pub meeting_cadence: MeetingCadence,
    #[diesel(embed)]
    pub settings: PanelSettings,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = panel_members)]
pub struct Member {
    pub agency_id: AgencyId,
    pub isa_signed_on: Option<NaiveDate>,
    pub active: bool,
}

/// A checked panel record.
pub struct PanelFields {
    pub kind: PanelKind,
    pub name: ShortText,
    pub local_area: ShortText,
    pub meeting_cadence: MeetingCadence,
    pub settings: PanelSettings,
    pub members: Vec<Member>,
    pub active: bool,
}

pub fn get(conn: &mut PgConnection, id: PanelId) -> QueryResult<PanelRow> {
    panels::table.find(id).select(PanelRow::as_select()).first(conn)
}

pub fn list(
    conn: &mut PgConnection,
    kind: Option<PanelKind>,
    active: Option<bool>,
    page: &PageRequest,
) -> QueryResult<Vec<PanelRow>> {
    let mut query = panels::table.select(PanelRow::as_select()).into_boxed();
    if let Some(kind) = kind {
        query = query.filter(panels::kind.eq(kind));
    }
    if let Some(active) = active {
        query = query.filter(panels::active.eq(active));
    }
    after_cursor!(query, panels, page.after)
        .order((panels::created_at, panels::id))
        .limit(page.fetch_limit())
        .load(conn)
}

pub fn members(conn: &mut PgConnection, panel: PanelId) -> QueryResult<Vec<Member>> {
    panel_members::table
        .filter(panel_members::panel_id.eq(panel))
        .select(Member::as_select())
        .order(panel_members::agency_id)
        .load(conn)
}

pub fn members_of_many(conn: &mut PgConnection, ids: &[PanelId]) -> QueryResult<Vec<(PanelId, Member)>> {
    panel_members::table
        .filter(panel_members::panel_id.eq_any(ids))
        .select((panel_members::panel_id, Member::as_select()))
        .order((panel_members::panel_id, panel_members::agency_id))
        .load(conn)
}

pub fn create(conn: &mut PgConnection, fields: &PanelFields) -> Result<PanelRow, ApiError> {
    conn.transaction(|conn| {
        check_members(conn, &fields.members)?;
        let row: PanelRow = diesel::insert_into(panels::table)
            .values((
                panels::kind.eq(fields.kind),
                panels::name.eq(fields.name.as_str()),
                panels::local_area.eq(fields.local_area.as_str()),
                panels::meeting_cadence.eq(fields.meeting_cadence),
                panels::active.eq(fields.active),
                &fields.settings,
            ))
            .returning(PanelRow::as_returning())
            .get_result(conn)
            .map_err(name_conflict)?;
        replace_members(conn, row.id, &fields.members)?;
        record_settings(conn, &row)?;
        Ok(row)
    })
}

/// Applies `fields` if the stored version is `expected`. A change of settings is recorded as a
/// new settings version effective now.
pub fn update(conn: &mut PgConnection, id: PanelId, expected: i32, fields: &PanelFields) -> Result<PanelRow, ApiError> {
    conn.transaction(|conn| {
        let current = get(conn, id)?;
        if current.version != expected {
            return Err(ApiError::Stale(Some(current.version)));
        }
        if current.kind != fields.kind {
            return Err(ApiError::unprocessable("kind", "cannot_change_kind"));
        }
        check_members(conn, &fields.members)?;
        let row: PanelRow = diesel::update(panels::table.find(id).filter(panels::version.eq(expected)))
            .set((
                panels::name.eq(fields.name.as_str()),
                panels::local_area.eq(fields.local_area.as_str()),
                panels::meeting_cadence.eq(fields.meeting_cadence),
                panels::active.eq(fields.active),
                panels::version.eq(panels::version + 1),
                panels::updated_at.eq(Utc::now()),
                &fields.settings,
            ))
            .returning(PanelRow::as_returning())
            .get_result(conn)
            .map_err(name_conflict)?;
        replace_members(conn, id, &fields.members)?;
        if row.settings != current.settings {
            record_settings(conn, &row)?;
        }
        Ok(row)
    })
}

/// The settings in force at `at`, from the settings history.
pub fn settings_at(conn: &mut PgConnection, id: PanelId, at: DateTime<Utc>) -> QueryResult<Option<PanelSettings>> {
    let json: Option<serde_json::Value> = panel_settings_versions::table
        .filter(panel_settings_versions::panel_id.eq(id))
        .filter(panel_settings_versions::effective_from.le(at))
        .order(panel_settings_versions::effective_from.desc())
        .select(panel_settings_versions::settings)
        .first(conn)
        .optional()?;
    Ok(json.and_then(|v| serde_json::from_value(v).ok()))
}

fn record_settings(conn: &mut PgConnection, row: &PanelRow) -> Result<(), ApiError> {
    let settings = serde_json::to_value(&row.settings).map_err(|e| ApiError::Internal(e.into()))?;
    diesel::insert_into(panel_settings_versions::table)
        .values((
            panel_settings_versions::panel_id.eq(row.id),
            panel_settings_versions::version.eq(row.version),
            panel_settings_versions::settings.eq(settings),
        ))
        .execute(conn)?;
    Ok(())
}

fn name_conflict(e: diesel::result::Error) -> ApiError {
    match crate::error::unique_violation(&e) {
        Some("panels_name_key") => ApiError::conflict("name", "name_in_use"),
        _ => e.into(),
    }
}

fn check_members(conn: &mut PgConnection, members: &[Member]) -> Result<(), ApiError> {
    let ids: Vec<AgencyId> = members.iter().map(|m| m.agency_id).collect();
    let known = super::agency::known_among(conn, &ids)?;
    let problems: Vec<FieldProblem> = members
        .iter()
        .enumerate()
        .filter(|(_, m)| !known.contains(&m.agency_id))
        .map(|(i, _)| FieldProblem::new(format!("members[{i}].agency_id"), "unknown_agency"))
        .collect();
    if problems.is_empty() { Ok(()) } else { Err(ApiError::Unprocessable(problems)) }
}

fn replace_members(conn: &mut PgConnection, id: PanelId, members: &[Member]) -> QueryResult<()> {
    diesel::delete(panel_members::table.filter(panel_members::panel_id.eq(id))).execute(conn)?;
    let rows: Vec<_> = members
        .iter()
        .map(|m| {
            (
                panel_members::panel_id.eq(id),
                panel_members::agency_id.eq(m.agency_id),
                panel_members::isa_signed_on.eq(m.isa_signed_on),
                panel_members::active.eq(m.active),
            )
        })
        .collect();
    diesel::insert_into(panel_members::table).values(rows).execute(conn).map(drop)
}
