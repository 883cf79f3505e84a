//! What RFC 5280 (and the strict validators: Go, rustls-webpki, BoringSSL) require of each
//! certificate by its place in a path, beyond signatures, validity and usages: serial
//! numbers, key identifiers, the criticality of the extensions whose criticality is fixed,
//! names, and keys; and the CA/Browser Forum's rules for TLS server certificates
//! ([`web_pki`]), which only some purposes follow.

use crate::cert::{Certificate, ku};
use crate::identity;
use crate::names::{self, GeneralName};
use crate::reason::{Error, Reason};
use crate::sig;

/// Where a certificate sits in the path being checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Role {
    /// The certificate validated. `end_entity`: a purpose or a peer name was asked, so
    /// it must not be a CA.
    Leaf { end_entity: bool },
    /// A CA between the leaf and the anchor.
    Intermediate,
    /// The trust anchor, used as a certificate (it issued something on the path).
    Anchor,
}

fn refuse(reason: Reason, cert: &Certificate, what: &str) -> Error {
    Error::new(reason, format!("{} {what}", cert.label()))
}

/// The checks of `cert` in `role`; the first problem found.
pub(super) fn check(cert: &Certificate, role: Role) -> Result<(), Error> {
    serial_number(cert)?;
    let v3 = cert.version() == 2;
    let c = cert.criticality();
    let is_ca_role = matches!(role, Role::Intermediate | Role::Anchor);

    // Key identifiers (RFC 5280 §4.2.1.1, §4.2.1.2).
    if c.aki == Some(true) || c.ski == Some(true) {
        return Err(refuse(
            Reason::KeyIdentifier,
            cert,
            "marks a key identifier critical",
        ));
    }
    let (aki_present, aki_issuer_serial) = cert.aki_shape();
    // An anchor's issuer is not on the path: its AKI identifies nothing to check.
    if v3 && role != Role::Anchor && !cert.is_self_issued() && cert.authority_key_id().is_none() {
        return Err(refuse(
            Reason::KeyIdentifier,
            cert,
            "has no authorityKeyIdentifier keyIdentifier",
        ));
    }
    if v3 && is_ca_role && cert.subject_key_id().is_none() {
        return Err(refuse(
            Reason::KeyIdentifier,
            cert,
            "is a CA without a subjectKeyIdentifier",
        ));
    }
    if role == Role::Anchor && cert.is_self_issued() && aki_present {
        if cert.authority_key_id().is_none() {
            return Err(refuse(
                Reason::KeyIdentifier,
                cert,
                "is a root whose authorityKeyIdentifier has no keyIdentifier",
            ));
        }
        if aki_issuer_serial {
            return Err(refuse(
                Reason::KeyIdentifier,
                cert,
                "is a root whose authorityKeyIdentifier names an issuer or serial",
            ));
        }
        if let (Some(a), Some(s)) = (cert.authority_key_id(), cert.subject_key_id())
            && a != s
        {
            return Err(refuse(
                Reason::KeyIdentifier,
                cert,
                "is a root whose authorityKeyIdentifier differs from its subjectKeyIdentifier",
            ));
        }
    }

    // basicConstraints (§4.2.1.9): critical in a CA certificate.
    if is_ca_role && c.basic_constraints == Some(false) {
        return Err(refuse(
            Reason::ExtensionCriticality,
            cert,
            "is a CA whose basicConstraints is not critical",
        ));
    }
    if let Role::Leaf { end_entity: true } = role {
        let cert_sign = cert.key_usage().is_some_and(|k| k & ku::KEY_CERT_SIGN != 0);
        if cert.is_ca() || cert_sign {
            return Err(refuse(
                Reason::CaUsedAsLeaf,
                cert,
                "is a CA certificate (cA or keyCertSign) presented as the end entity",
            ));
        }
    }

    // extendedKeyUsage (§4.2.1.12): SEQUENCE SIZE (1..MAX).
    if cert.eku_oids().is_some_and(|mut it| it.next().is_none()) {
        return Err(refuse(
            Reason::ExtendedKeyUsage,
            cert,
            "has an empty extendedKeyUsage",
        ));
    }

    // authorityInfoAccess (§4.2.2.1): never critical.
    if c.aia == Some(true) {
        return Err(refuse(
            Reason::ExtensionCriticality,
            cert,
            "marks its authorityInfoAccess critical",
        ));
    }

    // policyConstraints (§4.2.1.11) and nameConstraints (§4.2.1.10): critical, in CAs.
    if is_ca_role && c.policy_constraints == Some(false) {
        return Err(refuse(
            Reason::ExtensionCriticality,
            cert,
            "has a policyConstraints extension that is not critical",
        ));
    }
    if let Some(nc) = cert.name_constraints_der() {
        if c.name_constraints != Some(true) {
            return Err(refuse(
                Reason::ExtensionCriticality,
                cert,
                "has a nameConstraints extension that is not critical",
            ));
        }
        if !cert.is_ca() {
            return Err(refuse(
                Reason::NameConstraints,
                cert,
                "is not a CA and carries nameConstraints",
            ));
        }
        // NameConstraints ::= SEQUENCE { permitted [0] OPTIONAL, excluded [1] OPTIONAL }
        // with "at least one of them present" (§4.2.1.10).
        if nc.len() <= 2 {
            return Err(refuse(
                Reason::NameConstraints,
                cert,
                "has nameConstraints with neither permitted nor excluded subtrees",
            ));
        }
    }

    // Names (§4.1.2.6, §4.2.1.6).
    let empty_subject = cert.subject_is_empty();
    if is_ca_role && empty_subject {
        return Err(refuse(
            Reason::InvalidName,
            cert,
            "is a CA with an empty subject",
        ));
    }
    match (empty_subject, c.san) {
        (true, None) => {
            return Err(refuse(
                Reason::InvalidName,
                cert,
                "has an empty subject and no subjectAltName",
            ));
        }
        (true, Some(false)) => {
            return Err(refuse(
                Reason::ExtensionCriticality,
                cert,
                "has an empty subject and a subjectAltName that is not critical",
            ));
        }
        (false, Some(true)) => {
            return Err(refuse(
                Reason::ExtensionCriticality,
                cert,
                "has a subject and a critical subjectAltName",
            ));
        }
        _ => {}
    }

    // subjectAltName entries: a dNSName in the preferred name syntax, an iPAddress of
    // 4 or 16 octets (a constraint's 8 or 32 belong to nameConstraints only).
    for name in names::san_names(cert)? {
        match name {
            GeneralName::Dns(dns) if !names::valid_san_dns(dns) => {
                return Err(refuse(
                    Reason::InvalidName,
                    cert,
                    "has a subjectAltName dNSName that is not a valid DNS name",
                ));
            }
            GeneralName::Email(mailbox) if !names::valid_mailbox(mailbox) => {
                return Err(refuse(
                    Reason::InvalidName,
                    cert,
                    "has a subjectAltName rfc822Name that is not a valid mailbox",
                ));
            }
            GeneralName::Ip(ip) if ip.len() != 4 && ip.len() != 16 => {
                return Err(refuse(
                    Reason::InvalidName,
                    cert,
                    "has a subjectAltName iPAddress that is neither 4 nor 16 octets",
                ));
            }
            _ => {}
        }
    }

    // Keys: the same floor at every place (a weak anchor or intermediate key would
    // still verify the signature below it).
    sig::check_public_key(cert.spki_der())
        .map_err(|e| Error::new(e.reason, format!("{}: {}", cert.label(), e.detail)))?;
    Ok(())
}

/// The CA/Browser Forum rules for TLS server certificates (Baseline Requirements
/// §7.1.2), for profiles with [`crate::purpose::Profile::web_pki`]: the leaf's EKU is
/// not critical, it has at most one subject CN and that CN does not spell a name
/// differently from its subjectAltNames (see [`names::misspelt_cn`]), its wildcards
/// do not sit on a public suffix; the anchor has no EKU.
pub(super) fn web_pki(cert: &Certificate, role: Role) -> Result<(), Error> {
    match role {
        Role::Anchor => {
            if cert.eku_oids().is_some() {
                return Err(refuse(
                    Reason::ExtendedKeyUsage,
                    cert,
                    "is a root with an extendedKeyUsage (the web PKI forbids it)",
                ));
            }
        }
        Role::Intermediate => {}
        Role::Leaf { .. } => {
            if cert.criticality().eku == Some(true) {
                return Err(refuse(
                    Reason::ExtensionCriticality,
                    cert,
                    "marks its extendedKeyUsage critical (the web PKI forbids it)",
                ));
            }
            let sans = names::san_names(cert)?;
            if sans.iter().any(|n| match n {
                GeneralName::Dns(dns) => names::wildcard_on_public_suffix(dns),
                _ => false,
            }) {
                return Err(refuse(
                    Reason::InvalidName,
                    cert,
                    "has a wildcard subjectAltName over a public suffix",
                ));
            }
            let attrs = identity::attributes(cert.subject_der())?;
            let mut cns = attrs.iter().filter(|(oid, _)| *oid == identity::CN);
            match (cns.next(), cns.next()) {
                (None, _) => {}
                (Some(_), Some(_)) => {
                    return Err(refuse(
                        Reason::InvalidName,
                        cert,
                        "has more than one subject CN",
                    ));
                }
                (Some((_, cn)), None) => {
                    if let Some(why) = cn.as_deref().and_then(|cn| names::misspelt_cn(cn, &sans)) {
                        return Err(refuse(Reason::InvalidName, cert, why));
                    }
                }
            }
        }
    }
    Ok(())
}

/// RFC 5280 §4.1.2.2: a positive INTEGER of at most 20 octets (the sign octet of a
/// value whose high bit is set aside).
fn serial_number(cert: &Certificate) -> Result<(), Error> {
    let serial = cert.serial();
    let bad = |what: &str| {
        Error::new(
            Reason::InvalidSerialNumber,
            format!("{} has {what}", cert.label()),
        )
    };
    match serial {
        [] => Err(bad("an empty serial number")),
        [first, ..] if first & 0x80 != 0 => Err(bad("a negative serial number")),
        s if s.iter().all(|b| *b == 0) => Err(bad("a zero serial number")),
        [0, rest @ ..] if rest.len() > 20 => Err(bad("a serial number longer than 20 octets")),
        [first, ..] if *first != 0 && serial.len() > 20 => {
            Err(bad("a serial number longer than 20 octets"))
        }
        _ => Ok(()),
    }
}
