//! The two signature algorithms Égide accepts.

use std::fmt;

/// A signature algorithm, named as in JOSE (RFC 7518 §3.4, RFC 8037 §3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// ECDSA on P-256 with SHA-256 (`ES256`).
    Es256,
    /// Ed25519 (`EdDSA`).
    EdDsa,
}

impl Algorithm {
    /// The JOSE `alg` name: `ES256` or `EdDSA`.
    pub fn jose_name(self) -> &'static str {
        match self {
            Algorithm::Es256 => "ES256",
            Algorithm::EdDsa => "EdDSA",
        }
    }

    /// The algorithm with this exact (case-sensitive) JOSE `alg` name.
    pub fn from_jose_name(name: &str) -> Option<Algorithm> {
        match name {
            "ES256" => Some(Algorithm::Es256),
            "EdDSA" => Some(Algorithm::EdDsa),
            _ => None,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.jose_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_case_sensitive() {
        for alg in [Algorithm::Es256, Algorithm::EdDsa] {
            assert_eq!(Algorithm::from_jose_name(alg.jose_name()), Some(alg));
            assert_eq!(alg.to_string(), alg.jose_name());
        }
        assert_eq!(Algorithm::from_jose_name("es256"), None);
        assert_eq!(Algorithm::from_jose_name("none"), None);
        assert_eq!(Algorithm::from_jose_name("HS256"), None);
    }
}
