//! Per-user rate limits (SECURITY.md IN-11): a token bucket per user and route class, keyed on
//! the authenticated user (never on a spoofable address). Sign-in has its own, stricter,
//! per-account backoff in `models::session`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::domain::UserId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteClass {
    Read,
    Write,
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

pub struct RateLimiter {
    per_minute: [u32; 2],
    buckets: Mutex<HashMap<(UserId, RouteClass), Bucket>>,
}

impl RateLimiter {
    pub fn new(reads_per_minute: u32, writes_per_minute: u32) -> Self {
        Self { per_minute: [reads_per_minute, writes_per_minute], buckets: Mutex::new(HashMap::new()) }
    }

    fn capacity(&self, class: RouteClass) -> f64 {
        f64::from(self.per_minute[class as usize])
    }

    /// Takes one token. Either way the answer says how the bucket stands, for the `RateLimit`
    /// headers; when it is empty, `Err` carries it with the seconds to wait.
    pub fn take(&self, user: UserId, class: RouteClass) -> Result<Quota, Quota> {
        let capacity = self.capacity(class);
        let per_second = capacity / 60.0;
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let bucket = buckets.entry((user, class)).or_insert(Bucket { tokens: capacity, updated: now });
        let elapsed = now.duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(capacity);
        bucket.updated = now;
        let allowed = bucket.tokens >= 1.0;
        if allowed {
            bucket.tokens -= 1.0;
        }
        // Seconds until one more token (when empty) or until the bucket is full again.
        let missing = if allowed { capacity - bucket.tokens } else { 1.0 - bucket.tokens };
        let quota = Quota {
            class,
            limit: self.per_minute[class as usize],
            remaining: bucket.tokens.floor() as u32,
            reset_secs: (missing / per_second).ceil() as u64,
        };
        if allowed { Ok(quota) } else { Err(Quota { reset_secs: quota.reset_secs.max(1), ..quota }) }
    }
}

/// Where a caller's bucket stands after a request, in the terms of the IETF draft
/// `RateLimit-Policy` / `RateLimit` headers (draft-ietf-httpapi-ratelimit-headers).
#[derive(Debug, Clone, Copy)]
pub struct Quota {
    pub class: RouteClass,
    pub limit: u32,
    pub remaining: u32,
    pub reset_secs: u64,
}

impl Quota {
    fn name(&self) -> &'static str {
        match self.class {
            RouteClass::Read => "reads",
            RouteClass::Write => "writes",
        }
    }

    pub fn policy_header(&self) -> String {
        format!("\"{}\";q={};w=60", self.name(), self.limit)
    }

    pub fn state_header(&self) -> String {
        format!("\"{}\";r={};t={}", self.name(), self.remaining, self.reset_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_empties_and_says_how_long_to_wait() {
        let limiter = RateLimiter::new(3, 60);
        let user = UserId(uuid::Uuid::new_v4());
        for left in (0..3).rev() {
            assert_eq!(limiter.take(user, RouteClass::Read).unwrap().remaining, left);
        }
        let empty = limiter.take(user, RouteClass::Read).unwrap_err();
        assert!((1..=20).contains(&empty.reset_secs), "{empty:?}");
        assert_eq!((empty.remaining, empty.limit), (0, 3));
        assert_eq!(empty.state_header(), format!("\"reads\";r=0;t={}", empty.reset_secs));
        assert_eq!(empty.policy_header(), "\"reads\";q=3;w=60");
        assert!(limiter.take(user, RouteClass::Write).is_ok(), "classes are separate");
        assert!(limiter.take(UserId(uuid::Uuid::new_v4()), RouteClass::Read).is_ok(), "users are separate");
    }
}
