//! Égide's tokens: access tokens (RFC 9068 JWT profile) and OIDC ID tokens, ES256 only.
//!
//! Auth builds the signing input here ([`signing_input`]), has Vault transit sign it
//! (`marshaling_algorithm=jws`, so the signature is the raw `r‖s` that JWS wants) and
//! [`assemble`]s the token. The gateway and `egide token inspect` check tokens with
//! [`verify_access`] against a [`KeySet`] built from the published JWKS.
//!
//! The parser takes untrusted input and is strict where leniency has been exploited:
//! a size bound before anything is decoded, canonical unpadded base64url only, a header
//! of exactly `alg`, `typ` and `kid` (no `jku`, `x5u`, `jwk`, `x5c` or `crit`: a token
//! never brings its own key or its own rules), `alg` exactly `ES256`, and a key chosen by
//! `kid` from our set only. Nothing here panics on any input (fuzzed in `fuzz/`).
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod claims;
mod jwk;
mod verify;

pub use crate::claims::{AccessClaims, Category, Confirmation, IdClaims};
pub use crate::jwk::{Jwk, JwkError, KeySet};
pub use crate::verify::{Expectations, TokenError, decode_header, verify_access};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};

/// The only signature algorithm: ECDSA P-256 with SHA-256, JWS form (RFC 7518 §3.4).
pub const ALG: &str = "ES256";

/// `typ` of access tokens (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// `typ` of ID tokens.
pub const ID_TOKEN_TYP: &str = "JWT";

/// Tokens longer than this are refused before any decoding (ours are about 700 bytes).
pub const MAX_TOKEN_BYTES: usize = 4096;

/// A JOSE header as Égide writes it, and the only one it reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Always [`ALG`].
    pub alg: String,
    /// [`ACCESS_TOKEN_TYP`] or [`ID_TOKEN_TYP`].
    pub typ: String,
    /// The signing key and its version, e.g. `egide-token-signing-v2`.
    pub kid: String,
}

impl Header {
    /// The header of a token of type `typ` signed by key `kid`.
    pub fn new(typ: &str, kid: &str) -> Self {
        Self {
            alg: ALG.to_owned(),
            typ: typ.to_owned(),
            kid: kid.to_owned(),
        }
    }
}

/// `base64url(header) "." base64url(claims)`: the bytes the signature covers.
pub fn signing_input<C: Serialize>(
    header: &Header,
    claims: &C,
) -> Result<String, serde_json::Error> {
    let header = serde_json::to_vec(header)?;
    let claims = serde_json::to_vec(claims)?;
    Ok(format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    ))
}

/// The compact token: the signing input, a dot, the base64url signature.
pub fn assemble(signing_input: &str, signature_b64url: &str) -> String {
    format!("{signing_input}.{signature_b64url}")
}

/// The key id of version `version` of transit key `key`: `<key>-v<version>`.
pub fn kid(key: &str, version: u64) -> String {
    format!("{key}-v{version}")
}
