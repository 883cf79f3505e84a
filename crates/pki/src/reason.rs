//! Stable failure reasons and the crate's error type.
//!
//! The codes returned by [`Reason::code`] are part of the gRPC contract of the
//! certificate-validation service: never rename one, only add.

/// Why a certificate, chain, CRL or OCSP response was refused.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The certificate is not valid DER X.509 (or breaks an RFC 5280 encoding rule).
    MalformedCertificate,
    /// A certificate carries a critical extension this validator does not process.
    UnsupportedCriticalExtension,
    /// No path reaches a configured trust anchor.
    UntrustedRoot,
    /// A certificate's notAfter is before the validation time.
    Expired,
    /// A certificate's notBefore is after the validation time.
    NotYetValid,
    /// A signature does not verify with the issuer's key.
    BadSignature,
    /// The signature algorithm or key type is not supported (or they do not match).
    UnsupportedAlgorithm,
    /// An issuing certificate is not a CA (basicConstraints cA is not true).
    NotACa,
    /// A CA's pathLenConstraint is exceeded.
    PathLengthExceeded,
    /// The keyUsage extension does not allow the use (keyCertSign on a CA, the profile's usages on the leaf).
    KeyUsage,
    /// The extendedKeyUsage extensions along the path do not allow the purpose.
    ExtendedKeyUsage,
    /// A policy OID required by the profile is not asserted along the path.
    PolicyRequired,
    /// A name violates the name constraints of a CA on the path.
    NameConstraints,
    /// The certificate is not valid for the expected peer name.
    NameMismatch,
    /// The leaf was issued after the cut-off date of its trust family.
    FamilyCutOff,
    /// The trust family of the path is not allowed for the purpose.
    FamilyNotAllowed,
    /// A certificate on the path is revoked.
    Revoked,
    /// The revocation status of a certificate could not be established.
    RevocationUnknown,
    /// Path building exceeded one of its budgets (inputs, depth, signatures, steps).
    PathBudgetExceeded,
    /// The certificate's subject does not carry the identity the purpose needs.
    IdentityMissing,
    /// A CRL is malformed or unusable (unknown critical extension, indirect or delta CRL…).
    MalformedCrl,
    /// An OCSP response is malformed or unusable.
    MalformedOcsp,
    /// A serial number is zero, negative or longer than 20 octets (RFC 5280 §4.1.2.2).
    InvalidSerialNumber,
    /// An authority or subject key identifier is missing where RFC 5280 §4.2.1.1–2
    /// requires one, marked critical, or inconsistent on a root.
    KeyIdentifier,
    /// An extension is marked critical, or not, against RFC 5280 (basicConstraints of a
    /// CA, nameConstraints, policyConstraints, subjectAltName).
    ExtensionCriticality,
    /// A CA certificate (cA or keyCertSign) is presented as the end-entity certificate.
    CaUsedAsLeaf,
    /// A name is unusable: a CA with an empty subject, an empty subject without a
    /// subjectAltName.
    InvalidName,
    /// A public key too weak for the profile (RSA under 2048 bits or not a whole
    /// number of octets).
    WeakKey,
}

impl Reason {
    /// The stable snake_case code of the reason, as sent in gRPC answers.
    pub fn code(self) -> &'static str {
        match self {
            Self::MalformedCertificate => "malformed_certificate",
            Self::UnsupportedCriticalExtension => "unsupported_critical_extension",
            Self::UntrustedRoot => "untrusted_root",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::BadSignature => "bad_signature",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::NotACa => "not_a_ca",
            Self::PathLengthExceeded => "path_length_exceeded",
            Self::KeyUsage => "key_usage",
            Self::ExtendedKeyUsage => "extended_key_usage",
            Self::PolicyRequired => "policy_required",
            Self::NameConstraints => "name_constraints",
            Self::NameMismatch => "name_mismatch",
            Self::FamilyCutOff => "family_cut_off",
            Self::FamilyNotAllowed => "family_not_allowed",
            Self::Revoked => "revoked",
            Self::RevocationUnknown => "revocation_unknown",
            Self::PathBudgetExceeded => "path_budget_exceeded",
            Self::IdentityMissing => "identity_missing",
            Self::MalformedCrl => "malformed_crl",
            Self::MalformedOcsp => "malformed_ocsp",
            Self::InvalidSerialNumber => "invalid_serial_number",
            Self::KeyIdentifier => "key_identifier",
            Self::ExtensionCriticality => "extension_criticality",
            Self::CaUsedAsLeaf => "ca_used_as_leaf",
            Self::InvalidName => "invalid_name",
            Self::WeakKey => "weak_key",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// A refusal: a stable [`Reason`] and a human-readable detail (never secret material).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{reason:?}: {detail}")]
pub struct Error {
    /// The stable reason.
    pub reason: Reason,
    /// What exactly was wrong, for people and logs.
    pub detail: String,
}

impl Error {
    /// Builds an error from a reason and a detail.
    pub fn new(reason: Reason, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: detail.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_snake_case_of_the_variant() {
        let all = [
            (Reason::MalformedCertificate, "MalformedCertificate"),
            (
                Reason::UnsupportedCriticalExtension,
                "UnsupportedCriticalExtension",
            ),
            (Reason::UntrustedRoot, "UntrustedRoot"),
            (Reason::Expired, "Expired"),
            (Reason::NotYetValid, "NotYetValid"),
            (Reason::BadSignature, "BadSignature"),
            (Reason::UnsupportedAlgorithm, "UnsupportedAlgorithm"),
            (Reason::NotACa, "NotACa"),
            (Reason::PathLengthExceeded, "PathLengthExceeded"),
            (Reason::KeyUsage, "KeyUsage"),
            (Reason::ExtendedKeyUsage, "ExtendedKeyUsage"),
            (Reason::PolicyRequired, "PolicyRequired"),
            (Reason::NameConstraints, "NameConstraints"),
            (Reason::NameMismatch, "NameMismatch"),
            (Reason::FamilyCutOff, "FamilyCutOff"),
            (Reason::FamilyNotAllowed, "FamilyNotAllowed"),
            (Reason::Revoked, "Revoked"),
            (Reason::RevocationUnknown, "RevocationUnknown"),
            (Reason::PathBudgetExceeded, "PathBudgetExceeded"),
            (Reason::IdentityMissing, "IdentityMissing"),
            (Reason::MalformedCrl, "MalformedCrl"),
            (Reason::MalformedOcsp, "MalformedOcsp"),
            (Reason::InvalidSerialNumber, "InvalidSerialNumber"),
            (Reason::KeyIdentifier, "KeyIdentifier"),
            (Reason::ExtensionCriticality, "ExtensionCriticality"),
            (Reason::CaUsedAsLeaf, "CaUsedAsLeaf"),
            (Reason::InvalidName, "InvalidName"),
            (Reason::WeakKey, "WeakKey"),
        ];
        for (reason, name) in all {
            assert_eq!(format!("{reason:?}"), name);
            let mut snake = String::new();
            for (i, c) in name.chars().enumerate() {
                if c.is_ascii_uppercase() {
                    if i > 0 {
                        snake.push('_');
                    }
                    snake.push(c.to_ascii_lowercase());
                } else {
                    snake.push(c);
                }
            }
            assert_eq!(reason.code(), snake);
        }
    }
}
