//! OCSP requests and the CertID that names a certificate (RFC 6960 §4.1.1).

use aws_lc_rs::digest;

use crate::cert::Certificate;
use crate::crl::der_write::{self as w, seq};
use crate::der::{self, BIT_STRING, Reader, SEQUENCE};

/// A CertID hash algorithm this crate computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CertIdHash {
    /// SHA-1: what every responder accepts (and OpenBao's answers with).
    Sha1,
    /// SHA-256.
    Sha256,
}

impl CertIdHash {
    fn algorithm(self) -> &'static digest::Algorithm {
        match self {
            Self::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            Self::Sha256 => &digest::SHA256,
        }
    }

    fn oid(self) -> &'static [u8] {
        match self {
            Self::Sha1 => w::OID_SHA1,
            Self::Sha256 => w::OID_SHA256,
        }
    }

    /// The hash named by an AlgorithmIdentifier's content (OID, then NULL or
    /// nothing); `None` for any other algorithm.
    pub(crate) fn from_alg_id(value: &[u8]) -> Option<Self> {
        let mut r = Reader::new(value);
        let oid = r.expect(der::OID)?.value;
        if let Some(params) = r.read()
            && (params.tag != der::NULL || !params.value.is_empty())
        {
            return None;
        }
        if !r.is_empty() {
            return None;
        }
        [Self::Sha1, Self::Sha256]
            .into_iter()
            .find(|h| h.oid() == oid)
    }

    pub(crate) fn hash(self, data: &[u8]) -> Vec<u8> {
        digest::digest(self.algorithm(), data).as_ref().to_vec()
    }
}

/// The `subjectPublicKey` BIT STRING value of a SubjectPublicKeyInfo, without
/// the unused-bits byte: what issuerKeyHash and a byKey responderID hash.
pub(crate) fn public_key_bits(spki_der: &[u8]) -> Option<&[u8]> {
    let spki = der::single(spki_der, SEQUENCE)?;
    let mut r = Reader::new(spki.value);
    r.expect(SEQUENCE)?;
    let bits = r.expect(BIT_STRING)?;
    match bits.value {
        [0, key @ ..] if r.is_empty() => Some(key),
        _ => None,
    }
}

/// The CertID of `cert` issued by `issuer`, hashed with `hash`: issuerNameHash
/// over the certificate's issuer Name, issuerKeyHash over the issuer's key.
pub(crate) fn cert_id(hash: CertIdHash, cert: &Certificate, issuer: &Certificate) -> Vec<u8> {
    let key = public_key_bits(issuer.spki_der()).unwrap_or_default();
    seq(&[
        &seq(&[&w::oid(hash.oid()), &w::NULL]),
        &w::octets(&hash.hash(cert.issuer_der())),
        &w::octets(&hash.hash(key)),
        &w::int_bytes(cert.serial()),
    ])
}

/// A DER OCSPRequest for one certificate: CertID with SHA-1 (what responders
/// universally accept, OpenBao's included), no nonce, unsigned.
///
/// Send it as the body of an HTTP POST with `Content-Type:
/// application/ocsp-request` to the responder named in the certificate's
/// authorityInfoAccess ([`Certificate::ocsp_urls`]).
pub fn build_request(cert: &Certificate, issuer: &Certificate) -> Vec<u8> {
    let request = seq(&[&cert_id(CertIdHash::Sha1, cert, issuer)]);
    let request_list = seq(&[&request]);
    let tbs_request = seq(&[&request_list]);
    seq(&[&tbs_request])
}
