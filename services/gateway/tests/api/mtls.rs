//! A gateway requiring client certificates, in front of a real certval (trusting a test
//! IGC-Santé hierarchy) and of a probe backend that records what reaches it.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use egide_certval::{
    CertvalConfig,
    config::{FamilySettings, UnknownStatus},
};
use egide_gateway::{
    Gateway, GatewayConfig,
    config::{ClientAuthConfig, Listen, TlsConfig},
    dev_tls::DevTls,
};
use egide_kit::{
    app::Running,
    caller::{STRUCTURE_ID, StructureCaller, structure_caller},
    config::NatsConfig,
};
use egide_proto::{
    certval::v1::certificate_validation_service_client::CertificateValidationServiceClient,
    common::v1::{
        GetStatusRequest, GetStatusResponse,
        status_service_server::{StatusService, StatusServiceServer},
    },
};
use egide_testkit::Nats;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::{
    helpers::{eventually, http_get},
    pki::{ClientCert, TestPki},
};

/// What one call brought to the probe.
#[derive(Clone, Debug)]
pub struct Seen {
    /// What `egide_kit::caller::structure_caller` reads.
    pub caller: Option<StructureCaller>,
    /// Every `x-egide-structure-id` value received.
    pub structure_ids: Vec<String>,
}

/// A backend answering `egide.common.v1.StatusService/GetStatus` (routed as the
/// `common` domain) and recording the metadata of each call.
#[derive(Clone, Default)]
pub struct Probe {
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

#[tonic::async_trait]
impl StatusService for Probe {
    async fn get_status(
        &self,
        request: tonic::Request<GetStatusRequest>,
    ) -> Result<tonic::Response<GetStatusResponse>, tonic::Status> {
        let metadata = request.metadata();
        self.seen.lock().unwrap().push(Seen {
            caller: structure_caller(metadata),
            structure_ids: metadata
                .get_all(STRUCTURE_ID)
                .iter()
                .filter_map(|v| v.to_str().ok().map(str::to_owned))
                .collect(),
        });
        Ok(tonic::Response::new(GetStatusResponse {
            service: "probe".into(),
            ..Default::default()
        }))
    }
}

impl Probe {
    pub fn last(&self) -> Seen {
        self.seen
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("a call reached the probe")
    }

    pub fn calls(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

pub struct MtlsApp {
    pub pki: TestPki,
    pub probe: Probe,
    /// certval, directly (as an operator's tool inside the cluster would reach it).
    pub certval: CertificateValidationServiceClient<Channel>,
    gateway_addr: SocketAddr,
    ca_file: PathBuf,
    http_addr: SocketAddr,
    dir: PathBuf,
    shutdown: CancellationToken,
    _gateway: Gateway,
    _certval: Running,
    nats: Option<Nats>,
}

impl Drop for MtlsApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some(nats) = self.nats.take() {
            std::thread::spawn(move || drop(nats));
        }
    }
}

/// certval (trusting a fresh test hierarchy; revocation status unknown = allowed, as no
/// CRL server runs here), the probe, and a gateway with `client_auth.mode = required`.
pub async fn spawn_mtls_app() -> MtlsApp {
    spawn_mtls_app_with(|_| {}).await
}

/// [`spawn_mtls_app`] with the gateway's configuration changed by `tweak`.
pub async fn spawn_mtls_app_with(tweak: impl FnOnce(&mut GatewayConfig)) -> MtlsApp {
    egide_kit::telemetry::init_for_tests();
    let dir = std::env::temp_dir().join(format!(
        "egide-gateway-mtls-{}",
        uuid::Uuid::now_v7().simple()
    ));
    let pki = TestPki::new(&dir, "A");
    // A dedicated NATS: revocation events of one test must not empty another's cache.
    let nats = Nats::spawn().expect("a dedicated NATS");
    let shutdown = CancellationToken::new();

    let stack = egide_testkit::shared();
    let db_url = stack
        .postgres
        .create_database("gw_certval")
        .expect("create database");
    let mut config = CertvalConfig::new(
        egide_kit::config::ServiceConfig::ephemeral(
            db_url,
            nats.url(),
            stack.vault.addr(),
            stack.vault.root_token(),
        )
        .in_test_mesh("certval"),
    );
    config.trust.production = false;
    config.trust.families = vec![FamilySettings {
        name: "IGC-SANTE-ELEMENTAIRE".into(),
        anchors: vec![pki.root_file.display().to_string()],
        intermediates: vec![pki.intermediate_file.display().to_string()],
        test: true,
        cut_off: None,
        ..Default::default()
    }];
    config.revocation.unknown = UnknownStatus::Allow;
    config.revocation.fetch_crls = false;
    config.revocation.ocsp = false;
    let certval = egide_certval::build(config, shutdown.child_token())
        .await
        .expect("certval starts");

    let probe = Probe::default();
    let probe_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let probe_addr = probe_listener.local_addr().unwrap();
    tokio::spawn({
        let probe = probe.clone();
        let shutdown = shutdown.clone();
        async move {
            tonic::transport::Server::builder()
                .add_service(StatusServiceServer::new(probe))
                .serve_with_incoming_shutdown(
                    tokio_stream::wrappers::TcpListenerStream::new(probe_listener),
                    shutdown.cancelled_owned(),
                )
                .await
        }
    });

    let tls = egide_gateway::dev_tls::ensure(&dir.join("tls")).expect("development certificates");
    let mut config = gateway_config(
        &tls,
        BTreeMap::from([
            (
                "certval".to_owned(),
                format!("https://{}", certval.local_addr()),
            ),
            ("common".to_owned(), format!("http://{probe_addr}")),
        ]),
    );
    config.nats = Some(NatsConfig {
        url: nats.url(),
        stream: "EGIDE".into(),
    });
    // certval over the mesh; the probe ("common") in plain text, where it sees exactly
    // what the gateway forwards.
    config.mesh = Some(egide_kit::mesh::dev::test_config("gateway"));
    tweak(&mut config);
    let gateway = Gateway::start(config, shutdown.clone())
        .await
        .expect("gateway starts");
    // The tests' own certval client plays the gateway (operator calls carry a person).
    let certval_direct =
        egide_kit::mesh::dev::channel_as(certval.local_addr(), "certval", "gateway")
            .await
            .expect("certval reachable");
    let app = MtlsApp {
        pki,
        probe,
        certval: CertificateValidationServiceClient::new(certval_direct),
        gateway_addr: gateway.grpc_addr(),
        ca_file: tls.ca_file,
        http_addr: gateway.http_addr(),
        dir,
        shutdown,
        _gateway: gateway,
        _certval: certval,
        nats: Some(nats),
    };
    // Cached answers are used once revocation events are followed; tests count on both.
    eventually(
        std::time::Duration::from_secs(10),
        "revocation events followed",
        || async { (app.metric("egide_gateway_client_cert_cache_used").await == 1).then_some(()) },
    )
    .await;
    app
}

impl MtlsApp {
    /// A new TLS connection to the gateway, presenting `client` when given.
    pub async fn connect(&self, client: Option<&ClientCert>) -> Channel {
        connect(self.gateway_addr, &self.ca_file, client).await
    }

    /// A directory for extra files (another hierarchy).
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// The value of a counter line of `/metrics` (`name` with its labels), 0 when absent.
    pub async fn metric(&self, line: &str) -> u64 {
        let (code, body) = http_get(self.http_addr, "/metrics").await;
        assert_eq!(code, 200, "{body}");
        body.lines()
            .find_map(|l| l.strip_prefix(line)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or(0)
    }
}

/// A gateway on loopback (port 0) with the development certificate, routing `routes`,
/// client certificates required.
pub fn gateway_config(tls: &DevTls, routes: BTreeMap<String, String>) -> GatewayConfig {
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    GatewayConfig {
        grpc: Listen { listen: loopback },
        http: Listen { listen: loopback },
        tls: TlsConfig {
            cert_file: tls.cert_file.clone(),
            key_file: tls.key_file.clone(),
        },
        routes,
        client_auth: ClientAuthConfig::default(),
        ..GatewayConfig::local_defaults()
    }
}

/// A new TLS connection to the gateway at `addr`, presenting `client` when given.
pub async fn connect(addr: SocketAddr, ca_file: &Path, client: Option<&ClientCert>) -> Channel {
    let ca = std::fs::read_to_string(ca_file).unwrap();
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca))
        .domain_name("localhost");
    if let Some(client) = client {
        tls = tls.identity(Identity::from_pem(&client.chain_pem, &client.key_pem));
    }
    Endpoint::from_shared(format!("https://127.0.0.1:{}", addr.port()))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .timeout(std::time::Duration::from_secs(10))
        .connect()
        .await
        .expect("TLS connection to the gateway")
}
