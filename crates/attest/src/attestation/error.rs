//! Why an attestation was refused.

use super::MAX_TOKEN_BYTES;

/// Why [`super::verify`] (or [`super::sign`]) refused an attestation. Each
/// case has a stable [`AttestationError::code`]. Values taken from the
/// token (issuer, key id, algorithm) are shown quoted and truncated; identity
/// traits never appear.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttestationError {
    /// Not a JWS compact serialization of a JSON header and JSON claims
    /// (wrong number of parts, bad base64url, padding, bad JSON, a claim of
    /// the wrong type or format, `crit` header, …).
    #[error("malformed attestation: {0}")]
    Malformed(String),
    /// Longer than [`MAX_TOKEN_BYTES`]; refused before any parsing.
    #[error("attestation longer than {MAX_TOKEN_BYTES} bytes")]
    TooLarge,
    /// `alg` is not `ES256` or `EdDSA` (e.g. `none`, `HS256`), or does not
    /// match the type of the issuer's key (algorithm confusion).
    #[error("unsupported or mismatched algorithm {0}")]
    UnsupportedAlg(String),
    /// `typ` is not `egide-proofing+jwt`.
    #[error("wrong token type {0}, expected \"egide-proofing+jwt\"")]
    WrongType(String),
    /// `iss` is not a trusted provider.
    #[error("unknown issuer {0}")]
    UnknownIssuer(String),
    /// The issuer is trusted but has no key with this `kid`.
    #[error("unknown key {kid} for issuer {issuer}")]
    UnknownKey {
        /// The issuer.
        issuer: String,
        /// The key id from the header.
        kid: String,
    },
    /// The signature does not verify with the issuer's key.
    #[error("bad signature")]
    BadSignature,
    /// `aud` is not the expected audience.
    #[error("wrong audience {0}")]
    WrongAudience(String),
    /// `iat` is older than the accepted maximum age.
    #[error("attestation too old (issued {age_secs} s ago)")]
    Stale {
        /// Seconds since `iat`.
        age_secs: i64,
    },
    /// `iat` is in the future by more than the accepted clock skew.
    #[error("attestation issued in the future")]
    NotYetValid,
    /// `exp` has passed (allowing for the clock skew).
    #[error("attestation expired")]
    Expired,
    /// A required claim (or header parameter `kid`) is absent or `null`.
    #[error("missing claim {0}")]
    MissingClaim(&'static str),
}

impl AttestationError {
    /// Stable machine code: `malformed`, `too_large`, `unsupported_alg`,
    /// `wrong_type`, `unknown_issuer`, `unknown_key`, `bad_signature`,
    /// `wrong_audience`, `stale`, `not_yet_valid`, `expired`,
    /// `missing_claim`.
    pub fn code(&self) -> &'static str {
        match self {
            AttestationError::Malformed(_) => "malformed",
            AttestationError::TooLarge => "too_large",
            AttestationError::UnsupportedAlg(_) => "unsupported_alg",
            AttestationError::WrongType(_) => "wrong_type",
            AttestationError::UnknownIssuer(_) => "unknown_issuer",
            AttestationError::UnknownKey { .. } => "unknown_key",
            AttestationError::BadSignature => "bad_signature",
            AttestationError::WrongAudience(_) => "wrong_audience",
            AttestationError::Stale { .. } => "stale",
            AttestationError::NotYetValid => "not_yet_valid",
            AttestationError::Expired => "expired",
            AttestationError::MissingClaim(_) => "missing_claim",
        }
    }

    /// Every code, for exhaustive tests and documentation.
    pub const CODES: [&'static str; 12] = [
        "malformed",
        "too_large",
        "unsupported_alg",
        "wrong_type",
        "unknown_issuer",
        "unknown_key",
        "bad_signature",
        "wrong_audience",
        "stale",
        "not_yet_valid",
        "expired",
        "missing_claim",
    ];
}

/// A value from the token, safe to put in a message or a log line: quoted,
/// escaped and cut to 64 characters.
pub(crate) fn quote(value: &str) -> String {
    let cut: String = value.chars().take(64).collect();
    if cut.len() < value.len() {
        format!("{cut:?}…")
    } else {
        format!("{cut:?}")
    }
}
