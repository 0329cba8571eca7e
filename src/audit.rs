//! The audit trail (SECURITY.md §4): one event per request that touches case data, reads and
//! refusals included, plus authentication and policy changes. Events hold ids and tags, never
//! values.
//!
//! Tamper evidence: a hash chain over the events, kept in `audit_seals`. Requests only insert
//! their event (a trigger queues it in `audit_pending`); the sealer (`seal`, run by the server
//! every `SEAL_INTERVAL` and by `confer audit verify`) links queued events into the chain in
//! batches, in the order it seals them. So no request waits on another's commit for the chain's
//! sake; the price is that an event is unsealed for a moment after its request commits.
//!
//! Handlers record the precise event (tags disclosed, ids, purpose) in the request's transaction
//! through `audited`, as its last statement. For any case-data request that did not commit one
//! (refusals, invalid input, errors) the gate writes the backstop event from the response
//! (`refusal`), so each such request has exactly one; if that write fails the client gets 503.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::body::BoxBody;
use actix_web::dev::{Payload, ServiceResponse};
use actix_web::{FromRequest, HttpMessage, HttpRequest, ResponseError};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::db::Db;
use crate::domain::{AgencyId, AuditAction, AuditOutcome, AuthUser, PanelId, Tag, UserId};
use crate::error::{ApiError, ProblemType};
use crate::schema::{audit_chain_head, audit_events, audit_pending, audit_seals};

/// Who did what, for one request. Built by the `Audit` extractor.
#[derive(Clone)]
pub struct Audit {
    request_id: String,
    route: String,
    method: String,
    user_id: Option<UserId>,
    org_id: Option<AgencyId>,
    roles: Vec<String>,
    written: Arc<AtomicBool>,
}

/// Set once the request's handler has written its event (the gate puts it in the request).
#[derive(Clone)]
pub struct Written(pub Arc<AtomicBool>);

/// One event to record.
pub struct Event {
    pub action: AuditAction,
    pub panel_id: Option<PanelId>,
    pub object_type: &'static str,
    pub object_ids: Vec<Uuid>,
    pub tags: Vec<Tag>,
    pub purpose: Option<String>,
    pub outcome: AuditOutcome,
}

impl Event {
    pub fn ok(action: AuditAction, object_type: &'static str, object_ids: Vec<Uuid>) -> Self {
        Self {
            action,
            panel_id: None,
            object_type,
            object_ids,
            tags: Vec::new(),
            purpose: None,
            outcome: AuditOutcome::Ok,
        }
    }

    pub fn on_panel(mut self, panel: PanelId) -> Self {
        self.panel_id = Some(panel);
        self
    }

    pub fn disclosing(mut self, tags: impl IntoIterator<Item = Tag>) -> Self {
        for t in tags {
            if !self.tags.contains(&t) {
                self.tags.push(t);
            }
        }
        self
    }

    pub fn for_purpose(mut self, purpose: Option<String>) -> Self {
        self.purpose = purpose;
        self
    }

    pub fn with_outcome(mut self, outcome: AuditOutcome) -> Self {
        self.outcome = outcome;
        self
    }
}

impl Audit {
    fn from_parts(req: &HttpRequest) -> Self {
        let user = req.extensions().get::<AuthUser>().cloned();
        let written = req.extensions().get::<Written>().map(|w| w.0.clone()).unwrap_or_default();
        let mut roles: Vec<String> = user
            .iter()
            .flat_map(|u| u.roles.iter())
            .map(|r| match r.panel_id {
                Some(p) => format!("{}@{p}", r.role),
                None => r.role.as_str().to_owned(),
            })
            .collect();
        roles.sort();
        Self {
            request_id: crate::request_id::current().unwrap_or_else(|| "none".to_owned()),
            route: req.match_pattern().unwrap_or_else(|| "unmatched".to_owned()),
            method: req.method().as_str().to_owned(),
            user_id: user.as_ref().map(|u| u.user_id),
            org_id: user.as_ref().and_then(|u| u.agency_id),
            roles,
            written,
        }
    }

    /// For a scheduled job's events (`route` names the job): no user, no request.
    pub fn job(name: &'static str) -> Self {
        Self {
            request_id: format!("job-{}", Uuid::new_v4().simple()),
            route: format!("job:{name}"),
            method: "JOB".to_owned(),
            user_id: None,
            org_id: None,
            roles: Vec::new(),
            written: Arc::default(),
        }
    }

    /// Records a job's event in the transaction of the change it describes.
    pub fn record_job_event(&self, conn: &mut PgConnection, event: Event) -> Result<(), ApiError> {
        self.record(conn, event)
    }

    /// The request's id, as returned in `X-Request-Id`.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// For sign-in events, where the user is known only once the credentials are checked.
    pub fn as_user(mut self, user: Option<UserId>) -> Self {
        self.user_id = user;
        self
    }

    /// Writes the event in the transaction it describes. Only `audited` (the event a handler
    /// states with its answer) and `refusal` (the gate's backstop) write events.
    fn record(&self, conn: &mut PgConnection, event: Event) -> Result<(), ApiError> {
        diesel::insert_into(audit_events::table)
            .values((
                audit_events::request_id.eq(&self.request_id),
                audit_events::user_id.eq(self.user_id.map(|u| u.0)),
                audit_events::org_id.eq(self.org_id.map(|a| a.0)),
                audit_events::roles.eq(&self.roles),
                audit_events::panel_id.eq(event.panel_id.map(|p| p.0)),
                audit_events::action.eq(event.action.as_str()),
                audit_events::route.eq(&self.route),
                audit_events::method.eq(&self.method),
                audit_events::object_type.eq(event.object_type),
                audit_events::object_ids.eq(&event.object_ids),
                audit_events::tags_disclosed.eq(event.tags.iter().map(|t| t.as_str()).collect::<Vec<_>>()),
                audit_events::purpose.eq(&event.purpose),
                audit_events::outcome.eq(event.outcome.as_str()),
            ))
            .execute(conn)?;
        self.written.store(true, Ordering::SeqCst);
        Ok(())
    }
}

impl FromRequest for Audit {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(Self::from_parts(req)))
    }
}

/// The hashed content of an event.
#[derive(Debug, Clone, Insertable, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct Row {
    pub occurred_at: DateTime<Utc>,
    pub request_id: String,
    pub user_id: Option<Uuid>,
    pub org_id: Option<Uuid>,
    pub roles: Vec<String>,
    pub panel_id: Option<Uuid>,
    pub action: String,
    pub route: String,
    pub method: String,
    pub object_type: String,
    pub object_ids: Vec<Uuid>,
    pub tags_disclosed: Vec<String>,
    pub purpose: Option<String>,
    pub outcome: String,
}

impl Row {
    /// SHA-256 of the previous hash and a length-prefixed encoding of every field, so no two
    /// different rows encode alike.
    pub fn hash(&self, prev_hash: &[u8]) -> Vec<u8> {
        fn field(h: &mut Sha256, bytes: &[u8]) {
            h.update((bytes.len() as u64).to_be_bytes());
            h.update(bytes);
        }
        fn list(h: &mut Sha256, items: &[String]) {
            h.update((items.len() as u64).to_be_bytes());
            for i in items {
                field(h, i.as_bytes());
            }
        }
        let opt = |v: Option<Uuid>| v.map(|u| u.to_string()).unwrap_or_default();
        let mut h = Sha256::new();
        field(&mut h, prev_hash);
        field(&mut h, &self.occurred_at.timestamp_micros().to_be_bytes());
        field(&mut h, self.request_id.as_bytes());
        field(&mut h, opt(self.user_id).as_bytes());
        field(&mut h, opt(self.org_id).as_bytes());
        list(&mut h, &self.roles);
        field(&mut h, opt(self.panel_id).as_bytes());
        field(&mut h, self.action.as_bytes());
        field(&mut h, self.route.as_bytes());
        field(&mut h, self.method.as_bytes());
        field(&mut h, self.object_type.as_bytes());
        list(&mut h, &self.object_ids.iter().map(Uuid::to_string).collect::<Vec<_>>());
        list(&mut h, &self.tags_disclosed);
        field(&mut h, self.purpose.as_deref().unwrap_or("").as_bytes());
        field(&mut h, self.outcome.as_bytes());
        h.finalize().to_vec()
    }
}

/// How often the server seals queued events.
pub const SEAL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(200);
const SEAL_BATCH: i64 = 5_000;

/// Links queued events into the chain, oldest first, in batches of `SEAL_BATCH`, each batch in
/// one transaction under the chain head's row lock (so sealers on several servers take turns).
/// Returns how many it sealed.
pub fn seal(conn: &mut PgConnection) -> QueryResult<u64> {
    let mut sealed = 0u64;
    loop {
        let n = conn.transaction(|conn| {
            let (mut seq, mut prev): (i64, Vec<u8>) = audit_chain_head::table
                .select((audit_chain_head::last_seq, audit_chain_head::last_hash))
                .for_update()
                .first(conn)?;
            let queued: Vec<(i64, Row)> = audit_pending::table
                .inner_join(audit_events::table)
                .order(audit_pending::event_id)
                .limit(SEAL_BATCH)
                .select((audit_events::id, Row::as_select()))
                .load(conn)?;
            let mut seals = Vec::with_capacity(queued.len());
            for (event_id, row) in &queued {
                seq += 1;
                let hash = row.hash(&prev);
                seals.push((
                    audit_seals::seq.eq(seq),
                    audit_seals::event_id.eq(*event_id),
                    audit_seals::prev_hash.eq(prev),
                    audit_seals::hash.eq(hash.clone()),
                ));
                prev = hash;
            }
            if seals.is_empty() {
                return Ok(0);
            }
            // A bind per value: 4 per seal, well under PostgreSQL's 65,535 at SEAL_BATCH.
            diesel::insert_into(audit_seals::table).values(&seals).execute(conn)?;
            let ids: Vec<i64> = queued.iter().map(|(id, _)| *id).collect();
            diesel::delete(audit_pending::table.filter(audit_pending::event_id.eq_any(&ids))).execute(conn)?;
            diesel::update(audit_chain_head::table)
                .set((audit_chain_head::last_seq.eq(seq), audit_chain_head::last_hash.eq(&prev)))
                .execute(conn)?;
            Ok::<_, diesel::result::Error>(seals.len() as u64)
        })?;
        sealed += n;
        if n < SEAL_BATCH as u64 {
            return Ok(sealed);
        }
    }
}

/// The first link that does not verify: the event's id and why.
#[derive(Debug, PartialEq, Eq)]
pub struct BrokenLink {
    pub id: i64,
    pub reason: &'static str,
}

/// A link of the chain as verify reads it: seq, event id, prev_hash, hash, the event.
type SealedEvent = (i64, i64, Vec<u8>, Vec<u8>, Row);

/// Recomputes the chain from the start, in seal order; returns how many events verified, or the
/// first broken link. Call `seal` first: queued events are not in the chain yet.
pub fn verify(conn: &mut PgConnection) -> anyhow::Result<Result<u64, BrokenLink>> {
    let mut expected_prev = vec![0u8; 32];
    let (mut after, mut last_event) = (0i64, 0i64);
    let mut count = 0u64;
    loop {
        let batch: Vec<SealedEvent> = audit_seals::table
            .inner_join(audit_events::table)
            .filter(audit_seals::seq.gt(after))
            .order(audit_seals::seq)
            .limit(1000)
            .select((audit_seals::seq, audit_events::id, audit_seals::prev_hash, audit_seals::hash, Row::as_select()))
            .load(conn)?;
        if batch.is_empty() {
            break;
        }
        for (seq, id, prev, hash, row) in batch {
            if prev != expected_prev {
                return Ok(Err(BrokenLink { id, reason: "prev_hash does not match the previous event" }));
            }
            if row.hash(&prev) != hash {
                return Ok(Err(BrokenLink { id, reason: "hash does not match the event's content" }));
            }
            expected_prev = hash;
            (after, last_event) = (seq, id);
            count += 1;
        }
    }
    let (last_seq, last_hash): (i64, Vec<u8>) =
        audit_chain_head::table.select((audit_chain_head::last_seq, audit_chain_head::last_hash)).first(conn)?;
    if last_seq != after || last_hash != expected_prev {
        return Ok(Err(BrokenLink { id: last_event, reason: "the chain head does not match the last event" }));
    }
    // Every event is either sealed or queued: one that is neither was slipped in around the trigger.
    let unaccounted: i64 = audit_events::table
        .filter(diesel::dsl::not(diesel::dsl::exists(
            audit_seals::table.filter(audit_seals::event_id.eq(audit_events::id)),
        )))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            audit_pending::table.filter(audit_pending::event_id.eq(audit_events::id)),
        )))
        .count()
        .get_result(conn)?;
    if unaccounted > 0 {
        return Ok(Err(BrokenLink { id: last_event, reason: "events exist that are neither sealed nor queued" }));
    }
    Ok(Ok(count))
}

fn outcome_for(res: &ServiceResponse<BoxBody>) -> AuditOutcome {
    let status = res.status();
    let problem = res.response().extensions().get::<ProblemType>().map(|p| p.0);
    match status.as_u16() {
        200..=299 => AuditOutcome::Ok,
        401 => AuditOutcome::DeniedFunction,
        403 if problem == Some("field-not-writable") || problem == Some("purpose-required") => {
            AuditOutcome::DeniedField
        }
        403 => AuditOutcome::DeniedFunction,
        404 => AuditOutcome::DeniedObject,
        400..=499 => AuditOutcome::Invalid,
        _ => AuditOutcome::Error,
    }
}

fn action_for(method: &str) -> AuditAction {
    match method {
        "GET" | "HEAD" => AuditAction::Consult,
        "POST" => AuditAction::Collect,
        _ => AuditAction::Alter,
    }
}

/// The ids in the path, by the route pattern's `{…}` segments.
fn path_ids(pattern: &str, path: &str) -> Vec<Uuid> {
    pattern
        .split('/')
        .zip(path.split('/'))
        .filter(|(p, _)| p.starts_with('{'))
        .filter_map(|(_, v)| v.parse().ok())
        .collect()
}

/// Runs `work` in the request's transaction, records the event it returns as the transaction's
/// last statement and commits (SECURITY.md AU-1): the event commits with the change, and a read
/// answers only once its event is written. It is the request's last database step. Every case-data handler goes through here; the gate
/// writes events (`refusal`) only for requests that did not commit one.
pub async fn audited<T, F>(db: &Db, audit: Audit, work: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut PgConnection) -> Result<(T, Event), ApiError> + Send + 'static,
    T: Send + 'static,
{
    db.last_step(move |conn| {
        let (out, event) = work(conn)?;
        audit.record(conn, event)?;
        Ok(out)
    })
    .await
}

/// The backstop event for a case-data request whose handler committed none: refused before or
/// by its handler (401, 403, 404, malformed input) or rolled back. It has `object_type:
/// "request"`, which says so: no object was disclosed or changed. Written after the request's
/// transaction ended; if it cannot be written the client gets 503.
pub async fn refusal(db: &Db, res: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    if res.status().is_success() {
        // Every handler records its own event in its transaction (`audited`); the suite checks
        // each answered request for it, so this is a defect, recorded rather than hidden.
        tracing::error!(route = ?res.request().match_pattern(), "a case-data route answered without recording its own audit event");
    }
    let audit = Audit::from_parts(res.request());
    let ids = path_ids(&audit.route, res.request().path());
    let event = Event {
        action: action_for(&audit.method),
        panel_id: None,
        object_type: "request",
        object_ids: ids,
        tags: Vec::new(),
        purpose: None,
        outcome: outcome_for(&res),
    };
    match db.run(move |conn| audit.record(conn, event)).await {
        Ok(()) => res,
        Err(e) => {
            tracing::error!(error = %e, "audit event could not be written; answering 503");
            let (req, _) = res.into_parts();
            ServiceResponse::new(req, ApiError::Unavailable.error_response())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> Row {
        Row {
            occurred_at: DateTime::from_timestamp_micros(1_700_000_000_000_001).unwrap(),
            request_id: "r1".into(),
            user_id: Some(Uuid::nil()),
            org_id: None,
            roles: vec!["coordinator@x".into()],
            panel_id: None,
            action: "consult".into(),
            route: "/api/v1/cases/{case_id}".into(),
            method: "GET".into(),
            object_type: "case".into(),
            object_ids: vec![Uuid::nil()],
            tags_disclosed: vec!["victim.address".into()],
            purpose: None,
            outcome: "ok".into(),
        }
    }

    #[test]
    fn every_field_and_the_previous_hash_change_the_hash() {
        let base = row();
        let h = base.hash(&[0; 32]);
        assert_ne!(h, base.hash(&[1; 32]));
        let mut other = base.clone();
        other.tags_disclosed.clear();
        assert_ne!(h, other.hash(&[0; 32]));
        let mut other = base.clone();
        other.outcome = "denied_object".into();
        assert_ne!(h, other.hash(&[0; 32]));
        // Length prefixes keep field boundaries: moving a character between fields changes the hash.
        let mut a = base.clone();
        a.request_id = "r1c".into();
        a.action = "onsult".into();
        assert_ne!(h, a.hash(&[0; 32]));
    }

    #[test]
    fn path_ids_follow_the_pattern() {
        let a = Uuid::new_v4();
        let b = Uuid::new_v4();
        assert_eq!(
            path_ids(
                "/api/v1/meetings/{meeting_id}/items/{item_id}/notes",
                &format!("/api/v1/meetings/{a}/items/{b}/notes")
            ),
            vec![a, b]
        );
        assert!(path_ids("/api/v1/cases", "/api/v1/cases").is_empty());
    }
}
