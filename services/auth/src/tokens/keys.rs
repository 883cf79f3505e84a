//! The token signing key's versions: which one signs, which ones the JWKS publishes.
//!
//! Read from Vault at start and every `key_refresh_secs`: after `transit rotate`, new
//! tokens use the new version within one refresh, and a retired version stays in the
//! JWKS until every token it may have signed has expired.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use egide_kit::vault::{PublicKeyVersion, Vault, VaultError};
use egide_token::Jwk;
use tokio_util::sync::CancellationToken;

/// The current signing version and the keys to publish.
#[derive(Clone, Debug)]
pub struct KeyState {
    /// The version new tokens are signed with.
    pub version: u64,
    /// Its `kid`.
    pub kid: String,
    /// The public keys of every version a live token may carry, current first.
    pub jwks: Vec<Jwk>,
}

/// The latest [`KeyState`], shared.
#[derive(Clone, Debug, Default)]
pub struct Keys {
    state: Arc<RwLock<Option<Arc<KeyState>>>>,
}

impl Keys {
    /// The current state; `None` until Vault was read once.
    pub fn current(&self) -> Option<Arc<KeyState>> {
        self.state.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set(&self, state: KeyState) {
        *self.state.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(state));
    }

    /// Reads the key's versions now.
    pub async fn refresh(
        &self,
        vault: &Vault,
        key: &str,
        keep_for: Duration,
    ) -> Result<(), VaultError> {
        let (versions, latest) = vault.public_keys(key).await?;
        let state = key_state(key, &versions, latest, keep_for, Utc::now())
            .ok_or(VaultError::Malformed("token signing key (not ecdsa-p256?)"))?;
        let changed = self.current().is_none_or(|s| s.version != state.version);
        if changed {
            tracing::info!(kid = %state.kid, published = state.jwks.len(), "token signing key");
        }
        self.set(state);
        Ok(())
    }

    /// Refreshes every `every` until `shutdown` (quickly again while Vault is away).
    pub async fn follow(
        self,
        vault: Vault,
        key: String,
        every: Duration,
        keep_for: Duration,
        shutdown: CancellationToken,
    ) {
        loop {
            let wait = match self.refresh(&vault, &key, keep_for).await {
                Ok(()) => every,
                Err(error) => {
                    tracing::warn!(%error, "cannot read the token signing key");
                    Duration::from_secs(1).min(every)
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
            }
        }
    }
}

/// The state for `versions`: the latest signs; an older version `v` is published while
/// version `v + 1` is younger than `keep_for` (the longest a token lives, plus the time
/// every replica takes to notice a rotation).
fn key_state(
    key: &str,
    versions: &[PublicKeyVersion],
    latest: u64,
    keep_for: Duration,
    now: DateTime<Utc>,
) -> Option<KeyState> {
    let created = |v: u64| {
        versions
            .iter()
            .find(|k| k.version == v)
            .and_then(|k| DateTime::parse_from_rfc3339(&k.creation_time).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let keep_for = chrono::Duration::from_std(keep_for).unwrap_or(chrono::Duration::MAX);
    let mut jwks = Vec::new();
    for k in versions.iter().rev() {
        let published =
            k.version == latest || created(k.version + 1).is_none_or(|next| now - next < keep_for);
        if published {
            jwks.push(
                Jwk::from_spki_pem(&egide_token::kid(key, k.version), &k.public_key_pem).ok()?,
            );
        }
    }
    jwks.first()?;
    Some(KeyState {
        version: latest,
        kid: egide_token::kid(key, latest),
        jwks,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const PEM: &str = "-----BEGIN PUBLIC KEY-----\n\
        MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEVs/o5+uQbTjL3chynL4wXgUg2R9\n\
        q9UU8I5mEovUf86QZ7kOBIjJwqnzD1omageEHWwHdBO6B+dFabmdT9POxg==\n\
        -----END PUBLIC KEY-----\n";

    fn version(v: u64, created: &str) -> PublicKeyVersion {
        PublicKeyVersion {
            version: v,
            public_key_pem: PEM.into(),
            creation_time: created.into(),
        }
    }

    #[test]
    fn a_retired_version_is_published_until_its_tokens_expired() {
        let versions = [
            version(1, "2026-12-04T08:00:00Z"),
            version(2, "2026-12-04T10:00:00.123456789Z"),
        ];
        let keep = Duration::from_secs(600);
        let at = |t: &str| DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc);
        let soon = key_state("k", &versions, 2, keep, at("2026-12-04T10:05:00Z")).unwrap();
        assert_eq!(soon.kid, "k-v2");
        let kids: Vec<_> = soon.jwks.iter().map(|j| j.kid.as_str()).collect();
        assert_eq!(kids, ["k-v2", "k-v1"]);
        let later = key_state("k", &versions, 2, keep, at("2026-12-04T10:11:00Z")).unwrap();
        let kids: Vec<_> = later.jwks.iter().map(|j| j.kid.as_str()).collect();
        assert_eq!(kids, ["k-v2"]);
    }

    #[test]
    fn a_key_that_is_not_p256_gives_no_state() {
        let mut v = version(1, "2026-12-04T08:00:00Z");
        v.public_key_pem =
            "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----".into();
        assert!(key_state("k", &[v], 1, Duration::from_secs(1), Utc::now()).is_none());
    }
}
