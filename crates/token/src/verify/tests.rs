//! The JWT attack corpus: every case refused with its reason, none panicking.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use p256::ecdsa::{Signature, SigningKey, signature::Signer as _};
use proptest::prelude::*;

use super::*;
use crate::{AccessClaims, Category, Jwk, assemble, signing_input};

const NOW: i64 = 1_800_000_000;

fn key() -> SigningKey {
    SigningKey::random(&mut rand_core::OsRng)
}

fn jwk(kid: &str, key: &SigningKey) -> Jwk {
    use p256::pkcs8::EncodePublicKey as _;
    let der = key.verifying_key().to_public_key_der().unwrap();
    Jwk::from_spki_der(kid, der.as_bytes()).unwrap()
}

fn claims() -> AccessClaims {
    AccessClaims {
        iss: "https://egide.test".into(),
        sub: "0193a5c0-0000-7000-8000-000000000001".into(),
        aud: "egide".into(),
        client_id: "egide-cli".into(),
        exp: NOW + 300,
        iat: NOW,
        jti: "j1".into(),
        acr: "eidas2".into(),
        amr: vec!["hwk".into()],
        auth_time: NOW,
        sid: "s1".into(),
        scope: String::new(),
        egide_category: Category::Patient,
        cnf: None,
        nbf: None,
    }
}

fn expect() -> Expectations {
    Expectations {
        issuer: "https://egide.test".into(),
        audience: "egide".into(),
        leeway_secs: 30,
    }
}

struct Fixture {
    ours: SigningKey,
    keys: KeySet,
}

fn fixture() -> Fixture {
    let ours = key();
    let keys = KeySet::new(&[jwk("k-v1", &ours)]).unwrap();
    Fixture { ours, keys }
}

fn sign_raw(key: &SigningKey, input: &str) -> String {
    let sig: Signature = key.sign(input.as_bytes());
    URL_SAFE_NO_PAD.encode(sig.to_bytes())
}

fn token_with(key: &SigningKey, header: &serde_json::Value, claims: &AccessClaims) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap())
    );
    let sig = sign_raw(key, &input);
    assemble(&input, &sig)
}

fn good_header() -> serde_json::Value {
    serde_json::json!({"alg": "ES256", "typ": "at+jwt", "kid": "k-v1"})
}

fn check(f: &Fixture, token: &str) -> Result<AccessClaims, TokenError> {
    verify_access(token, &f.keys, &expect(), NOW)
}

#[test]
fn a_token_we_signed_verifies() {
    let f = fixture();
    let input = signing_input(&Header::new("at+jwt", "k-v1"), &claims()).unwrap();
    let token = assemble(&input, &sign_raw(&f.ours, &input));
    assert_eq!(check(&f, &token).unwrap(), claims());
    assert_eq!(decode_header(&token).unwrap().kid, "k-v1");
}

#[test]
fn alg_none_and_its_spellings_are_refused() {
    let f = fixture();
    for alg in [
        "none", "None", "NONE", "nOnE", "es256", "ES384", "EdDSA", "RS256",
    ] {
        let header = serde_json::json!({"alg": alg, "typ": "at+jwt", "kid": "k-v1"});
        let token = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims()).unwrap())
        );
        assert_eq!(
            check(&f, &token),
            Err(TokenError::Algorithm(alg.into())),
            "{alg}"
        );
        assert_eq!(check(&f, &token).unwrap_err().code(), "token_invalid");
    }
}

#[test]
fn hs256_keyed_with_our_public_key_is_refused() {
    use ring::hmac;
    let f = fixture();
    let public = serde_json::to_vec(&jwk("k-v1", &f.ours)).unwrap();
    let header = serde_json::json!({"alg": "HS256", "typ": "at+jwt", "kid": "k-v1"});
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims()).unwrap())
    );
    let tag = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, &public),
        input.as_bytes(),
    );
    let token = assemble(&input, &URL_SAFE_NO_PAD.encode(tag.as_ref()));
    assert_eq!(
        check(&f, &token),
        Err(TokenError::Algorithm("HS256".into()))
    );
}

#[test]
fn unknown_or_absent_kid_is_refused() {
    let f = fixture();
    let unknown = serde_json::json!({"alg": "ES256", "typ": "at+jwt", "kid": "k-v9"});
    assert_eq!(
        check(&f, &token_with(&f.ours, &unknown, &claims())),
        Err(TokenError::UnknownKey)
    );
    let absent = serde_json::json!({"alg": "ES256", "typ": "at+jwt"});
    assert!(matches!(
        check(&f, &token_with(&f.ours, &absent, &claims())),
        Err(TokenError::Header(_))
    ));
}

#[test]
fn headers_that_bring_their_own_key_or_rules_are_refused() {
    let f = fixture();
    let attacker = key();
    let attacker_jwk = serde_json::to_value(jwk("k-v1", &attacker)).unwrap();
    for (name, value) in [
        (
            "jku",
            serde_json::json!("https://attacker.example/jwks.json"),
        ),
        (
            "x5u",
            serde_json::json!("https://attacker.example/cert.pem"),
        ),
        ("jwk", attacker_jwk),
        ("x5c", serde_json::json!(["MIIB"])),
        ("crit", serde_json::json!(["exp"])),
        ("b64", serde_json::json!(false)),
    ] {
        let mut header = good_header();
        header[name] = value;
        let result = check(&f, &token_with(&attacker, &header, &claims()));
        assert!(
            matches!(result, Err(TokenError::Header(_))),
            "{name}: {result:?}"
        );
    }
    let duplicated = r#"{"alg":"ES256","typ":"at+jwt","kid":"k-v1","kid":"k-v1"}"#;
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(duplicated),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims()).unwrap())
    );
    let token = assemble(&input, &sign_raw(&f.ours, &input));
    assert!(matches!(check(&f, &token), Err(TokenError::Header(_))));
}

#[test]
fn time_issuer_audience_and_type_are_checked() {
    let f = fixture();
    let with = |c: AccessClaims| check(&f, &token_with(&f.ours, &good_header(), &c));
    assert_eq!(
        with(AccessClaims {
            exp: NOW - 31,
            ..claims()
        }),
        Err(TokenError::Expired)
    );
    assert_eq!(
        with(AccessClaims {
            exp: NOW - 31,
            ..claims()
        })
        .unwrap_err()
        .code(),
        "token_expired"
    );
    assert!(
        with(AccessClaims {
            exp: NOW - 29,
            ..claims()
        })
        .is_ok(),
        "within the leeway"
    );
    assert_eq!(
        with(AccessClaims {
            nbf: Some(NOW + 60),
            ..claims()
        }),
        Err(TokenError::NotYetValid)
    );
    assert_eq!(
        with(AccessClaims {
            iat: NOW + 60,
            ..claims()
        }),
        Err(TokenError::NotYetValid)
    );
    assert_eq!(
        with(AccessClaims {
            iss: "https://evil.test".into(),
            ..claims()
        }),
        Err(TokenError::Issuer)
    );
    assert_eq!(
        with(AccessClaims {
            aud: "other".into(),
            ..claims()
        }),
        Err(TokenError::Audience)
    );
    let id_typ = serde_json::json!({"alg": "ES256", "typ": "JWT", "kid": "k-v1"});
    assert_eq!(
        check(&f, &token_with(&f.ours, &id_typ, &claims())),
        Err(TokenError::Type("JWT".into()))
    );
}

#[test]
fn stripped_truncated_foreign_and_der_signatures_are_refused() {
    let f = fixture();
    let token = token_with(&f.ours, &good_header(), &claims());
    let (input, sig) = token.rsplit_once('.').unwrap();
    assert_eq!(check(&f, &format!("{input}.")), Err(TokenError::Signature));
    assert_eq!(check(&f, input), Err(TokenError::Malformed));
    let truncated = &sig[..sig.len() - 4];
    assert!(matches!(
        check(&f, &format!("{input}.{truncated}")),
        Err(TokenError::Signature | TokenError::Encoding(_))
    ));
    let foreign = token_with(&key(), &good_header(), &claims());
    assert_eq!(check(&f, &foreign), Err(TokenError::Signature));
    let der: Signature = f.ours.sign(input.as_bytes());
    let der = URL_SAFE_NO_PAD.encode(der.to_der().as_bytes());
    assert_eq!(
        check(&f, &format!("{input}.{der}")),
        Err(TokenError::Signature)
    );
    // Tampered claims under a genuine signature.
    let evil = AccessClaims {
        sub: "someone-else".into(),
        ..claims()
    };
    let evil_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&evil).unwrap());
    let header = input.split('.').next().unwrap();
    assert_eq!(
        check(&f, &format!("{header}.{evil_payload}.{sig}")),
        Err(TokenError::Signature)
    );
}

#[test]
fn non_canonical_base64url_is_refused() {
    let f = fixture();
    let token = token_with(&f.ours, &good_header(), &claims());
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    // Padding, and a standard-alphabet character.
    let padded = format!("{}.{}.{}==", parts[0], parts[1], parts[2]);
    assert_eq!(check(&f, &padded), Err(TokenError::Encoding("signature")));
    let plus = format!("{}+.{}.{}", parts[0], parts[1], parts[2]);
    assert_eq!(check(&f, &plus), Err(TokenError::Encoding("header")));
    // The same signature bytes spelt with non-zero trailing bits: 64 bytes take 86
    // characters whose last carries 4 unused bits.
    let last = parts[2].pop().unwrap();
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let index = alphabet.find(last).unwrap();
    let twin = alphabet.as_bytes()[index | 1] as char;
    if twin != last {
        let token = format!("{}.{}.{}{twin}", parts[0], parts[1], parts[2]);
        assert_eq!(check(&f, &token), Err(TokenError::Encoding("signature")));
    }
}

#[test]
fn oversized_and_shapeless_tokens_are_refused() {
    let f = fixture();
    assert_eq!(
        check(&f, &"a".repeat(MAX_TOKEN_BYTES + 1)),
        Err(TokenError::Oversized)
    );
    for shapeless in ["", ".", "..", "...", "a.b", "a.b.c.d", "eyJ.eyJ.e"] {
        assert!(check(&f, shapeless).is_err(), "{shapeless:?}");
    }
    let not_claims = serde_json::json!({"sub": 1});
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(good_header().to_string()),
        URL_SAFE_NO_PAD.encode(not_claims.to_string())
    );
    let token = assemble(&input, &sign_raw(&f.ours, &input));
    assert!(matches!(check(&f, &token), Err(TokenError::Claims(_))));
}

proptest! {
    #[test]
    fn arbitrary_input_never_panics(s in "\\PC{0,600}") {
        let f = fixture();
        let _ = check(&f, &s);
        let _ = decode_header(&s);
    }

    #[test]
    fn arbitrary_base64_parts_never_panic(a in "[A-Za-z0-9_-]{0,80}", b in "[A-Za-z0-9_-]{0,200}", c in "[A-Za-z0-9_-]{0,90}") {
        let f = fixture();
        let _ = check(&f, &format!("{a}.{b}.{c}"));
    }
}
