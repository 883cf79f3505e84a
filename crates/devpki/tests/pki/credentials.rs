#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use egide_devpki::{
    Family, KeyKind, ServerRequest, StructureRequest, issue_server, issue_structure,
    issue_structure_signing, policy,
};
use egide_ids::IdNatStruct;

use crate::helpers::*;

fn structure(key: KeyKind) -> StructureRequest {
    StructureRequest {
        family: Family::Elementaire,
        idnat_struct: IdNatStruct::parse("1010003374").unwrap(),
        organisation: "Hôpital Saint-Égide".into(),
        departement: "75".into(),
        application: "DPI-EGIDE".into(),
        key,
        ttl: None,
    }
}

fn structure_rdns(cn: &str) -> Vec<Vec<(String, String)>> {
    rdns(&[
        &[(C, "FR")],
        &[(ST, "75")],
        &[(O, "Hôpital Saint-Égide")],
        &[(OU, "1010003374")],
        &[(CN, cn)],
    ])
}

#[tokio::test]
async fn structure_certificate_is_org_auth_cli_with_the_exact_name() {
    pki().await;
    for key in [KeyKind::P256, KeyKind::Rsa2048] {
        let cred = issue_structure(&client(), &structure(key)).await.unwrap();
        let f = facts(&cred.issued.certificate);
        assert_eq!(f.rdns, structure_rdns("DPI-EGIDE"));
        assert!(f.digital_signature && f.key_encipherment && !f.non_repudiation);
        assert!(f.client_auth && !f.server_auth);
        assert_eq!(f.policies, [policy::ORG_AUTH_CLI]);
        assert!((1094..=1096).contains(&f.validity_days));
        let (crl, ocsp) = mount_urls("pki-test-elementaire-organisations");
        assert_eq!(f.crl_urls, [crl]);
        assert_eq!(f.ocsp_urls, [ocsp]);
        assert_eq!(cred.issued.mount, "pki-test-elementaire-organisations");
        assert_eq!(cred.issued.intermediates.len(), 1);
        assert_eq!(
            f.issuer_raw,
            facts(&cred.issued.intermediates[0]).subject_raw
        );

        let dir = tempfile::tempdir().unwrap();
        cred.write(dir.path()).unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        let key_file = dir.path().join("key.pem");
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(
            std::fs::read_to_string(&key_file)
                .unwrap()
                .contains("BEGIN PRIVATE KEY")
        );
        let chain = std::fs::read_to_string(dir.path().join("chain.pem")).unwrap();
        assert_eq!(pem_certs(&chain), cred.issued.intermediates);
        let leaf = std::fs::read_to_string(dir.path().join("cert.pem")).unwrap();
        assert_eq!(
            pem_certs(&leaf),
            std::slice::from_ref(&cred.issued.certificate)
        );
    }
}

#[tokio::test]
async fn structure_signing_certificate_is_non_repudiation() {
    pki().await;
    let cred = issue_structure_signing(&client(), &structure(KeyKind::P256))
        .await
        .unwrap();
    let f = facts(&cred.issued.certificate);
    assert_eq!(f.rdns, structure_rdns("DPI-EGIDE"));
    assert!(f.non_repudiation && !f.digital_signature && !f.eku_present);
    assert_eq!(f.policies, [policy::ORG_SIGN]);
}

#[tokio::test]
async fn server_certificate_names_its_hosts() {
    pki().await;
    let cred = issue_server(
        &client(),
        &ServerRequest {
            family: Family::Elementaire,
            idnat_struct: IdNatStruct::parse("1010003374").unwrap(),
            organisation: "Hôpital Saint-Égide".into(),
            departement: "75".into(),
            dns: vec!["DPI.Hopital.example".into(), "dpi2.hopital.example".into()],
            ips: vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()],
            key: KeyKind::P256,
            ttl: Some(Duration::from_secs(86_400)),
        },
    )
    .await
    .unwrap();
    let f = facts(&cred.issued.certificate);
    assert_eq!(f.rdns, structure_rdns("dpi.hopital.example"));
    assert_eq!(f.dns_sans, ["dpi.hopital.example", "dpi2.hopital.example"]);
    assert_eq!(f.ip_sans.len(), 2);
    assert_eq!(f.ip_sans[0], [127, 0, 0, 1]);
    assert!(f.server_auth && !f.client_auth);
    assert!(f.digital_signature && f.key_encipherment);
    assert_eq!(f.policies, [policy::SERV_SSL]);
    assert!(f.validity_days <= 1, "--ttl is honoured");
}

#[tokio::test]
async fn the_legacy_family_issues_no_structure_certificates() {
    pki().await;
    let mut request = structure(KeyKind::P256);
    request.family = Family::Legacy;
    assert!(matches!(
        issue_structure(&client(), &request).await,
        Err(egide_devpki::Error::Invalid(_))
    ));
}
