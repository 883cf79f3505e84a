//! The `ocsp_response` fuzz target's body, run by proptest in `cargo test`
//! over random bytes and mutations of a valid response.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;

use proptest::prelude::*;

use super::OcspResponse;
use super::testutil::{Hash, basic, by_name, cert_id, good, ocsp_response, response_data, single};
use crate::cert::Certificate;
use crate::crl::testutil::{NOW, TestCa, at};

struct Sample {
    der: Vec<u8>,
    leaf: Certificate,
    ca: Certificate,
    stranger: Certificate,
}

fn sample() -> &'static Sample {
    static SAMPLE: OnceLock<Sample> = OnceLock::new();
    SAMPLE.get_or_init(|| {
        let ca = TestCa::new("CA");
        let leaf = ca.issue("leaf", |_| {});
        let responder = ca.ocsp_responder(true, NOW - 86_400, NOW + 86_400);
        let id = cert_id(Hash::Sha1, &leaf.cert, &ca.cert);
        let tbs = response_data(
            &by_name(&responder.cert),
            NOW,
            &[single(&id, &good(), NOW, None)],
            None,
        );
        Sample {
            der: ocsp_response(&basic(&responder, &tbs, &[&responder.cert])),
            leaf: leaf.cert,
            ca: ca.cert,
            stranger: TestCa::new("CA").cert,
        }
    })
}

/// The `ocsp_response` fuzz target's body: no panic; a CA whose key signed
/// nothing here never gets a status.
fn body(data: &[u8], s: &Sample) {
    let Ok(response) = OcspResponse::parse(data) else {
        return;
    };
    let _ = response.produced_at();
    let _ = response.status_for(&s.leaf, &s.ca, at(NOW));
    assert!(response.status_for(&s.leaf, &s.stranger, at(NOW)).is_err());
}

#[test]
fn the_sample_is_good() {
    let s = sample();
    let response = OcspResponse::parse(&s.der).unwrap();
    assert!(response.status_for(&s.leaf, &s.ca, at(NOW)).is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes(data in proptest::collection::vec(any::<u8>(), 0..1024)) {
        body(&data, sample());
    }

    #[test]
    fn mutated_responses(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4), keep in any::<usize>()) {
        let s = sample();
        let mut der = s.der.clone();
        for (pos, byte) in edits {
            let len = der.len();
            der[pos % len] = byte;
        }
        der.truncate((keep % (s.der.len() + 16)).max(1));
        body(&der, s);
    }
}
