//! Starts enrolment, audit and a gateway routing to them (client certificates off).

use std::{collections::BTreeMap, net::SocketAddr, path::PathBuf, time::Duration};

use egide_gateway::{
    Gateway, GatewayConfig,
    config::{ClientAuthConfig, ClientAuthMode, Listen, TlsConfig},
};
use egide_kit::{app::Running, config::ServiceConfig};
use egide_proto::{
    audit::v1::audit_service_client::AuditServiceClient,
    enrolment::v1::enrolment_service_client::EnrolmentServiceClient,
};
use egide_testkit::Nats;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

/// A gateway in front of enrolment and audit (each with a fresh database, both on a NATS
/// of their own: the audit consumer is durable by name, so audits must not share a NATS).
pub struct TestApp {
    pub http_addr: SocketAddr,
    /// A TLS channel to the gateway.
    pub channel: Channel,
    pub enrolment: EnrolmentServiceClient<Channel>,
    pub audit: AuditServiceClient<Channel>,
    shutdown: CancellationToken,
    _gateway: Gateway,
    services: BTreeMap<&'static str, Running>,
    tls_dir: PathBuf,
    nats: Option<Nats>,
}

impl TestApp {
    /// enrolment straight over the mesh as the gateway (the caller headers of the
    /// request are believed), for what needs a person this stack cannot log in.
    pub async fn enrolment_as_operator(&self) -> EnrolmentServiceClient<Channel> {
        let addr = self.services["enrolment"].local_addr();
        EnrolmentServiceClient::new(
            egide_kit::mesh::dev::channel_as(addr, "enrolment", "gateway")
                .await
                .expect("enrolment over the mesh"),
        )
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
        let _ = std::fs::remove_dir_all(&self.tls_dir);
        if let Some(nats) = self.nats.take() {
            std::thread::spawn(move || drop(nats));
        }
    }
}

fn service_config(service: &str, db_prefix: &str, nats_url: &str) -> ServiceConfig {
    let stack = egide_testkit::shared();
    let db_url = stack
        .postgres
        .create_database(db_prefix)
        .expect("create database");
    ServiceConfig::ephemeral(
        db_url,
        nats_url,
        stack.vault.addr(),
        stack.vault.root_token(),
    )
    .in_test_mesh(service)
}

/// Enrolment, audit and a gateway routing `enrolment` and `audit` to them.
pub async fn spawn_app() -> TestApp {
    egide_kit::telemetry::init_for_tests();
    let nats = Nats::spawn().expect("a dedicated NATS");
    let shutdown = CancellationToken::new();
    let enrolment = egide_enrolment::build(
        egide_enrolment::EnrolmentConfig::new(service_config(
            "enrolment",
            "gw_enrolment",
            &nats.url(),
        )),
        shutdown.child_token(),
    )
    .await
    .expect("enrolment starts");
    let audit = egide_audit::build(
        service_config("audit", "gw_audit", &nats.url()),
        shutdown.child_token(),
    )
    .await
    .expect("audit starts");
    let routes = BTreeMap::from([
        (
            "enrolment".to_owned(),
            format!("https://{}", enrolment.local_addr()),
        ),
        (
            "audit".to_owned(),
            format!("https://{}", audit.local_addr()),
        ),
    ]);
    let mut app = spawn_gateway(routes, shutdown).await;
    app.services = BTreeMap::from([("enrolment", enrolment), ("audit", audit)]);
    app.nats = Some(nats);
    app
}

/// A gateway alone, routing to `routes`.
pub async fn spawn_gateway(
    routes: BTreeMap<String, String>,
    shutdown: CancellationToken,
) -> TestApp {
    spawn_gateway_with(routes, shutdown, |_| {}).await
}

/// [`spawn_gateway`] with its configuration changed by `tweak`.
pub async fn spawn_gateway_with(
    routes: BTreeMap<String, String>,
    shutdown: CancellationToken,
    tweak: impl FnOnce(&mut GatewayConfig),
) -> TestApp {
    egide_kit::telemetry::init_for_tests();
    let tls_dir = std::env::temp_dir().join(format!(
        "egide-gateway-test-{}",
        uuid::Uuid::now_v7().simple()
    ));
    let tls = egide_gateway::dev_tls::ensure(&tls_dir).expect("development certificates");
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let config = GatewayConfig {
        grpc: Listen { listen: loopback },
        http: Listen { listen: loopback },
        tls: TlsConfig {
            cert_file: tls.cert_file.clone(),
            key_file: tls.key_file.clone(),
        },
        routes,
        mesh: Some(egide_kit::mesh::dev::test_config("gateway")),
        // These tests are about routing; client certificates are `client_auth`'s.
        client_auth: ClientAuthConfig {
            mode: ClientAuthMode::Off,
            ..ClientAuthConfig::default()
        },
        ..GatewayConfig::local_defaults()
    };
    let mut config = config;
    tweak(&mut config);
    let gateway = Gateway::start(config, shutdown.clone())
        .await
        .expect("gateway starts");
    let channel = egide_gateway::dev_tls::client_endpoint(
        &format!("https://127.0.0.1:{}", gateway.grpc_addr().port()),
        &tls.ca_file,
    )
    .expect("gateway endpoint")
    .connect()
    .await
    .expect("TLS connection to the gateway");
    TestApp {
        http_addr: gateway.http_addr(),
        enrolment: EnrolmentServiceClient::new(channel.clone()),
        audit: AuditServiceClient::new(channel.clone()),
        channel,
        shutdown,
        _gateway: gateway,
        services: BTreeMap::new(),
        tls_dir,
        nats: None,
    }
}

impl TestApp {
    /// Stops one backend (`"enrolment"` or `"audit"`); the gateway keeps running.
    pub async fn stop_backend(&mut self, name: &str) {
        let running = self.services.remove(name).expect("a running backend");
        running.stop().await.expect("backend stopped cleanly");
    }

    /// gRPC health of `service` as the gateway reports it.
    pub async fn health(&self, service: &str) -> ServingStatus {
        HealthClient::new(self.channel.clone())
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .expect("health through the gateway")
            .into_inner()
            .status()
    }

    /// `GET path` on the gateway's HTTP listener: (status code, body).
    pub async fn http_get(&self, path: &str) -> (u16, String) {
        http_get(self.http_addr, path).await
    }
}

/// `GET path` on an HTTP listener: (status code, body).
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut tcp = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to the HTTP listener");
    tcp.write_all(format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").as_bytes())
        .await
        .expect("send request");
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut raw))
        .await
        .expect("an answer within 5 s")
        .expect("read answer");
    let text = String::from_utf8(raw).expect("UTF-8 answer");
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    (status, body.to_owned())
}

pub use egide_testkit::eventually;
