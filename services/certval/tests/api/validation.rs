//! Chains for a purpose, signatures, identities, bad input.

use egide_devpki::{Family, KeyKind};
use egide_proto::certval::v1::{
    ListTrustAnchorsRequest, RevocationSource, SignatureAlgorithm, ValidateChainRequest,
    VerifySignatureRequest, certificate_identity::Kind,
};
use secrecy::SecretString;
use tonic::Code;

use crate::helpers::{PIN, card, pki, reason, spawn, spawn_with, structure, structure_in};

#[tokio::test]
async fn a_structure_certificate_is_valid_for_client_auth_with_its_identity() {
    let app = spawn().await;
    let cred = structure().await;
    let r = app.validate(&cred, "structure-client-auth").await;
    assert!(r.valid, "{} {}", r.reason, r.detail);
    assert_eq!(r.family, "IGC-SANTE-ELEMENTAIRE");
    assert_eq!(r.path.len(), 3, "leaf, ORGANISATIONS CA, root");
    assert!(
        r.path[2]
            .subject
            .contains("TEST AC RACINE IGC-SANTE ELEMENTAIRE"),
        "{}",
        r.path[2].subject
    );
    let Some(Kind::Structure(s)) = r.identity.and_then(|i| i.kind) else {
        panic!("no structure identity")
    };
    assert_eq!(s.idnat_struct, "1010003374");
    assert!(s.organisation.starts_with("CENTRE HOSPITALIER D'ÉGIDE"));
    assert!(s.application.starts_with("DPI-"));
    assert_eq!(s.departement, "35");
    // Its status came from the CRL fetched from the Vault mount the certificate names.
    assert_eq!(r.revocation, RevocationSource::Crl as i32);
}

#[tokio::test]
async fn the_wrong_purpose_is_refused_with_its_reason() {
    let app = spawn().await;
    let cred = structure().await;
    let r = app.validate(&cred, "server-auth").await;
    assert!(!r.valid);
    assert_eq!(r.reason, "extended_key_usage", "{}", r.detail);
    assert_eq!(r.failing_index, 0);
    // A professional purpose wants a professional's certificate.
    let r = app.validate(&cred, "ps-authentication").await;
    assert!(!r.valid);
    assert!(
        ["policy_required", "identity_missing"].contains(&r.reason.as_str()),
        "{}",
        r.reason
    );
}

#[tokio::test]
async fn a_policy_the_family_does_not_assert_is_refused() {
    let app = spawn_with(|c| {
        c.purposes
            .get_mut("structure-client-auth")
            .unwrap()
            .policies = Some(vec!["1.2.3.4.5".into()]);
    })
    .await;
    let r = app
        .validate(&structure().await, "structure-client-auth")
        .await;
    assert!(!r.valid);
    assert_eq!(r.reason, "policy_required");
}

#[tokio::test]
async fn a_family_not_allowed_for_the_purpose_is_refused() {
    let app = spawn_with(|c| {
        c.purposes
            .get_mut("structure-client-auth")
            .unwrap()
            .families = Some(vec!["IGC-SANTE-ELEMENTAIRE".into()]);
    })
    .await;
    let r = app
        .validate(
            &structure_in(Family::Standard).await,
            "structure-client-auth",
        )
        .await;
    assert!(!r.valid);
    assert_eq!(r.reason, "family_not_allowed");
    let r = app
        .validate(
            &structure_in(Family::Elementaire).await,
            "structure-client-auth",
        )
        .await;
    assert!(r.valid, "{}", r.reason);
}

#[tokio::test]
async fn card_signatures_verify_rsa_and_p256() {
    let app = spawn().await;
    for (key, alg) in [
        (KeyKind::Rsa2048, SignatureAlgorithm::RsaPkcs1Sha256),
        (KeyKind::P256, SignatureAlgorithm::EcdsaP256Sha256),
    ] {
        let mut card = card(key).await;
        let challenge = b"egide test challenge".to_vec();
        let signature = card
            .authenticate(&SecretString::from(PIN), &challenge)
            .unwrap();
        let request = VerifySignatureRequest {
            leaf: card.auth_certificate().to_vec(),
            intermediates: card.chain(),
            purpose: "ps-authentication".into(),
            message: challenge.clone(),
            signature: signature.clone(),
            algorithm: alg as i32,
            at: None,
        };
        let verify = |r: VerifySignatureRequest| {
            let mut client = app.client.clone();
            async move { client.verify_signature(r).await.unwrap().into_inner() }
        };
        let r = verify(request.clone()).await;
        assert!(r.valid, "{key:?}: {} {}", r.reason, r.detail);
        let chain = r.chain.unwrap();
        let Some(Kind::Professional(p)) = chain.identity.and_then(|i| i.kind) else {
            panic!("no professional")
        };
        assert_eq!(
            (
                p.idnat_ps.as_str(),
                p.name.as_str(),
                p.given_name.as_str(),
                p.profession.as_str()
            ),
            ("899700218896", "DUPONT", "JEANNE", "Médecin")
        );
        // Other bytes: refused.
        let r = verify(VerifySignatureRequest {
            message: b"other".to_vec(),
            ..request.clone()
        })
        .await;
        assert!(!r.valid);
        assert_eq!(r.reason, "bad_signature");
        // The signature key's certificate is not an authentication certificate.
        let r = verify(VerifySignatureRequest {
            leaf: card.sign_certificate().to_vec(),
            ..request.clone()
        })
        .await;
        assert!(
            !r.valid,
            "a signature certificate passed for authentication"
        );
        // An algorithm that does not fit the key.
        let r = verify(VerifySignatureRequest {
            algorithm: SignatureAlgorithm::Ed25519 as i32,
            ..request
        })
        .await;
        assert!(!r.valid);
        assert!(
            ["algorithm_mismatch", "bad_signature"].contains(&r.reason.as_str()),
            "{}",
            r.reason
        );
    }
}

#[tokio::test]
async fn validity_is_judged_at_the_time_asked() {
    let app = spawn().await;
    let cred = structure().await;
    let at = |secs: i64| ValidateChainRequest {
        leaf: cred.issued.certificate.clone(),
        intermediates: cred.issued.intermediates.clone(),
        purpose: "structure-client-auth".into(),
        at: Some(prost_types::Timestamp {
            seconds: secs,
            nanos: 0,
        }),
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let r = app
        .client
        .clone()
        .validate_chain(at(now + 4 * 365 * 86400))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.reason, "expired");
    let r = app
        .client
        .clone()
        .validate_chain(at(now - 86400))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.reason, "not_yet_valid");
}

#[tokio::test]
async fn bad_input_gets_clear_answers() {
    let app = spawn().await;
    let cred = structure().await;
    // Requests that cannot be answered.
    let status = app
        .client
        .clone()
        .validate_chain(ValidateChainRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(egide_kit::error::decode(&status).1[0].field, "leaf");
    let status = app
        .client
        .clone()
        .validate_chain(ValidateChainRequest {
            leaf: cred.issued.certificate.clone(),
            purpose: "door-opening".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(egide_kit::error::decode(&status).1[0].field, "purpose");
    let status = app
        .client
        .clone()
        .validate_chain(ValidateChainRequest {
            leaf: cred.issued.certificate.clone(),
            intermediates: vec![cred.issued.intermediates[0].clone(); 17],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(reason(&status).as_deref(), Some("invalid_argument"));
    // Certificates that are not valid: answers, never a panic.
    let mut truncated = cred.issued.certificate.clone();
    truncated.truncate(truncated.len() / 2);
    for bad in [
        b"not a certificate".to_vec(),
        truncated,
        vec![0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
    ] {
        let r = app.validate_der(&bad, &[], "structure-client-auth").await;
        assert!(!r.valid);
        assert_eq!(r.reason, "malformed_certificate");
    }
    // A root nobody configured.
    let foreign = rcgen::generate_simple_self_signed(vec!["x.example".into()]).unwrap();
    let r = app.validate_der(foreign.cert.der(), &[], "").await;
    assert!(!r.valid);
    assert_eq!(r.reason, "untrusted_root");
    // A garbled signature.
    let mut forged = cred.issued.certificate.clone();
    let last = forged.len() - 3;
    forged[last] ^= 0x55;
    let r = app
        .validate_der(&forged, &cred.issued.intermediates, "structure-client-auth")
        .await;
    assert!(!r.valid);
    assert!(
        ["bad_signature", "malformed_certificate"].contains(&r.reason.as_str()),
        "{}",
        r.reason
    );
}

#[tokio::test]
async fn the_anchors_are_listed_by_family() {
    let app = spawn().await;
    let anchors = app
        .client
        .clone()
        .list_trust_anchors(ListTrustAnchorsRequest {})
        .await
        .unwrap()
        .into_inner()
        .anchors;
    let mut families: Vec<_> = anchors.iter().map(|a| a.family.as_str()).collect();
    families.sort_unstable();
    assert_eq!(
        families,
        [
            "IGC-CPS-LEGACY",
            "IGC-SANTE-ELEMENTAIRE",
            "IGC-SANTE-FORT",
            "IGC-SANTE-STANDARD"
        ]
    );
    assert!(anchors.iter().all(|a| a.test));
    let legacy = anchors
        .iter()
        .find(|a| a.family == "IGC-CPS-LEGACY")
        .unwrap();
    assert!(legacy.cut_off.is_some());
}

#[tokio::test]
async fn test_roots_are_refused_in_production() {
    let stack = egide_testkit::shared();
    let db = stack.postgres.create_database("certval").unwrap();
    let mut service = egide_kit::config::ServiceConfig::ephemeral(
        db,
        stack.nats.url(),
        stack.vault.addr(),
        stack.vault.root_token().to_owned(),
    )
    .in_test_mesh("certval");
    service.nats.stream = crate::helpers::STREAM.into();
    let mut config = egide_certval::CertvalConfig::new(service);
    pki().await.trust.apply(&mut config);
    config.trust.production = true;
    let Err(error) = egide_certval::build(config, tokio_util::sync::CancellationToken::new()).await
    else {
        panic!("test roots were trusted in production");
    };
    assert!(
        format!("{error:#}").to_lowercase().contains("test"),
        "{error:#}"
    );
}

#[tokio::test]
async fn sighup_reloads_the_anchor_files() {
    let pki = pki().await;
    let standard = pki
        .trust
        .families
        .iter()
        .find(|f| f.name == "IGC-SANTE-STANDARD")
        .unwrap()
        .clone();
    let elementaire = pki
        .trust
        .families
        .iter()
        .find(|f| f.name == "IGC-SANTE-ELEMENTAIRE")
        .unwrap()
        .clone();
    // One family whose anchor file holds ELEMENTAIRE's root at first.
    let dir = pki.dir.join("reload");
    std::fs::create_dir_all(&dir).unwrap();
    let anchor = dir.join("anchor.pem");
    std::fs::copy(&elementaire.anchors[0], &anchor).unwrap();
    let app = spawn_with(|c| {
        c.trust.families = vec![egide_certval::config::FamilySettings {
            name: "RELOADED".into(),
            anchors: vec![anchor.display().to_string()],
            intermediates: Vec::new(),
            test: true,
            cut_off: None,
            ..Default::default()
        }];
        c.revocation.unknown = egide_certval::config::UnknownStatus::Allow;
    })
    .await;
    let cred = structure_in(Family::Standard).await;
    let r = app.validate(&cred, "").await;
    assert_eq!(r.reason, "untrusted_root");
    // The file now holds STANDARD's root; SIGHUP.
    std::fs::copy(&standard.anchors[0], &anchor).unwrap();
    let status = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = std::time::Instant::now();
    loop {
        let r = app.validate(&cred, "").await;
        if r.valid {
            assert_eq!(r.family, "RELOADED");
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "still {} after SIGHUP",
            r.reason
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_unusable_candidate_intermediate_is_skipped_and_reported() {
    let app = spawn().await;
    let cred = structure().await;
    let mut pool = vec![b"not a certificate".to_vec()];
    pool.extend(cred.issued.intermediates.iter().cloned());
    let r = app
        .validate_der(&cred.issued.certificate, &pool, "structure-client-auth")
        .await;
    assert!(r.valid, "{} {}", r.reason, r.detail);
    assert_eq!(r.skipped.len(), 1);
    assert_eq!(r.skipped[0].index, 0);
    assert_eq!(r.skipped[0].reason, "malformed_certificate");
    // A malformed leaf stays an answer of its own, before any candidate is looked at.
    let r = app.validate_der(b"not a certificate", &pool, "").await;
    assert_eq!(r.reason, "malformed_certificate");
    assert_eq!((r.failing_index, r.skipped.len()), (0, 0));
}
