//! What this crate reads back from certificates and requests Vault returns.

use x509_parser::{
    certificate::X509Certificate, certification_request::X509CertificationRequest,
    extensions::ParsedExtension, prelude::FromDer as _,
};

use crate::Error;

/// The facts of a certificate this crate compares.
#[derive(Clone, Debug)]
pub(crate) struct CertFacts {
    pub subject: Vec<u8>,
    pub issuer: Vec<u8>,
    pub spki: Vec<u8>,
    pub public_key_bits: Vec<u8>,
    pub subject_key_id: Option<Vec<u8>>,
    pub authority_key_id: Option<Vec<u8>>,
    /// Serial, big-endian magnitude (no sign byte).
    pub serial: Vec<u8>,
    pub not_after: i64,
}

pub(crate) fn cert(der: &[u8]) -> Result<CertFacts, Error> {
    let (_, cert) = X509Certificate::from_der(der)
        .map_err(|e| Error::Malformed(format!("certificate: {e}")))?;
    let mut subject_key_id = None;
    let mut authority_key_id = None;
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => subject_key_id = Some(id.0.to_vec()),
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                authority_key_id = aki.key_identifier.as_ref().map(|id| id.0.to_vec());
            }
            _ => {}
        }
    }
    Ok(CertFacts {
        subject: cert.subject().as_raw().to_vec(),
        issuer: cert.issuer().as_raw().to_vec(),
        spki: cert.public_key().raw.to_vec(),
        public_key_bits: cert.public_key().subject_public_key.data.to_vec(),
        subject_key_id,
        authority_key_id,
        serial: cert
            .raw_serial()
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect(),
        not_after: cert.validity().not_after.timestamp(),
    })
}

/// A certificate, for people.
#[derive(Clone, Debug)]
pub struct Summary {
    /// The subject, RFC 4514-like (x509-parser's rendering).
    pub subject: String,
    /// The issuer, likewise.
    pub issuer: String,
    /// The serial as Vault writes it.
    pub serial: String,
    /// notAfter, RFC 2822-like.
    pub not_after: String,
}

/// Summarises the DER certificate `der`.
pub fn summary(der: &[u8]) -> Result<Summary, Error> {
    let (_, cert) = X509Certificate::from_der(der)
        .map_err(|e| Error::Malformed(format!("certificate: {e}")))?;
    Ok(Summary {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        serial: vault_serial(cert.raw_serial()),
        not_after: cert.validity().not_after.to_string(),
    })
}

/// The public key of a PKCS#10 request: (SubjectPublicKeyInfo DER, subjectPublicKey bits).
pub(crate) fn csr_public_key(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), Error> {
    let (_, csr) = X509CertificationRequest::from_der(der)
        .map_err(|e| Error::Malformed(format!("certification request: {e}")))?;
    let pki = &csr.certification_request_info.subject_pki;
    Ok((pki.raw.to_vec(), pki.subject_public_key.data.to_vec()))
}

/// A serial as Vault writes it: lowercase hex byte pairs joined by `:`, no leading zero
/// byte (`7c:7e:4e:…`).
pub fn vault_serial(magnitude: &[u8]) -> String {
    let trimmed: Vec<u8> = magnitude.iter().copied().skip_while(|b| *b == 0).collect();
    let bytes = if trimmed.is_empty() { vec![0] } else { trimmed };
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Parses a serial given as hex, with or without `:`/`-` separators, with or without the
/// DER sign byte: its big-endian magnitude.
pub fn parse_serial(text: &str) -> Result<Vec<u8>, Error> {
    let digits: String = text
        .trim()
        .trim_start_matches("0x")
        .chars()
        .filter(|c| *c != ':' && *c != '-')
        .collect();
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Error::Invalid(format!("{text:?} is not a hex serial")));
    }
    let padded = if digits.len() % 2 == 1 {
        format!("0{digits}")
    } else {
        digits
    };
    let bytes = (0..padded.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&padded[i..i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| Error::Invalid(format!("{text:?} is not a hex serial")))?;
    Ok(bytes.into_iter().skip_while(|b| *b == 0).collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn serials_convert_to_vaults_form() {
        assert_eq!(vault_serial(&[0x00, 0x8a, 0x01]), "8a:01");
        assert_eq!(vault_serial(&[]), "00");
        assert_eq!(parse_serial("008a01").unwrap(), vec![0x8a, 0x01]);
        assert_eq!(parse_serial("8A:01").unwrap(), vec![0x8a, 0x01]);
        assert_eq!(parse_serial("a01").unwrap(), vec![0x0a, 0x01]);
        assert!(parse_serial("xyz").is_err());
        assert!(parse_serial("").is_err());
    }
}
