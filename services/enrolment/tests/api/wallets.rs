//! Patients' wallets: the enrolment from the NIR to the first device, and the refusals of
//! a start (bad input, identity checks, throttling, one open wallet per NIR).

use std::time::Duration;

use egide_attest::{Algorithm, device::DeviceSigner};
use egide_kit::events::{ActorKind, Payload};
use egide_proto::enrolment::v1::{
    Dependant, IdentityTraits, InsuredRights, StartWalletEnrolmentRequest, WalletState,
};
use tonic::Code;

use crate::{
    files::{Person, TEST_OID, import_reference, nir},
    helpers::{
        TestApp, eventually, expect_error, sims, spawn_app, unique_email, violation_fields,
        wait_for_event,
    },
    patient::{
        self, attest, attestation_request, challenge, close, code_sent_to, confirm, get_wallet,
        patient_requester, proven, register_device, start, started, state_of, submit, wallet_owner,
    },
};

/// The wallet and device events, in order.
async fn wallet_events(app: &TestApp) -> Vec<String> {
    app.event_types()
        .await
        .into_iter()
        .filter(|t| {
            t.starts_with("egide.enrolment.wallet.") || t.starts_with("egide.enrolment.device.")
        })
        .collect()
}

fn rights(start: &str, end: &str) -> Option<InsuredRights> {
    Some(InsuredRights {
        scheme: "01".into(),
        fund: "631".into(),
        centre: "6311".into(),
        coverage_start: start.into(),
        coverage_end: end.into(),
    })
}

#[tokio::test]
async fn a_wallet_is_enrolled_from_nir_to_first_device_and_no_event_names_the_patient() {
    let app = spawn_app().await;
    import_reference(&app, &[]).await;
    let zoe = Person::zoe();
    let email = unique_email("zoe");

    // Start: a code goes to the e-mail; only the NIR is shown back.
    let started = start(&app, &zoe, &email).await.expect("started");
    let wallet = started.wallet.expect("a wallet");
    assert_eq!(wallet.state(), WalletState::PendingEmail);
    assert_eq!(
        wallet
            .identity
            .as_ref()
            .map(|i| (i.nir.as_str(), i.traits.is_none())),
        Some((zoe.nir.as_str(), true))
    );
    assert!(
        wallet.email_masked.starts_with("z***@"),
        "{}",
        wallet.email_masked
    );
    assert!(wallet.expires_at.is_some() && started.code_expires_at.is_some());
    let id = wallet.id.clone();

    // Confirm with the code read from the mail capture.
    let code = code_sent_to(&email, 0).await;
    let confirmed = confirm(&app, &id, &code).await.expect("code accepted");
    assert_eq!(
        confirmed.wallet.as_ref().map(|w| w.state()),
        Some(WalletState::PendingProofing)
    );
    assert_eq!(confirmed.proofing_audience, "egide-enrolment");
    assert!(
        confirmed.proofing_nonce.len() >= 32,
        "{}",
        confirmed.proofing_nonce
    );

    // The provider's attestation, bound to nonce, audience and subject.
    let token = attest(&attestation_request(&zoe, &id, &confirmed)).await;
    let proofed = submit(&app, &id, token)
        .await
        .expect("proof accepted")
        .wallet
        .expect("wallet");
    assert_eq!(proofed.state(), WalletState::PendingDevice);
    let proofing = proofed.proofing.clone().expect("proofing recorded");
    assert_eq!(
        (
            proofing.provider.as_str(),
            proofing.level.as_str(),
            proofing.method.as_str()
        ),
        (sims().proofing.issuer(), "substantial", "france_identite")
    );

    // The first device (P-256, DER signature as phone keystores make) activates it.
    let phone = DeviceSigner::generate(Algorithm::Es256);
    let registered = register_device(&app, &wallet_owner(&id), &phone)
        .await
        .expect("device registered");
    let device = registered.device.expect("a device");
    assert_eq!(device.algorithm, "ES256");
    assert_eq!(device.thumbprint, phone.device_key().thumbprint());
    assert_eq!(device.public_key, phone.device_key().to_spki_der());
    assert_eq!(
        registered.wallet.as_ref().map(|w| w.state()),
        Some(WalletState::Active)
    );

    let wallet = get_wallet(&app, &id).await;
    assert_eq!(wallet.state(), WalletState::Active);
    let identity = wallet.identity.clone().expect("identity");
    assert_eq!(
        (
            identity.nir.as_str(),
            identity.oid.as_str(),
            identity.identity_status.as_str()
        ),
        (zoe.nir.as_str(), TEST_OID, "QUAL")
    );
    assert_eq!(identity.traits, Some(zoe.traits()));
    assert_eq!(wallet.rights, rights("2020-01-01", ""));
    assert_eq!(
        wallet.dependants,
        vec![
            Dependant {
                quality: "enfant".into(),
                nir: Person::lea().nir,
                birth_rank: 0,
                rights: rights("2020-01-01", "")
            },
            Dependant {
                quality: "enfant".into(),
                nir: String::new(),
                birth_rank: 2,
                rights: rights("2022-03-01", "2030-12-31")
            },
        ]
    );
    assert_eq!(wallet.devices, vec![device.clone()]);
    assert!(wallet.activated_at.is_some());
    assert_eq!(wallet.expires_at, None, "an active wallet does not expire");

    // Every step is an event; none carries the NIR or a trait, only the INS digest.
    assert_eq!(
        wallet_events(&app).await,
        [
            "egide.enrolment.wallet.started",
            "egide.enrolment.wallet.email_confirmed",
            "egide.enrolment.wallet.proofed",
            "egide.enrolment.device.registered",
            "egide.enrolment.wallet.activated",
        ]
    );
    let events = app.events().await;
    let mut digests = std::collections::BTreeSet::new();
    // (Only values that cannot turn up by chance in ids and digests.)
    for e in &events {
        for secret in [
            zoe.nir.as_str(),
            "ADRUN",
            "LOUISE",
            "1975-12-01",
            email.as_str(),
        ] {
            assert!(
                !e.bytes
                    .windows(secret.len())
                    .any(|w| w == secret.as_bytes()),
                "{} contains {secret:?}",
                e.event_type
            );
        }
        match &e.envelope.payload {
            Some(Payload::WalletChanged(w)) => {
                assert_eq!(w.wallet_id, id);
                digests.insert(w.ins_digest.clone());
            }
            Some(Payload::DeviceChanged(d)) => {
                digests.insert(d.ins_digest.clone());
                assert_eq!(
                    d.device.as_ref().map(|d| d.id.as_str()),
                    Some(device.id.as_str())
                );
            }
            _ => {}
        }
    }
    let digest = digests.into_iter().collect::<Vec<_>>();
    assert_eq!(digest.len(), 1, "one digest for one patient: {digest:?}");
    assert!(
        digest[0].len() == 64 && digest[0].bytes().all(|b| b.is_ascii_hexdigit()),
        "{digest:?}"
    );
    let activated = &events
        .iter()
        .find(|e| e.event_type == "egide.enrolment.wallet.activated")
        .unwrap()
        .envelope;
    assert_eq!(
        activated.actor.as_ref().and_then(|a| a.kind.clone()),
        Some(ActorKind::PatientInsDigest(digest[0].clone()))
    );

    // The events leave through NATS.
    let activated_row = app
        .outbox()
        .await
        .into_iter()
        .find(|r| r.event_type == "egide.enrolment.wallet.activated")
        .unwrap();
    let seen = wait_for_event(
        &app.nats_url,
        "egide.enrolment.wallet.activated",
        &activated_row.event_id.to_string(),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(seen.envelope.payload, activated.payload);

    // The one-time code left the outbox and its text was erased once delivered.
    eventually(
        Duration::from_secs(10),
        "sent mail bodies erased",
        || async {
            (app.sql_i64(
                "SELECT count(*) FROM outbound_messages WHERE sent_at IS NULL OR body IS NOT NULL",
            )
            .await
                == 0)
                .then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn an_ed25519_phone_activates_a_wallet_and_a_second_phone_may_sign_raw_p256() {
    let app = spawn_app().await;
    import_reference(&app, &[]).await;
    let e = proven(&app, &Person::zoe()).await;
    let owner = wallet_owner(&e.wallet_id);

    let ed = DeviceSigner::generate(Algorithm::EdDsa);
    let first = register_device(&app, &owner, &ed)
        .await
        .expect("Ed25519 device");
    assert_eq!(
        first.device.as_ref().map(|d| d.algorithm.as_str()),
        Some("EdDSA")
    );
    assert_eq!(
        first.wallet.as_ref().map(|w| w.state()),
        Some(WalletState::Active)
    );

    // A second phone signing the raw r || s form (WebCrypto) is accepted too, with the
    // first phone's co-signature.
    let p256 = DeviceSigner::generate(Algorithm::Es256);
    let nonce = challenge(&app, &owner).await.expect("challenge").nonce;
    let mut request =
        patient::phone(&ed, &first).authorize(patient::registration(&p256, &owner, &nonce));
    let message = egide_attest::device::registration_message(
        &format!("wallet:{}", e.wallet_id),
        &nonce,
        &p256.device_key().thumbprint(),
    );
    request.signature = p256.sign_raw(&message);
    assert_eq!(request.signature.len(), 64);
    let second = patient::register(&app, request)
        .await
        .expect("raw P-256 signature");
    assert_eq!(second.wallet.as_ref().map(|w| w.devices.len()), Some(2));
    assert_eq!(
        wallet_events(&app)
            .await
            .iter()
            .filter(|t| t.ends_with("wallet.activated"))
            .count(),
        1,
        "only the first device activates"
    );
}

// ---- Start refusals ---------------------------------------------------------------------

#[tokio::test]
async fn malformed_starts_are_invalid_argument_naming_every_bad_field_and_leave_nothing() {
    let app = spawn_app().await;
    import_reference(&app, &[]).await;
    let zoe = Person::zoe();
    let cases: Vec<(StartWalletEnrolmentRequest, Vec<&str>)> = vec![
        (
            StartWalletEnrolmentRequest {
                nir: "27512632207497".into(),
                traits: Some(IdentityTraits {
                    sex: "X".into(),
                    birth_date: "1975-13-01".into(),
                    ..zoe.traits()
                }),
                email: "not-an-email".into(),
            },
            vec!["nir", "traits.sex", "traits.birth_date", "email"],
        ),
        (
            StartWalletEnrolmentRequest {
                nir: "275126322074975".into(),
                traits: Some(zoe.traits()),
                email: unique_email("z"),
            },
            vec!["nir"],
        ),
        (
            StartWalletEnrolmentRequest {
                nir: zoe.nir.clone(),
                traits: None,
                email: unique_email("z"),
            },
            vec!["traits"],
        ),
        (
            StartWalletEnrolmentRequest {
                nir: zoe.nir.clone(),
                traits: Some(IdentityTraits {
                    birth_name: " ".into(),
                    given_names: vec![],
                    birth_place: "6322".into(),
                    ..zoe.traits()
                }),
                email: "a b@example.test".into(),
            },
            vec![
                "traits.birth_name",
                "traits.given_names",
                "traits.birth_place",
                "email",
            ],
        ),
    ];
    for (request, fields) in cases {
        let status = expect_error(
            app.client.clone().start_wallet_enrolment(request).await,
            Code::InvalidArgument,
            "invalid_argument",
        );
        assert_eq!(violation_fields(&status), fields);
    }
    assert_eq!(app.sql_i64("SELECT count(*) FROM wallets").await, 0);
    assert_eq!(
        app.sql_i64("SELECT count(*) FROM outbound_messages").await,
        0
    );
    assert_eq!(
        app.sql_i64("SELECT count(*) FROM enrolment_failures").await,
        0,
        "bad input is no failed attempt"
    );
    assert!(wallet_events(&app).await.is_empty());
}

#[tokio::test]
async fn identity_checks_say_which_traits_differ_and_nothing_more() {
    let twin = |body: &str| Person {
        nir: nir(body),
        birth_name: "DUPONT",
        given_names: "JEAN",
        sex: "M",
        birth_date: "1980-01-15",
        birth_place: "75056",
    };
    let app = spawn_app().await;
    import_reference(&app, &[twin("1800175056001"), twin("1800175056002")]).await;
    let zoe = Person::zoe();

    // No identity has this NIR, and none these traits.
    let stranger = Person {
        nir: nir("2750163220999"),
        birth_name: "INCONNUE",
        ..zoe.clone()
    };
    expect_error(
        start(&app, &stranger, &unique_email("x")).await,
        Code::NotFound,
        "identity_not_found",
    );

    // The NIR is known, two traits differ: only those two are named, no reference value.
    let wrong = Person {
        birth_name: "ADRUNE",
        given_names: "ZOE",
        ..zoe.clone()
    };
    let status = expect_error(
        start(&app, &wrong, &unique_email("x")).await,
        Code::FailedPrecondition,
        "identity_mismatch",
    );
    assert_eq!(
        violation_fields(&status),
        ["traits.birth_name", "traits.given_names"]
    );
    let shown = format!("{status:?}");
    assert!(
        !shown.contains("LOUISE") && !shown.contains("ADRUN\""),
        "{shown}"
    );

    // Unknown NIR but traits of exactly one identity: the NIR is what differs.
    let other_nir = Person {
        nir: nir("2751263220999"),
        ..zoe.clone()
    };
    let status = expect_error(
        start(&app, &other_nir, &unique_email("x")).await,
        Code::FailedPrecondition,
        "identity_mismatch",
    );
    assert_eq!(violation_fields(&status), ["nir"]);

    // Unknown NIR, traits of several identities.
    expect_error(
        start(&app, &twin("1800175056003"), &unique_email("x")).await,
        Code::FailedPrecondition,
        "identity_ambiguous",
    );

    // Traits match whatever the case and spacing.
    let sloppy = app
        .client
        .clone()
        .start_wallet_enrolment(StartWalletEnrolmentRequest {
            nir: zoe.nir.clone(),
            traits: Some(IdentityTraits {
                birth_name: "  adrun ".into(),
                given_names: vec!["zoe".into(), " louise ".into()],
                sex: "f".into(),
                ..zoe.traits()
            }),
            email: unique_email("zoe"),
        })
        .await;
    assert!(sloppy.is_ok(), "{sloppy:?}");
    assert_eq!(
        app.sql_i64("SELECT count(*) FROM wallets").await,
        1,
        "refused starts left no wallet"
    );
}

#[tokio::test]
async fn repeated_failed_starts_for_a_nir_are_throttled() {
    let app = spawn_app().await;
    import_reference(&app, &[]).await;
    let zoe = Person::zoe();
    let wrong = Person {
        birth_date: "1975-12-02",
        ..zoe.clone()
    };
    for _ in 0..5 {
        expect_error(
            start(&app, &wrong, &unique_email("x")).await,
            Code::FailedPrecondition,
            "identity_mismatch",
        );
    }
    // The sixth try is refused before any check, even with the right traits.
    expect_error(
        start(&app, &zoe, &unique_email("x")).await,
        Code::ResourceExhausted,
        "too_many_attempts",
    );
    expect_error(
        start(&app, &wrong, &unique_email("x")).await,
        Code::ResourceExhausted,
        "too_many_attempts",
    );
    assert_eq!(app.sql_i64("SELECT count(*) FROM wallets").await, 0);
    // Another NIR is not affected.
    start(&app, &Person::paul(), &unique_email("paul"))
        .await
        .expect("Paul starts");
}

#[tokio::test]
async fn one_open_wallet_per_nir_and_a_new_enrolment_after_closing() {
    let app = spawn_app().await;
    import_reference(&app, &[]).await;
    let zoe = Person::zoe();

    let pending = started(&app, &zoe).await;
    expect_error(
        start(&app, &zoe, &unique_email("again")).await,
        Code::AlreadyExists,
        "enrolment_in_progress",
    );
    // The pending one is untouched and its code still works.
    let code = code_sent_to(&pending.email, 0).await;
    let confirmed = confirm(&app, &pending.wallet_id, &code)
        .await
        .expect("confirmed");
    let token = attest(&attestation_request(&zoe, &pending.wallet_id, &confirmed)).await;
    submit(&app, &pending.wallet_id, token)
        .await
        .expect("proven");
    expect_error(
        start(&app, &zoe, &unique_email("again")).await,
        Code::AlreadyExists,
        "enrolment_in_progress",
    );
    register_device(
        &app,
        &wallet_owner(&pending.wallet_id),
        &DeviceSigner::generate(Algorithm::Es256),
    )
    .await
    .expect("activated");
    expect_error(
        start(&app, &zoe, &unique_email("again")).await,
        Code::AlreadyExists,
        "wallet_exists",
    );

    close(&app, &pending.wallet_id, patient_requester())
        .await
        .expect("closed");
    let again = start(&app, &zoe, &unique_email("again"))
        .await
        .expect("a new enrolment after closing");
    let new_id = again.wallet.expect("wallet").id;
    assert_ne!(new_id, pending.wallet_id);
    assert_eq!(
        state_of(&app, &pending.wallet_id).await,
        WalletState::Closed
    );
    assert_eq!(state_of(&app, &new_id).await, WalletState::PendingEmail);
}

#[tokio::test]
async fn concurrent_starts_for_one_nir_open_one_enrolment() {
    let app = spawn_app().await;
    import_reference(&app, &[]).await;
    let zoe = Person::zoe();
    let emails: Vec<String> = (0..5).map(|_| unique_email("race")).collect();
    let results = futures::future::join_all(emails.iter().map(|e| start(&app, &zoe, e))).await;
    let (won, lost): (Vec<_>, Vec<_>) = results.into_iter().partition(Result::is_ok);
    assert_eq!(won.len(), 1, "{lost:?}");
    for l in lost {
        expect_error(l, Code::AlreadyExists, "enrolment_in_progress");
    }
    assert_eq!(app.sql_i64("SELECT count(*) FROM wallets").await, 1);
    assert_eq!(
        app.sql_i64("SELECT count(*) FROM outbound_messages").await,
        1,
        "one code sent"
    );
    assert_eq!(
        app.events_of("egide.enrolment.wallet.started").await.len(),
        1
    );
}

#[tokio::test]
async fn a_wallet_is_read_only_by_its_patient_as_the_gateway_verified_them() {
    let app = spawn_app().await;
    crate::files::import_reference(&app, &[]).await;
    let zoe = proven(&app, &crate::files::Person::zoe()).await;
    let paul = proven(&app, &crate::files::Person::paul()).await;
    let request = |wallet_id: &str| egide_proto::enrolment::v1::GetWalletRequest {
        wallet_id: wallet_id.into(),
    };
    let mut client = app.client.clone();
    let anonymous = client.get_wallet(request(&zoe.wallet_id)).await;
    expect_error(anonymous, Code::PermissionDenied, "person_required");
    let paul_reads_zoe = client
        .get_wallet(patient::as_patient(
            &paul.wallet_id,
            request(&zoe.wallet_id),
        ))
        .await;
    expect_error(paul_reads_zoe, Code::PermissionDenied, "not_your_wallet");
    assert_eq!(get_wallet(&app, &zoe.wallet_id).await.id, zoe.wallet_id);
}

/// Only the gateway may say who calls: the same patient headers from any other peer of the
/// mesh, or from a TLS client without a mesh certificate, reach the service as nobody.
#[tokio::test]
async fn caller_headers_are_believed_from_the_gateway_only() {
    let app = spawn_app().await;
    crate::files::import_reference(&app, &[]).await;
    let zoe = proven(&app, &crate::files::Person::zoe()).await;
    let read = |channel: tonic::transport::Channel| {
        let wallet_id = zoe.wallet_id.clone();
        async move {
            egide_proto::enrolment::v1::enrolment_service_client::EnrolmentServiceClient::new(
                channel,
            )
            .get_wallet(patient::as_patient(
                &wallet_id,
                egide_proto::enrolment::v1::GetWalletRequest {
                    wallet_id: wallet_id.clone(),
                },
            ))
            .await
        }
    };
    let another_service = egide_kit::mesh::dev::channel_as(app.addr, "enrolment", "auth")
        .await
        .unwrap();
    expect_error(
        read(another_service).await,
        Code::PermissionDenied,
        "person_required",
    );
    let ca = std::fs::read(egide_kit::mesh::dev::test_config("gateway").ca_file).unwrap();
    let no_certificate = tonic::transport::Endpoint::from_shared(format!("https://{}", app.addr))
        .unwrap()
        .tls_config(
            tonic::transport::ClientTlsConfig::new()
                .ca_certificate(tonic::transport::Certificate::from_pem(ca))
                .domain_name(egide_kit::mesh::name_of("enrolment")),
        )
        .unwrap()
        .connect()
        .await
        .unwrap();
    expect_error(
        read(no_certificate).await,
        Code::PermissionDenied,
        "person_required",
    );
    let plain_text = tonic::transport::Endpoint::from_shared(format!("http://{}", app.addr))
        .unwrap()
        .connect()
        .await;
    if let Ok(channel) = plain_text {
        assert!(read(channel).await.is_err(), "no plain-text call is served");
    }
    let gateway = egide_kit::mesh::dev::channel_as(app.addr, "enrolment", "gateway")
        .await
        .unwrap();
    assert_eq!(
        read(gateway).await.unwrap().into_inner().wallet.unwrap().id,
        zoe.wallet_id
    );
}
