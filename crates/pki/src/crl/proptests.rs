//! The bodies of the `crl`, `certificate` and `pem` fuzz targets
//! (crates/pki/fuzz), run by proptest in `cargo test` over random bytes and
//! over mutations of valid samples: no panic, and the same invariants.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;

use proptest::prelude::*;

use super::Crl;
use super::testutil::{CrlSpec, DAY, NOW, TestCa, crl, entry};
use crate::cert::Certificate;

/// A valid CRL and certificate to mutate.
fn samples() -> &'static (Vec<u8>, Vec<u8>) {
    static SAMPLES: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    SAMPLES.get_or_init(|| {
        let ca = TestCa::new("CA");
        let leaf = ca.issue("leaf", |p| {
            p.subject_alt_names = vec![rcgen::SanType::DnsName("a.test".try_into().unwrap())];
        });
        let spec = CrlSpec {
            entries: vec![
                entry(&[0x01], NOW - DAY, Some(1)),
                entry(leaf.cert.serial(), NOW - DAY, None),
            ],
            ..CrlSpec::default()
        };
        (crl(&ca, &spec), leaf.cert.der().to_vec())
    })
}

/// Applies `(position, byte)` overwrites and a truncation to `sample`.
fn mutate(sample: &[u8], edits: &[(usize, u8)], keep: usize) -> Vec<u8> {
    let mut out = sample.to_vec();
    for &(pos, byte) in edits {
        let len = out.len();
        out[pos % len] = byte;
    }
    out.truncate(keep.max(1));
    out
}

/// `der` as a PEM CERTIFICATE block, with text around it.
fn pem_text(der: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::new();
    for chunk in der.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                b64.push('=');
            }
        }
    }
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|l| std::str::from_utf8(l).unwrap())
        .collect();
    format!(
        "before\n-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\nafter\n",
        lines.join("\n")
    )
}

#[test]
fn pem_sample_decodes() {
    let der = &samples().1;
    let blocks = crate::pem::decode_all(pem_text(der).as_bytes(), "CERTIFICATE").unwrap();
    assert_eq!(blocks, vec![der.clone()]);
}

/// The `crl` fuzz target's body.
pub(crate) fn crl_body(data: &[u8]) {
    let Ok(crl) = Crl::parse_unverified(data) else {
        return;
    };
    let _ = (
        crl.issuer(),
        crl.issuer_der(),
        crl.number(),
        crl.sha256_hex(),
    );
    let _ = (
        crl.authority_key_id(),
        crl.scope(),
        crl.distribution_points(),
    );
    let this = crl.this_update();
    match crl.next_update() {
        Some(next) => assert_eq!(crl.is_current(this), this < next),
        None => assert!(crl.is_current(this)),
    }
    // `is_empty` must agree with `len` (what this checks).
    #[allow(clippy::len_zero)]
    let empty = crl.len() == 0;
    assert_eq!(crl.is_empty(), empty);
    for (i, w) in data.windows(2).enumerate().take(4096) {
        if w[0] != 0x02 || w[1] == 0 || w[1] > 32 {
            continue;
        }
        let Some(serial) = data.get(i + 2..i + 2 + usize::from(w[1])) else {
            continue;
        };
        if let Some(entry) = crl.revoked(serial)
            && serial[0] < 0x80
            && serial.len() < 32
        {
            let padded = [&[0u8][..], serial].concat();
            assert_eq!(crl.revoked(&padded), Some(entry));
        }
    }
    assert!(crl.revoked(&[]).is_none());
}

/// The `certificate` fuzz target's body.
pub(crate) fn certificate_body(data: &[u8]) {
    let Ok(cert) = Certificate::from_der(data.to_vec()) else {
        return;
    };
    assert_eq!(cert.der(), data);
    assert_eq!(cert.sha256_hex(), crate::hex(&cert.sha256()));
    let _ = (cert.subject(), cert.issuer(), cert.serial_hex());
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
    let _ = (
        cert.tbs_der(),
        cert.signature_algorithm_der(),
        cert.signature_value(),
    );
    let serial = cert.with_parsed(|parsed| parsed.raw_serial().to_vec());
    assert_eq!(serial, cert.serial());
    let _ = crate::ocsp::build_request(&cert, &cert);
}

/// The `pem` fuzz target's body.
pub(crate) fn pem_body(data: &[u8]) {
    for label in ["CERTIFICATE", "X509 CRL"] {
        if let Ok(blocks) = crate::pem::decode_all(data, label) {
            let total: usize = blocks.iter().map(Vec::len).sum();
            assert!(total <= data.len());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes(data in proptest::collection::vec(any::<u8>(), 0..1024)) {
        crl_body(&data);
        certificate_body(&data);
        pem_body(&data);
    }

    #[test]
    fn mutated_crls(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4), keep in any::<usize>()) {
        let sample = &samples().0;
        crl_body(&mutate(sample, &edits, keep % (sample.len() + 16)));
    }

    #[test]
    fn mutated_certificates(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4), keep in any::<usize>()) {
        let sample = &samples().1;
        certificate_body(&mutate(sample, &edits, keep % (sample.len() + 16)));
    }

    #[test]
    fn mutated_pem(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4), keep in any::<usize>()) {
        let text = pem_text(&samples().1);
        pem_body(&mutate(text.as_bytes(), &edits, keep % (text.len() + 16)));
    }
}
