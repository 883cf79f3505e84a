//! People: the bearer access token on every protected route.
//!
//! For each call the PGSSI-S policy ([`egide_policy`]) says whether the route needs a
//! person. If it does, the gateway verifies the access token (`authorization: Bearer …`)
//! against auth's JWKS (ES256 only, `iss`, `aud`, `exp`/`nbf` with a small skew, `typ`),
//! refuses it if its session ended, checks its certificate binding (`cnf.x5t#S256`, RFC
//! 8705) against the TLS client certificate, asks the policy whether the session's `acr`,
//! `amr` and means suffice for this route today, and passes the person to the backend as
//! `x-egide-person-*` headers (`egide_kit::caller`).
//!
//! Refusals carry stable codes and say no more than needed: `token_missing`,
//! `token_invalid`, `token_expired`, `token_revoked`, `token_binding_mismatch` and
//! `insufficient_authentication` (UNAUTHENTICATED; the last with the required `acr` in the
//! details, so a client knows to log in again with a stronger means: RFC 9470's idea);
//! `category_not_allowed`, `route_not_in_policy` (PERMISSION_DENIED);
//! `token_verification_unavailable` (UNAVAILABLE: no key set yet, or revocations may be
//! missed).

pub mod jwks;
pub mod revoked;

use std::{
    path::PathBuf,
    sync::{
        Arc, RwLock,
        atomic::{AtomicU64, Ordering},
    },
};

use egide_kit::{ApiError, caller::PersonCaller};
use egide_policy::{Decision, Policy, Session};
use egide_token::{AccessClaims, Expectations, TokenError};
use http::{HeaderMap, HeaderValue};
use tonic::{Code, Status};

use self::{jwks::Jwks, revoked::Revoked};
use crate::config::BearerConfig;

/// Refusal counters, by code, for `/metrics`.
#[derive(Debug, Default)]
pub struct Counters {
    pub accepted: AtomicU64,
    pub refused: std::sync::Mutex<std::collections::BTreeMap<&'static str, u64>>,
}

/// Bearer token checks.
#[derive(Debug)]
pub struct Bearer {
    pub jwks: Arc<Jwks>,
    pub revoked: Arc<Revoked>,
    policy: RwLock<Arc<Policy>>,
    policy_file: Option<PathBuf>,
    policy_inline: String,
    expect: Expectations,
    /// False when the gateway cannot know revocations (no NATS): protected routes refuse.
    events: bool,
    pub counters: Counters,
}

fn refuse(code: Code, reason: &'static str, message: &str) -> Status {
    ApiError::new(code, reason, message.to_owned()).into()
}

impl Bearer {
    /// Loads the policy (the file, or the shipped default).
    pub fn new(
        config: &BearerConfig,
        jwks: Arc<Jwks>,
        revoked: Arc<Revoked>,
        events: bool,
    ) -> anyhow::Result<Self> {
        let policy = load_policy(&config.policy, config.policy_file.as_ref())?;
        Ok(Self {
            jwks,
            revoked,
            policy: RwLock::new(Arc::new(policy)),
            policy_file: config.policy_file.clone(),
            policy_inline: config.policy.clone(),
            expect: Expectations {
                issuer: config.issuer.clone(),
                audience: config.audience.clone(),
                leeway_secs: config.leeway_secs,
            },
            events,
            counters: Counters::default(),
        })
    }

    /// The `iss` tokens carry: the gateway's public URL.
    pub fn issuer(&self) -> &str {
        &self.expect.issuer
    }

    /// The policy in force.
    pub fn policy(&self) -> Arc<Policy> {
        self.policy
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Reads the policy file again (SIGHUP); a file that does not validate is refused and
    /// the policy in force kept.
    pub fn reload(&self) -> anyhow::Result<()> {
        let policy = load_policy(&self.policy_inline, self.policy_file.as_ref())?;
        *self.policy.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(policy);
        Ok(())
    }

    /// Appends the bearer counters to `/metrics`.
    pub fn render_metrics(&self, out: &mut String) {
        use std::fmt::Write as _;
        let _ = writeln!(
            out,
            "# HELP egide_gateway_tokens_accepted_total Access tokens accepted on protected routes.\n\
             # TYPE egide_gateway_tokens_accepted_total counter\n\
             egide_gateway_tokens_accepted_total {}",
            self.counters.accepted.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP egide_gateway_tokens_refused_total Calls refused for their access token, by code.\n\
             # TYPE egide_gateway_tokens_refused_total counter"
        );
        for (reason, n) in self
            .counters
            .refused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "egide_gateway_tokens_refused_total{{reason=\"{reason}\"}} {n}"
            );
        }
        let keys = self.jwks.keys().map_or(0, |k| k.0.len());
        let _ = writeln!(
            out,
            "# TYPE egide_gateway_jwks_keys gauge\negide_gateway_jwks_keys {keys}\n\
             # TYPE egide_gateway_revoked_sessions gauge\negide_gateway_revoked_sessions {}\n\
             # TYPE egide_gateway_revocations_live gauge\negide_gateway_revocations_live {}",
            self.revoked.len(),
            u8::from(self.events && self.revoked.is_live())
        );
    }

    fn count(&self, reason: &'static str) {
        *self
            .counters
            .refused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(reason)
            .or_default() += 1;
    }

    /// Admits the call to `path` as far as people are concerned; on success the verified
    /// person's headers are set (the caller stripped every forged `x-egide-` header).
    /// `peer_cert_sha256_hex` is the TLS client certificate's SHA-256, when one was shown.
    pub async fn admit(
        &self,
        path: &str,
        headers: &mut HeaderMap,
        peer_cert_sha256_hex: Option<&str>,
    ) -> Result<(), Status> {
        let result = self.check(path, headers, peer_cert_sha256_hex).await;
        match &result {
            Ok(Some(_)) => {
                self.counters.accepted.fetch_add(1, Ordering::Relaxed);
            }
            Ok(None) => {}
            Err(status) => self.count(
                egide_kit::error::decode(status)
                    .0
                    .map_or("other", reason_label),
            ),
        }
        let Some(person) = result? else {
            return Ok(());
        };
        // The backends get the verified person, never the token itself (nothing behind
        // the gateway needs it, and what is not forwarded cannot leak from there).
        headers.remove(http::header::AUTHORIZATION);
        for (name, value) in person.headers() {
            let value = HeaderValue::from_str(&value).map_err(|_| {
                refuse(
                    Code::Unauthenticated,
                    "token_invalid",
                    "the access token is not valid",
                )
            })?;
            headers.insert(name, value);
        }
        Ok(())
    }

    async fn check(
        &self,
        path: &str,
        headers: &HeaderMap,
        peer_cert_sha256_hex: Option<&str>,
    ) -> Result<Option<PersonCaller>, Status> {
        let policy = self.policy();
        let today = chrono::Utc::now().date_naive();
        if policy.is_open(path, today) {
            // No person needed; one shown is verified like anywhere else and passed on
            // (an open route may do more for an operator).
            if bearer_token(headers)?.is_none() {
                return Ok(None);
            }
            let claims = self.verified(headers, peer_cert_sha256_hex).await?;
            return Ok(Some(person_of(claims)));
        }
        let claims = self.verified(headers, peer_cert_sha256_hex).await?;
        let session = Session {
            category: claims.egide_category,
            acr: &claims.acr,
            amr: &claims.amr,
        };
        match policy.decide(path, claims.egide_category, today, Some(&session)) {
            Decision::Open(_) | Decision::Allowed(_) => {}
            Decision::Insufficient { rule, missing } => {
                return Err(ApiError::new(
                    Code::Unauthenticated,
                    "insufficient_authentication",
                    "this route needs a stronger authentication: log in again",
                )
                .with_metadata("required_acr", rule.acr.as_str())
                .with_metadata("missing", missing.join(", "))
                .with_metadata("rule", rule.id.clone())
                .into());
            }
            Decision::CategoryNotAllowed => {
                return Err(refuse(
                    Code::PermissionDenied,
                    "category_not_allowed",
                    "this route is not for this kind of user",
                ));
            }
            Decision::Unlisted => {
                return Err(refuse(
                    Code::PermissionDenied,
                    "route_not_in_policy",
                    "this route is in no policy rule",
                ));
            }
        }
        Ok(Some(person_of(claims)))
    }

    /// The claims of the request's access token, once verified: signature and claims, its
    /// session not ended, its certificate binding (`cnf.x5t#S256`) against the TLS client
    /// certificate `peer_cert_sha256_hex`. What every protected route and the userinfo
    /// endpoint start with.
    pub async fn verified(
        &self,
        headers: &HeaderMap,
        peer_cert_sha256_hex: Option<&str>,
    ) -> Result<AccessClaims, Status> {
        let Some(token) = bearer_token(headers)? else {
            return Err(refuse(
                Code::Unauthenticated,
                "token_missing",
                "this route needs an access token (authorization: Bearer …)",
            ));
        };
        if !self.events || !self.revoked.is_live() {
            return Err(refuse(
                Code::Unavailable,
                "token_verification_unavailable",
                "session revocations cannot be followed right now; retry",
            ));
        }
        let claims = self.verify(token).await?;
        if self.revoked.contains(&claims.sid) {
            return Err(refuse(
                Code::Unauthenticated,
                "token_revoked",
                "the session of this access token has ended",
            ));
        }
        if let Some(cnf) = &claims.cnf {
            let presented = peer_cert_sha256_hex.and_then(egide_kit::caller::x5t_s256);
            // Certificate hashes are public: no constant-time comparison needed.
            let bound = presented.is_some_and(|p| p == cnf.x5t_s256);
            if !bound {
                return Err(refuse(
                    Code::Unauthenticated,
                    "token_binding_mismatch",
                    "the access token is bound to another client certificate",
                ));
            }
        }
        Ok(claims)
    }

    /// Verifies `token` against the cached set, fetching the set again (rate-limited)
    /// when the token names a key it lacks.
    async fn verify(&self, token: &str) -> Result<AccessClaims, Status> {
        let now = chrono::Utc::now().timestamp();
        let Some(keys) = self.jwks.keys() else {
            self.jwks.refetch().await;
            return match self.jwks.keys() {
                Some(keys) => self.verify_with(token, &keys.0, now),
                None => Err(refuse(
                    Code::Unavailable,
                    "token_verification_unavailable",
                    "no token verification keys yet; retry",
                )),
            };
        };
        match egide_token::verify_access(token, &keys.0, &self.expect, now) {
            Err(TokenError::UnknownKey) if self.jwks.refetch().await => {
                let keys = self.jwks.keys().unwrap_or(keys);
                self.verify_with(token, &keys.0, now)
            }
            other => other.map_err(token_refusal),
        }
    }

    fn verify_with(
        &self,
        token: &str,
        keys: &egide_token::KeySet,
        now: i64,
    ) -> Result<AccessClaims, Status> {
        egide_token::verify_access(token, keys, &self.expect, now).map_err(token_refusal)
    }
}

/// The person a verified access token stands for, as the backends receive it.
pub fn person_of(claims: AccessClaims) -> PersonCaller {
    PersonCaller {
        category: claims.egide_category,
        subject: claims.sub,
        acr: claims.acr,
        amr: claims.amr,
        session_id: claims.sid,
        client_id: claims.client_id,
        auth_time: claims.auth_time,
    }
}

fn token_refusal(error: TokenError) -> Status {
    tracing::debug!(%error, "access token refused");
    match error.code() {
        "token_expired" => refuse(
            Code::Unauthenticated,
            "token_expired",
            "the access token has expired",
        ),
        _ => refuse(
            Code::Unauthenticated,
            "token_invalid",
            "the access token is not valid",
        ),
    }
}

/// The refusal codes as metric labels (static: only known codes are counted).
fn reason_label(reason: String) -> &'static str {
    const KNOWN: [&str; 10] = [
        "token_missing",
        "token_invalid",
        "token_expired",
        "token_revoked",
        "token_binding_mismatch",
        "insufficient_authentication",
        "category_not_allowed",
        "route_not_in_policy",
        "token_verification_unavailable",
        "invalid_argument",
    ];
    KNOWN.into_iter().find(|k| *k == reason).unwrap_or("other")
}

/// The token of an `authorization: Bearer …` header (RFC 6750 §2.1; the scheme is
/// case-insensitive). Several authorization headers, or another scheme, are refused.
fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, Status> {
    let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let invalid = || {
        refuse(
            Code::Unauthenticated,
            "token_invalid",
            "the access token is not valid",
        )
    };
    if values.next().is_some() {
        return Err(invalid());
    }
    let value = value.to_str().map_err(|_| invalid())?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() => {
            Ok(Some(token.trim()))
        }
        _ => Err(invalid()),
    }
}

fn load_policy(inline: &str, file: Option<&PathBuf>) -> anyhow::Result<Policy> {
    if !inline.trim().is_empty() {
        return Policy::parse(inline).map_err(|e| anyhow::anyhow!("[bearer] policy: {e}"));
    }
    match file {
        None => Ok(Policy::parse(egide_policy::DEFAULT)?),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("policy file {}: {e}", path.display()))?;
            Policy::parse(&text).map_err(|e| anyhow::anyhow!("policy file {}: {e}", path.display()))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn only_one_bearer_header_is_read() {
        let mut h = HeaderMap::new();
        assert!(bearer_token(&h).unwrap().is_none());
        h.insert("authorization", HeaderValue::from_static("Bearer abc"));
        assert_eq!(bearer_token(&h).unwrap(), Some("abc"));
        h.insert("authorization", HeaderValue::from_static("bearer abc"));
        assert_eq!(bearer_token(&h).unwrap(), Some("abc"));
        for bad in ["Basic abc", "Bearer", "Bearer ", "abc"] {
            h.insert("authorization", HeaderValue::from_static(bad));
            assert!(bearer_token(&h).is_err(), "{bad}");
        }
        h.insert("authorization", HeaderValue::from_static("Bearer a"));
        h.append("authorization", HeaderValue::from_static("Bearer b"));
        assert!(bearer_token(&h).is_err());
    }
}
