//! Feeds arbitrary input to `attestation::verify`: it must never panic, and
//! every error must carry one of the documented codes.
//!
//! Two shapes of input: the raw bytes as a token, and the bytes as the
//! claims of a token whose header is valid and which is correctly signed by
//! a trusted key (so that the code after the signature check is reached).

#![no_main]

use std::sync::OnceLock;

use chrono::DateTime;
use egide_attest::attestation::{self, AttestationError, Expectations, TrustedProviders};
use egide_attest::{Algorithm, SigningKey};
use libfuzzer_sys::fuzz_target;

struct Fixture {
    key: SigningKey,
    trusted: TrustedProviders,
    expect: Expectations,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let key = SigningKey::generate(Algorithm::EdDsa);
        let trusted = TrustedProviders::new().with("https://p.test", "k", key.verifying_key());
        let now = DateTime::from_timestamp(1_760_000_000, 0).unwrap_or_default();
        Fixture {
            key,
            trusted,
            expect: Expectations::new("egide-enrolment", now),
        }
    })
}

fn check(result: Result<attestation::Claims, AttestationError>) {
    match result {
        Ok(claims) => assert!(claims.validate().is_ok(), "accepted claims must be valid"),
        Err(e) => {
            assert!(AttestationError::CODES.contains(&e.code()));
            let _ = e.to_string();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    check(attestation::verify(
        &String::from_utf8_lossy(data),
        &f.trusted,
        &f.expect,
    ));
    let header = br#"{"alg":"EdDSA","typ":"egide-proofing+jwt","kid":"k"}"#;
    let token = attestation::sign_unchecked(header, data, &f.key);
    check(attestation::verify(&token, &f.trusted, &f.expect));
});
