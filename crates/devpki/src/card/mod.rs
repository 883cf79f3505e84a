//! Soft CPS cards: a directory standing for a card.
//!
//! A CPS card holds an authentication key and a signature key with their certificates,
//! and checks its PIN itself (domain.md §3). Here:
//!
//! | file | content |
//! |---|---|
//! | `card.json` (0600) | idNat_PS, algorithm, retry counter, Argon2id parameters, both private keys sealed under the PIN |
//! | `auth.pem` | the authentication certificate (`ps-auth`) |
//! | `sign.pem` | the signature certificate (`ps-sign`) |
//! | `chain.pem` | the issuing CA then the root |
//!
//! A wrong PIN decrements the counter, persisted before the card answers (as a card
//! does, so that pulling the power mid-check gains nothing); three wrong PINs in a row
//! block the card, which then refuses even the right PIN; a right PIN resets the
//! counter. Unblocking (a PUK, IGC-Santé's unblock process) is out of scope: a blocked
//! soft card is reissued. One process at a time should use a card directory.

mod create;
mod seal;

use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};

pub use self::create::{CardRequest, issue_card};
use self::seal::{Kdf, Sealed};
use crate::{files, inspect, keys::KeyKind, keys::LocalKey, pem};

/// PIN tries before the card blocks.
pub const MAX_RETRIES: u8 = 3;

const FORMAT: &str = "egide-softcard-1";
const STATE_FILE: &str = "card.json";
const AUTH_FILE: &str = "auth.pem";
const SIGN_FILE: &str = "sign.pem";
const CHAIN_FILE: &str = "chain.pem";

/// What a card refuses or fails with.
#[derive(Debug, thiserror::Error)]
pub enum CardError {
    /// The PIN was wrong; the card blocks when no tries are left.
    #[error("wrong PIN ({retries_left} tries left)")]
    WrongPin {
        /// Tries left before the card blocks (0: it just did).
        retries_left: u8,
    },
    /// Three wrong PINs in a row: the card refuses every PIN.
    #[error("the card is blocked")]
    Blocked,
    /// A PIN is 4 to 8 digits.
    #[error("a PIN is 4 to 8 digits")]
    PinFormat,
    /// The card's files could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The card's files are not a card.
    #[error("the card is corrupt: {0}")]
    Corrupt(String),
    /// A cryptographic operation failed.
    #[error("card crypto failed: {0}")]
    Crypto(&'static str),
}

/// The signature scheme of both keys of a card.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CardAlgorithm {
    /// RSA PKCS#1 v1.5 with SHA-256 (RSA-2048 keys, as CPS3/CPS4 cards).
    RsaPkcs1Sha256,
    /// ECDSA P-256 with SHA-256, ASN.1 DER signatures.
    EcdsaP256Sha256,
}

impl CardAlgorithm {
    fn key_kind(self) -> KeyKind {
        match self {
            Self::RsaPkcs1Sha256 => KeyKind::Rsa2048,
            Self::EcdsaP256Sha256 => KeyKind::P256,
        }
    }

    fn of(kind: KeyKind) -> Self {
        match kind {
            KeyKind::Rsa2048 => Self::RsaPkcs1Sha256,
            KeyKind::P256 => Self::EcdsaP256Sha256,
        }
    }
}

/// `card.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct CardState {
    format: String,
    idnat: String,
    algorithm: CardAlgorithm,
    retries_left: u8,
    kdf: Kdf,
    auth_key: Sealed,
    sign_key: Sealed,
}

/// Which of the card's two keys.
#[derive(Clone, Copy)]
enum Slot {
    Auth,
    Sign,
}

/// A soft CPS card, opened from its directory.
pub struct SoftCard {
    dir: PathBuf,
    state: CardState,
    auth_cert: Vec<u8>,
    sign_cert: Vec<u8>,
    intermediates: Vec<Vec<u8>>,
    root: Option<Vec<u8>>,
}

/// Neither the holder nor the sealed keys: what a log line may show.
impl std::fmt::Debug for SoftCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftCard")
            .field("dir", &self.dir)
            .field("algorithm", &self.state.algorithm)
            .field("retries_left", &self.state.retries_left)
            .finish_non_exhaustive()
    }
}

impl SoftCard {
    /// Opens the card in `dir`.
    pub fn open(dir: &Path) -> Result<SoftCard, CardError> {
        let state_path = dir.join(STATE_FILE);
        let text = read(&state_path)?;
        let state: CardState = serde_json::from_str(&text)
            .map_err(|e| CardError::Corrupt(format!("{}: {e}", state_path.display())))?;
        if state.format != FORMAT {
            return Err(CardError::Corrupt(format!(
                "{}: format {:?}, expected {FORMAT}",
                state_path.display(),
                state.format
            )));
        }
        let auth_cert = one_cert(&dir.join(AUTH_FILE))?;
        let sign_cert = one_cert(&dir.join(SIGN_FILE))?;
        let chain_path = dir.join(CHAIN_FILE);
        let mut intermediates = Vec::new();
        let mut root = None;
        for der in pem::decode_all(&read(&chain_path)?, "CERTIFICATE")
            .map_err(|e| CardError::Corrupt(format!("{}: {e}", chain_path.display())))?
        {
            let facts = inspect::cert(&der)
                .map_err(|e| CardError::Corrupt(format!("{}: {e}", chain_path.display())))?;
            if facts.subject == facts.issuer {
                root = Some(der);
            } else {
                intermediates.push(der);
            }
        }
        Ok(SoftCard {
            dir: dir.to_path_buf(),
            state,
            auth_cert,
            sign_cert,
            intermediates,
            root,
        })
    }

    /// The holder's idNat_PS.
    pub fn idnat(&self) -> &str {
        &self.state.idnat
    }

    /// The authentication certificate, DER.
    pub fn auth_certificate(&self) -> &[u8] {
        &self.auth_cert
    }

    /// The signature certificate, DER.
    pub fn sign_certificate(&self) -> &[u8] {
        &self.sign_cert
    }

    /// The intermediate CA certificates, DER, issuing CA first (leaf and root excluded).
    pub fn chain(&self) -> Vec<Vec<u8>> {
        self.intermediates.clone()
    }

    /// The root of the card's chain, DER, if the card carries it.
    pub fn root_certificate(&self) -> Option<&[u8]> {
        self.root.as_deref()
    }

    /// The signature scheme of both keys.
    pub fn algorithm(&self) -> CardAlgorithm {
        self.state.algorithm
    }

    /// PIN tries left (0: blocked).
    pub fn retries_left(&self) -> u8 {
        self.state.retries_left
    }

    /// Whether three wrong PINs blocked the card.
    pub fn is_blocked(&self) -> bool {
        self.state.retries_left == 0
    }

    /// Signs `challenge` with the authentication key, after checking `pin`.
    pub fn authenticate(
        &mut self,
        pin: &SecretString,
        challenge: &[u8],
    ) -> Result<Vec<u8>, CardError> {
        self.use_key(pin, Slot::Auth, challenge)
    }

    /// Signs `message` with the signature key, after checking `pin`.
    pub fn sign(&mut self, pin: &SecretString, message: &[u8]) -> Result<Vec<u8>, CardError> {
        self.use_key(pin, Slot::Sign, message)
    }

    fn use_key(
        &mut self,
        pin: &SecretString,
        slot: Slot,
        message: &[u8],
    ) -> Result<Vec<u8>, CardError> {
        check_pin_format(pin)?;
        if self.is_blocked() {
            return Err(CardError::Blocked);
        }
        // Count the try first, durably: the answer comes after.
        self.state.retries_left -= 1;
        self.save()?;
        let key = self.state.kdf.derive(pin)?;
        let sealed = match slot {
            Slot::Auth => &self.state.auth_key,
            Slot::Sign => &self.state.sign_key,
        };
        let Some(pkcs8) = seal::open(&key, &aad(&self.state.idnat, slot), sealed)? else {
            return Err(CardError::WrongPin {
                retries_left: self.state.retries_left,
            });
        };
        self.state.retries_left = MAX_RETRIES;
        self.save()?;
        let private = LocalKey::from_pkcs8(self.state.algorithm.key_kind(), &pkcs8)
            .map_err(|_| CardError::Corrupt("sealed key is not a private key".into()))?;
        private
            .sign(message)
            .map_err(|_| CardError::Crypto("signature"))
    }

    fn save(&self) -> Result<(), CardError> {
        save_state(&self.dir, &self.state)
    }
}

/// A PIN is 4 to 8 ASCII digits.
pub fn check_pin_format(pin: &SecretString) -> Result<(), CardError> {
    let p = pin.expose_secret();
    if (4..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(CardError::PinFormat)
    }
}

/// A random 4-digit PIN (a CPS card's PIN is 4 digits), uniformly drawn.
pub fn generate_pin() -> Result<SecretString, CardError> {
    loop {
        let mut b = [0_u8; 2];
        aws_lc_rs::rand::fill(&mut b).map_err(|_| CardError::Crypto("random PIN"))?;
        let n = u16::from_be_bytes(b);
        // Rejection sampling: 60 000 is the largest multiple of 10 000 below 2^16.
        if n < 60_000 {
            return Ok(SecretString::from(format!("{:04}", n % 10_000)));
        }
    }
}

/// Binds a sealed key to its card and slot.
fn aad(idnat: &str, slot: Slot) -> Vec<u8> {
    let slot = match slot {
        Slot::Auth => "auth",
        Slot::Sign => "sign",
    };
    format!("{FORMAT}|{idnat}|{slot}").into_bytes()
}

fn save_state(dir: &Path, state: &CardState) -> Result<(), CardError> {
    let path = dir.join(STATE_FILE);
    let text = serde_json::to_vec_pretty(state)
        .map_err(|e| CardError::Corrupt(format!("encoding the card state: {e}")))?;
    files::write_private(&path, &text).map_err(|source| CardError::Io { path, source })
}

fn read(path: &Path) -> Result<String, CardError> {
    std::fs::read_to_string(path).map_err(|source| CardError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn one_cert(path: &Path) -> Result<Vec<u8>, CardError> {
    pem::decode_one(&read(path)?, "CERTIFICATE")
        .map_err(|e| CardError::Corrupt(format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn generated_pins_are_four_digits() {
        for _ in 0..100 {
            let pin = generate_pin().unwrap();
            assert!(check_pin_format(&pin).is_ok());
            assert_eq!(pin.expose_secret().len(), 4);
        }
    }

    #[test]
    fn pin_format() {
        for ok in ["1234", "12345678"] {
            assert!(check_pin_format(&SecretString::from(ok)).is_ok());
        }
        for bad in ["123", "123456789", "12a4", "", "１２３４"] {
            assert!(matches!(
                check_pin_format(&SecretString::from(bad)),
                Err(CardError::PinFormat)
            ));
        }
    }
}
