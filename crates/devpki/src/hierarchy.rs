//! The shape of the dev PKI: families, their CAs and Vault mounts, and the certificate
//! profiles each CA issues.
//!
//! IGC-Santé (domain.md §4): three roots, AC RACINE IGC-SANTE ELEMENTAIRE / STANDARD /
//! FORT, each over AC IGC-SANTE <GAMME> PERSONNES and AC IGC-SANTE <GAMME> ORGANISATIONS,
//! named `CN=…, OU=IGC-SANTE, OU=0002 187512751, O=ASIP-SANTE, C=FR`; test CAs are
//! prefixed `TEST ` with `OU=IGC-SANTE TEST`. Every CA here is a TEST CA.
//!
//! The legacy IGC-CPS family ("GIP-CPS CLASSE-x", which stopped issuing in 2021) is
//! represented by a `TEST GIP-CPS` root over a `TEST GIP-CPS CLASSE-1` CA. Their DNs are
//! shape-only: the real IGC-CPS names were not checked.

use std::str::FromStr;

use crate::{DistinguishedName, Error};

/// Certificate policy OIDs of the dev PKI.
///
/// IGC-Santé's real policy OIDs for software certificates are not known to this project
/// (domain.md: never invent them), so the dev PKI uses OIDs that are obviously not
/// theirs: under one UUID arc (`2.25.<UUID as an integer>`, X.667), generated once for
/// Égide. Validators configured for the dev PKI require these.
pub mod policy {
    /// The arc every dev policy is under (UUID e84efb9c-6ab3-4350-a9b2-6199b3865f36).
    pub const DEV_ARC: &str = "2.25.308790997454492194512517109372774932278";
    /// A professional's authentication certificate (`ps-auth`).
    pub const PS_AUTH: &str = "2.25.308790997454492194512517109372774932278.1";
    /// A professional's signature certificate (`ps-sign`).
    pub const PS_SIGN: &str = "2.25.308790997454492194512517109372774932278.2";
    /// A structure's client-authentication certificate, ORG AUTH_CLI (`org-auth-cli`).
    pub const ORG_AUTH_CLI: &str = "2.25.308790997454492194512517109372774932278.3";
    /// A structure's signature certificate, ORG SIGN (`org-sign`).
    pub const ORG_SIGN: &str = "2.25.308790997454492194512517109372774932278.4";
    /// A server certificate, SERV SSL_SERV (`serv-ssl`).
    pub const SERV_SSL: &str = "2.25.308790997454492194512517109372774932278.5";
}

/// The legacy family's cut-off: IGC-CPS stopped issuing in 2021 (domain.md §4; the day
/// is not known), so certificates issued after the last instant of 2021 are refused.
pub const LEGACY_CUT_OFF: &str = "2021-12-31T23:59:59Z";

/// A trust family of the dev PKI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// IGC-Santé ELEMENTAIRE (software certificates; structures' client authentication).
    Elementaire,
    /// IGC-Santé STANDARD.
    Standard,
    /// IGC-Santé FORT.
    Fort,
    /// The legacy IGC-CPS chains, behind [`LEGACY_CUT_OFF`].
    Legacy,
}

impl Family {
    /// Every family, in a stable order.
    pub const ALL: [Family; 4] = [
        Family::Elementaire,
        Family::Standard,
        Family::Fort,
        Family::Legacy,
    ];

    /// The family's name in trust configurations, e.g. `IGC-SANTE-ELEMENTAIRE`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Elementaire => "IGC-SANTE-ELEMENTAIRE",
            Self::Standard => "IGC-SANTE-STANDARD",
            Self::Fort => "IGC-SANTE-FORT",
            Self::Legacy => "IGC-CPS-LEGACY",
        }
    }

    /// The short name used on the command line, e.g. `elementaire`.
    pub fn slug(self) -> &'static str {
        match self {
            Self::Elementaire => "elementaire",
            Self::Standard => "standard",
            Self::Fort => "fort",
            Self::Legacy => "legacy",
        }
    }

    /// The legacy cut-off (RFC 3339), for the legacy family.
    pub fn legacy_cut_off(self) -> Option<&'static str> {
        (self == Self::Legacy).then_some(LEGACY_CUT_OFF)
    }

    /// The Vault mount of the family's root.
    pub fn root_mount(self) -> &'static str {
        match self {
            Self::Elementaire => "pki-test-elementaire",
            Self::Standard => "pki-test-standard",
            Self::Fort => "pki-test-fort",
            Self::Legacy => "pki-test-legacy-cps",
        }
    }

    /// The mount of the CA of this family that issues `profile`, if one does (the legacy
    /// family issues professionals' certificates only).
    pub fn mount_for(self, profile: Profile) -> Option<&'static str> {
        let personnes = matches!(profile, Profile::PsAuth | Profile::PsSign);
        Some(match (self, personnes) {
            (Self::Elementaire, true) => "pki-test-elementaire-personnes",
            (Self::Elementaire, false) => "pki-test-elementaire-organisations",
            (Self::Standard, true) => "pki-test-standard-personnes",
            (Self::Standard, false) => "pki-test-standard-organisations",
            (Self::Fort, true) => "pki-test-fort-personnes",
            (Self::Fort, false) => "pki-test-fort-organisations",
            (Self::Legacy, true) => "pki-test-legacy-cps-classe1",
            (Self::Legacy, false) => return None,
        })
    }
}

impl FromStr for Family {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Family::ALL
            .into_iter()
            .find(|f| f.slug().eq_ignore_ascii_case(s) || f.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "unknown family {s:?} (elementaire, standard, fort or legacy)"
                ))
            })
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A certificate profile: one Vault role on the CAs that issue it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Profile {
    /// A professional's authentication certificate (a CPS card's authentication key).
    PsAuth,
    /// A professional's signature certificate (a CPS card's signature key).
    PsSign,
    /// A structure's ORG AUTH_CLI certificate (hospital software authenticating).
    OrgAuthCli,
    /// A structure's ORG SIGN certificate.
    OrgSign,
    /// A server's SERV SSL_SERV certificate.
    ServSsl,
}

impl Profile {
    /// Every profile.
    pub const ALL: [Profile; 5] = [
        Profile::PsAuth,
        Profile::PsSign,
        Profile::OrgAuthCli,
        Profile::OrgSign,
        Profile::ServSsl,
    ];

    /// The Vault role's name.
    pub fn role(self) -> &'static str {
        match self {
            Self::PsAuth => "ps-auth",
            Self::PsSign => "ps-sign",
            Self::OrgAuthCli => "org-auth-cli",
            Self::OrgSign => "org-sign",
            Self::ServSsl => "serv-ssl",
        }
    }

    /// Key usages, in Vault's names (Go's `x509.KeyUsage` without the prefix).
    pub fn key_usage(self) -> &'static [&'static str] {
        match self {
            Self::PsAuth => &["DigitalSignature"],
            Self::PsSign | Self::OrgSign => &["ContentCommitment"],
            Self::OrgAuthCli | Self::ServSsl => &["DigitalSignature", "KeyEncipherment"],
        }
    }

    /// Extended key usages, in Vault's names.
    pub fn ext_key_usage(self) -> &'static [&'static str] {
        match self {
            Self::PsAuth | Self::OrgAuthCli => &["ClientAuth"],
            Self::ServSsl => &["ServerAuth"],
            Self::PsSign | Self::OrgSign => &[],
        }
    }

    /// The certificate policy the profile asserts (see [`policy`]).
    pub fn policy(self) -> &'static str {
        match self {
            Self::PsAuth => policy::PS_AUTH,
            Self::PsSign => policy::PS_SIGN,
            Self::OrgAuthCli => policy::ORG_AUTH_CLI,
            Self::OrgSign => policy::ORG_SIGN,
            Self::ServSsl => policy::SERV_SSL,
        }
    }
}

/// One CA of the dev PKI.
#[derive(Clone, Debug)]
pub struct CaSpec {
    /// Its family.
    pub family: Family,
    /// Its Vault PKI mount, e.g. `pki-test-elementaire-organisations`.
    pub mount: &'static str,
    /// Its exact subject.
    pub subject: DistinguishedName,
    /// The mount of the CA that signs it; `None` for a root.
    pub parent: Option<&'static str>,
    /// What it issues (empty for a root: roots issue CAs only).
    pub profiles: &'static [Profile],
}

const PERSONNES: &[Profile] = &[Profile::PsAuth, Profile::PsSign];
const ORGANISATIONS: &[Profile] = &[Profile::OrgAuthCli, Profile::OrgSign, Profile::ServSsl];

/// Every CA of the dev PKI, each root before the CAs it signs.
pub fn cas() -> Vec<CaSpec> {
    let mut out = Vec::new();
    for (family, gamme) in [
        (Family::Elementaire, "ELEMENTAIRE"),
        (Family::Standard, "STANDARD"),
        (Family::Fort, "FORT"),
    ] {
        let root = family.root_mount();
        out.push(CaSpec {
            family,
            mount: root,
            subject: igc_sante(&format!("TEST AC RACINE IGC-SANTE {gamme}")),
            parent: None,
            profiles: &[],
        });
        for (kind, profiles, profile) in [
            ("PERSONNES", PERSONNES, Profile::PsAuth),
            ("ORGANISATIONS", ORGANISATIONS, Profile::OrgAuthCli),
        ] {
            if let Some(mount) = family.mount_for(profile) {
                out.push(CaSpec {
                    family,
                    mount,
                    subject: igc_sante(&format!("TEST AC IGC-SANTE {gamme} {kind}")),
                    parent: Some(root),
                    profiles,
                });
            }
        }
    }
    let legacy = Family::Legacy;
    out.push(CaSpec {
        family: legacy,
        mount: legacy.root_mount(),
        subject: gip_cps("TEST GIP-CPS"),
        parent: None,
        profiles: &[],
    });
    if let Some(mount) = legacy.mount_for(Profile::PsAuth) {
        out.push(CaSpec {
            family: legacy,
            mount,
            subject: gip_cps("TEST GIP-CPS CLASSE-1"),
            parent: Some(legacy.root_mount()),
            profiles: PERSONNES,
        });
    }
    out
}

/// Every mount of the dev PKI, roots first.
pub fn mounts() -> Vec<&'static str> {
    cas().into_iter().map(|ca| ca.mount).collect()
}

fn igc_sante(cn: &str) -> DistinguishedName {
    DistinguishedName::ca(
        "FR",
        "ASIP-SANTE",
        &["0002 187512751", "IGC-SANTE TEST"],
        cn,
    )
}

fn gip_cps(cn: &str) -> DistinguishedName {
    DistinguishedName::ca("FR", "GIP-CPS", &["GIP-CPS TEST"], cn)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn eleven_cas_in_eleven_mounts() {
        let cas = cas();
        assert_eq!(cas.len(), 11);
        let mut mounts = mounts();
        mounts.sort_unstable();
        mounts.dedup();
        assert_eq!(mounts.len(), 11);
        // Parents come first.
        for (i, ca) in cas.iter().enumerate() {
            if let Some(parent) = ca.parent {
                assert!(cas[..i].iter().any(|c| c.mount == parent));
            }
        }
    }

    #[test]
    fn names_are_the_igc_sante_test_names() {
        let cas = cas();
        let org = cas
            .iter()
            .find(|c| c.mount == "pki-test-elementaire-organisations")
            .unwrap();
        assert_eq!(
            org.subject.to_string(),
            "CN=TEST AC IGC-SANTE ELEMENTAIRE ORGANISATIONS, OU=IGC-SANTE TEST, OU=0002 187512751, O=ASIP-SANTE, C=FR"
        );
        let root = cas.iter().find(|c| c.mount == "pki-test-fort").unwrap();
        assert_eq!(
            root.subject.to_string(),
            "CN=TEST AC RACINE IGC-SANTE FORT, OU=IGC-SANTE TEST, OU=0002 187512751, O=ASIP-SANTE, C=FR"
        );
    }

    #[test]
    fn policies_are_under_the_dev_arc_and_distinct() {
        let mut seen = Vec::new();
        for p in Profile::ALL {
            assert!(p.policy().starts_with(&format!("{}.", policy::DEV_ARC)));
            assert!(crate::der::oid(p.policy()).is_some());
            assert!(!seen.contains(&p.policy()));
            seen.push(p.policy());
        }
    }

    #[test]
    fn families_parse_by_slug_or_name() {
        assert_eq!("fort".parse::<Family>().unwrap(), Family::Fort);
        assert_eq!("IGC-CPS-LEGACY".parse::<Family>().unwrap(), Family::Legacy);
        assert!("x".parse::<Family>().is_err());
        assert_eq!(Family::Legacy.mount_for(Profile::ServSsl), None);
    }
}
