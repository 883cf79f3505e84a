//! Arbitrary bytes as a DER OCSPResponse: no panic; an accepted response is
//! checked against a fixed CA and leaf (which it cannot be signed by, so the
//! answer must be an error, never a status).

#![no_main]

use std::sync::OnceLock;

use egide_pki::Certificate;
use egide_pki::ocsp::OcspResponse;
use libfuzzer_sys::fuzz_target;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

fn pair() -> &'static (Certificate, Certificate) {
    static PAIR: OnceLock<(Certificate, Certificate)> = OnceLock::new();
    PAIR.get_or_init(|| {
        let ca_key = KeyPair::generate().expect("key");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_der = ca.self_signed(&ca_key).expect("ca").der().to_vec();
        let leaf_key = KeyPair::generate().expect("key");
        let leaf = CertificateParams::new(vec!["leaf.test".to_owned()]).expect("params");
        let issuer = Issuer::from_params(&ca, &ca_key);
        let leaf_der = leaf
            .signed_by(&leaf_key, &issuer)
            .expect("leaf")
            .der()
            .to_vec();
        (
            Certificate::from_der(leaf_der).expect("leaf parses"),
            Certificate::from_der(ca_der).expect("ca parses"),
        )
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(response) = OcspResponse::parse(data) else {
        return;
    };
    let _ = response.produced_at();
    let (leaf, ca) = pair();
    let now = time::OffsetDateTime::now_utc();
    // The key of `ca` is fresh for this process: no input can carry its signature.
    assert!(response.status_for(leaf, ca, now).is_err());
});
