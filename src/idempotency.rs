//! Idempotent creates (SECURITY.md RE-2). Within the create's transaction: an advisory lock on
//! (user, route, key) — a retry while the first is in flight gets 409; a stored key with another
//! body gets 422; a stored key with the same body replays the resource the first request made
//! (re-checked for access by the caller's own read path); otherwise the create runs and the key is
//! stored with it, in the same commit. Keys live 24 hours.

use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use uuid::Uuid;

use crate::domain::UserId;
use crate::error::ApiError;
use crate::schema::idempotency_keys;

pub const KEY_LIFETIME_HOURS: i64 = 24;

/// What to do with a create.
pub enum Outcome {
    /// No usable key: create, then `remember`.
    Create,
    /// The same request was made before: answer with this resource.
    Replay(Uuid),
}

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

/// Claims the key for this transaction and says whether to create or replay.
pub fn begin(
    conn: &mut PgConnection,
    user: UserId,
    route: &str,
    key: Option<Uuid>,
    fingerprint: &[u8],
) -> Result<Outcome, ApiError> {
    let Some(key) = key else { return Ok(Outcome::Create) };
    let lock_name = format!("{user}|{route}|{key}");
    let locked: Locked = diesel::sql_query("SELECT pg_try_advisory_xact_lock(hashtextextended($1, 727002)) AS locked")
        .bind::<Text, _>(lock_name)
        .get_result(conn)?;
    if !locked.locked {
        return Err(ApiError::conflict("Idempotency-Key", "request_in_flight"));
    }
    let cutoff = chrono::Utc::now() - chrono::Duration::hours(KEY_LIFETIME_HOURS);
    diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(cutoff))).execute(conn)?;
    let stored: Option<(Vec<u8>, Uuid)> = idempotency_keys::table
        .find((user, route, key))
        .select((idempotency_keys::fingerprint, idempotency_keys::resource_id))
        .first(conn)
        .optional()?;
    match stored {
        None => Ok(Outcome::Create),
        Some((stored_fingerprint, _)) if stored_fingerprint != fingerprint => {
            Err(ApiError::unprocessable("Idempotency-Key", "reused_with_a_different_body"))
        }
        Some((_, resource)) => Ok(Outcome::Replay(resource)),
    }
}

/// Stores the key with the resource the create made, in the create's transaction.
pub fn remember(
    conn: &mut PgConnection,
    user: UserId,
    route: &str,
    key: Option<Uuid>,
    fingerprint: &[u8],
    resource: Uuid,
) -> QueryResult<()> {
    let Some(key) = key else { return Ok(()) };
    diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::user_id.eq(user),
            idempotency_keys::route.eq(route),
            idempotency_keys::key.eq(key),
            idempotency_keys::fingerprint.eq(fingerprint),
            idempotency_keys::resource_id.eq(resource),
        ))
        .execute(conn)
        .map(drop)
}
