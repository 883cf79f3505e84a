#![allow(clippy::unwrap_used, clippy::expect_used)]

use egide_devpki::{Family, crl_der, hierarchy, init, mounts, policy};
use x509_parser::prelude::*;

use crate::helpers::*;

fn igc_sante(cn: &str) -> Vec<Vec<(String, String)>> {
    rdns(&[
        &[(C, "FR")],
        &[(O, "ASIP-SANTE")],
        &[(OU, "0002 187512751")],
        &[(OU, "IGC-SANTE TEST")],
        &[(CN, cn)],
    ])
}

#[tokio::test]
async fn init_builds_every_ca_with_its_exact_name() {
    let pki = pki().await;
    let names: Vec<&str> = pki.families.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "IGC-SANTE-ELEMENTAIRE",
            "IGC-SANTE-STANDARD",
            "IGC-SANTE-FORT",
            "IGC-CPS-LEGACY"
        ]
    );
    for (family, gamme) in pki.families.iter().zip(["ELEMENTAIRE", "STANDARD", "FORT"]) {
        assert!(family.test);
        assert_eq!(family.legacy_cut_off, None);
        let root = facts(&pem_certs(&family.root_pem)[0]);
        assert_eq!(
            root.rdns,
            igc_sante(&format!("TEST AC RACINE IGC-SANTE {gamme}"))
        );
        assert_eq!(root.subject_raw, root.issuer_raw, "a root is self-issued");
        assert!(root.is_ca && root.key_cert_sign);
        assert!(root.validity_days >= 20 * 365);
        let kinds: Vec<&str> = family
            .intermediates
            .iter()
            .map(|(m, _)| m.as_str())
            .collect();
        let slug = gamme.to_ascii_lowercase();
        assert_eq!(
            kinds,
            [
                format!("pki-test-{slug}-personnes"),
                format!("pki-test-{slug}-organisations")
            ]
        );
        for ((mount, pem), kind) in family
            .intermediates
            .iter()
            .zip(["PERSONNES", "ORGANISATIONS"])
        {
            let ca = facts(&pem_certs(pem)[0]);
            assert_eq!(
                ca.rdns,
                igc_sante(&format!("TEST AC IGC-SANTE {gamme} {kind}"))
            );
            assert_eq!(ca.issuer_raw, root.subject_raw, "{mount} is under its root");
            assert!(ca.is_ca && ca.key_cert_sign);
            assert_eq!(ca.path_len, Some(0));
            assert!(ca.validity_days >= 3650 && ca.validity_days < 3660);
            // The root's CRL and OCSP responder speak for its CAs.
            let (crl, ocsp) = mount_urls(&format!("pki-test-{slug}"));
            assert_eq!(ca.crl_urls, [crl]);
            assert_eq!(ca.ocsp_urls, [ocsp]);
            let expected: Vec<&str> = if kind == "PERSONNES" {
                vec![policy::PS_AUTH, policy::PS_SIGN]
            } else {
                vec![policy::ORG_AUTH_CLI, policy::ORG_SIGN, policy::SERV_SSL]
            };
            assert_eq!(ca.policies, expected);
        }
    }
    let legacy = &pki.families[3];
    assert_eq!(
        legacy.legacy_cut_off.as_deref(),
        Some("2021-12-31T23:59:59Z")
    );
    let root = facts(&pem_certs(&legacy.root_pem)[0]);
    assert_eq!(
        root.rdns,
        rdns(&[
            &[(C, "FR")],
            &[(O, "GIP-CPS")],
            &[(OU, "GIP-CPS TEST")],
            &[(CN, "TEST GIP-CPS")]
        ])
    );
    assert_eq!(legacy.intermediates.len(), 1);
    assert_eq!(legacy.intermediates[0].0, "pki-test-legacy-cps-classe1");
    let classe1 = facts(&pem_certs(&legacy.intermediates[0].1)[0]);
    assert_eq!(
        classe1.rdns[3],
        [(CN.to_owned(), "TEST GIP-CPS CLASSE-1".to_owned())]
    );
    assert_eq!(classe1.issuer_raw, root.subject_raw);
}

/// The DN as OpenSSL prints it, when OpenSSL is installed.
#[tokio::test]
async fn openssl_reads_the_igc_sante_dn() {
    let pki = pki().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ca.pem");
    std::fs::write(&path, &pki.families[0].intermediates[1].1).unwrap();
    // `make tools` installs openssl (scripts/install-system-packages.sh).
    let out = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-subject", "-nameopt", "RFC2253", "-in"])
        .arg(&path)
        .output()
        .expect("openssl (make tools installs it)");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "subject=CN=TEST AC IGC-SANTE ELEMENTAIRE ORGANISATIONS,OU=IGC-SANTE TEST,OU=0002 187512751,O=ASIP-SANTE,C=FR"
    );
}

#[tokio::test]
async fn a_second_init_changes_nothing() {
    let first = pki().await;
    let again = init(&client(), &vault().addr()).await.unwrap();
    assert!(again.created.is_empty(), "created {:?}", again.created);
    for (a, b) in first.families.iter().zip(&again.families) {
        assert_eq!(a.root_pem, b.root_pem);
        assert_eq!(a.intermediates, b.intermediates);
    }
}

#[tokio::test]
async fn every_mount_serves_a_der_crl_signed_for_its_ca() {
    pki().await;
    let vault = client();
    assert_eq!(mounts().len(), 11);
    for ca in hierarchy::cas() {
        let der = crl_der(&vault, ca.mount).await.unwrap();
        let (rest, crl) = CertificateRevocationList::from_der(&der)
            .unwrap_or_else(|e| panic!("{}: CRL is not DER: {e}", ca.mount));
        assert!(rest.is_empty());
        assert_eq!(
            crl.issuer().as_raw(),
            ca.subject.to_der().as_slice(),
            "{}",
            ca.mount
        );
    }
}

#[tokio::test]
async fn roles_hold_the_profiles() {
    pki().await;
    let vault = client();
    for (family, profile) in [
        (Family::Fort, egide_devpki::Profile::PsAuth),
        (Family::Elementaire, egide_devpki::Profile::ServSsl),
    ] {
        let mount = family.mount_for(profile).unwrap();
        let role = vaultrs::pki::role::read(&vault, mount, profile.role())
            .await
            .unwrap();
        assert_eq!(role.key_usage, profile.key_usage());
        assert_eq!(role.ext_key_usage, profile.ext_key_usage());
        assert!(!role.no_store);
    }
}
