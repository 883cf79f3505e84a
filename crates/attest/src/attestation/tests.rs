use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::*;
use crate::{Algorithm, SigningKey};

const ISS: &str = "https://proofing-sim.egide.test";
const AUD: &str = "egide-enrolment";
const NOW: i64 = 1_760_000_000;

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(NOW, 0).unwrap()
}

fn claims() -> Claims {
    Claims {
        iss: ISS.into(),
        aud: AUD.into(),
        sub: "0192f0c4-7b1e-7cc0-9a3e-5b0e4c1d2e3f".into(),
        nonce: "n-0123456789".into(),
        iat: NOW - 30,
        exp: NOW + 270,
        txn: "txn-42".into(),
        level: Level::Substantial,
        method: Method::FranceIdentite,
        identity: Identity {
            birth_name: "MARTIN".into(),
            given_names: vec!["Anne-Sophie".into(), "Claire".into()],
            sex: Sex::F,
            birth_date: "1984-07-12".into(),
            birth_place: "2A004".into(),
        },
    }
}

struct Setup {
    key: SigningKey,
    trusted: TrustedProviders,
    expect: Expectations,
}

fn setup(alg: Algorithm) -> Setup {
    let key = SigningKey::generate(alg);
    let trusted = TrustedProviders::new().with(ISS, "k1", key.verifying_key());
    Setup {
        key,
        trusted,
        expect: Expectations::new(AUD, now()),
    }
}

fn code(r: Result<Claims, AttestationError>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(e) => e.code(),
    }
}

fn header(alg: &str) -> Value {
    json!({"alg": alg, "typ": TYP, "kid": "k1"})
}

fn raw(header: &Value, payload: &Value, key: &SigningKey) -> String {
    sign_unchecked(
        &serde_json::to_vec(header).unwrap(),
        &serde_json::to_vec(payload).unwrap(),
        key,
    )
}

fn payload() -> Value {
    serde_json::to_value(claims()).unwrap()
}

#[test]
fn round_trips_with_both_algorithms() {
    for alg in [Algorithm::Es256, Algorithm::EdDsa] {
        let s = setup(alg);
        let token = sign(&claims(), &s.key, "k1").unwrap();
        let got = verify(&token, &s.trusted, &s.expect).unwrap();
        assert_eq!(got, claims());
        assert_eq!(got.issued_at().unwrap().timestamp(), NOW - 30);
        let header: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(token.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            header,
            json!({"alg": alg.jose_name(), "typ": TYP, "kid": "k1"})
        );
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(token.rsplit('.').next().unwrap())
                .unwrap()
                .len(),
            64
        );
    }
}

#[test]
fn the_wire_format_is_the_documented_one() {
    let s = setup(Algorithm::Es256);
    let token = sign(&claims(), &s.key, "k1").unwrap();
    let payload: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        payload,
        json!({
            "iss": ISS, "aud": AUD, "sub": "0192f0c4-7b1e-7cc0-9a3e-5b0e4c1d2e3f",
            "nonce": "n-0123456789", "iat": NOW - 30, "exp": NOW + 270, "txn": "txn-42",
            "level": "substantial", "method": "france_identite",
            "identity": {"birth_name": "MARTIN", "given_names": ["Anne-Sophie", "Claire"],
                          "sex": "F", "birth_date": "1984-07-12", "birth_place": "2A004"}
        })
    );
}

#[test]
fn wrong_key_is_a_bad_signature() {
    let s = setup(Algorithm::Es256);
    let other = SigningKey::generate(Algorithm::Es256);
    let token = sign(&claims(), &other, "k1").unwrap();
    assert_eq!(code(verify(&token, &s.trusted, &s.expect)), "bad_signature");
}

#[test]
fn tampered_claims_are_a_bad_signature() {
    for alg in [Algorithm::Es256, Algorithm::EdDsa] {
        let s = setup(alg);
        let token = sign(&claims(), &s.key, "k1").unwrap();
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut forged = claims();
        forged.level = Level::High;
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        assert_eq!(
            code(verify(&parts.join("."), &s.trusted, &s.expect)),
            "bad_signature"
        );

        // One flipped signature bit.
        let mut sig = URL_SAFE_NO_PAD
            .decode(token.rsplit('.').next().unwrap())
            .unwrap();
        sig[10] ^= 1;
        let flipped = format!(
            "{}.{}",
            token.rsplit_once('.').unwrap().0,
            URL_SAFE_NO_PAD.encode(sig)
        );
        assert_eq!(
            code(verify(&flipped, &s.trusted, &s.expect)),
            "bad_signature"
        );
    }
}

#[test]
fn a_signature_of_the_wrong_length_is_bad() {
    let s = setup(Algorithm::Es256);
    let token = sign(&claims(), &s.key, "k1").unwrap();
    let (signed, _) = token.rsplit_once('.').unwrap();
    for len in [0usize, 63, 65, 72] {
        let t = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(vec![1u8; len]));
        let expected = if len == 0 {
            "malformed"
        } else {
            "bad_signature"
        };
        assert_eq!(code(verify(&t, &s.trusted, &s.expect)), expected, "{len}");
    }
}

#[test]
fn high_s_ecdsa_signatures_are_accepted() {
    // See the crate documentation: provider and phone signers do not
    // normalise s, so both forms verify.
    let s = setup(Algorithm::Es256);
    let token = sign(&claims(), &s.key, "k1").unwrap();
    let (signed, sig) = token.rsplit_once('.').unwrap();
    let sig = p256::ecdsa::Signature::from_slice(&URL_SAFE_NO_PAD.decode(sig).unwrap()).unwrap();
    let (r, s_) = sig.split_scalars();
    let flipped = p256::ecdsa::Signature::from_scalars(r, -*s_).unwrap();
    assert_ne!(flipped, sig);
    let other = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(flipped.to_bytes()));
    assert_eq!(code(verify(&other, &s.trusted, &s.expect)), "ok");
}

#[test]
fn algorithm_confusion_is_refused() {
    // An EdDSA-signed token claiming to be from an issuer whose key is P-256,
    // and the other way round.
    for (trusted_alg, signing_alg) in [
        (Algorithm::Es256, Algorithm::EdDsa),
        (Algorithm::EdDsa, Algorithm::Es256),
    ] {
        let s = setup(trusted_alg);
        let attacker = SigningKey::generate(signing_alg);
        let token = sign(&claims(), &attacker, "k1").unwrap();
        assert_eq!(
            code(verify(&token, &s.trusted, &s.expect)),
            "unsupported_alg"
        );
        // Same with the alg header lying about the key type.
        let lying = raw(&header(trusted_alg.jose_name()), &payload(), &attacker);
        assert_eq!(code(verify(&lying, &s.trusted, &s.expect)), "bad_signature");
    }
}

#[test]
fn none_and_other_algorithms_are_refused() {
    let s = setup(Algorithm::Es256);
    for alg in ["none", "HS256", "RS256", "ES384", "es256", "ES256K", ""] {
        let token = raw(&header(alg), &payload(), &s.key);
        assert_eq!(
            code(verify(&token, &s.trusted, &s.expect)),
            "unsupported_alg",
            "{alg}"
        );
    }
    // The classic `alg: none` token with an empty signature part.
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header("none")).unwrap()),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload()).unwrap())
    );
    assert!(matches!(
        code(verify(&unsigned, &s.trusted, &s.expect)),
        "malformed" | "unsupported_alg"
    ));
    let no_alg = raw(&json!({"typ": TYP, "kid": "k1"}), &payload(), &s.key);
    assert_eq!(
        code(verify(&no_alg, &s.trusted, &s.expect)),
        "unsupported_alg"
    );
    let numeric = raw(
        &json!({"alg": 7, "typ": TYP, "kid": "k1"}),
        &payload(),
        &s.key,
    );
    assert_eq!(code(verify(&numeric, &s.trusted, &s.expect)), "malformed");
}

#[test]
fn wrong_typ_is_refused() {
    let s = setup(Algorithm::Es256);
    for typ in [json!("JWT"), json!("egide-proofing+JWT"), json!("at+jwt")] {
        let h = json!({"alg": "ES256", "typ": typ, "kid": "k1"});
        let token = raw(&h, &payload(), &s.key);
        assert_eq!(code(verify(&token, &s.trusted, &s.expect)), "wrong_type");
    }
    let h = json!({"alg": "ES256", "kid": "k1"});
    assert_eq!(
        code(verify(&raw(&h, &payload(), &s.key), &s.trusted, &s.expect)),
        "wrong_type"
    );
}

#[test]
fn crit_and_duplicate_header_members_are_malformed() {
    let s = setup(Algorithm::Es256);
    let h = json!({"alg": "ES256", "typ": TYP, "kid": "k1", "crit": ["exp"]});
    assert_eq!(
        code(verify(&raw(&h, &payload(), &s.key), &s.trusted, &s.expect)),
        "malformed"
    );
    let dup = format!(r#"{{"alg":"ES256","typ":"{TYP}","kid":"k1","alg":"EdDSA"}}"#);
    let token = sign_unchecked(
        dup.as_bytes(),
        &serde_json::to_vec(&payload()).unwrap(),
        &s.key,
    );
    assert_eq!(code(verify(&token, &s.trusted, &s.expect)), "malformed");
    // Unknown parameters (and keys embedded in the token) are ignored.
    let h = json!({"alg": "ES256", "typ": TYP, "kid": "k1", "jku": "https://evil.test/keys"});
    assert_eq!(
        code(verify(&raw(&h, &payload(), &s.key), &s.trusted, &s.expect)),
        "ok"
    );
}

#[test]
fn oversized_tokens_are_refused_before_parsing() {
    let s = setup(Algorithm::Es256);
    let junk = "!".repeat(MAX_TOKEN_BYTES + 1);
    assert_eq!(code(verify(&junk, &s.trusted, &s.expect)), "too_large");
    let mut big = payload();
    big["padding"] = json!("x".repeat(MAX_TOKEN_BYTES));
    let token = raw(&header("ES256"), &big, &s.key);
    assert_eq!(code(verify(&token, &s.trusted, &s.expect)), "too_large");
    // Exactly at the limit is parsed (and here, fails on the signature).
    let at_limit = format!("{}{}", "a.b.", "A".repeat(MAX_TOKEN_BYTES - 4));
    assert_ne!(code(verify(&at_limit, &s.trusted, &s.expect)), "too_large");
}

#[test]
fn base64_must_be_unpadded_base64url() {
    let s = setup(Algorithm::Es256);
    let token = sign(&claims(), &s.key, "k1").unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    // Padded variants of the same bytes.
    let padded_header = URL_SAFE.encode(URL_SAFE_NO_PAD.decode(parts[0]).unwrap());
    if padded_header != parts[0] {
        let t = format!("{padded_header}.{}.{}", parts[1], parts[2]);
        assert_eq!(code(verify(&t, &s.trusted, &s.expect)), "malformed");
    }
    let t = format!("{}.{}.{}==", parts[0], parts[1], parts[2]);
    assert_eq!(code(verify(&t, &s.trusted, &s.expect)), "malformed");
    // Standard-alphabet characters.
    let std_alphabet = parts[2].replace('-', "+").replace('_', "/");
    if std_alphabet != parts[2] {
        let t = format!("{}.{}.{std_alphabet}", parts[0], parts[1]);
        assert_eq!(code(verify(&t, &s.trusted, &s.expect)), "malformed");
    }
    for t in ["", "a", "a.b", "a.b.c.d", "..", "a..c", "é.b.c", "a b.c.d"] {
        assert_eq!(code(verify(t, &s.trusted, &s.expect)), "malformed", "{t:?}");
    }
}

#[test]
fn issuers_and_keys_must_be_trusted() {
    let s = setup(Algorithm::Es256);
    let mut c = claims();
    c.iss = "https://other.test".into();
    let token = sign(&c, &s.key, "k1").unwrap();
    assert_eq!(
        code(verify(&token, &s.trusted, &s.expect)),
        "unknown_issuer"
    );
    let token = sign(&claims(), &s.key, "k2").unwrap();
    assert_eq!(code(verify(&token, &s.trusted, &s.expect)), "unknown_key");
    assert_eq!(
        code(verify(&token, &TrustedProviders::new(), &s.expect)),
        "unknown_issuer"
    );

    // Rotation: two keys for one issuer.
    let newer = SigningKey::generate(Algorithm::EdDsa);
    let trusted = s.trusted.clone().with(ISS, "k2", newer.verifying_key());
    assert_eq!(
        code(verify(
            &sign(&claims(), &newer, "k2").unwrap(),
            &trusted,
            &s.expect
        )),
        "ok"
    );
    assert_eq!(
        code(verify(
            &sign(&claims(), &s.key, "k1").unwrap(),
            &trusted,
            &s.expect
        )),
        "ok"
    );
    let mut retired = trusted.clone();
    assert!(retired.remove(ISS, "k1"));
    assert_eq!(
        code(verify(
            &sign(&claims(), &s.key, "k1").unwrap(),
            &retired,
            &s.expect
        )),
        "unknown_key"
    );
}

#[test]
fn audience_must_match() {
    let s = setup(Algorithm::EdDsa);
    let mut c = claims();
    c.aud = "egide-auth".into();
    assert_eq!(
        code(verify(
            &sign(&c, &s.key, "k1").unwrap(),
            &s.trusted,
            &s.expect
        )),
        "wrong_audience"
    );
    let mut p = payload();
    p["aud"] = json!([AUD]);
    assert_eq!(
        code(verify(
            &raw(&header("EdDSA"), &p, &s.key),
            &s.trusted,
            &s.expect
        )),
        "malformed"
    );
}

#[test]
fn time_rules() {
    let s = setup(Algorithm::Es256);
    let at = |iat: i64, exp: i64| {
        let mut c = claims();
        c.iat = iat;
        c.exp = exp;
        code(verify(
            &sign(&c, &s.key, "k1").unwrap(),
            &s.trusted,
            &s.expect,
        ))
    };
    let skew = 60;
    let max_age = 600;
    assert_eq!(at(NOW, NOW + 300), "ok");
    assert_eq!(at(NOW + skew, NOW + 300), "ok");
    assert_eq!(at(NOW + skew + 1, NOW + 300), "not_yet_valid");
    assert_eq!(at(NOW - 300, NOW - skew + 1), "ok");
    assert_eq!(at(NOW - 300, NOW - skew), "expired");
    assert_eq!(at(NOW - 300, NOW - 1000 + 1200), "ok");
    assert_eq!(at(NOW - max_age, NOW + 10), "ok");
    assert_eq!(at(NOW - max_age - 1, NOW + 10), "stale");
    // Both expired and stale: expired is reported.
    assert_eq!(at(NOW - 10_000, NOW - 9_000), "expired");
    assert_eq!(at(i64::MIN + 1, i64::MAX), "stale");
    assert_eq!(at(i64::MAX - 1, i64::MAX), "not_yet_valid");

    let mut strict = s.expect.clone();
    strict.max_skew = Duration::ZERO;
    strict.max_age = Duration::from_secs(u64::MAX);
    let mut c = claims();
    c.iat = NOW + 1;
    assert_eq!(
        code(verify(
            &sign(&c, &s.key, "k1").unwrap(),
            &s.trusted,
            &strict
        )),
        "not_yet_valid"
    );
    c.iat = 0;
    c.exp = NOW;
    assert_eq!(
        code(verify(
            &sign(&c, &s.key, "k1").unwrap(),
            &s.trusted,
            &strict
        )),
        "expired"
    );
    c.exp = NOW + 1;
    assert_eq!(
        code(verify(
            &sign(&c, &s.key, "k1").unwrap(),
            &s.trusted,
            &strict
        )),
        "ok"
    );
}

#[test]
fn missing_claims_are_named() {
    let s = setup(Algorithm::EdDsa);
    for name in REQUIRED {
        for value in [None, Some(Value::Null)] {
            let mut p = payload();
            match &value {
                None => drop(p.as_object_mut().unwrap().remove(name)),
                Some(v) => p[name] = v.clone(),
            }
            match verify(&raw(&header("EdDSA"), &p, &s.key), &s.trusted, &s.expect) {
                Err(AttestationError::MissingClaim(n)) => assert_eq!(n, name),
                other => panic!("{name}: {other:?}"),
            }
        }
    }
    for (member, path) in REQUIRED_IDENTITY {
        let mut p = payload();
        p["identity"].as_object_mut().unwrap().remove(member);
        match verify(&raw(&header("EdDSA"), &p, &s.key), &s.trusted, &s.expect) {
            Err(AttestationError::MissingClaim(n)) => assert_eq!(n, path),
            other => panic!("{member}: {other:?}"),
        }
    }
    let no_kid = raw(&json!({"alg": "EdDSA", "typ": TYP}), &payload(), &s.key);
    assert_eq!(
        verify(&no_kid, &s.trusted, &s.expect),
        Err(AttestationError::MissingClaim("kid"))
    );
}

#[test]
fn malformed_claims() {
    let s = setup(Algorithm::EdDsa);
    let cases: Vec<(&str, Value)> = vec![
        ("iat", json!("1760000000")),
        ("iat", json!(1.5)),
        ("exp", json!(NOW - 30)),
        ("level", json!("low")),
        ("method", json!("fax")),
        ("sub", json!("")),
        ("nonce", json!("a\nb")),
        ("txn", json!("x".repeat(MAX_CLAIM_LEN + 1))),
        ("identity", json!("MARTIN")),
    ];
    for (name, value) in cases {
        let mut p = payload();
        p[name] = value;
        assert_eq!(
            code(verify(
                &raw(&header("EdDSA"), &p, &s.key),
                &s.trusted,
                &s.expect
            )),
            "malformed",
            "{name}"
        );
    }
    let identity_cases: Vec<(&str, Value)> = vec![
        ("sex", json!("X")),
        ("birth_date", json!("12/07/1984")),
        ("birth_date", json!(19840712)),
        ("birth_place", json!("750")),
        ("given_names", json!([])),
        ("given_names", json!("Anne")),
        ("given_names", json!([""])),
        ("birth_name", json!("")),
    ];
    for (name, value) in identity_cases {
        let mut p = payload();
        p["identity"][name] = value;
        let err = verify(&raw(&header("EdDSA"), &p, &s.key), &s.trusted, &s.expect).unwrap_err();
        assert_eq!(err.code(), "malformed", "{name}");
        // The offending identity value is never echoed.
        let text = err.to_string();
        assert!(
            !text.contains("19840712") && !text.contains("\"X\""),
            "{text}"
        );
    }
    let not_object = raw(&header("EdDSA"), &json!([1, 2]), &s.key);
    assert_eq!(
        code(verify(&not_object, &s.trusted, &s.expect)),
        "malformed"
    );
    let dup = format!(
        r#"{{"iss":"{ISS}","iss":"{ISS}","aud":"{AUD}","sub":"s","nonce":"n","iat":{},"exp":{},"txn":"t","level":"high","method":"in_person","identity":{}}}"#,
        NOW,
        NOW + 60,
        serde_json::to_string(&claims().identity).unwrap()
    );
    let token = sign_unchecked(
        &serde_json::to_vec(&header("EdDSA")).unwrap(),
        dup.as_bytes(),
        &s.key,
    );
    assert_eq!(code(verify(&token, &s.trusted, &s.expect)), "malformed");
}

#[test]
fn unknown_claims_are_ignored() {
    let s = setup(Algorithm::Es256);
    let mut p = payload();
    p["extra"] = json!({"anything": [1, 2, 3]});
    p["identity"]["extra"] = json!("ignored");
    assert_eq!(
        verify(&raw(&header("ES256"), &p, &s.key), &s.trusted, &s.expect),
        Ok(claims())
    );
}

#[test]
fn sign_refuses_what_verify_would_refuse() {
    let key = SigningKey::generate(Algorithm::Es256);
    let mut c = claims();
    c.identity.birth_place = "7505".into();
    assert_eq!(sign(&c, &key, "k1").unwrap_err().code(), "malformed");
    let mut c = claims();
    c.exp = c.iat;
    assert_eq!(sign(&c, &key, "k1").unwrap_err().code(), "malformed");
    assert_eq!(sign(&claims(), &key, "").unwrap_err().code(), "malformed");
    let mut c = claims();
    // Valid but huge: quotes take two bytes each once JSON-escaped.
    c.identity.given_names = vec!["\"".repeat(MAX_CLAIM_LEN); MAX_GIVEN_NAMES];
    assert_eq!(
        sign(&c, &key, "k1").err().map(|e| e.code()),
        Some("too_large")
    );
}

#[test]
fn every_error_code_is_reachable_and_listed() {
    // The codes the tests above produce, gathered in one place.
    let s = setup(Algorithm::Es256);
    let mut seen = std::collections::BTreeSet::new();
    let mut c = claims();
    let mut check = |r: Result<Claims, AttestationError>| {
        if let Err(e) = r {
            assert!(AttestationError::CODES.contains(&e.code()));
            assert!(!e.to_string().is_empty());
            seen.insert(e.code());
        }
    };
    check(verify("x", &s.trusted, &s.expect));
    check(verify(
        &"x".repeat(MAX_TOKEN_BYTES + 1),
        &s.trusted,
        &s.expect,
    ));
    check(verify(
        &raw(&header("none"), &payload(), &s.key),
        &s.trusted,
        &s.expect,
    ));
    check(verify(
        &raw(
            &json!({"alg": "ES256", "typ": "JWT", "kid": "k1"}),
            &payload(),
            &s.key,
        ),
        &s.trusted,
        &s.expect,
    ));
    check(verify(
        &sign(&claims(), &s.key, "k9").unwrap(),
        &s.trusted,
        &s.expect,
    ));
    check(verify(
        &sign(&claims(), &SigningKey::generate(Algorithm::Es256), "k1").unwrap(),
        &s.trusted,
        &s.expect,
    ));
    let mut p = payload();
    p.as_object_mut().unwrap().remove("nonce");
    check(verify(
        &raw(&header("ES256"), &p, &s.key),
        &s.trusted,
        &s.expect,
    ));
    c.iss = "https://nobody.test".into();
    check(verify(
        &sign(&c, &s.key, "k1").unwrap(),
        &s.trusted,
        &s.expect,
    ));
    let mut c = claims();
    c.aud = "x".into();
    check(verify(
        &sign(&c, &s.key, "k1").unwrap(),
        &s.trusted,
        &s.expect,
    ));
    for (iat, exp) in [
        (NOW - 5000, NOW + 10),
        (NOW + 5000, NOW + 6000),
        (NOW - 100, NOW - 90),
    ] {
        let mut c = claims();
        c.iat = iat;
        c.exp = exp;
        check(verify(
            &sign(&c, &s.key, "k1").unwrap(),
            &s.trusted,
            &s.expect,
        ));
    }
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>().len(),
        AttestationError::CODES.len()
    );
}
