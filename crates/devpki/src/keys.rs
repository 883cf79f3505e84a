//! Key pairs generated where they will live (a card, a hospital's server), never in Vault:
//! RSA-2048 (CPS3/CPS4 cards) or ECDSA P-256.

use std::str::FromStr;

use aws_lc_rs::{
    encoding::AsDer as _,
    rand::SystemRandom,
    rsa::{self, KeySize},
    signature::{self, EcdsaKeyPair, KeyPair as _},
};
use zeroize::Zeroizing;

use crate::{Error, der};

/// The kind of key pair to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// RSA 2048 bits, signing with PKCS#1 v1.5 and SHA-256 (what CPS3/CPS4 cards hold).
    Rsa2048,
    /// ECDSA on P-256 with SHA-256.
    P256,
}

impl FromStr for KeyKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "rsa2048" | "rsa" => Ok(Self::Rsa2048),
            "p256" | "ec" => Ok(Self::P256),
            other => Err(Error::Invalid(format!(
                "unknown key kind {other:?} (rsa2048 or p256)"
            ))),
        }
    }
}

impl std::fmt::Display for KeyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Rsa2048 => "rsa2048",
            Self::P256 => "p256",
        })
    }
}

/// A private key held locally.
pub(crate) enum LocalKey {
    Rsa(rsa::KeyPair),
    P256(EcdsaKeyPair),
}

impl LocalKey {
    /// A fresh key pair.
    pub(crate) fn generate(kind: KeyKind) -> Result<Self, Error> {
        match kind {
            KeyKind::Rsa2048 => rsa::KeyPair::generate(KeySize::Rsa2048)
                .map(Self::Rsa)
                .map_err(|_| Error::Crypto("generating an RSA key")),
            KeyKind::P256 => EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_ASN1_SIGNING)
                .map(Self::P256)
                .map_err(|_| Error::Crypto("generating a P-256 key")),
        }
    }

    /// A key from its PKCS#8 (v1) DER.
    pub(crate) fn from_pkcs8(kind: KeyKind, pkcs8: &[u8]) -> Result<Self, Error> {
        match kind {
            KeyKind::Rsa2048 => rsa::KeyPair::from_pkcs8(pkcs8)
                .map(Self::Rsa)
                .map_err(|_| Error::Crypto("reading an RSA key")),
            KeyKind::P256 => {
                EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8)
                    .map(Self::P256)
                    .map_err(|_| Error::Crypto("reading a P-256 key"))
            }
        }
    }

    /// The kind of this key.
    pub(crate) fn kind(&self) -> KeyKind {
        match self {
            Self::Rsa(_) => KeyKind::Rsa2048,
            Self::P256(_) => KeyKind::P256,
        }
    }

    /// The private key as PKCS#8 v1 DER.
    pub(crate) fn pkcs8(&self) -> Result<Zeroizing<Vec<u8>>, Error> {
        let doc = match self {
            Self::Rsa(k) => k.as_der().map(|d| d.as_ref().to_vec()),
            Self::P256(k) => k.to_pkcs8v1().map(|d| d.as_ref().to_vec()),
        };
        doc.map(Zeroizing::new)
            .map_err(|_| Error::Crypto("encoding a private key"))
    }

    /// The public key as a DER `SubjectPublicKeyInfo`.
    pub(crate) fn spki(&self) -> Result<Vec<u8>, Error> {
        let der = match self {
            Self::Rsa(k) => k.public_key().as_der().map(|d| d.as_ref().to_vec()),
            Self::P256(k) => k.public_key().as_der().map(|d| d.as_ref().to_vec()),
        };
        der.map_err(|_| Error::Crypto("encoding a public key"))
    }

    /// The DER `AlgorithmIdentifier` of this key's signatures: sha256WithRSAEncryption
    /// (NULL parameters) or ecdsa-with-SHA256 (no parameters).
    pub(crate) fn signature_algorithm(&self) -> Vec<u8> {
        match self {
            Self::Rsa(_) => {
                let oid = der::oid("1.2.840.113549.1.1.11").unwrap_or_default();
                der::sequence(&[&oid, &der::null()])
            }
            Self::P256(_) => {
                let oid = der::oid("1.2.840.10045.4.3.2").unwrap_or_default();
                der::sequence(&[&oid])
            }
        }
    }

    /// Signs `message`: RSA PKCS#1 v1.5 with SHA-256, or ECDSA P-256 with SHA-256 (ASN.1
    /// DER signature).
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let rng = SystemRandom::new();
        match self {
            Self::Rsa(k) => {
                let mut out = vec![0; k.public_modulus_len()];
                k.sign(&signature::RSA_PKCS1_SHA256, &rng, message, &mut out)
                    .map_err(|_| Error::Crypto("RSA signature"))?;
                Ok(out)
            }
            Self::P256(k) => k
                .sign(&rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| Error::Crypto("ECDSA signature")),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use aws_lc_rs::signature::UnparsedPublicKey;

    use super::*;

    #[test]
    fn keys_round_trip_through_pkcs8_and_verify() {
        for kind in [KeyKind::P256, KeyKind::Rsa2048] {
            let key = LocalKey::generate(kind).unwrap();
            let again = LocalKey::from_pkcs8(kind, &key.pkcs8().unwrap()).unwrap();
            assert_eq!(again.spki().unwrap(), key.spki().unwrap());
            let sig = again.sign(b"challenge").unwrap();
            let spki = key.spki().unwrap();
            let (_, info) =
                <x509_parser::x509::SubjectPublicKeyInfo<'_> as x509_parser::prelude::FromDer<
                    '_,
                    _,
                >>::from_der(&spki)
                .unwrap();
            let alg: &dyn signature::VerificationAlgorithm = match kind {
                KeyKind::Rsa2048 => &signature::RSA_PKCS1_2048_8192_SHA256,
                KeyKind::P256 => &signature::ECDSA_P256_SHA256_ASN1,
            };
            UnparsedPublicKey::new(alg, &info.subject_public_key.data[..])
                .verify(b"challenge", &sig)
                .unwrap();
        }
    }

    #[test]
    fn key_kinds_parse() {
        assert_eq!("rsa2048".parse::<KeyKind>().unwrap(), KeyKind::Rsa2048);
        assert_eq!("p256".parse::<KeyKind>().unwrap(), KeyKind::P256);
        assert!("dsa".parse::<KeyKind>().is_err());
    }
}
