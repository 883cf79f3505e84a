#![allow(clippy::unwrap_used, clippy::expect_used)]

use egide_devpki::{
    CardAlgorithm, CardError, CardRequest, Family, KeyKind, Professional, SoftCard, issue_card,
    policy,
};
use secrecy::SecretString;

use crate::helpers::*;

fn holder(idnat: &str) -> Professional {
    Professional {
        idnat: egide_ids::IdNatPs::parse_with(
            idnat,
            &egide_ids::RppsPolicy::with_test_prefixes(["997"]),
        )
        .unwrap(),
        name: "DUPONT".into(),
        given_name: "Jean-Émile".into(),
        profession: "Médecin".into(),
    }
}

async fn card(family: Family, key: KeyKind, idnat: &str) -> (tempfile::TempDir, SoftCard) {
    pki().await;
    let dir = tempfile::tempdir().unwrap();
    let card = issue_card(
        &client(),
        dir.path(),
        &CardRequest {
            family,
            holder: holder(idnat),
            key,
            ttl: None,
        },
        &SecretString::from("1234"),
    )
    .await
    .unwrap();
    (dir, card)
}

async fn card_authenticates_and_signs(key: KeyKind) {
    let (dir, mut card) = card(Family::Fort, key, "899700218896").await;
    let rsa = key == KeyKind::Rsa2048;
    assert_eq!(
        card.algorithm(),
        if rsa {
            CardAlgorithm::RsaPkcs1Sha256
        } else {
            CardAlgorithm::EcdsaP256Sha256
        }
    );
    assert_eq!(card.idnat(), "899700218896");
    let pin = SecretString::from("1234");

    let challenge = b"a fresh challenge from the server";
    let sig = card.authenticate(&pin, challenge).unwrap();
    verify(card.auth_certificate(), rsa, challenge, &sig);
    let message = b"a claim to sign";
    let sig = card.sign(&pin, message).unwrap();
    verify(card.sign_certificate(), rsa, message, &sig);

    // The subject, exactly: C=FR, title=…, SN=… + GN=… + CN=idNat_PS.
    let auth = facts(card.auth_certificate());
    let expected = rdns(&[
        &[(C, "FR")],
        &[(TITLE, "Médecin")],
        &[(SN, "DUPONT"), (GN, "Jean-Émile"), (CN, "899700218896")],
    ]);
    assert_eq!(sorted(auth.rdns.clone()), sorted(expected.clone()));
    assert_eq!(auth.rdns.len(), 3);
    assert_eq!(auth.rdns[2].len(), 3, "one multi-valued RDN");
    assert!(auth.digital_signature && !auth.non_repudiation && !auth.key_encipherment);
    assert!(auth.client_auth && !auth.server_auth);
    assert_eq!(auth.policies, [policy::PS_AUTH]);
    assert!(!auth.is_ca);
    assert!((1094..=1096).contains(&auth.validity_days), "3 years");
    let (crl, ocsp) = mount_urls("pki-test-fort-personnes");
    assert_eq!(auth.crl_urls, std::slice::from_ref(&crl));
    assert_eq!(auth.ocsp_urls, [ocsp]);

    let sign = facts(card.sign_certificate());
    assert_eq!(sorted(sign.rdns.clone()), sorted(expected));
    assert!(sign.non_repudiation && !sign.digital_signature);
    assert!(!sign.eku_present);
    assert_eq!(sign.policies, [policy::PS_SIGN]);
    assert_eq!(sign.crl_urls, [crl]);

    // Chain: the issuing CA; the root is kept apart.
    let chain = card.chain();
    assert_eq!(chain.len(), 1);
    assert_eq!(auth.issuer_raw, facts(&chain[0]).subject_raw);
    let root = facts(card.root_certificate().unwrap());
    assert_eq!(facts(&chain[0]).issuer_raw, root.subject_raw);

    // Files: the state and nothing else private, no key in the clear.
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(dir.path().join("card.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(!text.contains("PRIVATE KEY"));
    }
}

#[tokio::test]
async fn rsa_card_authenticates_and_signs() {
    card_authenticates_and_signs(KeyKind::Rsa2048).await;
}

#[tokio::test]
async fn p256_card_authenticates_and_signs() {
    card_authenticates_and_signs(KeyKind::P256).await;
}

#[tokio::test]
async fn three_wrong_pins_block_the_card_for_good() {
    let (dir, mut card) = card(Family::Elementaire, KeyKind::P256, "899700218896").await;
    let right = SecretString::from("1234");
    let wrong = SecretString::from("4321");
    card.authenticate(&right, b"x").unwrap();
    assert!(matches!(
        card.authenticate(&wrong, b"x"),
        Err(CardError::WrongPin { retries_left: 2 })
    ));
    // The counter is on disk before the card answers.
    assert_eq!(SoftCard::open(dir.path()).unwrap().retries_left(), 2);
    // A right PIN resets it.
    card.sign(&right, b"x").unwrap();
    assert_eq!(SoftCard::open(dir.path()).unwrap().retries_left(), 3);
    for left in [2_u8, 1] {
        let mut reopened = SoftCard::open(dir.path()).unwrap();
        assert!(matches!(
            reopened.sign(&wrong, b"x"),
            Err(CardError::WrongPin { retries_left }) if retries_left == left
        ));
    }
    let mut reopened = SoftCard::open(dir.path()).unwrap();
    assert!(matches!(
        reopened.authenticate(&wrong, b"x"),
        Err(CardError::WrongPin { retries_left: 0 })
    ));
    let mut blocked = SoftCard::open(dir.path()).unwrap();
    assert!(blocked.is_blocked());
    assert!(matches!(
        blocked.authenticate(&right, b"x"),
        Err(CardError::Blocked)
    ));
    assert!(matches!(
        blocked.sign(&right, b"x"),
        Err(CardError::Blocked)
    ));
}

#[tokio::test]
async fn legacy_card_comes_from_the_classe1_ca() {
    let (_dir, card) = card(Family::Legacy, KeyKind::P256, "810001045367").await;
    let chain = card.chain();
    let ca = facts(&chain[0]);
    assert_eq!(ca.rdns.last().unwrap()[0].1, "TEST GIP-CPS CLASSE-1");
    let (crl, _) = mount_urls("pki-test-legacy-cps-classe1");
    assert_eq!(facts(card.auth_certificate()).crl_urls, [crl]);
}

#[tokio::test]
async fn a_card_is_not_issued_over_another() {
    let (dir, _card) = card(Family::Standard, KeyKind::P256, "899700218896").await;
    let again = issue_card(
        &client(),
        dir.path(),
        &CardRequest {
            family: Family::Standard,
            holder: holder("899700218896"),
            key: KeyKind::P256,
            ttl: None,
        },
        &SecretString::from("1234"),
    )
    .await;
    assert!(matches!(again, Err(egide_devpki::Error::Invalid(_))));
    let bad_pin = issue_card(
        &client(),
        &dir.path().join("other"),
        &CardRequest {
            family: Family::Standard,
            holder: holder("899700218896"),
            key: KeyKind::P256,
            ttl: None,
        },
        &SecretString::from("12ab"),
    )
    .await;
    assert!(matches!(
        bad_pin,
        Err(egide_devpki::Error::Card(CardError::PinFormat))
    ));
}
