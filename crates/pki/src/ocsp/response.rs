//! Decoding of OCSPResponse / BasicOCSPResponse (RFC 6960 §4.2.1) into owned
//! values. Nothing is trusted here: [`super::OcspResponse::status_for`] checks
//! the signature before any of it is used.

use super::malformed;
use super::request::CertIdHash;
use crate::cert::Certificate;
use crate::crl::fields::{self, ENUMERATED, GENERALIZED_TIME};
use crate::der::{self, BIT_STRING, INTEGER, OCTET_STRING, OID, Reader, SEQUENCE};
use crate::reason::Error;

/// id-pkix-ocsp-basic, 1.3.6.1.5.5.7.48.1.1.
const OCSP_BASIC: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01];

/// Most SingleResponses read from one response (responders answer one per
/// requested certificate; we ask for one).
const MAX_RESPONSES: usize = 64;
/// Most certificates read from the `certs` field (a delegated responder and
/// perhaps its chain).
const MAX_CERTS: usize = 8;

/// How the response names its signer.
#[derive(Clone, Debug)]
pub(crate) enum ResponderId {
    /// The DER of the signer's subject Name.
    ByName(Vec<u8>),
    /// SHA-1 of the signer's subjectPublicKey bits.
    ByKey(Vec<u8>),
}

/// certStatus, times in seconds since the epoch.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Status {
    Good,
    Revoked { at: i64, reason: Option<u8> },
    Unknown,
}

/// One SingleResponse.
#[derive(Clone, Debug)]
pub(crate) struct Single {
    /// `None`: a hash algorithm this crate does not compute (never matches).
    pub hash: Option<CertIdHash>,
    pub name_hash: Vec<u8>,
    pub key_hash: Vec<u8>,
    /// Canonical serial (see `fields::serial`).
    pub serial: Vec<u8>,
    pub status: Status,
    pub this_update: i64,
    pub next_update: Option<i64>,
}

/// A decoded, not yet verified BasicOCSPResponse.
#[derive(Clone, Debug)]
pub(crate) struct Basic {
    /// The DER of tbsResponseData: what was signed.
    pub tbs: Vec<u8>,
    pub signature_alg: Vec<u8>,
    pub signature: Vec<u8>,
    pub responder: ResponderId,
    pub produced_at: i64,
    pub responses: Vec<Single>,
    pub certs: Vec<Certificate>,
}

/// Decodes a whole OCSPResponse.
pub(crate) fn decode(input: &[u8]) -> Result<Basic, Error> {
    let outer = der::single(input, SEQUENCE).ok_or_else(|| malformed("not a DER OCSPResponse"))?;
    let mut r = Reader::new(outer.value);
    let status = r
        .expect(ENUMERATED)
        .ok_or_else(|| malformed("bad responseStatus"))?;
    match status.value {
        [0] => {}
        [code] => {
            return Err(malformed(format!(
                "responder said {}",
                status_name(*code).unwrap_or("an unknown responseStatus")
            )));
        }
        _ => return Err(malformed("bad responseStatus")),
    }
    let bytes = r
        .expect(0xa0)
        .and_then(|t| der::single(t.value, SEQUENCE))
        .ok_or_else(|| malformed("successful response without responseBytes"))?;
    if !r.is_empty() {
        return Err(malformed("trailing data in OCSPResponse"));
    }
    let mut r = Reader::new(bytes.value);
    let kind = r.expect(OID).ok_or_else(|| malformed("bad responseType"))?;
    if kind.value != OCSP_BASIC {
        return Err(malformed(format!(
            "responseType {} is not id-pkix-ocsp-basic",
            der::oid_to_string(kind.value).unwrap_or_else(|| "?".to_owned())
        )));
    }
    let response = r
        .expect(OCTET_STRING)
        .ok_or_else(|| malformed("bad response OCTET STRING"))?;
    if !r.is_empty() {
        return Err(malformed("trailing data in ResponseBytes"));
    }
    basic(response.value)
}

fn status_name(code: u8) -> Option<&'static str> {
    Some(match code {
        1 => "malformedRequest",
        2 => "internalError",
        3 => "tryLater",
        5 => "sigRequired",
        6 => "unauthorized",
        _ => return None,
    })
}

fn basic(input: &[u8]) -> Result<Basic, Error> {
    let seq = der::single(input, SEQUENCE).ok_or_else(|| malformed("bad BasicOCSPResponse"))?;
    let mut r = Reader::new(seq.value);
    let tbs = r
        .expect(SEQUENCE)
        .ok_or_else(|| malformed("bad tbsResponseData"))?;
    let alg = r
        .expect(SEQUENCE)
        .ok_or_else(|| malformed("bad signatureAlgorithm"))?;
    let signature = match r.expect(BIT_STRING).map(|t| t.value) {
        Some([0, bits @ ..]) => bits,
        _ => return Err(malformed("bad signature BIT STRING")),
    };
    let certs = match r.optional(0xa0) {
        Some(explicit) => certs(explicit.value)?,
        None => Vec::new(),
    };
    if !r.is_empty() {
        return Err(malformed("trailing data in BasicOCSPResponse"));
    }
    let data = response_data(tbs.value)?;
    Ok(Basic {
        tbs: tbs.raw.to_vec(),
        signature_alg: alg.raw.to_vec(),
        signature: signature.to_vec(),
        responder: data.0,
        produced_at: data.1,
        responses: data.2,
        certs,
    })
}

fn certs(explicit: &[u8]) -> Result<Vec<Certificate>, Error> {
    let list = der::single(explicit, SEQUENCE).ok_or_else(|| malformed("bad certs"))?;
    let mut r = Reader::new(list.value);
    let mut out = Vec::new();
    while !r.is_empty() {
        if out.len() == MAX_CERTS {
            return Err(malformed(format!("more than {MAX_CERTS} certificates")));
        }
        let cert = r.expect(SEQUENCE).ok_or_else(|| malformed("bad certs"))?;
        let cert = Certificate::from_der(cert.raw)
            .map_err(|e| malformed(format!("bad certificate in certs: {}", e.detail)))?;
        out.push(cert);
    }
    Ok(out)
}

fn response_data(value: &[u8]) -> Result<(ResponderId, i64, Vec<Single>), Error> {
    let mut r = Reader::new(value);
    if let Some(version) = r.optional(0xa0)
        && der::single(version.value, INTEGER).map(|t| t.value) != Some(&[0])
    {
        return Err(malformed("ResponseData version is not v1"));
    }
    let responder = match r.read() {
        Some(t) if t.tag == 0xa1 => ResponderId::ByName(
            der::single(t.value, SEQUENCE)
                .ok_or_else(|| malformed("bad responderID byName"))?
                .raw
                .to_vec(),
        ),
        Some(t) if t.tag == 0xa2 => ResponderId::ByKey(
            der::single(t.value, OCTET_STRING)
                .filter(|k| k.value.len() == 20)
                .ok_or_else(|| malformed("bad responderID byKey"))?
                .value
                .to_vec(),
        ),
        _ => return Err(malformed("bad responderID")),
    };
    let produced_at = r
        .expect(GENERALIZED_TIME)
        .and_then(|t| fields::time(t.tag, t.value))
        .ok_or_else(|| malformed("bad producedAt"))?;
    let list = r
        .expect(SEQUENCE)
        .ok_or_else(|| malformed("bad responses"))?;
    if let Some(exts) = r.optional(0xa1) {
        no_critical_extension(exts.value, "response")?;
    }
    if !r.is_empty() {
        return Err(malformed("trailing data in ResponseData"));
    }
    let mut responses = Vec::new();
    let mut lr = Reader::new(list.value);
    while !lr.is_empty() {
        if responses.len() == MAX_RESPONSES {
            return Err(malformed(format!("more than {MAX_RESPONSES} responses")));
        }
        let single_der = lr
            .expect(SEQUENCE)
            .ok_or_else(|| malformed("bad SingleResponse"))?;
        responses.push(single(single_der.value)?);
    }
    Ok((responder, produced_at, responses))
}

/// Refuses a critical extension: none is processed here, so RFC 5280's rule
/// (which RFC 6960 §4.4 follows) says the response must not be used.
fn no_critical_extension(explicit: &[u8], level: &str) -> Result<(), Error> {
    let list = der::single(explicit, SEQUENCE)
        .and_then(|t| fields::extensions(t.value))
        .ok_or_else(|| malformed(format!("bad {level} extensions")))?;
    for ext in list {
        if ext.critical {
            return Err(malformed(format!(
                "unknown critical {level} extension {}",
                ext.oid_string()
            )));
        }
    }
    Ok(())
}

fn single(value: &[u8]) -> Result<Single, Error> {
    let mut r = Reader::new(value);
    let bad_id = || malformed("bad CertID");
    let id = r.expect(SEQUENCE).ok_or_else(bad_id)?;
    let mut idr = Reader::new(id.value);
    let alg = idr.expect(SEQUENCE).ok_or_else(bad_id)?;
    let name_hash = idr.expect(OCTET_STRING).ok_or_else(bad_id)?.value;
    let key_hash = idr.expect(OCTET_STRING).ok_or_else(bad_id)?.value;
    let serial = idr
        .expect(INTEGER)
        .and_then(|t| fields::serial(t.value))
        .ok_or_else(bad_id)?;
    if !idr.is_empty() {
        return Err(bad_id());
    }
    let status = match r.read() {
        Some(t) if t.tag == 0x80 && t.value.is_empty() => Status::Good,
        Some(t) if t.tag == 0x82 && t.value.is_empty() => Status::Unknown,
        Some(t) if t.tag == 0xa1 => revoked_info(t.value)?,
        _ => return Err(malformed("bad certStatus")),
    };
    let this_update = r
        .expect(GENERALIZED_TIME)
        .and_then(|t| fields::time(t.tag, t.value))
        .ok_or_else(|| malformed("bad thisUpdate"))?;
    let next_update = match r.optional(0xa0) {
        Some(t) => Some(
            der::single(t.value, GENERALIZED_TIME)
                .and_then(|t| fields::time(t.tag, t.value))
                .ok_or_else(|| malformed("bad nextUpdate"))?,
        ),
        None => None,
    };
    if let Some(exts) = r.optional(0xa1) {
        no_critical_extension(exts.value, "single response")?;
    }
    if !r.is_empty() {
        return Err(malformed("trailing data in SingleResponse"));
    }
    Ok(Single {
        hash: CertIdHash::from_alg_id(alg.value),
        name_hash: name_hash.to_vec(),
        key_hash: key_hash.to_vec(),
        serial: serial.to_vec(),
        status,
        this_update,
        next_update,
    })
}

/// `RevokedInfo ::= SEQUENCE { revocationTime, revocationReason [0] EXPLICIT CRLReason OPTIONAL }`.
fn revoked_info(value: &[u8]) -> Result<Status, Error> {
    let mut r = Reader::new(value);
    let at = r
        .expect(GENERALIZED_TIME)
        .and_then(|t| fields::time(t.tag, t.value))
        .ok_or_else(|| malformed("bad revocationTime"))?;
    let reason = match r.optional(0xa0) {
        Some(t) => Some(
            der::single(t.value, ENUMERATED)
                .and_then(|e| fields::reason_code(e.value))
                .ok_or_else(|| malformed("bad revocationReason"))?,
        ),
        None => None,
    };
    if !r.is_empty() {
        return Err(malformed("trailing data in RevokedInfo"));
    }
    Ok(Status::Revoked { at, reason })
}
