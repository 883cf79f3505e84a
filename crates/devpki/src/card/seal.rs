//! The card's keys at rest: AES-256-GCM under a key derived from the PIN with Argon2id.
//!
//! A wrong PIN yields a different key and the GCM tag does not verify: that failure IS
//! the card's PIN check. The derivation is deliberately slow (19 MiB, 2 passes: OWASP's
//! Argon2id minimum), but a PIN has at most 10^8 values: someone holding the files can
//! still search them offline. The retry counter binds only callers of the card API, which
//! is what a soft card can honestly promise; a real card's secure element is what makes
//! its counter binding.

use argon2::{Algorithm, Argon2, Params, Version};
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::CardError;

/// Argon2id parameters and salt, stored with the card.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Kdf {
    /// Always `argon2id`.
    pub alg: String,
    pub m_kib: u32,
    pub t: u32,
    pub p: u32,
    /// Base64.
    pub salt: String,
}

impl Kdf {
    /// Fresh parameters with a random salt.
    pub(crate) fn new() -> Result<Self, CardError> {
        let mut salt = [0_u8; 16];
        aws_lc_rs::rand::fill(&mut salt).map_err(|_| CardError::Crypto("random salt"))?;
        Ok(Self {
            alg: "argon2id".into(),
            m_kib: Params::DEFAULT_M_COST,
            t: Params::DEFAULT_T_COST,
            p: 1,
            salt: STANDARD.encode(salt),
        })
    }

    /// The key-encryption key for `pin`.
    pub(crate) fn derive(&self, pin: &SecretString) -> Result<Zeroizing<[u8; 32]>, CardError> {
        if self.alg != "argon2id" {
            return Err(CardError::Corrupt(format!("unknown KDF {:?}", self.alg)));
        }
        // Bounds keep a tampered state file from asking for gigabytes.
        if !(8..=1 << 20).contains(&self.m_kib) || !(1..=10).contains(&self.t) || self.p != 1 {
            return Err(CardError::Corrupt("KDF parameters out of range".into()));
        }
        let salt = STANDARD
            .decode(&self.salt)
            .map_err(|_| CardError::Corrupt("KDF salt is not base64".into()))?;
        let params = Params::new(self.m_kib, self.t, self.p, Some(32))
            .map_err(|_| CardError::Corrupt("KDF parameters".into()))?;
        let mut key = Zeroizing::new([0_u8; 32]);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(pin.expose_secret().as_bytes(), &salt, key.as_mut())
            .map_err(|_| CardError::Crypto("Argon2id"))?;
        Ok(key)
    }
}

/// A sealed private key.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Sealed {
    /// Base64, 12 bytes.
    pub nonce: String,
    /// Base64, ciphertext and tag.
    pub ciphertext: String,
}

/// Encrypts `plaintext` under `key`, bound to `aad`.
pub(crate) fn seal(key: &[u8; 32], aad: &[u8], plaintext: &[u8]) -> Result<Sealed, CardError> {
    let aead = aead_key(key)?;
    let mut nonce = [0_u8; NONCE_LEN];
    aws_lc_rs::rand::fill(&mut nonce).map_err(|_| CardError::Crypto("random nonce"))?;
    let mut buf = plaintext.to_vec();
    aead.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(aad),
        &mut buf,
    )
    .map_err(|_| CardError::Crypto("AES-GCM seal"))?;
    Ok(Sealed {
        nonce: STANDARD.encode(nonce),
        ciphertext: STANDARD.encode(buf),
    })
}

/// Decrypts `sealed`. `Ok(None)` when the tag does not verify: the PIN was wrong.
pub(crate) fn open(
    key: &[u8; 32],
    aad: &[u8],
    sealed: &Sealed,
) -> Result<Option<Zeroizing<Vec<u8>>>, CardError> {
    let nonce: [u8; NONCE_LEN] = STANDARD
        .decode(&sealed.nonce)
        .ok()
        .and_then(|n| n.try_into().ok())
        .ok_or_else(|| CardError::Corrupt("sealed key nonce".into()))?;
    let mut buf = Zeroizing::new(
        STANDARD
            .decode(&sealed.ciphertext)
            .map_err(|_| CardError::Corrupt("sealed key is not base64".into()))?,
    );
    let aead = aead_key(key)?;
    match aead.open_in_place(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(aad),
        buf.as_mut_slice(),
    ) {
        Ok(plain) => Ok(Some(Zeroizing::new(plain.to_vec()))),
        Err(_) => Ok(None),
    }
}

fn aead_key(key: &[u8; 32]) -> Result<LessSafeKey, CardError> {
    UnboundKey::new(&AES_256_GCM, key)
        .map(LessSafeKey::new)
        .map_err(|_| CardError::Crypto("AES-256-GCM key"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn right_pin_opens_wrong_pin_does_not() {
        let kdf = Kdf::new().unwrap();
        let key = kdf.derive(&SecretString::from("1234")).unwrap();
        let sealed = seal(&key, b"aad", b"secret key").unwrap();
        let again = kdf.derive(&SecretString::from("1234")).unwrap();
        assert_eq!(
            open(&again, b"aad", &sealed).unwrap().unwrap().as_slice(),
            b"secret key"
        );
        let wrong = kdf.derive(&SecretString::from("1235")).unwrap();
        assert!(open(&wrong, b"aad", &sealed).unwrap().is_none());
        assert!(open(&again, b"other", &sealed).unwrap().is_none());
    }

    #[test]
    fn absurd_parameters_are_refused() {
        let mut kdf = Kdf::new().unwrap();
        kdf.m_kib = u32::MAX;
        assert!(matches!(
            kdf.derive(&SecretString::from("1234")),
            Err(CardError::Corrupt(_))
        ));
    }
}
