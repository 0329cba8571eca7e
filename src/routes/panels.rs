//! Panels with their local settings and member organisations: read by every signed-in user
//! (managers need the ids for metrics), managed by system admins.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::Db;
use crate::domain::{
    AgencyId, AuthUser, IsoDate, MeetingCadence, PanelId, PanelKind, Problems, RepeatWindowAnchor, Role, ShortText,
    UserId, default_true, double_option,
};
use crate::error::{ApiError, Forbidden};
use crate::extract::{IfMatch, Json, Query};
use crate::models::panel::{self, Member, PanelFields, PanelRow, PanelSettings};
use crate::pagination::{Cursor, Page, PageRequest};
use crate::routes::{created, ok_versioned};

const MAX_MEMBERS: usize = 200;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberDto {
    agency_id: Uuid,
    #[serde(default)]
    isa_signed_on: Option<crate::domain::IsoDate>,
    #[serde(default = "default_true")]
    active: bool,
}

#[derive(Serialize)]
pub struct PanelResponse {
    id: PanelId,
    kind: PanelKind,
    name: String,
    local_area: String,
    meeting_cadence: MeetingCadence,
    settings: PanelSettings,
    members: Vec<MemberDto>,
    active: bool,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl PanelResponse {
    fn render(row: PanelRow, members: Vec<Member>) -> Self {
        Self {
            id: row.id,
            kind: row.kind,
            name: row.name,
            local_area: row.local_area,
            meeting_cadence: row.meeting_cadence,
            settings: row.settings,
            members: members
                .into_iter()
                .map(|m| MemberDto {
                    agency_id: m.agency_id.0,
                    isa_signed_on: m.isa_signed_on.map(IsoDate::from_stored),
                    active: m.active,
                })
                .collect(),
            active: row.active,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// Settings in a request: every field optional. On create, missing ones take the defaults of
/// DOMAIN.md §3.4; on update, missing ones keep their value and `null` clears a nullable one.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    minutes_per_case: Option<i16>,
    dash_high_risk_threshold: Option<i16>,
    escalation_incident_count: Option<i16>,
    escalation_window_days: Option<i16>,
    repeat_window_days: Option<i16>,
    repeat_window_anchor: Option<RepeatWindowAnchor>,
    #[serde(default, deserialize_with = "double_option")]
    cmarac_high_risk_threshold: Option<Option<i32>>,
    reporting_year_start_month: Option<i16>,
    #[serde(default, deserialize_with = "double_option")]
    adult_female_population_16_plus: Option<Option<i32>>,
    #[serde(default, deserialize_with = "double_option")]
    population_source: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    population_year: Option<Option<i16>>,
    suppression_k: Option<i16>,
    closure_requires_approval: Option<bool>,
}

fn in_range<T: PartialOrd + Copy>(field: &str, value: T, min: T, max: T, p: &mut Problems) -> T {
    if value < min || value > max {
        p.push(format!("settings.{field}"), "out_of_range");
    }
    value
}

impl SettingsPatch {
    /// Applies the patch to `base`, checking each value against its range.
    fn apply(self, base: &PanelSettings, p: &mut Problems) -> PanelSettings {
        PanelSettings {
            minutes_per_case: in_range(
                "minutes_per_case",
                self.minutes_per_case.unwrap_or(base.minutes_per_case),
                1,
                120,
                p,
            ),
            dash_high_risk_threshold: in_range(
                "dash_high_risk_threshold",
                self.dash_high_risk_threshold.unwrap_or(base.dash_high_risk_threshold),
                1,
                24,
                p,
            ),
            escalation_incident_count: in_range(
                "escalation_incident_count",
                self.escalation_incident_count.unwrap_or(base.escalation_incident_count),
                1,
                100,
                p,
            ),
            escalation_window_days: in_range(
                "escalation_window_days",
                self.escalation_window_days.unwrap_or(base.escalation_window_days),
                1,
                3660,
                p,
            ),
            repeat_window_days: in_range(
                "repeat_window_days",
                self.repeat_window_days.unwrap_or(base.repeat_window_days),
                1,
                3660,
                p,
            ),
            repeat_window_anchor: self.repeat_window_anchor.unwrap_or(base.repeat_window_anchor),
            cmarac_high_risk_threshold: self
                .cmarac_high_risk_threshold
                .unwrap_or(base.cmarac_high_risk_threshold)
                .map(|v| in_range("cmarac_high_risk_threshold", v, 0, 10_000, p)),
            reporting_year_start_month: in_range(
                "reporting_year_start_month",
                self.reporting_year_start_month.unwrap_or(base.reporting_year_start_month),
                1,
                12,
                p,
            ),
            adult_female_population_16_plus: self
                .adult_female_population_16_plus
                .unwrap_or(base.adult_female_population_16_plus)
                .map(|v| in_range("adult_female_population_16_plus", v, 1, i32::MAX, p)),
            population_source: match self.population_source {
                Some(Some(raw)) => {
                    p.check(ShortText::parse("settings.population_source", &raw)).map(ShortText::into_inner)
                }
                Some(None) => None,
                None => base.population_source.clone(),
            },
            population_year: self
                .population_year
                .unwrap_or(base.population_year)
                .map(|v| in_range("population_year", v, 1900, 2200, p)),
            suppression_k: in_range("suppression_k", self.suppression_k.unwrap_or(base.suppression_k), 1, 100, p),
            closure_requires_approval: self.closure_requires_approval.unwrap_or(base.closure_requires_approval),
        }
    }
}

fn parse_members(raw: Vec<MemberDto>, p: &mut Problems) -> Vec<Member> {
    if raw.len() > MAX_MEMBERS {
        p.push("members", "too_many_items");
    }
    let mut out: Vec<Member> = Vec::new();
    for (i, m) in raw.into_iter().enumerate() {
        let agency_id = AgencyId(m.agency_id);
        if out.iter().any(|o| o.agency_id == agency_id) {
            p.push(format!("members[{i}].agency_id"), "duplicate");
        } else {
            out.push(Member { agency_id, isa_signed_on: m.isa_signed_on.map(IsoDate::get), active: m.active });
        }
    }
    out
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePanelRequest {
    kind: PanelKind,
    name: String,
    local_area: String,
    meeting_cadence: MeetingCadence,
    #[serde(default)]
    settings: SettingsPatch,
    #[serde(default)]
    members: Vec<MemberDto>,
    #[serde(default = "default_true")]
    active: bool,
}

impl CreatePanelRequest {
    fn parse(self) -> Result<PanelFields, ApiError> {
        let mut p = Problems::default();
        let name = p.check(ShortText::parse("name", &self.name));
        let local_area = p.check(ShortText::parse("local_area", &self.local_area));
        let settings = self.settings.apply(&PanelSettings::default(), &mut p);
        let members = parse_members(self.members, &mut p);
        p.finish(|| {
            Some(PanelFields {
                kind: self.kind,
                name: name?,
                local_area: local_area?,
                meeting_cadence: self.meeting_cadence,
                settings,
                members,
                active: self.active,
            })
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdatePanelRequest {
    name: Option<String>,
    local_area: Option<String>,
    meeting_cadence: Option<MeetingCadence>,
    settings: Option<SettingsPatch>,
    members: Option<Vec<MemberDto>>,
    active: Option<bool>,
}

impl UpdatePanelRequest {
    /// Checks the change and applies it to the stored panel.
    fn apply(self, current: &PanelRow, members: Vec<Member>) -> Result<PanelFields, ApiError> {
        let mut p = Problems::default();
        let name = p.check(ShortText::parse("name", self.name.as_deref().unwrap_or(&current.name)));
        let local_area =
            p.check(ShortText::parse("local_area", self.local_area.as_deref().unwrap_or(&current.local_area)));
        let settings = self.settings.unwrap_or_default().apply(&current.settings, &mut p);
        let members = match self.members {
            Some(raw) => parse_members(raw, &mut p),
            None => members,
        };
        p.finish(|| {
            Some(PanelFields {
                kind: current.kind,
                name: name?,
                local_area: local_area?,
                meeting_cadence: self.meeting_cadence.unwrap_or(current.meeting_cadence),
                settings,
                members,
                active: self.active.unwrap_or(current.active),
            })
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListPanelsQuery {
    kind: Option<PanelKind>,
    active: Option<bool>,
    limit: Option<i64>,
    cursor: Option<String>,
}

#[derive(Deserialize)]
pub struct PanelPath {
    panel_id: Uuid,
}

/// GET /api/v1/panels
pub async fn list_panels(db: Db, _user: AuthUser, query: Query<ListPanelsQuery>) -> Result<HttpResponse, ApiError> {
    let q = query.0;
    let page = PageRequest::from_query(q.limit, q.cursor.as_deref())?;
    let (rows, members) = db
        .run(move |conn| {
            let rows = panel::list(conn, q.kind, q.active, &page)?;
            let ids: Vec<PanelId> = rows.iter().map(|r| r.id).collect();
            Ok((rows, panel::members_of_many(conn, &ids)?))
        })
        .await?;
    let page = Page::from_rows(
        rows,
        &page,
        |r| Cursor { created_at: r.created_at, id: r.id.0 },
        |row| {
            let own = members.iter().filter(|(p, _)| *p == row.id).map(|(_, m)| m.clone()).collect();
            PanelResponse::render(row, own)
        },
    );
    Ok(HttpResponse::Ok().json(page))
}

/// POST /api/v1/panels
pub async fn create_panel(db: Db, _user: AuthUser, body: Json<CreatePanelRequest>) -> Result<HttpResponse, ApiError> {
    let fields = body.into_inner().parse()?;
    let (row, members) = db
        .run(move |conn| {
            let row = panel::create(conn, &fields)?;
            Ok((row, fields.members))
        })
        .await?;
    tracing::info!(panel.id = %row.id, "panel created");
    let location = format!("/api/v1/panels/{}", row.id);
    let version = row.version;
    Ok(created(location, version, &PanelResponse::render(row, members)))
}

/// GET /api/v1/panels/{panel_id}
pub async fn get_panel(db: Db, _user: AuthUser, path: web::Path<PanelPath>) -> Result<HttpResponse, ApiError> {
    let id = PanelId(path.panel_id);
    let (row, members) = db.run(move |conn| Ok((panel::get(conn, id)?, panel::members(conn, id)?))).await?;
    Ok(ok_versioned(row.version, &PanelResponse::render(row, members)))
}

/// PATCH /api/v1/panels/{panel_id}: a change of settings is kept as a new settings version.
pub async fn update_panel(
    db: Db,
    _user: AuthUser,
    path: web::Path<PanelPath>,
    if_match: IfMatch,
    body: Json<UpdatePanelRequest>,
) -> Result<HttpResponse, ApiError> {
    let change = body.into_inner();
    let id = PanelId(path.panel_id);
    let (row, members) = db
        .run(move |conn| {
            let current = panel::get(conn, id)?;
            // The values are checked against the panel as it stands before the version is: a
            // request that could never apply is a 400/422 whatever version it names.
            let fields = change.apply(&current, panel::members(conn, id)?)?;
            if_match.require(current.version)?;
            let row = panel::update(conn, id, current.version, &fields)?;
            Ok((row, fields.members))
        })
        .await?;
    tracing::info!(panel.id = %row.id, "panel updated");
    Ok(ok_versioned(row.version, &PanelResponse::render(row, members)))
}

#[derive(Serialize)]
pub struct PanelUser {
    id: UserId,
    display_name: String,
    email: String,
    agency_id: Option<AgencyId>,
    roles: Vec<Role>,
}

#[derive(Serialize)]
pub struct PanelUsers {
    items: Vec<PanelUser>,
}

/// GET /api/v1/panels/{panel_id}/users: the panel's coordinators and chairs see who works on the
/// panel (the active users holding a role on it, with those roles), to pick an action owner or
/// a chair. Others: 403.
pub async fn list_panel_users(db: Db, user: AuthUser, path: web::Path<PanelPath>) -> Result<HttpResponse, ApiError> {
    let id = PanelId(path.panel_id);
    if !user.is_staff_on(id) {
        return Err(ApiError::Forbidden(Forbidden::PanelStaffOnly));
    }
    let rows = db.run(move |conn| Ok(crate::models::user::on_panel(conn, id)?)).await?;
    let items = rows
        .into_iter()
        .map(|(u, roles)| PanelUser {
            id: u.id,
            display_name: u.display_name,
            email: u.email,
            agency_id: u.agency_id,
            roles,
        })
        .collect();
    Ok(HttpResponse::Ok().json(PanelUsers { items }))
}
