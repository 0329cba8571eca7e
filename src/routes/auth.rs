//! Sign-in, token refresh, sign-out and the caller's own account.

use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::audit::{Audit, Event, audited};
use crate::db::Db;
use crate::domain::{AgencyId, AgencyType, AuditAction, AuditOutcome, AuthUser, Problems, RoleDto, SessionId, UserId};
use crate::error::ApiError;
use crate::extract::Json;
use crate::models::session::{self as sessions, Rotation, Throttle};
use crate::models::{agency, user};
use crate::passwords as password;
use crate::state::AppState;
use diesel::Connection;

/// The longest password a sign-in accepts; longer ones cannot have been set.
const MAX_LOGIN_PASSWORD_CHARS: usize = 128;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    email: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    refresh_token: String,
}

#[derive(Serialize)]
pub struct TokenResponse {
    access_token: String,
    refresh_token: String,
    token_type: &'static str,
    expires_in: u64,
}

fn tokens(
    state: &AppState,
    user: UserId,
    session: SessionId,
    cutoff: chrono::DateTime<chrono::Utc>,
    refresh_token: String,
) -> Result<HttpResponse, ApiError> {
    let access_token = state.keys.issue(user, session, cutoff)?;
    Ok(HttpResponse::Ok().json(TokenResponse {
        access_token,
        refresh_token,
        token_type: "Bearer",
        expires_in: state.keys.ttl().as_secs(),
    }))
}

/// POST /api/v1/auth/login
pub async fn login(
    state: web::Data<AppState>,
    db: Db,
    req: HttpRequest,
    audit: Audit,
    body: Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let LoginRequest { email, password } = body.into_inner();
    let mut problems = Problems::default();
    let email = email.trim().to_lowercase();
    if email.is_empty() {
        problems.push("email", "blank");
    } else if email.chars().count() > 254 {
        problems.push("email", "too_long");
    }
    if password.is_empty() {
        problems.push("password", "blank");
    } else if password.chars().count() > MAX_LOGIN_PASSWORD_CHARS {
        problems.push("password", "too_long");
    }
    problems.finish(|| Some(()))?;
    let password = SecretString::from(password);
    let key = sessions::throttle_key(&email);
    let source = sessions::source_key(source_address(&req, &state));

    // Each attempt is claimed against both throttles before any verification (SECURITY.md AN-2).
    let (account, claimed) = db
        .run({
            let (key, source) = (key.clone(), source.clone());
            move |conn| {
                conn.transaction(|conn| {
                    let claimed = match sessions::claim_login_attempt(conn, &source, Throttle::Source)? {
                        Ok(()) => sessions::claim_login_attempt(conn, &key, Throttle::Account)?,
                        refused => refused,
                    };
                    Ok((sessions::find_login_account(conn, &email)?, claimed))
                })
            }
        })
        .await?;
    if let Err(retry_after_secs) = claimed {
        let audit = audit.as_user(account.as_ref().map(|a| a.id));
        audited(&db, audit, |_| Ok(((), sign_in_event(Vec::new(), AuditOutcome::DeniedFunction)))).await?;
        return Err(ApiError::RateLimited { retry_after_secs });
    }

    let stored = account.as_ref().map(|a| a.password_hash.clone());
    let (matches, rehash) = state
        .hash_slots
        .run(move |memory| {
            let matches = password::verify_in(memory, &password, stored.as_deref());
            let rehash = match stored.as_deref() {
                Some(s) if matches && password::needs_rehash(s) => password::hash(&password).ok(),
                _ => None,
            };
            (matches, rehash)
        })
        .await?;

    match account {
        Some(account) if matches && account.active => {
            let audit = audit.as_user(Some(account.id));
            let (session, refresh_token) = audited(&db, audit, move |conn| {
                sessions::clear_login_failures(conn, &key)?;
                sessions::forgive_source_attempt(conn, &source)?;
                if let Some(hash) = rehash {
                    sessions::replace_password_hash(conn, account.id, &hash)?;
                }
                let (session, token) = sessions::start_session(conn, account.id)?;
                Ok(((session, token), sign_in_event(vec![session.0], AuditOutcome::Ok)))
            })
            .await?;
            tracing::info!(user.id = %account.id, session.id = %session, "signed in");
            tokens(&state, account.id, session, account.tokens_valid_after, refresh_token)
        }
        _ => {
            let audit = audit.as_user(account.as_ref().map(|a| a.id));
            audited(&db, audit, |_| Ok(((), sign_in_event(Vec::new(), AuditOutcome::DeniedFunction)))).await?;
            tracing::info!("sign-in refused");
            Err(ApiError::InvalidCredentials)
        }
    }
}

/// The address a sign-in comes from: the peer, or behind a trusted proxy the client it names.
fn source_address(req: &HttpRequest, state: &AppState) -> std::net::IpAddr {
    let peer = req.peer_addr().map_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), |a| a.ip());
    let forwarded: Vec<&str> = req.headers().get_all("x-forwarded-for").filter_map(|v| v.to_str().ok()).collect();
    crate::source::client_address(peer, &forwarded, &state.trusted_proxies)
}

fn sign_in_event(sessions: Vec<uuid::Uuid>, outcome: AuditOutcome) -> Event {
    Event::ok(AuditAction::Authenticate, "session", sessions).with_outcome(outcome)
}

/// POST /api/v1/auth/refresh
pub async fn refresh(
    state: web::Data<AppState>,
    db: Db,
    audit: Audit,
    body: Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let presented = body.into_inner().refresh_token;
    if presented.is_empty() || presented.len() > 256 {
        return Err(ApiError::Unauthenticated);
    }
    match db.run(move |conn| Ok(sessions::rotate_refresh_token(conn, &presented)?)).await? {
        Rotation::Rotated { user, session, tokens_valid_after, refresh_token } => {
            tokens(&state, user, session, tokens_valid_after, refresh_token)
        }
        Rotation::Reused { user, session } => {
            tracing::warn!(user.id = %user, session.id = %session, "refresh token reused: session revoked");
            let audit = audit.as_user(Some(user));
            audited(&db, audit, move |_| Ok(((), sign_in_event(vec![session.0], AuditOutcome::DeniedFunction))))
                .await?;
            Err(ApiError::Unauthenticated)
        }
        Rotation::Invalid => Err(ApiError::Unauthenticated),
    }
}

/// POST /api/v1/auth/logout: ends this session (its refresh tokens and access tokens).
pub async fn logout(db: Db, user: AuthUser) -> Result<HttpResponse, ApiError> {
    db.run(move |conn| Ok(sessions::end_session(conn, user.session_id, "logout")?)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// POST /api/v1/auth/logout-all: ends every session of the caller and cuts off every token.
pub async fn logout_all(db: Db, user: AuthUser) -> Result<HttpResponse, ApiError> {
    db.run(move |conn| Ok(sessions::revoke_all(conn, user.user_id, "logout_all")?)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize)]
pub struct AgencySummary {
    id: AgencyId,
    name: String,
    agency_type: AgencyType,
}

#[derive(Serialize)]
pub struct MeResponse {
    id: UserId,
    email: String,
    display_name: String,
    agency: Option<AgencySummary>,
    roles: Vec<RoleDto>,
}

/// GET /api/v1/me
pub async fn get_me(db: Db, user: AuthUser) -> Result<HttpResponse, ApiError> {
    let me = db
        .run(move |conn| {
            let row = user::get(conn, user.user_id)?;
            let agency = match row.agency_id {
                Some(id) => {
                    let a = agency::get(conn, id)?;
                    Some(AgencySummary { id: a.id, name: a.name, agency_type: a.agency_type })
                }
                None => None,
            };
            Ok(MeResponse {
                id: row.id,
                email: row.email,
                display_name: row.display_name,
                agency,
                roles: user.roles.iter().map(RoleDto::render).collect(),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(me))
}
