//! What every layer of a request may read: the application state, and the shape of the route
//! table (each route's grant). The table itself is declared in `startup`, the top of the tree,
//! and handed in here, so nothing below `startup` imports it.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crate::config::Config;
use crate::db::PgPool;
use crate::domain::{AuthUser, Role};
use crate::limits::RateLimiter;
use crate::tokens::Keyring;

/// Which roles may call a route. Deny by default: a route must name its grant in the route table.
#[derive(Debug, Clone, Copy)]
pub enum Grant {
    /// No credentials needed (sign-in, health).
    Public,
    /// Any signed-in, active user.
    AnyUser,
    /// A user holding at least one of these roles (on any panel; object rules narrow it further).
    Roles(&'static [Role]),
    /// As `Roles`, for routes that touch case data: every request leaves exactly one audit event
    /// (the handler's, through `audit::audited`, or the gate's backstop, `audit::refusal`).
    CaseData(&'static [Role]),
}

impl Grant {
    pub fn allows(&self, user: &AuthUser) -> bool {
        match self {
            Grant::Public | Grant::AnyUser => true,
            Grant::Roles(roles) | Grant::CaseData(roles) => user.roles.iter().any(|held| roles.contains(&held.role)),
        }
    }
}

pub struct AppState {
    /// The route table, read by the gate for each request's grant.
    pub routes: &'static [RouteSpec],
    pub pool: PgPool,
    pub keys: Keyring,
    pub json_body_limit: usize,
    pub limiter: RateLimiter,
    /// Bounds the password hashes in flight (each argon2 run holds 19 MiB).
    pub hash_slots: crate::passwords::HashSlots,
    /// Proxies whose `X-Forwarded-For` is believed, for per-source sign-in throttling.
    pub trusted_proxies: Vec<crate::source::IpBlock>,
    /// Set on SIGTERM: readiness answers 503 while in-flight requests finish.
    pub draining: Arc<AtomicBool>,
}

impl AppState {
    /// The state of a service answering the routes of `routes` (`startup::ROUTES`).
    pub fn new(config: &Config, pool: PgPool, routes: &'static [RouteSpec]) -> Self {
        Self {
            routes,
            pool,
            keys: Keyring::from_config(config),
            json_body_limit: config.json_body_limit,
            limiter: RateLimiter::new(config.reads_per_minute, config.writes_per_minute),
            hash_slots: crate::passwords::HashSlots::new(config.password_hashes_in_flight),
            trusted_proxies: config.trusted_proxies.clone(),
            draining: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl AppState {
    /// The route serving `method` on the matched `pattern`, if any.
    pub fn route(&self, pattern: &str, method: &str) -> Option<&'static RouteSpec> {
        self.routes.iter().find(|r| r.path == pattern && r.method == method)
    }
}

/// One routed operation: the method, the path pattern (as in `openapi.yaml`), the handler's name
/// (the `operationId`) and who may call it.
#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    pub operation_id: &'static str,
    pub grant: Grant,
}
