//! Application state, THE route table (paths, methods, handlers and grants in one place) and the
//! server. Tests build the app through the same `configure` as `main`.

use std::net::TcpListener;

use actix_web::body::BoxBody;
use actix_web::dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpResponse, HttpServer, web};

use std::sync::atomic::Ordering;

use crate::auth::gate;
use crate::config::Config;
use crate::domain::Role;
use crate::error::ApiError;
use crate::extract::path_config;
use crate::request_context;
use crate::routes::{
    actions, agencies, alerts, assessments, audit, auth, cases, closures, community_triggers, data_quality, exclusions,
    governance, grants, health, imports, location_cases, meetings, metrics, panels, participants, people,
    person_details, policy, research_notes, retention, share_decisions, transfers, users,
};
use crate::state::{AppState, Grant, RouteSpec};

const ADMIN: Grant = Grant::Roles(&[Role::SystemAdmin]);
/// Roles that work with case content; which cases each sees is the object rule's business.
const CASE_WORK: Grant = Grant::CaseData(&[Role::Coordinator, Role::Chair, Role::AgencyRep, Role::Idva]);
/// Panel staff: screening, closure and imports.
const PANEL_STAFF: Grant = Grant::CaseData(&[Role::Coordinator, Role::Chair]);
/// Information-governance work on a case (legal holds, share decisions): panel staff and the
/// governance role.
const GOVERNANCE: Grant = Grant::CaseData(&[Role::Coordinator, Role::Chair, Role::InformationGovernance]);
/// The directory of organisations and panels: everyone but managers, who reach only aggregates.
const DIRECTORY: Grant =
    Grant::Roles(&[Role::SystemAdmin, Role::Coordinator, Role::Chair, Role::AgencyRep, Role::Idva, Role::Auditor]);

/// Declares the route table once and derives from it both `ROUTES` (read by the auth gate, the
/// OpenAPI contract test and the grant tests) and `register` (the actix resources). Each path is
/// one `web::resource`, so a method it does not serve answers 405 with `Allow`.
macro_rules! route_table {
    ($($path:literal => { $($method:ident $module:ident :: $handler:ident => $grant:expr),+ $(,)? }),+ $(,)?) => {
        pub const ROUTES: &[RouteSpec] = &[
            $($(RouteSpec { method: stringify!($method), path: $path, operation_id: stringify!($handler), grant: $grant },)+)+
        ];

        fn register(cfg: &mut web::ServiceConfig) {
            $(
                cfg.service(
                    web::resource($path)
                        $(.route(web::method(actix_web::http::Method::$method).to($module::$handler)))+
                        .default_service(web::to(|| async {
                            HttpResponse::MethodNotAllowed()
                                .insert_header((actix_web::http::header::ALLOW, [$(stringify!($method)),+].join(", ")))
                                .finish()
                        })),
                );
            )+
        }
    };
}

route_table! {
    "/health/live" => { GET health::live => Grant::Public },
    "/health/ready" => { GET health::ready => Grant::Public },
    "/api/v1/auth/login" => { POST auth::login => Grant::Public },
    "/api/v1/auth/refresh" => { POST auth::refresh => Grant::Public },
    "/api/v1/auth/logout" => { POST auth::logout => Grant::AnyUser },
    "/api/v1/auth/logout-all" => { POST auth::logout_all => Grant::AnyUser },
    "/api/v1/me" => { GET auth::get_me => Grant::AnyUser },
    "/api/v1/agencies" => {
        GET agencies::list_agencies => DIRECTORY,
        POST agencies::create_agency => ADMIN,
    },
    "/api/v1/agencies/{agency_id}" => {
        GET agencies::get_agency => DIRECTORY,
        PATCH agencies::update_agency => ADMIN,
    },
    "/api/v1/users" => {
        GET users::list_users => ADMIN,
        POST users::create_user => ADMIN,
    },
    "/api/v1/users/{user_id}" => {
        GET users::get_user => ADMIN,
        PATCH users::update_user => ADMIN,
    },
    "/api/v1/panels" => {
        GET panels::list_panels => DIRECTORY,
        POST panels::create_panel => ADMIN,
    },
    "/api/v1/panels/{panel_id}" => {
        GET panels::get_panel => DIRECTORY,
        PATCH panels::update_panel => ADMIN,
    },
    "/api/v1/panels/{panel_id}/users" => {
        GET panels::list_panel_users => Grant::Roles(&[Role::Coordinator, Role::Chair])
    },
    "/api/v1/panels/{panel_id}/imports" => { POST imports::import_cases => PANEL_STAFF },
    "/api/v1/panels/{panel_id}/register" => { GET imports::export_register => PANEL_STAFF },
    "/api/v1/panels/{panel_id}/community-triggers" => {
        GET community_triggers::list_community_triggers => PANEL_STAFF,
        POST community_triggers::create_community_trigger => PANEL_STAFF,
    },
    "/api/v1/panels/{panel_id}/community-triggers/{trigger_id}" => {
        GET community_triggers::get_community_trigger => PANEL_STAFF,
        PATCH community_triggers::update_community_trigger => PANEL_STAFF,
    },
    "/api/v1/panels/{panel_id}/data-quality" => { GET data_quality::list_data_quality => PANEL_STAFF },
    "/api/v1/panels/{panel_id}/data-quality/{flag_id}/resolve" => {
        POST data_quality::resolve_data_quality => PANEL_STAFF
    },
    "/api/v1/cases" => {
        GET cases::list_cases => CASE_WORK,
        POST cases::create_case => CASE_WORK,
    },
    "/api/v1/cases/{case_id}" => {
        GET cases::get_case => CASE_WORK,
        PATCH cases::update_case => CASE_WORK,
    },
    "/api/v1/cases/{case_id}/history" => { GET cases::get_case_history => CASE_WORK },
    "/api/v1/cases/{case_id}/participants" => { POST participants::add_participant => CASE_WORK },
    "/api/v1/cases/{case_id}/participants/{person_id}" => { PATCH participants::update_participant => CASE_WORK },
    "/api/v1/cases/{case_id}/participants/{person_id}/end" => { POST participants::end_participant => CASE_WORK },
    "/api/v1/cases/{case_id}/exclusions" => {
        GET exclusions::list_exclusions => PANEL_STAFF,
        POST exclusions::create_exclusion => PANEL_STAFF,
    },
    "/api/v1/cases/{case_id}/exclusions/{exclusion_id}" => { DELETE exclusions::lift_exclusion => PANEL_STAFF },
    "/api/v1/cases/{case_id}/grants" => {
        GET grants::list_grants => PANEL_STAFF,
        POST grants::create_grant => PANEL_STAFF,
    },
    "/api/v1/cases/{case_id}/grants/{grant_id}" => { DELETE grants::revoke_grant => PANEL_STAFF },
    "/api/v1/cases/{case_id}/problem-solving" => {
        GET location_cases::get_problem_solving => CASE_WORK,
        PATCH location_cases::update_problem_solving => CASE_WORK,
    },
    "/api/v1/cases/{case_id}/interventions" => {
        GET location_cases::list_interventions => CASE_WORK,
        POST location_cases::create_intervention => CASE_WORK,
    },
    "/api/v1/cases/{case_id}/links" => {
        GET location_cases::list_links => CASE_WORK,
        POST location_cases::create_link => PANEL_STAFF,
    },
    "/api/v1/cases/{case_id}/share-decisions" => {
        GET share_decisions::list_share_decisions => GOVERNANCE,
        POST share_decisions::create_share_decision => GOVERNANCE,
    },
    "/api/v1/cases/{case_id}/restriction" => {
        POST governance::restrict_case => GOVERNANCE,
        DELETE governance::lift_case_restriction => GOVERNANCE,
    },
    "/api/v1/cases/{case_id}/legal-holds" => { GET retention::list_legal_holds => GOVERNANCE },
    "/api/v1/cases/{case_id}/legal-hold" => {
        POST retention::place_legal_hold => GOVERNANCE,
        DELETE retention::lift_legal_hold => GOVERNANCE,
    },
    "/api/v1/cases/{case_id}/research-notes" => {
        GET research_notes::list_research_notes => CASE_WORK,
        POST research_notes::create_research_note => CASE_WORK,
    },
    "/api/v1/cases/{case_id}/transfer" => { POST transfers::transfer_case => PANEL_STAFF },
    "/api/v1/cases/{case_id}/transfer-pack" => { GET transfers::get_transfer_pack => PANEL_STAFF },
    "/api/v1/cases/{case_id}/transfer-pack.html" => { GET transfers::get_transfer_pack_html => PANEL_STAFF },
    "/api/v1/cases/{case_id}/transitions" => { POST cases::transition_case => PANEL_STAFF },
    "/api/v1/cases/{case_id}/closure" => { POST closures::close_case => PANEL_STAFF },
    "/api/v1/cases/{case_id}/closure-requests" => { GET closures::list_closure_requests => PANEL_STAFF },
    "/api/v1/cases/{case_id}/closure-requests/{request_id}/decision" => {
        POST closures::decide_closure_request => PANEL_STAFF
    },
    "/api/v1/cases/{case_id}/reopen" => { POST cases::reopen_case => PANEL_STAFF },
    "/api/v1/cases/{case_id}/risk-assessments" => {
        GET assessments::list_risk_assessments => CASE_WORK,
        POST assessments::create_risk_assessment => CASE_WORK,
    },
    "/api/v1/people/matches" => { POST people::match_people => CASE_WORK },
    "/api/v1/people/{person_id}" => {
        GET people::get_person => CASE_WORK,
        PATCH people::update_person => CASE_WORK,
    },
    "/api/v1/people/{person_id}/history" => { GET people::get_person_history => CASE_WORK },
    "/api/v1/people/{person_id}/dates-of-birth" => { POST person_details::add_date_of_birth => CASE_WORK },
    "/api/v1/people/{person_id}/addresses" => { POST person_details::add_address => CASE_WORK },
    "/api/v1/panels/{panel_id}/metrics" => {
        GET metrics::panel_metrics => Grant::Roles(&[Role::Manager, Role::Coordinator, Role::Chair])
    },
    "/api/v1/panels/{panel_id}/reports/safelives-return" => {
        GET metrics::safelives_return => Grant::Roles(&[Role::Manager, Role::Coordinator, Role::Chair])
    },
    "/api/v1/metrics/compare" => {
        GET metrics::compare_panels => Grant::Roles(&[Role::Manager, Role::Coordinator, Role::Chair])
    },
    "/api/v1/audit" => { GET audit::list_audit_events => Grant::Roles(&[Role::Auditor]) },
    "/api/v1/alerts" => { GET alerts::list_alerts => Grant::Roles(&[Role::Auditor, Role::Coordinator]) },
    "/api/v1/governance/processing" => {
        GET governance::get_processing_record => Grant::Roles(&[Role::InformationGovernance])
    },
    "/api/v1/panels/{panel_id}/rights-requests" => {
        GET governance::list_rights_requests => Grant::Roles(&[Role::InformationGovernance]),
        POST governance::create_rights_request => Grant::Roles(&[Role::InformationGovernance]),
    },
    "/api/v1/panels/{panel_id}/rights-requests/{request_id}" => {
        PATCH governance::update_rights_request => Grant::Roles(&[Role::InformationGovernance])
    },
    "/api/v1/retention" => {
        GET retention::get_retention => Grant::Roles(&[Role::SystemAdmin, Role::InformationGovernance])
    },
    "/api/v1/retention/{panel_kind}" => { PUT retention::put_retention_policy => ADMIN },
    "/api/v1/panels/{panel_id}/retention" => { PUT retention::put_panel_retention => ADMIN },
    "/api/v1/field-policy" => {
        GET policy::get_field_policy => Grant::Roles(&[Role::SystemAdmin, Role::Auditor]),
        PUT policy::put_field_policy => ADMIN,
    },
    "/api/v1/panels/{panel_id}/meetings" => {
        GET meetings::list_meetings => CASE_WORK,
        POST meetings::create_meeting => PANEL_STAFF,
    },
    "/api/v1/panels/{panel_id}/meetings.ics" => { GET meetings::meetings_calendar => CASE_WORK },
    "/api/v1/meetings/{meeting_id}" => {
        GET meetings::get_meeting => CASE_WORK,
        PATCH meetings::update_meeting => PANEL_STAFF,
    },
    "/api/v1/meetings/{meeting_id}/transitions" => { POST meetings::transition_meeting => PANEL_STAFF },
    "/api/v1/meetings/{meeting_id}/agenda" => {
        GET meetings::get_agenda => CASE_WORK,
        PUT meetings::put_agenda => PANEL_STAFF,
    },
    "/api/v1/meetings/{meeting_id}/agenda/build" => { POST meetings::build_agenda => PANEL_STAFF },
    "/api/v1/meetings/{meeting_id}/attendance" => {
        GET meetings::list_attendance => CASE_WORK,
        POST meetings::record_attendance => PANEL_STAFF,
    },
    "/api/v1/meetings/{meeting_id}/acknowledgement" => { POST meetings::acknowledge_confidentiality => CASE_WORK },
    "/api/v1/meetings/{meeting_id}/items/{item_id}/notes" => {
        GET meetings::list_notes => CASE_WORK,
        POST meetings::add_note => PANEL_STAFF,
    },
    "/api/v1/meetings/{meeting_id}/minutes" => {
        GET meetings::get_minutes => CASE_WORK,
        PUT meetings::put_minutes => PANEL_STAFF,
    },
    "/api/v1/meetings/{meeting_id}/minutes/circulate" => { POST meetings::circulate_minutes => PANEL_STAFF },
    "/api/v1/meetings/{meeting_id}/pack" => { GET meetings::get_pack => CASE_WORK },
    "/api/v1/cases/{case_id}/actions" => {
        GET actions::list_case_actions => CASE_WORK,
        POST actions::create_action => CASE_WORK,
    },
    "/api/v1/actions/{action_id}" => {
        GET actions::get_action => CASE_WORK,
        PATCH actions::update_action => CASE_WORK,
    },
    "/api/v1/actions/{action_id}/updates" => {
        GET actions::list_action_updates => CASE_WORK,
        POST actions::add_action_update => CASE_WORK,
    },
    "/api/v1/agencies/{agency_id}/actions" => { GET actions::agency_actions => CASE_WORK },
}

/// Everything an `App` needs, shared by `main` and the tests.
pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<AppState>) {
    let limit = state.json_body_limit;
    cfg.app_data(state)
        .app_data(web::PayloadConfig::new(limit))
        .app_data(path_config())
        .configure(register)
        .default_service(web::to(|| async { ApiError::NotFound.into_response() }));
}

impl ApiError {
    fn into_response(self) -> HttpResponse {
        actix_web::ResponseError::error_response(&self)
    }
}

/// The application. Middleware order: `request_context` wraps everything, then `gate`
/// (authentication, function grants, the request's connection and transaction, the backstop
/// audit event), which runs before any handler or extractor.
pub fn app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new().wrap(from_fn(gate)).wrap(from_fn(request_context::middleware)).configure(|cfg| configure(cfg, state))
}

/// Builds the HTTP server on `listener`.
/// Signals are handled here rather than by actix-server, so that SIGTERM first flips readiness
/// to 503 and keeps serving for the drain delay (a balancer polling readiness stops sending, and
/// connections already queued are served), then stops accepting and lets in-flight requests
/// finish (SECURITY.md RE-5).
pub fn server(listener: TcpListener, config: &Config, state: AppState) -> std::io::Result<Server> {
    let draining = state.draining.clone();
    let drain_delay = config.shutdown_drain_delay;
    // Its own connection: behind 32 queued requests a pooled one arrives too late, or not at all.
    actix_web::rt::spawn(seal_audit_events(crate::db::pool_of(config, 1)));
    actix_web::rt::spawn(erase_expired_cases(crate::db::pool_of(config, 1)));
    let state = web::Data::new(state);
    let mut server = HttpServer::new(move || app(state.clone()))
        .listen(listener)?
        .disable_signals()
        .shutdown_timeout(config.shutdown_timeout.as_secs());
    if config.workers > 0 {
        server = server.workers(config.workers);
    }
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(async move {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                return;
            }
        };
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: draining"),
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: draining"),
        }
        draining.store(true, Ordering::SeqCst);
        tokio::time::sleep(drain_delay).await;
        handle.stop(true).await;
    });
    Ok(server)
}

/// How often `serve` runs the erasure job (issue 15, DP-2); its first run is a minute after start.
const RETENTION_INTERVAL: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// Runs the erasure job (`retention::run`) as of today's London date, for as long as the server
/// runs. Several servers may run it at once: each takes only cases no other holds.
async fn erase_expired_cases(pool: crate::db::PgPool) {
    let mut wait = std::time::Duration::from_secs(60);
    loop {
        tokio::time::sleep(wait).await;
        wait = RETENTION_INTERVAL;
        let ran = crate::db::run(&pool, |conn| {
            let today = crate::models::action::london_today(conn)?;
            crate::retention::run(conn, today, false)
        })
        .await;
        if let Err(e) = ran {
            tracing::warn!(error = %e, "retention: the erasure job did not run; it runs again later");
        }
    }
}

/// Links newly written audit events into the hash chain every `audit::SEAL_INTERVAL`, for as long
/// as the server runs. A failure (the database away) is logged once, then retried quietly.
async fn seal_audit_events(pool: crate::db::PgPool) {
    let mut failing = false;
    loop {
        tokio::time::sleep(crate::audit::SEAL_INTERVAL).await;
        match crate::db::run(&pool, |conn| Ok(crate::audit::seal(conn)?)).await {
            Ok(_) if failing => {
                tracing::info!("audit sealer: sealing again");
                failing = false;
            }
            Ok(_) => {}
            Err(e) if !failing => {
                tracing::warn!(error = %e, "audit sealer: cannot seal now; retrying");
                failing = true;
            }
            Err(_) => {}
        }
    }
}
