//! Field decoders shared by the CRL and OCSP parsers: times, serial numbers,
//! revocation reasons and extension lists.
//!
//! Everything here is strict DER and allocation-free; callers turn `None` into
//! their own error (`MalformedCrl` or `MalformedOcsp`) with a detail.

use crate::der::{self, BOOLEAN, OCTET_STRING, OID, Reader, SEQUENCE};

/// DER tag of a UTCTime.
pub(crate) const UTC_TIME: u8 = 0x17;
/// DER tag of a GeneralizedTime.
pub(crate) const GENERALIZED_TIME: u8 = 0x18;
/// DER tag of an ENUMERATED.
pub(crate) const ENUMERATED: u8 = 0x0a;

/// Longest serial number accepted. RFC 5280 caps serials at 20 octets, but some
/// CAs emit a 21st sign byte or longer values; past 32 the input is not a serial.
pub(crate) const MAX_SERIAL_LEN: usize = 32;

/// Seconds since the Unix epoch of a UTCTime or GeneralizedTime TLV.
///
/// RFC 5280 §4.1.2.5 fixes the forms: `YYMMDDHHMMSSZ` (years 1950–2049) and
/// `YYYYMMDDHHMMSSZ`. RFC 6960 responders sometimes add fractional seconds to
/// GeneralizedTime; those are accepted and truncated.
pub(crate) fn time(tag: u8, value: &[u8]) -> Option<i64> {
    let (year, rest) = match tag {
        UTC_TIME => {
            let yy = digits(value.get(..2)?)?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &value[2..])
        }
        GENERALIZED_TIME => (digits(value.get(..4)?)?, &value[4..]),
        _ => return None,
    };
    let (main, tail) = (rest.get(..10)?, &rest[10..]);
    let fraction_ok = |frac: &[u8]| {
        // DER: at least one digit and no trailing zero.
        !frac.is_empty() && frac.iter().all(u8::is_ascii_digit) && frac.last() != Some(&b'0')
    };
    match tail {
        [b'Z'] => {}
        [b'.', frac @ .., b'Z'] if tag == GENERALIZED_TIME && fraction_ok(frac) => {}
        _ => return None,
    }
    let month = digits(&main[0..2])?;
    let day = digits(&main[2..4])?;
    let hour = digits(&main[4..6])?;
    let minute = digits(&main[6..8])?;
    let second = digits(&main[8..10])?;
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3_600 + minute * 60 + second)
}

/// The time at `secs` since the epoch (always representable: years 0–9999).
pub(crate) fn datetime(secs: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(secs).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

fn digits(b: &[u8]) -> Option<i64> {
    b.iter().try_fold(0i64, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
    })
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The serial number as compared: the INTEGER content with redundant leading
/// sign bytes removed, so that a CA's non-minimal encoding still matches the
/// certificate. `None` when empty or longer than [`MAX_SERIAL_LEN`].
pub(crate) fn serial(value: &[u8]) -> Option<&[u8]> {
    if value.is_empty() || value.len() > MAX_SERIAL_LEN {
        return None;
    }
    let mut v = value;
    while let [a, b, ..] = v {
        let redundant = (*a == 0 && b & 0x80 == 0) || (*a == 0xff && b & 0x80 != 0);
        if !redundant {
            break;
        }
        v = &v[1..];
    }
    Some(v)
}

/// The RFC 5280 §5.3.1 name of a CRLReason code, snake_case; `None` for the
/// unassigned value 7 and anything above 10.
pub(crate) fn reason_name(code: u8) -> Option<&'static str> {
    Some(match code {
        0 => "unspecified",
        1 => "key_compromise",
        2 => "ca_compromise",
        3 => "affiliation_changed",
        4 => "superseded",
        5 => "cessation_of_operation",
        6 => "certificate_hold",
        8 => "remove_from_crl",
        9 => "privilege_withdrawn",
        10 => "aa_compromise",
        _ => return None,
    })
}

/// The value of a CRLReason ENUMERATED content (one byte in DER for 0–10).
pub(crate) fn reason_code(value: &[u8]) -> Option<u8> {
    match value {
        [code] if reason_name(*code).is_some() => Some(*code),
        _ => None,
    }
}

/// One `Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue }`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Extension<'a> {
    /// The OID's content bytes.
    pub oid: &'a [u8],
    pub critical: bool,
    /// The content of the extnValue OCTET STRING.
    pub value: &'a [u8],
}

impl Extension<'_> {
    /// The dotted OID, for error details.
    pub(crate) fn oid_string(&self) -> String {
        der::oid_to_string(self.oid).unwrap_or_else(|| "?".to_owned())
    }
}

/// A validated `Extensions ::= SEQUENCE OF Extension` content; iterating yields
/// each extension in order without allocating.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Extensions<'a> {
    rest: Reader<'a>,
}

/// Most extensions accepted in one list: real lists have fewer than 15, and the
/// duplicate check is quadratic.
const MAX_EXTENSIONS: usize = 64;

/// Checks the content of an `Extensions` list: well-formed, at most 64
/// entries, no OID twice (RFC 5280 §4.2, §5.2). An empty list breaks SIZE
/// (1..MAX) but says nothing, and Go's `x/crypto/ocsp` (OpenBao's responder)
/// writes one in every SingleResponse: it is accepted.
pub(crate) fn extensions(value: &[u8]) -> Option<Extensions<'_>> {
    let list = Extensions {
        rest: Reader::new(value),
    };
    let mut r = Reader::new(value);
    let mut count = 0;
    while !r.is_empty() {
        let ext = extension(r.expect(SEQUENCE)?.value)?;
        count += 1;
        if count > MAX_EXTENSIONS || list.take(count - 1).any(|e| e.oid == ext.oid) {
            return None;
        }
    }
    Some(list)
}

impl<'a> Iterator for Extensions<'a> {
    type Item = Extension<'a>;

    fn next(&mut self) -> Option<Extension<'a>> {
        // Validated by `extensions`: a parse failure cannot happen here.
        extension(self.rest.expect(SEQUENCE)?.value)
    }
}

fn extension(value: &[u8]) -> Option<Extension<'_>> {
    let mut r = Reader::new(value);
    let oid = r.expect(OID)?.value;
    // An explicit FALSE is not DER, but common enough in the wild to accept.
    let critical = match r.optional(BOOLEAN) {
        Some(b) => boolean(b.value)?,
        None => false,
    };
    let value = r.expect(OCTET_STRING)?.value;
    r.is_empty().then_some(Extension {
        oid,
        critical,
        value,
    })
}

/// A DER BOOLEAN's content.
pub(crate) fn boolean(value: &[u8]) -> Option<bool> {
    match value {
        [0x00] => Some(false),
        [0xff] => Some(true),
        _ => None,
    }
}

/// Decimal digits of a non-negative big-endian integer (a CRL number).
pub(crate) fn decimal(be: &[u8]) -> String {
    // Repeated division by 10^19 over u64 limbs would be faster; CRL numbers
    // are at most 20 octets, so a byte-wise long division is plenty.
    let mut n: Vec<u8> = be.iter().copied().skip_while(|&b| b == 0).collect();
    if n.is_empty() {
        return "0".to_owned();
    }
    let mut digits = Vec::new();
    while !n.is_empty() {
        let mut rem = 0u32;
        for b in &mut n {
            let cur = (rem << 8) | u32::from(*b);
            *b = (cur / 10) as u8;
            rem = cur % 10;
        }
        digits.push(b'0' + rem as u8);
        let zeros = n.iter().take_while(|&&b| b == 0).count();
        n.drain(..zeros);
    }
    digits.iter().rev().map(|&d| char::from(d)).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(time(UTC_TIME, b"700101000000Z"), Some(0));
        assert_eq!(time(UTC_TIME, b"491231235959Z"), Some(2_524_607_999));
        assert_eq!(time(UTC_TIME, b"500101000000Z"), Some(-631_152_000));
        assert_eq!(
            time(GENERALIZED_TIME, b"20240229120000Z"),
            Some(1_709_208_000)
        );
        assert_eq!(
            time(GENERALIZED_TIME, b"20240229120000.5Z"),
            Some(1_709_208_000)
        );
        assert_eq!(time(GENERALIZED_TIME, b"20240229120000.50Z"), None);
        assert_eq!(time(GENERALIZED_TIME, b"20230229120000Z"), None);
        assert_eq!(time(UTC_TIME, b"700101000000"), None);
        assert_eq!(time(UTC_TIME, b"700101000000+0100"), None);
        assert_eq!(time(UTC_TIME, b"7001010000.5Z"), None);
        assert_eq!(time(GENERALIZED_TIME, b"20241301000000Z"), None);
        assert_eq!(time(0x04, b"700101000000Z"), None);
        let t = datetime(time(GENERALIZED_TIME, b"99991231235959Z").unwrap());
        assert_eq!(t.year(), 9999);
    }

    #[test]
    fn serials_are_canonical() {
        assert_eq!(serial(&[0x00, 0x7f]), Some(&[0x7f][..]));
        assert_eq!(serial(&[0x00, 0x80]), Some(&[0x00, 0x80][..]));
        assert_eq!(serial(&[0x00, 0x00, 0x01]), Some(&[0x01][..]));
        assert_eq!(serial(&[0xff, 0xff, 0x80]), Some(&[0x80][..]));
        assert_eq!(serial(&[0x00]), Some(&[0x00][..]));
        assert_eq!(serial(&[]), None);
        assert_eq!(serial(&[1; 33]), None);
    }

    #[test]
    fn decimals() {
        assert_eq!(decimal(&[]), "0");
        assert_eq!(decimal(&[0, 0]), "0");
        assert_eq!(decimal(&[0x01, 0x00]), "256");
        assert_eq!(decimal(&[0xff; 8]), u64::MAX.to_string());
        assert_eq!(
            decimal(&[0x01, 0, 0, 0, 0, 0, 0, 0, 0]),
            "18446744073709551616"
        );
    }

    #[test]
    fn reasons() {
        assert_eq!(reason_code(&[1]), Some(1));
        assert_eq!(reason_code(&[7]), None);
        assert_eq!(reason_code(&[0, 1]), None);
        assert_eq!(reason_name(10), Some("aa_compromise"));
    }
}
