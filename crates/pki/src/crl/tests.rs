#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::der_write::{self as w, seq};
use super::testutil::{CrlSpec, DAY, NOW, TestCa, at, crl, entry, entry_with, tbs_cert_list};
use super::{Crl, CrlScope, MAX_CRL_LEN};
use crate::reason::Reason;

fn reason_of(result: Result<Crl, crate::Error>) -> (Reason, String) {
    let e = result.expect_err("must be refused");
    (e.reason, e.detail)
}

#[test]
fn revoked_and_not_revoked_lookups_with_reasons() {
    let ca = TestCa::new("TEST AC IGC-SANTE ELEMENTAIRE ORGANISATIONS");
    let spec = CrlSpec {
        entries: vec![
            entry(&[0x01], NOW - 10 * DAY, Some(1)),
            entry(&[0x00, 0x80, 0x01], NOW - 5 * DAY, None),
            entry(&[0x7f; 20], NOW - 3 * DAY, Some(6)),
            entry(&[0x42], NOW - 2 * DAY, Some(0)),
            entry(&[0x43], NOW - 2 * DAY, Some(10)),
        ],
        ..CrlSpec::default()
    };
    let der = crl(&ca, &spec);
    let list = Crl::parse_verified(&der, &ca.cert).unwrap();
    assert_eq!(list.len(), 5);
    assert!(!list.is_empty());
    assert_eq!(list.number().as_deref(), Some("42"));
    assert_eq!(list.issuer_der(), ca.cert.subject_der());
    assert_eq!(list.issuer(), ca.cert.subject());
    assert_eq!(list.this_update(), at(NOW - DAY));
    assert_eq!(list.next_update(), Some(at(NOW + DAY)));
    assert_eq!(list.scope(), CrlScope::All);
    assert_eq!(list.sha256_hex().len(), 64);

    let e = list.revoked(&[0x01]).unwrap();
    assert_eq!(e.revoked_at, at(NOW - 10 * DAY));
    assert_eq!(e.reason, Some("key_compromise"));
    assert_eq!(list.revoked(&[0x00, 0x80, 0x01]).unwrap().reason, None);
    assert_eq!(
        list.revoked(&[0x7f; 20]).unwrap().reason,
        Some("certificate_hold")
    );
    assert_eq!(list.revoked(&[0x42]).unwrap().reason, Some("unspecified"));
    assert_eq!(list.revoked(&[0x43]).unwrap().reason, Some("aa_compromise"));
    // A non-minimal spelling of a listed serial still matches.
    assert!(list.revoked(&[0x00, 0x01]).is_some());
    for absent in [&[0x02][..], &[0x80, 0x01], &[0x7f; 19], &[], &[0x01; 40]] {
        assert!(list.revoked(absent).is_none(), "{absent:?}");
    }
}

#[test]
fn looks_up_real_certificate_serials() {
    let ca = TestCa::new("CA");
    let leaf = ca.issue("leaf", |_| {});
    let other = ca.issue("other", |_| {});
    let spec = CrlSpec {
        entries: vec![entry(leaf.cert.serial(), NOW - DAY, Some(4))],
        ..CrlSpec::default()
    };
    let list = Crl::parse_verified(&crl(&ca, &spec), &ca.cert).unwrap();
    assert_eq!(
        list.revoked(leaf.cert.serial()).unwrap().reason,
        Some("superseded")
    );
    assert!(list.revoked(other.cert.serial()).is_none());
}

#[test]
fn empty_crl_and_v1_crl() {
    let ca = TestCa::new("CA");
    let list = Crl::parse_verified(&crl(&ca, &CrlSpec::default()), &ca.cert).unwrap();
    assert!(list.is_empty());
    assert!(list.revoked(&[1]).is_none());

    // v1: no version, no extensions, entries without extensions.
    let tbs = seq(&[
        &super::testutil::ecdsa_sha256(),
        ca.cert.subject_der(),
        &w::time(NOW - DAY),
        &w::time(NOW + DAY),
        &seq(&[&entry(&[9], NOW - DAY, None)]),
    ]);
    // Such a CRL has no cRLNumber, which RFC 5280 §5.2.3 requires: refused.
    let e = Crl::parse_verified(&ca.sign_structure(&tbs), &ca.cert).unwrap_err();
    assert_eq!(e.reason, Reason::MalformedCrl, "{e}");
}

#[test]
fn wrong_issuer_key_is_bad_signature() {
    let ca = TestCa::new("CA");
    let impostor = TestCa::new("CA"); // same name, other key
    let der = crl(&impostor, &CrlSpec::default());
    let (reason, detail) = reason_of(Crl::parse_verified(&der, &ca.cert));
    assert_eq!(reason, Reason::BadSignature, "{detail}");
    // The unverified parse does not care.
    assert!(Crl::parse_unverified(&der).is_ok());

    let other = TestCa::new("Another CA");
    let (reason, _) = reason_of(Crl::parse_verified(&der, &other.cert));
    assert_eq!(reason, Reason::BadSignature);
}

#[test]
fn tampered_crl_is_bad_signature() {
    let ca = TestCa::new("CA");
    let spec = CrlSpec {
        entries: vec![entry(&[0x05], NOW - DAY, None)],
        ..CrlSpec::default()
    };
    let mut der = crl(&ca, &spec);
    // Un-revoke serial 5 by changing it to 6 inside the signed part.
    let pos = der
        .windows(3)
        .position(|x| x == [0x02, 0x01, 0x05])
        .unwrap();
    der[pos + 2] = 0x06;
    let (reason, _) = reason_of(Crl::parse_verified(&der, &ca.cert));
    assert_eq!(reason, Reason::BadSignature);
}

#[test]
fn issuer_without_crl_sign_is_refused() {
    let ca = TestCa::with_key_usages("CA", vec![rcgen::KeyUsagePurpose::KeyCertSign]);
    let (reason, _) = reason_of(Crl::parse_verified(
        &crl(&ca, &CrlSpec::default()),
        &ca.cert,
    ));
    assert_eq!(reason, Reason::KeyUsage);
    // No keyUsage extension at all: allowed.
    let ca = TestCa::with_key_usages("CA", vec![]);
    assert!(Crl::parse_verified(&crl(&ca, &CrlSpec::default()), &ca.cert).is_ok());
}

#[test]
fn unknown_critical_extensions_are_refused() {
    let ca = TestCa::new("CA");
    let unknown = [0x2a, 0x03, 0x04]; // 1.2.3.4
    let spec = CrlSpec {
        extensions: vec![w::extension(&unknown, true, &[0x05, 0x00])],
        ..CrlSpec::default()
    };
    let (reason, detail) = reason_of(Crl::parse_verified(&crl(&ca, &spec), &ca.cert));
    assert_eq!(reason, Reason::MalformedCrl);
    assert!(
        detail.contains("unknown critical CRL extension 1.2.3.4"),
        "{detail}"
    );

    // Non-critical: ignored.
    let spec = CrlSpec {
        extensions: vec![w::extension(&unknown, false, &[0x05, 0x00])],
        ..CrlSpec::default()
    };
    assert!(Crl::parse_verified(&crl(&ca, &spec), &ca.cert).is_ok());

    // Same on entries.
    let exts = seq(&[&w::extension(&unknown, true, &[0x05, 0x00])]);
    let spec = CrlSpec {
        entries: vec![entry_with(&[1], NOW, Some(&exts))],
        ..CrlSpec::default()
    };
    let (reason, detail) = reason_of(Crl::parse_verified(&crl(&ca, &spec), &ca.cert));
    assert_eq!(reason, Reason::MalformedCrl);
    assert!(
        detail.contains("entry #1: unknown critical entry extension"),
        "{detail}"
    );
}

fn idp(content: &[&[u8]]) -> Vec<u8> {
    w::extension(&[0x55, 0x1d, 0x1c], true, &seq(content))
}

#[test]
fn delta_indirect_and_partitioned_crls_are_refused() {
    let ca = TestCa::new("CA");
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            w::extension(&[0x55, 0x1d, 0x1b], true, &w::uint(41)),
            "delta CRLs",
        ),
        (idp(&[&[0x84, 0x01, 0xff]]), "indirect CRLs"),
        (idp(&[&[0x83, 0x02, 0x07, 0x80]]), "onlySomeReasons"),
        (idp(&[&[0x85, 0x01, 0xff]]), "attribute-certificate"),
        (
            idp(&[&[0x81, 0x01, 0xff], &[0x82, 0x01, 0xff]]),
            "malformed issuingDistributionPoint",
        ),
    ];
    for (ext, expected) in cases {
        let spec = CrlSpec {
            extensions: vec![ext],
            ..CrlSpec::default()
        };
        let (reason, detail) = reason_of(Crl::parse_verified(&crl(&ca, &spec), &ca.cert));
        assert_eq!(reason, Reason::MalformedCrl);
        assert!(detail.contains(expected), "{detail} / {expected}");
    }
    // An entry naming another issuer (certificateIssuer) means an indirect CRL.
    let exts = seq(&[&w::extension(&[0x55, 0x1d, 0x1d], true, &seq(&[]))]);
    let spec = CrlSpec {
        entries: vec![entry_with(&[1], NOW, Some(&exts))],
        ..CrlSpec::default()
    };
    let (_, detail) = reason_of(Crl::parse_verified(&crl(&ca, &spec), &ca.cert));
    assert!(detail.contains("indirect"), "{detail}");
}

#[test]
fn issuing_distribution_point_scope_and_uris() {
    let ca = TestCa::new("CA");
    let uri = b"http://crl.test/ca.crl";
    let dp = w::cons(0xa0, &[&w::cons(0xa0, &[&w::tlv(0x86, uri)])]);
    let spec = CrlSpec {
        extensions: vec![idp(&[&dp, &[0x81, 0x01, 0xff]])],
        ..CrlSpec::default()
    };
    let list = Crl::parse_verified(&crl(&ca, &spec), &ca.cert).unwrap();
    assert_eq!(list.scope(), CrlScope::UserCertsOnly);
    assert_eq!(list.distribution_points(), ["http://crl.test/ca.crl"]);

    let spec = CrlSpec {
        extensions: vec![idp(&[&[0x82, 0x01, 0xff]])],
        ..CrlSpec::default()
    };
    let list = Crl::parse_verified(&crl(&ca, &spec), &ca.cert).unwrap();
    assert_eq!(list.scope(), CrlScope::CaCertsOnly);
}

#[test]
fn authority_key_identifier_is_read() {
    let ca = TestCa::new("CA");
    let aki = seq(&[&w::tlv(0x80, &[0xab; 20])]);
    let spec = CrlSpec {
        extensions: vec![w::extension(&[0x55, 0x1d, 0x23], false, &aki)],
        ..CrlSpec::default()
    };
    let list = Crl::parse_verified(&crl(&ca, &spec), &ca.cert).unwrap();
    assert_eq!(list.authority_key_id(), Some(&[0xab; 20][..]));
}

#[test]
fn currency() {
    let ca = TestCa::new("CA");
    let list = Crl::parse_verified(&crl(&ca, &CrlSpec::default()), &ca.cert).unwrap();
    assert!(list.is_current(at(NOW)));
    assert!(list.is_current(at(NOW - DAY)));
    assert!(!list.is_current(at(NOW - DAY - 1)));
    assert!(!list.is_current(at(NOW + DAY))); // stale at nextUpdate
    assert!(!list.is_current(at(NOW + 30 * DAY)));

    let spec = CrlSpec {
        next_update: None,
        ..CrlSpec::default()
    };
    let list = Crl::parse_verified(&crl(&ca, &spec), &ca.cert).unwrap();
    assert_eq!(list.next_update(), None);
    assert!(list.is_current(at(NOW + 3650 * DAY)));
}

#[test]
fn generalized_times_after_2049() {
    let ca = TestCa::new("CA");
    let t2060 = 2_840_140_800; // 2060-01-01
    let spec = CrlSpec {
        this_update: t2060,
        next_update: Some(t2060 + DAY),
        entries: vec![entry(&[1], t2060 - 1, None)],
        ..CrlSpec::default()
    };
    let list = Crl::parse_verified(&crl(&ca, &spec), &ca.cert).unwrap();
    assert_eq!(list.this_update(), at(t2060));
    assert_eq!(list.revoked(&[1]).unwrap().revoked_at, at(t2060 - 1));
}

#[test]
fn duplicate_serials_keep_the_first_entry() {
    let ca = TestCa::new("CA");
    let spec = CrlSpec {
        entries: vec![
            entry(&[7], NOW - 2 * DAY, Some(1)),
            entry(&[7], NOW - DAY, Some(4)),
        ],
        ..CrlSpec::default()
    };
    let list = Crl::parse_verified(&crl(&ca, &spec), &ca.cert).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list.revoked(&[7]).unwrap().reason, Some("key_compromise"));
}

#[test]
fn malformed_crls_are_refused() {
    let ca = TestCa::new("CA");
    let good = crl(&ca, &CrlSpec::default());
    let mut cases: Vec<(Vec<u8>, &str)> = vec![
        (Vec::new(), "empty"),
        (vec![0x30, 0x00], "empty sequence"),
        (good[..good.len() - 1].to_vec(), "truncated"),
        ([good.as_slice(), &[0]].concat(), "trailing byte"),
        (b"-----BEGIN X509 CRL-----".to_vec(), "PEM"),
    ];
    // Serial longer than 32 bytes.
    let spec = CrlSpec {
        entries: vec![entry(&[0x11; 33], NOW, None)],
        ..CrlSpec::default()
    };
    cases.push((crl(&ca, &spec), "long serial"));
    // Reason code 7 (unassigned).
    let spec = CrlSpec {
        entries: vec![entry(&[1], NOW, Some(7))],
        ..CrlSpec::default()
    };
    cases.push((crl(&ca, &spec), "reason 7"));
    // Bad time.
    let bad_time = seq(&[&w::int_bytes(&[1]), &w::tlv(0x17, b"251340000000Z")]);
    let spec = CrlSpec {
        entries: vec![bad_time],
        ..CrlSpec::default()
    };
    cases.push((crl(&ca, &spec), "bad time"));
    // Duplicate CRL extension.
    let spec = CrlSpec {
        extensions: vec![w::extension(&[0x55, 0x1d, 0x14], false, &w::uint(1))],
        ..CrlSpec::default()
    };
    cases.push((crl(&ca, &spec), "duplicate cRLNumber"));
    // Negative CRL number.
    let spec = CrlSpec {
        number: None,
        extensions: vec![w::extension(
            &[0x55, 0x1d, 0x14],
            false,
            &w::int_bytes(&[0xff]),
        )],
        ..CrlSpec::default()
    };
    cases.push((crl(&ca, &spec), "negative number"));
    // No CRL number; a critical one.
    let spec = CrlSpec {
        number: None,
        ..CrlSpec::default()
    };
    cases.push((crl(&ca, &spec), "no cRLNumber"));
    let spec = CrlSpec {
        number: None,
        extensions: vec![w::extension(&[0x55, 0x1d, 0x14], true, &w::uint(1))],
        ..CrlSpec::default()
    };
    cases.push((crl(&ca, &spec), "critical cRLNumber"));
    // Inner and outer signature algorithms differ.
    let tbs = tbs_cert_list(ca.cert.subject_der(), &CrlSpec::default());
    let sig = rcgen::SigningKey::sign(&ca.key, &tbs).unwrap();
    let other_alg = seq(&[&w::oid(&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03])]);
    cases.push((
        seq(&[&tbs, &other_alg, &w::bits(&sig)]),
        "algorithm mismatch",
    ));

    for (der, what) in cases {
        let e = Crl::parse_unverified(&der).expect_err(what);
        assert_eq!(e.reason, Reason::MalformedCrl, "{what}: {}", e.detail);
        let e = Crl::parse_verified(&der, &ca.cert).expect_err(what);
        assert_eq!(e.reason, Reason::MalformedCrl, "{what}: {}", e.detail);
    }
}

#[test]
fn oversized_input_is_refused_before_parsing() {
    let huge = vec![0u8; MAX_CRL_LEN + 1];
    let (reason, detail) = reason_of(Crl::parse_unverified(&huge));
    assert_eq!(reason, Reason::MalformedCrl);
    assert!(detail.contains("limit"), "{detail}");
}

#[test]
fn parses_an_rcgen_crl() {
    use rcgen::{
        CertificateRevocationListParams, Issuer, KeyIdMethod, RevocationReason, RevokedCertParams,
        SerialNumber,
    };
    let ca = TestCa::new("CA");
    let params = CertificateRevocationListParams {
        this_update: at(NOW - DAY),
        next_update: at(NOW + DAY),
        crl_number: SerialNumber::from(1234u64),
        issuing_distribution_point: None,
        revoked_certs: vec![RevokedCertParams {
            serial_number: SerialNumber::from_slice(&[0x0a, 0x0b]),
            revocation_time: at(NOW - DAY),
            reason_code: Some(RevocationReason::KeyCompromise),
            invalidity_date: Some(at(NOW - 2 * DAY)),
        }],
        key_identifier_method: KeyIdMethod::Sha256,
    };
    let issuer = Issuer::from_params(&ca.params, &ca.key);
    let der = params.signed_by(&issuer).unwrap().der().to_vec();
    let list = Crl::parse_verified(&der, &ca.cert).unwrap();
    assert_eq!(list.number().as_deref(), Some("1234"));
    assert_eq!(
        list.revoked(&[0x0a, 0x0b]).unwrap().reason,
        Some("key_compromise")
    );
    assert!(list.authority_key_id().is_some());
}

fn openssl_cert(pem: &[u8]) -> crate::Certificate {
    let der = crate::pem::decode_all(pem, "CERTIFICATE")
        .unwrap()
        .remove(0);
    crate::Certificate::from_der(der).unwrap()
}

/// A CRL made by `openssl ca -gencrl` (see `openssl/gen.sh`).
#[test]
fn openssl_crl() {
    let ca = openssl_cert(include_bytes!("openssl/ca.pem"));
    let revoked = openssl_cert(include_bytes!("openssl/leaf.pem"));
    let good = openssl_cert(include_bytes!("openssl/good.pem"));
    let list = Crl::parse_verified(include_bytes!("openssl/ca.crl"), &ca).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list.number().as_deref(), Some("1"));
    assert_eq!(list.issuer(), ca.subject());
    assert!(list.authority_key_id().is_some());
    assert!(list.is_current(list.this_update()));
    let entry = list.revoked(revoked.serial()).unwrap();
    assert_eq!(entry.reason, Some("key_compromise"));
    assert!(list.revoked(good.serial()).is_none());
    // Signed by the CA, not by the leaf.
    assert!(Crl::parse_verified(include_bytes!("openssl/ca.crl"), &good).is_err());
}

#[test]
fn a_crl_covers_only_what_its_scope_and_distribution_point_take_in() {
    let ca = TestCa::new("CA");
    let pointing_at = |uri: &str| {
        let uri = uri.to_owned();
        ca.issue("leaf", move |p| {
            p.crl_distribution_points = vec![rcgen::CrlDistributionPoint { uris: vec![uri] }];
        })
        .cert
    };
    let here = pointing_at("http://crl.test/ca.crl");
    let elsewhere = pointing_at("http://crl.test/other.crl");
    let nowhere = ca.issue("leaf", |_| {}).cert;
    let with = |ext: Vec<u8>| {
        let spec = CrlSpec {
            extensions: vec![ext],
            ..CrlSpec::default()
        };
        Crl::parse_verified(&crl(&ca, &spec), &ca.cert).unwrap()
    };
    let dp = w::cons(
        0xa0,
        &[&w::cons(0xa0, &[&w::tlv(0x86, b"http://crl.test/ca.crl")])],
    );
    let users_here = with(idp(&[&dp, &[0x81, 0x01, 0xff]]));
    assert!(users_here.covers(&here));
    assert!(!users_here.covers(&elsewhere), "another distribution point");
    assert!(
        !users_here.covers(&nowhere),
        "the point does not name the issuer"
    );
    assert!(!users_here.covers(&ca.cert), "a CA certificate");
    let cas_only = with(idp(&[&[0x82, 0x01, 0xff]]));
    assert!(cas_only.covers(&ca.cert));
    assert!(!cas_only.covers(&nowhere));
    // A point naming the issuer's directory name covers a certificate without points.
    let issuer_dn = w::cons(0xa4, &[ca.cert.subject_der()]);
    let by_name = with(idp(&[&w::cons(0xa0, &[&w::cons(0xa0, &[&issuer_dn])])]));
    assert!(by_name.covers(&nowhere));
    assert!(!by_name.covers(&here));
    let plain = Crl::parse_verified(&crl(&ca, &CrlSpec::default()), &ca.cert).unwrap();
    for cert in [&here, &elsewhere, &nowhere, &ca.cert] {
        assert!(plain.covers(cert));
    }
    // Delta CRLs are not processed: a base that points to them, or a certificate that
    // does, is covered by nothing (the answer is then unknown, not good).
    let with_deltas = with(w::extension(&[0x55, 0x1d, 0x2e], false, &seq(&[])));
    assert!(!with_deltas.covers(&nowhere));
    let pointing_at_deltas = ca
        .issue("leaf", |p| {
            p.custom_extensions
                .push(rcgen::CustomExtension::from_oid_content(
                    &[2, 5, 29, 46],
                    seq(&[]),
                ));
        })
        .cert;
    assert!(!plain.covers(&pointing_at_deltas));
}
