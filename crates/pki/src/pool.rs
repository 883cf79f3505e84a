//! Candidate intermediates: what a caller hands over beside a leaf (a `--intermediate`
//! bundle, the extra certificates of a TLS chain, a ValidateChain request).
//!
//! They are a bag of candidates, not a path: a path is built from whichever of them are
//! usable, and one that does not parse is skipped and reported, as Go's
//! `AppendCertsFromPEM` and OpenSSL's untrusted stack do. Only a malformed leaf or trust
//! anchor is an error of the request.

use crate::cert::{Certificate, MAX_CERTIFICATE_SIZE};
use crate::reason::Reason;

/// A candidate left out of path building.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// Its position among the candidates given (0-based).
    pub index: usize,
    /// Why (for now always [`Reason::MalformedCertificate`]).
    pub reason: Reason,
    /// The parser's words, which never quote the certificate.
    pub detail: String,
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "intermediate {} skipped ({}): {}",
            self.index,
            self.reason.code(),
            self.detail
        )
    }
}

/// The usable candidates, in the order given, and the skipped ones.
#[derive(Clone, Debug, Default)]
pub struct Candidates {
    /// Parsed certificates, for [`crate::Validator::validate`].
    pub usable: Vec<Certificate>,
    /// What was left out, and why.
    pub skipped: Vec<Skipped>,
}

impl Candidates {
    /// Parses each DER candidate; the unusable ones are skipped, never an error.
    pub fn parse<D: AsRef<[u8]>>(ders: impl IntoIterator<Item = D>) -> Self {
        let mut out = Self::default();
        for (index, der) in ders.into_iter().enumerate() {
            let der = der.as_ref();
            if der.len() > MAX_CERTIFICATE_SIZE {
                // Not even copied: from_der would refuse it after the copy.
                out.skipped.push(Skipped {
                    index,
                    reason: Reason::MalformedCertificate,
                    detail: format!("{} bytes exceeds {MAX_CERTIFICATE_SIZE}", der.len()),
                });
                continue;
            }
            match Certificate::from_der(der) {
                Ok(cert) => out.usable.push(cert),
                Err(e) => out.skipped.push(Skipped {
                    index,
                    reason: e.reason,
                    detail: e.detail,
                }),
            }
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::testpki::*;

    #[test]
    fn a_bad_candidate_is_skipped_and_the_others_kept_in_order() {
        let root = Ca::root("Root", Alg::P256);
        let a = root.sub("A", Alg::P256);
        let b = root.sub("B", Alg::P256);
        // A signatureValue with unused bits (PKITS BadSignedCACert's defect).
        let mut bad = b.cert.der().to_vec();
        // The BIT STRING is last: 03, a one-byte length, the unused-bits byte, the bits.
        let at = (2..bad.len())
            .find(|&p| bad[p - 2] == 0x03 && usize::from(bad[p - 1]) == bad.len() - p)
            .expect("the signature BIT STRING");
        assert_eq!(bad[at], 0);
        let candidates = Candidates::parse([
            a.cert.der().to_vec(),
            b"not a certificate".to_vec(),
            Vec::new(),
            b.cert.der().to_vec(),
            {
                bad[at] = 1;
                bad
            },
        ]);
        assert_eq!(candidates.usable, vec![a.cert.clone(), b.cert.clone()]);
        let skipped: Vec<usize> = candidates.skipped.iter().map(|s| s.index).collect();
        assert_eq!(skipped, vec![1, 2, 4]);
        assert!(
            candidates
                .skipped
                .iter()
                .all(|s| s.reason == Reason::MalformedCertificate)
        );
    }

    #[test]
    fn an_oversized_candidate_is_skipped_without_parsing() {
        let candidates = Candidates::parse([vec![0x30; MAX_CERTIFICATE_SIZE + 1]]);
        assert!(candidates.usable.is_empty());
        assert_eq!(candidates.skipped.len(), 1);
    }
}
