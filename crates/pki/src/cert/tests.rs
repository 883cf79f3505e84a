//! Parsing rules, accessors, and never panicking on hostile input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use proptest::prelude::*;

use super::*;
use crate::path::{NoRevocation, Options, Validator};
use crate::testpki::*;
use crate::trust::{Family, TrustStore};

#[test]
fn hex_is_lowercase() {
    assert_eq!(hex(&[0x00, 0xab, 0x7f]), "00ab7f");
    assert_eq!(
        name_sha256_hex(&[]),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn garbage_is_malformed() {
    for input in [
        &[][..],
        &[0x30, 0x00],
        &[0x30, 0x80, 0x00, 0x00],
        &[0xff; 10],
    ] {
        let e = Certificate::from_der(input.to_vec()).unwrap_err();
        assert_eq!(e.reason, Reason::MalformedCertificate);
    }
}

#[test]
fn accessors() {
    let root = Ca::root("Root", Alg::P256);
    let mut spec = Spec::leaf(name(&[("C", "FR"), ("O", "Egide Test"), ("CN", "leaf")]))
        .with(ext::ocsp_aia("http://ocsp.example.test/"))
        .with(ext::crl_dp("http://crl.example.test/ca.crl"));
    spec.serial = 0x80_01;
    let leaf = root.leaf_with(spec, Alg::P256);
    assert_eq!(leaf.subject(), "C=FR, O=Egide Test, CN=leaf");
    assert_eq!(leaf.issuer(), "C=FR, O=Egide Test, CN=Root");
    assert_eq!(leaf.serial(), &[0x00, 0x80, 0x01]);
    assert_eq!(leaf.serial_hex(), "008001");
    assert_eq!(
        leaf.ocsp_urls(),
        vec!["http://ocsp.example.test/".to_owned()]
    );
    assert_eq!(
        leaf.crl_distribution_points(),
        vec!["http://crl.example.test/ca.crl".to_owned()]
    );
    assert_eq!(
        leaf.extended_key_usages(),
        vec![
            "1.3.6.1.5.5.7.3.1".to_owned(),
            "1.3.6.1.5.5.7.3.2".to_owned()
        ]
    );
    assert!(!leaf.is_ca() && !leaf.is_self_issued());
    assert!(root.cert.is_ca() && root.cert.is_self_issued());
    assert_eq!(leaf.not_before(), date(2020, 1, 1));
    assert_eq!(leaf.not_after(), date(2035, 1, 1));
    assert_eq!(leaf.issuer_der(), root.cert.subject_der());
    assert_eq!(
        leaf.sha256_hex(),
        hex(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, leaf.der()).as_ref())
    );
    assert_eq!(leaf.spki_der()[0], 0x30);
    crate::sig::verify_signed_data(
        root.cert.spki_der(),
        leaf.signature_algorithm_der(),
        leaf.tbs_der(),
        leaf.signature_value(),
    )
    .unwrap();
    assert_eq!(leaf.with_parsed(|c| c.tbs_certificate.version.0), 2);
    // End-entity subjects stay out of Debug output (they may name a person).
    assert!(!format!("{leaf:?}").contains("CN=leaf"));
    assert!(format!("{:?}", root.cert).contains("CN=Root"));
    // Cheap clones share the DER.
    let clone = leaf.clone();
    assert!(std::ptr::eq(clone.der().as_ptr(), leaf.der().as_ptr()));
}

fn malformed(der: Vec<u8>) {
    let e = Certificate::from_der(der).unwrap_err();
    assert_eq!(e.reason, Reason::MalformedCertificate, "{e}");
}

#[test]
fn structural_rules() {
    let root = Ca::root("Root", Alg::P256);
    let good = Spec::leaf(cn("leaf")).issue_der(&Key::new(Alg::P256), &root.name, &root.key);
    Certificate::from_der(good.clone()).unwrap();

    // Trailing bytes, truncation.
    let mut trailing = good.clone();
    trailing.push(0);
    malformed(trailing);
    for cut in [1, 10, good.len() / 2, good.len() - 1] {
        malformed(good[..cut].to_vec());
    }

    // v1 with extensions.
    let mut v1 = Spec::leaf(cn("leaf"));
    v1.version = 1;
    malformed(v1.issue_der(&Key::new(Alg::P256), &root.name, &root.key));
    // A plain v1 certificate parses.
    let mut v1 = Spec::new(cn("leaf"));
    v1.version = 1;
    let c =
        Certificate::from_der(v1.issue_der(&Key::new(Alg::P256), &root.name, &root.key)).unwrap();
    assert!(!c.is_ca());

    // Duplicate extensions.
    let mut dup = Spec::leaf(cn("leaf"));
    dup.extensions.push(ext::eku(&[EKU_CLIENT]));
    malformed(dup.issue_der(&Key::new(Alg::P256), &root.name, &root.key));

    // TBS signature field differing from signatureAlgorithm.
    let mut mismatch = Spec::leaf(cn("leaf"));
    mismatch.tbs_sig_alg = Some(w::seq(&[w::oid("1.2.840.10045.4.3.3")]));
    malformed(mismatch.issue_der(&Key::new(Alg::P256), &root.name, &root.key));

    // A standard extension that does not parse.
    let broken = Spec::leaf(cn("leaf")).with(ext::raw("2.5.29.19", true, vec![0x04, 0x00]));
    malformed(broken.issue_der(&Key::new(Alg::P256), &root.name, &root.key));

    // Oversized input.
    malformed(vec![0x30; MAX_CERTIFICATE_SIZE + 1]);
}

#[test]
fn unsupported_signature_algorithm_is_reported_at_validation() {
    let root = Ca::root("Root", Alg::Rsa);
    // A certificate claiming sha1WithRSAEncryption (both fields agree).
    let sha1 = w::seq(&[w::oid("1.2.840.113549.1.1.5"), w::null()]);
    let der = Spec::leaf(cn("leaf")).issue_der(&Key::new(Alg::P256), &root.name, &root.key);
    let swapped = replace_all(&der, &root.key.sig_alg(), &sha1);
    let leaf = Certificate::from_der(swapped).unwrap();
    let v = Validator::new(Arc::new(
        TrustStore::new(vec![(family(), vec![root.cert.clone()])], false).unwrap(),
    ));
    let f = v
        .validate(&leaf, &[], None, &Options::at(now()), &NoRevocation)
        .unwrap_err();
    assert_eq!((f.reason, f.index), (Reason::UnsupportedAlgorithm, Some(0)));
}

fn replace_all(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    // Only valid when lengths are equal: the DER lengths around stay right.
    assert_eq!(from.len(), to.len());
    let mut out = haystack.to_vec();
    let mut i = 0;
    while i + from.len() <= out.len() {
        if &out[i..i + from.len()] == from {
            out[i..i + from.len()].copy_from_slice(to);
            i += from.len();
        } else {
            i += 1;
        }
    }
    out
}

fn family() -> Family {
    Family::new("f")
}

/// Exercises every accessor and a validation: nothing may panic.
fn poke(cert: &Certificate, v: &Validator, chain: &[Certificate]) {
    let _ = (
        cert.subject(),
        cert.issuer(),
        cert.serial_hex(),
        cert.sha256_hex(),
    );
    let _ = (
        cert.not_before(),
        cert.not_after(),
        cert.is_ca(),
        cert.is_self_issued(),
    );
    let _ = (
        cert.crl_distribution_points(),
        cert.ocsp_urls(),
        cert.extended_key_usages(),
    );
    let _ = crate::identity::extract(cert);
    let _ = crate::names::verify_peer_name(cert, "leaf.example.test");
    let mut o = Options::at(now());
    o.peer_name = Some("leaf.example.test".into());
    for profile in crate::purpose::PURPOSES {
        let p = crate::purpose::builtin(profile);
        let _ = v.validate(cert, chain, p.as_ref(), &o, &NoRevocation);
    }
}

struct Fixture {
    v: Validator,
    int: Certificate,
    leaf: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static F: std::sync::OnceLock<Fixture> = std::sync::OnceLock::new();
    F.get_or_init(|| {
        let root = Ca::root_with(
            Spec::ca(cn("Root"), None).with(ext::nc(&[Gn::dns("example.test")], &[])),
            Alg::P256,
        );
        let int = root.sub_with(
            Spec::ca(cn("Int"), Some(2)).with(ext::policies(&["2.5.29.32.0"])),
            Alg::P256,
        );
        let leaf = Spec::leaf(cn("leaf"))
            .with(ext::policies(&["1.2.3.4"]))
            .with(ext::ocsp_aia("http://ocsp.example.test/"))
            .with(ext::crl_dp("http://crl.example.test/a.crl"))
            .issue_der(&Key::new(Alg::P256), &int.name, &int.key);
        let v = Validator::new(Arc::new(
            TrustStore::new(vec![(family(), vec![root.cert.clone()])], false).unwrap(),
        ));
        Fixture {
            v,
            int: int.cert,
            leaf,
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let f = fixture();
        if let Ok(c) = Certificate::from_der(bytes) {
            poke(&c, &f.v, std::slice::from_ref(&f.int));
        }
    }

    #[test]
    fn mutated_certificates_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let f = fixture();
        let mut der = f.leaf.clone();
        for (at, byte) in edits {
            let i = at.index(der.len());
            der[i] = byte;
        }
        if let Some(cut) = cut {
            der.truncate(cut.index(der.len()));
        }
        if let Ok(c) = Certificate::from_der(der) {
            poke(&c, &f.v, std::slice::from_ref(&f.int));
        }
    }

    #[test]
    fn mutated_intermediates_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let f = fixture();
        let mut der = f.int.der().to_vec();
        for (at, byte) in edits {
            let i = at.index(der.len());
            der[i] = byte;
        }
        let leaf = Certificate::from_der(f.leaf.clone()).unwrap();
        if let Ok(int) = Certificate::from_der(der) {
            poke(&leaf, &f.v, &[int.clone(), f.int.clone()]);
            poke(&int, &f.v, &[]);
        }
    }
}
