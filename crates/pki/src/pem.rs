//! PEM (RFC 7468) decoding, or pass-through of one DER value.

use crate::reason::{Error, Reason};

/// Largest input accepted, PEM or DER (a large CRL in PEM is ~4/3 of its DER).
pub const MAX_INPUT: usize = 512 * 1024 * 1024;

/// Decodes every PEM block labelled `label` (`"CERTIFICATE"`, `"X509 CRL"`…) in
/// `input`, ignoring the text around them and blocks with other labels. Input
/// without any `-----BEGIN ` marker is taken as one DER value and returned as is.
///
/// Errors (reason [`Reason::MalformedCrl`] for CRL labels, otherwise
/// [`Reason::MalformedCertificate`]): input above [`MAX_INPUT`], a block without
/// its END line, bad base64, an empty block, or PEM text with no block of `label`.
pub fn decode_all(input: &[u8], label: &str) -> Result<Vec<Vec<u8>>, Error> {
    let reason = if label.contains("CRL") {
        Reason::MalformedCrl
    } else {
        Reason::MalformedCertificate
    };
    let err = |detail: String| Error::new(reason, detail);
    if input.len() > MAX_INPUT {
        return Err(err(format!(
            "input of {} bytes exceeds {MAX_INPUT}",
            input.len()
        )));
    }
    if find(input, b"-----BEGIN ").is_none() {
        if input.is_empty() {
            return Err(err("empty input".to_owned()));
        }
        return Ok(vec![input.to_vec()]);
    }
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut out = Vec::new();
    let mut rest = input;
    while let Some(at) = find(rest, begin.as_bytes()) {
        let body_start = at + begin.len();
        let body = &rest[body_start..];
        let Some(stop) = find(body, end.as_bytes()) else {
            return Err(err(format!("PEM block {label} without its END line")));
        };
        let der = base64_decode(&body[..stop])
            .ok_or_else(|| err(format!("bad base64 in PEM block {label}")))?;
        if der.is_empty() {
            return Err(err(format!("empty PEM block {label}")));
        }
        out.push(der);
        rest = &body[stop + end.len()..];
    }
    if out.is_empty() {
        return Err(err(format!("no PEM block labelled {label}")));
    }
    Ok(out)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    let first = needle[0];
    let last_start = haystack.len() - needle.len();
    let mut i = 0;
    while i <= last_start {
        // Jump to the next candidate first byte, then compare the whole needle.
        let pos = haystack[i..=last_start].iter().position(|&b| b == first)?;
        i += pos;
        if haystack[i..].starts_with(needle) {
            return Some(i);
        }
        i += 1;
    }
    None
}

fn sextet(c: u8) -> Option<u32> {
    Some(u32::from(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    }))
}

/// Standard base64 with padding; whitespace anywhere is skipped (RFC 7468 lax
/// parsing), anything else (headers, URL-safe alphabet, data after padding) fails.
fn base64_decode(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut n = 0u8;
    let mut pad = 0u8;
    for &c in text {
        if c.is_ascii_whitespace() {
            continue;
        }
        if c == b'=' {
            pad += 1;
            if pad > 2 {
                return None;
            }
            continue;
        }
        if pad > 0 {
            return None; // data after padding
        }
        acc = (acc << 6) | sextet(c)?;
        n += 1;
        if n == 4 {
            out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
            acc = 0;
            n = 0;
        }
    }
    match (n, pad) {
        (0, 0) => {}
        (2, 2) | (2, 0) => {
            if acc & 0xf != 0 {
                return None; // non-canonical trailing bits
            }
            out.push((acc >> 4) as u8);
        }
        (3, 1) | (3, 0) => {
            if acc & 0x3 != 0 {
                return None;
            }
            out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]);
        }
        _ => return None,
    }
    Some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn decodes_several_blocks_and_ignores_the_rest() {
        let text = b"subject=foo\n-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n\
            -----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n\
            -----BEGIN CERTIFICATE-----\r\nAQID\r\nBA==\r\n-----END CERTIFICATE-----\n";
        let blocks = decode_all(text, "CERTIFICATE").unwrap();
        assert_eq!(blocks, vec![vec![0x30, 0x82, 0x01], vec![1, 2, 3, 4]]);
    }

    #[test]
    fn der_passes_through() {
        assert_eq!(
            decode_all(&[0x30, 0x00], "CERTIFICATE").unwrap(),
            vec![vec![0x30, 0x00]]
        );
        assert!(decode_all(&[], "CERTIFICATE").is_err());
    }

    #[test]
    fn refuses_bad_pem() {
        let cases: [&[u8]; 5] = [
            b"-----BEGIN CERTIFICATE-----\nMI*B\n-----END CERTIFICATE-----",
            b"-----BEGIN CERTIFICATE-----\nMIIB",
            b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----",
            b"-----BEGIN CERTIFICATE-----\nAQ==AQ==\n-----END CERTIFICATE-----",
            b"-----BEGIN X509 CRL-----\nAQ==\n-----END X509 CRL-----",
        ];
        for case in cases {
            let e = decode_all(case, "CERTIFICATE").unwrap_err();
            assert_eq!(e.reason, Reason::MalformedCertificate);
        }
        let e = decode_all(
            b"-----BEGIN X509 CRL-----\nA\n-----END X509 CRL-----",
            "X509 CRL",
        )
        .unwrap_err();
        assert_eq!(e.reason, Reason::MalformedCrl);
    }

    #[test]
    fn base64_round_trips_all_lengths() {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for len in 0..40usize {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let mut text = Vec::new();
            for chunk in data.chunks(3) {
                let b = [
                    chunk[0],
                    *chunk.get(1).unwrap_or(&0),
                    *chunk.get(2).unwrap_or(&0),
                ];
                let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
                for k in 0..4 {
                    if k <= chunk.len() {
                        text.push(ALPHABET[((v >> (18 - 6 * k)) & 63) as usize]);
                    } else {
                        text.push(b'=');
                    }
                }
            }
            assert_eq!(base64_decode(&text).unwrap(), data, "len {len}");
        }
    }
}
