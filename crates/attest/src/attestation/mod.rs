//! Identity-proofing attestations: a provider outside Égide (a France
//! Identité-like service) states that it checked the person behind an Égide
//! enrolment, how, at which level, and which identity it read.
//!
//! # Format
//!
//! A JWS compact serialization (RFC 7515 §7.1): three base64url parts
//! *without padding* (RFC 7515 §2), `header.claims.signature`, at most
//! [`MAX_TOKEN_BYTES`] (16 KiB) in all.
//!
//! Header (JSON object):
//!
//! | parameter | value |
//! |---|---|
//! | `alg` | `ES256` (ECDSA P-256 + SHA-256) or `EdDSA` (Ed25519); must match the type of the issuer's key `kid` |
//! | `typ` | `egide-proofing+jwt` exactly |
//! | `kid` | the provider's key id |
//!
//! Any other header parameter is ignored, except `crit`, which makes the token
//! malformed (no extension is understood). Keys are never taken from the
//! token (`jwk`, `jku`, `x5c`, `x5u` are ignored): only from
//! [`TrustedProviders`].
//!
//! Claims (JSON object, all required; unknown claims are ignored):
//!
//! | claim | type | meaning |
//! |---|---|---|
//! | `iss` | string | the provider's issuer URL, e.g. `https://proofing-sim.egide.test` |
//! | `aud` | string (not an array) | the audience configured in Égide, e.g. `egide-enrolment` |
//! | `sub` | string | the Égide enrolment id the attestation is bound to |
//! | `nonce` | string | the server nonce Égide issued for this proofing step |
//! | `iat` | integer | issued at, unix seconds |
//! | `exp` | integer | expires at, unix seconds, after `iat` |
//! | `txn` | string | the provider's transaction id |
//! | `level` | `"substantial"` \| `"high"` | assurance level ([`Level`], ordered) |
//! | `method` | `"france_identite"` \| `"video_selfie"` \| `"in_person"` | [`Method`] |
//! | `identity` | object | [`Identity`]: |
//! | `identity.birth_name` | string | birth name |
//! | `identity.given_names` | array of strings | given names, birth order, at least one |
//! | `identity.sex` | `"M"` \| `"F"` | |
//! | `identity.birth_date` | string | `YYYY-MM-DD` (`00` for an unknown day or month) |
//! | `identity.birth_place` | string | 5-character INSEE code (`75056`, `2A004`, `99xxx` abroad) |
//!
//! Strings are non-empty, at most [`MAX_CLAIM_LEN`] bytes, without control
//! characters. No biometric data is ever present.
//!
//! Signature: over the ASCII bytes `header "." claims` (both still
//! base64url), ES256 as the 64-byte `r || s` (RFC 7518 §3.4, not DER), EdDSA
//! as the 64-byte Ed25519 signature (RFC 8037).
//!
//! # Verification
//!
//! [`verify`] checks, in this order, each failure with its
//! [`AttestationError::code`]:
//!
//! 1. length ≤ 16 KiB (`too_large`), three parts, strict base64url, JSON
//!    header (`malformed`);
//! 2. `alg` is `ES256` or `EdDSA` (`unsupported_alg`), `typ` (`wrong_type`),
//!    `kid` present (`missing_claim`);
//! 3. `iss` present (`missing_claim`) and trusted (`unknown_issuer`), `kid`
//!    known for it (`unknown_key`), `alg` matches that key's type
//!    (`unsupported_alg`);
//! 4. the signature (`bad_signature`);
//! 5. every claim present (`missing_claim`) and well-formed (`malformed`);
//! 6. `aud` (`wrong_audience`);
//! 7. time, with `skew` = [`Expectations::max_skew`]:
//!    `iat > now + skew` → `not_yet_valid`; `now ≥ exp + skew` → `expired`;
//!    `now − iat > max_age` → `stale`.
//!
//! Binding the attestation to the enrolment (`sub`), to the proofing step
//! (`nonce`, single use) and comparing the identity with the INS
//! teleservice's answer is the enrolment service's job, on the returned
//! [`Claims`].

mod claims;
mod error;
mod trusted;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use self::claims::{Claims, Identity, Level, MAX_CLAIM_LEN, MAX_GIVEN_NAMES, Method, Sex};
pub use self::error::AttestationError;
use self::error::quote;
use self::trusted::secs;
pub use self::trusted::{Expectations, TrustedProviders};
use crate::{Algorithm, SigningKey};

/// The JOSE `typ` of an attestation.
pub const TYP: &str = "egide-proofing+jwt";

/// Longest accepted attestation, in bytes; longer ones are refused before
/// any parsing.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Claims, in the order of the format table, that must be present.
const REQUIRED: [&str; 10] = [
    "iss", "aud", "sub", "nonce", "iat", "exp", "txn", "level", "method", "identity",
];
/// Identity members that must be present.
const REQUIRED_IDENTITY: [(&str, &str); 5] = [
    ("birth_name", "identity.birth_name"),
    ("given_names", "identity.given_names"),
    ("sex", "identity.sex"),
    ("birth_date", "identity.birth_date"),
    ("birth_place", "identity.birth_place"),
];

#[derive(Serialize)]
struct HeaderOut<'a> {
    alg: &'a str,
    typ: &'a str,
    kid: &'a str,
}

/// The header as received; every member optional so that each absence gets
/// its own error. Duplicate members make the header malformed.
#[derive(Deserialize)]
struct HeaderIn {
    alg: Option<String>,
    typ: Option<String>,
    kid: Option<String>,
    crit: Option<serde::de::IgnoredAny>,
}

/// Signs `claims` with `key` under key id `kid`: the header's `alg` follows
/// the key type. Refuses (`malformed`) claims that [`verify`] would refuse as
/// malformed (see [`Claims::validate`]) and (`too_large`) a result over
/// [`MAX_TOKEN_BYTES`].
pub fn sign(claims: &Claims, key: &SigningKey, kid: &str) -> Result<String, AttestationError> {
    claims.validate().map_err(AttestationError::Malformed)?;
    if kid.is_empty() {
        return Err(AttestationError::Malformed("empty kid".into()));
    }
    let header = HeaderOut {
        alg: key.algorithm().jose_name(),
        typ: TYP,
        kid,
    };
    let header =
        serde_json::to_vec(&header).map_err(|e| AttestationError::Malformed(e.to_string()))?;
    let payload =
        serde_json::to_vec(claims).map_err(|e| AttestationError::Malformed(e.to_string()))?;
    let token = sign_unchecked(&header, &payload, key);
    if token.len() > MAX_TOKEN_BYTES {
        return Err(AttestationError::TooLarge);
    }
    Ok(token)
}

/// Encodes and signs arbitrary header and claims bytes, without any check:
/// for tests and fuzzing, which need correctly signed hostile tokens.
/// Production code uses [`sign`].
pub fn sign_unchecked(header: &[u8], payload: &[u8], key: &SigningKey) -> String {
    let mut token = URL_SAFE_NO_PAD.encode(header);
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(payload));
    let signature = key.sign_fixed(token.as_bytes());
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature));
    token
}

/// Verifies `token` against the `trusted` providers and the `expect`ations;
/// returns its claims. See the [module documentation](self) for the order of
/// the checks. Never panics, whatever the input.
pub fn verify(
    token: &str,
    trusted: &TrustedProviders,
    expect: &Expectations,
) -> Result<Claims, AttestationError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(AttestationError::TooLarge);
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("not three dot-separated parts"));
    };
    let header = decode(header_b64, "header")?;
    let payload = decode(payload_b64, "claims")?;
    let signature = decode(signature_b64, "signature")?;

    let header: HeaderIn =
        serde_json::from_slice(&header).map_err(|e| malformed(format!("header: {e}")))?;
    let alg_name = header
        .alg
        .ok_or_else(|| AttestationError::UnsupportedAlg("(absent)".into()))?;
    let alg = Algorithm::from_jose_name(&alg_name)
        .ok_or_else(|| AttestationError::UnsupportedAlg(quote(&alg_name)))?;
    match header.typ.as_deref() {
        Some(TYP) => {}
        Some(other) => return Err(AttestationError::WrongType(quote(other))),
        None => return Err(AttestationError::WrongType("(absent)".into())),
    }
    if header.crit.is_some() {
        return Err(malformed("header: crit is not supported"));
    }
    let kid = header.kid.ok_or(AttestationError::MissingClaim("kid"))?;

    // The claims are parsed once untrusted to find the issuer's key, and
    // typed only after the signature has been checked.
    let raw: Value =
        serde_json::from_slice(&payload).map_err(|e| malformed(format!("claims: {e}")))?;
    let Value::Object(raw) = raw else {
        return Err(malformed("claims: not a JSON object"));
    };
    let issuer = match raw.get("iss") {
        None | Some(Value::Null) => return Err(AttestationError::MissingClaim("iss")),
        Some(Value::String(iss)) => iss,
        Some(_) => return Err(malformed("claims: iss is not a string")),
    };
    if !trusted.trusts(issuer) {
        return Err(AttestationError::UnknownIssuer(quote(issuer)));
    }
    let key = trusted
        .key(issuer, &kid)
        .ok_or_else(|| AttestationError::UnknownKey {
            issuer: quote(issuer),
            kid: quote(&kid),
        })?;
    if key.algorithm() != alg {
        return Err(AttestationError::UnsupportedAlg(format!(
            "{alg} for a {} key",
            key.algorithm()
        )));
    }
    let signed = &token[..header_b64.len() + 1 + payload_b64.len()];
    if key.verify_fixed(signed.as_bytes(), &signature) != Some(true) {
        return Err(AttestationError::BadSignature);
    }

    check_present(&raw)?;
    let claims: Claims = serde_json::from_slice(&payload)
        .map_err(|e| malformed(format!("claims: {}", scrub(&e.to_string()))))?;
    if claims.exp <= claims.iat {
        return Err(malformed("claims: exp is not after iat"));
    }
    if claims.aud != expect.audience {
        return Err(AttestationError::WrongAudience(quote(&claims.aud)));
    }
    check_time(&claims, expect)?;
    Ok(claims)
}

fn malformed(why: impl Into<String>) -> AttestationError {
    AttestationError::Malformed(why.into())
}

/// Strict unpadded base64url (no `=`, no `+`/`/`, no stray trailing bits).
fn decode(part: &str, what: &str) -> Result<Vec<u8>, AttestationError> {
    if part.is_empty() {
        return Err(malformed(format!("{what}: empty")));
    }
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|e| malformed(format!("{what}: not unpadded base64url ({e})")))
}

/// A serde message without the values it quotes between backticks (serde
/// echoes the offending value, which may be an identity trait).
fn scrub(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for (i, piece) in message.split('`').enumerate() {
        out.push_str(if i % 2 == 1 { "`…`" } else { piece });
    }
    out
}

fn check_present(raw: &Map<String, Value>) -> Result<(), AttestationError> {
    let absent = |v: Option<&Value>| matches!(v, None | Some(Value::Null));
    for name in REQUIRED {
        if absent(raw.get(name)) {
            return Err(AttestationError::MissingClaim(name));
        }
    }
    if let Some(Value::Object(identity)) = raw.get("identity") {
        for (name, path) in REQUIRED_IDENTITY {
            if absent(identity.get(name)) {
                return Err(AttestationError::MissingClaim(path));
            }
        }
    }
    Ok(())
}

fn check_time(claims: &Claims, expect: &Expectations) -> Result<(), AttestationError> {
    let now = expect.now.timestamp();
    let skew = secs(expect.max_skew);
    if claims.iat > now.saturating_add(skew) {
        return Err(AttestationError::NotYetValid);
    }
    if now >= claims.exp.saturating_add(skew) {
        return Err(AttestationError::Expired);
    }
    let age = now.saturating_sub(claims.iat);
    if age > secs(expect.max_age) {
        return Err(AttestationError::Stale { age_secs: age });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
