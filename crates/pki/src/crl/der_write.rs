//! A tiny DER writer: enough for OCSP requests, and for the tests and the
//! 1M-entry CRL example that build CRLs and OCSP responses byte by byte.
//!
//! Self-contained on purpose (no `crate::` paths): `examples/crl_1m.rs`
//! includes this file with `#[path]`.

#![allow(dead_code)] // the example and the tests use different subsets

/// Appends a DER length.
pub(crate) fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Appends one TLV.
pub(crate) fn push_tlv(out: &mut Vec<u8>, tag: u8, value: &[u8]) {
    out.push(tag);
    push_len(out, value.len());
    out.extend_from_slice(value);
}

/// One TLV.
pub(crate) fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 6);
    push_tlv(&mut out, tag, value);
    out
}

/// A constructed TLV over the concatenation of `parts`.
pub(crate) fn cons(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    tlv(tag, &parts.concat())
}

/// A SEQUENCE over the concatenation of `parts`.
pub(crate) fn seq(parts: &[&[u8]]) -> Vec<u8> {
    cons(0x30, parts)
}

/// An INTEGER whose content bytes are `value`, taken as given.
pub(crate) fn int_bytes(value: &[u8]) -> Vec<u8> {
    tlv(0x02, value)
}

/// A non-negative INTEGER of `value`, minimally encoded.
pub(crate) fn uint(value: u64) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count().min(7);
    let mut content = Vec::with_capacity(9);
    if bytes[skip] & 0x80 != 0 {
        content.push(0);
    }
    content.extend_from_slice(&bytes[skip..]);
    int_bytes(&content)
}

/// An OBJECT IDENTIFIER from its content bytes.
pub(crate) fn oid(content: &[u8]) -> Vec<u8> {
    tlv(0x06, content)
}

/// An OCTET STRING.
pub(crate) fn octets(value: &[u8]) -> Vec<u8> {
    tlv(0x04, value)
}

/// A BIT STRING with no unused bits.
pub(crate) fn bits(value: &[u8]) -> Vec<u8> {
    let mut content = Vec::with_capacity(value.len() + 1);
    content.push(0);
    content.extend_from_slice(value);
    tlv(0x03, &content)
}

/// NULL.
pub(crate) const NULL: [u8; 2] = [0x05, 0x00];

/// The content bytes of 1.3.14.3.2.26 (SHA-1).
pub(crate) const OID_SHA1: &[u8] = &[0x2b, 0x0e, 0x03, 0x02, 0x1a];
/// The content bytes of 2.16.840.1.101.3.4.2.1 (SHA-256).
pub(crate) const OID_SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];

/// A UTCTime (years 1950–2049) or GeneralizedTime (otherwise), as RFC 5280
/// §4.1.2.5 prescribes, for `secs` since the epoch.
pub(crate) fn time(secs: i64) -> Vec<u8> {
    let (y, mo, d, h, mi, s) = civil(secs);
    if (1950..2050).contains(&y) {
        let text = format!("{:02}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z", y % 100);
        tlv(0x17, text.as_bytes())
    } else {
        generalized_time(secs)
    }
}

/// A GeneralizedTime for `secs` since the epoch (what OCSP uses throughout).
pub(crate) fn generalized_time(secs: i64) -> Vec<u8> {
    let (y, mo, d, h, mi, s) = civil(secs);
    let text = format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z");
    tlv(0x18, text.as_bytes())
}

/// Calendar fields of `secs` since the epoch (H. Hinnant's civil_from_days).
fn civil(secs: i64) -> (i64, i64, i64, i64, i64, i64) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, rem / 3_600, rem % 3_600 / 60, rem % 60)
}

/// One `Extension`: OID content bytes, criticality, and the extnValue content.
pub(crate) fn extension(oid_content: &[u8], critical: bool, value: &[u8]) -> Vec<u8> {
    let critical: &[u8] = if critical { &[0x01, 0x01, 0xff] } else { &[] };
    seq(&[&oid(oid_content), critical, &octets(value)])
}
