//! Test builders: P-256 CAs made with rcgen, CRLs written byte by byte with
//! [`der_write`](super::der_write) and signed with the CA key. Shared by the
//! CRL and OCSP tests.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SigningKey,
};

use super::der_write::{self as w, seq};
use crate::cert::Certificate;

/// 2025-06-15T15:06:40Z: "now" in the tests.
pub(crate) const NOW: i64 = 1_750_000_000;
pub(crate) const DAY: i64 = 86_400;

/// AlgorithmIdentifier ecdsa-with-SHA256 (no parameters).
pub(crate) fn ecdsa_sha256() -> Vec<u8> {
    seq(&[&w::oid(&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02])])
}

/// `time::OffsetDateTime` of `secs`.
pub(crate) fn at(secs: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(secs).unwrap()
}

/// A CA (or any certificate holder) with its rcgen key and parameters.
pub(crate) struct TestCa {
    pub key: KeyPair,
    pub params: CertificateParams,
    pub cert: Certificate,
}

fn ca_params(cn: &str, key_usages: Vec<KeyUsagePurpose>) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    // AKI, which RFC 5280 requires and the validator checks.
    params.use_authority_key_identifier_extension = true;
    params.distinguished_name.push(DnType::CountryName, "FR");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "ASIP-SANTE");
    params.distinguished_name.push(DnType::CommonName, cn);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = key_usages;
    params
}

impl TestCa {
    /// A self-signed CA with keyCertSign and cRLSign.
    pub(crate) fn new(cn: &str) -> Self {
        Self::with_key_usages(
            cn,
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign],
        )
    }

    /// A self-signed CA with the given keyUsage bits (none: no extension).
    pub(crate) fn with_key_usages(cn: &str, key_usages: Vec<KeyUsagePurpose>) -> Self {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let params = ca_params(cn, key_usages);
        let der = params.self_signed(&key).unwrap().der().to_vec();
        Self {
            key,
            params,
            cert: Certificate::from_der(der).unwrap(),
        }
    }

    /// A certificate issued by this CA; `edit` adjusts the parameters.
    pub(crate) fn issue(&self, cn: &str, edit: impl FnOnce(&mut CertificateParams)) -> TestCa {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        // AKI, which RFC 5280 requires and the validator checks.
        params.use_authority_key_identifier_extension = true;
        params.distinguished_name.push(DnType::CountryName, "FR");
        params.distinguished_name.push(DnType::CommonName, cn);
        edit(&mut params);
        let issuer = Issuer::from_params(&self.params, &self.key);
        let der = params.signed_by(&key, &issuer).unwrap().der().to_vec();
        TestCa {
            key,
            params,
            cert: Certificate::from_der(der).unwrap(),
        }
    }

    /// A delegated OCSP responder certificate issued by this CA, valid
    /// `not_before..not_after` (seconds), with or without id-kp-OCSPSigning.
    pub(crate) fn ocsp_responder(&self, with_eku: bool, not_before: i64, not_after: i64) -> TestCa {
        self.issue("OCSP responder", |p| {
            if with_eku {
                p.extended_key_usages = vec![ExtendedKeyUsagePurpose::OcspSigning];
            } else {
                p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
            }
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            p.not_before = at(not_before);
            p.not_after = at(not_after);
        })
    }

    /// `seq(tbs, ecdsa-with-SHA256, BIT STRING signature)`: a signed structure.
    pub(crate) fn sign_structure(&self, tbs: &[u8]) -> Vec<u8> {
        let signature = self.key.sign(tbs).unwrap();
        seq(&[tbs, &ecdsa_sha256(), &w::bits(&signature)])
    }
}

/// One revokedCertificates entry: serial content bytes, date, optional reason.
pub(crate) fn entry(serial: &[u8], revoked_at: i64, reason: Option<u8>) -> Vec<u8> {
    let exts = reason.map(|code| {
        seq(&[&w::extension(
            &[0x55, 0x1d, 0x15],
            false,
            &w::tlv(0x0a, &[code]),
        )])
    });
    entry_with(serial, revoked_at, exts.as_deref())
}

/// An entry with a raw `Extensions` SEQUENCE (or none).
pub(crate) fn entry_with(serial: &[u8], revoked_at: i64, exts: Option<&[u8]>) -> Vec<u8> {
    seq(&[
        &w::int_bytes(serial),
        &w::time(revoked_at),
        exts.unwrap_or_default(),
    ])
}

/// What goes into a test CRL.
pub(crate) struct CrlSpec {
    pub this_update: i64,
    pub next_update: Option<i64>,
    /// DER entries (see [`entry`]).
    pub entries: Vec<Vec<u8>>,
    /// DER `Extension`s of the CRL (the cRLNumber is added first when set).
    pub extensions: Vec<Vec<u8>>,
    pub number: Option<u64>,
}

impl Default for CrlSpec {
    fn default() -> Self {
        Self {
            this_update: NOW - DAY,
            next_update: Some(NOW + DAY),
            entries: Vec::new(),
            extensions: Vec::new(),
            number: Some(42),
        }
    }
}

/// The TBSCertList of `spec`, issued by `issuer_der` (a DER Name).
pub(crate) fn tbs_cert_list(issuer_der: &[u8], spec: &CrlSpec) -> Vec<u8> {
    let mut exts: Vec<Vec<u8>> = Vec::new();
    if let Some(n) = spec.number {
        exts.push(w::extension(&[0x55, 0x1d, 0x14], false, &w::uint(n)));
    }
    exts.extend(spec.extensions.iter().cloned());
    let exts = if exts.is_empty() {
        Vec::new()
    } else {
        let refs: Vec<&[u8]> = exts.iter().map(Vec::as_slice).collect();
        w::cons(0xa0, &[&seq(&refs)])
    };
    let entries = if spec.entries.is_empty() {
        Vec::new()
    } else {
        let mut content = Vec::with_capacity(spec.entries.iter().map(Vec::len).sum());
        for e in &spec.entries {
            content.extend_from_slice(e);
        }
        w::tlv(0x30, &content)
    };
    let next = spec.next_update.map(w::time).unwrap_or_default();
    seq(&[
        &w::uint(1),
        &ecdsa_sha256(),
        issuer_der,
        &w::time(spec.this_update),
        &next,
        &entries,
        &exts,
    ])
}

/// A CRL of `spec` issued and signed by `ca`.
pub(crate) fn crl(ca: &TestCa, spec: &CrlSpec) -> Vec<u8> {
    ca.sign_structure(&tbs_cert_list(ca.cert.subject_der(), spec))
}
