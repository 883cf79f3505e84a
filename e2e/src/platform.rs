//! [`Platform`]: one test's own NATS, PostgreSQL databases, Vault and service processes.

use std::{
    collections::BTreeMap,
    future::Future,
    ops::Deref,
    path::{Path, PathBuf},
    sync::{
        Mutex, MutexGuard,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context as _, anyhow, bail};
use egide_proto::{
    audit::v1::audit_service_client::AuditServiceClient,
    common::v1::{GetStatusRequest, GetStatusResponse, status_service_client::StatusServiceClient},
    enrolment::v1::enrolment_service_client::EnrolmentServiceClient,
};
use egide_sims::mailbox::Mailbox;
use egide_testkit::{MailSim, Nats, PortLease, Postgres, ProofingSim, Vault};
use tonic::transport::Channel;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use egide_testkit::{ServerSpec, Supervised};

use crate::{
    pki::DevPkiFiles,
    supervise::{self, os_envs},
};

/// An Égide process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    /// Structures, professionals, wallets.
    Enrolment,
    /// Authentication.
    Auth,
    /// Certificate validation.
    Certval,
    /// Billing.
    Billing,
    /// The audit log.
    Audit,
    /// The TLS gateway in front of the others.
    Gateway,
}

impl Service {
    /// Every backend service (all but the gateway).
    pub const BACKENDS: [Service; 5] = [
        Service::Enrolment,
        Service::Auth,
        Service::Certval,
        Service::Billing,
        Service::Audit,
    ];

    /// The service name (`enrolment`, …).
    pub fn name(self) -> &'static str {
        match self {
            Self::Enrolment => "enrolment",
            Self::Auth => "auth",
            Self::Certval => "certval",
            Self::Billing => "billing",
            Self::Audit => "audit",
            Self::Gateway => "gateway",
        }
    }

    fn env_prefix(self) -> String {
        format!("EGIDE_{}__", self.name().to_ascii_uppercase())
    }
}

impl std::fmt::Display for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

/// A component either shared by the whole test binary or owned by one platform.
#[derive(Debug)]
pub enum Infra<T: 'static> {
    /// From [`egide_testkit::shared`].
    Shared(&'static T),
    /// This platform's own.
    Owned(T),
}

impl<T> Deref for Infra<T> {
    type Target = T;
    fn deref(&self) -> &T {
        match self {
            Self::Shared(t) => t,
            Self::Owned(t) => t,
        }
    }
}

/// What to start.
#[derive(Clone, Debug)]
pub struct Options {
    /// Backend services to start (the gateway is [`Options::gateway`]). With enrolment
    /// come the simulators its wallets need ([`Sims`]), the transit key
    /// [`INS_DIGEST_KEY`] in Vault and a configuration file trusting the proofing
    /// simulator.
    pub services: Vec<Service>,
    /// Start the gateway in front of them; clients then go through it (TLS).
    pub gateway: bool,
    /// A Vault of this platform's own (to seal or kill it) instead of the shared one.
    pub own_vault: bool,
    /// A PostgreSQL cluster of this platform's own instead of the shared one.
    pub own_postgres: bool,
    /// `tracing` filter of the services.
    pub log_filter: String,
    /// Pool size of each service's database (`None`: the service's default).
    pub db_max_connections: Option<u32>,
    /// Where the `egide-*` binaries are (`None`: [`bin_dir`]).
    pub bin_dir: Option<PathBuf>,
    /// How long start-up may take until every process is SERVING.
    pub ready_timeout: Duration,
    /// The gateway's rate limits (its defaults); off for benchmarks that measure
    /// capacity from one client certificate.
    pub rate_limits: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            services: vec![Service::Enrolment, Service::Audit],
            gateway: false,
            own_vault: false,
            own_postgres: false,
            // One line per registered structure would drown the interesting lines.
            log_filter: "info,egide_enrolment::api=warn".into(),
            db_max_connections: None,
            bin_dir: None,
            ready_timeout: Duration::from_secs(60),
            rate_limits: true,
        }
    }
}

pub use egide_testkit::{bin_dir, binary};

/// A temporary directory, removed on drop unless the thread is panicking, [`TempDir::keep`]
/// was called or `EGIDE_E2E_KEEP` is set (then kept, and its path printed, for the logs).
#[derive(Debug)]
pub struct TempDir(PathBuf, AtomicBool);

impl TempDir {
    /// Creates `<tmp>/egide-e2e-<label>-<pid>-<random>`.
    pub fn new(label: &str) -> anyhow::Result<Self> {
        let id = uuid::Uuid::now_v7().simple().to_string();
        let dir = std::env::temp_dir().join(format!(
            "egide-e2e-{label}-{}-{}",
            std::process::id(),
            &id[id.len() - 8..]
        ));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Self(dir, AtomicBool::new(false)))
    }

    /// Keeps the directory after drop (a test failed: its logs are the evidence).
    pub fn keep(&self) {
        self.1.store(true, Ordering::Relaxed);
    }

    /// The path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::thread::panicking()
            || self.1.load(Ordering::Relaxed)
            || std::env::var_os("EGIDE_E2E_KEEP").is_some()
        {
            eprintln!("egide-e2e: kept {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// The Vault transit key enrolment digests patients' INS with (`egide-ins-digest`, see
/// `egide_enrolment::wallets::INS_DIGEST_KEY`).
pub const INS_DIGEST_KEY: &str = "egide-ins-digest";

/// The operator account auth creates at start on every platform that runs it.
pub const FIRST_OPERATOR: &str = "operator";

/// Its password (a test platform's; `egide dev up` draws one at random).
pub const FIRST_OPERATOR_PASSWORD: &str = "quartz meadow lantern obtuse fjord";

/// The Vault transit key (ecdsa-p256) auth signs tokens with (auth's default
/// `tokens.signing_key`).
pub const TOKEN_SIGNING_KEY: &str = "egide-token-signing";

/// The simulators of what lies outside Égide, one pair per platform whose services include
/// enrolment; they die with the platform (and with the test process, however it dies).
///
/// They are the `egide-*-sim` binaries found by [`egide_testkit::bin_path`]
/// (`$EGIDE_BIN_DIR`, else `$CARGO_TARGET_DIR/debug`, else `target/debug`), not
/// [`Options::bin_dir`].
#[derive(Debug)]
pub struct Sims {
    /// The SMTP relay enrolment sends codes through (`EGIDE_ENROLMENT__MAIL__SMTP_URL`).
    pub mail: MailSim,
    /// The identity-proofing provider enrolment trusts (`[[proofing.providers]]`).
    pub proofing: ProofingSim,
}

impl Sims {
    fn spawn(dir: &Path) -> anyhow::Result<Self> {
        Ok(Self {
            mail: MailSim::spawn(&dir.join("mail"))?,
            proofing: ProofingSim::spawn(&dir.join("proofing"))?,
        })
    }

    /// Writes the enrolment configuration file that trusts the proofing simulator (a list
    /// has no environment-variable form) and returns its path.
    fn write_enrolment_config(&self, dir: &Path) -> anyhow::Result<PathBuf> {
        let path = dir.join("enrolment.toml");
        // A JSON string is a valid TOML basic string (same escapes).
        let text = format!(
            "[[proofing.providers]]\nissuer = {}\nkid = {}\npublic_key_pem = {}\n",
            serde_json::to_string(self.proofing.issuer())?,
            serde_json::to_string(self.proofing.kid())?,
            serde_json::to_string(self.proofing.public_key_pem())?,
        );
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }
}

#[derive(Debug)]
struct Proc {
    spec: ServerSpec,
    port: u16,
    http_port: Option<u16>,
    database_url: Option<String>,
    running: Option<Supervised>,
    started_at: Instant,
}

/// One test's platform: its own NATS, databases on a (shared or own) PostgreSQL, a
/// (shared or own) Vault, and the service processes, each on a free port with its log in
/// the platform's temp directory. Dropping it kills the processes.
#[derive(Debug)]
pub struct Platform {
    procs: Mutex<BTreeMap<Service, Proc>>,
    channels: BTreeMap<Service, Channel>,
    gateway_channel: Option<Channel>,
    gateway_ca: Option<PathBuf>,
    pki: Option<DevPkiFiles>,
    sims: Option<Sims>,
    nats: Nats,
    postgres: Infra<Postgres>,
    vault: Infra<Vault>,
    bin_dir: PathBuf,
    dir: TempDir,
    /// The service ports, held until the platform is gone.
    _leases: Vec<PortLease>,
    /// The operator session of [`Platform::operator_metadata`], and when it was obtained.
    operator: tokio::sync::Mutex<Option<(egide_proto::auth::v1::TokenResponse, Instant)>>,
}

impl Platform {
    /// Starts everything `options` asks for and waits until every process is SERVING.
    pub async fn start(options: Options) -> anyhow::Result<Self> {
        let bin_dir = options.bin_dir.clone().unwrap_or_else(bin_dir);
        for s in options
            .services
            .iter()
            .chain(options.gateway.then_some(&Service::Gateway))
        {
            binary(&bin_dir, &format!("egide-{s}"))?;
        }
        let dir = TempDir::new("platform")?;
        egide_kit::mesh::dev::ensure(&dir.path().join("mesh"))?;
        let own_vault = options.own_vault;
        let own_postgres = options.own_postgres;
        let (nats, postgres, vault) = blocking(move || -> anyhow::Result<_> {
            let shared = (!own_vault || !own_postgres).then(egide_testkit::shared);
            let nats = Nats::spawn()?;
            let postgres = match shared {
                Some(stack) if !own_postgres => Infra::Shared(&stack.postgres),
                _ => Infra::Owned(Postgres::spawn()?),
            };
            let vault = match shared {
                Some(stack) if !own_vault => Infra::Shared(&stack.vault),
                _ => Infra::Owned(Vault::spawn()?),
            };
            Ok((nats, postgres, vault))
        })?;
        if options.services.contains(&Service::Auth) {
            blocking(|| {
                vault.ensure_transit_key_of(TOKEN_SIGNING_KEY, "ecdsa-p256")?;
                vault.ensure_transit_key("egide-password-pepper")?;
                vault.ensure_transit_key("egide-totp")
            })?;
        }
        let sims = if options.services.contains(&Service::Enrolment) {
            ensure_ins_digest_key(&vault).await?;
            let sims_dir = dir.path().join("sims");
            Some(blocking(|| Sims::spawn(&sims_dir))?)
        } else {
            None
        };

        let pki = if options.services.contains(&Service::Certval) {
            Some(DevPkiFiles::set_up(&vault, dir.path()).await?)
        } else {
            None
        };

        let mut procs = BTreeMap::new();
        let mut channels = BTreeMap::new();
        let mut routes = Vec::new();
        // Leased, not bound to port 0: a service that is killed and restarted must come
        // back where the gateway and the other services route to it, and a lease keeps its
        // port out of everyone else's hands meanwhile.
        let mut leases = Vec::new();
        let mut lease = || -> anyhow::Result<u16> {
            let l = PortLease::one()?;
            let port = l.port();
            leases.push(l);
            Ok(port)
        };
        let ports: BTreeMap<Service, u16> = options
            .services
            .iter()
            .map(|&s| Ok((s, lease()?)))
            .collect::<anyhow::Result<_>>()?;
        // The gateway's ports first: its URL is the issuer auth's tokens name.
        let gateway_ports = if options.gateway {
            Some((lease()?, lease()?))
        } else {
            None
        };
        let issuer = gateway_ports.map(|(port, _)| format!("https://localhost:{port}"));
        for &service in &options.services {
            let port = ports[&service];
            let database_url = {
                let pg = &postgres;
                blocking(|| pg.create_database(service.name()))?
            };
            let p = service.env_prefix();
            let mut envs = vec![
                (format!("{p}GRPC__LISTEN"), format!("127.0.0.1:{port}")),
                (format!("{p}DATABASE__URL"), database_url.clone()),
                (format!("{p}NATS__URL"), nats.url()),
                (format!("{p}VAULT__ADDR"), vault.addr()),
                (format!("{p}VAULT__AUTH__METHOD"), "token".into()),
                (
                    format!("{p}VAULT__AUTH__TOKEN"),
                    vault.root_token().to_owned(),
                ),
                (format!("{p}TELEMETRY__FORMAT"), "pretty".into()),
                (format!("{p}TELEMETRY__FILTER"), options.log_filter.clone()),
                (format!("{p}SHUTDOWN_GRACE_SECS"), "5".into()),
            ];
            envs.extend(mesh_env(&p, dir.path(), service.name()));
            if let Some(n) = options.db_max_connections {
                envs.push((format!("{p}DATABASE__MAX_CONNECTIONS"), n.to_string()));
            }
            if let (Service::Certval, Some(pki)) = (service, &pki) {
                envs.push((
                    "EGIDE_CONFIG".into(),
                    pki.certval_config.display().to_string(),
                ));
            }
            if service == Service::Enrolment
                && let Some(port) = ports.get(&Service::Certval)
            {
                envs.push((
                    format!("{p}CERTVAL__ENDPOINT"),
                    format!("https://127.0.0.1:{port}"),
                ));
            }
            if service == Service::Auth {
                if let Some(issuer) = &issuer {
                    envs.push((format!("{p}TOKENS__ISSUER"), issuer.clone()));
                }
                for (peer, key) in [
                    (Service::Certval, "CERTVAL"),
                    (Service::Enrolment, "ENROLMENT"),
                ] {
                    if let Some(port) = ports.get(&peer) {
                        envs.push((
                            format!("{p}PEERS__{key}"),
                            format!("https://127.0.0.1:{port}"),
                        ));
                    }
                }
                let file = dir.path().join("operator-password");
                std::fs::write(&file, FIRST_OPERATOR_PASSWORD)?;
                envs.push((
                    format!("{p}ACCOUNTS__BOOTSTRAP_OPERATOR"),
                    FIRST_OPERATOR.into(),
                ));
                envs.push((
                    format!("{p}ACCOUNTS__BOOTSTRAP_PASSWORD_FILE"),
                    file.display().to_string(),
                ));
            }
            if let (Service::Enrolment, Some(sims)) = (service, &sims) {
                envs.push((format!("{p}MAIL__SMTP_URL"), sims.mail.url()));
                let config = sims.write_enrolment_config(dir.path())?;
                envs.push(("EGIDE_CONFIG".into(), config.display().to_string()));
            }
            let url = format!("https://127.0.0.1:{port}");
            routes.push((service, url.clone()));
            channels.insert(service, direct_channel(dir.path(), &url, service.name())?);
            procs.insert(
                service,
                Proc {
                    spec: ServerSpec {
                        name: service.name(),
                        program: binary(&bin_dir, &format!("egide-{service}"))?,
                        args: Vec::new(),
                        envs: os_envs(envs),
                        env_remove: Vec::new(),
                        cwd: dir.path().to_path_buf(),
                        log: dir.path().join(format!("{service}.log")),
                        lock: dir.path().join("supervisors.lock"),
                        stop_signal: "TERM",
                        grace_secs: 10,
                    },
                    port,
                    http_port: None,
                    database_url: Some(database_url),
                    running: None,
                    started_at: Instant::now(),
                },
            );
        }
        let mut gateway_channel = None;
        if let (Some((port, http_port)), Some(issuer)) = (gateway_ports, &issuer) {
            let tls = egide_gateway::dev_tls::ensure(&dir.path().join("tls"))?;
            let mut envs = vec![
                ("EGIDE_GATEWAY__BEARER__ISSUER".to_owned(), issuer.clone()),
                (
                    "EGIDE_GATEWAY__GRPC__LISTEN".to_owned(),
                    format!("127.0.0.1:{port}"),
                ),
                (
                    "EGIDE_GATEWAY__HTTP__LISTEN".to_owned(),
                    format!("127.0.0.1:{http_port}"),
                ),
                (
                    "EGIDE_GATEWAY__TLS__CERT_FILE".to_owned(),
                    tls.cert_file.display().to_string(),
                ),
                (
                    "EGIDE_GATEWAY__TLS__KEY_FILE".to_owned(),
                    tls.key_file.display().to_string(),
                ),
                (
                    "EGIDE_GATEWAY__TELEMETRY__FORMAT".to_owned(),
                    "pretty".into(),
                ),
                (
                    "EGIDE_GATEWAY__TELEMETRY__FILTER".to_owned(),
                    options.log_filter.clone(),
                ),
            ];
            envs.extend(mesh_env("EGIDE_GATEWAY__", dir.path(), "gateway"));
            if !options.rate_limits {
                envs.push((
                    "EGIDE_GATEWAY__RATE_LIMITS__ENABLED".to_owned(),
                    "false".into(),
                ));
            }
            // Certificate revocations clear the gateway's cache of validated clients;
            // session revocations make it refuse access tokens.
            envs.push(("EGIDE_GATEWAY__NATS__URL".to_owned(), nats.url()));
            if pki.is_none() {
                // No certval to validate client certificates with.
                envs.push(("EGIDE_GATEWAY__CLIENT_AUTH__MODE".to_owned(), "off".into()));
            }
            for (service, url) in &routes {
                envs.push((
                    format!(
                        "EGIDE_GATEWAY__ROUTES__{}",
                        service.name().to_ascii_uppercase()
                    ),
                    url.clone(),
                ));
            }
            let channel = egide_gateway::dev_tls::client_endpoint_as(
                &format!("https://localhost:{port}"),
                &tls.ca_file,
                pki.as_ref().map(|p| p.client.as_path()),
            )?
            .connect_lazy();
            channels.insert(Service::Gateway, channel.clone());
            gateway_channel = Some(channel);
            procs.insert(
                Service::Gateway,
                Proc {
                    spec: ServerSpec {
                        name: "gateway",
                        program: binary(&bin_dir, "egide-gateway")?,
                        args: Vec::new(),
                        envs: os_envs(envs),
                        env_remove: Vec::new(),
                        cwd: dir.path().to_path_buf(),
                        log: dir.path().join("gateway.log"),
                        lock: dir.path().join("supervisors.lock"),
                        stop_signal: "TERM",
                        grace_secs: 10,
                    },
                    port,
                    http_port: Some(http_port),
                    database_url: None,
                    running: None,
                    started_at: Instant::now(),
                },
            );
        }
        let platform = Self {
            procs: Mutex::new(procs),
            channels,
            gateway_channel,
            gateway_ca: options
                .gateway
                .then(|| dir.path().join("tls").join("ca.pem")),
            pki,
            sims,
            nats,
            postgres,
            vault,
            bin_dir,
            dir,
            _leases: leases,
            operator: tokio::sync::Mutex::new(None),
        };
        let all = platform.services();
        for &s in &all {
            platform.start_service(s)?;
        }
        for &s in &all {
            platform.wait_serving(s, options.ready_timeout).await?;
        }
        Ok(platform)
    }

    /// Every process of this platform, gateway last.
    pub fn services(&self) -> Vec<Service> {
        self.lock().keys().copied().collect()
    }

    /// What makes a call an operator's, for operator routes (directory imports, structure
    /// registrations without the directory, …): through the gateway, an operator session
    /// with two factors (the first operator's, logged in once and refreshed as needed);
    /// straight to a service, the headers the gateway would set for one.
    pub async fn operator_metadata(&self) -> anyhow::Result<tonic::metadata::MetadataMap> {
        if self.gateway_channel.is_none() {
            return Ok(Self::operator_metadata_direct());
        }
        let tokens = self.operator_tokens().await?;
        let mut metadata = tonic::metadata::MetadataMap::new();
        metadata.insert(
            "authorization",
            format!("Bearer {}", tokens.access_token).parse()?,
        );
        Ok(metadata)
    }

    /// The first operator's session (two factors): logged in once, refreshed when its
    /// access token is two minutes old.
    pub async fn operator_tokens(&self) -> anyhow::Result<egide_proto::auth::v1::TokenResponse> {
        let mut slot = self.operator.lock().await;
        let (tokens, at) = match slot.take() {
            Some((tokens, at)) if at.elapsed() < Duration::from_secs(120) => (tokens, at),
            Some((tokens, _)) => {
                use egide_proto::auth::v1::{
                    RefreshSessionRequest, auth_service_client::AuthServiceClient,
                };
                let refreshed = AuthServiceClient::new(self.api_channel(Service::Auth)?)
                    .refresh_session(RefreshSessionRequest {
                        refresh_token: tokens.refresh_token,
                        client_id: "egide-cli".into(),
                    })
                    .await?
                    .into_inner();
                (refreshed, Instant::now())
            }
            None => (
                crate::patient::first_operator_session(self).await?,
                Instant::now(),
            ),
        };
        *slot = Some((tokens.clone(), at));
        Ok(tokens)
    }

    /// The headers the gateway sets for an operator with two factors, for calls straight
    /// to a service (whose channels play the gateway).
    pub fn operator_metadata_direct() -> tonic::metadata::MetadataMap {
        egide_kit::caller::PersonCaller::test_operator("e2e")
            .request(())
            .metadata()
            .clone()
    }

    /// The temp directory holding the logs.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Keeps the temp directory (logs) after drop.
    pub fn keep_logs(&self) {
        self.dir.keep();
    }

    /// The dev PKI (platforms with certval).
    pub fn pki(&self) -> Option<&DevPkiFiles> {
        self.pki.as_ref()
    }

    /// A new channel to the gateway presenting the client certificate in `identity_dir`
    /// (`None`: no certificate).
    pub fn gateway_channel_as(&self, identity_dir: Option<&Path>) -> anyhow::Result<Channel> {
        let ca = self.gateway_ca.as_ref().context("no gateway")?;
        let port = self.port(Service::Gateway)?;
        Ok(egide_gateway::dev_tls::client_endpoint_as(
            &format!("https://localhost:{port}"),
            ca,
            identity_dir,
        )?
        .connect_lazy())
    }

    /// The binaries' directory.
    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    /// This platform's NATS.
    pub fn nats(&self) -> &Nats {
        &self.nats
    }

    /// The PostgreSQL server.
    pub fn postgres(&self) -> &Postgres {
        &self.postgres
    }

    /// The Vault server.
    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// The simulators, when enrolment is part of this platform.
    pub fn sims(&self) -> Option<&Sims> {
        self.sims.as_ref()
    }

    /// The mail simulator's capture, where enrolment's codes arrive.
    pub fn mailbox(&self) -> anyhow::Result<Mailbox> {
        Ok(Mailbox::new(self.required_sims()?.mail.mailbox()))
    }

    /// Where the patient app asks the proofing simulator for an attestation
    /// (`http://127.0.0.1:<port>/v1/attestations`).
    pub fn proofing_attestation_url(&self) -> anyhow::Result<String> {
        Ok(self.required_sims()?.proofing.attestation_url())
    }

    fn required_sims(&self) -> anyhow::Result<&Sims> {
        self.sims
            .as_ref()
            .ok_or_else(|| anyhow!("enrolment is not part of this platform: no simulators"))
    }

    /// Creates the transit key [`INS_DIGEST_KEY`] again (idempotent): after a restart of a
    /// dev-mode Vault of this platform's own, which comes back empty.
    pub async fn ensure_ins_digest_key(&self) -> anyhow::Result<()> {
        ensure_ins_digest_key(&self.vault).await
    }

    /// The database URL of `service`.
    pub fn database_url(&self, service: Service) -> anyhow::Result<String> {
        self.lock()
            .get(&service)
            .and_then(|p| p.database_url.clone())
            .ok_or_else(|| anyhow!("{service} has no database here"))
    }

    /// The gRPC port of `service`.
    pub fn port(&self, service: Service) -> anyhow::Result<u16> {
        self.proc(service, |p| p.port)
    }

    /// The gateway's plain HTTP port.
    pub fn gateway_http_port(&self) -> Option<u16> {
        self.lock().get(&Service::Gateway).and_then(|p| p.http_port)
    }

    /// The pid of `service`, when it runs.
    pub fn pid(&self, service: Service) -> Option<u32> {
        self.lock()
            .get(&service)
            .and_then(|p| p.running.as_ref())
            .filter(|r| r.is_alive())
            .map(Supervised::pid)
    }

    /// The resident set size of `service`, in bytes.
    pub fn rss(&self, service: Service) -> anyhow::Result<u64> {
        let pid = self
            .pid(service)
            .ok_or_else(|| anyhow!("{service} is not running"))?;
        supervise::rss_bytes(pid)
    }

    /// Crashes `service`: `SIGKILL`, waiting until it is gone.
    pub fn kill9(&self, service: Service) -> anyhow::Result<()> {
        let running = self.lock().get_mut(&service).and_then(|p| p.running.take());
        match running {
            Some(r) => r.kill(),
            None => Ok(()),
        }
    }

    /// Stops `service` gracefully (`SIGTERM`), waiting until it is gone.
    pub fn stop(&self, service: Service) -> anyhow::Result<()> {
        let running = self.lock().get_mut(&service).and_then(|p| p.running.take());
        match running {
            Some(r) => r.shutdown(),
            None => Ok(()),
        }
    }

    /// Starts `service` again, same port, same environment (a no-op when it runs). Does
    /// not wait: see [`Platform::wait_serving`].
    pub fn restart(&self, service: Service) -> anyhow::Result<()> {
        self.start_service(service)
    }

    fn start_service(&self, service: Service) -> anyhow::Result<()> {
        let mut procs = self.lock();
        let proc = procs
            .get_mut(&service)
            .ok_or_else(|| anyhow!("{service} is not part of this platform"))?;
        if proc.running.as_ref().is_some_and(Supervised::is_alive) {
            return Ok(());
        }
        if let Some(dead) = proc.running.take() {
            let _ = dead.shutdown();
        }
        proc.running = Some(Supervised::spawn(&proc.spec)?);
        proc.started_at = Instant::now();
        Ok(())
    }

    /// The last `max` bytes of the log of `service`.
    pub fn log_tail(&self, service: Service, max: usize) -> String {
        self.lock()
            .get(&service)
            .map(|p| supervise::tail(&p.spec.log, max))
            .unwrap_or_default()
    }

    /// The log path of `service`.
    pub fn log_path(&self, service: Service) -> Option<PathBuf> {
        self.lock().get(&service).map(|p| p.spec.log.clone())
    }

    /// The tails of every log (services and NATS), for failure messages.
    pub fn log_tails(&self) -> String {
        let mut out = String::new();
        for s in self.services() {
            out.push_str(&format!(
                "\n----- {s} ({}) -----\n{}",
                self.log_path(s)
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                self.log_tail(s, 6000)
            ));
        }
        out.push_str(&format!(
            "\n----- nats ({}) -----\n{}",
            self.nats.log_path().display(),
            supervise::tail(self.nats.log_path(), 3000)
        ));
        out
    }

    /// A channel straight to `service` (for the gateway: the TLS channel).
    pub fn channel(&self, service: Service) -> anyhow::Result<Channel> {
        self.channels
            .get(&service)
            .cloned()
            .ok_or_else(|| anyhow!("{service} is not part of this platform"))
    }

    /// The channel API clients use: through the gateway when it runs, else to `service`.
    pub fn api_channel(&self, service: Service) -> anyhow::Result<Channel> {
        match &self.gateway_channel {
            Some(c) => Ok(c.clone()),
            None => self.channel(service),
        }
    }

    /// An enrolment client (through the gateway when it runs).
    pub fn enrolment(&self) -> anyhow::Result<EnrolmentServiceClient<Channel>> {
        Ok(EnrolmentServiceClient::new(
            self.api_channel(Service::Enrolment)?,
        ))
    }

    /// `n` enrolment clients on separate HTTP/2 connections (for load), through the
    /// gateway when it runs.
    pub fn enrolment_pool(&self, n: usize) -> anyhow::Result<Vec<EnrolmentServiceClient<Channel>>> {
        self.pool(n, self.gateway_channel.is_some())
    }

    /// `n` enrolment clients on separate HTTP/2 connections straight to enrolment.
    pub fn enrolment_pool_direct(
        &self,
        n: usize,
    ) -> anyhow::Result<Vec<EnrolmentServiceClient<Channel>>> {
        self.pool(n, false)
    }

    fn pool(&self, n: usize, tls: bool) -> anyhow::Result<Vec<EnrolmentServiceClient<Channel>>> {
        Ok(self
            .channels(n, tls)?
            .into_iter()
            .map(EnrolmentServiceClient::new)
            .collect())
    }

    /// `n` TLS channels to the gateway, each its own HTTP/2 connection (for load).
    pub fn gateway_channels(&self, n: usize) -> anyhow::Result<Vec<Channel>> {
        anyhow::ensure!(
            self.gateway_channel.is_some(),
            "this platform has no gateway"
        );
        self.channels(n, true)
    }

    fn channels(&self, n: usize, tls: bool) -> anyhow::Result<Vec<Channel>> {
        let url = if tls {
            format!("https://localhost:{}", self.port(Service::Gateway)?)
        } else {
            format!("https://127.0.0.1:{}", self.port(Service::Enrolment)?)
        };
        (0..n.max(1))
            .map(|_| {
                let channel = if tls {
                    egide_gateway::dev_tls::client_endpoint_as(
                        &url,
                        &self.dir().join("tls/ca.pem"),
                        self.pki.as_ref().map(|p| p.client.as_path()),
                    )?
                    .connect_lazy()
                } else {
                    direct_channel(self.dir(), &url, Service::Enrolment.name())?
                };
                Ok(channel)
            })
            .collect()
    }

    /// An audit client (through the gateway when it runs).
    pub fn audit(&self) -> anyhow::Result<AuditServiceClient<Channel>> {
        Ok(AuditServiceClient::new(self.api_channel(Service::Audit)?))
    }

    /// An audit client straight to audit.
    pub fn audit_direct(&self) -> anyhow::Result<AuditServiceClient<Channel>> {
        Ok(AuditServiceClient::new(self.channel(Service::Audit)?))
    }

    /// gRPC health of `service` for the readiness name `""`.
    pub async fn health(&self, service: Service) -> anyhow::Result<ServingStatus> {
        let mut client = HealthClient::new(self.channel(service)?);
        let answer = tokio::time::timeout(
            Duration::from_secs(5),
            client.check(HealthCheckRequest {
                service: String::new(),
            }),
        )
        .await
        .map_err(|_| anyhow!("{service}: health check timed out"))??;
        Ok(answer.into_inner().status())
    }

    /// `egide.common.v1.StatusService/GetStatus` of `service`.
    pub async fn status(&self, service: Service) -> anyhow::Result<GetStatusResponse> {
        let mut client = StatusServiceClient::new(self.channel(service)?);
        let answer = tokio::time::timeout(
            Duration::from_secs(5),
            client.get_status(GetStatusRequest {}),
        )
        .await
        .map_err(|_| anyhow!("{service}: GetStatus timed out"))??;
        Ok(answer.into_inner())
    }

    /// Waits until `service` reports SERVING; the error carries the log tails.
    pub async fn wait_serving(
        &self,
        service: Service,
        timeout: Duration,
    ) -> anyhow::Result<Duration> {
        let started = Instant::now();
        self.eventually(&format!("{service} SERVING"), timeout, || async {
            if self.pid(service).is_none() {
                return Err(format!("{service} is not running (exited?)"));
            }
            match self.health(service).await {
                Ok(ServingStatus::Serving) => Ok(()),
                Ok(other) => Err(match self.status(service).await {
                    Ok(s) => format!("{other:?}: {}", describe_status(&s)),
                    Err(_) => format!("{other:?}"),
                }),
                Err(e) => Err(format!("{e:#}")),
            }
        })
        .await?;
        Ok(started.elapsed())
    }

    /// Polls `check` every 200 ms until it returns `Ok` or `timeout` passes; then fails
    /// with `what`, the last `Err` and the tails of every log.
    pub async fn eventually<T, F, Fut>(
        &self,
        what: &str,
        timeout: Duration,
        mut check: F,
    ) -> anyhow::Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, String>>,
    {
        let deadline = Instant::now() + timeout;
        loop {
            let last = match check().await {
                Ok(t) => return Ok(t),
                Err(last) => last,
            };
            if Instant::now() >= deadline {
                self.dir.keep();
                bail!(
                    "{what}: not reached within {timeout:?}; last: {last}\nlogs in {}:{}",
                    self.dir().display(),
                    self.log_tails()
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// An error carrying `message` and the tails of every log.
    pub fn failure(&self, message: impl std::fmt::Display) -> anyhow::Error {
        self.dir.keep();
        anyhow!(
            "{message}\nlogs in {}:{}",
            self.dir().display(),
            self.log_tails()
        )
    }

    /// Runs a blocking infrastructure operation (NATS/Vault kill, start…) without stalling
    /// the runtime's other tasks.
    pub fn blocking<T>(&self, f: impl FnOnce(&Self) -> T) -> T {
        blocking(|| f(self))
    }

    fn proc<T>(&self, service: Service, f: impl FnOnce(&Proc) -> T) -> anyhow::Result<T> {
        self.lock()
            .get(&service)
            .map(f)
            .ok_or_else(|| anyhow!("{service} is not part of this platform"))
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<Service, Proc>> {
        self.procs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        let procs = std::mem::take(&mut *self.lock());
        // The gateway first, then the others: kill -9, nothing to wait for.
        for (_, proc) in procs.into_iter().rev() {
            if let Some(r) = proc.running {
                let _ = r.kill();
            }
        }
    }
}

/// A one-line summary of a `GetStatus` answer.
pub fn describe_status(s: &GetStatusResponse) -> String {
    let deps: Vec<String> = s
        .dependencies
        .iter()
        .map(|d| {
            if d.ok {
                format!("{} ok", d.name)
            } else {
                format!("{} DOWN ({})", d.name, d.reason)
            }
        })
        .collect();
    format!("ready={} [{}]", s.ready, deps.join(", "))
}

/// The reason `dependency` is down according to `status`, `None` when it is up or absent.
pub fn dependency_reason(status: &GetStatusResponse, dependency: &str) -> Option<String> {
    status
        .dependencies
        .iter()
        .find(|d| d.name == dependency && !d.ok)
        .map(|d| d.reason.clone())
}

/// Mounts the transit engine (if need be) and creates [`INS_DIGEST_KEY`] (if need be) with
/// the root token, as the operator's bootstrap does in production.
async fn ensure_ins_digest_key(vault: &Vault) -> anyhow::Result<()> {
    blocking(|| vault.ensure_transit_key(INS_DIGEST_KEY))
}

/// The environment that gives process `name` its mesh identity (made once per platform in
/// `dir/mesh`).
fn mesh_env(prefix: &str, dir: &Path, name: &str) -> Vec<(String, String)> {
    let files = egide_kit::mesh::MeshConfig::in_dir(&dir.join("mesh"), name);
    [
        ("CA_FILE", files.ca_file),
        ("CERT_FILE", files.cert_file),
        ("KEY_FILE", files.key_file),
    ]
    .into_iter()
    .map(|(key, path)| (format!("{prefix}MESH__{key}"), path.display().to_string()))
    .collect()
}

/// A channel straight to `service` at `url`, over the mesh as the gateway (the tests and
/// benchmarks that skip the gateway play it: their caller headers are believed).
fn direct_channel(dir: &Path, url: &str, service: &str) -> anyhow::Result<Channel> {
    let mesh = egide_kit::mesh::Mesh::load(&egide_kit::mesh::MeshConfig::in_dir(
        &dir.join("mesh"),
        egide_kit::mesh::GATEWAY,
    ))?;
    Ok(mesh
        .endpoint(url, service)?
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(30))
        .tcp_nodelay(true)
        .connect_lazy())
}

/// Runs `f`, which blocks, in place: on a multi-thread runtime the worker hands its other
/// tasks over first.
pub fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}
