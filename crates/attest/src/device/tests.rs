use base64::Engine as _;
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use p256::pkcs8::der::Encode as _;

use super::*;
use crate::SigningKey;

const ALGS: [Algorithm; 2] = [Algorithm::Es256, Algorithm::EdDsa];

fn code(r: Result<(), DeviceError>) -> &'static str {
    match r {
        Ok(()) => "ok",
        Err(e) => e.code(),
    }
}

#[test]
fn registration_round_trip() {
    for alg in ALGS {
        let signer = DeviceSigner::generate(alg);
        let der = signer.device_key().to_spki_der();
        let key = DeviceKey::from_spki_der(&der).unwrap();
        assert_eq!(key.algorithm(), alg);
        assert_eq!(key, signer.device_key());
        let thumbprint = key.thumbprint();
        assert_eq!(thumbprint.len(), 43);
        let message = registration_message("enr-1", "nonce-1", &thumbprint);
        let signature = signer.sign(&message);
        assert_eq!(code(key.verify(&message, &signature)), "ok");
        assert_eq!(code(key.verify(&message, &signer.sign_raw(&message))), "ok");
        // Tampered message, other owner or nonce.
        for other in [
            registration_message("enr-2", "nonce-1", &thumbprint),
            registration_message("enr-1", "nonce-2", &thumbprint),
            b"hello".to_vec(),
        ] {
            assert_eq!(code(key.verify(&other, &signature)), "bad_signature");
        }
        // Wrong key.
        let stranger = DeviceSigner::generate(alg);
        assert_eq!(
            code(stranger.device_key().verify(&message, &signature)),
            "bad_signature"
        );
    }
}

#[test]
fn registration_message_is_the_documented_text() {
    assert_eq!(
        registration_message("owner", "n0nce", "tp"),
        b"egide-device-registration/v1\nowner\nn0nce\ntp".to_vec()
    );
}

#[test]
fn p256_signatures_in_der_or_raw_and_high_s() {
    let signer = DeviceSigner::generate(Algorithm::Es256);
    let key = signer.device_key();
    let message = b"m";
    let der = signer.sign(message);
    assert_eq!(der[0], 0x30);
    let sig = p256::ecdsa::Signature::from_der(&der).unwrap();
    let (r, s) = sig.split_scalars();
    let high = p256::ecdsa::Signature::from_scalars(r, -*s).unwrap();
    assert_eq!(code(key.verify(message, high.to_der().as_bytes())), "ok");
    assert_eq!(code(key.verify(message, &high.to_bytes())), "ok");
    // Bit flips: still a well-formed signature, but wrong.
    let mut raw = sig.to_bytes().to_vec();
    raw[40] ^= 0x01;
    assert_eq!(code(key.verify(message, &raw)), "bad_signature");
    // Not DER, not 64 bytes; or r = 0.
    assert_eq!(
        code(key.verify(message, &der[..der.len() - 1])),
        "malformed_signature"
    );
    assert_eq!(code(key.verify(message, &[0u8; 64])), "malformed_signature");
    assert_eq!(code(key.verify(message, &[])), "malformed_signature");
    assert_eq!(
        code(key.verify(message, &[0x30; 300])),
        "malformed_signature"
    );
    // BER with a non-minimal length is not DER.
    let mut ber = vec![0x30, 0x81, der[1]];
    ber.extend_from_slice(&der[2..]);
    assert_eq!(code(key.verify(message, &ber)), "malformed_signature");
}

#[test]
fn ed25519_signatures() {
    let signer = DeviceSigner::generate(Algorithm::EdDsa);
    let key = signer.device_key();
    let sig = signer.sign(b"m");
    assert_eq!(sig.len(), 64);
    assert_eq!(code(key.verify(b"m", &sig[..63])), "malformed_signature");
    // A P-256 DER signature on an Ed25519 key is malformed, not bad.
    let p256 = DeviceSigner::generate(Algorithm::Es256).sign(b"m");
    assert_ne!(p256.len(), 64);
    assert_eq!(code(key.verify(b"m", &p256)), "malformed_signature");
    // Non-canonical S (S + l) is refused by verify_strict.
    let mut s_plus_l = sig.clone();
    add_group_order(&mut s_plus_l[32..]);
    assert_ne!(code(key.verify(b"m", &s_plus_l)), "ok");
}

/// Adds the Ed25519 group order l to a little-endian 32-byte scalar.
fn add_group_order(s: &mut [u8]) {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut carry = 0u16;
    for (b, l) in s.iter_mut().zip(L) {
        let sum = u16::from(*b) + u16::from(l) + carry;
        *b = (sum & 0xff) as u8;
        carry = sum >> 8;
    }
}

#[test]
fn algorithm_confusion_between_device_keys() {
    // An Ed25519 signature presented for a P-256 key: 64 bytes, may parse as
    // r || s, but never verifies.
    let ec = DeviceSigner::generate(Algorithm::Es256);
    let ed = DeviceSigner::generate(Algorithm::EdDsa);
    let sig = ed.sign(b"m");
    assert!(matches!(
        code(ec.device_key().verify(b"m", &sig)),
        "bad_signature" | "malformed_signature"
    ));
}

#[test]
fn keys_of_other_algorithms_are_unsupported() {
    // `openssl genpkey -algorithm … | openssl pkey -pubout -outform DER`.
    let p384 = "MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAE+r+UeXlKLdrSY0naHUKs286kkgcxlB9V/y3EekDtDv4o9qZDO0gDOmQJGB4v6cVL8YCRFpVGAwqDzN6aNEUEi09aPVitvNxsyfC61SGBfY5AlKty3CC1bBnHZrvDGrpW";
    let rsa = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDNpQLg3UGXTdF+fGyBCkLJ7jHlhlAsbwFWxLLHYn56gVu94iY6dio5rL1iF22mOjOsF5wxOHgrHlz5E0osRf1J5R+d+zW3rT2TRD0tehB6w6M44QRA+PJF1bFPf6S/3gI+MLXXxew9NIwtAUAtDBjqXT78EiYIJtbP7CSoxN/thwIDAQAB";
    let x25519 = "MCowBQYDK2VuAyEABwqEryHbP+weF5T+sw3j7C88Ut9/oBTauHlHudH1AnU=";
    let ed448 = "MEMwBQYDK2VxAzoAkDsUTY64vbopB/hIwUHiOqTyzS51Z2XV/yFLY/PfOGrhEVqqD99NDHqBInJt+Ehf3JMSiQDkeySA";
    for (name, b64) in [
        ("p384", p384),
        ("rsa", rsa),
        ("x25519", x25519),
        ("ed448", ed448),
    ] {
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        let err = DeviceKey::from_spki_der(&der).unwrap_err();
        assert_eq!(err.code(), "unsupported_key", "{name}: {err}");
    }
}

#[test]
fn malformed_keys() {
    let good = DeviceSigner::generate(Algorithm::Es256)
        .device_key()
        .to_spki_der();
    let mut trailing = good.clone();
    trailing.push(0);
    let mut off_curve = good.clone();
    let last = off_curve.len() - 1;
    off_curve[last] ^= 1;
    let mut truncated = good.clone();
    truncated.truncate(good.len() - 1);
    for (name, der) in [
        ("empty", Vec::new()),
        ("trailing", trailing),
        ("off curve", off_curve),
        ("truncated", truncated),
        ("huge", vec![0x30; 9000]),
        ("junk", b"not a key".to_vec()),
    ] {
        let err = DeviceKey::from_spki_der(&der).unwrap_err();
        assert_eq!(err.code(), "malformed_key", "{name}: {err}");
    }
}

#[test]
fn compressed_points_are_accepted_with_the_same_thumbprint() {
    let key = DeviceSigner::generate(Algorithm::Es256).device_key();
    let spki = key.to_spki_der();
    let info = p256::pkcs8::spki::SubjectPublicKeyInfoRef::try_from(spki.as_slice()).unwrap();
    let point = p256::EncodedPoint::from_bytes(info.subject_public_key.raw_bytes()).unwrap();
    let compressed = p256::PublicKey::from_sec1_bytes(point.as_bytes())
        .unwrap()
        .to_encoded_point(true);
    let spki_compressed = p256::pkcs8::spki::SubjectPublicKeyInfoRef {
        algorithm: info.algorithm,
        subject_public_key: p256::pkcs8::der::asn1::BitStringRef::from_bytes(compressed.as_bytes())
            .unwrap(),
    }
    .to_der()
    .unwrap();
    assert_ne!(spki_compressed, spki);
    let parsed = DeviceKey::from_spki_der(&spki_compressed).unwrap();
    assert_eq!(parsed.thumbprint(), key.thumbprint());
    assert_eq!(parsed.to_spki_der(), spki);
}

#[test]
fn signer_pem_round_trip() {
    use secrecy::ExposeSecret as _;
    for alg in ALGS {
        let signer = DeviceSigner::generate(alg);
        let pem = signer.to_pkcs8_pem().unwrap();
        let back = DeviceSigner::from_pkcs8_pem(pem.expose_secret()).unwrap();
        assert_eq!(back.device_key(), signer.device_key());
        assert_eq!(back.algorithm(), alg);
    }
    assert_eq!(
        DeviceSigner::from_pkcs8_pem("nope").unwrap_err().code(),
        "malformed_key"
    );
    let key = SigningKey::generate(Algorithm::EdDsa);
    assert_eq!(
        DeviceKey::from(key.verifying_key()).algorithm(),
        Algorithm::EdDsa
    );
}

#[test]
fn every_error_code() {
    let codes: Vec<&str> = vec![
        DeviceKey::from_spki_der(b"").unwrap_err().code(),
        DeviceKey::from_spki_der(
            &base64::engine::general_purpose::STANDARD
                .decode("MCowBQYDK2VuAyEABwqEryHbP+weF5T+sw3j7C88Ut9/oBTauHlHudH1AnU=")
                .unwrap(),
        )
        .unwrap_err()
        .code(),
        code(
            DeviceSigner::generate(Algorithm::EdDsa)
                .device_key()
                .verify(b"m", &[1; 64]),
        ),
        code(
            DeviceSigner::generate(Algorithm::EdDsa)
                .device_key()
                .verify(b"m", &[1; 3]),
        ),
    ];
    assert_eq!(
        codes,
        [
            "malformed_key",
            "unsupported_key",
            "bad_signature",
            "malformed_signature"
        ]
    );
}
