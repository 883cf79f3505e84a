//! JSON Web Keys (RFC 7517) for ES256, and the set a verifier holds.

use std::collections::HashMap;

use base64::{
    Engine as _,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use serde::{Deserialize, Serialize};

/// The DER prefix of every SubjectPublicKeyInfo of an uncompressed P-256 key
/// (id-ecPublicKey, prime256v1, BIT STRING of 66 bytes); the 65-byte point follows.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// Why a key cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwkError {
    /// Not a PEM or DER P-256 public key.
    #[error("not a P-256 SubjectPublicKeyInfo")]
    NotP256,
    /// A JWK member is missing, wrong or badly encoded.
    #[error("unusable JWK: {0}")]
    Member(&'static str),
}

/// A public JWK for ES256.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// `EC`.
    pub kty: String,
    /// `P-256`.
    pub crv: String,
    /// The key id.
    pub kid: String,
    /// base64url x coordinate.
    pub x: String,
    /// base64url y coordinate.
    pub y: String,
    /// `ES256`.
    pub alg: String,
    /// `sig`.
    #[serde(rename = "use")]
    pub use_: String,
}

impl Jwk {
    /// The JWK of a P-256 public key given as SPKI PEM (as Vault transit publishes it).
    pub fn from_spki_pem(kid: &str, pem: &str) -> Result<Self, JwkError> {
        let body: String = pem
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("-----"))
            .collect();
        let der = STANDARD.decode(body).map_err(|_| JwkError::NotP256)?;
        Self::from_spki_der(kid, &der)
    }

    /// The JWK of a P-256 public key given as SPKI DER.
    pub fn from_spki_der(kid: &str, der: &[u8]) -> Result<Self, JwkError> {
        let point = der
            .strip_prefix(&P256_SPKI_PREFIX[..])
            .filter(|p| p.len() == 65 && p[0] == 0x04)
            .ok_or(JwkError::NotP256)?;
        Ok(Self {
            kty: "EC".into(),
            crv: "P-256".into(),
            kid: kid.to_owned(),
            x: URL_SAFE_NO_PAD.encode(&point[1..33]),
            y: URL_SAFE_NO_PAD.encode(&point[33..]),
            alg: crate::ALG.into(),
            use_: "sig".into(),
        })
    }

    /// The uncompressed point `04 ‖ x ‖ y`, after checking every member.
    fn point(&self) -> Result<Vec<u8>, JwkError> {
        if self.kty != "EC" {
            return Err(JwkError::Member("kty"));
        }
        if self.crv != "P-256" {
            return Err(JwkError::Member("crv"));
        }
        if self.alg != crate::ALG {
            return Err(JwkError::Member("alg"));
        }
        if self.use_ != "sig" {
            return Err(JwkError::Member("use"));
        }
        if self.kid.is_empty() {
            return Err(JwkError::Member("kid"));
        }
        let coordinate = |c: &str, name| {
            URL_SAFE_NO_PAD
                .decode(c)
                .ok()
                .filter(|b| b.len() == 32)
                .ok_or(JwkError::Member(name))
        };
        let mut point = Vec::with_capacity(65);
        point.push(0x04);
        point.extend(coordinate(&self.x, "x")?);
        point.extend(coordinate(&self.y, "y")?);
        Ok(point)
    }
}

/// The keys a verifier trusts, by `kid`.
#[derive(Clone, Debug, Default)]
pub struct KeySet {
    keys: HashMap<String, Vec<u8>>,
}

impl KeySet {
    /// The set of `jwks`; a key that is not a usable ES256 key makes the whole set an
    /// error (a JWKS endpoint serving garbage is a fault to report, not to half-trust).
    pub fn new(jwks: &[Jwk]) -> Result<Self, JwkError> {
        let mut keys = HashMap::with_capacity(jwks.len());
        for jwk in jwks {
            keys.insert(jwk.kid.clone(), jwk.point()?);
        }
        Ok(Self { keys })
    }

    /// The uncompressed point of key `kid`.
    pub(crate) fn point(&self, kid: &str) -> Option<&[u8]> {
        self.keys.get(kid).map(Vec::as_slice)
    }

    /// Whether the set holds `kid`.
    pub fn contains(&self, kid: &str) -> bool {
        self.keys.contains_key(kid)
    }

    /// How many keys the set holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A P-256 public key (SPKI PEM) as Vault transit prints it.
    const PEM: &str = "-----BEGIN PUBLIC KEY-----\n\
        MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEVs/o5+uQbTjL3chynL4wXgUg2R9\n\
        q9UU8I5mEovUf86QZ7kOBIjJwqnzD1omageEHWwHdBO6B+dFabmdT9POxg==\n\
        -----END PUBLIC KEY-----\n";

    #[test]
    fn a_transit_pem_becomes_a_jwk_and_a_key_set() {
        let jwk = Jwk::from_spki_pem("k-v1", PEM).unwrap();
        assert_eq!((jwk.kty.as_str(), jwk.crv.as_str()), ("EC", "P-256"));
        assert_eq!(jwk.x.len(), 43);
        let set = KeySet::new(&[jwk]).unwrap();
        assert_eq!(set.point("k-v1").unwrap().len(), 65);
        assert!(set.point("k-v2").is_none());
    }

    #[test]
    fn other_keys_and_broken_members_are_refused() {
        assert_eq!(Jwk::from_spki_pem("k", "garbage"), Err(JwkError::NotP256));
        assert_eq!(Jwk::from_spki_der("k", &[0x30; 91]), Err(JwkError::NotP256));
        let good = Jwk::from_spki_pem("k", PEM).unwrap();
        for (member, broken) in [
            (
                "kty",
                Jwk {
                    kty: "RSA".into(),
                    ..good.clone()
                },
            ),
            (
                "crv",
                Jwk {
                    crv: "P-384".into(),
                    ..good.clone()
                },
            ),
            (
                "alg",
                Jwk {
                    alg: "HS256".into(),
                    ..good.clone()
                },
            ),
            (
                "use",
                Jwk {
                    use_: "enc".into(),
                    ..good.clone()
                },
            ),
            (
                "x",
                Jwk {
                    x: "AAAA".into(),
                    ..good.clone()
                },
            ),
            (
                "y",
                Jwk {
                    y: format!("{}=", good.y),
                    ..good.clone()
                },
            ),
        ] {
            assert_eq!(
                KeySet::new(&[broken]).unwrap_err(),
                JwkError::Member(member)
            );
        }
    }
}
