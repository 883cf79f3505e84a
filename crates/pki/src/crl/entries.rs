//! The `revokedCertificates` walk: one pass over the DER, straight into the
//! index, with no allocation per entry.

use super::fields::{self, ENUMERATED, GENERALIZED_TIME};
use super::index::{Builder, NO_REASON, SerialIndex};
use super::malformed;
use crate::der::{INTEGER, Reader, SEQUENCE};
use crate::reason::Error;

const REASON_CODE: &[u8] = &[0x55, 0x1d, 0x15];
const INVALIDITY_DATE: &[u8] = &[0x55, 0x1d, 0x18];
const CERTIFICATE_ISSUER: &[u8] = &[0x55, 0x1d, 0x1d];

/// Indexes the content of `revokedCertificates` (`None`: the field is absent).
/// Entry extensions need a v2 CRL.
pub(crate) fn index(list: Option<&[u8]>, v2: bool) -> Result<SerialIndex, Error> {
    let Some(list) = list else {
        return Ok(Builder::default().finish());
    };
    let mut builder = Builder::with_capacity_for(list.len());
    let mut r = Reader::new(list);
    let mut n = 0usize;
    while !r.is_empty() {
        n += 1;
        let at = |what: &str| malformed(format!("revoked entry #{n}: {what}"));
        let entry = r.expect(SEQUENCE).ok_or_else(|| at("not a SEQUENCE"))?;
        let mut e = Reader::new(entry.value);
        let serial = e
            .expect(INTEGER)
            .and_then(|t| fields::serial(t.value))
            .ok_or_else(|| at("serial missing, empty or longer than 32 bytes"))?;
        let revoked_at = e
            .read()
            .and_then(|t| fields::time(t.tag, t.value))
            .ok_or_else(|| at("bad revocationDate"))?;
        let mut reason = NO_REASON;
        if let Some(exts) = e.optional(SEQUENCE) {
            if !v2 {
                return Err(at("entry extensions in a v1 CRL"));
            }
            let list = fields::extensions(exts.value)
                .ok_or_else(|| at("malformed or duplicate entry extensions"))?;
            for ext in list {
                match ext.oid {
                    REASON_CODE => {
                        reason = crate::der::single(ext.value, ENUMERATED)
                            .and_then(|t| fields::reason_code(t.value))
                            .ok_or_else(|| at("bad reasonCode"))?;
                    }
                    INVALIDITY_DATE => {
                        crate::der::single(ext.value, GENERALIZED_TIME)
                            .and_then(|t| fields::time(t.tag, t.value))
                            .ok_or_else(|| at("bad invalidityDate"))?;
                    }
                    CERTIFICATE_ISSUER => {
                        return Err(at("certificateIssuer (indirect CRL) is not supported"));
                    }
                    _ if ext.critical => {
                        return Err(at(&format!(
                            "unknown critical entry extension {}",
                            ext.oid_string()
                        )));
                    }
                    _ => {}
                }
            }
        }
        if !e.is_empty() {
            return Err(at("trailing data"));
        }
        builder
            .push(serial, revoked_at, reason)
            .ok_or_else(|| at("index overflow"))?;
    }
    Ok(builder.finish())
}
