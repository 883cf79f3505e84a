//! Signature algorithms and verification with aws-lc-rs.
//!
//! Supported: RSA PKCS#1 v1.5 and RSA-PSS with SHA-256/384/512 (keys of 2048 to 8192
//! bits), ECDSA on P-256 and P-384 with SHA-256/384, Ed25519. SHA-1 and everything
//! else is [`Reason::UnsupportedAlgorithm`].

use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};

use crate::der::{self, Reader};
use crate::reason::{Error, Reason};

/// A signature algorithm this crate verifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureAlgorithm {
    /// sha256WithRSAEncryption.
    RsaPkcs1Sha256,
    /// sha384WithRSAEncryption.
    RsaPkcs1Sha384,
    /// sha512WithRSAEncryption.
    RsaPkcs1Sha512,
    /// RSASSA-PSS, SHA-256, MGF1-SHA-256, salt 32.
    RsaPssSha256,
    /// RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48.
    RsaPssSha384,
    /// RSASSA-PSS, SHA-512, MGF1-SHA-512, salt 64.
    RsaPssSha512,
    /// ecdsa-with-SHA256 on a P-256 key.
    EcdsaP256Sha256,
    /// ecdsa-with-SHA384 on a P-384 key.
    EcdsaP384Sha384,
    /// ecdsa-with-SHA384 on a P-256 key.
    EcdsaP256Sha384,
    /// ecdsa-with-SHA256 on a P-384 key.
    EcdsaP384Sha256,
    /// Ed25519 (pure).
    Ed25519,
}

// OID content bytes.
const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const RSASSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
const SHA256_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
const SHA384_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c];
const SHA512_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d];
const MGF1: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08];
const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
const ECDSA_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03];
const ED25519: &[u8] = &[0x2b, 0x65, 0x70];
const SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
const SHA384: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02];
const SHA512: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03];

fn unsupported(detail: impl Into<String>) -> Error {
    Error::new(Reason::UnsupportedAlgorithm, detail)
}

fn oid_text(content: &[u8]) -> String {
    der::oid_to_string(content).unwrap_or_else(|| "<bad oid>".to_owned())
}

impl SignatureAlgorithm {
    /// Reads a DER `AlgorithmIdentifier` (the whole SEQUENCE).
    ///
    /// ECDSA identifiers name only the hash: they yield [`Self::EcdsaP256Sha256`] or
    /// [`Self::EcdsaP384Sha384`], and [`verify_signed_data`] then takes the curve from
    /// the signer's key. RSA-PSS parameters must be the RFC 4055 profile used by
    /// everyone: same hash for the message and MGF1, salt length = hash length,
    /// trailer field 1.
    pub fn from_der(alg_id_der: &[u8]) -> Result<Self, Error> {
        let malformed = || unsupported("malformed AlgorithmIdentifier");
        let seq = der::single(alg_id_der, der::SEQUENCE).ok_or_else(malformed)?;
        let mut r = Reader::new(seq.value);
        let oid = r.expect(der::OID).ok_or_else(malformed)?.value;
        let params = r.read();
        if !r.is_empty() {
            return Err(malformed());
        }
        let null_or_absent = match params {
            None => true,
            Some(p) => p.tag == der::NULL && p.value.is_empty(),
        };
        let absent = params.is_none();
        let alg = match oid {
            SHA256_RSA if null_or_absent => Self::RsaPkcs1Sha256,
            SHA384_RSA if null_or_absent => Self::RsaPkcs1Sha384,
            SHA512_RSA if null_or_absent => Self::RsaPkcs1Sha512,
            ECDSA_SHA256 if absent => Self::EcdsaP256Sha256,
            ECDSA_SHA384 if absent => Self::EcdsaP384Sha384,
            ED25519 if absent => Self::Ed25519,
            RSASSA_PSS => match params {
                Some(p) if p.tag == der::SEQUENCE => pss_params(p.value)?,
                _ => return Err(unsupported("RSA-PSS without parameters (SHA-1 defaults)")),
            },
            SHA256_RSA | SHA384_RSA | SHA512_RSA | ECDSA_SHA256 | ECDSA_SHA384 | ED25519 => {
                return Err(unsupported(format!(
                    "unexpected parameters for signature algorithm {}",
                    oid_text(oid)
                )));
            }
            other => {
                return Err(unsupported(format!(
                    "signature algorithm {} is not supported",
                    oid_text(other)
                )));
            }
        };
        Ok(alg)
    }

    fn key_kind(self) -> KeyKind {
        match self {
            Self::RsaPkcs1Sha256
            | Self::RsaPkcs1Sha384
            | Self::RsaPkcs1Sha512
            | Self::RsaPssSha256
            | Self::RsaPssSha384
            | Self::RsaPssSha512 => KeyKind::Rsa,
            Self::EcdsaP256Sha256 | Self::EcdsaP256Sha384 => KeyKind::P256,
            Self::EcdsaP384Sha384 | Self::EcdsaP384Sha256 => KeyKind::P384,
            Self::Ed25519 => KeyKind::Ed25519,
        }
    }

    fn is_pss(self) -> bool {
        matches!(
            self,
            Self::RsaPssSha256 | Self::RsaPssSha384 | Self::RsaPssSha512
        )
    }

    /// The same hash on the curve of `kind` (ECDSA identifiers do not name the curve).
    fn on_curve(self, kind: KeyKind) -> Self {
        match (self, kind) {
            (Self::EcdsaP256Sha256 | Self::EcdsaP384Sha256, KeyKind::P256) => Self::EcdsaP256Sha256,
            (Self::EcdsaP256Sha256 | Self::EcdsaP384Sha256, KeyKind::P384) => Self::EcdsaP384Sha256,
            (Self::EcdsaP384Sha384 | Self::EcdsaP256Sha384, KeyKind::P256) => Self::EcdsaP256Sha384,
            (Self::EcdsaP384Sha384 | Self::EcdsaP256Sha384, KeyKind::P384) => Self::EcdsaP384Sha384,
            (other, _) => other,
        }
    }

    fn aws(self) -> &'static dyn VerificationAlgorithm {
        match self {
            Self::RsaPkcs1Sha256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            Self::RsaPkcs1Sha384 => &signature::RSA_PKCS1_2048_8192_SHA384,
            Self::RsaPkcs1Sha512 => &signature::RSA_PKCS1_2048_8192_SHA512,
            Self::RsaPssSha256 => &signature::RSA_PSS_2048_8192_SHA256,
            Self::RsaPssSha384 => &signature::RSA_PSS_2048_8192_SHA384,
            Self::RsaPssSha512 => &signature::RSA_PSS_2048_8192_SHA512,
            Self::EcdsaP256Sha256 => &signature::ECDSA_P256_SHA256_ASN1,
            Self::EcdsaP384Sha384 => &signature::ECDSA_P384_SHA384_ASN1,
            Self::EcdsaP256Sha384 => &signature::ECDSA_P256_SHA384_ASN1,
            Self::EcdsaP384Sha256 => &signature::ECDSA_P384_SHA256_ASN1,
            Self::Ed25519 => &signature::ED25519,
        }
    }
}

/// RSASSA-PSS-params: only the "hash everywhere, salt = hash length" profile.
fn pss_params(seq: &[u8]) -> Result<SignatureAlgorithm, Error> {
    let bad = || unsupported("unsupported RSA-PSS parameters");
    let mut r = Reader::new(seq);
    // [0] hashAlgorithm (default SHA-1, refused)
    let hash = r.expect(0xa0).ok_or_else(bad)?;
    let hash = hash_oid(hash.value).ok_or_else(bad)?;
    // [1] maskGenAlgorithm: MGF1 with the same hash
    let mgf = r.expect(0xa1).ok_or_else(bad)?;
    let mgf = der::single(mgf.value, der::SEQUENCE).ok_or_else(bad)?;
    let mut m = Reader::new(mgf.value);
    if m.expect(der::OID).map(|t| t.value) != Some(MGF1) {
        return Err(bad());
    }
    let mgf_hash = m.read().ok_or_else(bad)?;
    if !m.is_empty() || hash_oid(mgf_hash.raw) != Some(hash) {
        return Err(bad());
    }
    // [2] saltLength = hash length (default 20 is SHA-1's, refused)
    let salt = r.expect(0xa2).ok_or_else(bad)?;
    let salt = der::single(salt.value, der::INTEGER).ok_or_else(bad)?;
    let want: u8 = match hash {
        SHA256 => 32,
        SHA384 => 48,
        _ => 64,
    };
    if salt.value != [want] {
        return Err(bad());
    }
    // [3] trailerField: absent or 1 (DER forbids encoding the default, tolerate it)
    if let Some(trailer) = r.optional(0xa3) {
        let t = der::single(trailer.value, der::INTEGER).ok_or_else(bad)?;
        if t.value != [1] {
            return Err(bad());
        }
    }
    if !r.is_empty() {
        return Err(bad());
    }
    Ok(match hash {
        SHA256 => SignatureAlgorithm::RsaPssSha256,
        SHA384 => SignatureAlgorithm::RsaPssSha384,
        _ => SignatureAlgorithm::RsaPssSha512,
    })
}

/// The OID of a hash AlgorithmIdentifier (SHA-256/384/512, parameters NULL or absent).
fn hash_oid(alg_id: &[u8]) -> Option<&'static [u8]> {
    let seq = der::single(alg_id, der::SEQUENCE)?;
    let mut r = Reader::new(seq.value);
    let oid = r.expect(der::OID)?.value;
    if let Some(p) = r.read()
        && (p.tag != der::NULL || !p.value.is_empty() || !r.is_empty())
    {
        return None;
    }
    [SHA256, SHA384, SHA512].into_iter().find(|h| *h == oid)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyKind {
    Rsa,
    RsaPssOnly,
    P256,
    P384,
    Ed25519,
}

/// A SubjectPublicKeyInfo split into what the verifiers need.
struct Spki<'a> {
    kind: KeyKind,
    /// The subjectPublicKey BIT STRING contents (without the unused-bits byte).
    key: &'a [u8],
}

fn parse_spki(spki_der: &[u8]) -> Result<Spki<'_>, Error> {
    let bad = || {
        Error::new(
            Reason::UnsupportedAlgorithm,
            "malformed SubjectPublicKeyInfo",
        )
    };
    let seq = der::single(spki_der, der::SEQUENCE).ok_or_else(bad)?;
    let mut r = Reader::new(seq.value);
    let alg = r.expect(der::SEQUENCE).ok_or_else(bad)?;
    let bits = r.expect(der::BIT_STRING).ok_or_else(bad)?;
    if !r.is_empty() {
        return Err(bad());
    }
    let key = match bits.value.split_first() {
        Some((0, key)) => key,
        _ => return Err(bad()),
    };
    let mut a = Reader::new(alg.value);
    let oid = a.expect(der::OID).ok_or_else(bad)?.value;
    let params = a.read();
    if !a.is_empty() {
        return Err(bad());
    }
    let kind = match oid {
        RSA_ENCRYPTION => KeyKind::Rsa,
        RSASSA_PSS => KeyKind::RsaPssOnly,
        EC_PUBLIC_KEY => match params {
            Some(p) if p.tag == der::OID && p.value == P256 => KeyKind::P256,
            Some(p) if p.tag == der::OID && p.value == P384 => KeyKind::P384,
            _ => return Err(unsupported("elliptic curve other than P-256 and P-384")),
        },
        ED25519 if params.is_none() => KeyKind::Ed25519,
        other => {
            return Err(unsupported(format!(
                "public key algorithm {} is not supported",
                oid_text(other)
            )));
        }
    };
    Ok(Spki { kind, key })
}

/// Smallest RSA modulus accepted, in bits (the verifiers' own floor, and IGC-Santé's).
pub const MIN_RSA_BITS: usize = 2048;

/// A public-key algorithm, as a trust family may allow it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    /// RSA (PKCS#1 v1.5 or PSS keys).
    Rsa,
    /// ECDSA on P-256.
    EcP256,
    /// ECDSA on P-384.
    EcP384,
    /// Ed25519.
    Ed25519,
}

impl KeyAlgorithm {
    /// Every supported algorithm.
    pub const ALL: [Self; 4] = [Self::Rsa, Self::EcP256, Self::EcP384, Self::Ed25519];

    /// Its configuration name: `rsa`, `ec-p256`, `ec-p384`, `ed25519`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rsa => "rsa",
            Self::EcP256 => "ec-p256",
            Self::EcP384 => "ec-p384",
            Self::Ed25519 => "ed25519",
        }
    }

    /// The algorithm of a configuration name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// The algorithm of a SubjectPublicKeyInfo and, for RSA, its modulus size in bits.
pub fn key_algorithm(spki_der: &[u8]) -> Result<(KeyAlgorithm, Option<usize>), Error> {
    let spki = parse_spki(spki_der)?;
    Ok(match spki.kind {
        KeyKind::Rsa | KeyKind::RsaPssOnly => (KeyAlgorithm::Rsa, Some(rsa_bits(spki.key)?)),
        KeyKind::P256 => (KeyAlgorithm::EcP256, None),
        KeyKind::P384 => (KeyAlgorithm::EcP384, None),
        KeyKind::Ed25519 => (KeyAlgorithm::Ed25519, None),
    })
}

/// Checks a certificate's own public key: a supported type ([`Reason::UnsupportedAlgorithm`]
/// for DSA, P-192…) and, for RSA, a modulus of at least [`MIN_RSA_BITS`] that is a whole
/// number of octets ([`Reason::WeakKey`]). A trust family may ask more (see
/// [`crate::trust::KeyPolicy`]).
pub fn check_public_key(spki_der: &[u8]) -> Result<(), Error> {
    match key_algorithm(spki_der)? {
        (KeyAlgorithm::Rsa, Some(bits)) if bits < MIN_RSA_BITS || bits % 8 != 0 => Err(Error::new(
            Reason::WeakKey,
            format!("RSA key of {bits} bits: at least {MIN_RSA_BITS}, a whole number of octets"),
        )),
        _ => Ok(()),
    }
}

/// The modulus size of an RSAPublicKey, in bits.
fn rsa_bits(key: &[u8]) -> Result<usize, Error> {
    let bad = || Error::new(Reason::UnsupportedAlgorithm, "malformed RSA public key");
    let seq = der::single(key, der::SEQUENCE).ok_or_else(bad)?;
    let modulus = Reader::new(seq.value)
        .expect(der::INTEGER)
        .ok_or_else(bad)?
        .value;
    let modulus = match modulus {
        [0, rest @ ..] => rest,
        all => all,
    };
    Ok(modulus
        .first()
        .map_or(0, |b| modulus.len() * 8 - b.leading_zeros() as usize))
}

/// Verifies `signature` over `message` with the key of `spki_der`, using exactly `alg`.
///
/// [`Reason::UnsupportedAlgorithm`] when the key type does not fit `alg` (a P-256
/// algorithm with an RSA key, an RSA-PSS-only key with PKCS#1 v1.5…) or is not
/// supported; [`Reason::BadSignature`] when the signature does not verify.
pub fn verify(
    spki_der: &[u8],
    alg: SignatureAlgorithm,
    message: &[u8],
    signature: &[u8],
) -> Result<(), Error> {
    let spki = parse_spki(spki_der)?;
    verify_parsed(spki_der, &spki, alg, message, signature)
}

fn verify_parsed(
    spki_der: &[u8],
    spki: &Spki<'_>,
    alg: SignatureAlgorithm,
    message: &[u8],
    signature: &[u8],
) -> Result<(), Error> {
    let fits = match (alg.key_kind(), spki.kind) {
        (KeyKind::Rsa, KeyKind::Rsa) => true,
        (KeyKind::Rsa, KeyKind::RsaPssOnly) => alg.is_pss(),
        (want, have) => want == have,
    };
    if !fits {
        return Err(unsupported(format!(
            "signature algorithm {alg:?} does not fit a {:?} key",
            spki.kind
        )));
    }
    // aws-lc-rs parses an EC SubjectPublicKeyInfo first, an RSAPublicKey first for RSA
    // and a raw key for Ed25519: hand each the form it tries first.
    let key = match spki.kind {
        KeyKind::P256 | KeyKind::P384 => spki_der,
        KeyKind::Rsa | KeyKind::RsaPssOnly | KeyKind::Ed25519 => spki.key,
    };
    UnparsedPublicKey::new(alg.aws(), key)
        .verify(message, signature)
        .map_err(|_| Error::new(Reason::BadSignature, "signature does not verify"))
}

/// Verifies a signed structure (certificate, CRL, OCSP response): `alg_id_der` is the
/// outer `AlgorithmIdentifier` SEQUENCE, `signature` the BIT STRING contents without
/// the unused-bits byte. ECDSA takes its curve from the signer's key.
pub fn verify_signed_data(
    signer_spki_der: &[u8],
    alg_id_der: &[u8],
    tbs: &[u8],
    signature: &[u8],
) -> Result<(), Error> {
    let alg = SignatureAlgorithm::from_der(alg_id_der)?;
    let spki = parse_spki(signer_spki_der)?;
    verify_parsed(
        signer_spki_der,
        &spki,
        alg.on_curve(spki.kind),
        tbs,
        signature,
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn alg(oid: &[u8], params: &[u8]) -> Vec<u8> {
        let mut inner = vec![der::OID, oid.len() as u8];
        inner.extend_from_slice(oid);
        inner.extend_from_slice(params);
        let mut out = vec![der::SEQUENCE, inner.len() as u8];
        out.extend(inner);
        out
    }

    #[test]
    fn reads_the_usual_identifiers() {
        use SignatureAlgorithm as S;
        assert_eq!(
            S::from_der(&alg(SHA256_RSA, &[5, 0])).unwrap(),
            S::RsaPkcs1Sha256
        );
        assert_eq!(
            S::from_der(&alg(SHA384_RSA, &[])).unwrap(),
            S::RsaPkcs1Sha384
        );
        assert_eq!(
            S::from_der(&alg(ECDSA_SHA256, &[])).unwrap(),
            S::EcdsaP256Sha256
        );
        assert_eq!(
            S::from_der(&alg(ECDSA_SHA384, &[])).unwrap(),
            S::EcdsaP384Sha384
        );
        assert_eq!(S::from_der(&alg(ED25519, &[])).unwrap(), S::Ed25519);
        let err = S::from_der(&alg(ECDSA_SHA256, &[5, 0])).unwrap_err();
        assert_eq!(err.reason, Reason::UnsupportedAlgorithm);
        // sha1WithRSAEncryption
        let sha1 = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05];
        assert_eq!(
            S::from_der(&alg(&sha1, &[5, 0])).unwrap_err().reason,
            Reason::UnsupportedAlgorithm
        );
        assert!(S::from_der(&[0x30, 0x00]).is_err());
        assert!(S::from_der(&[]).is_err());
        // PSS without parameters means SHA-1 defaults.
        assert!(S::from_der(&alg(RSASSA_PSS, &[])).is_err());
    }

    #[test]
    fn pss_parameters_must_match_the_profile() {
        // SHA-256 / MGF1-SHA-256 / salt 32
        let sha256 = alg(SHA256, &[]);
        let mut mgf_inner = vec![der::OID, MGF1.len() as u8];
        mgf_inner.extend_from_slice(MGF1);
        mgf_inner.extend_from_slice(&sha256);
        let mut mgf = vec![der::SEQUENCE, mgf_inner.len() as u8];
        mgf.extend(mgf_inner);
        let wrap = |tag: u8, v: &[u8]| {
            let mut o = vec![tag, v.len() as u8];
            o.extend_from_slice(v);
            o
        };
        let build = |salt: u8| {
            let mut p = wrap(0xa0, &sha256);
            p.extend(wrap(0xa1, &mgf));
            p.extend(wrap(0xa2, &[der::INTEGER, 1, salt]));
            alg(RSASSA_PSS, &wrap(der::SEQUENCE, &p))
        };
        assert_eq!(
            SignatureAlgorithm::from_der(&build(32)).unwrap(),
            SignatureAlgorithm::RsaPssSha256
        );
        assert!(SignatureAlgorithm::from_der(&build(20)).is_err());
    }

    #[test]
    fn key_type_must_fit_the_algorithm() {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = aws_lc_rs::signature::EcdsaKeyPair::generate_pkcs8(
            &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            &rng,
        )
        .unwrap();
        let kp = aws_lc_rs::signature::EcdsaKeyPair::from_pkcs8(
            &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            pkcs8.as_ref(),
        )
        .unwrap();
        use aws_lc_rs::encoding::AsDer as _;
        use aws_lc_rs::signature::KeyPair as _;
        let spki = kp.public_key().as_der().unwrap();
        let sig = kp.sign(&rng, b"hello").unwrap();
        verify(
            spki.as_ref(),
            SignatureAlgorithm::EcdsaP256Sha256,
            b"hello",
            sig.as_ref(),
        )
        .unwrap();
        let e = verify(
            spki.as_ref(),
            SignatureAlgorithm::EcdsaP256Sha256,
            b"hellp",
            sig.as_ref(),
        )
        .unwrap_err();
        assert_eq!(e.reason, Reason::BadSignature);
        let e = verify(
            spki.as_ref(),
            SignatureAlgorithm::RsaPkcs1Sha256,
            b"hello",
            sig.as_ref(),
        )
        .unwrap_err();
        assert_eq!(e.reason, Reason::UnsupportedAlgorithm);
        let e = verify(
            spki.as_ref(),
            SignatureAlgorithm::EcdsaP384Sha384,
            b"hello",
            sig.as_ref(),
        )
        .unwrap_err();
        assert_eq!(e.reason, Reason::UnsupportedAlgorithm);
        // verify_signed_data picks the curve from the key.
        verify_signed_data(
            spki.as_ref(),
            &alg(ECDSA_SHA256, &[]),
            b"hello",
            sig.as_ref(),
        )
        .unwrap();
        assert!(verify(b"garbage", SignatureAlgorithm::Ed25519, b"", b"").is_err());
    }
}
