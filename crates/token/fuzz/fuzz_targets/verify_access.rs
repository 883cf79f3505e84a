//! Feeds arbitrary input to `verify_access` (the gateway's JWT verifier) and
//! `decode_header`: they must never panic.
//!
//! Two shapes of input: the raw bytes as a token, and the bytes as the claims of a
//! token whose header is valid and which is correctly signed by the trusted key (so
//! that the claim checks after the signature are reached).

#![no_main]

use std::sync::OnceLock;

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use egide_token::{Expectations, Header, Jwk, KeySet, assemble, decode_header, verify_access};
use libfuzzer_sys::fuzz_target;
use p256::ecdsa::{Signature, SigningKey, signature::Signer as _};

struct Fixture {
    key: SigningKey,
    keys: KeySet,
    expect: Expectations,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        use p256::pkcs8::EncodePublicKey as _;
        let key = SigningKey::from_slice(&[7u8; 32]).expect("a fixed scalar");
        let der = key.verifying_key().to_public_key_der().expect("SPKI");
        let jwk = Jwk::from_spki_der("k-v1", der.as_bytes()).expect("a P-256 JWK");
        Fixture {
            key,
            keys: KeySet::new(&[jwk]).expect("a key set"),
            expect: Expectations {
                issuer: "https://egide.test".into(),
                audience: "egide".into(),
                leeway_secs: 30,
            },
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = verify_access(text, &f.keys, &f.expect, 1_800_000_000);
        let _ = decode_header(text);
    }
    // The bytes as the claims of a genuinely signed token.
    let header = serde_json::to_vec(&Header::new("at+jwt", "k-v1")).unwrap_or_default();
    let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(data));
    let sig: Signature = f.key.sign(input.as_bytes());
    let token = assemble(&input, &URL_SAFE_NO_PAD.encode(sig.to_bytes()));
    let _ = verify_access(&token, &f.keys, &f.expect, 1_800_000_000);
});
