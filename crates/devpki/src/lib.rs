//! The dev IGC-Santé PKI: a hierarchy shaped like IGC-Santé's in OpenBao/Vault PKI
//! mounts, leaf certificates with the exact IGC-Santé subjects for keys generated
//! locally, and soft CPS cards.
//!
//! - [`init`] builds (idempotently) three TEST roots — ELEMENTAIRE, STANDARD, FORT —
//!   each over a PERSONNES and an ORGANISATIONS CA, plus a legacy IGC-CPS root over a
//!   CLASSE-1 CA; one PKI mount per CA, keys generated in Vault (EC P-256: fast to
//!   validate; the real IGC-Santé key algorithms of software certificates are not known,
//!   domain.md §4), CRL/OCSP/CA-issuer URLs, one role per certificate profile. See
//!   [`hierarchy`] for names and mounts and [`hierarchy::policy`] for the (dev) policy
//!   OIDs.
//! - [`issue_structure`], [`issue_server`] and [`issue_card`] generate key pairs
//!   locally and have the right CA sign an exact-subject request (see the `issue`
//!   module's notes on OpenBao's `sign-verbatim`).
//! - [`SoftCard`] is a card in a directory: PIN-sealed keys, a retry counter, blocking.
//! - [`revoke_in_vault`] and [`mount_for_issuer`] serve the certval service's
//!   revocation of dev certificates.
//!
//! Vault is reached through any `vaultrs` client ([`vaultrs::client::Client`]) holding a
//! token allowed to do what is asked (the dev root token for [`init`]).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod card;
mod csr;
mod der;
mod files;
pub mod hierarchy;
mod init;
mod inspect;
mod issue;
mod keys;
mod name;
pub mod pem;
mod revoke;
mod template;
mod vault;

use std::path::{Path, PathBuf};

pub use crate::card::{
    CardAlgorithm, CardError, CardRequest, MAX_RETRIES, SoftCard, check_pin_format, generate_pin,
    issue_card,
};
pub use crate::csr::SubjectAltName;
pub use crate::files::{write_private, write_public};
pub use crate::hierarchy::{Family, LEGACY_CUT_OFF, Profile, mounts, policy};
pub use crate::init::{DevFamily, DevPki, LEAF_TTL, init};
pub use crate::inspect::{Summary, parse_serial, summary, vault_serial};
pub use crate::issue::{
    Credential, Issued, Professional, ServerRequest, StructureRequest, chain_pem, issue_server,
    issue_structure, issue_structure_signing,
};
pub use crate::keys::KeyKind;
pub use crate::name::{Attribute, DistinguishedName, attr};
pub use crate::revoke::{
    crl_der, mount_for_certificate, mount_for_issuer, mount_for_issuer_name_sha256,
    revoke_in_vault, sha256_hex,
};

/// Errors of the dev PKI.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Vault answered with an error status.
    #[error("vault: {method} {path}: HTTP {status}: {message}")]
    Vault {
        /// The HTTP method.
        method: String,
        /// The API path (after `/v1/`).
        path: String,
        /// The HTTP status.
        status: u16,
        /// Vault's `errors`.
        message: String,
    },
    /// Vault could not be reached.
    #[error("vault: {0}")]
    Transport(String),
    /// Vault (or a file) returned something this crate cannot read.
    #[error("malformed: {0}")]
    Malformed(String),
    /// A request made no sense (unknown family, empty field…).
    #[error("{0}")]
    Invalid(String),
    /// A cryptographic operation failed.
    #[error("crypto: {0}")]
    Crypto(&'static str),
    /// A file could not be written or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// A soft card refused or failed.
    #[error(transparent)]
    Card(#[from] CardError),
}

impl Error {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
