//! Device keys of the phone apps (the carte Vitale app, e-CPS).
//!
//! The app generates a key pair in the phone's keystore (Android Keystore,
//! iOS Secure Enclave: P-256 ECDSA; or Ed25519 in software) and sends the
//! public key as a DER SubjectPublicKeyInfo. Égide parses it with
//! [`DeviceKey::from_spki_der`], identifies it by its
//! [`DeviceKey::thumbprint`] and checks proofs of possession and later
//! signatures with [`DeviceKey::verify`].
//!
//! # Registration
//!
//! To register, the app signs [`registration_message`]`(owner_id, nonce,
//! thumbprint)` where `owner_id` is the Égide id of the enrolment or account
//! the key is registered for, `nonce` the single-use nonce the server issued
//! for this registration, and `thumbprint` the key's own thumbprint. The
//! message is the UTF-8 text
//!
//! ```text
//! egide-device-registration/v1\n<owner_id>\n<nonce>\n<thumbprint>
//! ```
//!
//! (no trailing newline). The first line separates it from any other
//! message the key ever signs; the fields are server-issued identifiers,
//! nonces and base64url thumbprints, none of which contains a newline, so
//! the encoding is unambiguous.
//!
//! # Signatures
//!
//! * P-256: an ASN.1 DER `ECDSA-Sig-Value` (what Android Keystore's
//!   `SHA256withECDSA` and iOS `SecKeyCreateSignature(…
//!   ecdsaSignatureMessageX962SHA256)` produce) or the raw 64-byte `r || s`
//!   form (WebCrypto, JOSE), over SHA-256 of the message. High-S values are
//!   accepted (see the [crate documentation](crate)).
//! * Ed25519: the 64-byte signature, checked with `verify_strict`.
//!
//! [`DeviceSigner`] is a software key playing the phone app (for the CLI and
//! tests): it signs in the DER form phones use.

mod signer;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

pub use self::signer::DeviceSigner;
use crate::keys::{KeyError, MAX_KEY_DOCUMENT};
use crate::{Algorithm, VerifyingKey};

/// Longest signature accepted, in bytes (a DER P-256 signature is at most
/// 72 bytes).
pub const MAX_SIGNATURE_BYTES: usize = 256;

/// The first line of [`registration_message`].
pub const REGISTRATION_CONTEXT: &str = "egide-device-registration/v1";

/// Why a device key or signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    /// Not a well-formed SubjectPublicKeyInfo, or not a valid key.
    #[error("malformed device key: {0}")]
    MalformedKey(String),
    /// A well-formed key of another algorithm than P-256 or Ed25519.
    #[error("unsupported device key: {0}")]
    UnsupportedKey(String),
    /// A well-formed signature that does not verify.
    #[error("bad device signature")]
    BadSignature,
    /// Bytes that are no signature of this key type.
    #[error("malformed device signature: {0}")]
    MalformedSignature(String),
}

impl DeviceError {
    /// Stable machine code: `malformed_key`, `unsupported_key`,
    /// `bad_signature` or `malformed_signature`.
    pub fn code(&self) -> &'static str {
        match self {
            DeviceError::MalformedKey(_) => "malformed_key",
            DeviceError::UnsupportedKey(_) => "unsupported_key",
            DeviceError::BadSignature => "bad_signature",
            DeviceError::MalformedSignature(_) => "malformed_signature",
        }
    }
}

impl From<KeyError> for DeviceError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::Malformed(why) => DeviceError::MalformedKey(why),
            KeyError::Unsupported(why) => DeviceError::UnsupportedKey(why),
        }
    }
}

/// A device's public key (P-256 ECDSA or Ed25519).
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceKey {
    key: VerifyingKey,
    spki: Vec<u8>,
}

impl DeviceKey {
    /// Parses a DER SubjectPublicKeyInfo (at most 8 KiB). Keys of other
    /// algorithms (RSA, P-384, …) are `unsupported_key`; anything else
    /// wrong is `malformed_key`.
    pub fn from_spki_der(der: &[u8]) -> Result<DeviceKey, DeviceError> {
        if der.len() > MAX_KEY_DOCUMENT {
            return Err(DeviceError::MalformedKey(format!(
                "longer than {MAX_KEY_DOCUMENT} bytes"
            )));
        }
        Ok(DeviceKey::from(VerifyingKey::from_spki_der(der)?))
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.key.algorithm()
    }

    /// Unpadded base64url of the SHA-256 of [`DeviceKey::to_spki_der`]
    /// (43 characters). Computed over the canonical re-encoding, so a key
    /// sent once with a compressed and once with an uncompressed point has
    /// one thumbprint.
    pub fn thumbprint(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(&self.spki))
    }

    /// The canonical DER SubjectPublicKeyInfo (uncompressed point for P-256).
    pub fn to_spki_der(&self) -> Vec<u8> {
        self.spki.clone()
    }

    /// The key as a [`VerifyingKey`].
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// Checks `signature` over `message` (see the [module
    /// documentation](self) for the accepted forms).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), DeviceError> {
        if signature.len() > MAX_SIGNATURE_BYTES {
            return Err(DeviceError::MalformedSignature(format!(
                "longer than {MAX_SIGNATURE_BYTES} bytes"
            )));
        }
        // A 64-byte P-256 signature may parse both as DER and as r || s (by
        // chance); it is good if either form verifies.
        let results = [
            self.key.verify_der(message, signature),
            self.key.verify_fixed(message, signature),
        ];
        match results {
            [None, None] => Err(DeviceError::MalformedSignature(match self.algorithm() {
                Algorithm::Es256 => format!(
                    "{} bytes: neither a DER ECDSA-Sig-Value nor a 64-byte r || s",
                    signature.len()
                ),
                Algorithm::EdDsa => {
                    format!("{} bytes, Ed25519 signatures have 64", signature.len())
                }
            })),
            r if r.contains(&Some(true)) => Ok(()),
            _ => Err(DeviceError::BadSignature),
        }
    }
}

impl From<VerifyingKey> for DeviceKey {
    fn from(key: VerifyingKey) -> Self {
        let spki = key.to_spki_der();
        DeviceKey { key, spki }
    }
}

impl std::fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DeviceKey({}, {})", self.algorithm(), self.thumbprint())
    }
}

/// The message a device signs to prove it holds the key being registered:
/// `egide-device-registration/v1\n<owner_id>\n<nonce>\n<thumbprint>`, UTF-8,
/// no trailing newline (see the [module documentation](self)).
pub fn registration_message(owner_id: &str, nonce: &str, thumbprint: &str) -> Vec<u8> {
    let mut message = Vec::with_capacity(
        REGISTRATION_CONTEXT.len() + owner_id.len() + nonce.len() + thumbprint.len() + 3,
    );
    for (i, part) in [REGISTRATION_CONTEXT, owner_id, nonce, thumbprint]
        .iter()
        .enumerate()
    {
        if i > 0 {
            message.push(b'\n');
        }
        message.extend_from_slice(part.as_bytes());
    }
    message
}

#[cfg(test)]
mod tests;
