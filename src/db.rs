//! The one door to the database: the connection pool, the embedded migrations, and the request's
//! database handle `Db`.
//!
//! A signed-in request runs its session check on a pooled connection it gives back at once
//! (`Db::open`); its first database step then takes the connection the request holds to its
//! answer: every step runs on it, in one transaction the first step begins, committed by the last
//! (`Db::last_step`, which `audit::audited` uses) or, if left open, by the gate when the answer is a
//! success, and rolled back otherwise (`Db::finish`). Work runs on actix's blocking pool with the request's span. Public routes
//! (sign-in, health) take a connection from the pool for each step instead: they hash passwords
//! between steps, and must not hold a connection while they do.
//!
//! Connections are not tested on checkout. One that fails (the server went away, a statement
//! timed out, anything unexpected) is evicted when it is handed back, so a dead connection costs
//! the one request that found it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::web;
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::r2d2::{ManageConnection, Pool, PooledConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use tokio::sync::OwnedSemaphorePermit;

use crate::config::Config;
use crate::error::ApiError;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

type Pooled = PooledConnection<Manager>;

/// How long, after a checkout found no database, later checkouts fail at once instead of each
/// waiting out the checkout timeout (SECURITY.md RE-4: 503 within a second or two in an outage).
const OUTAGE_HOLD: Duration = Duration::from_secs(2);

/// A pooled connection and whether it failed in use (then the pool drops it when handed back).
pub struct Conn {
    pg: PgConnection,
    failed: bool,
}

/// Opens connections with the service's session settings, and drops the ones that failed, were
/// handed back inside a transaction, or were in use when a thread panicked.
#[derive(Debug)]
struct Manager {
    url: String,
    limits: SessionLimits,
}

impl ManageConnection for Manager {
    type Connection = Conn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Conn, Self::Error> {
        let mut pg = PgConnection::establish(&self.url).map_err(diesel::r2d2::Error::ConnectionError)?;
        self.limits.apply(&mut pg).map_err(diesel::r2d2::Error::QueryError)?;
        Ok(Conn { pg, failed: false })
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), Self::Error> {
        conn.pg.batch_execute("SELECT 1").map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.failed || std::thread::panicking() || AnsiTransactionManager::is_broken_transaction_manager(&mut conn.pg)
    }
}

/// The connection pool, with a memory of the last outage.
#[derive(Clone)]
pub struct PgPool {
    pool: Pool<Manager>,
    unreachable_until: Arc<Mutex<Option<Instant>>>,
    /// One permit per connection: database work waits for a connection here, as a future, not
    /// on a blocking thread. Without it a burst of requests took a blocking thread each (up to
    /// hundreds, each with its stack and allocator arena) only to queue for four connections.
    permits: Arc<tokio::sync::Semaphore>,
    /// How long a request may queue for a permit while the pool is busy: as long as a statement
    /// may run. Longer than the checkout timeout, which detects a database that is gone (an
    /// outage still answers 503 within it: its checkouts fail at once, so permits turn over).
    queue_timeout: Duration,
}

impl PgPool {
    /// A permit to check out a connection, waited for as a future; `Unavailable` after the
    /// queue timeout.
    async fn permit(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        match tokio::time::timeout(self.queue_timeout, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(ApiError::Unavailable),
        }
    }

    /// A connection, or `Unavailable` at once while an outage is held, or after the checkout
    /// timeout. A timeout with no connection left in the pool means the database is gone (failed
    /// connections are evicted), so the outage is held; a timeout with connections open is only a
    /// busy pool, and holds nothing.
    fn get(&self) -> Result<Pooled, ApiError> {
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

/// Time limits set on every connection the pool opens (SECURITY.md IN-12).
#[derive(Debug, Clone)]
struct SessionLimits {
    statement_timeout: Duration,
    /// The role the service acts as (SECURITY.md AU-2); an identifier checked by `Config`.
    runtime_role: Option<String>,
}

impl SessionLimits {
    fn apply(&self, conn: &mut PgConnection) -> QueryResult<()> {
        let ms = self.statement_timeout.as_millis();
        let role = self.runtime_role.as_ref().map(|r| format!("SET ROLE {r};")).unwrap_or_default();
        conn.batch_execute(&format!(
            "SET statement_timeout = {ms}; SET idle_in_transaction_session_timeout = {}; SET lock_timeout = {ms}; SET TIME ZONE 'UTC'; {role}",
            ms * 2
        ))
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
    let manager = Manager {
        url: connect_url(config.database_url()),
        limits: SessionLimits {
            statement_timeout: config.db_statement_timeout,
            runtime_role: config.db_runtime_role.clone(),
        },
    };
    let pool = Pool::builder()
        .max_size(size)
        .min_idle(Some(0))
        .connection_timeout(config.db_checkout_timeout)
        .test_on_check_out(false)
        .build_unchecked(manager);
    PgPool {
        pool,
        unreachable_until: Arc::default(),
        permits: Arc::new(tokio::sync::Semaphore::new(size as usize)),
        queue_timeout: config.db_statement_timeout.max(config.db_checkout_timeout),
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

/// Runs `work` on `conn`, marking the connection failed if the work failed in a way that may
/// have left it unusable (the database away, a time limit, anything not a client's mistake).
fn work_on<T>(conn: &mut Conn, work: impl FnOnce(&mut PgConnection) -> Result<T, ApiError>) -> Result<T, ApiError> {
    let out = work(&mut conn.pg);
    if matches!(out, Err(ApiError::Unavailable | ApiError::Internal(_))) {
        conn.failed = true;
    }
    out
}

/// Runs blocking database work off the async workers on a connection of its own. A checkout
/// timeout becomes 503.
pub async fn run<T, F>(pool: &PgPool, work: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut PgConnection) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    let permit = pool.permit().await?;
    let pool = pool.clone();
    let span = tracing::Span::current();
    let joined = web::block(move || {
        let _entered = span.enter();
        let _permit = permit;
        let mut conn = pool.get()?;
        work_on(&mut conn, work)
    })
    .await;
    joined.map_err(|e| ApiError::Internal(anyhow::anyhow!("blocking database task failed: {e}")))?
}

/// A request's way to the database: its held connection (signed-in requests), or the pool.
#[derive(Clone)]
pub enum Db {
    Held(Arc<Mutex<Held>>),
    Pool(PgPool),
}

/// The connection a request's transaction runs on, taken at its first step and held, with the
/// permit it was checked out under, until the gate gives both back (`release`).
pub struct Held {
    pool: PgPool,
    conn: Option<Pooled>,
    stage: Stage,
    permit: Option<OwnedSemaphorePermit>,
}

/// Whether a step on the held connection leaves the request's transaction open or ends it.
#[derive(Clone, Copy)]
enum Then {
    KeepOpen,
    /// Commit if `commit` and the step succeeded; roll back otherwise.
    End {
        commit: bool,
    },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Not begun: the request's transaction takes its connection and begins with its first step.
    Open,
    InTransaction,
    /// Committed or rolled back: later steps (a refusal's audit event) run on their own.
    Finished,
}

impl Db {
    /// Runs `first` (the session check) on a connection of its own, outside the request's
    /// transaction (its rate-limit token is spent even if the request then fails), and returns
    /// the request's handle; its transaction takes a connection at its first step. A connection
    /// that fails in `first` had died while idle (the server restarted, or ended it): it is
    /// evicted and `first` tried on another, at most once per connection the pool holds, so idle
    /// connections that died cost no request.
    ///
    /// The session check's connection is given back at once rather than held for the handler:
    /// between the two the request is on the async workers (extractors, the handler's own code),
    /// and a connection held idle there made 50 clients racing on 4 connections wait past the
    /// checkout timeout (SECURITY.md F8).
    pub async fn open<T, F>(pool: &PgPool, first: F) -> Result<(Db, T), ApiError>
    where
        F: Fn(&mut PgConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let permit = pool.permit().await?;
        let checkout = pool.clone();
        let span = tracing::Span::current();
        let joined = web::block(move || {
            let _entered = span.enter();
            let _permit = permit;
            let mut tries = 0;
            loop {
                let mut conn = checkout.get()?;
                match work_on(&mut conn, &first) {
                    Err(ApiError::Unavailable) if tries < checkout.pool.max_size() => tries += 1,
                    out => return out,
                }
            }
        })
        .await;
        let out = joined.map_err(|e| ApiError::Internal(anyhow::anyhow!("blocking database task failed: {e}")))??;
        let held = Held { pool: pool.clone(), conn: None, stage: Stage::Open, permit: None };
        Ok((Db::Held(Arc::new(Mutex::new(held))), out))
    }

    /// Runs `work` inside the request's transaction (a held connection), or on a pooled
    /// connection of its own outside any transaction (public routes).
    pub async fn run<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        match self {
            Db::Pool(pool) => run(pool, work).await,
            Db::Held(held) => Self::on_held(held, work, Then::KeepOpen).await,
        }
    }

    /// As `run`, and all-or-nothing: on the pool, in a transaction of its own.
    pub async fn transaction<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        match self {
            Db::Pool(pool) => run(pool, move |conn| conn.transaction(work)).await,
            Db::Held(held) => Self::on_held(held, work, Then::KeepOpen).await,
        }
    }

    /// The request's last database step: `work`, then the request's transaction committed (or
    /// rolled back if `work` failed) in the same trip to the blocking pool. Later steps, if any,
    /// run outside a transaction. A commit that fails answers `Unavailable`.
    pub async fn last_step<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        match self {
            Db::Pool(pool) => run(pool, move |conn| conn.transaction(work)).await,
            Db::Held(held) => Self::on_held(held, work, Then::End { commit: true }).await,
        }
    }

    /// Ends the request's transaction if a step left it open: commits it when `commit`, else
    /// rolls it back. A commit that fails answers `Unavailable`. Nothing to do on the pool.
    pub async fn finish(&self, commit: bool) -> Result<(), ApiError> {
        match self {
            Db::Pool(_) => Ok(()),
            Db::Held(held) => {
                {
                    let mut h = held.lock().unwrap_or_else(|e| e.into_inner());
                    // Nothing to end unless a step began the transaction on a connection it took.
                    if h.stage != Stage::InTransaction || h.conn.is_none() {
                        h.stage = Stage::Finished; // later steps (a refusal's event) run on their own
                        return Ok(());
                    }
                }
                Self::on_held(held, |_| Ok(()), Then::End { commit }).await
            }
        }
    }

    async fn on_held<T, F>(held: &Arc<Mutex<Held>>, work: F, then: Then) -> Result<T, ApiError>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let (conn, pool, begin, end) = {
            let mut h = held.lock().unwrap_or_else(|e| e.into_inner());
            let conn = h.conn.take();
            let pool = h.pool.clone();
            let (begin, in_transaction) = match h.stage {
                Stage::Open => (true, true),
                Stage::InTransaction => (false, true),
                Stage::Finished => (false, false),
            };
            let end = match then {
                Then::End { commit } if in_transaction => {
                    h.stage = Stage::Finished;
                    Some(commit)
                }
                _ => {
                    if in_transaction {
                        h.stage = Stage::InTransaction;
                    }
                    None
                }
            };
            (conn, pool, begin, end)
        };
        // The first step takes the request's connection (waiting for a permit as a future).
        let permit = match conn {
            Some(_) => None,
            None => Some(pool.permit().await?),
        };
        let span = tracing::Span::current();
        let joined = web::block(move || {
            let _entered = span.enter();
            let mut conn = match conn {
                Some(conn) => conn,
                None => match pool.get() {
                    Ok(conn) => conn,
                    Err(e) => return (None, Err(e)),
                },
            };
            let out = work_on(&mut conn, |pg| {
                if begin {
                    AnsiTransactionManager::begin_transaction(pg)?;
                }
                let out = work(pg);
                match end {
                    Some(true) if out.is_ok() => AnsiTransactionManager::commit_transaction(pg)?,
                    // A rollback that fails leaves the connection marked broken; it is evicted.
                    Some(_) => AnsiTransactionManager::rollback_transaction(pg).unwrap_or(()),
                    None => {}
                }
                out
            });
            (Some(conn), out)
        })
        .await;
        let (conn, out) =
            joined.map_err(|e| ApiError::Internal(anyhow::anyhow!("blocking database task failed: {e}")))?;
        let mut h = held.lock().unwrap_or_else(|e| e.into_inner());
        if end.is_some() {
            // The transaction is over: the connection and its permit go back now, not when the
            // answer has been rendered and the gate is done with the request.
            h.permit = None;
            drop(conn);
        } else if conn.is_some() {
            h.conn = conn;
            if permit.is_some() {
                h.permit = permit;
            }
        }
        out
    }

    /// Gives the held connection back to the pool (evicted if it failed or is mid-transaction).
    pub fn release(&self) {
        if let Db::Held(held) = self {
            let mut h = held.lock().unwrap_or_else(|e| e.into_inner());
            h.conn = None;
            h.permit = None;
        }
    }
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
