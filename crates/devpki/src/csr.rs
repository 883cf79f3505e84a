//! PKCS#10 certification requests (RFC 2986) with an exact subject, certificate policies
//! and subject alternative names, signed by the local key.

use std::net::IpAddr;

use crate::{DistinguishedName, Error, der, keys::LocalKey};

/// A subject alternative name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubjectAltName {
    /// A DNS name (ASCII; IDNs in their `xn--` form).
    Dns(String),
    /// An IP address.
    Ip(IpAddr),
}

/// The extensions a request asks for. OpenBao's `sign-verbatim` copies a request's
/// extensions into the certificate, so these are exactly the certificate's policies and
/// SANs.
#[derive(Clone, Debug, Default)]
pub(crate) struct Requested<'a> {
    pub policies: &'a [String],
    pub sans: &'a [SubjectAltName],
}

/// A DER PKCS#10 request for `subject` and `key`'s public key, signed by `key`.
pub(crate) fn build(
    subject: &DistinguishedName,
    key: &LocalKey,
    requested: &Requested<'_>,
) -> Result<Vec<u8>, Error> {
    let extensions = extensions(requested)?;
    let attributes = if extensions.is_empty() {
        der::context(0, &[])
    } else {
        // extensionRequest (PKCS#9): SET { Extensions }.
        let ext_req = oid("1.2.840.113549.1.9.14")?;
        let value = der::set_of(vec![der::tlv(der::tag::SEQUENCE, &extensions.concat())]);
        der::context(0, &der::sequence(&[&ext_req, &value]))
    };
    let info = der::sequence(&[
        &der::small_integer(0),
        &subject.to_der(),
        &key.spki()?,
        &attributes,
    ]);
    let signature = key.sign(&info)?;
    Ok(der::sequence(&[
        &info,
        &key.signature_algorithm(),
        &der::bit_string(&signature),
    ]))
}

fn extensions(requested: &Requested<'_>) -> Result<Vec<Vec<u8>>, Error> {
    let mut out = Vec::new();
    if !requested.policies.is_empty() {
        let infos = requested
            .policies
            .iter()
            .map(|p| oid(p).map(|o| der::sequence(&[&o])))
            .collect::<Result<Vec<_>, _>>()?;
        let value = der::tlv(der::tag::SEQUENCE, &infos.concat());
        out.push(extension("2.5.29.32", &value)?);
    }
    if !requested.sans.is_empty() {
        let names = requested
            .sans
            .iter()
            .map(|san| match san {
                SubjectAltName::Dns(name) if name.is_ascii() && !name.is_empty() => {
                    Ok(der::context_primitive(2, name.as_bytes()))
                }
                SubjectAltName::Dns(name) => {
                    Err(Error::Invalid(format!("DNS name {name:?} is not ASCII")))
                }
                SubjectAltName::Ip(IpAddr::V4(ip)) => Ok(der::context_primitive(7, &ip.octets())),
                SubjectAltName::Ip(IpAddr::V6(ip)) => Ok(der::context_primitive(7, &ip.octets())),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let value = der::tlv(der::tag::SEQUENCE, &names.concat());
        out.push(extension("2.5.29.17", &value)?);
    }
    Ok(out)
}

/// A non-critical extension.
fn extension(id: &str, value: &[u8]) -> Result<Vec<u8>, Error> {
    Ok(der::sequence(&[&oid(id)?, &der::octet_string(value)]))
}

pub(crate) fn oid(dotted: &str) -> Result<Vec<u8>, Error> {
    der::oid(dotted).ok_or_else(|| Error::Invalid(format!("{dotted:?} is not an OID")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use x509_parser::{
        certification_request::X509CertificationRequest, extensions::ParsedExtension,
        prelude::FromDer as _,
    };

    use super::*;
    use crate::keys::KeyKind;

    fn verify(csr: &X509CertificationRequest<'_>, kind: KeyKind) {
        use aws_lc_rs::signature;
        let alg: &dyn signature::VerificationAlgorithm = match kind {
            KeyKind::Rsa2048 => &signature::RSA_PKCS1_2048_8192_SHA256,
            KeyKind::P256 => &signature::ECDSA_P256_SHA256_ASN1,
        };
        let info = &csr.certification_request_info;
        signature::UnparsedPublicKey::new(alg, &info.subject_pki.subject_public_key.data[..])
            .verify(info.raw, &csr.signature_value.data)
            .unwrap();
    }

    #[test]
    fn request_carries_the_exact_subject_and_extensions() {
        for kind in [KeyKind::P256, KeyKind::Rsa2048] {
            let key = LocalKey::generate(kind).unwrap();
            let subject =
                DistinguishedName::professional("Médecin", "DUPONT", "Jean", "899700218896");
            let policies = vec!["2.25.1.2".to_owned()];
            let sans = vec![
                SubjectAltName::Dns("a.example".into()),
                SubjectAltName::Ip("127.0.0.1".parse().unwrap()),
            ];
            let der = build(
                &subject,
                &key,
                &Requested {
                    policies: &policies,
                    sans: &sans,
                },
            )
            .unwrap();
            let (rest, csr) = X509CertificationRequest::from_der(&der).unwrap();
            assert!(rest.is_empty());
            verify(&csr, kind);
            assert_eq!(
                csr.certification_request_info.subject.as_raw(),
                subject.to_der().as_slice()
            );
            let exts: Vec<_> = csr.requested_extensions().unwrap().collect();
            assert!(
                exts.iter()
                    .any(|e| matches!(e, ParsedExtension::CertificatePolicies(p) if p.len() == 1))
            );
            assert!(exts.iter().any(|e| matches!(e, ParsedExtension::SubjectAlternativeName(s) if s.general_names.len() == 2)));
        }
    }

    #[test]
    fn request_without_extensions_has_empty_attributes() {
        let key = LocalKey::generate(KeyKind::P256).unwrap();
        let subject = DistinguishedName::structure("75", "Hôpital", "1750000000", "DPI");
        let der = build(&subject, &key, &Requested::default()).unwrap();
        let (_, csr) = X509CertificationRequest::from_der(&der).unwrap();
        verify(&csr, KeyKind::P256);
        assert!(csr.requested_extensions().is_none());
    }
}
