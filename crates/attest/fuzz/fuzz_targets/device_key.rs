//! Feeds arbitrary input to the device-key parser and signature verifier:
//! nothing may panic, errors carry the documented codes, and every accepted
//! key re-encodes to a DER document that parses to the same key.

#![no_main]

use egide_attest::device::DeviceKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // First byte: where the key ends and the signature begins.
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let split = usize::from(split).min(rest.len());
    let (der, signature) = rest.split_at(split);
    for input in [der, data] {
        match DeviceKey::from_spki_der(input) {
            Ok(key) => {
                let canonical = key.to_spki_der();
                let again = DeviceKey::from_spki_der(&canonical).expect("canonical DER re-parses");
                assert_eq!(again, key);
                assert_eq!(again.thumbprint(), key.thumbprint());
                if let Err(e) = key.verify(b"egide", signature) {
                    assert!(matches!(e.code(), "bad_signature" | "malformed_signature"));
                }
            }
            Err(e) => assert!(matches!(e.code(), "malformed_key" | "unsupported_key")),
        }
    }
});
