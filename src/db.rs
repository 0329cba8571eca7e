//! The one door to the database: the connection pool, the embedded migrations, and `run`, which
//! moves blocking diesel work onto actix's blocking pool with the request's span.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::web;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::config::Config;
use crate::error::ApiError;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

pub type PooledConn = PooledConnection<ConnectionManager<PgConnection>>;

/// How long, after a checkout found no database, later checkouts fail at once instead of each
/// waiting out the checkout timeout (SECURITY.md RE-4: 503 within a second or two in an outage).
const OUTAGE_HOLD: Duration = Duration::from_secs(2);

/// The connection pool, with a memory of the last outage.
#[derive(Clone)]
pub struct PgPool {
    pool: Pool<ConnectionManager<PgConnection>>,
    unreachable_until: Arc<Mutex<Option<Instant>>>,
    /// One permit per connection: database work waits for a connection here, as a future, not
    /// on a blocking thread. Without it a burst of requests took a blocking thread each (up to
    /// hundreds, each with its stack and allocator arena) only to queue for four connections.
    permits: Arc<tokio::sync::Semaphore>,
    checkout_timeout: Duration,
}

impl PgPool {
    /// A connection, or `Unavailable` at once while an outage is held, or after the checkout
    /// timeout. A timeout with no connection left in the pool means the database is gone (the
    /// pool tests each connection on checkout and drops dead ones), so the outage is held; a
    /// timeout with connections open is only a busy pool, and holds nothing.
    fn get(&self) -> Result<PooledConn, ApiError> {
        if self.unreachable_until.lock().unwrap_or_else(|e| e.into_inner()).is_some_and(|t| Instant::now() < t) {
            return Err(ApiError::Unavailable);
        }
        self.pool.get().map_err(|_| {
            if self.pool.state().connections == 0 {
                *self.unreachable_until.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now() + OUTAGE_HOLD);
            }
            ApiError::Unavailable
        })
    }
}

/// Time limits set on every connection the pool hands out (SECURITY.md IN-12).
#[derive(Debug, Clone)]
struct SessionLimits {
    statement_timeout: Duration,
    /// The role the service acts as (SECURITY.md AU-2); an identifier checked by `Config`.
    runtime_role: Option<String>,
}

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for SessionLimits {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        let ms = self.statement_timeout.as_millis();
        let role = self.runtime_role.as_ref().map(|r| format!("SET ROLE {r};")).unwrap_or_default();
        conn.batch_execute(&format!(
            "SET statement_timeout = {ms}; SET idle_in_transaction_session_timeout = {}; SET lock_timeout = {ms}; SET TIME ZONE 'UTC'; {role}",
            ms * 2
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Builds the pool without connecting: the service starts (and answers 503) while the database is
/// down, and recovers by itself when it returns.
pub fn pool(config: &Config) -> PgPool {
    pool_of(config, config.db_pool_size)
}

/// A pool of `size` connections with the service's session settings, for background work that
/// must not queue behind requests (the audit sealer).
pub fn pool_of(config: &Config, size: u32) -> PgPool {
    let manager = ConnectionManager::<PgConnection>::new(connect_url(config.database_url()));
    let pool = Pool::builder()
        .max_size(size)
        .min_idle(Some(0))
        .connection_timeout(config.db_checkout_timeout)
        .test_on_check_out(true)
        .connection_customizer(Box::new(SessionLimits {
            statement_timeout: config.db_statement_timeout,
            runtime_role: config.db_runtime_role.clone(),
        }))
        .build_unchecked(manager);
    PgPool {
        pool,
        unreachable_until: Arc::default(),
        permits: Arc::new(tokio::sync::Semaphore::new(size as usize)),
        checkout_timeout: config.db_checkout_timeout,
    }
}

/// Adds a connect timeout to the URL unless it names one, so a dead host cannot stall a checkout.
fn connect_url(url: &str) -> String {
    if url.contains("connect_timeout=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&connect_timeout=2")
    } else {
        format!("{url}?connect_timeout=2")
    }
}

/// Runs blocking database work off the async workers. A checkout timeout becomes 503.
pub async fn run<T, F>(pool: &PgPool, work: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut PgConnection) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    let permit = match tokio::time::timeout(pool.checkout_timeout, pool.permits.clone().acquire_owned()).await {
        Ok(Ok(permit)) => permit,
        _ => return Err(ApiError::Unavailable),
    };
    let pool = pool.clone();
    let span = tracing::Span::current();
    let joined = web::block(move || {
        let _entered = span.enter();
        let _permit = permit;
        let mut conn = pool.get()?;
        work(&mut conn)
    })
    .await;
    joined.map_err(|e| ApiError::Internal(anyhow::anyhow!("blocking database task failed: {e}")))?
}

/// Applies pending migrations; returns how many ran.
pub fn migrate(conn: &mut PgConnection) -> anyhow::Result<usize> {
    let applied = conn.run_pending_migrations(MIGRATIONS).map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
    Ok(applied.len())
}

#[derive(QueryableByName)]
struct AppliedVersion {
    #[diesel(sql_type = diesel::sql_types::Text)]
    version: String,
}

/// True when every embedded migration has been applied. Reads the migrations table directly, so
/// it works as the runtime role, which may not create it.
pub fn migrations_current(conn: &mut PgConnection) -> anyhow::Result<bool> {
    use diesel::migration::MigrationSource;
    let applied: Vec<String> = diesel::sql_query("SELECT version FROM __diesel_schema_migrations")
        .load::<AppliedVersion>(conn)?
        .into_iter()
        .map(|v| v.version)
        .collect();
    let embedded = MigrationSource::<diesel::pg::Pg>::migrations(&MIGRATIONS).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(embedded.iter().all(|m| applied.contains(&m.name().version().to_string())))
}

#[derive(QueryableByName)]
struct Setting {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    setting: String,
}

/// The durability settings that are off, if any (SECURITY.md RE-3).
pub fn non_durable_settings(conn: &mut PgConnection) -> QueryResult<Vec<String>> {
    let rows: Vec<Setting> = diesel::sql_query(
        "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'full_page_writes', 'synchronous_commit')",
    )
    .load(conn)?;
    Ok(rows.into_iter().filter(|s| s.setting == "off").map(|s| format!("{}={}", s.name, s.setting)).collect())
}

/// Readiness: a checkout, `SELECT 1` and the schema up to date.
pub fn ready(conn: &mut PgConnection) -> Result<(), ApiError> {
    diesel::sql_query("SELECT 1").execute(conn)?;
    if migrations_current(conn).map_err(ApiError::Internal)? { Ok(()) } else { Err(ApiError::Unavailable) }
}
