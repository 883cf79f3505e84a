//! e-CPS activation with a CPS card: a real certval service in-process, trusting the dev
//! PKI built on the test OpenBao (CRLs fetched from its PKI mounts), and soft cards issued
//! by egide-devpki.

use std::path::PathBuf;

use egide_attest::{Algorithm, device::DeviceSigner};
use egide_certval::{
    CertvalConfig,
    config::{FamilySettings, UnknownStatus},
};
use egide_devpki::{CardRequest, DevPki, Family, KeyKind, SoftCard};
use egide_kit::{
    app::Running,
    config::ServiceConfig,
    events::{ActorKind, Payload},
};
use egide_proto::{
    certval::v1::{
        RevokeCertificateRequest, SignatureAlgorithm,
        certificate_validation_service_client::CertificateValidationServiceClient,
    },
    enrolment::v1::{
        CompleteCardActivationRequest, EcpsState, GetProfessionalRequest, Professional,
        StartCardActivationRequest, StartCardActivationResponse,
    },
};
use secrecy::SecretString;
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;
use tonic::{Code, transport::Channel};
use vaultrs::client::VaultClient;

use crate::{
    files::{Act, Ps, import_rpps, rpps_file, rpps_name},
    helpers::{
        Deps, STREAM, TestApp, error_metadata, expect_error, spawn_app_with_config, unique_email,
        unique_phone,
    },
    patient::{ps_owner, register_device},
};

const PIN: &str = "1234";

fn root_client() -> VaultClient {
    egide_testkit::shared()
        .vault
        .root_client()
        .expect("vault client")
}

/// The dev PKI on the shared OpenBao, built once, with its anchors and CAs as PEM files.
struct Pki {
    pki: DevPki,
    dir: PathBuf,
}

async fn pki() -> &'static Pki {
    static PKI: OnceCell<Pki> = OnceCell::const_new();
    PKI.get_or_init(|| async {
        let vault = &egide_testkit::shared().vault;
        let pki = egide_devpki::init(&root_client(), &vault.addr())
            .await
            .expect("dev PKI");
        let dir = std::env::temp_dir().join(format!("egide-enrolment-pki-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("pki dir");
        for f in &pki.families {
            std::fs::write(dir.join(format!("{}.pem", f.name)), &f.root_pem).expect("root");
            for (mount, pem) in &f.intermediates {
                std::fs::write(dir.join(format!("{mount}.pem")), pem).expect("CA");
            }
        }
        Pki { pki, dir }
    })
    .await
}

/// A certval service on the shared stack, trusting the dev PKI.
struct Certval {
    endpoint: String,
    client: CertificateValidationServiceClient<Channel>,
    running: Running,
}

impl Drop for Certval {
    fn drop(&mut self) {
        self.running.shutdown_token().cancel();
    }
}

async fn spawn_certval() -> Certval {
    let pki = pki().await;
    let deps = Deps::shared();
    let db_url = egide_testkit::shared()
        .postgres
        .create_database("certval")
        .expect("certval database");
    let mut service =
        ServiceConfig::ephemeral(db_url, deps.nats_url, deps.vault_addr, deps.vault_token)
            .in_test_mesh("certval");
    // One stream binds `egide.>` on the shared NATS (helpers::STREAM).
    service.nats.stream = STREAM.to_owned();
    let mut config = CertvalConfig::new(service);
    config.trust.production = false;
    config.trust.families = pki
        .pki
        .families
        .iter()
        .map(|f| FamilySettings {
            name: f.name.clone(),
            anchors: vec![
                pki.dir
                    .join(format!("{}.pem", f.name))
                    .display()
                    .to_string(),
            ],
            intermediates: f
                .intermediates
                .iter()
                .map(|(mount, _)| pki.dir.join(format!("{mount}.pem")).display().to_string())
                .collect(),
            test: f.test,
            cut_off: f.legacy_cut_off.clone(),
            ..Default::default()
        })
        .collect();
    // Revocation from the CRLs the dev CAs publish in Vault; no answer is a refusal.
    config.revocation.unknown = UnknownStatus::FailClosed;
    config.dev_pki.mounts = egide_devpki::mounts()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let running = egide_certval::build(config, CancellationToken::new())
        .await
        .expect("certval starts");
    let endpoint = format!("https://{}", running.local_addr());
    let channel = egide_kit::mesh::dev::channel_as(running.local_addr(), "certval", "gateway")
        .await
        .expect("connect to certval");
    Certval {
        endpoint,
        client: CertificateValidationServiceClient::new(channel),
        running,
    }
}

/// Enrolment pointed at `certval`.
async fn spawn_enrolment(certval_endpoint: &str) -> TestApp {
    let endpoint = certval_endpoint.to_owned();
    spawn_app_with_config(move |c| {
        c.certval.endpoint = endpoint;
        c.certval.timeout_ms = 3000;
    })
    .await
}

/// Two physicians of the directory.
struct Directory {
    claire: Ps,
    hugo: Ps,
}

async fn import_directory(app: &TestApp) -> Directory {
    let d = Directory {
        claire: Ps::new(104_5367, "LEMOINE", "Claire"),
        hugo: Ps::new(205_1133, "NORMAND", "Hugo"),
    };
    let lines = vec![
        d.claire.line(&Act::reachable(
            "CABINET LEMOINE",
            &unique_email("claire"),
            &unique_phone(),
        )),
        d.hugo.line(&Act::at("CABINET NORMAND")),
    ];
    import_rpps(app, &rpps_name(13), rpps_file(&lines)).await;
    d
}

/// A soft card for `ps`, in a fresh directory (kept until the process ends).
async fn card_for(ps: &Ps, key: KeyKind) -> SoftCard {
    let dir = std::env::temp_dir().join(format!(
        "egide-enrolment-card-{}-{}",
        std::process::id(),
        uuid::Uuid::now_v7().simple()
    ));
    let request = CardRequest {
        family: Family::Fort,
        holder: egide_devpki::Professional {
            idnat: egide_ids::IdNatPs::parse(&ps.id_nat_ps()).expect("an idNat_PS"),
            name: ps.last_name.clone(),
            given_name: ps.first_name.clone(),
            profession: "Médecin".into(),
        },
        key,
        ttl: None,
    };
    egide_devpki::issue_card(&root_client(), &dir, &request, &pin())
        .await
        .expect("card issued")
}

fn pin() -> SecretString {
    SecretString::from(PIN)
}

fn algorithm(card: &SoftCard) -> SignatureAlgorithm {
    match card.algorithm() {
        egide_devpki::CardAlgorithm::RsaPkcs1Sha256 => SignatureAlgorithm::RsaPkcs1Sha256,
        egide_devpki::CardAlgorithm::EcdsaP256Sha256 => SignatureAlgorithm::EcdsaP256Sha256,
    }
}

async fn start(app: &TestApp, id: &str) -> Result<StartCardActivationResponse, tonic::Status> {
    app.client
        .clone()
        .start_card_activation(StartCardActivationRequest {
            id_nat_ps: id.into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

/// The completion request of `card` over `signed` (normally the bound message).
fn completion(
    id: &str,
    started: &StartCardActivationResponse,
    card: &mut SoftCard,
    signed: &[u8],
) -> CompleteCardActivationRequest {
    CompleteCardActivationRequest {
        id_nat_ps: id.into(),
        challenge_id: started.challenge_id.clone(),
        certificate: card.auth_certificate().to_vec(),
        intermediates: card.chain(),
        signature: card.authenticate(&pin(), signed).expect("the card signs"),
        algorithm: algorithm(card) as i32,
    }
}

/// The request a card makes for `started`, signing the bound message as the app does.
fn signed_by(
    card: &mut SoftCard,
    id: &str,
    started: &StartCardActivationResponse,
) -> CompleteCardActivationRequest {
    let message = egide_enrolment::card_activation::activation_message(
        id,
        &started.challenge_id,
        &started.challenge,
    );
    completion(id, started, card, &message)
}

async fn complete(
    app: &TestApp,
    request: CompleteCardActivationRequest,
) -> Result<Professional, tonic::Status> {
    app.client
        .clone()
        .complete_card_activation(request)
        .await
        .map(|r| r.into_inner().professional.expect("professional"))
}

async fn ecps_state(app: &TestApp, id: &str) -> EcpsState {
    app.client
        .clone()
        .get_professional(GetProfessionalRequest {
            id_nat_ps: id.into(),
        })
        .await
        .expect("professional")
        .into_inner()
        .professional
        .expect("professional")
        .ecps_state()
}

#[tokio::test]
async fn a_cps_card_activates_ecps_and_a_phone_follows() {
    let certval = spawn_certval().await;
    let app = spawn_enrolment(&certval.endpoint).await;
    let d = import_directory(&app).await;
    let id = d.claire.id_nat_ps();
    let mut card = card_for(&d.claire, KeyKind::Rsa2048).await;
    assert_eq!(
        card.algorithm(),
        egide_devpki::CardAlgorithm::RsaPkcs1Sha256
    );

    let started = start(&app, &id).await.expect("challenge");
    assert_eq!(started.challenge.len(), 32);
    assert!(uuid::Uuid::parse_str(&started.challenge_id).is_ok());
    assert_eq!(
        ecps_state(&app, &id).await,
        EcpsState::None,
        "a challenge changes nothing"
    );

    let p = complete(&app, signed_by(&mut card, &id, &started))
        .await
        .expect("the card is accepted");
    assert_eq!(p.ecps_state(), EcpsState::PendingDevice);
    assert_eq!(
        app.sql_text(&format!(
            "SELECT verified_by || ' ' || card_certificate_sha256 FROM ecps WHERE id_nat_ps = '{id}'"
        ))
        .await,
        format!(
            "card {}",
            egide_devpki::sha256_hex(card.auth_certificate())
        )
    );

    let registered = register_device(
        &app,
        &ps_owner(&id),
        &DeviceSigner::generate(Algorithm::Es256),
    )
    .await
    .expect("the first phone");
    assert_eq!(
        registered.professional.map(|p| p.ecps_state()),
        Some(EcpsState::Active)
    );
    expect_error(
        start(&app, &id).await,
        Code::FailedPrecondition,
        "already_active",
    );

    let events = app.events().await;
    let ours: Vec<_> = events
        .iter()
        .filter(|e| e.event_type.contains(".professional.ecps"))
        .collect();
    let types: Vec<_> = ours.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "egide.enrolment.professional.ecps_card_verified",
            "egide.enrolment.professional.ecps_activated",
        ]
    );
    let verified = ours[0];
    assert_eq!(
        verified
            .envelope
            .actor
            .as_ref()
            .and_then(|a| a.kind.clone()),
        Some(ActorKind::Professional(id.clone()))
    );
    match &verified.envelope.payload {
        Some(Payload::ProfessionalChanged(p)) => {
            assert_eq!(p.id_nat_ps, id);
            assert_eq!(p.ecps_state(), EcpsState::PendingDevice);
        }
        other => panic!("{other:?}"),
    }
    // Nothing of the certificate travels in the event.
    let cert = card.auth_certificate();
    assert!(
        !verified
            .bytes
            .windows(32)
            .any(|w| cert.windows(32).any(|c| c == w)),
        "no certificate bytes in the event"
    );
}

#[tokio::test]
async fn an_ecdsa_card_is_accepted_too() {
    let certval = spawn_certval().await;
    let app = spawn_enrolment(&certval.endpoint).await;
    let d = import_directory(&app).await;
    let id = d.hugo.id_nat_ps();
    let mut card = card_for(&d.hugo, KeyKind::P256).await;
    let started = start(&app, &id).await.expect("challenge");
    let p = complete(&app, signed_by(&mut card, &id, &started))
        .await
        .expect("accepted");
    assert_eq!(p.ecps_state(), EcpsState::PendingDevice);
}

#[tokio::test]
async fn a_card_of_another_professional_is_refused() {
    let certval = spawn_certval().await;
    let app = spawn_enrolment(&certval.endpoint).await;
    let d = import_directory(&app).await;
    let id = d.claire.id_nat_ps();
    let mut hugos = card_for(&d.hugo, KeyKind::Rsa2048).await;
    let started = start(&app, &id).await.expect("challenge");
    expect_error(
        complete(&app, signed_by(&mut hugos, &id, &started)).await,
        Code::PermissionDenied,
        "card_mismatch",
    );
    assert_eq!(ecps_state(&app, &id).await, EcpsState::None);
    assert!(
        app.events_of(egide_enrolment::card_activation::CARD_VERIFIED)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_signature_over_the_bare_challenge_is_refused() {
    let certval = spawn_certval().await;
    let app = spawn_enrolment(&certval.endpoint).await;
    let d = import_directory(&app).await;
    let id = d.claire.id_nat_ps();
    let mut card = card_for(&d.claire, KeyKind::Rsa2048).await;
    let started = start(&app, &id).await.expect("challenge");
    let bare = completion(&id, &started, &mut card, &started.challenge);
    let status = expect_error(
        complete(&app, bare).await,
        Code::PermissionDenied,
        "card_refused",
    );
    assert_eq!(
        error_metadata(&status, "cause").as_deref(),
        Some("bad_signature")
    );
    assert_eq!(ecps_state(&app, &id).await, EcpsState::None);
}

#[tokio::test]
async fn a_challenge_is_used_once_and_only_by_its_professional() {
    let certval = spawn_certval().await;
    let app = spawn_enrolment(&certval.endpoint).await;
    let d = import_directory(&app).await;
    let id = d.claire.id_nat_ps();
    let mut card = card_for(&d.claire, KeyKind::Rsa2048).await;

    // A failed attempt uses the challenge up as well as a successful one.
    let started = start(&app, &id).await.expect("challenge");
    let mut wrong = signed_by(&mut card, &id, &started);
    wrong.signature[10] ^= 1;
    let request = signed_by(&mut card, &id, &started);
    expect_error(
        complete(&app, wrong).await,
        Code::PermissionDenied,
        "card_refused",
    );
    expect_error(
        complete(&app, request).await,
        Code::FailedPrecondition,
        "no_activation",
    );

    let started = start(&app, &id).await.expect("challenge");
    let request = signed_by(&mut card, &id, &started);
    complete(&app, request.clone()).await.expect("accepted");
    expect_error(
        complete(&app, request).await,
        Code::FailedPrecondition,
        "no_activation",
    );

    // Hugo's challenge, presented for Claire, is burnt and refused.
    let hugos = start(&app, &d.hugo.id_nat_ps()).await.expect("challenge");
    expect_error(
        complete(&app, signed_by(&mut card, &id, &hugos)).await,
        Code::FailedPrecondition,
        "no_activation",
    );
    let mut hugo_card = card_for(&d.hugo, KeyKind::Rsa2048).await;
    expect_error(
        complete(&app, signed_by(&mut hugo_card, &d.hugo.id_nat_ps(), &hugos)).await,
        Code::FailedPrecondition,
        "no_activation",
    );
}

#[tokio::test]
async fn challenges_expire_and_are_limited() {
    let certval = spawn_certval().await;
    let app = spawn_enrolment(&certval.endpoint).await;
    let d = import_directory(&app).await;
    let id = d.claire.id_nat_ps();
    let mut card = card_for(&d.claire, KeyKind::Rsa2048).await;

    let started = start(&app, &id).await.expect("challenge");
    app.sql(&format!(
        "UPDATE ecps_card_challenges SET expires_at = now() - interval '1 second' \
         WHERE id = '{}'",
        started.challenge_id
    ))
    .await;
    expect_error(
        complete(&app, signed_by(&mut card, &id, &started)).await,
        Code::FailedPrecondition,
        "challenge_expired",
    );

    for _ in 0..egide_enrolment::card_activation::MAX_OPEN_CHALLENGES {
        start(&app, &id).await.expect("an open challenge");
    }
    expect_error(
        start(&app, &id).await,
        Code::ResourceExhausted,
        "too_many_challenges",
    );
    // Others are not held back by Claire's.
    start(&app, &d.hugo.id_nat_ps()).await.expect("Hugo's");
    expect_error(
        start(&app, &Ps::new(307_7001, "GARNIER", "Inès").id_nat_ps()).await,
        Code::NotFound,
        "professional_not_found",
    );
}

#[tokio::test]
async fn a_revoked_card_is_refused() {
    let certval = spawn_certval().await;
    let app = spawn_enrolment(&certval.endpoint).await;
    let d = import_directory(&app).await;
    let id = d.claire.id_nat_ps();
    let mut card = card_for(&d.claire, KeyKind::Rsa2048).await;
    let revoked = certval
        .client
        .clone()
        .revoke_certificate(crate::patient::as_operator(
            "op-ans",
            RevokeCertificateRequest {
                certificate: card.auth_certificate().to_vec(),
                reason: "key_compromise".into(),
                ..Default::default()
            },
        ))
        .await
        .expect("revoked")
        .into_inner();
    assert!(revoked.newly_revoked);

    let started = start(&app, &id).await.expect("challenge");
    let status = expect_error(
        complete(&app, signed_by(&mut card, &id, &started)).await,
        Code::PermissionDenied,
        "card_refused",
    );
    assert_eq!(error_metadata(&status, "cause").as_deref(), Some("revoked"));
    assert_eq!(ecps_state(&app, &id).await, EcpsState::None);
}

#[tokio::test]
async fn without_certval_nothing_is_accepted() {
    // The card comes from the dev PKI: set it up here rather than count on another test
    // having done it first on the shared Vault (alone, this test failed).
    pki().await;
    // A port nothing listens on, for as long as the lease lives.
    let gone = egide_testkit::PortLease::one().expect("a port lease");
    let endpoint = format!("https://{}", gone.addr());
    // Enrolment starts and serves without certval (the channel connects lazily).
    let app = spawn_enrolment(&endpoint).await;
    let d = import_directory(&app).await;
    let id = d.claire.id_nat_ps();
    let mut card = card_for(&d.claire, KeyKind::Rsa2048).await;
    let started = start(&app, &id).await.expect("challenge");
    let request = signed_by(&mut card, &id, &started);
    let status = complete(&app, request).await.expect_err("fails closed");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_eq!(ecps_state(&app, &id).await, EcpsState::None);
}

#[test]
fn the_default_endpoint_is_certvals_local_port() {
    let c = egide_enrolment::config::CertvalSettings::default();
    assert_eq!(
        c.endpoint,
        format!("http://127.0.0.1:{}", egide_certval::DEFAULT_PORT)
    );
}

#[tokio::test]
async fn an_ecps_whose_phones_were_all_revoked_is_activated_again_with_the_card() {
    let certval = spawn_certval().await;
    let app = spawn_enrolment(&certval.endpoint).await;
    let d = import_directory(&app).await;
    let id = d.claire.id_nat_ps();
    let mut card = card_for(&d.claire, KeyKind::Rsa2048).await;
    let started = start(&app, &id).await.expect("challenge");
    complete(&app, signed_by(&mut card, &id, &started))
        .await
        .expect("accepted");
    let lost = register_device(
        &app,
        &ps_owner(&id),
        &DeviceSigner::generate(Algorithm::Es256),
    )
    .await
    .expect("a phone");
    app.client
        .clone()
        .revoke_device(crate::patient::as_operator(
            "op-ars-35",
            egide_proto::enrolment::v1::RevokeDeviceRequest {
                owner: Some(ps_owner(&id)),
                device_id: lost.device.expect("device").id,
            },
        ))
        .await
        .expect("revoked");

    let started = start(&app, &id).await.expect("a new challenge");
    let p = complete(&app, signed_by(&mut card, &id, &started))
        .await
        .expect("accepted again");
    assert_eq!(p.ecps_state(), EcpsState::PendingDevice);
    register_device(
        &app,
        &ps_owner(&id),
        &DeviceSigner::generate(Algorithm::EdDsa),
    )
    .await
    .expect("a new phone without co-signature");
    assert_eq!(ecps_state(&app, &id).await, EcpsState::Active);
}
