//! Per-user rate limits (SECURITY.md IN-11): a token bucket per user and route class, keyed on
//! the authenticated user (never on a spoofable address). Sign-in has its own, stricter,
//! per-account backoff in `models::session`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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

    /// Takes one token; `Err(seconds)` to wait when the bucket is empty.
    pub fn take(&self, user: UserId, class: RouteClass) -> Result<(), u64> {
        let capacity = self.capacity(class);
        let per_second = capacity / 60.0;
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let bucket = buckets.entry((user, class)).or_insert(Bucket { tokens: capacity, updated: now });
        let elapsed = now.duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = Duration::from_secs_f64((1.0 - bucket.tokens) / per_second);
            Err(wait.as_secs().max(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_empties_and_says_how_long_to_wait() {
        let limiter = RateLimiter::new(3, 60);
        let user = UserId(uuid::Uuid::new_v4());
        for _ in 0..3 {
            assert!(limiter.take(user, RouteClass::Read).is_ok());
        }
        let wait = limiter.take(user, RouteClass::Read).unwrap_err();
        assert!((1..=20).contains(&wait), "{wait}");
        assert!(limiter.take(user, RouteClass::Write).is_ok(), "classes are separate");
        assert!(limiter.take(UserId(uuid::Uuid::new_v4()), RouteClass::Read).is_ok(), "users are separate");
    }
}
