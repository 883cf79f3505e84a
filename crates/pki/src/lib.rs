//! X.509 certificate validation for IGC-Santé.
//!
//! Parse certificates once ([`Certificate`]), gather trust anchors by family
//! ([`TrustStore`]), and validate a leaf for a purpose ([`Validator`],
//! [`Profile`]) the way RFC 5280 §6, OpenSSL and Go do it. Revocation data comes
//! from [`crl`] and [`ocsp`] through a [`RevocationChecker`].
//!
//! ```
//! use std::sync::Arc;
//! use egide_pki::{Certificate, Family, NoRevocation, Options, Reason, TrustStore, Validator};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Garbage is refused with a stable reason code, never a panic.
//! let err = Certificate::from_der(vec![0x30, 0x03, 0x02, 0x01]).unwrap_err();
//! assert_eq!(err.reason.code(), "malformed_certificate");
//!
//! // An empty trust store trusts nothing.
//! let store = TrustStore::new(vec![(Family::new("igc-sante"), vec![])], true)?;
//! let validator = Validator::new(Arc::new(store));
//! assert!(validator.trust().is_empty());
//! # let _ = (Options::now(), NoRevocation, Reason::UntrustedRoot);
//! // validator.validate(&leaf, &intermediates, egide_pki::purpose::builtin("server-auth").as_ref(),
//! //                    &Options::now(), &NoRevocation) -> Result<ValidPath, Failure>
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

pub mod cert;
pub mod crl;
mod der;
pub mod identity;
pub mod names;
pub mod ocsp;
pub mod path;
pub mod pem;
pub mod pool;
pub mod purpose;
pub mod reason;
pub mod sig;
pub mod trust;

#[cfg(test)]
mod testpki;

pub use cert::{Certificate, hex, name_sha256_hex};
pub use identity::{Identity, IdentityKind, ProfessionalIdentity, StructureIdentity};
pub use path::{
    Failure, NoRevocation, Options, RevocationChecker, RevocationStatus, ValidPath, Validator,
};
pub use pool::{Candidates, Skipped};
pub use purpose::{KeyUsage, Profile};
pub use reason::{Error, Reason};
pub use trust::{Family, TrustStore};
