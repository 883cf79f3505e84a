//! Gateway configuration (`EGIDE_GATEWAY__…`).

use std::{collections::BTreeMap, net::SocketAddr, path::PathBuf};

use egide_kit::config::{NatsConfig, TelemetryConfig, VaultConfig};
use serde::{Deserialize, Serialize};

/// The gateway's configuration.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    /// The public gRPC listener (TLS).
    pub grpc: Listen,
    /// The plain HTTP listener: `/healthz`, `/readyz`, `/metrics`.
    pub http: Listen,
    /// The server certificate.
    pub tls: TlsConfig,
    /// Backend addresses by domain (`enrolment`, `auth`, `certval`, `billing`, `audit`):
    /// `https://host:port` (the backend must prove it is `<domain>.egide.internal` of the
    /// mesh). A domain without a route answers UNIMPLEMENTED.
    #[serde(default)]
    pub routes: BTreeMap<String, String>,
    /// The gateway's identity in the internal mesh: the certificate the backends believe
    /// caller headers from. Without it the backends see no caller, and every route that
    /// needs a person or a structure is refused by them.
    #[serde(default)]
    pub mesh: Option<egide_kit::mesh::MeshConfig>,
    /// Per-request deadline when the client sets none, in milliseconds.
    #[serde(default = "default_timeout")]
    pub route_timeout_ms: u64,
    /// Largest accepted request message, in bytes; larger ones are refused with
    /// INVALID_ARGUMENT before reaching a backend.
    #[serde(default = "default_max_message")]
    pub max_message_bytes: usize,
    /// NATS, for platform events the gateway reacts to (revocations, logouts). Optional:
    /// without it the gateway only routes.
    #[serde(default)]
    pub nats: Option<NatsConfig>,
    /// Vault, for the keys the gateway checks tokens with. Optional likewise.
    #[serde(default)]
    pub vault: Option<VaultConfig>,
    /// Client certificates (mTLS): who may call, validated by certval.
    #[serde(default)]
    pub client_auth: ClientAuthConfig,
    /// People: access tokens on protected routes, and the PGSSI-S policy.
    #[serde(default)]
    pub bearer: BearerConfig,
    /// Rate limits per structure and per person, by class of routes (GCRA).
    #[serde(default)]
    pub rate_limits: RateLimitConfig,
    /// Logs.
    #[serde(default)]
    pub telemetry: TelemetryConfig,
}

fn default_timeout() -> u64 {
    10_000
}

fn default_max_message() -> usize {
    256 * 1024
}

/// A listen address.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listen {
    /// Address; port 0 picks a free port.
    pub listen: SocketAddr,
}

/// PEM files of the server certificate chain and key.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// Certificate chain, leaf first.
    pub cert_file: PathBuf,
    /// Private key (PKCS#8, SEC1 or PKCS#1).
    pub key_file: PathBuf,
}

/// Whether callers must present a client certificate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMode {
    /// Every call outside `public_routes` needs a valid structure certificate.
    #[default]
    Required,
    /// A presented certificate must be valid; a call without one passes anonymously.
    Optional,
    /// Certificates are ignored (every call is anonymous).
    Off,
}

/// Client certificates: offered at the TLS handshake, validated per call by certval
/// (the route `certval` must exist unless `mode = "off"`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientAuthConfig {
    /// `required`, `optional` or `off`.
    pub mode: ClientAuthMode,
    /// Path prefixes that never need a certificate.
    pub public_routes: Vec<String>,
    /// How long a valid chain is remembered (also bounded by the leaf's notAfter).
    pub cache_ttl_secs: u64,
    /// Chains remembered at most; the cache is emptied when full.
    pub cache_capacity: usize,
    /// The certval purpose client certificates must serve.
    pub purpose: String,
    /// Deadline of one ValidateChain call, in milliseconds.
    pub validate_timeout_ms: u64,
}

impl Default for ClientAuthConfig {
    fn default() -> Self {
        Self {
            mode: ClientAuthMode::Required,
            public_routes: vec![
                "/grpc.health.v1.Health/".to_owned(),
                "/grpc.reflection.".to_owned(),
            ],
            cache_ttl_secs: 300,
            cache_capacity: 100_000,
            purpose: "structure-client-auth".to_owned(),
            validate_timeout_ms: 3_000,
        }
    }
}

impl GatewayConfig {
    /// Local defaults: gRPC on 127.0.0.1:8443, HTTP on 127.0.0.1:8080, no routes.
    pub fn local_defaults() -> Self {
        Self {
            grpc: Listen {
                listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            },
            http: Listen {
                listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            },
            tls: TlsConfig {
                cert_file: PathBuf::from(".run/tls/gateway.pem"),
                key_file: PathBuf::from(".run/tls/gateway.key"),
            },
            routes: BTreeMap::new(),
            mesh: None,
            route_timeout_ms: default_timeout(),
            max_message_bytes: default_max_message(),
            nats: None,
            vault: None,
            client_auth: ClientAuthConfig::default(),
            bearer: BearerConfig::default(),
            rate_limits: RateLimitConfig::default(),
            telemetry: TelemetryConfig::default(),
        }
    }
}

/// Access tokens (auth's JWTs) and the policy that says which routes need which.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BearerConfig {
    /// The `iss` tokens must carry: auth's `tokens.issuer`.
    pub issuer: String,
    /// The `aud` tokens must carry: auth's `tokens.audience`.
    pub audience: String,
    /// Clock skew tolerated on `exp`, `nbf`, `iat`, in seconds.
    pub leeway_secs: i64,
    /// How often the JWKS is fetched again.
    pub jwks_refresh_secs: u64,
    /// A token naming an unknown key fetches the JWKS again at most this often.
    pub jwks_min_refetch_secs: u64,
    /// How far back session revocations are read at start: at least the longest access
    /// token lifetime.
    pub revocation_lookback_secs: u64,
    /// The PGSSI-S policy file (TOML, crates/policy/default.toml's format); none: the
    /// shipped default. Reloaded on SIGHUP.
    pub policy_file: Option<PathBuf>,
    /// The policy itself, inline (what the Helm chart renders into the settings file,
    /// whose checksum rolls the pods); when set it wins over `policy_file`.
    pub policy: String,
}

impl Default for BearerConfig {
    fn default() -> Self {
        Self {
            issuer: "https://127.0.0.1:8443".to_owned(),
            audience: "egide".to_owned(),
            leeway_secs: 30,
            jwks_refresh_secs: 300,
            jwks_min_refetch_secs: 5,
            revocation_lookback_secs: 3600,
            policy_file: None,
            policy: String::new(),
        }
    }
}

/// A sustained rate and a burst.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    /// Requests per second, sustained.
    pub per_second: f64,
    /// Requests allowed at once above it (at least 1).
    pub burst: u32,
}

/// The limits of a class of routes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateClass {
    /// Its name, in refusals and metrics.
    pub name: String,
    /// Route prefixes (gRPC paths, HTTP paths); the longest matching prefix of any class
    /// wins, `""` matches everything.
    pub routes: Vec<String>,
    /// Per structure certificate (its idNat_Struct), when one was shown.
    #[serde(default)]
    pub per_structure: Option<Rate>,
    /// Per person (category and subject of the access token), on routes that need one.
    #[serde(default)]
    pub per_subject: Option<Rate>,
}

/// `[rate_limits]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    /// Off: nothing is limited.
    pub enabled: bool,
    /// The classes.
    pub classes: Vec<RateClass>,
}

impl Default for RateLimitConfig {
    /// Logins and token refreshes are limited more tightly than other calls, and TOTP
    /// enrolment (a guessable six-digit code) most.
    fn default() -> Self {
        let rate = |per_second, burst| Some(Rate { per_second, burst });
        let auth = |rpc: &str| format!("/egide.auth.v1.AuthService/{rpc}");
        Self {
            enabled: true,
            classes: vec![
                RateClass {
                    name: "default".into(),
                    routes: vec![String::new()],
                    per_structure: rate(2_000.0, 4_000),
                    per_subject: rate(20.0, 40),
                },
                RateClass {
                    name: "login".into(),
                    routes: vec![
                        auth("StartLogin"),
                        auth("CompleteLogin"),
                        auth("PasswordLogin"),
                        auth("RefreshSession"),
                        "/oauth2/token".into(),
                    ],
                    per_structure: rate(1_000.0, 2_000),
                    per_subject: None,
                },
                RateClass {
                    name: "totp".into(),
                    routes: vec![auth("StartTotpEnrolment"), auth("ConfirmTotpEnrolment")],
                    per_structure: rate(50.0, 100),
                    per_subject: rate(0.1, 5),
                },
            ],
        }
    }
}

impl RateLimitConfig {
    /// Refuses rates that are not positive and finite, and empty bursts.
    pub fn validate(&self) -> anyhow::Result<()> {
        for class in &self.classes {
            for rate in [class.per_structure, class.per_subject]
                .into_iter()
                .flatten()
            {
                if !(rate.per_second.is_finite() && rate.per_second > 0.0) || rate.burst == 0 {
                    anyhow::bail!(
                        "rate_limits class {:?}: per_second must be > 0 and burst ≥ 1",
                        class.name
                    );
                }
            }
        }
        Ok(())
    }
}
