//! Test builders for OCSP responses, written byte by byte (independently of
//! the request code, so that the CertID computation is cross-checked).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_lc_rs::digest;

use crate::cert::Certificate;
use crate::crl::der_write::{self as w, cons, seq};
use crate::crl::testutil::TestCa;

/// Which hash a test CertID uses.
#[derive(Clone, Copy)]
pub(crate) enum Hash {
    Sha1,
    Sha256,
}

fn h(hash: Hash, data: &[u8]) -> Vec<u8> {
    let alg = match hash {
        Hash::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
        Hash::Sha256 => &digest::SHA256,
    };
    digest::digest(alg, data).as_ref().to_vec()
}

/// The subjectPublicKey bits of a certificate, found by hand: the SPKI is
/// SEQUENCE { SEQUENCE alg, BIT STRING }; the BIT STRING is its last TLV.
fn key_bits(cert: &Certificate) -> Vec<u8> {
    let spki = cert.spki_der();
    let mut r = crate::der::Reader::new(spki);
    let outer = r.read().unwrap();
    let mut inner = crate::der::Reader::new(outer.value);
    inner.read().unwrap();
    inner.read().unwrap().value[1..].to_vec()
}

/// A CertID for `cert` issued by `issuer`.
pub(crate) fn cert_id(hash: Hash, cert: &Certificate, issuer: &Certificate) -> Vec<u8> {
    let oid = match hash {
        Hash::Sha1 => w::OID_SHA1,
        Hash::Sha256 => w::OID_SHA256,
    };
    seq(&[
        &seq(&[&w::oid(oid), &w::NULL]),
        &w::octets(&h(hash, cert.issuer_der())),
        &w::octets(&h(hash, &key_bits(issuer))),
        &w::int_bytes(cert.serial()),
    ])
}

/// certStatus good.
pub(crate) fn good() -> Vec<u8> {
    vec![0x80, 0x00]
}

/// certStatus unknown.
pub(crate) fn unknown() -> Vec<u8> {
    vec![0x82, 0x00]
}

/// certStatus revoked.
pub(crate) fn revoked(at: i64, reason: Option<u8>) -> Vec<u8> {
    let reason = reason
        .map(|r| cons(0xa0, &[&w::tlv(0x0a, &[r])]))
        .unwrap_or_default();
    cons(0xa1, &[&w::generalized_time(at), &reason])
}

/// A SingleResponse.
pub(crate) fn single(
    cert_id: &[u8],
    status: &[u8],
    this_update: i64,
    next_update: Option<i64>,
) -> Vec<u8> {
    let next = next_update
        .map(|t| cons(0xa0, &[&w::generalized_time(t)]))
        .unwrap_or_default();
    seq(&[cert_id, status, &w::generalized_time(this_update), &next])
}

/// responderID byName.
pub(crate) fn by_name(cert: &Certificate) -> Vec<u8> {
    cons(0xa1, &[cert.subject_der()])
}

/// responderID byKey.
pub(crate) fn by_key(cert: &Certificate) -> Vec<u8> {
    cons(0xa2, &[&w::octets(&h(Hash::Sha1, &key_bits(cert)))])
}

/// ResponseData (v1 by default: no version field).
pub(crate) fn response_data(
    responder: &[u8],
    produced_at: i64,
    singles: &[Vec<u8>],
    extensions: Option<&[u8]>,
) -> Vec<u8> {
    let refs: Vec<&[u8]> = singles.iter().map(Vec::as_slice).collect();
    let exts = extensions.map(|e| cons(0xa1, &[e])).unwrap_or_default();
    seq(&[
        responder,
        &w::generalized_time(produced_at),
        &seq(&refs),
        &exts,
    ])
}

/// A BasicOCSPResponse over `tbs`, signed by `signer`, with `certs`.
pub(crate) fn basic(signer: &TestCa, tbs: &[u8], certs: &[&Certificate]) -> Vec<u8> {
    let signed = signer.sign_structure(tbs);
    if certs.is_empty() {
        return signed;
    }
    // Re-open the signed SEQUENCE to append the [0] certs field.
    let mut r = crate::der::Reader::new(&signed);
    let content = r.read().unwrap().value.to_vec();
    let der: Vec<&[u8]> = certs.iter().map(|c| c.der()).collect();
    let certs = cons(0xa0, &[&seq(&der)]);
    seq(&[&content, &certs])
}

/// The OCSPResponse (successful) carrying `basic`.
pub(crate) fn ocsp_response(basic: &[u8]) -> Vec<u8> {
    let kind = w::oid(&[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01]);
    seq(&[
        &w::tlv(0x0a, &[0]),
        &cons(0xa0, &[&seq(&[&kind, &w::octets(basic)])]),
    ])
}
