//! Sessions, refresh-token families, sign-in throttling, and loading the caller for each request.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bytea, Integer};
use rand::RngCore;
use sha2::{Digest, Sha256};

use std::sync::Arc;

use crate::domain::{
    AgencyId, AuthUser, FieldAccessLevel, PanelId, PolicyGrant, PolicySubject, Role, RoleGrant, SessionId, Tag, UserId,
};
use crate::limits::{Bucket, RouteClass};
use crate::schema::{login_throttles, refresh_tokens, sessions, user_roles, users};
use crate::tokens::{AccessClaims, revocation_cutoff};

/// A refresh token is good for this long after it was issued, unless used first.
pub const REFRESH_IDLE_TIMEOUT: Duration = Duration::minutes(30);
/// A session ends this long after sign-in, however often it is refreshed.
pub const SESSION_ABSOLUTE_LIFETIME: Duration = Duration::hours(12);
/// Failed sign-ins allowed before backoff starts.
pub const FREE_LOGIN_FAILURES: i32 = 5;
/// The longest backoff after repeated failures.
pub const MAX_LOGIN_BACKOFF_SECS: i32 = 15 * 60;
/// Failed sign-ins from one source (any accounts) within an hour before its attempts must wait.
/// Higher than per account: several workers may sign in from behind one address.
pub const FREE_SOURCE_FAILURES: i32 = 20;
/// The longest a source waits: a flood is slowed to a guess a minute, an office behind one
/// address is never shut out for long.
pub const MAX_SOURCE_BACKOFF_SECS: i32 = 60;

#[derive(QueryableByName)]
struct SessionCheck {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    active: bool,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    tokens_valid_after: DateTime<Utc>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Uuid>)]
    agency_id: Option<AgencyId>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
    ended_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    expires_at: DateTime<Utc>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    role: Option<Role>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Uuid>)]
    role_panel_id: Option<PanelId>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Double>)]
    bucket_tokens: Option<f64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Bool>)]
    bucket_allowed: Option<bool>,
    /// The policy rows that can apply: `[[subject_kind, subject, tag, access], …]`.
    #[diesel(sql_type = diesel::sql_types::Json)]
    policy: serde_json::Value,
}

/// The session check's statement: static SQL with bind parameters, so diesel prepares it once per
/// connection and reuses the plan (`sql_query` is never cached; this runs on every request).
#[derive(diesel::query_builder::QueryId)]
struct SessionCheckQuery {
    user: uuid::Uuid,
    session: uuid::Uuid,
    class: &'static str,
    capacity: f64,
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for SessionCheckQuery {
    fn walk_ast<'b>(&'b self, mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>) -> QueryResult<()> {
        // Each parameter appears once, in `p`; the bucket's update finds its capacity again as
        // `excluded.tokens + 1` (what the insert would have stored is capacity − 1).
        out.push_sql("WITH p AS (SELECT ");
        out.push_bind_param::<diesel::sql_types::Uuid, _>(&self.user)?;
        out.push_sql("::uuid AS user_id, ");
        out.push_bind_param::<diesel::sql_types::Uuid, _>(&self.session)?;
        out.push_sql("::uuid AS session_id, ");
        out.push_bind_param::<diesel::sql_types::Text, _>(&self.class)?;
        out.push_sql("::text AS class, ");
        out.push_bind_param::<diesel::sql_types::Double, _>(&self.capacity)?;
        out.push_sql(
            "::float8 AS capacity),
             bucket AS (
               INSERT INTO rate_buckets AS b (user_id, class, tokens, updated_at, last_allowed)
               SELECT p.user_id, p.class, p.capacity - 1, clock_timestamp(), true
                 FROM p WHERE EXISTS (SELECT 1 FROM users WHERE id = p.user_id)
               ON CONFLICT (user_id, class) DO UPDATE SET
                 tokens = CASE
                   WHEN least(excluded.tokens + 1, b.tokens + extract(epoch FROM clock_timestamp() - b.updated_at) * (excluded.tokens + 1) / 60.0) >= 1
                   THEN least(excluded.tokens + 1, b.tokens + extract(epoch FROM clock_timestamp() - b.updated_at) * (excluded.tokens + 1) / 60.0) - 1
                   ELSE least(excluded.tokens + 1, b.tokens + extract(epoch FROM clock_timestamp() - b.updated_at) * (excluded.tokens + 1) / 60.0) END,
                 last_allowed =
                   least(excluded.tokens + 1, b.tokens + extract(epoch FROM clock_timestamp() - b.updated_at) * (excluded.tokens + 1) / 60.0) >= 1,
                 updated_at = clock_timestamp()
               RETURNING tokens, last_allowed),
             policy AS (
               SELECT coalesce(json_agg(json_build_array(f.subject_kind, f.subject, f.tag, f.access)), '[]') AS grants
                 FROM p JOIN users u ON u.id = p.user_id LEFT JOIN agencies a ON a.id = u.agency_id
                 JOIN field_policy f ON f.subject_kind = 'role' AND f.subject IN ('coordinator', 'chair')
                                     OR f.subject_kind = 'agency_type' AND f.subject = a.agency_type)
             SELECT u.active, u.tokens_valid_after, u.agency_id, s.ended_at, s.expires_at,
                    r.role, r.panel_id AS role_panel_id,
                    (SELECT tokens FROM bucket) AS bucket_tokens, (SELECT last_allowed FROM bucket) AS bucket_allowed,
                    (SELECT grants FROM policy) AS policy
               FROM p JOIN users u ON u.id = p.user_id JOIN sessions s ON s.id = p.session_id AND s.user_id = u.id
               LEFT JOIN user_roles r ON r.user_id = u.id
                    AND (r.valid_from IS NULL OR r.valid_from <= (now() AT TIME ZONE 'Europe/London')::date)
                    AND (r.valid_to IS NULL OR r.valid_to >= (now() AT TIME ZONE 'Europe/London')::date)
              ORDER BY r.role, r.panel_id",
        );
        Ok(())
    }
}

impl diesel::query_builder::Query for SessionCheckQuery {
    type SqlType = diesel::sql_types::Untyped;
}

impl RunQueryDsl<PgConnection> for SessionCheckQuery {}

/// The caller named by a verified access token, with one token taken from its rate-limit bucket
/// for `class` (`capacity` a minute). `None` for the caller when the user is disabled, the session
/// ended or expired, or the token predates the user's revocation cut-off. One statement, which
/// every signed-in request runs: the bucket (held in the database, so several server processes
/// count together), the user and session, once per role the user holds.
pub fn check_session(
    conn: &mut PgConnection,
    claims: &AccessClaims,
    class: RouteClass,
    capacity: u32,
) -> QueryResult<(Option<AuthUser>, Bucket)> {
    let rows: Vec<SessionCheck> = SessionCheckQuery {
        user: claims.user_id.0,
        session: claims.session_id.0,
        class: class.as_str(),
        capacity: f64::from(capacity),
    }
    .load(conn)?;
    let Some(s) = rows.first() else { return Ok((None, Bucket { tokens: 0.0, allowed: false })) };
    let bucket = Bucket { tokens: s.bucket_tokens.unwrap_or(0.0), allowed: s.bucket_allowed.unwrap_or(false) };
    if !s.active
        || s.ended_at.is_some()
        || s.expires_at <= Utc::now()
        || claims.issued_at < revocation_cutoff(s.tokens_valid_after)
    {
        return Ok((None, bucket));
    }
    let agency_id = s.agency_id;
    let policy = policy_grants(&s.policy);
    // The statement reads only the roles in force today; their dates are not needed after that.
    let roles = rows.into_iter().filter_map(|r| Some(RoleGrant::standing(r.role?, r.role_panel_id))).collect();
    Ok((Some(AuthUser { user_id: claims.user_id, session_id: claims.session_id, agency_id, roles, policy }), bucket))
}

/// The session check's policy rows as grants. The table's checks keep its codes to the
/// vocabularies; a row that is not (a newer code) grants nothing rather than failing the request.
fn policy_grants(rows: &serde_json::Value) -> Arc<[PolicyGrant]> {
    let code = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    rows.as_array()
        .into_iter()
        .flatten()
        .filter_map(|row| {
            let [kind, subject, tag, level] = row.as_array()?.as_slice() else { return None };
            let subject = match kind.as_str()? {
                "role" => PolicySubject::Role(Role::from_code(&code(subject))?),
                "agency_type" => PolicySubject::OwnAgencyType,
                _ => return None,
            };
            Some(PolicyGrant {
                subject,
                tag: Tag::from_code(&code(tag))?,
                level: FieldAccessLevel::from_code(&code(level))?,
            })
        })
        .collect()
}

/// A role as stored: its holder, scope and dates.
#[derive(Queryable)]
pub struct RoleRow {
    pub user_id: UserId,
    pub role: Role,
    pub panel_id: Option<PanelId>,
    pub valid_from: Option<chrono::NaiveDate>,
    pub valid_to: Option<chrono::NaiveDate>,
}

impl RoleRow {
    pub fn grant(&self) -> RoleGrant {
        RoleGrant { role: self.role, panel_id: self.panel_id, valid_from: self.valid_from, valid_to: self.valid_to }
    }
}

/// Every role of these users, with its dates, in force or not, by user, role and panel.
pub fn role_rows(conn: &mut PgConnection, users: &[UserId]) -> QueryResult<Vec<RoleRow>> {
    user_roles::table
        .filter(user_roles::user_id.eq_any(users))
        .select((
            user_roles::user_id,
            user_roles::role,
            user_roles::panel_id,
            user_roles::valid_from,
            user_roles::valid_to,
        ))
        .order((user_roles::user_id, user_roles::role, user_roles::panel_id))
        .load(conn)
}

/// Every role the user holds, with its dates, in force or not (the user record shows them all).
pub fn roles_of(conn: &mut PgConnection, user: UserId) -> QueryResult<Vec<RoleGrant>> {
    Ok(role_rows(conn, &[user])?.iter().map(RoleRow::grant).collect())
}

/// The roles the user holds today (London date): those that grant anything.
pub fn roles_in_force(conn: &mut PgConnection, user: UserId) -> QueryResult<Vec<RoleGrant>> {
    let today = crate::models::action::london_today(conn)?;
    Ok(roles_of(conn, user)?.into_iter().filter(|r| r.in_force_on(today)).collect())
}

/// What sign-in needs to know about an account.
#[derive(Queryable)]
pub struct LoginAccount {
    pub id: UserId,
    pub password_hash: String,
    pub active: bool,
    pub tokens_valid_after: DateTime<Utc>,
}

pub fn find_login_account(conn: &mut PgConnection, email: &str) -> QueryResult<Option<LoginAccount>> {
    users::table
        .filter(users::email.eq(email))
        .select((users::id, users::password_hash, users::active, users::tokens_valid_after))
        .first(conn)
        .optional()
}

pub fn replace_password_hash(conn: &mut PgConnection, user: UserId, hash: &str) -> QueryResult<()> {
    diesel::update(users::table.find(user)).set(users::password_hash.eq(hash)).execute(conn).map(drop)
}

/// The throttle key for an email: its SHA-256, so the table holds no addresses.
pub fn throttle_key(normalized_email: &str) -> Vec<u8> {
    Sha256::digest(normalized_email.as_bytes()).to_vec()
}

/// What a sign-in throttle counts: one account's failures (whether or not it exists), or one
/// source's (SECURITY.md AN-2: per account and per source).
#[derive(Debug, Clone, Copy)]
pub enum Throttle {
    Account,
    Source,
}

impl Throttle {
    /// Failures within an hour before attempts must wait.
    fn free_failures(self) -> i32 {
        match self {
            Throttle::Account => FREE_LOGIN_FAILURES,
            Throttle::Source => FREE_SOURCE_FAILURES,
        }
    }

    fn max_backoff_secs(self) -> i32 {
        match self {
            Throttle::Account => MAX_LOGIN_BACKOFF_SECS,
            Throttle::Source => MAX_SOURCE_BACKOFF_SECS,
        }
    }
}

/// The throttle key of a source address.
pub fn source_key(address: std::net::IpAddr) -> Vec<u8> {
    Sha256::digest(format!("source:{address}").as_bytes()).to_vec()
}

#[derive(QueryableByName)]
struct Failures {
    #[diesel(sql_type = Integer)]
    #[allow(dead_code)]
    failures: i32,
}

/// Claims one sign-in attempt against a throttle, in one statement: unless a backoff is running,
/// the attempt is counted as a failure at once (a success is forgiven afterwards), so concurrent
/// attempts queue on the row and a burst gets no more verifications than the same attempts sent
/// one after another. From the `free_failures`-th failure within an hour, further attempts wait
/// 1, 2, 4 … seconds (at most `max_backoff_secs`); an hour without failures starts again.
/// `Err(seconds)` while a backoff runs.
pub fn claim_login_attempt(conn: &mut PgConnection, key: &[u8], kind: Throttle) -> QueryResult<Result<(), u64>> {
    let claimed = diesel::sql_query(
        "INSERT INTO login_throttles AS t (key_hash, failures, last_failed_at, blocked_until)
         VALUES ($1, 1, now(), CASE WHEN 1 >= $2 THEN now() + make_interval(secs => 1) END)
         ON CONFLICT (key_hash) DO UPDATE SET
           failures = CASE WHEN t.last_failed_at < now() - interval '1 hour' THEN 1 ELSE t.failures + 1 END,
           last_failed_at = now(),
           blocked_until = CASE
             WHEN t.last_failed_at >= now() - interval '1 hour' AND t.failures + 1 >= $2
             THEN now() + make_interval(secs => least(power(2, t.failures + 1 - $2), $3))
             ELSE NULL END
         WHERE t.blocked_until IS NULL OR t.blocked_until <= now()
         RETURNING failures",
    )
    .bind::<Bytea, _>(key)
    .bind::<Integer, _>(kind.free_failures())
    .bind::<Integer, _>(kind.max_backoff_secs())
    .get_result::<Failures>(conn)
    .optional()?;
    if claimed.is_some() {
        return Ok(Ok(()));
    }
    let until: Option<Option<DateTime<Utc>>> =
        login_throttles::table.find(key).select(login_throttles::blocked_until).first(conn).optional()?;
    let now = Utc::now();
    let left = until.flatten().filter(|t| *t > now).map(|t| ((t - now).num_milliseconds() as u64).div_ceil(1000));
    Ok(Err(left.unwrap_or(1).max(1)))
}

/// After a successful sign-in: the account starts afresh.
pub fn clear_login_failures(conn: &mut PgConnection, key: &[u8]) -> QueryResult<()> {
    diesel::delete(login_throttles::table.find(key)).execute(conn).map(drop)
}

/// After a successful sign-in: the attempt claimed against its source was not a failure. The
/// source's other failures stay counted (one good account must not wipe a flood's record).
pub fn forgive_source_attempt(conn: &mut PgConnection, key: &[u8]) -> QueryResult<()> {
    diesel::update(login_throttles::table.find(key))
        .set(login_throttles::failures.eq(diesel::dsl::sql::<Integer>("greatest(failures - 1, 0)")))
        .execute(conn)
        .map(drop)
}

/// A new opaque refresh token (256 bits from the OS generator) and its stored hash.
fn new_refresh_token() -> (String, Vec<u8>) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = Sha256::digest(token.as_bytes()).to_vec();
    (token, hash)
}

fn issue_refresh_token(conn: &mut PgConnection, session: SessionId) -> QueryResult<String> {
    let (token, hash) = new_refresh_token();
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::token_hash.eq(hash),
            refresh_tokens::session_id.eq(session),
            refresh_tokens::expires_at.eq(Utc::now() + REFRESH_IDLE_TIMEOUT),
        ))
        .execute(conn)?;
    Ok(token)
}

/// Opens a session for a signed-in user; returns its id and first refresh token.
pub fn start_session(conn: &mut PgConnection, user: UserId) -> QueryResult<(SessionId, String)> {
    conn.transaction(|conn| {
        let session: SessionId = diesel::insert_into(sessions::table)
            .values((sessions::user_id.eq(user), sessions::expires_at.eq(Utc::now() + SESSION_ABSOLUTE_LIFETIME)))
            .returning(sessions::id)
            .get_result(conn)?;
        let token = issue_refresh_token(conn, session)?;
        Ok((session, token))
    })
}

pub enum Rotation {
    /// The token was current: here is its successor.
    Rotated { user: UserId, session: SessionId, tokens_valid_after: DateTime<Utc>, refresh_token: String },
    /// Unknown, expired, or its session or user is no longer valid.
    Invalid,
    /// Already used: the whole family has been revoked.
    Reused { user: UserId, session: SessionId },
}

/// Exchanges a refresh token for its successor, single use. Run in a transaction of its own:
/// a reuse commits the revocation before the caller answers 401.
pub fn rotate_refresh_token(conn: &mut PgConnection, presented: &str) -> QueryResult<Rotation> {
    let hash = Sha256::digest(presented.as_bytes()).to_vec();
    conn.transaction(|conn| {
        let found: Option<(SessionId, DateTime<Utc>, Option<DateTime<Utc>>)> = refresh_tokens::table
            .find(&hash)
            .select((refresh_tokens::session_id, refresh_tokens::expires_at, refresh_tokens::used_at))
            .for_update()
            .first(conn)
            .optional()?;
        let Some((session, token_expires_at, used_at)) = found else { return Ok(Rotation::Invalid) };
        let (user, active, tokens_valid_after, session_expires_at, ended_at): (
            UserId,
            bool,
            DateTime<Utc>,
            DateTime<Utc>,
            Option<DateTime<Utc>>,
        ) = sessions::table
            .inner_join(users::table)
            .filter(sessions::id.eq(session))
            .select((users::id, users::active, users::tokens_valid_after, sessions::expires_at, sessions::ended_at))
            .for_update()
            .first(conn)?;
        if used_at.is_some() {
            end_session(conn, session, "refresh_token_reuse")?;
            return Ok(Rotation::Reused { user, session });
        }
        let now = Utc::now();
        if !active || ended_at.is_some() || session_expires_at <= now || token_expires_at <= now {
            return Ok(Rotation::Invalid);
        }
        diesel::update(refresh_tokens::table.find(&hash)).set(refresh_tokens::used_at.eq(now)).execute(conn)?;
        let refresh_token = issue_refresh_token(conn, session)?;
        Ok(Rotation::Rotated { user, session, tokens_valid_after, refresh_token })
    })
}

pub fn end_session(conn: &mut PgConnection, session: SessionId, reason: &str) -> QueryResult<()> {
    diesel::update(sessions::table.find(session).filter(sessions::ended_at.is_null()))
        .set((sessions::ended_at.eq(Utc::now()), sessions::ended_reason.eq(reason)))
        .execute(conn)
        .map(drop)
}

/// Ends every session of the user and cuts off every access token issued so far.
pub fn revoke_all(conn: &mut PgConnection, user: UserId, reason: &str) -> QueryResult<()> {
    move_token_cutoff(conn, user)?;
    diesel::update(sessions::table.filter(sessions::user_id.eq(user)).filter(sessions::ended_at.is_null()))
        .set((sessions::ended_at.eq(Utc::now()), sessions::ended_reason.eq(reason)))
        .execute(conn)
        .map(drop)
}

/// Moves `tokens_valid_after` to now: every access token issued before fails on its next use.
pub fn move_token_cutoff(conn: &mut PgConnection, user: UserId) -> QueryResult<()> {
    diesel::sql_query("UPDATE users SET tokens_valid_after = now() WHERE id = $1")
        .bind::<diesel::sql_types::Uuid, _>(user.0)
        .execute(conn)
        .map(drop)
}
