//! RevokeCertificate: in the dev PKI's Vault mount when the certificate is from it, then
//! recorded with its event in one transaction, and applied to this replica at once.

use egide_kit::{
    ApiError,
    caller::PersonCaller,
    error::FieldViolation,
    events::{NewEvent, Payload, actor},
};
use egide_pki::Certificate;
use egide_proto::certval::v1 as pb;
use sea_orm::TransactionTrait as _;
use time::OffsetDateTime;

use crate::{
    Ctx,
    revocation::{Revoked, fetch::to_chrono, live},
    store,
};

/// RFC 5280 revocation reasons a revocation may give.
pub const REASONS: [&str; 7] = [
    "unspecified",
    "key_compromise",
    "ca_compromise",
    "affiliation_changed",
    "superseded",
    "cessation_of_operation",
    "certificate_hold",
];

/// Handles one RevokeCertificate.
pub async fn revoke(
    ctx: &Ctx,
    person: Option<&PersonCaller>,
    r: pb::RevokeCertificateRequest,
) -> Result<pb::RevokeCertificateResponse, ApiError> {
    // Who asks is the verified operator, never a declared one.
    let operator_id = egide_kit::caller::operator(person)?.subject.clone();
    let reason = if r.reason.is_empty() {
        "unspecified".to_owned()
    } else {
        r.reason.clone()
    };
    let mut violations = Vec::new();
    if !REASONS.contains(&reason.as_str()) {
        violations.push(FieldViolation::new(
            "reason",
            format!("one of {}", REASONS.join(", ")),
        ));
    }
    let (issuer_hash, serial_hex, cert) = if r.certificate.is_empty() {
        if !is_hex(&r.serial_hex, 40) {
            violations.push(FieldViolation::new("serial_hex", "hex, at most 20 bytes"));
        }
        if !is_hex(&r.issuer_name_sha256, 64) || r.issuer_name_sha256.len() != 64 {
            violations.push(FieldViolation::new("issuer_name_sha256", "64 hex digits"));
        }
        (
            r.issuer_name_sha256.to_ascii_lowercase(),
            normalise_serial(&r.serial_hex),
            None,
        )
    } else {
        match Certificate::from_der(r.certificate.as_slice()) {
            Ok(c) => (
                egide_pki::name_sha256_hex(c.issuer_der()),
                c.serial_hex(),
                Some(c),
            ),
            Err(e) => {
                violations.push(FieldViolation::new("certificate", e.detail));
                (String::new(), String::new(), None)
            }
        }
    };
    if !violations.is_empty() {
        return Err(ApiError::invalid_argument(violations));
    }
    let trust = ctx.validations.trust();
    let issuer = trust
        .cas
        .iter()
        .find(|(name, _)| egide_pki::name_sha256_hex(name) == issuer_hash)
        .and_then(|(_, certs)| certs.first().cloned())
        .ok_or_else(|| ApiError::not_found("unknown_issuer", "no trusted CA issued it"))?;

    // The dev PKI first: if Vault refuses, nothing is recorded; revoking twice there is
    // harmless, so a retry after a crash between the two steps is too.
    if let Some(mount) = ctx.dev_mounts.mount_for(&issuer) {
        let serial = vault_serial(&serial_hex);
        ctx.platform
            .vault
            .pki_revoke(mount, &serial)
            .await
            .map_err(ApiError::unavailable)?;
    }

    let now = OffsetDateTime::now_utc();
    let row = store::RevocationRow {
        issuer_name_sha256: issuer_hash.clone(),
        serial_hex: serial_hex.clone(),
        issuer: issuer.subject(),
        reason: reason.clone(),
        revoked_at: to_chrono(now),
        certificate_sha256: cert.as_ref().map(Certificate::sha256_hex),
        recorded_seq: 0,
    };
    let event = pb::CertificateRevoked {
        issuer_name_sha256: issuer_hash.clone(),
        issuer: row.issuer.clone(),
        serial_hex: serial_hex.clone(),
        reason: reason.clone(),
        revoked_at: Some(crate::api::convert::ts(now)),
        certificate_sha256: row.certificate_sha256.clone().unwrap_or_default(),
    };
    let txn = ctx.platform.db.begin().await?;
    let newly = store::insert_revocation(&txn, &row, &operator_id).await?;
    let events = if newly {
        vec![
            NewEvent::new(
                live::SUBJECT,
                actor::operator(&operator_id),
                Payload::CertificateRevoked(event.clone()),
            )
            .about("certificate", format!("{issuer_hash}:{serial_hex}")),
        ]
    } else {
        Vec::new()
    };
    ctx.platform.commit(txn, events).await?;
    if newly {
        ctx.validations
            .revocations()
            .record(issuer_hash, serial_hex, Revoked { reason, at: now });
        tracing::info!(serial = %event.serial_hex, issuer = %event.issuer, "certificate revoked");
    }
    Ok(pb::RevokeCertificateResponse {
        newly_revoked: newly,
        revocation: Some(event),
    })
}

fn is_hex(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Lowercase hex without separators, as `Certificate::serial_hex` gives it.
fn normalise_serial(s: &str) -> String {
    s.to_ascii_lowercase()
}

/// Vault's serial format: colon-separated bytes of the serial's magnitude (no leading
/// zero byte, which DER adds to keep a serial positive).
fn vault_serial(hex: &str) -> String {
    let bytes: Vec<&str> = (0..hex.len() / 2).map(|i| &hex[2 * i..2 * i + 2]).collect();
    let start = bytes
        .iter()
        .take_while(|b| **b == "00")
        .count()
        .min(bytes.len().saturating_sub(1));
    bytes[start..].join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vault_serials_drop_the_sign_byte() {
        assert_eq!(vault_serial("00ab01"), "ab:01");
        assert_eq!(vault_serial("7f"), "7f");
        assert_eq!(vault_serial("00"), "00");
    }
}
