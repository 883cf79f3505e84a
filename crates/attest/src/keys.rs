//! Key pairs: PKCS#8 private keys and SubjectPublicKeyInfo public keys, P-256
//! or Ed25519, DER or PEM.
//!
//! The concrete key types of `p256` and `ed25519-dalek` stay private so that
//! a change of those crates never changes this API.

use std::fmt;

use ed25519_dalek::Signer as _;
use p256::ecdsa::signature::Verifier as _;
use pkcs8::der::{Decode as _, Document, SecretDocument};
use pkcs8::spki::{DecodePublicKey as _, EncodePublicKey as _, SubjectPublicKeyInfoRef};
use pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, LineEnding, ObjectIdentifier};
use rand_core::OsRng;
use secrecy::SecretString;

use crate::Algorithm;

/// Largest key document (DER bytes, or PEM characters) accepted: P-256 and
/// Ed25519 keys are all well under 300 bytes; 8 KiB still lets an RSA key
/// through to be reported as unsupported rather than malformed.
pub(crate) const MAX_KEY_DOCUMENT: usize = 8 * 1024;

/// `id-ecPublicKey` (RFC 5480).
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// `secp256r1` / P-256 named curve (RFC 5480).
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// `id-Ed25519` (RFC 8410).
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// Why a key document was refused. Messages never contain key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not a well-formed PKCS#8 / SubjectPublicKeyInfo document, or the key
    /// bytes inside are not a valid point / scalar.
    #[error("malformed key: {0}")]
    Malformed(String),
    /// A well-formed key of an algorithm other than P-256 ECDSA or Ed25519
    /// (RSA, P-384, X25519, …).
    #[error("unsupported key: {0}")]
    Unsupported(String),
}

impl KeyError {
    /// Stable machine code: `malformed_key` or `unsupported_key`.
    pub fn code(&self) -> &'static str {
        match self {
            KeyError::Malformed(_) => "malformed_key",
            KeyError::Unsupported(_) => "unsupported_key",
        }
    }
}

fn malformed(what: impl fmt::Display) -> KeyError {
    KeyError::Malformed(what.to_string())
}

/// Which of our algorithms an `AlgorithmIdentifier` names.
fn classify(
    oid: ObjectIdentifier,
    parameters: Option<ObjectIdentifier>,
) -> Result<Algorithm, KeyError> {
    match (oid, parameters) {
        (OID_ED25519, _) => Ok(Algorithm::EdDsa),
        (OID_EC_PUBLIC_KEY, Some(OID_P256)) => Ok(Algorithm::Es256),
        (OID_EC_PUBLIC_KEY, Some(curve)) => Err(KeyError::Unsupported(format!(
            "elliptic curve {curve} (only P-256 and Ed25519 are supported)"
        ))),
        (OID_EC_PUBLIC_KEY, None) => Err(malformed("EC key without a named curve")),
        (other, _) => Err(KeyError::Unsupported(format!(
            "key algorithm {} (only P-256 and Ed25519 are supported)",
            describe_oid(other)
        ))),
    }
}

fn describe_oid(oid: ObjectIdentifier) -> String {
    let name = match oid.to_string().as_str() {
        "1.2.840.113549.1.1.1" => " (RSA)",
        "1.3.101.110" => " (X25519)",
        "1.3.101.111" => " (X448)",
        "1.3.101.113" => " (Ed448)",
        "1.2.840.10040.4.1" => " (DSA)",
        _ => "",
    };
    format!("{oid}{name}")
}

/// Checks the size of a PEM document before decoding it.
fn bounded_pem(pem: &str) -> Result<&str, KeyError> {
    if pem.len() > MAX_KEY_DOCUMENT {
        return Err(malformed(format!(
            "PEM document over {MAX_KEY_DOCUMENT} bytes"
        )));
    }
    Ok(pem.trim())
}

/// Refuses a PEM label other than `label`, with a hint for the usual
/// non-PKCS#8 encodings.
fn check_label(found: &str, label: &str) -> Result<(), KeyError> {
    if found == label {
        return Ok(());
    }
    Err(match found {
        "EC PRIVATE KEY" | "RSA PRIVATE KEY" | "RSA PUBLIC KEY" => KeyError::Unsupported(format!(
            "PEM label {found:?}: convert it to a PKCS#8 / SubjectPublicKeyInfo document (\"{label}\")"
        )),
        _ => malformed(format!("PEM label {found:?}, expected {label:?}")),
    })
}

fn secret_pem(doc: &SecretDocument) -> Result<SecretString, KeyError> {
    doc.to_pem("PRIVATE KEY", LineEnding::LF)
        .map(|pem| SecretString::from(pem.as_str()))
        .map_err(|e| malformed(format!("encoding PKCS#8 PEM: {e}")))
}

/// A private signing key (P-256 ECDSA or Ed25519). `Debug` never shows the
/// secret; the secret bytes are wiped on drop.
#[derive(Clone)]
pub struct SigningKey(Secret);

#[derive(Clone)]
enum Secret {
    P256(p256::ecdsa::SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
}

impl SigningKey {
    /// A fresh random key from the operating system's CSPRNG.
    pub fn generate(alg: Algorithm) -> SigningKey {
        SigningKey(match alg {
            Algorithm::Es256 => Secret::P256(p256::ecdsa::SigningKey::random(&mut OsRng)),
            Algorithm::EdDsa => Secret::Ed25519(ed25519_dalek::SigningKey::generate(&mut OsRng)),
        })
    }

    /// Parses a PKCS#8 `PRIVATE KEY` PEM document (what `openssl genpkey`
    /// writes). SEC1 `EC PRIVATE KEY` files are refused as unsupported
    /// with a hint to convert them.
    pub fn from_pkcs8_pem(pem: &str) -> Result<SigningKey, KeyError> {
        // `SecretDocument` wipes the decoded DER on drop.
        let (label, doc) = SecretDocument::from_pem(bounded_pem(pem)?)
            .map_err(|e| malformed(format!("PEM: {e}")))?;
        check_label(label, "PRIVATE KEY")?;
        SigningKey::from_pkcs8_der(doc.as_bytes())
    }

    /// Parses a PKCS#8 DER document (v1 or v2).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<SigningKey, KeyError> {
        if der.len() > MAX_KEY_DOCUMENT {
            return Err(malformed(format!(
                "PKCS#8 document over {MAX_KEY_DOCUMENT} bytes"
            )));
        }
        let info =
            pkcs8::PrivateKeyInfo::from_der(der).map_err(|e| malformed(format!("PKCS#8: {e}")))?;
        let curve = info.algorithm.parameters_oid().ok();
        match classify(info.algorithm.oid, curve)? {
            Algorithm::Es256 => p256::ecdsa::SigningKey::from_pkcs8_der(der)
                .map(|k| SigningKey(Secret::P256(k)))
                .map_err(|e| malformed(format!("P-256 private key: {e}"))),
            Algorithm::EdDsa => ed25519_dalek::SigningKey::from_pkcs8_der(der)
                .map(|k| SigningKey(Secret::Ed25519(k)))
                .map_err(|e| malformed(format!("Ed25519 private key: {e}"))),
        }
    }

    /// The PKCS#8 `PRIVATE KEY` PEM document (LF line endings), as a secret.
    pub fn to_pkcs8_pem(&self) -> Result<SecretString, KeyError> {
        let doc = match &self.0 {
            Secret::P256(k) => k.to_pkcs8_der(),
            Secret::Ed25519(k) => k.to_pkcs8_der(),
        }
        .map_err(|e| malformed(format!("encoding PKCS#8: {e}")))?;
        secret_pem(&doc)
    }

    /// The algorithm of this key.
    pub fn algorithm(&self) -> Algorithm {
        match self.0 {
            Secret::P256(_) => Algorithm::Es256,
            Secret::Ed25519(_) => Algorithm::EdDsa,
        }
    }

    /// The matching public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey(match &self.0 {
            Secret::P256(k) => Public::P256(*k.verifying_key()),
            Secret::Ed25519(k) => Public::Ed25519(k.verifying_key()),
        })
    }

    /// Signs `message`: the 64-byte JWS form (`r || s` for ES256, RFC 7518
    /// §3.4; the Ed25519 signature for EdDSA).
    pub(crate) fn sign_fixed(&self, message: &[u8]) -> Vec<u8> {
        match &self.0 {
            Secret::P256(k) => {
                let sig: p256::ecdsa::Signature = k.sign(message);
                sig.to_bytes().to_vec()
            }
            Secret::Ed25519(k) => k.sign(message).to_bytes().to_vec(),
        }
    }

    /// Signs `message` in the form phone keystores produce: ASN.1 DER
    /// `ECDSA-Sig-Value` for P-256, the 64-byte signature for Ed25519.
    pub(crate) fn sign_der(&self, message: &[u8]) -> Vec<u8> {
        match &self.0 {
            Secret::P256(k) => {
                let sig: p256::ecdsa::Signature = k.sign(message);
                sig.to_der().as_bytes().to_vec()
            }
            Secret::Ed25519(k) => k.sign(message).to_bytes().to_vec(),
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({}, <secret>)", self.algorithm())
    }
}

/// A public key (P-256 ECDSA or Ed25519), as found in a SubjectPublicKeyInfo.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifyingKey(Public);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Public {
    P256(p256::ecdsa::VerifyingKey),
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl VerifyingKey {
    /// Parses a SubjectPublicKeyInfo `PUBLIC KEY` PEM document (what
    /// `openssl pkey -pubout` writes).
    pub fn from_public_key_pem(pem: &str) -> Result<VerifyingKey, KeyError> {
        let (label, doc) =
            Document::from_pem(bounded_pem(pem)?).map_err(|e| malformed(format!("PEM: {e}")))?;
        check_label(label, "PUBLIC KEY")?;
        VerifyingKey::from_spki_der(doc.as_bytes())
    }

    /// Parses a DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7): `id-ecPublicKey`
    /// on P-256 (compressed or uncompressed point) or `id-Ed25519`. Trailing
    /// bytes, the point at infinity and points off the curve are refused.
    pub fn from_spki_der(der: &[u8]) -> Result<VerifyingKey, KeyError> {
        if der.len() > MAX_KEY_DOCUMENT {
            return Err(malformed(format!(
                "SubjectPublicKeyInfo over {MAX_KEY_DOCUMENT} bytes"
            )));
        }
        let spki = SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|e| malformed(format!("SubjectPublicKeyInfo: {e}")))?;
        let curve = spki.algorithm.parameters_oid().ok();
        match classify(spki.algorithm.oid, curve)? {
            Algorithm::Es256 => p256::ecdsa::VerifyingKey::from_public_key_der(der)
                .map(|k| VerifyingKey(Public::P256(k)))
                .map_err(|e| malformed(format!("P-256 public key: {e}"))),
            Algorithm::EdDsa => ed25519_dalek::VerifyingKey::from_public_key_der(der)
                .map(|k| VerifyingKey(Public::Ed25519(k)))
                .map_err(|e| malformed(format!("Ed25519 public key: {e}"))),
        }
    }

    /// The canonical DER SubjectPublicKeyInfo (uncompressed point for P-256).
    pub fn to_spki_der(&self) -> Vec<u8> {
        let doc = match &self.0 {
            Public::P256(k) => k.to_public_key_der(),
            Public::Ed25519(k) => k.to_public_key_der(),
        };
        match doc {
            Ok(doc) => doc.into_vec(),
            // Encoding a valid in-memory key cannot fail (fixed, small
            // structures); an empty document would fail every later parse.
            Err(_) => Vec::new(),
        }
    }

    /// The `PUBLIC KEY` PEM document of [`VerifyingKey::to_spki_der`].
    pub fn to_public_key_pem(&self) -> String {
        Document::try_from(self.to_spki_der())
            .and_then(|doc| doc.to_pem("PUBLIC KEY", LineEnding::LF))
            .unwrap_or_default()
    }

    /// The algorithm of this key.
    pub fn algorithm(&self) -> Algorithm {
        match self.0 {
            Public::P256(_) => Algorithm::Es256,
            Public::Ed25519(_) => Algorithm::EdDsa,
        }
    }

    /// Verifies a 64-byte JWS-form signature (`r || s`, or Ed25519).
    /// `None` if the bytes are not a well-formed signature of this key type.
    pub(crate) fn verify_fixed(&self, message: &[u8], signature: &[u8]) -> Option<bool> {
        match &self.0 {
            Public::P256(k) => {
                let sig = p256::ecdsa::Signature::from_slice(signature).ok()?;
                Some(k.verify(message, &sig).is_ok())
            }
            Public::Ed25519(k) => {
                let bytes: &[u8; 64] = signature.try_into().ok()?;
                let sig = ed25519_dalek::Signature::from_bytes(bytes);
                Some(k.verify_strict(message, &sig).is_ok())
            }
        }
    }

    /// Verifies an ASN.1 DER `ECDSA-Sig-Value` (P-256 keys only). `None` if
    /// the bytes are not strict DER or this is not a P-256 key.
    pub(crate) fn verify_der(&self, message: &[u8], signature: &[u8]) -> Option<bool> {
        match &self.0 {
            Public::P256(k) => {
                let sig = p256::ecdsa::Signature::from_der(signature).ok()?;
                Some(k.verify(message, &sig).is_ok())
            }
            Public::Ed25519(_) => None,
        }
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifyingKey({})", self.algorithm())
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret as _;

    use super::*;

    const ALGS: [Algorithm; 2] = [Algorithm::Es256, Algorithm::EdDsa];

    #[test]
    fn pem_round_trips() {
        for alg in ALGS {
            let key = SigningKey::generate(alg);
            let pem = key.to_pkcs8_pem().unwrap();
            assert!(
                pem.expose_secret()
                    .starts_with("-----BEGIN PRIVATE KEY-----\n")
            );
            let back = SigningKey::from_pkcs8_pem(pem.expose_secret()).unwrap();
            assert_eq!(back.algorithm(), alg);
            assert_eq!(back.verifying_key(), key.verifying_key());

            let public = key.verifying_key().to_public_key_pem();
            assert!(public.starts_with("-----BEGIN PUBLIC KEY-----\n"));
            let parsed = VerifyingKey::from_public_key_pem(&public).unwrap();
            assert_eq!(parsed, key.verifying_key());
            assert_eq!(parsed.algorithm(), alg);
        }
    }

    #[test]
    fn openssl_style_documents_parse() {
        // `openssl genpkey -algorithm ed25519` and its `-pubout`.
        let private = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIOBOyMxEK3JN9MLTg7cSNMPh6mZhVJ1zCmpFGyNVEAeQ\n-----END PRIVATE KEY-----\n";
        let key = SigningKey::from_pkcs8_pem(private).unwrap();
        assert_eq!(key.algorithm(), Algorithm::EdDsa);
        let der = key.verifying_key().to_spki_der();
        assert_eq!(der.len(), 44);

        // `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`.
        let private = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgqxNIRn6J0IrXvIk1
x4Y6e1yxCTqBjx1BPkgadCc3INChRANCAAT51FvYdMQ/2pw+/KtiS5GpImQJfygG
wWYr0VV5OFN+rX/9VhnBspDJ3XabJhz8uP9zTrzp4FJQEgmDsHoOMV6M
-----END PRIVATE KEY-----
";
        let key = SigningKey::from_pkcs8_pem(private).unwrap();
        assert_eq!(key.algorithm(), Algorithm::Es256);
        // … and its `openssl pkey -pubout`.
        let public = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE+dRb2HTEP9qcPvyrYkuRqSJkCX8o
BsFmK9FVeThTfq1//VYZwbKQyd12myYc/Lj/c0686eBSUBIJg7B6DjFejA==
-----END PUBLIC KEY-----
";
        assert_eq!(
            VerifyingKey::from_public_key_pem(public).unwrap(),
            key.verifying_key()
        );
        assert_eq!(key.verifying_key().to_public_key_pem(), public);
    }

    #[test]
    fn wrong_labels_and_garbage() {
        let key = SigningKey::generate(Algorithm::Es256);
        let private = key.to_pkcs8_pem().unwrap();
        let err = VerifyingKey::from_public_key_pem(private.expose_secret()).unwrap_err();
        assert_eq!(err.code(), "malformed_key");
        let public = key.verifying_key().to_public_key_pem();
        assert_eq!(
            SigningKey::from_pkcs8_pem(&public).unwrap_err().code(),
            "malformed_key"
        );
        let sec1 = private
            .expose_secret()
            .replace("PRIVATE KEY", "EC PRIVATE KEY");
        assert_eq!(
            SigningKey::from_pkcs8_pem(&sec1).unwrap_err().code(),
            "unsupported_key"
        );
        assert_eq!(
            SigningKey::from_pkcs8_der(b"\x30\x00").unwrap_err().code(),
            "malformed_key"
        );
        let huge = "A".repeat(MAX_KEY_DOCUMENT + 1);
        assert_eq!(
            VerifyingKey::from_public_key_pem(&huge).unwrap_err().code(),
            "malformed_key"
        );
    }

    #[test]
    fn debug_hides_the_secret() {
        let key = SigningKey::generate(Algorithm::EdDsa);
        assert_eq!(format!("{key:?}"), "SigningKey(EdDSA, <secret>)");
    }
}
