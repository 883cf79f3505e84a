//! Purposes: what a certificate is validated for.
//!
//! Each named purpose is a [`Profile`]; the certificate-validation service's
//! configuration may override any field. IGC-Santé certificate policy OIDs are not
//! published for software certificates, so [`Profile::policies`] is empty in the
//! built-in profiles and set by configuration.

use crate::cert::ku;
use crate::identity::IdentityKind;

/// id-kp-serverAuth.
pub const EKU_SERVER_AUTH: &str = "1.3.6.1.5.5.7.3.1";
/// id-kp-clientAuth.
pub const EKU_CLIENT_AUTH: &str = "1.3.6.1.5.5.7.3.2";
/// id-kp-OCSPSigning.
pub const EKU_OCSP_SIGNING: &str = "1.3.6.1.5.5.7.3.9";
/// anyExtendedKeyUsage.
pub const EKU_ANY: &str = "2.5.29.37.0";
/// anyPolicy.
pub const ANY_POLICY: &str = "2.5.29.32.0";

/// The named built-in purposes.
pub const PURPOSES: [&str; 5] = [
    "ps-authentication",
    "ps-signature",
    "structure-client-auth",
    "server-auth",
    "structure-signature",
];

/// The rules a path must satisfy for one purpose.
///
/// * `extended_key_usages`: the leaf must list each of them (anyExtendedKeyUsage
///   alone does not do); a CA on the path that has an extendedKeyUsage extension
///   must list each of them or anyExtendedKeyUsage (nested EKU, as Go and OpenSSL);
///   a CA without the extension is unrestricted.
/// * `key_usages`: the leaf must have a keyUsage extension asserting each of them.
/// * `policies`: the leaf must assert each of them, and each CA below the trust
///   anchor must assert it or anyPolicy (policy mapping is not processed).
/// * `families`: trust families allowed (empty = any).
/// * `identity`: the leaf subject must carry that identity.
/// * `check_revocation`: ask the revocation checker about every certificate below the anchor.
/// * `web_pki`: the CA/Browser Forum rules for TLS server certificates (Baseline
///   Requirements §7.1), which IGC-Santé's person and organisation certificates do not
///   follow (their CN is an idNat_PS or an application name): the leaf's
///   extendedKeyUsage is not critical, its subject CN (if any) is a character-for-character
///   copy of one of its subjectAltNames, no wildcard sits on a public suffix, and the
///   trust anchor carries no extendedKeyUsage.
#[derive(Clone, Debug)]
pub struct Profile {
    /// The purpose name.
    pub name: String,
    /// Required extended key usages, dotted OIDs.
    pub extended_key_usages: Vec<String>,
    /// Required key usages of the leaf.
    pub key_usages: Vec<KeyUsage>,
    /// Required certificate policies, dotted OIDs.
    pub policies: Vec<String>,
    /// Allowed trust families (empty = any).
    pub families: Vec<String>,
    /// Identity the leaf subject must carry.
    pub identity: Option<IdentityKind>,
    /// Whether revocation is checked.
    pub check_revocation: bool,
    /// Whether the CA/Browser Forum TLS server rules apply.
    pub web_pki: bool,
}

/// A keyUsage bit a leaf may be required to assert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyUsage {
    /// digitalSignature (authentication, TLS).
    DigitalSignature,
    /// nonRepudiation / contentCommitment (signature of documents).
    NonRepudiation,
    /// keyEncipherment.
    KeyEncipherment,
    /// dataEncipherment.
    DataEncipherment,
    /// keyAgreement.
    KeyAgreement,
}

impl KeyUsage {
    pub(crate) fn bit(self) -> u16 {
        match self {
            Self::DigitalSignature => ku::DIGITAL_SIGNATURE,
            Self::NonRepudiation => ku::NON_REPUDIATION,
            Self::KeyEncipherment => ku::KEY_ENCIPHERMENT,
            Self::DataEncipherment => ku::DATA_ENCIPHERMENT,
            Self::KeyAgreement => ku::KEY_AGREEMENT,
        }
    }

    /// The RFC 5280 name, e.g. `digitalSignature`.
    pub fn name(self) -> &'static str {
        match self {
            Self::DigitalSignature => "digitalSignature",
            Self::NonRepudiation => "nonRepudiation",
            Self::KeyEncipherment => "keyEncipherment",
            Self::DataEncipherment => "dataEncipherment",
            Self::KeyAgreement => "keyAgreement",
        }
    }
}

/// The built-in profile of a named purpose (one of [`PURPOSES`]).
///
/// | purpose | EKU | keyUsage | identity |
/// |---|---|---|---|
/// | ps-authentication | clientAuth | digitalSignature | professional |
/// | ps-signature | — | nonRepudiation | professional |
/// | structure-client-auth | clientAuth | digitalSignature | structure |
/// | server-auth | serverAuth | — | — |
/// | structure-signature | — | nonRepudiation | structure |
///
/// All check revocation; none requires a policy or restricts families; only
/// server-auth follows the web PKI rules.
pub fn builtin(name: &str) -> Option<Profile> {
    let (eku, ku, identity): (&[&str], &[KeyUsage], _) = match name {
        "ps-authentication" => (
            &[EKU_CLIENT_AUTH],
            &[KeyUsage::DigitalSignature],
            Some(IdentityKind::Professional),
        ),
        "ps-signature" => (
            &[],
            &[KeyUsage::NonRepudiation],
            Some(IdentityKind::Professional),
        ),
        "structure-client-auth" => (
            &[EKU_CLIENT_AUTH],
            &[KeyUsage::DigitalSignature],
            Some(IdentityKind::Structure),
        ),
        "server-auth" => (&[EKU_SERVER_AUTH], &[], None),
        "structure-signature" => (
            &[],
            &[KeyUsage::NonRepudiation],
            Some(IdentityKind::Structure),
        ),
        _ => return None,
    };
    Some(Profile {
        name: name.to_owned(),
        extended_key_usages: eku.iter().map(|s| (*s).to_owned()).collect(),
        key_usages: ku.to_vec(),
        policies: Vec::new(),
        families: Vec::new(),
        identity,
        check_revocation: true,
        web_pki: name == "server-auth",
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn every_named_purpose_is_built_in() {
        for name in PURPOSES {
            let p = builtin(name).unwrap();
            assert_eq!(p.name, name);
            assert!(p.check_revocation);
            assert!(p.policies.is_empty());
        }
        assert!(builtin("nope").is_none());
        assert_eq!(
            builtin("ps-authentication").unwrap().identity,
            Some(IdentityKind::Professional)
        );
    }
}
