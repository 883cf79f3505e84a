//! Client certificates (mTLS): hospital software presents an IGC-Santé ORG AUTH_CLI
//! certificate; certval judges it; backends see the verified structure, never a forged one.

use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};

use egide_gateway::Gateway;
use egide_ids::Finess;
use egide_kit::caller::StructureCaller;
use egide_proto::{
    certval::v1::{ListTrustAnchorsRequest, RevokeCertificateRequest},
    common::v1::{GetStatusRequest, status_service_client::StatusServiceClient},
};
use rcgen::ExtendedKeyUsagePurpose;
use tokio_util::sync::CancellationToken;
use tonic::{Code, Status, metadata::MetadataValue, transport::Channel};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use tonic_types::StatusExt as _;

use crate::{
    mtls::{MtlsApp, connect, gateway_config, spawn_mtls_app, spawn_mtls_app_with},
    pki::{ClientCert, Leaf, TestPki},
};

const VALIDATIONS: &str = "egide_gateway_client_cert_validations_total";
const CACHE_HITS: &str = "egide_gateway_client_cert_cache_hits_total";

fn idnat_struct() -> String {
    format!("1{}", Finess::from_body(75_000_001))
}

fn sha256_hex(der: &[u8]) -> String {
    egide_pki::Certificate::from_der(der).unwrap().sha256_hex()
}

/// The probe's GetStatus through the gateway.
async fn call(channel: &Channel) -> Result<(), Status> {
    StatusServiceClient::new(channel.clone())
        .get_status(GetStatusRequest {})
        .await
        .map(drop)
}

/// (reason, cause) of a refusal.
fn refusal(status: &Status) -> (String, String) {
    let info = status
        .get_error_details()
        .error_info()
        .cloned()
        .unwrap_or_else(|| panic!("an ErrorInfo in {status:?}"));
    let cause = info.metadata.get("cause").cloned().unwrap_or_default();
    (info.reason, cause)
}

/// Calls with `cert` on a new connection and returns the refusal's cause.
async fn refused_cause(app: &MtlsApp, cert: &ClientCert) -> String {
    let status = call(&app.connect(Some(cert)).await)
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    let (reason, cause) = refusal(&status);
    assert_eq!(reason, "client_certificate_invalid", "{status:?}");
    assert!(status.message().contains(&cause), "{status:?}");
    cause
}

#[tokio::test]
async fn a_structure_certificate_is_required_verified_and_passed_on() {
    let app = spawn_mtls_app().await;
    let id = idnat_struct();
    let cert = app.pki.issue(&Leaf::auth_cli(
        &id,
        "Hôpital Saint-Éloi",
        "Dossier patient Éloi",
    ));

    // No certificate: refused before any backend, with the reason.
    let anonymous = app.connect(None).await;
    let status = call(&anonymous).await.expect_err("no certificate");
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert_eq!(refusal(&status).0, "client_certificate_required");
    assert_eq!(app.probe.calls(), 0);
    // …but health is public.
    let health = HealthClient::new(anonymous.clone())
        .check(HealthCheckRequest {
            service: "liveness".into(),
        })
        .await
        .expect("health needs no certificate")
        .into_inner();
    assert_eq!(health.status(), ServingStatus::Serving);

    // With the certificate, and forged identity headers: the probe sees the verified
    // structure only.
    let channel = app.connect(Some(&cert)).await;
    let mut request = tonic::Request::new(GetStatusRequest {});
    let forged = request.metadata_mut();
    forged.insert(
        "x-egide-structure-id",
        MetadataValue::from_static("1999999999"),
    );
    forged.insert(
        "x-egide-client-cert-sha256",
        MetadataValue::from_static("forged"),
    );
    forged.insert_bin(
        "x-egide-structure-organisation-bin",
        tonic::metadata::BinaryMetadataValue::from_bytes(b"Forged"),
    );
    StatusServiceClient::new(channel.clone())
        .get_status(request)
        .await
        .expect("admitted");
    let seen = app.probe.last();
    assert_eq!(
        seen.caller,
        Some(StructureCaller {
            idnat_struct: id.clone(),
            organisation: "Hôpital Saint-Éloi".into(),
            application: "Dossier patient Éloi".into(),
            certificate_sha256: sha256_hex(&cert.der),
        })
    );
    assert_eq!(seen.structure_ids, vec![id.clone()], "forged value dropped");

    // A real backend answers through the same authenticated connection.
    let anchors = egide_proto::certval::v1::certificate_validation_service_client::CertificateValidationServiceClient::new(channel.clone())
        .list_trust_anchors(ListTrustAnchorsRequest {})
        .await
        .expect("certval through the gateway")
        .into_inner()
        .anchors;
    assert_eq!(anchors.len(), 1, "{anchors:?}");

    // certval was asked once; the later calls (same connection, and a new one with the
    // same chain) were answered from the cache.
    assert_eq!(app.metric(VALIDATIONS).await, 1);
    assert_eq!(app.metric(CACHE_HITS).await, 1);
    call(&app.connect(Some(&cert)).await)
        .await
        .expect("admitted again");
    assert_eq!(app.metric(VALIDATIONS).await, 1);
    assert_eq!(app.metric(CACHE_HITS).await, 2);
    assert_eq!(
        app.metric("egide_gateway_client_cert_refusals_total{cause=\"missing\"}")
            .await,
        1
    );
}

#[tokio::test]
async fn invalid_certificates_are_refused_with_certvals_reason() {
    let app = spawn_mtls_app().await;
    let id = idnat_struct();

    let expired = app.pki.issue(&Leaf {
        expired: true,
        ..Leaf::auth_cli(&id, "CH Expiré", "DPI")
    });
    assert_eq!(refused_cause(&app, &expired).await, "expired");

    let server_only = app.pki.issue(&Leaf {
        eku: ExtendedKeyUsagePurpose::ServerAuth,
        ..Leaf::auth_cli(&id, "CH Serveur", "www")
    });
    assert_eq!(
        refused_cause(&app, &server_only).await,
        "extended_key_usage"
    );

    let elsewhere = TestPki::new(&app.dir().join("other"), "B");
    let untrusted = elsewhere.issue(&Leaf::auth_cli(&id, "CH Ailleurs", "DPI"));
    assert_eq!(refused_cause(&app, &untrusted).await, "untrusted_root");

    let anonymous = app.pki.issue(&Leaf::auth_cli("", "CH Sans OU", "DPI"));
    assert_eq!(refused_cause(&app, &anonymous).await, "identity_missing");

    assert_eq!(app.probe.calls(), 0, "nothing reached the backend");
    for cause in [
        "expired",
        "extended_key_usage",
        "untrusted_root",
        "identity_missing",
    ] {
        assert_eq!(
            app.metric(&format!(
                "egide_gateway_client_cert_refusals_total{{cause=\"{cause}\"}}"
            ))
            .await,
            1,
            "{cause}"
        );
    }
}

#[tokio::test]
async fn a_revoked_certificate_is_refused_within_a_second() {
    let app = spawn_mtls_app().await;
    let cert = app
        .pki
        .issue(&Leaf::auth_cli(&idnat_struct(), "CH Révoqué", "DPI"));
    let channel = app.connect(Some(&cert)).await;
    call(&channel).await.expect("valid at first");
    call(&channel).await.expect("admitted from the cache");
    assert_eq!(app.metric(CACHE_HITS).await, 1);

    let asked = Instant::now();
    let revoked = app
        .certval
        .clone()
        .revoke_certificate(
            egide_kit::caller::PersonCaller::test_operator("test").request(
                RevokeCertificateRequest {
                    certificate: cert.der.clone(),
                    reason: "key_compromise".into(),
                    ..Default::default()
                },
            ),
        )
        .await
        .expect("revoked")
        .into_inner();
    let answered = Instant::now();
    assert!(revoked.newly_revoked);

    let status = loop {
        match call(&channel).await {
            Err(status) => break status,
            Ok(()) => {
                assert!(
                    asked.elapsed() < Duration::from_secs(1),
                    "still admitted 1 s after the revocation"
                );
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
    };
    let refused = Instant::now();
    eprintln!(
        "revocation → refusal at the gateway: {:?} from the RevokeCertificate request, {:?} from its answer",
        refused - asked,
        refused - answered
    );
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert_eq!(
        refusal(&status),
        ("client_certificate_invalid".into(), "revoked".into())
    );
    assert!(refused - asked < Duration::from_secs(1));
    assert_eq!(app.metric("egide_gateway_revocation_events_total").await, 1);
    // Refused by the gateway's own record of the event, without asking certval.
    assert_eq!(app.metric(VALIDATIONS).await, 1);
    // A new connection is refused too.
    assert_eq!(refused_cause(&app, &cert).await, "revoked");
}

#[tokio::test]
async fn an_unreachable_certval_fails_closed() {
    egide_kit::telemetry::init_for_tests();
    let dir = std::env::temp_dir().join(format!(
        "egide-gateway-nocertval-{}",
        uuid::Uuid::now_v7().simple()
    ));
    let pki = TestPki::new(&dir, "C");
    let cert = pki.issue(&Leaf::auth_cli(&idnat_struct(), "CH", "DPI"));
    // A port nothing listens on, for as long as the lease lives.
    let dead_port = egide_testkit::PortLease::one().unwrap();
    let dead = dead_port.addr();
    let tls = egide_gateway::dev_tls::ensure(&dir.join("tls")).unwrap();
    let shutdown = CancellationToken::new();
    let gateway = Gateway::start(
        gateway_config(
            &tls,
            BTreeMap::from([
                ("certval".to_owned(), format!("http://{dead}")),
                ("common".to_owned(), format!("http://{dead}")),
            ]),
        ),
        shutdown.clone(),
    )
    .await
    .unwrap();
    let channel = connect(gateway.grpc_addr(), &tls.ca_file, Some(&cert)).await;
    let status = call(&channel).await.expect_err("no validator");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    shutdown.cancel();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Presents its certificate and key whatever the server asks (and whether they match).
#[derive(Debug)]
struct PresentAnyway(Arc<rustls::sign::CertifiedKey>);

impl rustls::client::ResolvesClientCert for PresentAnyway {
    fn resolve(
        &self,
        _hints: &[&[u8]],
        _schemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

#[tokio::test]
async fn a_certificate_without_its_key_fails_the_handshake() {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, pem::PemObject as _};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    egide_kit::telemetry::init_for_tests();
    let dir = std::env::temp_dir().join(format!(
        "egide-gateway-pop-{}",
        uuid::Uuid::now_v7().simple()
    ));
    let pki = TestPki::new(&dir, "D");
    let stolen = pki.issue(&Leaf::auth_cli(&idnat_struct(), "CH", "DPI"));
    let own = pki.issue(&Leaf::auth_cli(&idnat_struct(), "CH", "Autre"));
    // A port nothing listens on, for as long as the lease lives.
    let dead_port = egide_testkit::PortLease::one().unwrap();
    let dead = dead_port.addr();
    let tls = egide_gateway::dev_tls::ensure(&dir.join("tls")).unwrap();
    let shutdown = CancellationToken::new();
    let gateway = Gateway::start(
        gateway_config(
            &tls,
            BTreeMap::from([("certval".to_owned(), format!("http://{dead}"))]),
        ),
        shutdown.clone(),
    )
    .await
    .unwrap();

    // A hand-built client (tonic checks that a key fits its certificate): TLS 1.3 ends
    // the client's side of the handshake with its flight; the server's verdict comes as
    // an alert on the first read, or its HTTP/2 SETTINGS when it accepted.
    let handshake = |key_pem: String| {
        let ca_file = tls.ca_file.clone();
        let chain_pem = stolen.chain_pem.clone();
        let addr = gateway.grpc_addr();
        async move {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let chain: Vec<CertificateDer<'static>> =
                CertificateDer::pem_slice_iter(chain_pem.as_bytes())
                    .collect::<Result<_, _>>()
                    .unwrap();
            let key = provider
                .key_provider
                .load_private_key(PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).unwrap())
                .unwrap();
            let mut roots = rustls::RootCertStore::empty();
            roots
                .add(CertificateDer::from_pem_file(&ca_file).unwrap())
                .unwrap();
            let mut client = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_client_cert_resolver(Arc::new(PresentAnyway(Arc::new(
                    rustls::sign::CertifiedKey::new(chain, key),
                ))));
            client.alpn_protocols = vec![b"h2".to_vec()];
            let tcp = tokio::net::TcpStream::connect(addr).await?;
            let name = ServerName::try_from("localhost").unwrap();
            let mut stream = tokio_rustls::TlsConnector::from(Arc::new(client))
                .connect(name, tcp)
                .await?;
            stream
                .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
                .await?;
            let mut buf = [0u8; 64];
            tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
                .await
                .expect("the gateway answers")
        }
    };
    let accepted = handshake(stolen.key_pem.clone()).await;
    assert!(
        matches!(accepted, Ok(n) if n > 0),
        "the certificate's own key is accepted: {accepted:?}"
    );
    let error = handshake(own.key_pem.clone())
        .await
        .expect_err("another key is refused");
    assert!(error.to_string().contains("DecryptError"), "{error}");
    shutdown.cancel();
    let _ = std::fs::remove_dir_all(&dir);
}

/// GCRA per structure certificate: the burst passes, the next call is RESOURCE_EXHAUSTED
/// `rate_limited` with the delay to wait; another structure keeps its own budget.
#[tokio::test]
async fn each_structure_has_its_own_rate_budget() {
    use egide_gateway::ratelimit::{Rate, RateClass, RateLimitConfig};
    let app = spawn_mtls_app_with(|c| {
        c.rate_limits = RateLimitConfig {
            enabled: true,
            classes: vec![RateClass {
                name: "default".into(),
                routes: vec![String::new()],
                per_structure: Some(Rate {
                    per_second: 0.5,
                    burst: 3,
                }),
                per_subject: None,
            }],
        };
    })
    .await;
    let first = app
        .pki
        .issue(&Leaf::auth_cli(&idnat_struct(), "CH Un", "DPI"));
    let other_id = format!("1{}", Finess::from_body(75_000_002));
    let second = app.pki.issue(&Leaf::auth_cli(&other_id, "CH Deux", "DPI"));
    let first = app.connect(Some(&first)).await;
    for _ in 0..3 {
        call(&first).await.expect("within the burst");
    }
    let status = call(&first).await.expect_err("over the budget");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert_eq!(refusal(&status).0, "rate_limited");
    let wait = status
        .get_error_details()
        .retry_info()
        .unwrap()
        .retry_delay
        .unwrap();
    assert!(
        wait > Duration::from_secs(1) && wait <= Duration::from_secs(2),
        "{wait:?}"
    );
    call(&app.connect(Some(&second)).await)
        .await
        .expect("another structure's budget is whole");
    assert_eq!(app.metric("egide_gateway_rate_limited_total").await, 1);
}
