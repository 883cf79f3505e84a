//! Revocation in the dev PKI's Vault mounts, and which mount issued a certificate.
//!
//! The certval service owns revocation (it records it and publishes
//! `egide.certval.certificate.revoked`); for a certificate of the dev PKI it also revokes
//! it here, so that the mount's CRL and OCSP responder say so.

use aws_lc_rs::digest;
use http::Method;
use serde_json::json;
use vaultrs::client::Client;

use crate::{Error, hierarchy::cas, inspect, vault as raw};

/// Revokes the certificate with serial `serial_hex` (hex, with or without `:`
/// separators or a leading sign byte) in the PKI mount `mount`. Vault rebuilds the CRL at
/// once. Revoking a revoked certificate succeeds.
pub async fn revoke_in_vault(
    vault: &impl Client,
    mount: &str,
    serial_hex: &str,
) -> Result<(), Error> {
    let serial = inspect::vault_serial(&inspect::parse_serial(serial_hex)?);
    raw::call(
        vault,
        Method::POST,
        &format!("{mount}/revoke"),
        Some(&json!({ "serial_number": serial })),
    )
    .await?;
    Ok(())
}

/// The mount's current CRL, DER, as its distribution point serves it (unauthenticated in
/// OpenBao).
pub async fn crl_der(vault: &impl Client, mount: &str) -> Result<Vec<u8>, Error> {
    let path = format!("{mount}/crl");
    match raw::get_raw(vault, &path).await? {
        (200, body) => Ok(body),
        (status, body) => Err(Error::Vault {
            method: "GET".into(),
            path,
            status,
            message: String::from_utf8_lossy(&body).chars().take(200).collect(),
        }),
    }
}

/// The mount of the dev CA whose subject is `issuer` (a DER `Name`, as in a
/// certificate's issuer field), if it is one.
pub fn mount_for_issuer(issuer: &[u8]) -> Option<&'static str> {
    cas()
        .into_iter()
        .find(|ca| ca.subject.to_der() == issuer)
        .map(|ca| ca.mount)
}

/// The mount of the dev CA whose DER subject hashes (SHA-256, lowercase hex) to
/// `issuer_name_sha256`: the key certval's revocation events use.
pub fn mount_for_issuer_name_sha256(issuer_name_sha256: &str) -> Option<&'static str> {
    let wanted = issuer_name_sha256.trim().to_ascii_lowercase();
    cas()
        .into_iter()
        .find(|ca| hex(digest::digest(&digest::SHA256, &ca.subject.to_der()).as_ref()) == wanted)
        .map(|ca| ca.mount)
}

/// The mount that issued the DER certificate `cert`, if a dev CA did.
pub fn mount_for_certificate(cert: &[u8]) -> Result<Option<&'static str>, Error> {
    Ok(mount_for_issuer(&inspect::cert(cert)?.issuer))
}

/// SHA-256 of `der` (e.g. a DER name), lowercase hex.
pub fn sha256_hex(der: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, der).as_ref())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn every_ca_is_found_by_name_and_by_name_hash() {
        for ca in cas() {
            let der = ca.subject.to_der();
            assert_eq!(mount_for_issuer(&der), Some(ca.mount));
            assert_eq!(
                mount_for_issuer_name_sha256(&sha256_hex(&der).to_ascii_uppercase()),
                Some(ca.mount)
            );
        }
        assert_eq!(mount_for_issuer(b"\x30\x00"), None);
        assert_eq!(mount_for_issuer_name_sha256("00"), None);
    }
}
