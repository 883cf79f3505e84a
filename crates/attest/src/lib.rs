//! Signed statements Égide accepts from outside: identity-proofing
//! attestations and the keys of phone apps.
//!
//! * [`attestation`] — a provider outside Égide (a France Identité-like
//!   service, or a video/selfie or in-person proofing service) vouches that
//!   the person behind an enrolment was checked, with which method and at
//!   which level, and states the identity traits it read. The statement is a
//!   JWS compact serialization signed by the provider; [`attestation::verify`]
//!   checks it against the providers Égide trusts.
//! * [`device`] — a phone app (the carte Vitale app, e-CPS) holds a key pair;
//!   [`device::DeviceKey`] parses its public key, computes its thumbprint and
//!   checks signatures, including the ASN.1 DER ECDSA signatures that
//!   Android Keystore and the iOS Secure Enclave produce.
//!
//! Two algorithms only, both everywhere: ECDSA P-256 with SHA-256 (`ES256`)
//! and Ed25519 (`EdDSA`), see [`Algorithm`]. Keys are exchanged as PKCS#8
//! (private) and SubjectPublicKeyInfo (public) documents, DER or PEM, see
//! [`SigningKey`] and [`VerifyingKey`].
//!
//! Every parser here takes untrusted input: sizes are bounded before any
//! decoding, nothing panics (fuzzed in `crates/attest/fuzz`), and every
//! error has a stable machine code (`code()`).
//!
//! # ECDSA signature malleability
//!
//! An ECDSA signature `(r, s)` is also valid as `(r, n − s)`. Neither
//! verifier here rejects the "high-S" form: Android Keystore, the iOS Secure
//! Enclave and most JOSE libraries do not normalise `s`, so rejecting it
//! would fail about half of genuine signatures. Malleability is harmless
//! here because nothing in Égide identifies a statement by its signature
//! bytes: replay is prevented by the server nonces and transaction ids the
//! signed payloads carry. Ed25519 signatures are checked with
//! `verify_strict` (canonical `S`, no small-order keys).

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod alg;
pub mod attestation;
pub mod card;
pub mod device;
mod keys;
pub mod login;

pub use crate::alg::Algorithm;
pub use crate::keys::{KeyError, SigningKey, VerifyingKey};
