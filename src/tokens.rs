//! Access tokens: short-lived HS256 JWTs carrying identity only (`sub`, session id, times), never
//! roles, panels or agency (SECURITY.md §2.7, §3.3). Validation is strict and every failure is the
//! same `401`; the reason is only logged.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::Config;
use crate::domain::{SessionId, UserId};

pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";
const LEEWAY_SECS: u64 = 5;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub sid: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
}

/// What a valid access token says.
#[derive(Debug, Clone, Copy)]
pub struct AccessClaims {
    pub user_id: UserId,
    pub session_id: SessionId,
    pub issued_at: i64,
}

/// Why a token was refused; for the log only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    Header,
    UnknownKey,
    Claims,
}

pub struct Keyring {
    signing_kid: String,
    signing_key: EncodingKey,
    verifying: HashMap<String, DecodingKey>,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl: Duration,
}

impl Keyring {
    pub fn from_config(config: &Config) -> Self {
        let current = &config.jwt_keys[0];
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "iat", "nbf", "iss", "aud", "sub"]);
        validation.set_issuer(&[&config.jwt_issuer]);
        validation.set_audience(&[&config.jwt_audience]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS;
        Self {
            signing_kid: current.kid.clone(),
            signing_key: EncodingKey::from_secret(current.secret.expose_secret()),
            verifying: config
                .jwt_keys
                .iter()
                .map(|k| (k.kid.clone(), DecodingKey::from_secret(k.secret.expose_secret())))
                .collect(),
            validation,
            issuer: config.jwt_issuer.clone(),
            audience: config.jwt_audience.clone(),
            ttl: config.access_token_ttl,
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Issues a token for the session. `iat` is never before the user's `tokens_valid_after`
    /// (rounded up to a whole second), so a token issued right after a revocation still works.
    pub fn issue(&self, user: UserId, session: SessionId, tokens_valid_after: DateTime<Utc>) -> anyhow::Result<String> {
        let iat = Utc::now().timestamp().max(revocation_cutoff(tokens_valid_after));
        let claims = Claims {
            sub: user.to_string(),
            sid: session.to_string(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat,
            nbf: iat,
            exp: iat + self.ttl.as_secs() as i64,
            jti: Uuid::new_v4().to_string(),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some(ACCESS_TOKEN_TYPE.to_owned());
        header.kid = Some(self.signing_kid.clone());
        Ok(jsonwebtoken::encode(&header, &claims, &self.signing_key)?)
    }

    pub fn verify(&self, token: &str) -> Result<AccessClaims, Rejection> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| Rejection::Header)?;
        if header.typ.as_deref() != Some(ACCESS_TOKEN_TYPE)
            || header.alg != Algorithm::HS256
            || header.jku.is_some()
            || header.jwk.is_some()
            || header.x5u.is_some()
            || header.x5c.is_some()
        {
            return Err(Rejection::Header);
        }
        let key = header
            .kid
            .as_deref()
            .filter(|kid| crate::config::valid_kid(kid))
            .and_then(|kid| self.verifying.get(kid))
            .ok_or(Rejection::UnknownKey)?;
        let data = jsonwebtoken::decode::<Claims>(token, key, &self.validation).map_err(|_| Rejection::Claims)?;
        let claims = data.claims;
        let user_id = claims.sub.parse::<Uuid>().map_err(|_| Rejection::Claims)?;
        let session_id = claims.sid.parse::<Uuid>().map_err(|_| Rejection::Claims)?;
        Ok(AccessClaims { user_id: UserId(user_id), session_id: SessionId(session_id), issued_at: claims.iat })
    }
}

/// `tokens_valid_after` rounded up to the next whole second, since `iat` has one-second resolution.
pub fn revocation_cutoff(tokens_valid_after: DateTime<Utc>) -> i64 {
    let secs = tokens_valid_after.timestamp();
    if tokens_valid_after.timestamp_subsec_nanos() > 0 { secs + 1 } else { secs }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::config::valid_kid;

    fn keyring() -> Keyring {
        let config = Config::from_lookup(|name| match name {
            "DATABASE_URL" => Some("postgres://unused/db".into()),
            "CONFER_JWT_KEYS" => Some("k1:Zq7Pd1xR4vN8cT2mW6bK0jH9sL3aY5eU+oIgFfBtQ2M=".into()),
            _ => None,
        })
        .unwrap();
        Keyring::from_config(&config)
    }

    #[test]
    fn issued_tokens_verify() {
        let ring = keyring();
        let (user, session) = (UserId(Uuid::new_v4()), SessionId(Uuid::new_v4()));
        let token = ring.issue(user, session, DateTime::UNIX_EPOCH).unwrap();
        let claims = ring.verify(&token).unwrap();
        assert_eq!(claims.user_id, user);
        assert_eq!(claims.session_id, session);
    }

    #[test]
    fn cutoff_rounds_up_partial_seconds() {
        let exact = DateTime::from_timestamp(100, 0).unwrap();
        let partial = DateTime::from_timestamp(100, 1).unwrap();
        assert_eq!(revocation_cutoff(exact), 100);
        assert_eq!(revocation_cutoff(partial), 101);
    }

    #[test]
    fn kid_pattern_is_enforced() {
        assert!(valid_kid("key-2026_01"));
        for bad in ["", "../../x", "' OR 1=1--", &"k".repeat(33)] {
            assert!(!valid_kid(bad), "{bad}");
        }
    }
}
