//! A minimal, strict DER reader for the few structures read outside x509-parser
//! (algorithm identifiers, SubjectPublicKeyInfo, names, on-demand extension values).
//!
//! Zero-copy and allocation-free: it hands out sub-slices of its input. Only
//! single-byte tags and definite, minimally encoded lengths are accepted, which is
//! all DER allows for the types read here.

/// DER tag of a SEQUENCE (constructed).
pub(crate) const SEQUENCE: u8 = 0x30;
/// DER tag of a SET (constructed).
pub(crate) const SET: u8 = 0x31;
/// DER tag of an OBJECT IDENTIFIER.
pub(crate) const OID: u8 = 0x06;
/// DER tag of NULL.
pub(crate) const NULL: u8 = 0x05;
/// DER tag of a BIT STRING.
pub(crate) const BIT_STRING: u8 = 0x03;
/// DER tag of an INTEGER.
pub(crate) const INTEGER: u8 = 0x02;
/// DER tag of an OCTET STRING.
pub(crate) const OCTET_STRING: u8 = 0x04;
/// DER tag of a BOOLEAN.
pub(crate) const BOOLEAN: u8 = 0x01;

/// One TLV: its tag, its value, and the whole encoding (header included).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tlv<'a> {
    pub tag: u8,
    pub value: &'a [u8],
    pub raw: &'a [u8],
}

/// Reads consecutive TLVs from a byte slice.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The tag of the next TLV, if any.
    pub(crate) fn peek_tag(&self) -> Option<u8> {
        self.data.first().copied()
    }

    /// Reads the next TLV, or `None` when the input is exhausted or malformed.
    pub(crate) fn read(&mut self) -> Option<Tlv<'a>> {
        let data = self.data;
        let (&tag, rest) = data.split_first()?;
        // High-tag-number form never occurs in the structures read here.
        if tag & 0x1f == 0x1f {
            return None;
        }
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let n = usize::from(first & 0x7f);
            // Indefinite length (0x80) is BER only; more than 4 length bytes is absurd here.
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let (bytes, rest) = rest.split_at(n);
            if bytes[0] == 0 {
                return None; // not minimal
            }
            let len = bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            if len < 0x80 {
                return None; // should have used the short form
            }
            (len, rest)
        };
        if rest.len() < len {
            return None;
        }
        let header = data.len() - rest.len();
        let (value, rest) = rest.split_at(len);
        self.data = rest;
        Some(Tlv {
            tag,
            value,
            raw: &data[..header + len],
        })
    }

    /// Reads the next TLV and requires its tag.
    pub(crate) fn expect(&mut self, tag: u8) -> Option<Tlv<'a>> {
        let tlv = self.read()?;
        (tlv.tag == tag).then_some(tlv)
    }

    /// Reads the next TLV only if it carries `tag`.
    pub(crate) fn optional(&mut self, tag: u8) -> Option<Tlv<'a>> {
        if self.peek_tag() == Some(tag) {
            self.read()
        } else {
            None
        }
    }
}

/// Parses exactly one TLV with `tag` spanning all of `data`.
pub(crate) fn single(data: &[u8], tag: u8) -> Option<Tlv<'_>> {
    let mut r = Reader::new(data);
    let tlv = r.expect(tag)?;
    r.is_empty().then_some(tlv)
}

/// Byte range of `sub` inside `base`, when `sub` is a sub-slice of `base`.
pub(crate) fn range_in(base: &[u8], sub: &[u8]) -> Option<std::ops::Range<usize>> {
    // Address arithmetic only: no pointer is dereferenced.
    let start = (sub.as_ptr() as usize).checked_sub(base.as_ptr() as usize)?;
    let end = start.checked_add(sub.len())?;
    (end <= base.len()).then_some(start..end)
}

/// Appends the dotted form of an OID's content bytes to `out`; `None` if malformed.
pub(crate) fn oid_to_string(content: &[u8]) -> Option<String> {
    use std::fmt::Write as _;
    if content.is_empty() || content.last().is_some_and(|b| b & 0x80 != 0) {
        return None;
    }
    let mut out = String::new();
    // u128: UUID arcs (2.25.<128-bit integer>, X.667) are common in private policy OIDs.
    let mut value: u128 = 0;
    let mut first = true;
    let mut fresh = true;
    for &b in content {
        if fresh && b == 0x80 {
            return None; // non-minimal sub-identifier
        }
        fresh = false;
        value = value.checked_mul(128)? | u128::from(b & 0x7f);
        if b & 0x80 == 0 {
            if first {
                let (a, rest) = match value {
                    0..=39 => (0, value),
                    40..=79 => (1, value - 40),
                    _ => (2, value - 80),
                };
                let _ = write!(out, "{a}.{rest}");
                first = false;
            } else {
                let _ = write!(out, ".{value}");
            }
            value = 0;
            fresh = true;
        }
    }
    Some(out)
}

/// Encodes a dotted OID into its DER content bytes; `None` if the text is not an OID.
pub(crate) fn oid_from_string(dotted: &str) -> Option<Vec<u8>> {
    let mut arcs = dotted.split('.').map(|s| {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            None
        } else {
            s.parse::<u128>().ok()
        }
    });
    let a = arcs.next()??;
    let b = arcs.next()??;
    if a > 2 || (a < 2 && b > 39) {
        return None;
    }
    let mut out = Vec::with_capacity(dotted.len());
    push_base128(&mut out, a.checked_mul(40)?.checked_add(b)?);
    for arc in arcs {
        push_base128(&mut out, arc?);
    }
    Some(out)
}

fn push_base128(out: &mut Vec<u8>, mut v: u128) {
    let mut tmp = [0u8; 19];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = (v & 0x7f) as u8 | if i == tmp.len() - 1 { 0 } else { 0x80 };
        v >>= 7;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&tmp[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oid_round_trip() {
        for s in [
            "1.2.840.113549.1.1.11",
            "2.5.29.19",
            "1.3.6.1.5.5.7.3.2",
            "2.999.1",
            "2.25.308790997454492194512517109372774932278.5",
        ] {
            let der = oid_from_string(s).unwrap_or_default();
            assert_eq!(oid_to_string(&der).as_deref(), Some(s));
        }
        assert_eq!(oid_from_string("1.40"), None);
        assert_eq!(oid_from_string("1..2"), None);
        assert_eq!(oid_from_string("x"), None);
        assert_eq!(oid_to_string(&[0x2a, 0x86]), None);
    }

    #[test]
    fn rejects_non_minimal_lengths() {
        assert!(Reader::new(&[0x04, 0x81, 0x01, 0x00]).read().is_none());
        assert!(Reader::new(&[0x04, 0x80]).read().is_none());
        assert!(Reader::new(&[0x04, 0x02, 0x00]).read().is_none());
        let tlv = Reader::new(&[0x04, 0x01, 0xaa]).read();
        assert_eq!(tlv.map(|t| t.value), Some(&[0xaa][..]));
    }
}
