//! Which providers Égide trusts, and what a verification expects.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::VerifyingKey;

/// The identity-proofing providers Égide trusts: issuer → key id → public
/// key. Several keys per issuer allow key rotation (publish the new key,
/// start signing with it, retire the old one).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProviders {
    providers: BTreeMap<String, BTreeMap<String, VerifyingKey>>,
}

impl TrustedProviders {
    /// No trusted provider: every attestation is refused (`unknown_issuer`).
    pub fn new() -> TrustedProviders {
        TrustedProviders::default()
    }

    /// Trusts `key` as key `kid` of `issuer`, replacing a key with the same
    /// `kid`.
    pub fn add(&mut self, issuer: impl Into<String>, kid: impl Into<String>, key: VerifyingKey) {
        self.providers
            .entry(issuer.into())
            .or_default()
            .insert(kid.into(), key);
    }

    /// [`TrustedProviders::add`], by value.
    #[must_use]
    pub fn with(
        mut self,
        issuer: impl Into<String>,
        kid: impl Into<String>,
        key: VerifyingKey,
    ) -> Self {
        self.add(issuer, kid, key);
        self
    }

    /// Stops trusting key `kid` of `issuer` (and the issuer once it has no
    /// key left). Returns whether the key was trusted.
    pub fn remove(&mut self, issuer: &str, kid: &str) -> bool {
        let Some(keys) = self.providers.get_mut(issuer) else {
            return false;
        };
        let removed = keys.remove(kid).is_some();
        if keys.is_empty() {
            self.providers.remove(issuer);
        }
        removed
    }

    /// Whether `issuer` has at least one trusted key.
    pub fn trusts(&self, issuer: &str) -> bool {
        self.providers.contains_key(issuer)
    }

    /// The key `kid` of `issuer`, if trusted.
    pub fn key(&self, issuer: &str, kid: &str) -> Option<&VerifyingKey> {
        self.providers.get(issuer)?.get(kid)
    }

    /// The trusted issuers, sorted.
    pub fn issuers(&self) -> impl Iterator<Item = &str> {
        self.providers.keys().map(String::as_str)
    }

    /// Whether no provider is trusted.
    pub fn is_empty(&self) -> bool {
        self.providers.is_empty()
    }
}

/// What [`super::verify`] checks besides the signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expectations {
    /// The exact `aud` required (e.g. `egide-enrolment`).
    pub audience: String,
    /// The current time.
    pub now: DateTime<Utc>,
    /// Oldest accepted `iat`: refused as `stale` when `now − iat > max_age`.
    pub max_age: Duration,
    /// Tolerated clock difference with the provider, applied to `iat` in the
    /// future and to `exp` in the past.
    pub max_skew: Duration,
}

impl Expectations {
    /// Default [`Expectations::max_age`]: 10 minutes, the time a person
    /// reasonably takes between proofing and coming back to Égide.
    pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(600);
    /// Default [`Expectations::max_skew`]: 60 seconds.
    pub const DEFAULT_MAX_SKEW: Duration = Duration::from_secs(60);

    /// Expects `audience` at `now`, with the default age and skew.
    pub fn new(audience: impl Into<String>, now: DateTime<Utc>) -> Expectations {
        Expectations {
            audience: audience.into(),
            now,
            max_age: Self::DEFAULT_MAX_AGE,
            max_skew: Self::DEFAULT_MAX_SKEW,
        }
    }
}

/// Whole seconds of `d`, saturating (a configured duration never overflows
/// the checks).
pub(crate) fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}
