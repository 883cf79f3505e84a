//! PEM (RFC 7468) encoding and decoding, strict enough for what Vault and this crate write.

use base64::{Engine as _, engine::general_purpose::STANDARD};

use crate::Error;

/// `der` as a PEM block with `label` (64-column base64).
pub fn encode(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Every block labelled `label` in `text`, in order, as DER. Other blocks are skipped.
pub fn decode_all(text: &str, label: &str) -> Result<Vec<Vec<u8>>, Error> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let after = &rest[start + begin.len()..];
        let stop = after
            .find(&end)
            .ok_or_else(|| Error::Malformed(format!("PEM {label} block without its END line")))?;
        let body: String = after[..stop]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        out.push(
            STANDARD
                .decode(body)
                .map_err(|_| Error::Malformed(format!("PEM {label} block is not base64")))?,
        );
        rest = &after[stop + end.len()..];
    }
    Ok(out)
}

/// The one block labelled `label` in `text`.
pub fn decode_one(text: &str, label: &str) -> Result<Vec<u8>, Error> {
    let mut all = decode_all(text, label)?;
    match all.len() {
        1 => Ok(all.remove(0)),
        n => Err(Error::Malformed(format!(
            "expected one PEM {label} block, found {n}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn round_trip_and_several_blocks() {
        let a = encode("CERTIFICATE", &[1_u8; 100]);
        let b = encode("CERTIFICATE", &[2_u8; 3]);
        assert!(a.lines().all(|l| l.len() <= 64));
        let text = format!("junk\n{a}{}{b}", encode("PRIVATE KEY", &[9]));
        let all = decode_all(&text, "CERTIFICATE").unwrap();
        assert_eq!(all, vec![vec![1_u8; 100], vec![2_u8; 3]]);
        assert_eq!(decode_one(&text, "PRIVATE KEY").unwrap(), vec![9]);
        assert!(decode_one(&text, "CERTIFICATE").is_err());
        assert!(decode_all("-----BEGIN X-----\nAAAA", "X").is_err());
    }
}
