//! Per-user rate limits (SECURITY.md IN-11): a token bucket per user and route class, keyed on
//! the authenticated user (never on a spoofable address), held in the database. Sign-in has its own, stricter,
//! per-account backoff in `models::session`.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteClass {
    Read,
    Write,
}

impl RouteClass {
    pub fn as_str(self) -> &'static str {
        match self {
            RouteClass::Read => "read",
            RouteClass::Write => "write",
        }
    }
}

/// A bucket as it stands once a request took (or failed to take) a token from it. The buckets
/// live in the database (`models::session::check_session`), so that several server processes
/// count one user's requests together.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    pub tokens: f64,
    pub allowed: bool,
}

/// The limits per minute of each route class (SECURITY.md IN-11).
pub struct RateLimiter {
    per_minute: [u32; 2],
}

impl RateLimiter {
    pub fn new(reads_per_minute: u32, writes_per_minute: u32) -> Self {
        Self { per_minute: [reads_per_minute, writes_per_minute] }
    }

    pub fn capacity(&self, class: RouteClass) -> u32 {
        self.per_minute[class as usize]
    }

    /// The quota for the `RateLimit` headers; `Err` when the request must wait, with the seconds.
    pub fn quota(&self, class: RouteClass, bucket: Bucket) -> Result<Quota, Quota> {
        let capacity = f64::from(self.capacity(class));
        let per_second = capacity / 60.0;
        // Seconds until one more token (when empty) or until the bucket is full again.
        let missing = if bucket.allowed { capacity - bucket.tokens } else { 1.0 - bucket.tokens };
        let quota = Quota {
            class,
            limit: self.capacity(class),
            remaining: bucket.tokens.max(0.0).floor() as u32,
            reset_secs: (missing.max(0.0) / per_second).ceil() as u64,
        };
        if bucket.allowed { Ok(quota) } else { Err(Quota { reset_secs: quota.reset_secs.max(1), ..quota }) }
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
    fn a_quota_says_what_is_left_and_how_long_to_wait() {
        let limiter = RateLimiter::new(3, 60);
        let left = limiter.quota(RouteClass::Read, Bucket { tokens: 2.0, allowed: true }).unwrap();
        assert_eq!((left.remaining, left.limit, left.reset_secs), (2, 3, 20));
        let empty = limiter.quota(RouteClass::Read, Bucket { tokens: 0.25, allowed: false }).unwrap_err();
        assert_eq!((empty.remaining, empty.reset_secs), (0, 15));
        assert_eq!(empty.state_header(), "\"reads\";r=0;t=15");
        assert_eq!(empty.policy_header(), "\"reads\";q=3;w=60");
        assert_eq!(limiter.capacity(RouteClass::Write), 60);
    }
}
