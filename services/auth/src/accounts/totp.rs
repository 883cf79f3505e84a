//! RFC 6238 time-based one-time passwords (HMAC-SHA-1, 6 digits, 30 s steps by default),
//! the `otpauth://` URI authenticator apps read, and base32 (RFC 4648) for the secret.

use ring::hmac;

/// Digits of a code.
pub const DIGITS: u32 = 6;
/// Seconds per step.
pub const PERIOD: u64 = 30;

/// The code of `secret` at time step `step` (RFC 4226 §5.3 dynamic truncation).
pub fn code_at(secret: &[u8], step: u64, digits: u32) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let mac = hmac::sign(&key, &step.to_be_bytes());
    let mac = mac.as_ref();
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let binary = (u32::from(mac[offset]) & 0x7f) << 24
        | u32::from(mac[offset + 1]) << 16
        | u32::from(mac[offset + 2]) << 8
        | u32::from(mac[offset + 3]);
    let modulus = 10u32.pow(digits);
    format!("{:0width$}", binary % modulus, width = digits as usize)
}

/// The step `code` matches at `now` (Unix seconds) within ±`window` steps, if any. Every
/// candidate is computed and compared in constant time, so timing tells nothing.
pub fn matching_step(secret: &[u8], code: &str, now: u64, window: u64) -> Option<u64> {
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = now / PERIOD;
    let mut found = None;
    for step in current.saturating_sub(window)..=current + window {
        let candidate = code_at(secret, step, DIGITS);
        if bool::from(subtle::ConstantTimeEq::ct_eq(
            candidate.as_bytes(),
            code.as_bytes(),
        )) {
            found = Some(step);
        }
    }
    found
}

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Unpadded base32 (what authenticator apps expect in `secret=`).
pub fn base32(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    for chunk in data.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let bits = u64::from_be_bytes([0, 0, 0, buf[0], buf[1], buf[2], buf[3], buf[4]]);
        let chars = (chunk.len() * 8).div_ceil(5);
        for i in 0..chars {
            let index = (bits >> (35 - 5 * i)) & 0x1f;
            out.push(char::from(ALPHABET[index as usize]));
        }
    }
    out
}

/// The bytes of unpadded (or padded) base32, case-insensitive; `None` on any other
/// character.
pub fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let (mut bits, mut n, mut out) = (0u64, 0u32, Vec::with_capacity(s.len() * 5 / 8));
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET.iter().position(|a| *a == c.to_ascii_uppercase())?;
        bits = (bits << 5 | v as u64) & 0xffff;
        n += 5;
        if n >= 8 {
            out.push((bits >> (n - 8)) as u8);
            n -= 8;
        }
    }
    Some(out)
}

/// The provisioning URI (Google Authenticator's key URI format).
pub fn otpauth_uri(issuer: &str, login: &str, secret: &[u8]) -> String {
    let label = format!("{}:{}", encode(issuer), encode(login));
    format!(
        "otpauth://totp/{label}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={PERIOD}",
        base32(secret),
        encode(issuer)
    )
}

/// Percent-encodes everything but unreserved characters (RFC 3986 §2.3).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1 rows (8 digits).
    #[test]
    fn rfc_6238_test_vectors() {
        let secret = b"12345678901234567890";
        for (t, expected) in [
            (59u64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(code_at(secret, t / PERIOD, 8), expected, "T={t}");
        }
    }

    #[test]
    fn a_code_matches_one_step_either_side_only() {
        let secret = b"12345678901234567890";
        let now = 1_111_111_111;
        let code = code_at(secret, now / PERIOD - 1, DIGITS);
        assert_eq!(matching_step(secret, &code, now, 1), Some(now / PERIOD - 1));
        assert_eq!(matching_step(secret, &code, now + 2 * PERIOD, 1), None);
        assert_eq!(matching_step(secret, "12345", now, 1), None);
        assert_eq!(matching_step(secret, "12345a", now, 1), None);
    }

    #[test]
    fn base32_and_the_uri_follow_rfc_4648_and_the_key_uri_format() {
        // RFC 4648 §10, unpadded.
        for (input, expected) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32(input.as_bytes()), expected);
        }
        assert_eq!(
            base32_decode(&base32(b"12345678901234567890")).unwrap(),
            b"12345678901234567890"
        );
        assert_eq!(base32_decode("mzxw6ytboi").unwrap(), b"foobar");
        assert!(base32_decode("not base32!").is_none());
        let uri = otpauth_uri("Egide", "jeanne dupont", b"12345678901234567890");
        assert_eq!(
            uri,
            "otpauth://totp/Egide:jeanne%20dupont?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Egide&algorithm=SHA1&digits=6&period=30"
        );
    }
}
