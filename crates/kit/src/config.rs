//! Typed, layered configuration.
//!
//! Values come, in increasing precedence, from the service's defaults, an optional TOML
//! file named by `EGIDE_CONFIG`, and environment variables
//! `EGIDE_<SERVICE>__<SECTION>__<FIELD>` (double underscores separate levels, e.g.
//! `EGIDE_ENROLMENT__DATABASE__URL`). A bad key or value is reported with its path and the
//! process exits with code 64 (`EX_USAGE`) before binding any port.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use secrecy::SecretString;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// Exit code for a configuration error (`EX_USAGE` from sysexits.h).
pub const EXIT_BAD_CONFIG: i32 = 64;

/// Loads the configuration of `service` (lower case, e.g. `"enrolment"`) over `defaults`.
pub fn load<T>(service: &str, defaults: &T) -> Result<T, Box<figment::Error>>
where
    T: Serialize + DeserializeOwned,
{
    sources(service, defaults).extract().map_err(Box::new)
}

/// Defaults, then the `EGIDE_CONFIG` file, then the service's environment variables.
fn sources<T: Serialize>(service: &str, defaults: &T) -> Figment {
    let mut figment = Figment::from(Serialized::defaults(defaults));
    if let Some(path) = std::env::var_os("EGIDE_CONFIG") {
        figment = figment.merge(Toml::file_exact(PathBuf::from(path)));
    }
    let prefix = format!("EGIDE_{}__", service.to_ascii_uppercase());
    figment.merge(Env::prefixed(&prefix).split("__"))
}

/// [`load`] for a configuration that flattens [`ServiceConfig`] beside settings of its own
/// (serde cannot refuse unknown keys through a flattened struct): every top-level key must
/// also be a key of the serialized `defaults`, so `T` must serialize every top-level field
/// (no skipped `None`s).
pub fn load_flattened<T>(service: &str, defaults: &T) -> Result<T, Box<figment::Error>>
where
    T: Serialize + DeserializeOwned,
{
    let figment = sources(service, defaults);
    let known: Vec<String> = Figment::from(Serialized::defaults(defaults))
        .extract::<figment::value::Dict>()
        .map_err(Box::new)?
        .into_keys()
        .collect();
    let given = figment
        .extract::<figment::value::Dict>()
        .map_err(Box::new)?;
    if let Some(unknown) = given.keys().find(|k| !known.contains(k)) {
        return Err(Box::new(figment::Error::from(format!(
            "unknown configuration key `{unknown}` (known: {})",
            known.join(", ")
        ))));
    }
    figment.extract().map_err(Box::new)
}

/// Loads the configuration or exits with [`EXIT_BAD_CONFIG`] after printing every error.
pub fn load_or_exit<T>(service: &str, defaults: &T) -> T
where
    T: Serialize + DeserializeOwned,
{
    exit_on_error(service, load(service, defaults))
}

/// [`load_flattened`], exiting with [`EXIT_BAD_CONFIG`] on an error.
pub fn load_flattened_or_exit<T>(service: &str, defaults: &T) -> T
where
    T: Serialize + DeserializeOwned,
{
    exit_on_error(service, load_flattened(service, defaults))
}

fn exit_on_error<T>(service: &str, loaded: Result<T, Box<figment::Error>>) -> T {
    match loaded {
        Ok(config) => config,
        Err(error) => {
            for e in *error {
                eprintln!("egide-{service}: bad configuration: {e}");
            }
            std::process::exit(EXIT_BAD_CONFIG);
        }
    }
}

/// Where the gRPC server listens.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrpcConfig {
    /// Listen address; port 0 picks a free port (tests).
    pub listen: SocketAddr,
    /// Largest accepted request message, in bytes.
    #[serde(default = "default_max_message")]
    pub max_message_bytes: usize,
    /// A second, plain-text listener that serves gRPC health only, for probes that cannot
    /// speak the mesh's TLS (the kubelet's `grpc` probe).
    #[serde(default)]
    pub probe_listen: Option<SocketAddr>,
}

fn default_max_message() -> usize {
    256 * 1024
}

impl GrpcConfig {
    /// A listener on `listen` with the default message limit.
    pub fn on(listen: SocketAddr) -> Self {
        Self {
            listen,
            max_message_bytes: default_max_message(),
            probe_listen: None,
        }
    }
}

/// The service's own Postgres database.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `postgres://user:password@host:port/database`.
    #[serde(serialize_with = "serialize_secret")]
    pub url: SecretString,
    /// Pool size.
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
}

fn default_max_connections() -> u32 {
    16
}

/// NATS JetStream.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsConfig {
    /// `nats://host:port`.
    pub url: String,
    /// The JetStream stream holding every `egide.>` event.
    #[serde(default = "default_stream")]
    pub stream: String,
}

fn default_stream() -> String {
    "EGIDE".into()
}

/// How a service authenticates to Vault/OpenBao.
#[derive(Clone, Debug, Serialize, Deserialize)]
// No `deny_unknown_fields` here: layered sources merge maps, so the defaults' `token`
// key is still present when the environment switches `method` to `approle`.
#[serde(tag = "method", rename_all = "lowercase")]
pub enum VaultAuth {
    /// A static token (development and tests only).
    Token {
        /// The token.
        #[serde(serialize_with = "serialize_secret")]
        token: SecretString,
    },
    /// AppRole (local stack).
    Approle {
        /// Mount path of the AppRole auth method.
        #[serde(default = "default_approle_mount")]
        mount: String,
        /// The role id.
        role_id: String,
        /// The secret id.
        #[serde(serialize_with = "serialize_secret")]
        secret_id: SecretString,
    },
    /// Kubernetes service-account tokens (in a cluster).
    Kubernetes {
        /// Mount path of the Kubernetes auth method.
        #[serde(default = "default_kubernetes_mount")]
        mount: String,
        /// The Vault role bound to the service account.
        role: String,
        /// Where the projected service-account token is.
        #[serde(default = "default_jwt_path")]
        jwt_path: PathBuf,
    },
}

fn default_approle_mount() -> String {
    "approle".into()
}
fn default_kubernetes_mount() -> String {
    "kubernetes".into()
}
fn default_jwt_path() -> PathBuf {
    PathBuf::from("/var/run/secrets/kubernetes.io/serviceaccount/token")
}

/// Vault/OpenBao.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultConfig {
    /// `http(s)://host:port`.
    pub addr: String,
    /// Authentication method and its parameters.
    pub auth: VaultAuth,
    /// Mount path of the transit secrets engine.
    #[serde(default = "default_transit_mount")]
    pub transit_mount: String,
}

fn default_transit_mount() -> String {
    "transit".into()
}

/// Log format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line (production).
    #[default]
    Json,
    /// Human-readable lines (development).
    Pretty,
}

/// Logs and traces.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetryConfig {
    /// Output format.
    #[serde(default)]
    pub format: LogFormat,
    /// `tracing` filter directives, e.g. `info,egide_kit=debug`.
    #[serde(default = "default_filter")]
    pub filter: String,
}

fn default_filter() -> String {
    "info".into()
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Json,
            filter: default_filter(),
        }
    }
}

/// Configuration every backend service shares.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// gRPC server.
    pub grpc: GrpcConfig,
    /// The service's database.
    pub database: DatabaseConfig,
    /// NATS JetStream.
    pub nats: NatsConfig,
    /// Vault/OpenBao.
    pub vault: VaultConfig,
    /// This process's identity in the internal mesh (mutual TLS with the other services).
    /// Without it the service serves plain HTTP/2 and never sees a caller: every call
    /// that needs one is refused.
    #[serde(default)]
    pub mesh: Option<crate::mesh::MeshConfig>,
    /// Logs.
    #[serde(default)]
    pub telemetry: TelemetryConfig,
    /// How long in-flight work may take to finish on shutdown, in seconds.
    #[serde(default = "default_grace")]
    pub shutdown_grace_secs: u64,
}

fn default_grace() -> u64 {
    10
}

impl AsRef<ServiceConfig> for ServiceConfig {
    fn as_ref(&self) -> &ServiceConfig {
        self
    }
}

impl ServiceConfig {
    /// Defaults for a local run: every address on loopback, values that must be given
    /// (database URL, Vault credentials) left empty so that a missing one fails loudly.
    pub fn local_defaults(grpc_port: u16) -> Self {
        Self {
            grpc: GrpcConfig::on(SocketAddr::from(([127, 0, 0, 1], grpc_port))),
            database: DatabaseConfig {
                url: SecretString::from(String::new()),
                max_connections: default_max_connections(),
            },
            nats: NatsConfig {
                url: "nats://127.0.0.1:4222".into(),
                stream: default_stream(),
            },
            vault: VaultConfig {
                addr: "http://127.0.0.1:8200".into(),
                auth: VaultAuth::Token {
                    token: SecretString::from(String::new()),
                },
                transit_mount: default_transit_mount(),
            },
            mesh: None,
            telemetry: TelemetryConfig::default(),
            shutdown_grace_secs: default_grace(),
        }
    }

    /// A configuration on an ephemeral loopback port (port 0) with Vault token auth and a
    /// small pool: what tests and tools that start a service in-process need.
    pub fn ephemeral(
        database_url: impl Into<String>,
        nats_url: impl Into<String>,
        vault_addr: impl Into<String>,
        vault_token: impl Into<String>,
    ) -> Self {
        let mut config = Self::local_defaults(0);
        config.database = DatabaseConfig {
            url: SecretString::from(database_url.into()),
            max_connections: 4,
        };
        config.nats.url = nats_url.into();
        config.vault.addr = vault_addr.into();
        config.vault.auth = VaultAuth::Token {
            token: SecretString::from(vault_token.into()),
        };
        config.shutdown_grace_secs = 1;
        config
    }

    /// Puts the service in the test mesh as `service` (`mesh::dev::for_tests`): its
    /// server then believes caller headers from the tests' gateway certificate only.
    pub fn in_test_mesh(mut self, service: &str) -> Self {
        self.mesh = Some(crate::mesh::dev::test_config(service));
        self
    }

    /// Checks what serde cannot: values that are required but empty. Each problem is
    /// reported with its configuration path.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        use secrecy::ExposeSecret;
        let mut problems = Vec::new();
        if self.database.url.expose_secret().is_empty() {
            problems.push("database.url: missing".to_owned());
        }
        if self.nats.url.is_empty() {
            problems.push("nats.url: missing".to_owned());
        }
        if self.vault.addr.is_empty() {
            problems.push("vault.addr: missing".to_owned());
        }
        match &self.vault.auth {
            VaultAuth::Token { token } if token.expose_secret().is_empty() => {
                problems.push("vault.auth.token: missing".to_owned());
            }
            VaultAuth::Approle {
                role_id, secret_id, ..
            } if role_id.is_empty() || secret_id.expose_secret().is_empty() => {
                problems.push("vault.auth.role_id/secret_id: missing".to_owned());
            }
            _ => {}
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// [`Self::validate`], exiting with [`EXIT_BAD_CONFIG`] on a problem.
    pub fn validate_or_exit(&self, service: &str) {
        if let Err(problems) = self.validate() {
            for p in problems {
                eprintln!("egide-{service}: bad configuration: {p}");
            }
            std::process::exit(EXIT_BAD_CONFIG);
        }
    }

    /// The shutdown grace period.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }
}

/// Secrets are written out as a fixed marker, never their value; this only exists so that
/// defaults can go through figment's `Serialized` provider.
fn serialize_secret<S: serde::Serializer>(_: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("")
}
