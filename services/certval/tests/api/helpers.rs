//! One dev PKI per test binary, certval apps on fresh databases, credentials.

use std::path::PathBuf;

use egide_certval::{CertvalConfig, dev::DevTrust};
use egide_devpki::{
    CardRequest, Credential, Family, KeyKind, Professional, SoftCard, StructureRequest,
};
use egide_kit::{app::Running, config::ServiceConfig};
use egide_proto::certval::v1::{
    ValidateChainRequest, ValidateChainResponse,
    certificate_validation_service_client::CertificateValidationServiceClient,
};
use secrecy::SecretString;
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use vaultrs::client::VaultClient;

/// Every stream binds `egide.>`: the tests of this binary share one.
pub const STREAM: &str = "EGIDE";
pub const PIN: &str = "4321";

pub fn vault() -> VaultClient {
    egide_testkit::shared()
        .vault
        .root_client()
        .expect("vault client")
}

/// The dev PKI and its trust files.
pub struct Pki {
    pub trust: DevTrust,
    pub dir: PathBuf,
}

pub async fn pki() -> &'static Pki {
    static PKI: OnceCell<Pki> = OnceCell::const_new();
    PKI.get_or_init(|| async {
        let vault_addr = egide_testkit::shared().vault.addr();
        let pki = egide_devpki::init(&vault(), &vault_addr)
            .await
            .expect("dev PKI");
        let dir = std::env::temp_dir().join(format!("egide-certval-tests-{}", std::process::id()));
        let trust = DevTrust::write(&pki, &dir.join("trust")).expect("trust files");
        Pki { trust, dir }
    })
    .await
}

/// A running certval.
pub struct App {
    pub client: CertificateValidationServiceClient<Channel>,
    pub db_url: String,
    running: Running,
}

impl Drop for App {
    fn drop(&mut self) {
        self.running.shutdown_token().cancel();
    }
}

pub async fn spawn() -> App {
    spawn_with(|_| {}).await
}

/// A certval trusting the dev PKI on a fresh database, its configuration changed by
/// `tweak`.
pub async fn spawn_with(tweak: impl FnOnce(&mut CertvalConfig)) -> App {
    let db_url = egide_testkit::shared()
        .postgres
        .create_database("certval")
        .expect("create database");
    spawn_on(db_url, tweak).await
}

/// A certval on the database `db_url` (a second replica, when another app uses it).
pub async fn spawn_on(db_url: String, tweak: impl FnOnce(&mut CertvalConfig)) -> App {
    egide_kit::telemetry::init_for_tests();
    let stack = egide_testkit::shared();
    let mut service = ServiceConfig::ephemeral(
        db_url.clone(),
        stack.nats.url(),
        stack.vault.addr(),
        stack.vault.root_token().to_owned(),
    )
    .in_test_mesh("certval");
    service.nats.stream = STREAM.to_owned();
    let mut config = CertvalConfig::new(service);
    pki().await.trust.apply(&mut config);
    tweak(&mut config);
    let running = egide_certval::build(config, CancellationToken::new())
        .await
        .expect("certval starts");
    // The tests play the gateway: their caller headers are believed.
    let channel = egide_kit::mesh::dev::channel_as(running.local_addr(), "certval", "gateway")
        .await
        .expect("connect");
    App {
        client: CertificateValidationServiceClient::new(channel),
        db_url,
        running,
    }
}

static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// A fresh structure (ORG AUTH_CLI) credential of the ELEMENTAIRE family.
pub async fn structure() -> Credential {
    structure_in(Family::Elementaire).await
}

pub async fn structure_in(family: Family) -> Credential {
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    egide_devpki::issue_structure(
        &vault(),
        &StructureRequest {
            family,
            idnat_struct: egide_ids::IdNatStruct::parse("1010003374").expect("idnat"),
            organisation: format!("CENTRE HOSPITALIER D'ÉGIDE {n}"),
            departement: "35".into(),
            application: format!("DPI-{n}"),
            key: KeyKind::P256,
            ttl: None,
        },
    )
    .await
    .expect("issue structure")
}

/// A fresh soft card.
pub async fn card(key: KeyKind) -> SoftCard {
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = pki().await.dir.join(format!("card-{n}"));
    egide_devpki::issue_card(
        &vault(),
        &dir,
        &CardRequest {
            family: Family::Elementaire,
            holder: Professional {
                idnat: egide_ids::IdNatPs::parse("899700218896").expect("idnat"),
                name: "DUPONT".into(),
                given_name: "JEANNE".into(),
                profession: "Médecin".into(),
            },
            key,
            ttl: None,
        },
        &SecretString::from(PIN),
    )
    .await
    .expect("issue card")
}

impl App {
    pub async fn validate(&self, cred: &Credential, purpose: &str) -> ValidateChainResponse {
        self.validate_der(
            &cred.issued.certificate,
            &cred.issued.intermediates,
            purpose,
        )
        .await
    }

    pub async fn validate_der(
        &self,
        leaf: &[u8],
        intermediates: &[Vec<u8>],
        purpose: &str,
    ) -> ValidateChainResponse {
        self.client
            .clone()
            .validate_chain(ValidateChainRequest {
                leaf: leaf.to_vec(),
                intermediates: intermediates.to_vec(),
                purpose: purpose.into(),
                at: None,
            })
            .await
            .expect("ValidateChain answers")
            .into_inner()
    }
}

/// The stable reason of a refused call.
pub fn reason(status: &tonic::Status) -> Option<String> {
    egide_kit::error::decode(status).0
}
