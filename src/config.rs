//! Configuration, read once from environment variables (all listed in `.env.example`) and passed
//! in, never kept in a global. Secrets are `SecretString`s so they cannot reach a log via `Debug`.

use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use secrecy::{ExposeSecret, SecretBox, SecretString};

/// A signing key for access tokens: HS256 with at least 256 bits of key material.
pub struct JwtKey {
    pub kid: String,
    pub secret: SecretBox<Vec<u8>>,
}

impl std::fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKey").field("kid", &self.kid).finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug)]
pub struct Config {
    pub database_url: SecretString,
    pub bind_addr: SocketAddr,
    /// The first key signs; the others only verify (kept through a rotation).
    pub jwt_keys: Vec<JwtKey>,
    /// Proxies whose `X-Forwarded-For` is believed (CONFER_TRUSTED_PROXIES).
    pub trusted_proxies: Vec<crate::source::IpBlock>,
    /// Password hashes allowed to run at once (CONFER_PASSWORD_HASHES_IN_FLIGHT).
    pub password_hashes_in_flight: usize,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub access_token_ttl: Duration,
    pub db_pool_size: u32,
    pub db_checkout_timeout: Duration,
    pub db_statement_timeout: Duration,
    /// The database role pooled connections switch to (`SET ROLE`); `None` keeps the login role.
    pub db_runtime_role: Option<String>,
    pub json_body_limit: usize,
    pub shutdown_timeout: Duration,
    /// After SIGTERM, how long readiness answers 503 while requests are still taken, so a load
    /// balancer stops routing here before the listener closes.
    pub shutdown_drain_delay: Duration,
    pub workers: usize,
    /// Per-user rate limits (SECURITY.md IN-11), per minute, for reads and for writes.
    pub reads_per_minute: u32,
    pub writes_per_minute: u32,
    pub log_format: LogFormat,
    /// Test clusters only: start even though PostgreSQL runs with fsync, full_page_writes or
    /// synchronous_commit off (SECURITY.md RE-3).
    pub allow_non_durable_db: bool,
    pub bootstrap_admin: Option<(String, SecretString)>,
}

/// Why configuration was refused, phrased for the operator.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(String);

pub const MAX_ACCESS_TOKEN_TTL: Duration = Duration::from_secs(15 * 60);

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests can supply their own variables.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let required = |name: &str| get(name).ok_or_else(|| ConfigError(format!("{name} must be set")));
        let parsed = |name: &str, default: &str| -> Result<u64, ConfigError> {
            let raw = get(name).unwrap_or_else(|| default.to_owned());
            raw.trim().parse::<u64>().map_err(|_| ConfigError(format!("{name} must be a whole number, got {raw:?}")))
        };

        let database_url = SecretString::from(required("DATABASE_URL")?);
        let bind_raw = get("CONFER_BIND_ADDR").unwrap_or_else(|| "127.0.0.1:8080".to_owned());
        let bind_addr = bind_raw.parse().map_err(|_| {
            ConfigError(format!("CONFER_BIND_ADDR must be host:port such as 127.0.0.1:8080, got {bind_raw:?}"))
        })?;
        let jwt_keys = parse_jwt_keys(&required("CONFER_JWT_KEYS")?)?;

        let ttl = Duration::from_secs(parsed("CONFER_ACCESS_TOKEN_TTL_SECS", "900")?);
        if ttl.is_zero() || ttl > MAX_ACCESS_TOKEN_TTL {
            return Err(ConfigError("CONFER_ACCESS_TOKEN_TTL_SECS must be between 1 and 900".into()));
        }
        let db_pool_size = parsed("CONFER_DB_POOL_SIZE", "4")?;
        if !(1..=64).contains(&db_pool_size) {
            return Err(ConfigError("CONFER_DB_POOL_SIZE must be between 1 and 64".into()));
        }
        let json_body_limit = parsed("CONFER_JSON_BODY_LIMIT_BYTES", "65536")?;
        if !(1024..=10 * 1024 * 1024).contains(&json_body_limit) {
            return Err(ConfigError("CONFER_JSON_BODY_LIMIT_BYTES must be between 1024 and 10485760".into()));
        }
        let workers = parsed("CONFER_WORKERS", "0")?;
        let trusted_proxies = get("CONFER_TRUSTED_PROXIES")
            .map(|raw| {
                raw.split(',')
                    .map(|entry| {
                        crate::source::IpBlock::parse(entry).ok_or_else(|| {
                            ConfigError(format!(
                                "CONFER_TRUSTED_PROXIES must list addresses or CIDR blocks separated by commas, got {:?}",
                                entry.trim()
                            ))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let hashes_in_flight = parsed("CONFER_PASSWORD_HASHES_IN_FLIGHT", &cores.to_string())?;
        if !(1..=64).contains(&hashes_in_flight) {
            return Err(ConfigError("CONFER_PASSWORD_HASHES_IN_FLIGHT must be between 1 and 64".into()));
        }
        let log_format = match get("LOG_FORMAT").as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => return Err(ConfigError(format!("LOG_FORMAT must be text or json, got {other:?}"))),
        };
        let allow_non_durable_db = match get("CONFER_TEST_ALLOW_NON_DURABLE_DB").as_deref() {
            None | Some("false") | Some("0") => false,
            Some("true") | Some("1") => true,
            Some(other) => {
                return Err(ConfigError(format!(
                    "CONFER_TEST_ALLOW_NON_DURABLE_DB must be true or false, got {other:?}"
                )));
            }
        };
        let bootstrap_admin = match (get("CONFER_BOOTSTRAP_ADMIN_EMAIL"), get("CONFER_BOOTSTRAP_ADMIN_PASSWORD")) {
            (Some(email), Some(password)) => Some((email, SecretString::from(password))),
            (None, None) => None,
            _ => {
                return Err(ConfigError(
                    "CONFER_BOOTSTRAP_ADMIN_EMAIL and CONFER_BOOTSTRAP_ADMIN_PASSWORD must be set together".into(),
                ));
            }
        };

        Ok(Self {
            database_url,
            bind_addr,
            jwt_keys,
            trusted_proxies,
            password_hashes_in_flight: hashes_in_flight as usize,
            jwt_issuer: get("CONFER_JWT_ISSUER").unwrap_or_else(|| "confer".into()),
            jwt_audience: get("CONFER_JWT_AUDIENCE").unwrap_or_else(|| "confer-api".into()),
            access_token_ttl: ttl,
            db_pool_size: db_pool_size as u32,
            db_checkout_timeout: Duration::from_millis(parsed("CONFER_DB_CHECKOUT_TIMEOUT_MS", "1000")?.max(100)),
            db_statement_timeout: Duration::from_millis(parsed("CONFER_DB_STATEMENT_TIMEOUT_MS", "5000")?.max(100)),
            db_runtime_role: parse_runtime_role(lookup("CONFER_DB_RUNTIME_ROLE"))?,
            json_body_limit: json_body_limit as usize,
            shutdown_timeout: Duration::from_secs(parsed("CONFER_SHUTDOWN_TIMEOUT_SECS", "20")?),
            shutdown_drain_delay: Duration::from_millis(parsed("CONFER_SHUTDOWN_DRAIN_MS", "2000")?),
            workers: workers as usize,
            reads_per_minute: parsed("CONFER_RATE_LIMIT_READS_PER_MINUTE", "600")?.clamp(1, 1_000_000) as u32,
            writes_per_minute: parsed("CONFER_RATE_LIMIT_WRITES_PER_MINUTE", "120")?.clamp(1, 1_000_000) as u32,
            log_format,
            allow_non_durable_db,
            bootstrap_admin,
        })
    }

    pub fn database_url(&self) -> &str {
        self.database_url.expose_secret()
    }
}

/// Unset → `confer_app` (created by the migrations); empty → none (connect as the login role).
fn parse_runtime_role(raw: Option<String>) -> Result<Option<String>, ConfigError> {
    let role = match raw {
        None => return Ok(Some("confer_app".to_owned())),
        Some(r) if r.trim().is_empty() => return Ok(None),
        Some(r) => r.trim().to_owned(),
    };
    let valid = role.len() <= 63
        && role.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && role.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(Some(role))
    } else {
        Err(ConfigError("CONFER_DB_RUNTIME_ROLE must be a plain lower-case role name such as confer_app".into()))
    }
}

pub fn valid_kid(kid: &str) -> bool {
    (1..=32).contains(&kid.len()) && kid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `kid:base64key[,kid:base64key…]`; the key may be standard or URL-safe base64 and must decode
/// to at least 32 bytes.
fn parse_jwt_keys(raw: &str) -> Result<Vec<JwtKey>, ConfigError> {
    let mut keys = Vec::new();
    for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (kid, encoded) = entry
            .split_once(':')
            .ok_or_else(|| ConfigError("CONFER_JWT_KEYS entries must look like kid:base64key".into()))?;
        if !valid_kid(kid) {
            return Err(ConfigError("CONFER_JWT_KEYS key ids must match ^[A-Za-z0-9_-]{1,32}$".into()));
        }
        let secret = STANDARD
            .decode(encoded.trim())
            .or_else(|_| URL_SAFE_NO_PAD.decode(encoded.trim().trim_end_matches('=')))
            .map_err(|_| ConfigError(format!("CONFER_JWT_KEYS key {kid:?} is not valid base64")))?;
        if secret.len() < 32 {
            return Err(ConfigError(format!("CONFER_JWT_KEYS key {kid:?} must be at least 32 bytes (256 bits)")));
        }
        if let Some(reason) = unsafe_key(encoded.trim(), &secret) {
            return Err(ConfigError(format!(
                "CONFER_JWT_KEYS key {kid:?} {reason}; generate one with: head -c 32 /dev/urandom | base64"
            )));
        }
        if keys.iter().any(|k: &JwtKey| k.kid == kid) {
            return Err(ConfigError(format!("CONFER_JWT_KEYS names key {kid:?} twice")));
        }
        keys.push(JwtKey { kid: kid.to_owned(), secret: SecretBox::new(Box::new(secret)) });
    }
    if keys.is_empty() {
        return Err(ConfigError("CONFER_JWT_KEYS must name at least one key".into()));
    }
    Ok(keys)
}

/// Files this project publishes, which anyone can read: a key printed in any of them is known.
const PUBLISHED: &[&str] = &[
    include_str!("../.env.example"),
    include_str!("../README.md"),
    include_str!("../openapi.yaml"),
    include_str!("../docs/API.md"),
    include_str!("../docs/ARCHITECTURE.md"),
    include_str!("../docs/SECURITY.md"),
    include_str!("../docs/PERFORMANCE.md"),
    include_str!("../bench/README.md"),
];

/// Fewer distinct byte values than this cannot have come from a random generator (32 random
/// bytes have about 30; `0123…` has 10).
const MIN_DISTINCT_KEY_BYTES: usize = 16;

/// Why a signing key must not be used, if it must not: printed in the project's own files, or
/// not random-looking.
fn unsafe_key(encoded: &str, secret: &[u8]) -> Option<&'static str> {
    let stem = encoded.trim_end_matches('=');
    if PUBLISHED.iter().any(|text| text.contains(stem)) {
        return Some("is published in this project's files (for example .env.example) and must not be used");
    }
    let distinct: std::collections::BTreeSet<u8> = secret.iter().copied().collect();
    if distinct.len() < MIN_DISTINCT_KEY_BYTES {
        return Some("is not random: it has fewer than 16 distinct byte values");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "current:q3Vw8b2HkS0x1Yp6Qd9ZrT4mL7eNcJfA5uGiWoXvBsE=";

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn defaults_apply_when_only_required_values_are_set() {
        let c = config(&[("DATABASE_URL", "postgres://x/y"), ("CONFER_JWT_KEYS", KEY)]).unwrap();
        assert_eq!(c.bind_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(c.access_token_ttl, Duration::from_secs(900));
        assert_eq!(c.jwt_keys[0].kid, "current");
        assert!(!c.allow_non_durable_db);
    }

    #[test]
    fn missing_or_invalid_values_name_the_variable() {
        let e = config(&[("CONFER_JWT_KEYS", KEY)]).unwrap_err();
        assert!(e.to_string().contains("DATABASE_URL"));
        let e = config(&[("DATABASE_URL", "postgres://x/y"), ("CONFER_JWT_KEYS", "k:c2hvcnQ=")]).unwrap_err();
        assert!(e.to_string().contains("at least 32 bytes"));
        let e = config(&[("DATABASE_URL", "u"), ("CONFER_JWT_KEYS", KEY), ("CONFER_BIND_ADDR", "nope")]).unwrap_err();
        assert!(e.to_string().contains("CONFER_BIND_ADDR"));
        let e = config(&[("DATABASE_URL", "u"), ("CONFER_JWT_KEYS", KEY), ("CONFER_ACCESS_TOKEN_TTL_SECS", "3600")])
            .unwrap_err();
        assert!(e.to_string().contains("between 1 and 900"));
        let e =
            config(&[("DATABASE_URL", "u"), ("CONFER_JWT_KEYS", "../x:MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=")])
                .unwrap_err();
        assert!(e.to_string().contains("key ids"));
        let e = config(&[("DATABASE_URL", "u"), ("CONFER_JWT_KEYS", KEY), ("CONFER_BOOTSTRAP_ADMIN_EMAIL", "a@b.c")])
            .unwrap_err();
        assert!(e.to_string().contains("set together"));
    }

    #[test]
    fn published_or_non_random_signing_keys_are_refused_naming_the_variable() {
        let example = include_str!("../.env.example")
            .lines()
            .find_map(|l| l.strip_prefix("CONFER_JWT_KEYS="))
            .expect(".env.example carries an example key");
        let e = config(&[("DATABASE_URL", "u"), ("CONFER_JWT_KEYS", example)]).unwrap_err().to_string();
        assert!(e.contains("CONFER_JWT_KEYS") && e.contains("published"), "{e}");
        // 32 bytes, but only 4 distinct values.
        let weak = format!("k:{}", STANDARD.encode(b"abcdabcdabcdabcdabcdabcdabcdabcd"));
        let e = config(&[("DATABASE_URL", "u"), ("CONFER_JWT_KEYS", &weak)]).unwrap_err().to_string();
        assert!(e.contains("CONFER_JWT_KEYS") && e.contains("not random"), "{e}");
        assert!(config(&[("DATABASE_URL", "u"), ("CONFER_JWT_KEYS", KEY)]).is_ok());
    }

    #[test]
    fn trusted_proxies_parse_or_name_the_variable() {
        let c =
            config(&[("DATABASE_URL", "u"), ("CONFER_JWT_KEYS", KEY), ("CONFER_TRUSTED_PROXIES", "10.0.0.0/8, ::1")])
                .unwrap();
        assert_eq!(c.trusted_proxies.len(), 2);
        let e = config(&[("DATABASE_URL", "u"), ("CONFER_JWT_KEYS", KEY), ("CONFER_TRUSTED_PROXIES", "10.0.0.0/99")])
            .unwrap_err();
        assert!(e.to_string().contains("CONFER_TRUSTED_PROXIES"));
    }
}
