//! Property tests: arbitrary bytes never panic the parsers, and signed
//! attestations round-trip whatever their (valid) content.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::DateTime;
use egide_attest::attestation::{
    self, Claims, Expectations, Identity, Level, Method, Sex, TrustedProviders,
};
use egide_attest::device::{DeviceKey, DeviceSigner, registration_message};
use egide_attest::{Algorithm, SigningKey, VerifyingKey};
use proptest::prelude::*;

fn trusted() -> (SigningKey, TrustedProviders) {
    let key = SigningKey::generate(Algorithm::Es256);
    let trusted = TrustedProviders::new().with("https://p.test", "k", key.verifying_key());
    (key, trusted)
}

fn expect() -> Expectations {
    Expectations::new(
        "egide-enrolment",
        DateTime::from_timestamp(1_760_000_000, 0).unwrap(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn verify_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let (_, trusted) = trusted();
        let text = String::from_utf8_lossy(&bytes);
        let _ = attestation::verify(&text, &trusted, &expect());
    }

    #[test]
    fn verify_never_panics_on_jws_shaped_input(
        parts in proptest::collection::vec("[A-Za-z0-9_-]{0,200}", 0..5),
    ) {
        let (_, trusted) = trusted();
        let _ = attestation::verify(&parts.join("."), &trusted, &expect());
    }

    #[test]
    fn verify_never_panics_on_signed_json(json in "\\{[ -~]{0,300}\\}") {
        // Correctly signed garbage claims: exercises everything after the
        // signature check.
        let (key, trusted) = trusted();
        let header = br#"{"alg":"ES256","typ":"egide-proofing+jwt","kid":"k"}"#;
        let token = attestation::sign_unchecked(header, json.as_bytes(), &key);
        let _ = attestation::verify(&token, &trusted, &expect());
    }

    #[test]
    fn device_parsers_never_panic(der in proptest::collection::vec(any::<u8>(), 0..512),
                                  sig in proptest::collection::vec(any::<u8>(), 0..128)) {
        if let Ok(key) = DeviceKey::from_spki_der(&der) {
            let _ = key.thumbprint();
            let _ = key.verify(b"m", &sig);
        }
        let _ = VerifyingKey::from_spki_der(&der);
        let _ = SigningKey::from_pkcs8_der(&der);
        let _ = VerifyingKey::from_public_key_pem(&String::from_utf8_lossy(&der));
    }

    #[test]
    fn signatures_of_random_messages_verify(message in proptest::collection::vec(any::<u8>(), 0..256),
                                            ed in any::<bool>()) {
        let signer = DeviceSigner::generate(if ed { Algorithm::EdDsa } else { Algorithm::Es256 });
        let key = DeviceKey::from_spki_der(&signer.device_key().to_spki_der()).unwrap();
        prop_assert!(key.verify(&message, &signer.sign(&message)).is_ok());
        let mut other = message.clone();
        other.push(0);
        prop_assert_eq!(key.verify(&other, &signer.sign(&message)).unwrap_err().code(), "bad_signature");
    }

    #[test]
    fn registration_messages_are_injective_for_newline_free_fields(
        a in "[a-z0-9-]{1,12}", b in "[a-z0-9-]{1,12}", c in "[A-Za-z0-9_-]{1,12}",
        d in "[a-z0-9-]{1,12}", e in "[a-z0-9-]{1,12}", f in "[A-Za-z0-9_-]{1,12}",
    ) {
        prop_assert_eq!(
            registration_message(&a, &b, &c) == registration_message(&d, &e, &f),
            (a, b, c) == (d, e, f)
        );
    }

    #[test]
    fn attestations_round_trip(name in "[A-Z][A-Za-zÀ-ÿ' -]{0,40}", day in 1u32..=28, month in 1u32..=12,
                               year in 1900u32..2025) {
        let (key, trusted) = trusted();
        let claims = claims_with(name.trim_end(), &format!("{year:04}-{month:02}-{day:02}"));
        prop_assume!(claims.validate().is_ok());
        let token = attestation::sign(&claims, &key, "k").unwrap();
        prop_assert_eq!(attestation::verify(&token, &trusted, &expect()), Ok(claims));
    }
}

fn claims_with(birth_name: &str, birth_date: &str) -> Claims {
    Claims {
        iss: "https://p.test".into(),
        aud: "egide-enrolment".into(),
        sub: "enr".into(),
        nonce: "n".into(),
        iat: 1_760_000_000,
        exp: 1_760_000_300,
        txn: "t".into(),
        level: Level::High,
        method: Method::InPerson,
        identity: Identity {
            birth_name: birth_name.into(),
            given_names: vec!["Jean".into()],
            sex: Sex::M,
            birth_date: birth_date.into(),
            birth_place: "99109".into(),
        },
    }
}
