//! The auth service's configuration: the shared [`ServiceConfig`] plus its own settings
//! (`EGIDE_AUTH__TOKENS__ACCESS_TTL_SECS=…`, or `[tokens]` in the TOML file).

use std::time::Duration;

use egide_kit::config::ServiceConfig;
use serde::{Deserialize, Serialize};

/// Everything the auth service reads at start-up.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuthConfig {
    /// What every service shares.
    #[serde(flatten)]
    pub service: ServiceConfig,
    /// Token issuance.
    #[serde(default)]
    pub tokens: TokenSettings,
    /// Session limits.
    #[serde(default)]
    pub sessions: SessionSettings,
    /// Logins.
    #[serde(default)]
    pub login: LoginSettings,
    /// The durable consumer of enrolment's events (one per deployment; tests sharing a
    /// NATS use one each).
    #[serde(default = "default_consumer")]
    pub consumer: String,
}

fn default_consumer() -> String {
    "auth".to_owned()
}

impl AsRef<ServiceConfig> for AuthConfig {
    fn as_ref(&self) -> &ServiceConfig {
        &self.service
    }
}

impl AuthConfig {
    /// Defaults around `service`.
    pub fn new(service: ServiceConfig) -> Self {
        Self {
            service,
            tokens: TokenSettings::default(),
            sessions: SessionSettings::default(),
            login: LoginSettings::default(),
            consumer: default_consumer(),
        }
    }

    /// Every setting that is out of range, by path.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = self.service.validate().err().unwrap_or_default();
        let t = &self.tokens;
        if t.issuer.is_empty() {
            problems.push("tokens.issuer: empty".into());
        }
        if t.audience.is_empty() {
            problems.push("tokens.audience: empty".into());
        }
        if !(30..=3600).contains(&t.access_ttl_secs) {
            problems.push("tokens.access_ttl_secs: between 30 and 3600".into());
        }
        if !(1..=1000).contains(&t.sign_batch_max) {
            problems.push("tokens.sign_batch_max: between 1 and 1000".into());
        }
        let s = &self.sessions;
        if s.idle_secs == 0 || s.lifetime_secs < s.idle_secs {
            problems.push("sessions: idle_secs > 0 and lifetime_secs ≥ idle_secs".into());
        }
        if !(10..=600).contains(&self.login.challenge_ttl_secs) {
            problems.push("login.challenge_ttl_secs: between 10 and 600".into());
        }
        for c in &self.login.clients {
            if !crate::login::valid_client_id(c) {
                problems.push(format!(
                    "login.clients: {c:?} is not [A-Za-z0-9._-]{{1,64}}"
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

/// Token issuance.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenSettings {
    /// `iss` of every token: the public URL of the gateway.
    pub issuer: String,
    /// `aud` of access tokens: the resource servers behind the gateway.
    pub audience: String,
    /// The Vault transit key (ecdsa-p256) that signs tokens.
    pub signing_key: String,
    /// Access token lifetime.
    pub access_ttl_secs: u64,
    /// ID token lifetime.
    pub id_ttl_secs: u64,
    /// Most tokens signed in one Vault call.
    pub sign_batch_max: usize,
    /// Vault sign calls in flight at once; what arrives meanwhile waits and is batched.
    pub sign_concurrency: usize,
    /// How often the signing key's versions are read again (a rotation is picked up).
    pub key_refresh_secs: u64,
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            issuer: "https://127.0.0.1:8443".into(),
            audience: "egide".into(),
            signing_key: "egide-token-signing".into(),
            access_ttl_secs: 300,
            id_ttl_secs: 300,
            sign_batch_max: 128,
            sign_concurrency: 4,
            key_refresh_secs: 10,
        }
    }
}

impl TokenSettings {
    /// Access token lifetime.
    pub fn access_ttl(&self) -> Duration {
        Duration::from_secs(self.access_ttl_secs)
    }
}

/// Session limits (domain.md §7: the draft's 4 h absolute, 30 min idle).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionSettings {
    /// A session unused (no refresh) this long ends.
    pub idle_secs: u64,
    /// A session ends this long after the login, whatever happens.
    pub lifetime_secs: u64,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            idle_secs: 30 * 60,
            lifetime_secs: 4 * 3600,
        }
    }
}

/// Logins.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoginSettings {
    /// How long a login challenge may be answered.
    pub challenge_ttl_secs: u64,
    /// The client ids that may ask for logins.
    pub clients: Vec<String>,
}

impl Default for LoginSettings {
    fn default() -> Self {
        Self {
            challenge_ttl_secs: 120,
            clients: vec![
                "egide-cli".into(),
                "egide-cvapp".into(),
                "egide-ecps".into(),
            ],
        }
    }
}
