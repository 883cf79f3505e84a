//! Arbitrary bytes as PEM: no panic; what is decoded is never larger than the
//! input.

#![no_main]

use egide_pki::pem;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for label in ["CERTIFICATE", "X509 CRL"] {
        if let Ok(blocks) = pem::decode_all(data, label) {
            let total: usize = blocks.iter().map(Vec::len).sum();
            assert!(total <= data.len());
        }
    }
});
