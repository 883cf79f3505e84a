//! Arbitrary bytes as a DER CRL: no panic, bounded work; an accepted CRL
//! answers its accessors and lookups consistently.

#![no_main]

use egide_pki::crl::Crl;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
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
    if let Some(next) = crl.next_update() {
        assert_eq!(crl.is_current(this), this < next);
    } else {
        assert!(crl.is_current(this));
    }
    // `is_empty` must agree with `len` (what this checks).
    #[allow(clippy::len_zero)]
    let empty = crl.len() == 0;
    assert_eq!(crl.is_empty(), empty);
    // Every INTEGER-looking window of the input is a lookup key; a hit must be
    // found again under a non-minimal spelling of the same serial.
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
});
