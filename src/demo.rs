//! Clearly-labelled demo data for a new local database, and the admin-creation path shared by
//! `create-admin` and the bootstrap admin. Demo organisations and panels are prefixed `[DEMO]`.

use chrono::NaiveDate;
use diesel::PgConnection;
use secrecy::{ExposeSecret, SecretString};

use crate::domain::{
    AgencyType, Email, MeetingCadence, NewPassword, PanelId, PanelKind, Role, RoleGrant, ShortText, UserId,
};
use crate::models::agency::{self, AgencyFields};
use crate::models::panel::{self, Member, PanelFields, PanelSettings};
use crate::models::user::{self, NewUser};
use crate::passwords as password;

pub const DEMO_PASSWORD: &str = "demo-only-password-2026";

fn text(s: &str) -> ShortText {
    ShortText::parse("demo", s).expect("demo text is valid")
}

/// Creates a system admin after the same checks the API applies.
pub fn create_admin(conn: &mut PgConnection, email: &str, password: &SecretString) -> anyhow::Result<UserId> {
    let email = Email::parse("email", email).map_err(|p| anyhow::anyhow!("email: {}", p.code))?;
    let checked = NewPassword::parse("password", password.expose_secret().to_owned())
        .map_err(|p| anyhow::anyhow!("password: {} (at least 12 characters, not a common password)", p.code))?;
    let new = NewUser {
        email,
        display_name: text("System administrator"),
        agency_id: None,
        password_hash: password::hash(checked.secret())?,
        roles: vec![RoleGrant::standing(Role::SystemAdmin, None)],
        active: true,
    };
    let row = user::create(conn, &new).map_err(|e| anyhow::anyhow!("could not create the admin: {e}"))?;
    Ok(row.id)
}

/// Loads demo data when the database has no users; returns the logins it made.
pub fn seed(conn: &mut PgConnection) -> anyhow::Result<Option<Vec<(String, String)>>> {
    use diesel::Connection;
    if user::count_users(conn)? > 0 {
        return Ok(None);
    }
    let hash = password::hash(&SecretString::from(DEMO_PASSWORD.to_owned()))?;
    conn.transaction(|conn| {
        let mk_agency = |conn: &mut PgConnection, name: &str, t: AgencyType, aliases: &[&str]| {
            agency::create(
                conn,
                &AgencyFields {
                    name: text(name),
                    agency_type: t,
                    aliases: aliases.iter().map(|a| text(a)).collect(),
                    active: true,
                },
            )
            .map(|a| a.id)
        };
        let police = mk_agency(conn, "[DEMO] Metropolitan Police", AgencyType::Police, &["[DEMO] Met Police"])?;
        let idva = mk_agency(conn, "[DEMO] Advance IDVA Service", AgencyType::IdvaService, &[])?;
        let housing = mk_agency(conn, "[DEMO] Council Housing", AgencyType::HousingLocalAuthority, &[])?;
        let csc = mk_agency(conn, "[DEMO] Children's Social Care", AgencyType::ChildrensSocialCare, &[])?;
        let council = mk_agency(conn, "[DEMO] Community Safety Team", AgencyType::CommunitySafetyAsb, &[])?;
        let mh = mk_agency(conn, "[DEMO] Mental Health Trust", AgencyType::MentalHealth, &["[DEMO] CMHT"])?;

        let isa = NaiveDate::from_ymd_opt(2026, 1, 5);
        let members = |ids: &[crate::domain::AgencyId]| {
            ids.iter().map(|&agency_id| Member { agency_id, isa_signed_on: isa, active: true }).collect::<Vec<_>>()
        };
        let mk_panel = |conn: &mut PgConnection, kind, name: &str, settings: PanelSettings, m: Vec<Member>| {
            panel::create(
                conn,
                &PanelFields {
                    kind,
                    name: text(name),
                    local_area: text("[DEMO] Borough"),
                    meeting_cadence: if kind == PanelKind::Marac {
                        MeetingCadence::Fortnightly
                    } else {
                        MeetingCadence::Monthly
                    },
                    settings,
                    members: m,
                    active: true,
                },
            )
            .map(|p| p.id)
        };
        let marac: PanelId = mk_panel(
            conn,
            PanelKind::Marac,
            "[DEMO] Borough DA MARAC",
            PanelSettings { adult_female_population_16_plus: Some(140_000), ..PanelSettings::default() },
            members(&[police, idva, housing, csc, mh]),
        )?;
        let cmarac = mk_panel(
            conn,
            PanelKind::Cmarac,
            "[DEMO] Borough Community MARAC",
            PanelSettings {
                cmarac_high_risk_threshold: Some(31),
                reporting_year_start_month: 10,
                ..PanelSettings::default()
            },
            members(&[police, housing, council, mh]),
        )?;
        let jag = mk_panel(
            conn,
            PanelKind::Jag,
            "[DEMO] Borough Joint Action Group",
            PanelSettings::default(),
            members(&[police, housing, council]),
        )?;

        let people: Vec<DemoUser> = vec![
            ("admin@demo.confer.example", "[DEMO] Admin", None, vec![grant(Role::SystemAdmin, None)], "system admin"),
            (
                "coordinator@demo.confer.example",
                "[DEMO] Coordinator",
                Some(council),
                vec![
                    grant(Role::Coordinator, Some(marac)),
                    grant(Role::Coordinator, Some(cmarac)),
                    grant(Role::Coordinator, Some(jag)),
                ],
                "coordinator of all three panels",
            ),
            (
                "chair@demo.confer.example",
                "[DEMO] Chair",
                Some(police),
                vec![grant(Role::Chair, Some(marac))],
                "MARAC chair",
            ),
            (
                "police@demo.confer.example",
                "[DEMO] Police rep",
                Some(police),
                vec![
                    grant(Role::AgencyRep, Some(marac)),
                    grant(Role::AgencyRep, Some(cmarac)),
                    grant(Role::AgencyRep, Some(jag)),
                ],
                "police agency rep",
            ),
            (
                "idva@demo.confer.example",
                "[DEMO] IDVA",
                Some(idva),
                vec![grant(Role::Idva, Some(marac))],
                "IDVA on the MARAC",
            ),
            (
                "housing@demo.confer.example",
                "[DEMO] Housing rep",
                Some(housing),
                vec![grant(Role::AgencyRep, Some(marac)), grant(Role::AgencyRep, Some(cmarac))],
                "housing agency rep",
            ),
            (
                "manager@demo.confer.example",
                "[DEMO] Manager",
                None,
                vec![
                    grant(Role::Manager, Some(marac)),
                    grant(Role::Manager, Some(cmarac)),
                    grant(Role::Manager, Some(jag)),
                ],
                "manager (aggregates only)",
            ),
            ("auditor@demo.confer.example", "[DEMO] Auditor", None, vec![grant(Role::Auditor, None)], "auditor"),
        ];
        let mut logins = Vec::new();
        for (email, name, agency_id, roles, what) in people {
            user::create(
                conn,
                &NewUser {
                    email: Email::parse("email", email).expect("demo emails are valid"),
                    display_name: text(name),
                    agency_id,
                    password_hash: hash.clone(),
                    roles,
                    active: true,
                },
            )?;
            logins.push((email.to_owned(), what.to_owned()));
        }
        Ok(Some(logins))
    })
    .map_err(|e: crate::error::ApiError| anyhow::anyhow!("could not load demo data: {e}"))
}

/// Email, display name, organisation, roles, and what the login is for.
type DemoUser = (&'static str, &'static str, Option<crate::domain::AgencyId>, Vec<RoleGrant>, &'static str);

fn grant(role: Role, panel: Option<PanelId>) -> RoleGrant {
    RoleGrant::standing(role, panel)
}
