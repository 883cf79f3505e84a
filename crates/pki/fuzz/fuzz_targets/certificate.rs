//! Arbitrary bytes as a DER certificate: no panic; an accepted certificate
//! answers every accessor, and its parts are sub-slices of its DER.

#![no_main]

use egide_pki::{Certificate, hex, name_sha256_hex};
use libfuzzer_sys::fuzz_target;

fn inside(whole: &[u8], part: &[u8]) -> bool {
    whole.windows(part.len().max(1)).any(|w| w == part) || part.is_empty()
}

fuzz_target!(|data: &[u8]| {
    let Ok(cert) = Certificate::from_der(data.to_vec()) else {
        return;
    };
    assert_eq!(cert.der(), data);
    assert_eq!(cert.sha256_hex(), hex(&cert.sha256()));
    for part in [
        cert.subject_der(),
        cert.issuer_der(),
        cert.serial(),
        cert.spki_der(),
        cert.tbs_der(),
        cert.signature_algorithm_der(),
        cert.signature_value(),
    ] {
        assert!(inside(data, part));
    }
    let _ = (cert.subject(), cert.issuer(), cert.serial_hex());
    let _ = (
        name_sha256_hex(cert.subject_der()),
        name_sha256_hex(cert.issuer_der()),
    );
    let _ = (cert.not_before(), cert.not_after());
    let _ = (cert.is_ca(), cert.is_self_issued());
    let _ = (
        cert.crl_distribution_points(),
        cert.ocsp_urls(),
        cert.extended_key_usages(),
    );
    let serial = cert.with_parsed(|parsed| parsed.raw_serial().to_vec());
    assert_eq!(serial, cert.serial());
    let _ = egide_pki::ocsp::build_request(&cert, &cert);
    // Names compared as RFC 5280 §7.1 says: a name is always itself.
    for name in [cert.subject_der(), cert.issuer_der()] {
        assert!(egide_pki::names::same_name(name, name));
        let _ = egide_pki::names::canonical_name(name);
    }
});
