//! Self-issued CA certificate templates, the way to give a Vault-held CA key an exact DN.
//!
//! OpenBao builds a CA subject from request parameters through Go's `pkix.Name`, which
//! puts several OUs into ONE multi-valued RDN (`OU=IGC-SANTE + OU=0002 187512751`): not
//! the IGC-Santé DN. Its `root/sign-self-issued` endpoint, though, re-signs a self-issued
//! CA certificate with the mount's CA key and keeps the template's subject bytes,
//! validity, basic constraints, key usage and policies (adding the mount's CRL/OCSP/CA
//! URLs and the authority key identifier). So the template carries the exact subject and
//! the public key Vault generated; its own signature, made with a throwaway key, is never
//! checked by OpenBao and never leaves the process.

use aws_lc_rs::digest;
use chrono::{DateTime, Utc};

use crate::{DistinguishedName, Error, csr::oid, der, keys::KeyKind, keys::LocalKey};

/// What a CA certificate template says.
pub(crate) struct CaTemplate<'a> {
    pub subject: &'a DistinguishedName,
    /// The CA's public key, DER SubjectPublicKeyInfo (from Vault).
    pub spki: &'a [u8],
    /// The subjectPublicKey bits inside `spki` (for the key identifier).
    pub public_key_bits: &'a [u8],
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    /// `Some(0)` for an intermediate that issues leaves only; `None` for a root.
    pub path_len: Option<u8>,
    /// Certificate policies the CA asserts (empty for a root).
    pub policies: &'a [&'a str],
}

/// A PEM self-issued certificate (subject = issuer) for `template`.
pub(crate) fn self_issued(template: &CaTemplate<'_>) -> Result<String, Error> {
    let throwaway = LocalKey::generate(KeyKind::P256)?;
    let key_id = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, template.public_key_bits);
    let name = template.subject.to_der();
    let mut serial = [0_u8; 16];
    aws_lc_rs::rand::fill(&mut serial).map_err(|_| Error::Crypto("random serial"))?;
    serial[0] = (serial[0] & 0x7f) | 0x01;

    let mut extensions = Vec::new();
    let bc = match template.path_len {
        Some(n) => der::sequence(&[&der::boolean_true(), &der::small_integer(u64::from(n))]),
        None => der::sequence(&[&der::boolean_true()]),
    };
    extensions.push(extension("2.5.29.19", true, &bc)?);
    // keyCertSign (bit 5) and cRLSign (bit 6): one byte 0b0000_0110, one unused bit.
    let ku = der::tlv(der::tag::BIT_STRING, &[0x01, 0x06]);
    extensions.push(extension("2.5.29.15", true, &ku)?);
    extensions.push(extension(
        "2.5.29.14",
        false,
        &der::octet_string(key_id.as_ref()),
    )?);
    if template.path_len.is_none() {
        // A root names itself as its authority (what OpenSSL does): the template's value
        // is kept for a self-signed certificate.
        let aki = der::sequence(&[&der::context_primitive(0, key_id.as_ref())]);
        extensions.push(extension("2.5.29.35", false, &aki)?);
    }
    if !template.policies.is_empty() {
        let infos = template
            .policies
            .iter()
            .map(|p| oid(p).map(|o| der::sequence(&[&o])))
            .collect::<Result<Vec<_>, _>>()?;
        let value = der::tlv(der::tag::SEQUENCE, &infos.concat());
        extensions.push(extension("2.5.29.32", false, &value)?);
    }

    let algorithm = throwaway.signature_algorithm();
    let tbs = der::sequence(&[
        &der::context(0, &der::small_integer(2)),
        &der::unsigned_integer(&serial),
        &algorithm,
        &name,
        &der::sequence(&[
            &der::time(template.not_before),
            &der::time(template.not_after),
        ]),
        &name,
        template.spki,
        &der::context(3, &der::tlv(der::tag::SEQUENCE, &extensions.concat())),
    ]);
    let signature = throwaway.sign(&tbs)?;
    let cert = der::sequence(&[&tbs, &algorithm, &der::bit_string(&signature)]);
    Ok(crate::pem::encode("CERTIFICATE", &cert))
}

fn extension(id: &str, critical: bool, value: &[u8]) -> Result<Vec<u8>, Error> {
    let id = oid(id)?;
    let value = der::octet_string(value);
    Ok(if critical {
        der::sequence(&[&id, &der::boolean_true(), &value])
    } else {
        der::sequence(&[&id, &value])
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use x509_parser::prelude::*;

    use super::*;

    #[test]
    fn template_parses_with_the_exact_subject_and_ca_extensions() {
        let key = LocalKey::generate(KeyKind::P256).unwrap();
        let spki = key.spki().unwrap();
        let (_, info) = SubjectPublicKeyInfo::from_der(&spki).unwrap();
        let subject = DistinguishedName::ca(
            "FR",
            "ASIP-SANTE",
            &["0002 187512751", "IGC-SANTE TEST"],
            "TEST AC IGC-SANTE FORT PERSONNES",
        );
        let now = Utc::now();
        let pem = self_issued(&CaTemplate {
            subject: &subject,
            spki: &spki,
            public_key_bits: &info.subject_public_key.data,
            not_before: now,
            not_after: now + chrono::Duration::days(3650),
            path_len: Some(0),
            policies: &["2.25.7.1"],
        })
        .unwrap();
        let der = crate::pem::decode_all(&pem, "CERTIFICATE")
            .unwrap()
            .remove(0);
        let (_, cert) = X509Certificate::from_der(&der).unwrap();
        assert_eq!(cert.subject().as_raw(), subject.to_der().as_slice());
        assert_eq!(cert.issuer().as_raw(), subject.to_der().as_slice());
        assert_eq!(cert.public_key().raw, spki.as_slice());
        let bc = cert.basic_constraints().unwrap().unwrap().value;
        assert!(bc.ca);
        assert_eq!(bc.path_len_constraint, Some(0));
        let ku = cert.key_usage().unwrap().unwrap().value;
        assert!(ku.key_cert_sign() && ku.crl_sign() && !ku.digital_signature());
        assert!(cert.raw_serial()[0] & 0x80 == 0);
    }
}
