//! The certval service's configuration: the shared [`ServiceConfig`] plus the trust
//! families, the purposes' profiles, the revocation policy and the result cache
//! (`EGIDE_CERTVAL__REVOCATION__UNKNOWN=allow`, or `[revocation]` in the TOML file).

use std::collections::BTreeMap;

use egide_kit::config::ServiceConfig;
use serde::{Deserialize, Serialize};

/// Everything the certval service reads at start-up.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CertvalConfig {
    /// What every service shares.
    #[serde(flatten)]
    pub service: ServiceConfig,
    /// The trust anchors, by family.
    #[serde(default)]
    pub trust: TrustSettings,
    /// Overrides of the named purposes' profiles, by purpose name.
    #[serde(default)]
    pub purposes: BTreeMap<String, PurposeSettings>,
    /// Revocation checking.
    #[serde(default)]
    pub revocation: RevocationSettings,
    /// The validation result cache.
    #[serde(default)]
    pub cache: CacheSettings,
    /// The dev PKI's Vault mounts.
    #[serde(default)]
    pub dev_pki: DevPkiSettings,
}

impl AsRef<ServiceConfig> for CertvalConfig {
    fn as_ref(&self) -> &ServiceConfig {
        &self.service
    }
}

impl CertvalConfig {
    /// Defaults around `service`.
    pub fn new(service: ServiceConfig) -> Self {
        Self {
            service,
            trust: TrustSettings::default(),
            purposes: BTreeMap::new(),
            revocation: RevocationSettings::default(),
            cache: CacheSettings::default(),
            dev_pki: DevPkiSettings::default(),
        }
    }
}

/// The trust configuration. Anchor files are read again on SIGHUP.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrustSettings {
    /// Test families are refused (start-up fails) when true. Fail closed: only a
    /// configuration that says `production = false` may trust test roots.
    pub production: bool,
    /// The families.
    pub families: Vec<FamilySettings>,
}

impl Default for TrustSettings {
    fn default() -> Self {
        Self {
            production: true,
            families: Vec::new(),
        }
    }
}

/// One trust family: its roots and the CAs under them.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FamilySettings {
    /// e.g. `IGC-SANTE-ELEMENTAIRE`.
    pub name: String,
    /// PEM files of the roots.
    pub anchors: Vec<String>,
    /// PEM files of the family's intermediate CAs: issuers of the CRLs the service
    /// fetches and accepts, and path candidates when a caller sends none.
    #[serde(default)]
    pub intermediates: Vec<String>,
    /// A test family (never trusted in production).
    #[serde(default)]
    pub test: bool,
    /// A legacy family: certificates issued after this instant (RFC 3339) are refused.
    #[serde(default)]
    pub cut_off: Option<String>,
    /// Public-key algorithms the family's certificates may carry (`rsa`, `ec-p256`,
    /// `ec-p384`, `ed25519`); empty: every supported one.
    #[serde(default)]
    pub key_algorithms: Vec<String>,
    /// Smallest RSA modulus in bits for the family (2048 and up; 2048 when absent).
    #[serde(default)]
    pub min_rsa_bits: Option<usize>,
}

/// A purpose's profile, over the built-in one.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PurposeSettings {
    /// Certificate policy OIDs the leaf and every CA must assert (IGC-Santé's software
    /// policy OIDs are not published: set them here).
    pub policies: Option<Vec<String>>,
    /// Families accepted; empty: any.
    pub families: Option<Vec<String>>,
    /// Extended key usages required of the leaf.
    pub extended_key_usages: Option<Vec<String>>,
    /// Whether revocation is checked.
    pub check_revocation: Option<bool>,
    /// Whether the CA/Browser Forum TLS server rules apply (server-auth: yes).
    pub web_pki: Option<bool>,
}

/// What to do when a certificate's revocation status cannot be established.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownStatus {
    /// Refuse the certificate (`revocation_unknown`).
    #[default]
    FailClosed,
    /// Accept it.
    Allow,
}

/// Revocation checking.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RevocationSettings {
    /// When neither a CRL nor OCSP nor an event says.
    pub unknown: UnknownStatus,
    /// Fetch CRLs from the certificates' distribution points.
    pub fetch_crls: bool,
    /// Ask the OCSP responders the certificates name, when no CRL answers.
    pub ocsp: bool,
    /// A CRL is fetched again this long before its nextUpdate.
    pub refresh_ahead_secs: u64,
    /// Timeout of one CRL or OCSP request.
    pub fetch_timeout_ms: u64,
    /// Largest CRL accepted.
    pub max_crl_bytes: usize,
    /// How often revocations are read back from the database, for events a replica
    /// missed while NATS was away.
    pub resync_secs: u64,
}

impl Default for RevocationSettings {
    fn default() -> Self {
        Self {
            unknown: UnknownStatus::FailClosed,
            fetch_crls: true,
            ocsp: true,
            refresh_ahead_secs: 3600,
            fetch_timeout_ms: 3000,
            max_crl_bytes: 64 << 20,
            resync_secs: 30,
        }
    }
}

/// The validation result cache (answers for the same chain and purpose, at "now").
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheSettings {
    /// Entries kept; the cache is emptied when full.
    pub capacity: usize,
    /// How long an answer is reused (also bounded by the leaf's notAfter).
    pub ttl_secs: u64,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            capacity: 100_000,
            ttl_secs: 300,
        }
    }
}

/// The dev PKI (`egide pki init`): its Vault PKI mounts, where RevokeCertificate also
/// revokes. Empty in production (IGC-Santé revokes on its own platform).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DevPkiSettings {
    /// Mount names, e.g. `pki-test-elementaire-organisations`.
    pub mounts: Vec<String>,
}
