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
    /// Local accounts (passwords, TOTP, throttling, the first operator).
    #[serde(default)]
    pub accounts: AccountSettings,
    /// The services card logins ask: certval (the card's certificate and signature) and
    /// enrolment (whether the professional is active in the directory).
    #[serde(default)]
    pub peers: PeerSettings,
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
            accounts: AccountSettings::default(),
            peers: PeerSettings::default(),
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
        let a = &self.accounts;
        if crate::accounts::password::argon2(a).is_err() {
            problems.push("accounts.argon2_*: not valid Argon2 parameters".into());
        }
        if a.min_entropy_bits < 50.0 {
            problems.push("accounts.min_entropy_bits: at least 50 (domain.md §7)".into());
        }
        if a.bootstrap_operator.is_empty() != a.bootstrap_password_file.is_empty() {
            problems
                .push("accounts.bootstrap_operator and bootstrap_password_file go together".into());
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

/// Local accounts.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccountSettings {
    /// Argon2id memory, KiB (OWASP: 19 MiB).
    pub argon2_memory_kib: u32,
    /// Argon2id passes (OWASP: 2).
    pub argon2_iterations: u32,
    /// Argon2id lanes (OWASP: 1).
    pub argon2_parallelism: u32,
    /// Hashes computed at once (each takes `argon2_memory_kib`); 0: one per core.
    pub hash_concurrency: usize,
    /// The transit key passwords are keyed with before hashing (the pepper).
    pub pepper_key: String,
    /// The transit key TOTP secrets are encrypted with.
    pub totp_key: String,
    /// The issuer authenticator apps show.
    pub totp_issuer: String,
    /// Steps accepted either side of now.
    pub totp_window: u64,
    /// Least strength of a new password, in bits (zxcvbn estimate).
    pub min_entropy_bits: f64,
    /// Per login.
    pub throttle: ThrottleSettings,
    /// Per source address (delays only: locking a source would lock out a whole site
    /// behind one NAT).
    pub source_throttle: ThrottleSettings,
    /// The first operator, created at start when no account has this login.
    pub bootstrap_operator: String,
    /// A file holding its password.
    pub bootstrap_password_file: String,
}

impl Default for AccountSettings {
    fn default() -> Self {
        Self {
            argon2_memory_kib: 19 * 1024,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            hash_concurrency: 0,
            pepper_key: "egide-password-pepper".into(),
            totp_key: "egide-totp".into(),
            totp_issuer: "Egide".into(),
            totp_window: 1,
            min_entropy_bits: 50.0,
            throttle: ThrottleSettings::accounts(),
            source_throttle: ThrottleSettings::sources(),
            bootstrap_operator: String::new(),
            bootstrap_password_file: String::new(),
        }
    }
}

/// Failures allowed, then growing delays, then (when `max_failures` > 0) a lock.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottleSettings {
    /// Failures in 24 h before delays start.
    pub free_failures: u64,
    /// The first delay; each further failure doubles it.
    pub base_delay_secs: u64,
    /// The longest delay.
    pub max_delay_secs: u64,
    /// Failures in 24 h that lock (0: never).
    pub max_failures: u64,
}

impl ThrottleSettings {
    /// Per login (domain.md §7): a delay above a minute after 5 failures, at most 25 in
    /// 24 h, then a lock.
    pub fn accounts() -> Self {
        Self {
            free_failures: 5,
            base_delay_secs: 120,
            max_delay_secs: 3600,
            max_failures: 25,
        }
    }

    /// Per source.
    pub fn sources() -> Self {
        Self {
            free_failures: 50,
            base_delay_secs: 1,
            max_delay_secs: 300,
            max_failures: 0,
        }
    }
}

/// Other services auth calls.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PeerSettings {
    /// certval's gRPC endpoint.
    pub certval: String,
    /// enrolment's gRPC endpoint.
    pub enrolment: String,
    /// Deadline of one call, in milliseconds.
    pub timeout_ms: u64,
    /// How long a professional's directory status is remembered, in seconds.
    pub professional_cache_secs: u64,
}

impl Default for PeerSettings {
    fn default() -> Self {
        Self {
            certval: "http://127.0.0.1:50063".into(),
            enrolment: "http://127.0.0.1:50061".into(),
            timeout_ms: 3000,
            professional_cache_secs: 30,
        }
    }
}
