//! Strict parsing and verification of access tokens.

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::{ACCESS_TOKEN_TYP, ALG, AccessClaims, Header, KeySet, MAX_TOKEN_BYTES};

/// Why a token is refused. [`TokenError::code`] is what a caller may be told;
/// the variant (and `Display`) is for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Longer than [`MAX_TOKEN_BYTES`].
    #[error("token longer than {MAX_TOKEN_BYTES} bytes")]
    Oversized,
    /// Not three base64url parts.
    #[error("not a compact JWS")]
    Malformed,
    /// A part is not canonical unpadded base64url.
    #[error("{0}: not canonical base64url")]
    Encoding(&'static str),
    /// The header is not JSON of exactly `alg`, `typ`, `kid` (a `jku`, `jwk`, `x5u`,
    /// `x5c` or `crit` header lands here).
    #[error("header refused: {0}")]
    Header(String),
    /// `alg` is not exactly ES256.
    #[error("algorithm {0:?} refused")]
    Algorithm(String),
    /// `typ` is not the expected one.
    #[error("type {0:?} refused")]
    Type(String),
    /// No key of ours has this `kid` (refresh the JWKS, then refuse).
    #[error("unknown key id")]
    UnknownKey,
    /// The signature is not 64 bytes or does not verify.
    #[error("bad signature")]
    Signature,
    /// The claims are not the JSON we issue.
    #[error("claims refused: {0}")]
    Claims(String),
    /// Another issuer.
    #[error("wrong issuer")]
    Issuer,
    /// Another audience.
    #[error("wrong audience")]
    Audience,
    /// `exp` has passed (beyond the leeway).
    #[error("expired")]
    Expired,
    /// `nbf` or `iat` is in the future (beyond the leeway).
    #[error("not yet valid")]
    NotYetValid,
}

impl TokenError {
    /// The stable code a caller is told: `token_expired` or `token_invalid`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Expired => "token_expired",
            _ => "token_invalid",
        }
    }
}

/// What a valid token must say.
#[derive(Clone, Debug)]
pub struct Expectations {
    /// `iss`.
    pub issuer: String,
    /// `aud`.
    pub audience: String,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
    pub leeway_secs: i64,
}

struct Parts<'a> {
    header: Header,
    signing_input: &'a str,
    payload: &'a str,
    signature: &'a str,
}

fn split(token: &str) -> Result<Parts<'_>, TokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::Oversized);
    }
    let mut dots = token.match_indices('.').map(|(i, _)| i);
    let (Some(first), Some(second), None) = (dots.next(), dots.next(), dots.next()) else {
        return Err(TokenError::Malformed);
    };
    let header_b64 = &token[..first];
    let header = decode("header", header_b64)?;
    let header: Header =
        serde_json::from_slice(&header).map_err(|e| TokenError::Header(e.to_string()))?;
    Ok(Parts {
        header,
        signing_input: &token[..second],
        payload: &token[first + 1..second],
        signature: &token[second + 1..],
    })
}

fn decode(part: &'static str, b64: &str) -> Result<Vec<u8>, TokenError> {
    // The engine refuses padding and non-zero trailing bits: one token, one spelling.
    URL_SAFE_NO_PAD
        .decode(b64)
        .map_err(|_| TokenError::Encoding(part))
}

/// The header of `token`, strictly parsed but not verified (to pick the key, or to show).
pub fn decode_header(token: &str) -> Result<Header, TokenError> {
    split(token).map(|p| p.header)
}

/// Verifies an access token at `now` (seconds since the epoch) and returns its claims.
///
/// Checks, in order: size, shape, header (exactly `alg`/`typ`/`kid`), `alg` = ES256,
/// `typ` = `at+jwt`, the key by `kid` among `keys`, the signature, the claims' shape,
/// `iss`, `aud`, `exp`, `nbf`, `iat`. What the token is for (session revocation, `cnf`
/// binding, the acr a route needs) is the caller's to check next.
pub fn verify_access(
    token: &str,
    keys: &KeySet,
    expect: &Expectations,
    now: i64,
) -> Result<AccessClaims, TokenError> {
    let parts = split(token)?;
    if parts.header.alg != ALG {
        return Err(TokenError::Algorithm(parts.header.alg));
    }
    if parts.header.typ != ACCESS_TOKEN_TYP {
        return Err(TokenError::Type(parts.header.typ));
    }
    let point = keys
        .point(&parts.header.kid)
        .ok_or(TokenError::UnknownKey)?;
    let signature = decode("signature", parts.signature)?;
    if signature.len() != 64 {
        return Err(TokenError::Signature);
    }
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
        .verify(parts.signing_input.as_bytes(), &signature)
        .map_err(|_| TokenError::Signature)?;
    let payload = decode("payload", parts.payload)?;
    let claims: AccessClaims =
        serde_json::from_slice(&payload).map_err(|e| TokenError::Claims(e.to_string()))?;
    if claims.iss != expect.issuer {
        return Err(TokenError::Issuer);
    }
    if claims.aud != expect.audience {
        return Err(TokenError::Audience);
    }
    if now > claims.exp.saturating_add(expect.leeway_secs) {
        return Err(TokenError::Expired);
    }
    let not_before = claims.nbf.unwrap_or(claims.iat).max(claims.iat);
    if not_before > now.saturating_add(expect.leeway_secs) {
        return Err(TokenError::NotYetValid);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests;
