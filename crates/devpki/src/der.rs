//! A tiny DER writer: just what a PKCS#10 request and a self-issued CA template need.
//!
//! Hand-written because the subjects IGC-Santé uses need a multi-valued RDN
//! (`SN + GN + CN`), which rcgen's `DistinguishedName` cannot express, and because the
//! whole of it is a few tag-length-value helpers.

use chrono::{DateTime, Datelike as _, Utc};

/// A DER tag (one byte: every tag used here is low-numbered).
pub(crate) mod tag {
    pub const BOOLEAN: u8 = 0x01;
    pub const INTEGER: u8 = 0x02;
    pub const BIT_STRING: u8 = 0x03;
    pub const OCTET_STRING: u8 = 0x04;
    pub const NULL: u8 = 0x05;
    pub const OID: u8 = 0x06;
    pub const UTF8_STRING: u8 = 0x0c;
    pub const PRINTABLE_STRING: u8 = 0x13;
    pub const UTC_TIME: u8 = 0x17;
    pub const GENERALIZED_TIME: u8 = 0x18;
    pub const SEQUENCE: u8 = 0x30;
    pub const SET: u8 = 0x31;
}

/// `tag || length || content`.
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// A SEQUENCE of already-encoded elements.
pub(crate) fn sequence(elements: &[&[u8]]) -> Vec<u8> {
    tlv(tag::SEQUENCE, &elements.concat())
}

/// A SET OF already-encoded elements, sorted by their encodings as DER requires (X.690
/// §11.6): a multi-valued RDN is such a set.
pub(crate) fn set_of(mut elements: Vec<Vec<u8>>) -> Vec<u8> {
    elements.sort();
    tlv(tag::SET, &elements.concat())
}

/// A context-specific constructed tag `[n]` around `content` (EXPLICIT tagging, or an
/// IMPLICIT SET/SEQUENCE).
pub(crate) fn context(n: u8, content: &[u8]) -> Vec<u8> {
    tlv(0xa0 | n, content)
}

/// A context-specific primitive tag `[n]` (IMPLICIT tagging of a primitive type).
pub(crate) fn context_primitive(n: u8, content: &[u8]) -> Vec<u8> {
    tlv(0x80 | n, content)
}

/// An OBJECT IDENTIFIER from its dotted form. Arcs up to 128 bits, so that `2.25.<UUID>`
/// arcs fit. `None` when the text is not an OID.
pub(crate) fn oid(dotted: &str) -> Option<Vec<u8>> {
    let arcs: Vec<u128> = dotted
        .split('.')
        .map(|a| a.parse::<u128>().ok())
        .collect::<Option<_>>()?;
    let (&first, &second) = (arcs.first()?, arcs.get(1)?);
    if first > 2 || (first < 2 && second >= 40) {
        return None;
    }
    let mut content = Vec::new();
    base128(first.checked_mul(40)?.checked_add(second)?, &mut content);
    for &arc in &arcs[2..] {
        base128(arc, &mut content);
    }
    Some(tlv(tag::OID, &content))
}

fn base128(mut value: u128, out: &mut Vec<u8>) {
    let mut groups = vec![(value & 0x7f) as u8];
    value >>= 7;
    while value > 0 {
        groups.push(0x80 | (value & 0x7f) as u8);
        value >>= 7;
    }
    out.extend(groups.iter().rev());
}

/// A non-negative INTEGER from big-endian magnitude bytes (minimal, with a leading zero
/// when the top bit is set).
pub(crate) fn unsigned_integer(magnitude: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = magnitude.iter().copied().skip_while(|b| *b == 0).collect();
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(&trimmed);
    tlv(tag::INTEGER, &content)
}

/// A small non-negative INTEGER.
pub(crate) fn small_integer(value: u64) -> Vec<u8> {
    unsigned_integer(&value.to_be_bytes())
}

/// A BIT STRING of whole bytes.
pub(crate) fn bit_string(bytes: &[u8]) -> Vec<u8> {
    let mut content = Vec::with_capacity(bytes.len() + 1);
    content.push(0);
    content.extend_from_slice(bytes);
    tlv(tag::BIT_STRING, &content)
}

/// An OCTET STRING.
pub(crate) fn octet_string(bytes: &[u8]) -> Vec<u8> {
    tlv(tag::OCTET_STRING, bytes)
}

/// BOOLEAN TRUE (FALSE is never encoded: it is every DEFAULT here).
pub(crate) fn boolean_true() -> Vec<u8> {
    tlv(tag::BOOLEAN, &[0xff])
}

/// NULL.
pub(crate) fn null() -> Vec<u8> {
    tlv(tag::NULL, &[])
}

/// A UTF8String.
pub(crate) fn utf8_string(text: &str) -> Vec<u8> {
    tlv(tag::UTF8_STRING, text.as_bytes())
}

/// A PrintableString (the caller checks the alphabet).
pub(crate) fn printable_string(text: &str) -> Vec<u8> {
    tlv(tag::PRINTABLE_STRING, text.as_bytes())
}

/// An X.509 `Time`: UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5).
pub(crate) fn time(at: DateTime<Utc>) -> Vec<u8> {
    if at.year() < 2050 {
        tlv(
            tag::UTC_TIME,
            at.format("%y%m%d%H%M%SZ").to_string().as_bytes(),
        )
    } else {
        tlv(
            tag::GENERALIZED_TIME,
            at.format("%Y%m%d%H%M%SZ").to_string().as_bytes(),
        )
    }
}

/// Whether `text` fits a PrintableString.
pub(crate) fn is_printable(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_ascii_alphanumeric() || " '()+,-./:=?".contains(c))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use chrono::TimeZone as _;

    use super::*;

    #[test]
    fn lengths_use_the_short_and_long_forms() {
        assert_eq!(tlv(0x04, &[1, 2]), vec![0x04, 2, 1, 2]);
        let long = tlv(0x04, &[0; 200]);
        assert_eq!(&long[..3], &[0x04, 0x81, 200]);
        let longer = tlv(0x04, &[0; 300]);
        assert_eq!(&longer[..4], &[0x04, 0x82, 0x01, 0x2c]);
    }

    #[test]
    fn oids_encode_as_x690_says() {
        // commonName
        assert_eq!(oid("2.5.4.3").unwrap(), vec![0x06, 0x03, 0x55, 0x04, 0x03]);
        // sha256WithRSAEncryption
        assert_eq!(
            oid("1.2.840.113549.1.1.11").unwrap(),
            vec![
                0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b
            ]
        );
        // A UUID arc: 2.25.<2^128 - 1> takes 19 base-128 groups after the first byte.
        let big = oid(&format!("2.25.{}", u128::MAX)).unwrap();
        assert_eq!(big[2], 0x69);
        assert_eq!(big.len(), 2 + 1 + 19);
        assert!(oid("3.1").is_none());
        assert!(oid("1.40").is_none());
        assert!(oid("1").is_none());
        assert!(oid("1.a.3").is_none());
    }

    #[test]
    fn integers_are_minimal_and_positive() {
        assert_eq!(small_integer(0), vec![0x02, 0x01, 0x00]);
        assert_eq!(small_integer(2), vec![0x02, 0x01, 0x02]);
        assert_eq!(small_integer(128), vec![0x02, 0x02, 0x00, 0x80]);
        assert_eq!(
            unsigned_integer(&[0, 0, 0x7f, 1]),
            vec![0x02, 0x02, 0x7f, 1]
        );
    }

    #[test]
    fn sets_are_sorted() {
        let set = set_of(vec![vec![0x05, 0x01], vec![0x04, 0x02]]);
        assert_eq!(set, vec![0x31, 0x04, 0x04, 0x02, 0x05, 0x01]);
    }

    #[test]
    fn times_switch_to_generalized_in_2050() {
        let t = Utc.with_ymd_and_hms(2049, 12, 31, 23, 59, 59).unwrap();
        assert_eq!(time(t), tlv(tag::UTC_TIME, b"491231235959Z"));
        let t = Utc.with_ymd_and_hms(2050, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(time(t), tlv(tag::GENERALIZED_TIME, b"20500101000000Z"));
    }

    #[test]
    fn printable_alphabet() {
        assert!(is_printable("FR"));
        assert!(is_printable("0002 187512751"));
        assert!(!is_printable("Médecin"));
        assert!(!is_printable("a@b"));
    }
}
