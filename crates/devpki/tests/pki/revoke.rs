#![allow(clippy::unwrap_used, clippy::expect_used)]

use egide_devpki::{
    Family, KeyKind, StructureRequest, crl_der, issue_structure, mount_for_certificate,
    mount_for_issuer_name_sha256, revoke_in_vault, sha256_hex,
};
use egide_ids::IdNatStruct;
use x509_parser::prelude::*;

use crate::helpers::*;

#[tokio::test]
async fn a_revoked_certificate_is_on_its_mounts_crl() {
    pki().await;
    let vault = client();
    let cred = issue_structure(
        &vault,
        &StructureRequest {
            family: Family::Standard,
            idnat_struct: IdNatStruct::parse("1010003374").unwrap(),
            organisation: "Clinique".into(),
            departement: "13".into(),
            application: "REVOKED".into(),
            key: KeyKind::P256,
            ttl: None,
        },
    )
    .await
    .unwrap();
    let cert = &cred.issued.certificate;
    let mount = mount_for_certificate(cert).unwrap().unwrap();
    assert_eq!(mount, "pki-test-standard-organisations");
    let f = facts(cert);
    assert_eq!(
        mount_for_issuer_name_sha256(&sha256_hex(&f.issuer_raw)),
        Some(mount)
    );
    // The serial as certval writes it: hex of the DER integer content, no separators.
    let serial_hex: String = f.serial.iter().map(|b| format!("{b:02x}")).collect();
    revoke_in_vault(&vault, mount, &serial_hex).await.unwrap();
    // Twice is fine.
    revoke_in_vault(&vault, mount, &cred.issued.serial)
        .await
        .unwrap();

    let der = crl_der(&vault, mount).await.unwrap();
    let (_, crl) = CertificateRevocationList::from_der(&der).unwrap();
    let magnitude: Vec<u8> = f.serial.iter().copied().skip_while(|b| *b == 0).collect();
    assert!(
        crl.iter_revoked_certificates().any(|r| {
            r.raw_serial()
                .iter()
                .copied()
                .skip_while(|b| *b == 0)
                .collect::<Vec<_>>()
                == magnitude
        }),
        "the CRL lists the serial"
    );
    ocsp_says_revoked(&cred.issued, mount);
}

/// OpenBao's OCSP responder, asked by OpenSSL (when installed; the Rust side has no OCSP
/// client here).
fn ocsp_says_revoked(issued: &egide_devpki::Issued, mount: &str) {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, der: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, egide_devpki::pem::encode("CERTIFICATE", der)).unwrap();
        path
    };
    let leaf = write("leaf.pem", &issued.certificate);
    let issuer = write("issuer.pem", &issued.intermediates[0]);
    let root = write("root.pem", &issued.root);
    let url = format!("{}/v1/{mount}/ocsp", vault().addr());
    let out = std::process::Command::new("openssl")
        .args(["ocsp", "-no_nonce", "-resp_text", "-url", &url])
        .arg("-issuer")
        .arg(&issuer)
        .arg("-cert")
        .arg(&leaf)
        .arg("-CAfile")
        .arg(&root)
        .output()
        .expect("openssl (make tools installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("Response verify OK"), "{text}");
    assert!(text.contains("Cert Status: revoked"), "{text}");
}

#[tokio::test]
async fn revoking_an_unknown_serial_fails() {
    pki().await;
    let result = revoke_in_vault(&client(), "pki-test-fort-personnes", "0badc0de").await;
    assert!(
        matches!(result, Err(egide_devpki::Error::Vault { .. })),
        "{result:?}"
    );
    assert!(
        revoke_in_vault(&client(), "pki-test-fort-personnes", "zz")
            .await
            .is_err()
    );
}
