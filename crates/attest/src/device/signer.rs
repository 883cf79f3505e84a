//! A software device key, playing the phone app.

use secrecy::SecretString;

use super::{DeviceError, DeviceKey};
use crate::{Algorithm, SigningKey};

/// A device key pair held in software: what the CLI uses to play the carte
/// Vitale or e-CPS app, and what tests use. Real apps keep the private key
/// in the phone's keystore instead.
#[derive(Clone, Debug)]
pub struct DeviceSigner {
    key: SigningKey,
}

impl DeviceSigner {
    /// A fresh random key.
    pub fn generate(alg: Algorithm) -> DeviceSigner {
        DeviceSigner {
            key: SigningKey::generate(alg),
        }
    }

    /// Loads a PKCS#8 `PRIVATE KEY` PEM document (P-256 or Ed25519).
    pub fn from_pkcs8_pem(pem: &str) -> Result<DeviceSigner, DeviceError> {
        Ok(DeviceSigner {
            key: SigningKey::from_pkcs8_pem(pem)?,
        })
    }

    /// The PKCS#8 `PRIVATE KEY` PEM document, as a secret.
    pub fn to_pkcs8_pem(&self) -> Result<SecretString, DeviceError> {
        Ok(self.key.to_pkcs8_pem()?)
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.key.algorithm()
    }

    /// The public key, as the server will parse it.
    pub fn device_key(&self) -> DeviceKey {
        DeviceKey::from(self.key.verifying_key())
    }

    /// Signs `message` as a phone keystore does: ASN.1 DER
    /// `ECDSA-Sig-Value` over SHA-256 for P-256, the 64-byte signature for
    /// Ed25519.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.key.sign_der(message)
    }

    /// Signs `message` in the fixed 64-byte form (`r || s` for P-256).
    pub fn sign_raw(&self, message: &[u8]) -> Vec<u8> {
        self.key.sign_fixed(message)
    }
}
